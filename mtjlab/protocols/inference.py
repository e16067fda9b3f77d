"""Inference on an array: a binary layer's weights as differential column pairs, its pre-activations
read from the pairs' current difference, and the per-unit gain and offset that tune them.

Weight +1 is the pair (P, AP), weight -1 is (AP, P): with inputs x driven as row voltages
``v_in_v * x``, the difference of a pair's column currents is ``v_in_v (G_P - G_AP) x . w``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from mtjlab.core.backend import ArrayBackend
from mtjlab.core.states import AP, P
from mtjlab.protocols.write import KEEP


@dataclass(frozen=True)
class PairMapping:
    """Where a layer sits on the array: an array row per input, a column pair per unit."""

    rows: tuple[int, ...]
    plus_cols: tuple[int, ...]
    minus_cols: tuple[int, ...]
    shape: tuple[int, int]

    @classmethod
    def default(cls, n_inputs: int, n_units: int, shape: tuple[int, int] = (15, 15)) -> PairMapping:
        """Inputs on rows 0, 1, ...; unit j on columns 2j (plus) and 2j + 1 (minus)."""
        if n_inputs > shape[0] or 2 * n_units > shape[1]:
            raise ValueError(
                f"a {n_inputs}-input, {n_units}-unit layer needs {n_inputs} rows and "
                f"{2 * n_units} columns; the array is {shape[0]}x{shape[1]}"
            )
        return cls(
            rows=tuple(range(n_inputs)),
            plus_cols=tuple(range(0, 2 * n_units, 2)),
            minus_cols=tuple(range(1, 2 * n_units, 2)),
            shape=shape,
        )

    @property
    def n_inputs(self) -> int:
        return len(self.rows)

    @property
    def n_units(self) -> int:
        return len(self.plus_cols)

    def target(self, weights: np.ndarray) -> np.ndarray:
        """The pattern that stores ``weights`` (inputs, units) of +-1; other cells KEEP."""
        w = np.asarray(weights)
        if w.shape != (self.n_inputs, self.n_units) or not np.isin(w, (-1, 1)).all():
            raise ValueError(
                f"weights must be a ({self.n_inputs}, {self.n_units}) array of +-1, "
                f"got shape {w.shape}"
            )
        target = np.full(self.shape, KEEP, dtype=np.int8)
        rows = np.array(self.rows)[:, None]
        target[rows, np.array(self.plus_cols)] = np.where(w > 0, P, AP)
        target[rows, np.array(self.minus_cols)] = np.where(w > 0, AP, P)
        return target

    def weights_read(self, states: np.ndarray) -> np.ndarray:
        """Weights a map of cell states holds: +1 for (P, AP), -1 for (AP, P), 0 for anything else
        (both alike, an open or a short in the pair)."""
        s = np.asarray(states)
        rows = np.array(self.rows)[:, None]
        plus, minus = s[rows, np.array(self.plus_cols)], s[rows, np.array(self.minus_cols)]
        return np.where(
            (plus == P) & (minus == AP), 1, np.where((plus == AP) & (minus == P), -1, 0)
        )

    def differences_a(self, backend: ArrayBackend, x: np.ndarray, v_in_v: float) -> np.ndarray:
        """Drive each input vector of ``x`` (n, inputs), scaled by ``v_in_v``, on its rows (the
        other rows at 0 V) and return each unit's current difference, shape (n, units)."""
        x = np.atleast_2d(np.asarray(x, dtype=float))
        if x.shape[1] != self.n_inputs or np.abs(x).max(initial=0.0) > 1.0:
            raise ValueError(
                f"inputs must have {self.n_inputs} columns within +-1, got shape {x.shape}"
            )
        v = np.zeros((x.shape[0], backend.shape[0]))
        v[:, self.rows] = v_in_v * x
        i = backend.column_currents_a(v)
        return i[:, self.plus_cols] - i[:, self.minus_cols]


@dataclass(frozen=True)
class Calibration:
    """Turns current differences into pre-activations: ``(difference - offset_a) / gain_a``."""

    gain_a: np.ndarray
    offset_a: np.ndarray

    def apply(self, differences_a: np.ndarray) -> np.ndarray:
        return (differences_a - self.offset_a) / self.gain_a


def _nominal_conductances_s(
    resistance_ohm: np.ndarray, states: np.ndarray, mapping: PairMapping
) -> tuple[float, float]:
    """``G_P`` and ``G_AP``: the medians of the layer's P and AP cells' conductances."""
    rows = np.array(mapping.rows)[:, None]
    cols = np.array(mapping.plus_cols + mapping.minus_cols)
    r = np.asarray(resistance_ohm)[rows, cols]
    s = np.asarray(states)[rows, cols]
    if not (np.any(s == P) and np.any(s == AP)):
        raise ValueError("the layer's cells show no P and AP population to calibrate from")
    return float(np.median(1.0 / r[s == P])), float(np.median(1.0 / r[s == AP]))


def nominal_calibration(
    resistance_ohm: np.ndarray, states: np.ndarray, mapping: PairMapping, v_in_v: float
) -> Calibration:
    """The gain a read-back map predicts: ``v_in_v (G_P - G_AP)`` from the medians of the layer's
    P and AP cells, the same for every unit; no offset. This is the untuned hardware."""
    g_p, g_ap = _nominal_conductances_s(resistance_ohm, states, mapping)
    gain = np.full(mapping.n_units, v_in_v * (g_p - g_ap))
    return Calibration(gain_a=gain, offset_a=np.zeros(mapping.n_units))


def read_back_weights(
    resistance_ohm: np.ndarray, states: np.ndarray, mapping: PairMapping
) -> np.ndarray:
    """The weights a read-back map says the layer holds, shape (inputs, units): each pair's
    conductance difference over the nominal ``G_P - G_AP`` (:func:`nominal_calibration`'s).

    About +-1 for a pair written right, 0 for a pair read alike, and far from 1 for an open
    (about -1/TMR or (1 + TMR)/TMR) or a shorted device (about +-100 on the reference chip).
    For ideal lines this is the weight the untuned read-out sees; on the simulated default and
    reference chips it is within 0.01 (median; 0.02 for 95 % of the weights) of the weight the
    training split's measured sums show."""
    g_p, g_ap = _nominal_conductances_s(resistance_ohm, states, mapping)
    g = 1.0 / np.asarray(resistance_ohm, dtype=float)
    rows = np.array(mapping.rows)[:, None]
    plus, minus = g[rows, np.array(mapping.plus_cols)], g[rows, np.array(mapping.minus_cols)]
    return (plus - minus) / (g_p - g_ap)


def fit_calibration(differences_a: np.ndarray, x: np.ndarray, weights: np.ndarray) -> Calibration:
    """Per unit, the gain and offset that best map the intended pre-activations ``x @ weights``
    onto the measured differences (least squares), from a training or calibration split."""
    ideal = np.asarray(x) @ np.asarray(weights, dtype=float)
    gains, offsets = [], []
    for j in range(ideal.shape[1]):
        design = np.column_stack([ideal[:, j], np.ones(len(ideal))])
        (gain, offset), *_ = np.linalg.lstsq(design, differences_a[:, j], rcond=None)
        gains.append(gain)
        offsets.append(offset)
    gains_a = np.array(gains)
    # A unit whose measured sums do not follow its weights at all keeps the sign of the mean gain.
    fallback = np.median(gains_a[gains_a > 0]) if np.any(gains_a > 0) else 1.0
    gains_a = np.where(gains_a > 0, gains_a, fallback)
    return Calibration(gain_a=gains_a, offset_a=np.array(offsets))


def defect_aware_mapping(
    weights: np.ndarray,
    bad_cells: dict[tuple[int, int], int],
    shape: tuple[int, int],
    *,
    sweeps: int = 4,
) -> PairMapping:
    """A placement of a layer that puts known defect cells where they cost the fewest weights.

    ``bad_cells`` maps a cell to the class it is stuck in (``P``, ``AP``, ``OPEN`` or
    ``SHORT``, from earlier read-outs and writes). A weight costs 1 for each of its two cells that
    is bad and not stuck in the state the weight needs. Inputs are assigned to rows (spare rows
    included) and units to the column pairs (0, 1), (2, 3), ... by alternating two optimal
    assignments; with no bad cell, or ties, the default placement is kept.
    """
    w = np.asarray(weights)
    n_inputs, n_units = w.shape
    rows, cols = shape
    n_pairs = cols // 2
    default = PairMapping.default(n_inputs, n_units, shape)
    if not bad_cells:
        return default
    # cost[r, p, k]: cost of weight +1 (k = 0) or -1 (k = 1) on row r, pair p.
    cost = np.zeros((rows, n_pairs, 2))
    for (r, c), state in bad_cells.items():
        p, side = divmod(c, 2)
        if r >= rows or p >= n_pairs:
            continue
        for k, sign in enumerate((1, -1)):
            want = (P if sign > 0 else AP) if side == 0 else (AP if sign > 0 else P)
            cost[r, p, k] += 0.0 if state == want else 1.0
    k_of = np.where(w > 0, 0, 1)  # (inputs, units)
    row_of = np.arange(n_inputs)
    pair_of = np.arange(n_units)
    # A tie-break far below one weight keeps the default placement where nothing is gained.
    tie = 1e-6
    for _ in range(sweeps):
        c_rows = cost[:, pair_of, :][:, np.arange(n_units)[None, :], k_of]  # (rows, inputs, units)
        c_rows = c_rows.sum(axis=2).T + tie * np.abs(np.arange(n_inputs)[:, None] - np.arange(rows))
        _, row_of = linear_sum_assignment(c_rows)
        c_pairs = cost[row_of]  # (inputs, pairs, 2)
        c_units = np.stack(
            [c_pairs[np.arange(n_inputs), :, k_of[:, j]].sum(axis=0) for j in range(n_units)]
        ) + tie * np.abs(np.arange(n_units)[:, None] - np.arange(n_pairs))
        _, pair_of = linear_sum_assignment(c_units)
    return PairMapping(
        rows=tuple(int(r) for r in row_of),
        plus_cols=tuple(int(2 * p) for p in pair_of),
        minus_cols=tuple(int(2 * p + 1) for p in pair_of),
        shape=shape,
    )


def placement_cost(
    weights: np.ndarray, mapping: PairMapping, bad_cells: dict[tuple[int, int], int]
) -> int:
    """How many weight cells of ``mapping`` land on a bad cell not stuck in the state needed."""
    target = mapping.target(weights)
    return sum(
        1 for (r, c), state in bad_cells.items() if target[r, c] != KEEP and target[r, c] != state
    )
