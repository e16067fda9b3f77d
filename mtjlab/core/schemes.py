"""Biasing schemes of a passive array: which voltage each row and column line is held at (or left
floating) to read one cell or to write one cell while sparing the others.

A biasing scheme is a read bias (:data:`READ_BIASES`, the ``bias`` of a read) or a write scheme
(:data:`WRITE_SCHEMES`, the ``scheme`` of a write pulse); ``"v/2"``, ``"v/3"`` and ``"floating"``
are names of both. Every backend uses these, so the bench and the simulator bias the array the
same way.
"""

from __future__ import annotations

import numpy as np

#: Read biases: how the unselected lines are held while one cell is read.
#: grounded: every other row and column at 0 V; floating: every other line open;
#: v/2 and v/3: unselected lines at the same fractions as the write schemes.
READ_BIASES = ("grounded", "floating", "v/2", "v/3")

#: Write schemes: how the unselected lines are held while one cell is pulsed (half-select).
#: v/2: unselected rows and columns at V/2, so half-selected cells see V/2 and the rest 0;
#: v/3: unselected rows at V/3 and columns at 2V/3, so every unselected cell sees +-V/3;
#: floating: unselected lines open, so the voltage on the others is set by the sneak paths.
WRITE_SCHEMES = ("v/2", "v/3", "floating")


def line_voltages(
    scheme: str, shape: tuple[int, int], row: int, col: int, v: float
) -> tuple[np.ndarray, np.ndarray]:
    """Row and column line voltages selecting cell (``row``, ``col``) at ``v`` under ``scheme``,
    a read bias or a write scheme.

    The selected row is at ``v`` and the selected column at 0 V, so the selected device sees
    ``v``. Unselected lines follow the scheme; NaN marks a floating (open) line.

    Returns
    -------
    row_v, col_v : ndarray
        Shapes (rows,) and (cols,).
    """
    rows, cols = shape
    if scheme == "grounded":
        row_v, col_v = np.zeros(rows), np.zeros(cols)
    elif scheme == "floating":
        row_v, col_v = np.full(rows, np.nan), np.full(cols, np.nan)
    elif scheme == "v/2":
        row_v, col_v = np.full(rows, v / 2), np.full(cols, v / 2)
    elif scheme == "v/3":
        row_v, col_v = np.full(rows, v / 3), np.full(cols, 2 * v / 3)
    else:
        raise ValueError(
            f"unknown biasing scheme {scheme!r}; expected one of "
            f"{sorted(set(READ_BIASES) | set(WRITE_SCHEMES))}"
        )
    row_v[row] = v
    col_v[col] = 0.0
    return row_v, col_v
