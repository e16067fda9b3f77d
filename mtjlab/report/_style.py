"""Shared plumbing of the report figures: where a figure goes, its axes, legend, colours, saving.
Figures are built on a matplotlib Figure, never through pyplot, so the backend is left alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

#: Figure formats every plot function writes, chosen by the file name's suffix.
FIGURE_SUFFIXES = (".png", ".pdf", ".svg")

#: Colours of opens, shorts and cells with no valid reading, alike on every map.
_OPEN_COLOUR = "#d62728"
_SHORT_COLOUR = "#ff7f0e"
_NO_READING_COLOUR = "#bdbdbd"


def check_figure_path(path: Path | str, default_name: str) -> Path:
    """Where a figure asked for at ``path`` goes, checked before any work is done.

    Parameters
    ----------
    path : Path or str
        A file name ending in ``.png``, ``.pdf`` or ``.svg`` (any case), or an existing folder.
    default_name : str
        The file name used inside ``path`` when ``path`` is an existing folder.

    Returns
    -------
    Path
        The file that will be written: ``path`` itself, or ``path / default_name`` for a folder.

    Raises
    ------
    ValueError
        If the suffix names no supported format or the file's folder does not exist. The message
        does not repeat ``path``, so a caller can prefix the option or argument it came from.
    """
    path = Path(path)
    if path.is_dir():
        path = path / default_name
    suffix = path.suffix.lower()
    if suffix not in FIGURE_SUFFIXES:
        if not suffix:
            raise ValueError(
                "neither an existing folder nor a file name ending in .png, .pdf or .svg"
            )
        raise ValueError(f"unsupported figure format {path.suffix!r} (expected .png, .pdf or .svg)")
    if not path.parent.is_dir():
        raise ValueError(f"folder {path.parent} does not exist")
    return path


def _new_axes(figsize: tuple[float, float] = (6.4, 5.6)) -> tuple[Figure, Any]:
    # Constrained layout keeps colour bars and legends below the axes inside the figure.
    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.add_subplot()


def _cell_axes(ax: Any, shape: tuple[int, ...]) -> None:
    """Label a cell map's axes; every index is ticked while that stays legible."""
    rows, cols = shape
    ax.set_xlabel("column")
    ax.set_ylabel("row")
    for axis, n in ((ax.xaxis, cols), (ax.yaxis, rows)):
        if n <= 16:
            axis.set_ticks(range(n))
        else:
            axis.set_major_locator(MaxNLocator(nbins=8, integer=True))


def _legend_below(fig: Figure, handles: list[Any], ncols: int = 3) -> None:
    # "outside" places it in a band constrained layout reserves, so nothing is cut off.
    fig.legend(
        handles=handles,
        loc="outside lower center",
        ncols=min(ncols, len(handles)),
        fontsize=8,
        frameon=False,
        handlelength=1.2,
    )


#: Metadata keys that carry the time of saving; cleared so the same data gives the same file.
_NO_DATE = {"png": {}, "pdf": {"CreationDate": None}, "svg": {"Date": None}}


def save_figure(fig: Figure, path: Path | str) -> Path:
    """Write ``fig`` to ``path`` (``.png``, ``.pdf`` or ``.svg``) as every ``plot_*`` does:
    150 dpi, no creation date in the file (the same figure gives the same bytes)."""
    path = check_figure_path(path, "figure.png")
    _save(fig, path)
    return path


def _save(fig: Figure, path: Path) -> None:
    fmt = path.suffix.lower().lstrip(".")
    fig.savefig(path, format=fmt, dpi=150, metadata=_NO_DATE[fmt])
