"""The live view's page for one run as a single HTML file: its row and figures written into the
page, with the page's script and style sheet, so it opens offline and can be mailed or archived.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

from mtjlab.view.figures import FigureCache
from mtjlab.view.runs import StoreFile, ViewError, now_text
from mtjlab.view.server import details_and_figures, static_text


def _inline(state: dict) -> str:
    page = static_text("index.html")
    css = '<link rel="stylesheet" href="/static/view.css">'
    js = '<script src="/static/view.js"></script>'
    if css not in page or js not in page or "__STATE__" not in page:
        raise RuntimeError("the view's index.html lost a placeholder the export fills in")
    # "</" inside a script element would end it early; "<\/" is the same text to JavaScript.
    text = json.dumps(state).replace("</", "<\\/")
    page = page.replace(css, f"<style>\n{static_text('view.css')}</style>")
    page = page.replace(js, f"<script>\n{static_text('view.js')}</script>")
    return page.replace("__STATE__", text)


def export_run(stores: list[StoreFile], store_index: int, run_id: int, path: str | Path) -> Path:
    """Write the page of run ``run_id`` of store ``store_index`` to ``path``: the run's row, its
    figures as drawn from every unit the store holds (PNG inside the file), nothing linked.

    Returns the file written. ViewError for a run that is not there or a path that cannot be
    written.
    """
    path = Path(path)
    if path.suffix.lower() not in (".html", ".htm"):
        raise ViewError(f"--export {path}: expected an .html file")
    if not path.parent.is_dir():
        raise ViewError(f"--export {path}: folder {path.parent} does not exist")
    details, drawn = details_and_figures(
        stores, FigureCache(min_interval_s=0.0), store_index, run_id
    )
    key = details["run"]["key"]
    for figure in details["figures"]:
        data = base64.b64encode(drawn.pngs[figure["name"]]).decode("ascii")
        figure["src"] = f"data:image/png;base64,{data}"
    state = {
        "exported": now_text(),
        "selected": key,
        "runs": [details["run"]],
        "details": {key: details},
    }
    try:
        path.write_text(_inline(state), encoding="utf-8")
    except OSError as exc:
        raise ViewError(f"--export {path}: {exc.strerror or exc}") from None
    return path
