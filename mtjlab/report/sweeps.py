"""Figures of a sweep: how an experiment's figures move with one swept field, with their spread
over the other fields and the chip seeds."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from mtjlab.report._style import _save, check_figure_path

_COLOURS = ("#4477aa", "#ee6677", "#228833", "#ccbb44")


def figure_sweep_field(
    x: np.ndarray,
    series: dict[str, np.ndarray],
    *,
    xlabel: str,
    ylabel: str = "",
    title: str = "",
) -> Figure:
    """One swept field's effect: each series' median over the other points at each value of
    the field, drawn as a line, with the band from the lowest to the highest of them.

    Parameters
    ----------
    x : array_like, shape (n_values,)
        The field's values, in the order swept.
    series : dict of str to array_like, each shape (n_values, n_others)
        Each series' value at every value of the field (rows) and every other point (columns:
        the chip seeds and the other fields' values); NaN where a point has not run yet.
    xlabel, ylabel, title : str
        Axis labels and figure title.

    Returns
    -------
    Figure
        One axes: a line and a band per series (up to four get their own colour).
    """
    x = np.asarray(x, dtype=float)
    fig = Figure(figsize=(5.2, 3.6), layout="constrained")
    ax = fig.add_subplot()
    for (name, values), colour in zip(series.items(), _COLOURS, strict=False):
        v = np.asarray(values, dtype=float).reshape(len(x), -1)
        if v.size == 0 or np.all(np.isnan(v)):
            continue
        with warnings.catch_warnings():  # a value none of whose points has run: NaN, quietly
            warnings.simplefilter("ignore", RuntimeWarning)
            middle = np.nanmedian(v, axis=1)
            low, high = np.nanmin(v, axis=1), np.nanmax(v, axis=1)
        ax.fill_between(x, low, high, color=colour, alpha=0.18, linewidth=0)
        ax.plot(x, middle, color=colour, marker="o", linewidth=1.4, label=f"{name}, median")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(color="#eeeeee")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, title="band: lowest to highest", title_fontsize=7)
    ax.set_title(title, fontsize=9)
    return fig


def plot_sweep_field(
    x: np.ndarray,
    series: dict[str, np.ndarray],
    path: Path | str,
    *,
    xlabel: str,
    ylabel: str = "",
    title: str = "",
) -> Path:
    """Save :func:`figure_sweep_field`.

    Parameters
    ----------
    x, series, xlabel, ylabel, title
        As for :func:`figure_sweep_field`.
    path : Path or str
        ``.png``, ``.pdf`` or ``.svg`` file, or an existing folder (``sweep_field.png``).

    Returns
    -------
    Path
        The file written.
    """
    path = check_figure_path(path, "sweep_field.png")
    _save(figure_sweep_field(x, series, xlabel=xlabel, ylabel=ylabel, title=title), path)
    return path
