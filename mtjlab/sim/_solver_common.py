"""What the crossbar solver's paths share: the validated terminal voltages (`Ends`), the
conditions under which the line chains are positive definite (`structure_eligible`, asked by
the block and iterative paths), the error when they are not, and the split of a line's current
between its two ends. The path modules import from here, never from each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

# Smallest segment resistance times a line's total device conductance for which terminal
# currents from the terminal segment's voltage drop keep about 1e-12 relative accuracy.
MIN_SEGMENT_TO_LINE_RATIO = 1e-4


class NotPositiveDefiniteError(ArithmeticError):
    """A block lost positive definiteness: the circuit has a part no source reaches."""


@dataclass(frozen=True, eq=False)
class Ends:
    """Validated terminal voltages, one column per input vector; NaN marks an open end.

    Arrays are (rows, k) for the row ends and (cols, k) for the column ends; the NaN pattern is
    the same in every column, so `*_on` masks describe the single circuit topology.
    """

    row_start_v: np.ndarray
    row_end_v: np.ndarray
    column_start_v: np.ndarray
    column_end_v: np.ndarray

    @property
    def k(self) -> int:
        return self.row_start_v.shape[1]

    # The masks are read many times per solve (every path, the terminal currents): kept once
    # computed, since the voltages of an Ends are not changed after it is made.
    @cached_property
    def row_start_on(self) -> np.ndarray:
        return ~np.isnan(self.row_start_v[:, 0])

    @cached_property
    def row_end_on(self) -> np.ndarray:
        return ~np.isnan(self.row_end_v[:, 0])

    @cached_property
    def col_start_on(self) -> np.ndarray:
        return ~np.isnan(self.column_start_v[:, 0])

    @cached_property
    def col_end_on(self) -> np.ndarray:
        return ~np.isnan(self.column_end_v[:, 0])


def structure_eligible(conductance_s: np.ndarray, g_row: float, g_col: float, ends: Ends) -> bool:
    """The block path's conditions on the circuit, whatever its size (see `eligible`); the
    iterative path, which is preconditioned by the same line chains, asks the same."""
    if min(conductance_s.shape[-2:]) < 2:
        return False
    if not (np.isfinite(g_row) and np.isfinite(g_col)):
        return False
    row_tied = ends.row_start_on | ends.row_end_on
    col_tied = ends.col_start_on | ends.col_end_on
    weakest = conductance_s if conductance_s.ndim == 2 else conductance_s.min(axis=0)
    conducts = weakest > 0
    if not (conducts[~row_tied][:, col_tied].any(axis=1).all()):
        return False
    if not (conducts[row_tied][:, ~col_tied].any(axis=0).all()):
        return False
    row_sum = conductance_s.sum(axis=-1)[..., row_tied]
    col_sum = conductance_s.sum(axis=-2)[..., col_tied]
    ratio = min(row_sum.min(initial=np.inf) / g_row, col_sum.min(initial=np.inf) / g_col)
    return bool(ratio >= MIN_SEGMENT_TO_LINE_RATIO)


def resistive_split(start_a, end_a, ends_on, total):
    """Terminal currents of resistive lines, by end (k, lines).

    A line tied at one end passes the sum of its device currents (Kirchhoff's current law over
    the line), which stays accurate when the terminal segment's voltage drop is tiny; a line
    tied at both ends splits by its terminal segments' voltage drops.
    """
    start_on, end_on = ends_on
    start = np.where(start_on, np.where(end_on, start_a, total), 0.0)
    end = np.where(end_on, np.where(start_on, end_a, total), 0.0)
    return start, end
