"""Curves of one cell against pulse amplitude: switching probability and the R-V loop.
Inputs are plain arrays in volts, seconds and ohm, checked for shape and range before drawing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from mtjlab.report._style import _new_axes, _save, check_figure_path

# -- switching probability ---------------------------------------------------------------------


def figure_switching_curves(
    amplitudes_v: np.ndarray,
    probability: np.ndarray,
    widths_s: np.ndarray,
    *,
    fit_amplitudes_v: np.ndarray | None = None,
    fit_probability: np.ndarray | None = None,
    title: str = "",
) -> Figure:
    """Switching probability against pulse amplitude, one colour per pulse width.

    Parameters
    ----------
    amplitudes_v : array_like, shape (n_amplitudes,)
        Pulse amplitudes in volts.
    probability : array_like, shape (n_widths, n_amplitudes)
        Measured switching probability in [0, 1], drawn as markers; NaN where not measured.
    widths_s : array_like, shape (n_widths,)
        Pulse widths in seconds, shown in ns in the legend.
    fit_amplitudes_v : array_like, shape (n_fit,), optional
        Amplitudes of the fitted curves; give together with ``fit_probability``.
    fit_probability : array_like, shape (n_widths, n_fit), optional
        Fitted probability per width, drawn as a line in that width's colour.
    title : str
        Figure title.

    Returns
    -------
    Figure
        One axes: per width the markers, then the fitted line when given, and a legend.

    Raises
    ------
    ValueError
        If an array is empty, of the wrong shape or a probability lies outside [0, 1], or only
        one of ``fit_amplitudes_v`` and ``fit_probability`` is given.
    """
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
    """Save the curves of :func:`figure_switching_curves`.

    Parameters
    ----------
    amplitudes_v, probability, widths_s : array_like
        Amplitudes (V), measured probability per width and amplitude, and widths (s), as for
        :func:`figure_switching_curves`.
    path : Path or str
        ``.png``, ``.pdf`` or ``.svg`` file, or an existing folder (``switching_curves.png``).
    fit_amplitudes_v, fit_probability : array_like, optional
        The fitted curves, given together or not at all.
    title : str
        Figure title.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    ValueError
        If :func:`check_figure_path` refuses ``path`` (checked first), or as
        :func:`figure_switching_curves` does for the arrays.
    """
    path = check_figure_path(path, "switching_curves.png")
    fig = figure_switching_curves(
        amplitudes_v,
        probability,
        widths_s,
        fit_amplitudes_v=fit_amplitudes_v,
        fit_probability=fit_probability,
        title=title,
    )
    _save(fig, path)
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


# -- R-V loop ----------------------------------------------------------------------------------


def figure_rv_loop(
    amplitude_v: np.ndarray,
    resistance_ohm: np.ndarray,
    *,
    switching_v: tuple[float | None, float | None] = (None, None),
    title: str = "",
) -> Figure:
    """A resistance-voltage loop: the resistance read after each pulse of a sweep.

    The points are joined in the order of the sweep, with arrows along the way and at each
    switching jump, so the direction of the loop reads off the figure.

    Parameters
    ----------
    amplitude_v : array_like, shape (n,)
        Signed amplitude of each pulse in volts, in the order applied (for instance
        0 -> +max -> -max -> 0); positive drives P -> AP.
    resistance_ohm : array_like, shape (n,)
        Resistance read after each pulse, in ohm; drawn in kOhm.
    switching_v : (float or None, float or None)
        Switching voltages (AP -> P, negative; P -> AP, positive), each drawn as a dashed
        vertical line when given.
    title : str
        Figure title.

    Returns
    -------
    Figure
        One axes: the loop (first line, kOhm), the first pulse, the arrows and dashed lines.

    Raises
    ------
    ValueError
        If the arrays are empty or differ in shape, or a switching voltage has the wrong sign.
    """
    v = _vector("amplitude_v", amplitude_v)
    r_ohm = _vector("resistance_ohm", resistance_ohm)
    if r_ohm.shape != v.shape:
        raise ValueError(f"resistance_ohm has shape {r_ohm.shape}, amplitude_v {v.shape}")
    v_ap_p, v_p_ap = switching_v
    if v_ap_p is not None and v_ap_p >= 0:
        raise ValueError(f"switching_v[0] is the AP->P voltage and must be negative, got {v_ap_p}")
    if v_p_ap is not None and v_p_ap <= 0:
        raise ValueError(f"switching_v[1] is the P->AP voltage and must be positive, got {v_p_ap}")
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
    for value, name, line_colour in ((v_ap_p, "AP→P", "#228833"), (v_p_ap, "P→AP", "#aa3377")):
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


def plot_rv_loop(
    amplitude_v: np.ndarray,
    resistance_ohm: np.ndarray,
    path: Path | str,
    *,
    switching_v: tuple[float | None, float | None] = (None, None),
    title: str = "",
) -> Path:
    """Save the loop of :func:`figure_rv_loop`.

    Parameters
    ----------
    amplitude_v : array_like, shape (n,)
        Signed amplitude of each pulse in volts, in the order applied.
    resistance_ohm : array_like, shape (n,)
        Resistance read after each pulse, in ohm.
    path : Path or str
        ``.png``, ``.pdf`` or ``.svg`` file, or an existing folder (``rv_loop.png``).
    switching_v : (float or None, float or None)
        Switching voltages (AP -> P, negative; P -> AP, positive), drawn when given.
    title : str
        Figure title.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    ValueError
        If :func:`check_figure_path` refuses ``path`` (checked first), or as
        :func:`figure_rv_loop` does for the sweep and the switching voltages.
    """
    path = check_figure_path(path, "rv_loop.png")
    fig = figure_rv_loop(amplitude_v, resistance_ohm, switching_v=switching_v, title=title)
    _save(fig, path)
    return path


def _arrow_segments(v: np.ndarray, r: np.ndarray, n_even: int = 10) -> list[int]:
    """Segments (index of their first point) that get an arrow: every switching jump, where the
    direction matters most, and about ``n_even`` more spread along the sweep."""
    step_v = np.abs(np.diff(v))
    jump = np.abs(np.diff(np.log(np.abs(r) + 1e-30))) > np.log(1.2)
    moves = (step_v > 0) | jump  # a repeated amplitude without a jump has nowhere to point
    even = np.zeros_like(moves)
    even[np.linspace(0, moves.size - 1, min(n_even, moves.size)).round().astype(int)] = True
    return [int(k) for k in np.flatnonzero(moves & (jump | even))]
