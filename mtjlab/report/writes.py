"""Figures of writes: how write-verify converged (wrong cells at each verify read) and how each
write of a characterization came out, array by array."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from mtjlab.report._style import _save, check_figure_path

_COLOURS = ("#4477aa", "#ee6677", "#228833", "#ccbb44", "#66ccee", "#aa3377", "#bbbbbb")


def figure_wrong_per_pass(wrong: np.ndarray, *, title: str = "") -> Figure:
    """Write-verify converging: the cells read wrong at each verify read (read 0 is before the
    first pulse), on a log scale with zero drawn at the bottom, so a cell that keeps failing
    shows as a floor that does not fall.

    Parameters
    ----------
    wrong : array_like of int, shape (n_reads,)
        Cells in the wrong state at each verify read.
    title : str
        Figure title.
    """
    wrong = np.asarray(wrong, dtype=float)
    fig = Figure(figsize=(5.2, 3.4), layout="constrained")
    ax = fig.add_subplot()
    reads = np.arange(wrong.size)
    shown = np.where(wrong > 0, wrong, 0.5)  # zero, below the 1 of the log axis
    ax.plot(reads, shown, color=_COLOURS[0], marker="o", linewidth=1.4)
    for x, w in zip(reads, wrong, strict=True):
        ax.annotate(f"{w:.0f}", (x, 0.5 if w == 0 else w), textcoords="offset points",
                    xytext=(0, 5), ha="center", fontsize=7)  # fmt: skip
    ax.set_yscale("log")
    ax.set_ylim(0.35, max(2.0, 2.0 * wrong.max(initial=1.0)))
    ax.axhline(0.5, color="#cccccc", linewidth=0.8, linestyle=":")
    ax.set_xticks(reads)
    ax.set_xlabel("verify read (0: before the first pulse)")
    ax.set_ylabel("cells read wrong (0 on the dotted line)")
    ax.grid(color="#eeeeee")
    ax.set_title(title, fontsize=9)
    return fig


def figure_fidelity_by_write(
    fidelity: np.ndarray, arrays: list, *, pattern_names: list[str] | None = None, title: str = ""
) -> Figure:
    """Each write's fidelity, pattern by pattern, one line per array: an array whose writes
    keep coming out worse than the others' stands out as they arrive (NaN: not written yet).

    Parameters
    ----------
    fidelity : array_like, shape (n_patterns, n_arrays)
        Fraction of cells in their target state after each write; NaN where not written.
    arrays : list
        The arrays' names, in the columns' order.
    pattern_names : list of str, optional
        The patterns' names for the x ticks (when few enough to read).
    title : str
        Figure title.
    """
    f = 100 * np.asarray(fidelity, dtype=float).reshape(-1, len(arrays))
    fig = Figure(figsize=(5.6, 3.6), layout="constrained")
    ax = fig.add_subplot()
    x = np.arange(f.shape[0])
    dodge = 0.3 / max(len(arrays), 1)  # arrays side by side at each pattern: equal ones all show
    for j, array in enumerate(arrays):
        colour = _COLOURS[j % len(_COLOURS)]
        shift = (j - (len(arrays) - 1) / 2) * dodge
        ax.plot(x + shift, f[:, j], color=colour, marker="o", markersize=4, linewidth=1.0,
                label=f"array {array}")  # fmt: skip
    if pattern_names is not None and len(pattern_names) <= 12:
        ax.set_xticks(x, pattern_names, rotation=30, ha="right", fontsize=7)
    else:
        ax.set_xlabel("pattern")
    ax.set_ylabel("write fidelity (%)")
    finite = f[np.isfinite(f)]
    low = min(99.0, float(finite.min()) - 0.5) if finite.size else 99.0
    ax.set_ylim(low, 100.3)
    ax.grid(color="#eeeeee")
    if arrays:
        ax.legend(fontsize=7, ncols=min(len(arrays), 4), loc="lower left")
    ax.set_title(title, fontsize=9)
    return fig


def plot_wrong_per_pass(wrong: np.ndarray, path: Path | str, *, title: str = "") -> Path:
    """Save :func:`figure_wrong_per_pass` to ``path`` (``.png``, ``.pdf`` or ``.svg``, or an
    existing folder for ``wrong_per_pass.png``); returns the file written."""
    path = check_figure_path(path, "wrong_per_pass.png")
    _save(figure_wrong_per_pass(wrong, title=title), path)
    return path


def plot_fidelity_by_write(
    fidelity: np.ndarray,
    arrays: list,
    path: Path | str,
    *,
    pattern_names: list[str] | None = None,
    title: str = "",
) -> Path:
    """Save :func:`figure_fidelity_by_write` to ``path`` (``.png``, ``.pdf`` or ``.svg``, or an
    existing folder for ``fidelity_by_write.png``); returns the file written."""
    path = check_figure_path(path, "fidelity_by_write.png")
    fig = figure_fidelity_by_write(fidelity, arrays, pattern_names=pattern_names, title=title)
    _save(fig, path)
    return path
