"""Report: resistance maps as text tables, and the figures of the array protocols.

Figures are drawn on :class:`matplotlib.figure.Figure` directly, never through pyplot, so making
one neither switches the process's backend nor disturbs a notebook's inline plots.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import LogLocator, MaxNLocator, NullLocator, StrMethodFormatter

#: Figure formats every plot function writes, chosen by the file name's suffix.
FIGURE_SUFFIXES = (".png", ".pdf", ".svg")


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


#: Width of a table column: six characters of value and at least one space before it.
_CELL_WIDTH = 7

#: Legend printed under every resistance table.
TABLE_LEGEND = (
    "values in kOhm; open = 1 MOhm or more, <=0 = zero or negative reading, n/a = no reading"
)


def format_resistance_map(resistance_ohm: np.ndarray) -> str:
    """The map as a table in kOhm, rows down and columns across, with its legend underneath.

    Every cell fits its column whatever the reading: values print with two decimals up to
    999.99 kOhm, anything from 1 MOhm up (an open device reads as tens of MOhm off the noise
    floor) as ``open``, zero and negative readings as ``<=0`` and NaN as ``n/a``.

    Parameters
    ----------
    resistance_ohm : array_like, shape (rows, cols)
        Readings in ohm.

    Returns
    -------
    str
        Header line, one line per row, then the legend line; no trailing newline.
    """
    r = np.asarray(resistance_ohm, dtype=float)
    if r.ndim != 2:
        raise ValueError(f"resistance_ohm must be a 2-D map (rows, cols), got shape {r.shape}")
    rows, cols = r.shape
    w = _CELL_WIDTH
    lines = ["row\\col" + "".join(f"{c:>{w}d}" for c in range(cols))]
    for i in range(rows):
        lines.append(f"{i:>{w}d}" + "".join(f"{_kohm_cell(v):>{w}}" for v in r[i]))
    lines.append(TABLE_LEGEND)
    return "\n".join(lines)


def _kohm_cell(value_ohm: float) -> str:
    if np.isnan(value_ohm):
        return "n/a"
    if value_ohm <= 0:  # also -inf: the noise outweighed the cell's current
        return "<=0"
    if np.isinf(value_ohm):
        return "open"
    text = f"{value_ohm / 1e3:.2f}"
    # Six characters hold 999.99 kOhm; whatever rounds to more is at least 1 MOhm: an open.
    return text if len(text) < _CELL_WIDTH else "open"


#: A working cell is drawn on the colour scale if it lies within this factor of the quartiles
#: of the map, even when the map is nearly all one state (AP/P stays below 4 at read bias).
_MIN_REACH = 4.0

_OPEN_COLOUR = "#d62728"
_SHORT_COLOUR = "#ff7f0e"
_NO_READING_COLOUR = "#bdbdbd"


def resistance_color_limits(resistance_ohm: np.ndarray) -> tuple[float, float]:
    """Colour-scale limits (ohm) of a resistance heat map: the span of the working cells.

    Opens (MOhm off the noise floor) and shorts would stretch a min-to-max scale until P and AP
    share a colour. The limits are therefore taken over the cells inside Tukey's fences on the
    log of the finite positive readings (1.5 interquartile ranges beyond the quartiles, but at
    least a factor :data:`_MIN_REACH`), which holds both the P and the AP population.

    Parameters
    ----------
    resistance_ohm : array_like
        Readings in ohm; zero, negative and non-finite readings are ignored.

    Returns
    -------
    (float, float)
        ``(low, high)`` in ohm with ``low < high``; cells outside are drawn in the over and under
        colours of :func:`plot_resistance_map`.
    """
    r = np.asarray(resistance_ohm, dtype=float)
    valid = r[np.isfinite(r) & (r > 0)]
    if valid.size == 0:
        return 1e3, 1e5  # nothing to scale to; any range draws an all-grey map
    log_r = np.log10(valid)
    q1, q3 = np.percentile(log_r, [25, 75])
    reach = max(1.5 * (q3 - q1), np.log10(_MIN_REACH))
    working = valid[(log_r >= q1 - reach) & (log_r <= q3 + reach)]
    low, high = float(working.min()), float(working.max())
    if high < low * 1.01:  # one value, or all alike: a log scale needs some width
        low, high = low / 1.05, high * 1.05
    return low, high


def plot_resistance_map(resistance_ohm: np.ndarray, path: Path | str, *, title: str = "") -> Path:
    """Save the map as a heat map (kOhm, log colour scale over the working cells).

    The colour scale spans :func:`resistance_color_limits`; cells above it (opens) and below it
    (shorts) are drawn in their own colours, shown as the colour bar's extension triangles and
    counted in a legend, as are cells with no valid reading (zero, negative or NaN).

    Parameters
    ----------
    resistance_ohm : array_like, shape (rows, cols)
        Readings in ohm, row 0 drawn at the top as in :func:`format_resistance_map`.
    path : Path or str
        ``.png``, ``.pdf`` or ``.svg`` file, or an existing folder (``resistance_map.png``).
    title : str
        Figure title.

    Returns
    -------
    Path
        The file written.
    """
    path = check_figure_path(path, "resistance_map.png")
    r = np.asarray(resistance_ohm, dtype=float)
    if r.ndim != 2:
        raise ValueError(f"resistance_ohm must be a 2-D map (rows, cols), got shape {r.shape}")
    _save(_resistance_map_figure(r, title), path)
    return path


def _resistance_map_figure(r_ohm: np.ndarray, title: str) -> Figure:
    from matplotlib import colormaps
    from matplotlib.colors import LogNorm

    low, high = resistance_color_limits(r_ohm)
    no_reading = ~(r_ohm > 0)  # NaN compares false, so it lands here with zero and negatives
    n_open = int(np.count_nonzero(r_ohm > high))
    n_short = int(np.count_nonzero(r_ohm < low) - np.count_nonzero(r_ohm <= 0))
    # +inf would not map to a colour; any value above the scale draws as "over".
    shown = np.ma.masked_array(np.where(np.isposinf(r_ohm), high * 10, r_ohm), no_reading) / 1e3
    cmap = colormaps["viridis"].with_extremes(
        over=_OPEN_COLOUR, under=_SHORT_COLOUR, bad=_NO_READING_COLOUR
    )
    fig, ax = _new_axes()
    image = ax.imshow(shown, cmap=cmap, norm=LogNorm(vmin=low / 1e3, vmax=high / 1e3))
    _cell_axes(ax, r_ohm.shape)
    bar = fig.colorbar(image, ax=ax, extend="both", label="resistance (kOhm)")
    if high / low < 20:
        # A log axis under two decades labels too few ticks to read a value off.
        bar.ax.yaxis.set_major_locator(MaxNLocator(nbins=6))
        bar.ax.yaxis.set_minor_locator(NullLocator())
    else:
        bar.ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    bar.ax.yaxis.set_major_formatter(StrMethodFormatter("{x:g}"))
    handles = [
        Patch(color=_OPEN_COLOUR, label=f"open, > {high / 1e3:.3g} kOhm: {n_open}"),
        Patch(color=_SHORT_COLOUR, label=f"short, < {low / 1e3:.3g} kOhm: {n_short}"),
        Patch(color=_NO_READING_COLOUR, label=f"no valid reading: {int(no_reading.sum())}"),
    ]
    _legend_below(fig, handles)
    ax.set_title(title, fontsize=9)
    return fig


# -- shared drawing helpers ------------------------------------------------------------------


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


def _save(fig: Figure, path: Path) -> None:
    fmt = path.suffix.lower().lstrip(".")
    fig.savefig(path, format=fmt, dpi=150, metadata=_NO_DATE[fmt])
