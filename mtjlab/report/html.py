"""The one-page HTML report of a run: headline numbers, its tables, figures and parameters.
Figures are linked by file name, so the run's folder can be moved or archived as a whole."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from pathlib import Path


def write_html_report(
    path: Path | str,
    *,
    title: str,
    headline: list[tuple[str, str]],
    parameters: dict,
    figures: list[Path],
    tables: Sequence[tuple[str, list[str], list[list[str]]]] = (),
) -> Path:
    """One HTML page: the headline figures, the tables, the figures (linked by relative path, so
    the folder can be moved as a whole) and the run's parameters.

    Parameters
    ----------
    path : Path or str
        The ``.html`` file to write, in the folder that holds the figures.
    title : str
        Page title and heading.
    headline : list of (str, str)
        Name and formatted value of each headline number, in the order shown.
    parameters : dict
        The run's parameters, each shown as its ``str``.
    figures : list of Path
        Figure files in the same folder as ``path``; each is linked by its name and captioned
        by its stem.
    tables : sequence of (str, list of str, list of list of str), optional
        Each table's caption, column names and formatted rows, shown after the headline.

    Returns
    -------
    Path
        The file written.
    """
    path = Path(path)
    rows = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in headline)
    params = "".join(
        f"<tr><th>{escape(str(k))}</th><td><code>{escape(str(v))}</code></td></tr>"
        for k, v in parameters.items()
    )
    tabled = "".join(
        f"<table><caption>{escape(caption)}</caption><tr>"
        + "".join(f"<th>{escape(h)}</th>" for h in header)
        + "</tr>"
        + "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in r) + "</tr>" for r in rows)
        + "</table>"
        for caption, header, rows in tables
    )
    images = "".join(
        f'<figure><img src="{escape(f.name)}" alt="{escape(f.stem)}">'
        f"<figcaption>{escape(f.stem.replace('_', ' '))}</figcaption></figure>"
        for f in figures
    )
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>
<style>
body {{ font-family: sans-serif; max-width: 1100px; margin: 1em auto; color: #222; }}
table {{ border-collapse: collapse; margin: 0.5em 0 1em; }}
th, td {{ text-align: left; padding: 2px 10px; border-bottom: 1px solid #ddd; }}
figure {{ display: inline-block; width: 48%; margin: 0.5%; vertical-align: top; }}
img {{ width: 100%; }}
figcaption {{ font-size: 0.8em; color: #555; text-align: center; }}
caption {{ text-align: left; font-weight: bold; padding: 2px 10px; }}
</style></head><body>
<h1>{escape(title)}</h1>
<table>{rows}</table>
{tabled}
{images}
<h2>Parameters</h2>
<table>{params}</table>
</body></html>
"""
    path.write_text(page, encoding="utf-8")
    return path
