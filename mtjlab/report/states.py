"""Maps of cell classes (P, AP, open, short), with the written cells that missed crossed out.
The class colours match the resistance heat map's, so an open looks alike on both maps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from matplotlib import patheffects
from matplotlib.collections import LineCollection
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from mtjlab.core.states import AP, NAMES, OPEN, SHORT, P
from mtjlab.report._style import (
    _OPEN_COLOUR,
    _SHORT_COLOUR,
    _cell_axes,
    _legend_below,
    _new_axes,
    _save,
    check_figure_path,
)

#: Colours of the cell classes; open and short match the heat map's over and under colours.
_STATE_COLOURS = {P: "#4477aa", AP: "#ccbb44", OPEN: _OPEN_COLOUR, SHORT: _SHORT_COLOUR}


def figure_state_map(
    states: np.ndarray, *, target: np.ndarray | None = None, title: str = ""
) -> Figure:
    """A map of cell classes (P, AP, open, short), crossing out cells that miss ``target``.

    Parameters
    ----------
    states : array_like of int, shape (rows, cols)
        Cell classes as coded in :mod:`mtjlab.core.states`: P = 0, AP = 1, OPEN = 2, SHORT = 3.
    target : array_like of 0, 1 and -1, shape (rows, cols), optional
        The pattern that was written (P = 0, AP = 1; -1 for a cell that was not written). Every
        written cell whose class differs from it, opens and shorts included, is crossed out and
        counted in the legend.
    title : str
        Figure title.

    Returns
    -------
    Figure
        One axes holding the map as an image of the class codes, with the legend below.

    Raises
    ------
    ValueError
        If ``states`` or ``target`` is not a 2-D map of known codes, or their shapes differ.
    """
    s = _check_codes("states", states, tuple(NAMES))
    if target is not None:
        target = _check_codes("target", target, (P, AP, -1))
        if target.shape != s.shape:
            raise ValueError(f"target has shape {target.shape}, states {s.shape}")
    codes = sorted(_STATE_COLOURS)
    cmap = ListedColormap([_STATE_COLOURS[c] for c in codes])
    norm = BoundaryNorm(np.arange(len(codes) + 1) - 0.5, len(codes))
    fig, ax = _new_axes()
    ax.imshow(s, cmap=cmap, norm=norm, interpolation="nearest")
    _cell_axes(ax, s.shape)
    handles: list[Any] = [
        Patch(color=_STATE_COLOURS[c], label=f"{NAMES[c]}: {int(np.count_nonzero(s == c))}")
        for c in codes
    ]
    if target is not None:
        wrong = np.argwhere((s != target) & (target != -1))
        lw = _mark_cells(ax, wrong, s.shape)
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


def plot_state_map(
    states: np.ndarray,
    path: Path | str,
    *,
    target: np.ndarray | None = None,
    title: str = "",
) -> Path:
    """Save the map of :func:`figure_state_map`.

    Parameters
    ----------
    states : array_like of int, shape (rows, cols)
        Cell classes, as for :func:`figure_state_map`.
    path : Path or str
        ``.png``, ``.pdf`` or ``.svg`` file, or an existing folder (``state_map.png``).
    target : array_like of 0, 1 and -1, shape (rows, cols), optional
        The pattern that was written, -1 where not written; cells that miss it are crossed out.
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
        :func:`figure_state_map` does for the maps.
    """
    path = check_figure_path(path, "state_map.png")
    _save(figure_state_map(states, target=target, title=title), path)
    return path


def _check_codes(name: str, values: Any, codes: tuple[int, ...]) -> np.ndarray:
    a = np.asarray(values)
    if a.ndim != 2:
        raise ValueError(f"{name} must be a 2-D map (rows, cols), got shape {a.shape}")
    unknown = np.setdiff1d(a, codes)
    if unknown.size:
        raise ValueError(f"{name} may hold only the codes {codes}, got {unknown[:5].tolist()}")
    return a.astype(int)


def _mark_cells(ax: Any, cells: np.ndarray, shape: tuple[int, ...]) -> float:
    """Cross out ``cells`` ((n, 2) of row, col) in black with a white halo; return the width."""
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
