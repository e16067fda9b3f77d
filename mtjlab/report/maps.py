"""Maps of a value per cell: resistance readings as a text table and a heat map, error-rate maps.
Each colour scale keeps the working cells readable next to opens, shorts and rare errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import LogNorm, Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import LogLocator, MaxNLocator, NullLocator, StrMethodFormatter

from mtjlab.report._style import (
    _NO_READING_COLOUR,
    _OPEN_COLOUR,
    _SHORT_COLOUR,
    _cell_axes,
    _legend_below,
    _new_axes,
    _save,
    check_figure_path,
)

# -- resistance table --------------------------------------------------------------------------

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


# -- resistance heat map -----------------------------------------------------------------------

#: A working cell is drawn on the colour scale if it lies within this factor of the quartiles
#: of the map, even when the map is nearly all one state (AP/P stays below 4 at read bias).
_MIN_REACH = 4.0


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
        colours of :func:`figure_resistance_map`.
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


def figure_resistance_map(resistance_ohm: np.ndarray, *, title: str = "") -> Figure:
    """The map as a heat map (kOhm, log colour scale over the working cells).

    The colour scale spans :func:`resistance_color_limits`; cells above it (opens) and below it
    (shorts) are drawn in their own colours, shown as the colour bar's extension triangles and
    counted in a legend, as are cells with no valid reading (zero, negative or NaN).

    Parameters
    ----------
    resistance_ohm : array_like, shape (rows, cols)
        Readings in ohm, row 0 drawn at the top as in :func:`format_resistance_map`.
    title : str
        Figure title.

    Returns
    -------
    Figure
        The map's axes (image in kOhm) and its colour bar's, with the legend below.

    Raises
    ------
    ValueError
        If ``resistance_ohm`` is not a 2-D map.
    """
    r_ohm = np.asarray(resistance_ohm, dtype=float)
    if r_ohm.ndim != 2:
        raise ValueError(f"resistance_ohm must be a 2-D map (rows, cols), got shape {r_ohm.shape}")
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


def plot_resistance_map(resistance_ohm: np.ndarray, path: Path | str, *, title: str = "") -> Path:
    """Save the heat map of :func:`figure_resistance_map`.

    Parameters
    ----------
    resistance_ohm : array_like, shape (rows, cols)
        Readings in ohm, as for :func:`figure_resistance_map`.
    path : Path or str
        ``.png``, ``.pdf`` or ``.svg`` file, or an existing folder (``resistance_map.png``).
    title : str
        Figure title.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    ValueError
        If :func:`check_figure_path` refuses ``path`` (checked first) or the map is not 2-D.
    """
    path = check_figure_path(path, "resistance_map.png")
    _save(figure_resistance_map(resistance_ohm, title=title), path)
    return path


# -- error rates -------------------------------------------------------------------------------

#: Below this largest rate the error map's colour scale shrinks from 0..1 to fit the data.
_TINY_RATE = 0.1


def error_color_limit(fraction: np.ndarray) -> float:
    """Top of the error map's colour scale: 1, or a round number just above tiny rates.

    Parameters
    ----------
    fraction : array_like
        Rates in [0, 1]; NaN is ignored.

    Returns
    -------
    float
        1.0 unless the largest rate is above 0 and below 0.1; then the smallest of 1, 2, 5
        times a power of ten that is at least the largest rate.
    """
    f = np.asarray(fraction, dtype=float)
    top = float(np.nanmax(f)) if np.any(~np.isnan(f)) else 0.0
    if not 0 < top < _TINY_RATE:
        return 1.0
    decade = 10.0 ** np.floor(np.log10(top))
    return float(next(m * decade for m in (1, 2, 5, 10) if m * decade >= top * (1 - 1e-12)))


def figure_error_map(fraction: np.ndarray, *, title: str = "", label: str = "error rate") -> Figure:
    """A per-cell rate in [0, 1] (how often each cell ended wrong) as a heat map.

    The colour scale runs from 0 to 1, so maps of different runs compare by eye; only when every
    rate is below 0.1 does it end at a round number just above the largest, so rare errors
    still show. Up to 16x16 cells, each non-zero rate is written in its cell.

    Parameters
    ----------
    fraction : array_like, shape (rows, cols)
        Rates in [0, 1]; NaN marks a cell that was not measured (drawn grey).
    title : str
        Figure title.
    label : str
        What the rate is, for the colour bar.

    Returns
    -------
    Figure
        The map's axes (image of the rates) and its colour bar's.

    Raises
    ------
    ValueError
        If ``fraction`` is not a 2-D map or holds a rate outside [0, 1].
    """
    f = np.asarray(fraction, dtype=float)
    if f.ndim != 2:
        raise ValueError(f"fraction must be a 2-D map (rows, cols), got shape {f.shape}")
    outside = f[~np.isnan(f) & ~((f >= 0) & (f <= 1))]
    if outside.size:
        raise ValueError(f"fraction must lie in [0, 1], got {outside[:5].tolist()}")
    cmap = colormaps["YlOrRd"].with_extremes(bad=_NO_READING_COLOUR)
    norm = Normalize(vmin=0.0, vmax=error_color_limit(f))
    fig, ax = _new_axes()
    image = ax.imshow(np.ma.masked_invalid(f), cmap=cmap, norm=norm, interpolation="nearest")
    _cell_axes(ax, f.shape)
    fig.colorbar(image, ax=ax, label=label)
    rows, cols = f.shape
    if max(rows, cols) <= 16:
        size = min(8.0, 110 / max(rows, cols))
        for r, c in np.argwhere(np.nan_to_num(f) > 0):
            value = f[r, c]
            ax.text(
                c,
                r,
                _rate_text(value),
                ha="center",
                va="center",
                fontsize=size,
                color="white" if norm(value) > 0.55 else "black",
            )
    n_missing = int(np.isnan(f).sum())
    if n_missing:
        _legend_below(fig, [Patch(color=_NO_READING_COLOUR, label=f"not measured: {n_missing}")])
    ax.set_title(title, fontsize=9)
    return fig


def plot_error_map(
    fraction: np.ndarray, path: Path | str, *, title: str = "", label: str = "error rate"
) -> Path:
    """Save the heat map of :func:`figure_error_map`.

    Parameters
    ----------
    fraction : array_like, shape (rows, cols)
        Rates in [0, 1], NaN where not measured, as for :func:`figure_error_map`.
    path : Path or str
        ``.png``, ``.pdf`` or ``.svg`` file, or an existing folder (``error_map.png``).
    title : str
        Figure title.
    label : str
        What the rate is, for the colour bar.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    ValueError
        If :func:`check_figure_path` refuses ``path`` (checked first) or ``fraction`` is not a
        2-D map of rates in [0, 1].
    """
    path = check_figure_path(path, "error_map.png")
    _save(figure_error_map(fraction, title=title, label=label), path)
    return path


def _rate_text(value: float) -> str:
    if value >= 0.01:
        return f"{value:.2f}"
    mantissa, exponent = f"{value:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"  # 3e-3: short enough for a cell
