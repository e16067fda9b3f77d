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

from mtjlab.core.states import AP, NAMES, OPEN, SHORT, P

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


# -- cell states -------------------------------------------------------------------------------

#: Colours of the cell classes; open and short match the heat map's over and under colours.
_STATE_COLOURS = {P: "#4477aa", AP: "#ccbb44", OPEN: _OPEN_COLOUR, SHORT: _SHORT_COLOUR}


def plot_state_map(
    states: np.ndarray,
    path: Path | str,
    *,
    target: np.ndarray | None = None,
    title: str = "",
) -> Path:
    """Save a map of cell classes (P, AP, open, short), crossing out cells that miss ``target``.

    Parameters
    ----------
    states : array_like of int, shape (rows, cols)
        Cell classes as coded in :mod:`mtjlab.core.states`: P = 0, AP = 1, OPEN = 2, SHORT = 3.
    path : Path or str
        ``.png``, ``.pdf`` or ``.svg`` file, or an existing folder (``state_map.png``).
    target : array_like of 0, 1 and -1, shape (rows, cols), optional
        The pattern that was written (P = 0, AP = 1; -1 for a cell that was not written). Every
        written cell whose class differs from it, opens and shorts included, is crossed out and
        counted in the legend.
    title : str
        Figure title.

    Returns
    -------
    Path
        The file written.
    """
    path = check_figure_path(path, "state_map.png")
    s = _check_codes("states", states, tuple(NAMES))
    if target is not None:
        target = _check_codes("target", target, (P, AP, -1))
        if target.shape != s.shape:
            raise ValueError(f"target has shape {target.shape}, states {s.shape}")
    _save(_state_map_figure(s, target, title), path)
    return path


def _check_codes(name: str, values: Any, codes: tuple[int, ...]) -> np.ndarray:
    a = np.asarray(values)
    if a.ndim != 2:
        raise ValueError(f"{name} must be a 2-D map (rows, cols), got shape {a.shape}")
    unknown = np.setdiff1d(a, codes)
    if unknown.size:
        raise ValueError(f"{name} may hold only the codes {codes}, got {unknown[:5].tolist()}")
    return a.astype(int)


def _state_map_figure(states: np.ndarray, target: np.ndarray | None, title: str) -> Figure:
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.lines import Line2D

    codes = sorted(_STATE_COLOURS)
    cmap = ListedColormap([_STATE_COLOURS[c] for c in codes])
    norm = BoundaryNorm(np.arange(len(codes) + 1) - 0.5, len(codes))
    fig, ax = _new_axes()
    ax.imshow(states, cmap=cmap, norm=norm, interpolation="nearest")
    _cell_axes(ax, states.shape)
    handles: list[Any] = [
        Patch(color=_STATE_COLOURS[c], label=f"{NAMES[c]}: {int(np.count_nonzero(states == c))}")
        for c in codes
    ]
    if target is not None:
        wrong = np.argwhere((states != target) & (target != -1))
        lw = _mark_cells(ax, wrong, states.shape)
        handles.append(
            Line2D(
                [],
                [],
                color="black",
                marker="x",
                linestyle="none",
                markeredgewidth=lw,
                label=f"differs from target: {len(wrong)}",
            )
        )
    _legend_below(fig, handles, ncols=len(handles))
    ax.set_title(title, fontsize=9)
    return fig


def _mark_cells(ax: Any, cells: np.ndarray, shape: tuple[int, ...]) -> float:
    """Cross out ``cells`` ((n, 2) of row, col) in black with a white halo; return the width."""
    from matplotlib import patheffects
    from matplotlib.collections import LineCollection

    # Thin enough that a 128-line map's crosses stay inside their cells, thick enough to see.
    lw = float(np.clip(24 / max(shape), 0.4, 2.0))
    h = 0.32
    segments = [
        seg
        for r, c in cells
        for seg in (((c - h, r - h), (c + h, r + h)), ((c - h, r + h), (c + h, r - h)))
    ]
    ax.add_collection(
        LineCollection(
            segments,
            colors="black",
            linewidths=lw,
            path_effects=[patheffects.withStroke(linewidth=lw + 1.5, foreground="white")],
        ),
        autolim=False,
    )
    return lw


# -- error rates -------------------------------------------------------------------------------

#: Below this largest rate the error map's colour scale shrinks from 0..1 to fit the data.
_TINY_RATE = 0.1


def plot_error_map(
    fraction: np.ndarray, path: Path | str, *, title: str = "", label: str = "error rate"
) -> Path:
    """Save a per-cell rate in [0, 1] (how often each cell ended wrong) as a heat map.

    The colour scale runs from 0 to 1, so maps of different runs compare by eye; only when every
    rate is below 0.1 does it end at a round number just above the largest, so rare errors
    still show. Up to 16x16 cells, each non-zero rate is written in its cell.

    Parameters
    ----------
    fraction : array_like, shape (rows, cols)
        Rates in [0, 1]; NaN marks a cell that was not measured (drawn grey).
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
    """
    path = check_figure_path(path, "error_map.png")
    f = np.asarray(fraction, dtype=float)
    if f.ndim != 2:
        raise ValueError(f"fraction must be a 2-D map (rows, cols), got shape {f.shape}")
    outside = f[~np.isnan(f) & ~((f >= 0) & (f <= 1))]
    if outside.size:
        raise ValueError(f"fraction must lie in [0, 1], got {outside[:5].tolist()}")
    _save(_error_map_figure(f, title, label), path)
    return path


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


def _error_map_figure(f: np.ndarray, title: str, label: str) -> Figure:
    from matplotlib import colormaps
    from matplotlib.colors import Normalize

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


def _rate_text(value: float) -> str:
    if value >= 0.01:
        return f"{value:.2f}"
    mantissa, exponent = f"{value:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"  # 3e-3: short enough for a cell


# -- switching probability ---------------------------------------------------------------------


def plot_switching_curves(
    amplitudes_v: np.ndarray,
    probability: np.ndarray,
    widths_s: np.ndarray,
    path: Path | str,
    *,
    fit_amplitudes_v: np.ndarray | None = None,
    fit_probability: np.ndarray | None = None,
    title: str = "",
) -> Path:
    """Save switching probability against pulse amplitude, one colour per pulse width.

    Parameters
    ----------
    amplitudes_v : array_like, shape (n_amplitudes,)
        Pulse amplitudes in volts.
    probability : array_like, shape (n_widths, n_amplitudes)
        Measured switching probability in [0, 1], drawn as markers; NaN where not measured.
    widths_s : array_like, shape (n_widths,)
        Pulse widths in seconds, shown in ns in the legend.
    path : Path or str
        ``.png``, ``.pdf`` or ``.svg`` file, or an existing folder (``switching_curves.png``).
    fit_amplitudes_v : array_like, shape (n_fit,), optional
        Amplitudes of the fitted curves; give together with ``fit_probability``.
    fit_probability : array_like, shape (n_widths, n_fit), optional
        Fitted probability per width, drawn as a line in that width's colour.
    title : str
        Figure title.

    Returns
    -------
    Path
        The file written.
    """
    path = check_figure_path(path, "switching_curves.png")
    amps = _vector("amplitudes_v", amplitudes_v)
    widths = _vector("widths_s", widths_s)
    prob = _probabilities("probability", probability, (widths.size, amps.size))
    if (fit_amplitudes_v is None) != (fit_probability is None):
        raise ValueError("give fit_amplitudes_v and fit_probability together, or neither")
    fit: tuple[np.ndarray, np.ndarray] | None = None
    if fit_amplitudes_v is not None:
        fit_amps = _vector("fit_amplitudes_v", fit_amplitudes_v)
        fit = (
            fit_amps,
            _probabilities("fit_probability", fit_probability, (widths.size, fit_amps.size)),
        )
    _save(_switching_figure(amps, prob, widths, fit, title), path)
    return path


def _vector(name: str, values: Any) -> np.ndarray:
    a = np.asarray(values, dtype=float)
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array, got shape {a.shape}")
    return a


def _probabilities(name: str, values: Any, shape: tuple[int, int]) -> np.ndarray:
    a = np.asarray(values, dtype=float)
    if a.shape != shape:
        raise ValueError(
            f"{name} must have shape (n_widths, n_amplitudes) = {shape}, got {a.shape}"
        )
    outside = a[~np.isnan(a) & ~((a >= 0) & (a <= 1))]
    if outside.size:
        raise ValueError(f"{name} must lie in [0, 1], got {outside[:5].tolist()}")
    return a


def _switching_figure(
    amps: np.ndarray,
    prob: np.ndarray,
    widths: np.ndarray,
    fit: tuple[np.ndarray, np.ndarray] | None,
    title: str,
) -> Figure:
    from matplotlib import colormaps
    from matplotlib.lines import Line2D

    cmap = colormaps["tab10"] if widths.size <= 10 else colormaps["viridis"]
    colours = [cmap(k if widths.size <= 10 else k / (widths.size - 1)) for k in range(widths.size)]
    fig, ax = _new_axes((6.4, 4.8))
    handles = []
    for k, width in enumerate(widths):
        ax.plot(amps, prob[k], "o", color=colours[k], markersize=5)
        if fit is not None:
            ax.plot(fit[0], fit[1][k], "-", color=colours[k], linewidth=1.5)
        handles.append(
            Line2D(
                [],
                [],
                color=colours[k],
                marker="o",
                linestyle="-" if fit else "none",
                label=f"{round(width * 1e9, 6):.10g} ns",
            )
        )
    legend_title = "pulse width" + ("\nmarkers measured, lines fit" if fit else "")
    ax.legend(handles=handles, title=legend_title, fontsize=8, title_fontsize=8)
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel("pulse amplitude (V)")
    ax.set_ylabel("switching probability")
    ax.grid(alpha=0.3)
    ax.set_title(title, fontsize=9)
    return fig


# -- R-V loop ----------------------------------------------------------------------------------


def plot_rv_loop(
    amplitude_v: np.ndarray,
    resistance_ohm: np.ndarray,
    path: Path | str,
    *,
    switching_v: tuple[float | None, float | None] = (None, None),
    title: str = "",
) -> Path:
    """Save a resistance-voltage loop: the resistance read after each pulse of a sweep.

    The points are joined in the order of the sweep, with arrows along the way and at each
    switching jump, so the direction of the loop reads off the figure.

    Parameters
    ----------
    amplitude_v : array_like, shape (n,)
        Signed amplitude of each pulse in volts, in the order applied (for instance
        0 -> +max -> -max -> 0); positive drives P -> AP.
    resistance_ohm : array_like, shape (n,)
        Resistance read after each pulse, in ohm; drawn in kOhm.
    path : Path or str
        ``.png``, ``.pdf`` or ``.svg`` file, or an existing folder (``rv_loop.png``).
    switching_v : (float or None, float or None)
        Switching voltages (AP -> P, negative; P -> AP, positive), each drawn as a dashed
        vertical line when given.
    title : str
        Figure title.

    Returns
    -------
    Path
        The file written.
    """
    path = check_figure_path(path, "rv_loop.png")
    v = _vector("amplitude_v", amplitude_v)
    r = _vector("resistance_ohm", resistance_ohm)
    if r.shape != v.shape:
        raise ValueError(f"resistance_ohm has shape {r.shape}, amplitude_v {v.shape}")
    v_ap_p, v_p_ap = switching_v
    if v_ap_p is not None and v_ap_p >= 0:
        raise ValueError(f"switching_v[0] is the AP->P voltage and must be negative, got {v_ap_p}")
    if v_p_ap is not None and v_p_ap <= 0:
        raise ValueError(f"switching_v[1] is the P->AP voltage and must be positive, got {v_p_ap}")
    _save(_rv_loop_figure(v, r, (v_ap_p, v_p_ap), title), path)
    return path


def _rv_loop_figure(
    v: np.ndarray,
    r_ohm: np.ndarray,
    switching_v: tuple[float | None, float | None],
    title: str,
) -> Figure:
    from matplotlib.lines import Line2D

    colour = "#4477aa"
    r = r_ohm / 1e3
    fig, ax = _new_axes((6.4, 4.8))
    ax.plot(v, r, "-o", color=colour, markersize=3, linewidth=1)
    ax.plot(v[:1], r[:1], "s", color="black", markersize=6, zorder=3)
    for k in _arrow_segments(v, r):
        ax.annotate(
            "",
            xy=(v[k + 1], r[k + 1]),
            xytext=(v[k], r[k]),
            arrowprops={
                "arrowstyle": "-|>",
                "color": colour,
                "lw": 1,
                "mutation_scale": 14,
                "shrinkA": 0,
                "shrinkB": 2,
            },
        )
    handles: list[Any] = [
        Line2D([], [], color=colour, marker="o", markersize=3, label="read after each pulse"),
        Line2D([], [], color="black", marker="s", linestyle="none", label="first pulse"),
    ]
    for value, name, line_colour in (
        (switching_v[0], "AP→P", "#228833"),
        (switching_v[1], "P→AP", "#aa3377"),
    ):
        if value is not None:
            ax.axvline(value, linestyle="--", color=line_colour, linewidth=1.2)
            handles.append(
                Line2D([], [], linestyle="--", color=line_colour, label=f"{name} {value:+.3g} V")
            )
    ax.legend(handles=handles, fontsize=8)
    ax.set_xlabel("pulse amplitude (V)")
    ax.set_ylabel("resistance after the pulse (kOhm)")
    ax.grid(alpha=0.3)
    ax.set_title(title, fontsize=9)
    return fig


def _arrow_segments(v: np.ndarray, r: np.ndarray, n_even: int = 10) -> list[int]:
    """Segments (index of their first point) that get an arrow: every switching jump, where the
    direction matters most, and about ``n_even`` more spread along the sweep."""
    step_v = np.abs(np.diff(v))
    jump = np.abs(np.diff(np.log(np.abs(r) + 1e-30))) > np.log(1.2)
    moves = (step_v > 0) | jump  # a repeated amplitude without a jump has nowhere to point
    even = np.zeros_like(moves)
    even[np.linspace(0, moves.size - 1, min(n_even, moves.size)).round().astype(int)] = True
    return [int(k) for k in np.flatnonzero(moves & (jump | even))]


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


# -- the reproduce campaign ---------------------------------------------------------------------


def plot_accuracy_distributions(
    accuracies: dict[str, np.ndarray], path: Path | str, *, title: str = ""
) -> Path:
    """Histograms of test accuracy (fractions) of many solutions, one per named series, on one
    axis in percent, each with its median marked."""
    path = check_figure_path(path, "accuracy.png")
    fig, ax = _new_axes((6.4, 4.4))
    values = [100 * np.asarray(v, dtype=float) for v in accuracies.values()]
    every = np.concatenate(values) if values else np.array([0.0, 100.0])
    lo = np.floor(every.min() / 2) * 2 - 1
    bins = np.arange(lo, 101.5 + 1e-9, 1.0)
    for (name, v), colour in zip(
        accuracies.items(), ("#4477aa", "#ee6677", "#228833", "#ccbb44"), strict=False
    ):
        a = 100 * np.asarray(v, dtype=float)
        ax.hist(
            a,
            bins=bins,
            histtype="step",
            linewidth=1.6,
            color=colour,
            label=f"{name}: median {np.median(a):.1f} %",
        )
        ax.axvline(np.median(a), color=colour, linestyle="--", linewidth=1)
    ax.set_xlabel("test accuracy (%)")
    ax.set_ylabel("solutions")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8, loc="upper left")
    _save(fig, path)
    return path


def plot_fidelity_vs_accuracy(
    fidelity: np.ndarray,
    accuracy: dict[str, np.ndarray],
    path: Path | str,
    *,
    xlabel: str = "weight fidelity (%)",
    title: str = "",
) -> Path:
    """Scatter of each solution's write fidelity (fraction) against its accuracies (fractions)."""
    path = check_figure_path(path, "fidelity_vs_accuracy.png")
    fig, ax = _new_axes((6.4, 4.4))
    f = 100 * np.asarray(fidelity, dtype=float)
    jitter = np.random.default_rng(0).uniform(-0.15, 0.15, f.size)  # ties at one test sample
    for (name, a), colour, marker in zip(
        accuracy.items(), ("#ee6677", "#228833"), "ox", strict=False
    ):
        ax.scatter(
            f,
            100 * np.asarray(a) + jitter,
            s=14,
            alpha=0.6,
            color=colour,
            marker=marker,
            label=name,
        )
    ax.set_xlabel(xlabel)
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    _save(fig, path)
    return path


def plot_confusion_matrix(
    counts: np.ndarray, path: Path | str, *, labels: list[str] | None = None, title: str = ""
) -> Path:
    """A confusion matrix of counts (true class down, predicted across), each row's share shaded."""
    path = check_figure_path(path, "confusion.png")
    c = np.asarray(counts, dtype=float)
    n = c.shape[0]
    labels = labels or [str(k) for k in range(n)]
    share = c / np.maximum(c.sum(axis=1, keepdims=True), 1)
    fig, ax = _new_axes((4.8, 4.2))
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for i in range(n):
        for j in range(n):
            ax.text(
                j,
                i,
                f"{int(c[i, j])}",
                ha="center",
                va="center",
                fontsize=10,
                color="white" if share[i, j] > 0.6 else "black",
            )
    ax.set_xticks(range(n), labels)
    ax.set_yticks(range(n), labels)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title, fontsize=9)
    fig.colorbar(image, ax=ax, label="share of the true class")
    _save(fig, path)
    return path


def write_html_report(
    path: Path | str,
    *,
    title: str,
    headline: list[tuple[str, str]],
    parameters: dict,
    figures: list[Path],
) -> Path:
    """One HTML page: the headline figures, the figures (linked by relative path, so the folder
    can be moved as a whole) and the run's parameters."""
    import html

    path = Path(path)
    rows = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in headline
    )
    params = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td><code>{html.escape(str(v))}</code></td></tr>"
        for k, v in parameters.items()
    )
    images = "".join(
        f'<figure><img src="{html.escape(f.name)}" alt="{html.escape(f.stem)}">'
        f"<figcaption>{html.escape(f.stem.replace('_', ' '))}</figcaption></figure>"
        for f in figures
    )
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: sans-serif; max-width: 1100px; margin: 1em auto; color: #222; }}
table {{ border-collapse: collapse; margin: 0.5em 0 1em; }}
th, td {{ text-align: left; padding: 2px 10px; border-bottom: 1px solid #ddd; }}
figure {{ display: inline-block; width: 48%; margin: 0.5%; vertical-align: top; }}
img {{ width: 100%; }}
figcaption {{ font-size: 0.8em; color: #555; text-align: center; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<table>{rows}</table>
{images}
<h2>Parameters</h2>
<table>{params}</table>
</body></html>
"""
    path.write_text(page, encoding="utf-8")
    return path
