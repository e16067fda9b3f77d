"""The live view's web server: the page, its script and style sheet from the installed package,
and what the page asks for as JSON and PNG. Standard library only (``http.server``); it answers
GET and HEAD and nothing that could change a store.

- ``/``: the page; ``/static/view.js``, ``/static/view.css``.
- ``/api/runs``: every run of the stores, as rows (``mtjlab.view.runs``).
- ``/api/runs/STORE/ID``: one run's row, its figures' addresses and why it has none.
- ``/figures/STORE/ID/NAME``: one figure, PNG.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from urllib.parse import quote, unquote, urlsplit

from mtjlab.view.figures import Drawn, FigureCache
from mtjlab.view.runs import (
    StoreFile,
    ViewError,
    find_store,
    list_runs,
    opened,
    run_row,
)

log = logging.getLogger(__name__)

#: The page's own files, served from the package: nothing is fetched from elsewhere.
STATIC = {
    "view.js": "text/javascript; charset=utf-8",
    "view.css": "text/css; charset=utf-8",
}
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def static_text(name: str) -> str:
    """One of the page's files (``index.html``, ``view.js``, ``view.css``)."""
    return resources.files("mtjlab.view").joinpath("static", name).read_text(encoding="utf-8")


def run_details(stores: list[StoreFile], cache: FigureCache, store_i: int, run_id: int) -> dict:
    """One run's row and its figures as the page shows them (addresses carry the drawing's
    stamp, so a browser fetches a figure again only when it was drawn again)."""
    return details_and_figures(stores, cache, store_i, run_id)[0]


def details_and_figures(
    stores: list[StoreFile], cache: FigureCache, store_i: int, run_id: int
) -> tuple[dict, Drawn]:
    """:func:`run_details`, and the drawing its figures' addresses name."""
    store = find_store(stores, store_i)
    with opened(store) as s:
        info = s.run(run_id)
        times = list(s.unit_times(run_id).values()) if info.status == "running" else []
    drawn = cache.figures(store, info)
    figures = [
        {"name": name, "src": f"/figures/{store_i}/{run_id}/{quote(name)}?v={drawn.stamp}"}
        for name in drawn.pngs
    ]
    details = {
        "run": run_row(store, info, times),
        "stamp": drawn.stamp,
        "figures": figures,
        "note": drawn.note,
    }
    return details, drawn


class ViewServer(ThreadingHTTPServer):
    """The view's server: the stores it reads, its figures, how often the page asks again."""

    daemon_threads = True

    def __init__(
        self,
        stores: list[StoreFile],
        *,
        host: str = "127.0.0.1",
        port: int = 8050,
        refresh_s: float = 1.0,
        cache: FigureCache | None = None,
    ) -> None:
        self.stores = stores
        self.refresh_s = refresh_s
        self.cache = cache or FigureCache()
        super().__init__((host, port), _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        host = f"[{host}]" if ":" in str(host) else host
        return f"http://{host}:{port}/"


class _Handler(BaseHTTPRequestHandler):
    server: ViewServer
    server_version = "mtjlab-view"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base's name)
        log.debug("view: %s " + format, self.address_string(), *args)

    def do_HEAD(self) -> None:  # noqa: N802 (http.server's naming)
        self._answer(head=True)

    def do_GET(self) -> None:  # noqa: N802
        self._answer(head=False)

    def _answer(self, head: bool) -> None:
        path = urlsplit(self.path).path
        parts = [unquote(p) for p in path.strip("/").split("/")] if path != "/" else []
        try:
            status, kind, body = self._route(parts)
        except ViewError as exc:
            status, kind, body = HTTPStatus.NOT_FOUND, *_json({"error": str(exc)})
        except Exception as exc:  # the view goes on; the page shows the error
            log.exception("view: %s failed", path)
            status, kind, body = HTTPStatus.INTERNAL_SERVER_ERROR, *_json({"error": repr(exc)})
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store" if kind.startswith("app") else "max-age=60")
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _route(self, parts: list[str]) -> tuple[HTTPStatus, str, bytes]:
        server = self.server
        if not parts or parts == ["index.html"]:
            page = static_text("index.html").replace("__STATE__", "null")
            return HTTPStatus.OK, "text/html; charset=utf-8", page.encode()
        if len(parts) == 2 and parts[0] == "static" and parts[1] in STATIC:
            return HTTPStatus.OK, STATIC[parts[1]], static_text(parts[1]).encode()
        if parts == ["api", "runs"]:
            stores = [{"index": s.index, "name": s.path.name} for s in server.stores]
            return HTTPStatus.OK, *_json(
                {"runs": list_runs(server.stores), "stores": stores, "refresh_s": server.refresh_s}
            )
        if len(parts) == 4 and parts[:2] == ["api", "runs"]:
            store_i, run_id = _numbers(parts[2], parts[3])
            return HTTPStatus.OK, *_json(run_details(server.stores, server.cache, store_i, run_id))
        if len(parts) == 4 and parts[0] == "figures":
            store_i, run_id = _numbers(parts[1], parts[2])
            png = server.cache.png(find_store(server.stores, store_i), run_id, parts[3])
            return HTTPStatus.OK, "image/png", png
        raise ViewError(f"nothing at /{'/'.join(parts)}")


def _numbers(*texts: str) -> tuple[int, ...]:
    try:
        return tuple(int(t) for t in texts)
    except ValueError:
        raise ViewError(f"expected a store number and a run id, got {'/'.join(texts)}") from None


def _json(value: object) -> tuple[str, bytes]:
    return "application/json", json.dumps(value).encode()


@contextmanager
def serving(server: ViewServer) -> Iterator[ViewServer]:
    """The server answering on a thread of its own until the block ends, then closed."""
    thread = threading.Thread(target=server.serve_forever, name="mtjlab-view", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
