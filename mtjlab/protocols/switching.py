"""Switching probability of single cells versus pulse amplitude and width.

Owns the trial loop (reset, pulse, read); the Neel-Brown fit of its counts is in thermal_fit.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from mtjlab.core.backend import ArrayBackend
from mtjlab.core.checks import (
    check_amplitudes,
    check_cell,
    check_choice,
    check_read_v,
    check_scalar,
    check_widths,
    frozen_array,
)
from mtjlab.core.events import Progress, ProgressCallback, emit
from mtjlab.core.records import RecordSink
from mtjlab.core.schemes import WRITE_SCHEMES
from mtjlab.core.states import AP, NAMES, P
from mtjlab.protocols.readout import MIN_STATE_RATIO
from mtjlab.protocols.thermal_fit import ThermalFit, fit_thermal_activation

#: Switching directions: (polarity of the switching pulse, start state, end state).
DIRECTIONS: dict[str, tuple[int, int, int]] = {"P->AP": (+1, P, AP), "AP->P": (-1, AP, P)}

#: Largest such ratio an MTJ can show: the room-temperature TMR record of MgO junctions is about
#: 600 % (a ratio of 7). A larger one is something else, such as an open cell whose reading is the
#: sneak current of neighbours that the resets rewrote.
MAX_STATE_RATIO = 8.0

#: A cell whose reset fails this many trials in a row is given up (broken down, stuck).
MAX_CONSECUTIVE_FAILED_TRIALS = 3

#: Rounds of (reset to AP, read, reset to P, read) in a cell's calibration. Two rounds, because
#: the noise readings of an open cell can pass for two states once but rarely twice in order.
CALIBRATION_ROUNDS = 2


# -- results ----------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class CellSwitching:
    """One cell's calibration and switching counts.

    Attributes
    ----------
    row, col : int
        The cell.
    switchable : bool
        False if the calibration found no two states, or the cell was given up mid-run.
    reason : str
        Why the cell is not switchable ("" if it is).
    r_p_ohm, r_ap_ohm : float
        Geometric means of the calibration readings after a reset to P and to AP.
    threshold_ohm : float
        Their geometric mean: readings above it are AP, below it P (NaN if not switchable).
    n_switched, n_trials, n_reset_failed : ndarray of int, shape (len(widths_s), len(amplitudes_v))
        Switched trials, counted trials (the reset succeeded), and trials dropped because the
        reset did not bring the cell to its start state.
    """

    row: int
    col: int
    switchable: bool
    reason: str
    r_p_ohm: float
    r_ap_ohm: float
    threshold_ohm: float
    n_switched: np.ndarray
    n_trials: np.ndarray
    n_reset_failed: np.ndarray

    @property
    def probability(self) -> np.ndarray:
        """Measured switching probability per (width, amplitude); NaN where nothing was counted."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.n_trials > 0, self.n_switched / self.n_trials, np.nan)


@dataclass(frozen=True, eq=False)
class SwitchingResult:
    """Switching counts of several cells on one (width, amplitude) grid.

    Attributes
    ----------
    direction : {"P->AP", "AP->P"}
        The switching that was measured.
    amplitudes_v, widths_s : ndarray
        The grid; every count array is indexed [width, amplitude].
    cells : tuple of CellSwitching
        In the order they were measured.
    scheme : str
        Half-select scheme of every pulse.
    reset_amplitude_v : (float, float)
        The reset pulses' amplitudes, into AP and into P.
    reset_width_s : float
        The reset pulses' width.
    """

    direction: str
    amplitudes_v: np.ndarray
    widths_s: np.ndarray
    cells: tuple[CellSwitching, ...]
    scheme: str
    reset_amplitude_v: tuple[float, float]
    reset_width_s: float

    def cell(self, row: int, col: int) -> CellSwitching:
        """The result of cell (``row``, ``col``)."""
        for c in self.cells:
            if (c.row, c.col) == (row, col):
                return c
        raise KeyError(f"cell ({row}, {col}) was not measured")

    def fit(
        self, *, tau0_s: float = 1e-9, barrier_exponent: float = 1.0, skip_unfittable: bool = False
    ) -> dict[tuple[int, int], ThermalFit]:
        """Fit :func:`fit_thermal_activation` to every switchable cell.

        With ``skip_unfittable`` a cell whose counts cannot determine both parameters is left
        out; otherwise its ValueError is raised, naming the cell.
        """
        fits = {}
        for c in self.cells:
            if not c.switchable:
                continue
            try:
                fits[(c.row, c.col)] = fit_thermal_activation(
                    self.amplitudes_v,
                    self.widths_s,
                    c.n_switched,
                    c.n_trials,
                    tau0_s=tau0_s,
                    barrier_exponent=barrier_exponent,
                )
            except ValueError as err:
                if not skip_unfittable:
                    raise ValueError(f"cell ({c.row}, {c.col}): {err}") from err
        return fits


# -- the protocol ---------------------------------------------------------------------------


def switching_probability(
    backend: ArrayBackend,
    cells: Iterable[tuple[int, int]],
    *,
    direction: str,
    amplitudes_v: ArrayLike,
    widths_s: ArrayLike,
    trials: int,
    scheme: str = "v/2",
    v_read_v: float = 0.1,
    reset_amplitude_v: float | tuple[float, float] | None = None,
    reset_width_s: float = 100e-9,
    max_reset_attempts: int = 5,
    rng: np.random.Generator | int = 0,
    progress: ProgressCallback | None = None,
    record: RecordSink | None = None,
) -> SwitchingResult:
    """Measure how often one pulse switches each cell, on a grid of amplitudes and widths.

    For each cell: calibrate a P/AP threshold from grounded reads after resets to each state
    (:func:`calibrate_threshold`; a cell whose readings show no two MTJ states is reported as
    not switchable and skipped); then, ``trials`` times per (width, amplitude) in a shuffled
    order, reset the cell to the start state (reset pulse, read, retried up to
    ``max_reset_attempts`` times; a trial whose reset fails is recorded and not counted), apply
    one pulse in the switching polarity, read, and count whether it switched. A cell whose
    reset fails :data:`MAX_CONSECUTIVE_FAILED_TRIALS` trials in a row is given up.

    Parameters
    ----------
    backend : ArrayBackend
        The array; its ``limits`` bound every amplitude, width and read voltage.
    cells : iterable of (row, col)
        Cells to measure, in this order.
    direction : {"P->AP", "AP->P"}
        P->AP pulses with positive polarity from P, AP->P with negative polarity from AP.
    amplitudes_v : array_like
        Pulse amplitudes (> 0, at most ``limits.max_write_v``).
    widths_s : array_like
        Pulse widths, within the backend's width limits.
    trials : int
        Trials per (width, amplitude) and cell.
    scheme : {"v/2", "v/3", "floating"}
        Half-select scheme of every pulse.
    v_read_v : float
        Read voltage, under the grounded read bias (non-zero, at most ``limits.max_read_v`` in
        magnitude).
    reset_amplitude_v : float or (float, float), optional
        Amplitude of the reset pulses, one for both polarities or (into AP, into P). By
        default the largest of each polarity the limits allow, the disturb envelope included
        (:meth:`~mtjlab.core.limits.Limits.largest_write_v`): the surest reset that spares the
        neighbours. Each reset is verified by a read, so a marginal one costs retries, not
        accuracy.
        An open cell reads the sneak current of its neighbours, so when the resets rewrite
        them it can pass for two states; its trials then never switch and its fit is refused.
        Leave out the opens of a read-out first.
    reset_width_s : float
        Width of the reset pulse.
    max_reset_attempts : int
        Reset pulses tried before a trial is given up.
    rng : numpy.random.Generator or int
        Shuffles the order of the trials, so that a drift in time is spread over the grid
        instead of looking like an amplitude or width dependence.
    progress : callable, optional
        Receives :class:`~mtjlab.core.events.Progress` events (task ``"switching"``, one
        step per trial).
    record : callable, optional
        Receives each measured record as soon as it is measured: ``kind`` ``"calibration"``
        (one per calibration read) or ``"trial"`` (one per trial), with ``row``, ``col``,
        ``direction``, ``amplitude_v``, ``width_s``, ``resistance_ohm``, ``step`` and, for
        trials, ``trial``, ``reset_attempts``, ``reset_ok``, ``switched``, ``threshold_ohm``.

    Returns
    -------
    SwitchingResult

    Raises
    ------
    ValueError
        A parameter outside its range, before anything is applied to the array.
    LimitError
        A trial or reset pulse outside the disturb envelope, before anything is applied.
    """
    limits = backend.limits
    check_choice("direction", direction, DIRECTIONS)
    cell_list = _check_cells(backend, cells)
    amps = check_amplitudes("amplitudes_v", amplitudes_v, limits)
    widths = check_widths("widths_s", widths_s, limits)
    trials = check_scalar(trials, "trials", kind=int, low=1, type_error=ValueError)
    check_choice("scheme", scheme, WRITE_SCHEMES)
    v_read_v = check_read_v(v_read_v, limits, type_error=ValueError)
    reset_width_s = float(check_widths("reset_width_s", reset_width_s, limits)[0])
    if reset_amplitude_v is None:
        reset_amplitude_v = tuple(
            limits.largest_write_v(scheme, reset_width_s, polarity) for polarity in (1, -1)
        )
    resets = check_amplitudes("reset_amplitude_v", reset_amplitude_v, limits)
    if resets.size not in (1, 2):
        raise ValueError(
            f"reset_amplitude_v must be one amplitude or two (into AP, into P), got {resets.size}"
        )
    reset_pair = (float(resets[0]), float(resets[-1]))
    for polarity, amplitude in zip((1, -1), reset_pair, strict=True):
        limits.check_unselected(scheme, amplitude, reset_width_s, polarity)
    for width in widths:  # every trial pulse inside the disturb envelope, before the first
        limits.check_unselected(scheme, float(amps.max()), float(width), DIRECTIONS[direction][0])
    max_reset_attempts = check_scalar(
        max_reset_attempts, "max_reset_attempts", kind=int, low=1, type_error=ValueError
    )
    generator = _check_rng(rng)

    run = _SwitchingRun(
        backend=backend,
        direction=direction,
        amplitudes_v=amps,
        widths_s=widths,
        trials=trials,
        scheme=scheme,
        v_read_v=v_read_v,
        reset_amplitude_v=reset_pair,
        reset_width_s=reset_width_s,
        max_reset_attempts=max_reset_attempts,
        progress=progress,
        record=record,
        total=len(cell_list) * widths.size * amps.size * trials,
    )
    emit(progress, Progress("switching", 0, run.total, "trial", "calibrating"))
    try:
        results = tuple(run.cell(row, col, generator) for row, col in cell_list)
    finally:
        backend.safe_state()
    return SwitchingResult(
        direction=direction,
        amplitudes_v=frozen_array(amps),
        widths_s=frozen_array(widths),
        cells=results,
        scheme=scheme,
        reset_amplitude_v=reset_pair,
        reset_width_s=reset_width_s,
    )


@dataclass
class _SwitchingRun:
    """The checked settings of one :func:`switching_probability` run and its running counters."""

    backend: ArrayBackend
    direction: str
    amplitudes_v: np.ndarray
    widths_s: np.ndarray
    trials: int
    scheme: str
    v_read_v: float
    reset_amplitude_v: tuple[float, float]
    reset_width_s: float
    max_reset_attempts: int
    progress: ProgressCallback | None
    record: RecordSink | None
    total: int
    done: int = 0
    step: int = 0

    def read(self, row: int, col: int) -> float:
        reading = self.backend.read_cell(row, col, v_read_v=self.v_read_v, bias="grounded")
        return float(reading.resistance_ohm)

    def reset(self, row: int, col: int, state: int) -> float:
        """Pulse the cell towards ``state`` (+1 into AP, -1 into P) and read it."""
        self.backend.write_pulse(
            row,
            col,
            amplitude_v=self.reset_amplitude(state),
            width_s=self.reset_width_s,
            polarity=+1 if state == AP else -1,
            scheme=self.scheme,
        )
        return self.read(row, col)

    def reset_amplitude(self, state: int) -> float:
        """The reset pulse's amplitude into ``state``."""
        return self.reset_amplitude_v[0 if state == AP else 1]

    def send(self, values: dict) -> None:
        self.step += 1
        if self.record is not None:
            self.record({**values, "step": self.step})

    def advance(self, steps: int, detail: str) -> None:
        self.done += steps
        emit(self.progress, Progress("switching", self.done, self.total, "trial", detail))

    def cell(self, row: int, col: int, generator: np.random.Generator) -> CellSwitching:
        """Calibrate one cell, then run its trials in a shuffled order."""
        base = {"row": row, "col": col, "direction": self.direction}
        readings: dict[int, list[float]] = {AP: [], P: []}
        for _ in range(CALIBRATION_ROUNDS):
            for state in (AP, P):
                r = self.reset(row, col, state)
                readings[state].append(r)
                self.send(
                    {
                        **base,
                        "record": "calibration",
                        "state": NAMES[state],
                        "amplitude_v": self.reset_amplitude(state),
                        "width_s": self.reset_width_s,
                        "resistance_ohm": r,
                    }
                )
        r_p, r_ap, threshold, reason = calibrate_threshold(readings[P], readings[AP])
        n_w, n_a = self.widths_s.size, self.amplitudes_v.size
        counts = np.zeros((3, n_w, n_a), dtype=int)  # switched, counted, reset failed
        planned = n_w * n_a * self.trials
        if reason:
            self.advance(planned, f"({row}, {col}) skipped: not switchable")
            return _cell_result(row, col, reason, r_p, r_ap, threshold, counts)

        polarity, start, end = DIRECTIONS[self.direction]
        plan = generator.permutation(np.repeat(np.arange(n_w * n_a), self.trials))
        seen = np.zeros(n_w * n_a, dtype=int)
        failed_in_a_row = 0
        for n, point in enumerate(plan):
            w, a = divmod(int(point), n_a)
            amplitude_v, width_s = float(self.amplitudes_v[a]), float(self.widths_s[w])
            trial = int(seen[point])
            seen[point] += 1
            attempts = 0
            reset_ok = False
            while attempts < self.max_reset_attempts and not reset_ok:
                attempts += 1
                r = self.reset(row, col, start)
                reset_ok = _reads_as(r, threshold, start)
            switched = False
            if reset_ok:
                self.backend.write_pulse(
                    row,
                    col,
                    amplitude_v=amplitude_v,
                    width_s=width_s,
                    polarity=polarity,
                    scheme=self.scheme,
                )
                r = self.read(row, col)
                switched = _reads_as(r, threshold, end)
                counts[:2, w, a] += (int(switched), 1)
                failed_in_a_row = 0
            else:
                counts[2, w, a] += 1
                failed_in_a_row += 1
            self.send(
                {
                    **base,
                    "record": "trial",
                    "amplitude_v": amplitude_v,
                    "width_s": width_s,
                    "trial": trial,
                    "reset_attempts": attempts,
                    "reset_ok": reset_ok,
                    "switched": switched,
                    "resistance_ohm": r,
                    "threshold_ohm": threshold,
                }
            )
            if failed_in_a_row >= MAX_CONSECUTIVE_FAILED_TRIALS:
                # A broken-down or stuck cell would otherwise take every remaining trial's
                # full round of reset attempts for nothing.
                reason = (
                    f"given up after {failed_in_a_row} trials in a row whose reset to "
                    f"{NAMES[start]} failed {self.max_reset_attempts} times"
                )
                self.advance(planned - n, f"({row}, {col}) given up")
                break
            self.advance(1, f"({row}, {col}) {amplitude_v:.4g} V {width_s:.3g} s")
        return _cell_result(row, col, reason, r_p, r_ap, threshold, counts)


def _reads_as(resistance_ohm: float, threshold_ohm: float, state: int) -> bool:
    """Whether a reading is on ``state``'s side of the threshold."""
    if state == AP:
        return resistance_ohm > threshold_ohm
    return resistance_ohm < threshold_ohm


def calibrate_threshold(
    r_p_ohm: Sequence[float], r_ap_ohm: Sequence[float]
) -> tuple[float, float, float, str]:
    """P/AP threshold of one cell from readings after resets to P and to AP.

    Returns
    -------
    r_p_ohm, r_ap_ohm, threshold_ohm : float
        Geometric means of each state's readings and their geometric mean (NaN if unusable).
    reason : str
        Why the readings show no two states, or "" if they do: every AP reading must be at
        least :data:`MIN_STATE_RATIO` times every P reading, and their means at most
        :data:`MAX_STATE_RATIO` apart.
    """
    rp, rap = np.asarray(r_p_ohm, dtype=float), np.asarray(r_ap_ohm, dtype=float)
    every = np.concatenate([rp, rap])
    readable = np.isfinite(every) & (every > 0)
    if not np.all(readable):
        reason = f"a reading of {every[~readable][0]:g} Ohm is no resistance (open cell?)"
        return math.nan, math.nan, math.nan, reason
    gm_p, gm_ap = float(np.exp(np.mean(np.log(rp)))), float(np.exp(np.mean(np.log(rap))))
    ratio = float(np.min(rap) / np.max(rp))
    reason = ""
    if ratio < MIN_STATE_RATIO:
        reason = (
            f"AP/P reading ratio {ratio:.3g} is below {MIN_STATE_RATIO}: no two states "
            "(stuck, shorted or open, or the reset pulse is too weak)"
        )
    elif gm_ap / gm_p > MAX_STATE_RATIO:
        reason = (
            f"AP/P reading ratio {gm_ap / gm_p:.3g} is above {MAX_STATE_RATIO}, more than any "
            "MTJ's TMR (an open cell reading its neighbours?)"
        )
    threshold = math.nan if reason else math.sqrt(gm_p * gm_ap)
    return gm_p, gm_ap, threshold, reason


def _check_cells(backend: ArrayBackend, cells: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for cell in cells:
        if not (isinstance(cell, (tuple, list, np.ndarray)) and len(cell) == 2):
            raise ValueError(f"cells must hold (row, col) pairs, got {cell!r}")
        row, col = check_cell(*cell, backend.shape, type_error=ValueError, range_error=ValueError)
        if (row, col) in out:
            raise ValueError(f"cells lists cell ({row}, {col}) twice")
        out.append((row, col))
    if not out:
        raise ValueError("cells must name at least one (row, col) cell, got none")
    return out


def _check_rng(rng: np.random.Generator | int) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    seed = check_scalar(
        rng, "rng", kind=int, low=0, unit="(a seed), or a numpy Generator", type_error=ValueError
    )
    return np.random.default_rng(seed)


# -- helpers --------------------------------------------------------------------------------


def _cell_result(
    row: int,
    col: int,
    reason: str,
    r_p: float,
    r_ap: float,
    threshold: float,
    counts: np.ndarray,
) -> CellSwitching:
    return CellSwitching(
        row=row,
        col=col,
        switchable=not reason,
        reason=reason,
        r_p_ohm=r_p,
        r_ap_ohm=r_ap,
        threshold_ohm=threshold,
        n_switched=frozen_array(counts[0]),
        n_trials=frozen_array(counts[1]),
        n_reset_failed=frozen_array(counts[2]),
    )
