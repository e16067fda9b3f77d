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


def unselected_voltages(scheme: str, v: float) -> tuple[float, float]:
    """The largest positive voltage and the largest negative one (as a magnitude) that a write
    scheme puts on a device it does not select, when the selected device sees ``v``.

    Read off the scheme's line voltages for every unselected device. A floating line may settle
    anywhere between the sources' voltages (a resistive network has no node outside them), so
    under ``"floating"`` an unselected device may see anything from ``-|v|`` to ``+|v|``.

    These are the ideal lines' voltages. Line resistance moves the nodes a little off them: on
    chip 0 at the edge of its disturb envelope, up to 13 mV above V/3 under V/3, and up to about
    7 mV of the opposite polarity on the devices of neither selected line under V/2. The
    envelope absorbs that by counting every device of the array at its bound where a pulse puts
    it on far fewer: the pulses solved there disturb at most 2.2e-5 devices, a fifth of the
    budget (``tests/sim/test_sim_limits.py``).
    """
    shape = (3, 3)  # every kind of unselected device (on the selected row, column, or neither)
    row_v, col_v = line_voltages(scheme, shape, 0, 0, v)
    low, high = min(0.0, v), max(0.0, v)
    rows_lo, rows_hi = np.where(np.isnan(row_v), low, row_v), np.where(np.isnan(row_v), high, row_v)
    cols_lo, cols_hi = np.where(np.isnan(col_v), low, col_v), np.where(np.isnan(col_v), high, col_v)
    most = rows_hi[:, None] - cols_lo[None, :]
    least = rows_lo[:, None] - cols_hi[None, :]
    unselected = np.ones(shape, dtype=bool)
    unselected[0, 0] = False
    positive = max(float(np.max(most[unselected])), 0.0)
    negative = max(float(-np.min(least[unselected])), 0.0)
    return positive + 0.0, negative + 0.0  # + 0.0: never a -0.0
