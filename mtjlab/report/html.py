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
    figures: Sequence[Path | tuple[Path, str]],
    tables: Sequence[tuple[str, list[str], list[list[str]]]] = (),
    notes: Sequence[tuple[str, str, str]] = (),
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
        The run's parameters by name, each shown as its ``str`` (format them first: a dict's
        repr is no way to show a parameter).
    figures : sequence of Path or (Path, str)
        Figure files in the same folder as ``path``, each with its caption (what it shows and
        how to read it); each is linked by its name, and captioned by its stem when it comes
        without a caption.
    tables : sequence of (str, list of str, list of list of str), optional
        Each table's caption, column names and formatted rows, shown after the headline; a
        table whose first column name is empty has its first column as row names.
    notes : sequence of (str, str, str), optional
        Each note's heading, preformatted text (such as a command line) and a sentence under
        it, shown after the parameters.

    Returns
    -------
    Path
        The file written.
    """
    path = Path(path)
    rows = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in headline)
    params = "".join(
        f"<tr><th>{escape(str(k))}</th><td>{escape(str(v))}</td></tr>"
        for k, v in parameters.items()
    )
    tabled = "".join(_table(caption, header, rows) for caption, header, rows in tables)
    images = "".join(
        f'<figure><a href="{escape(f.name)}"><img src="{escape(f.name)}" alt="{escape(c)}"></a>'
        f"<figcaption>{escape(c)}</figcaption></figure>"
        for f, c in (_captioned(f) for f in figures)
    )
    noted = "".join(
        f"<h2>{escape(heading)}</h2><pre>{escape(text)}</pre><p class='note'>{escape(note)}</p>"
        for heading, text, note in notes
    )
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>
<style>
body {{ font-family: sans-serif; max-width: 1100px; margin: 1em auto; color: #222; }}
table {{ border-collapse: collapse; margin: 0.5em 0 1em; }}
th, td {{ text-align: left; padding: 2px 10px; border-bottom: 1px solid #ddd; }}
table.data td {{ text-align: right; font-variant-numeric: tabular-nums; }}
table.data td:first-child, table.data th[scope=row] {{ text-align: left; }}
table.data th[scope=row] {{ white-space: pre; }}
figure {{ display: inline-block; width: 48%; margin: 0.5%; vertical-align: top; }}
img {{ width: 100%; }}
figcaption {{ font-size: 0.85em; color: #444; }}
caption {{ text-align: left; font-weight: bold; padding: 2px 10px; }}
pre {{ background: #f4f4f4; padding: 0.5em; white-space: pre-wrap; word-break: break-all; }}
p.note {{ font-size: 0.85em; color: #555; }}
</style></head><body>
<h1>{escape(title)}</h1>
<table>{rows}</table>
{tabled}
{images}
<h2>Parameters</h2>
<table class="parameters">{params}</table>
{noted}
</body></html>
"""
    path.write_text(page, encoding="utf-8")
    return path


def _captioned(figure: Path | tuple[Path, str]) -> tuple[Path, str]:
    if isinstance(figure, tuple):
        return Path(figure[0]), figure[1]
    return Path(figure), Path(figure).stem.replace("_", " ")


def _table(caption: str, header: list[str], rows: list[list[str]]) -> str:
    """A captioned data table; with an empty first column name, the first cells are row names."""
    named = bool(header) and header[0] == ""

    def row(cells: list[str]) -> str:
        first, rest = (
            (f'<th scope="row">{escape(cells[0])}</th>', cells[1:]) if named else ("", cells)
        )
        return "<tr>" + first + "".join(f"<td>{escape(c)}</td>" for c in rest) + "</tr>"

    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in header)
    body = "".join(row(r) for r in rows)
    return f'<table class="data"><caption>{escape(caption)}</caption><tr>{head}</tr>{body}</table>'
