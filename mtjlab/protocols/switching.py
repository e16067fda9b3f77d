"""Switching probability of single cells versus pulse amplitude and width, and its thermal fit.

Owns the trial loop (reset, pulse, read) and the Neel-Brown maximum-likelihood fit of its counts.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.optimize
from numpy.typing import ArrayLike

from mtjlab.core.backend import ArrayBackend
from mtjlab.core.checks import (
    check_amplitudes,
    check_array,
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

#: A fit has converged when the log-likelihood still to gain (the Newton decrement) is below
#: this: far below the 0.5 that moves a parameter by one standard error.
NEWTON_DECREMENT_TOL = 1e-6


# -- results ----------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ThermalFit:
    """Neel-Brown fit of switching counts: P(V, t) = 1 - exp(-(t / tau0) exp(-barrier)).

    The barrier is Delta (1 - abs(V) / Vc0), floored at 0 (above Vc0 the switching time is tau0).

    Attributes
    ----------
    vc0_v, vc0_err_v : float
        Critical voltage and its 1-sigma error.
    delta, delta_err : float
        Thermal stability factor and its 1-sigma error.
    covariance : ndarray, shape (2, 2)
        Covariance of (vc0_v, delta): the inverse of the observed Fisher information (the
        Hessian of the negative log-likelihood at the optimum). The two are strongly correlated.
    tau0_s : float
        Attempt time the fit assumed (not fitted).
    barrier_exponent : float
        Exponent n of the barrier Delta (1 - |V|/Vc0)^n the fit assumed (not fitted).
    converged : bool
        The optimizer reported success and the Hessian at the optimum is positive definite.
    neg_log_likelihood : float
        Binomial negative log-likelihood at the optimum (without the constant binomial terms).
    n_trials : int
        Trials the fit used.
    """

    vc0_v: float
    vc0_err_v: float
    delta: float
    delta_err: float
    covariance: np.ndarray
    tau0_s: float
    converged: bool
    neg_log_likelihood: float
    n_trials: int
    barrier_exponent: float = 1.0

    def probability(self, amplitudes_v: ArrayLike, width_s: ArrayLike) -> np.ndarray:
        """Fitted switching probability at ``amplitudes_v`` and ``width_s`` (broadcast)."""
        return thermal_switching_probability(
            amplitudes_v,
            width_s,
            vc0_v=self.vc0_v,
            delta=self.delta,
            tau0_s=self.tau0_s,
            barrier_exponent=self.barrier_exponent,
        )


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
    reset_amplitude_v, reset_width_s : float
        The reset pulse.
    """

    direction: str
    amplitudes_v: np.ndarray
    widths_s: np.ndarray
    cells: tuple[CellSwitching, ...]
    scheme: str
    reset_amplitude_v: float
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
    reset_amplitude_v: float | None = None,
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
    reset_amplitude_v : float, optional
        Amplitude of the reset pulse (opposite polarity to the switching pulse). By default
        ``limits.max_write_v``, the surest reset the envelope allows. Under V/2 it puts half
        of it on the neighbours of the cell and may rewrite them; pass a lower value to spare
        them (each reset is verified by a read, so a marginal one costs retries, not accuracy).
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
    """
    limits = backend.limits
    check_choice("direction", direction, DIRECTIONS)
    cell_list = _check_cells(backend, cells)
    amps = check_amplitudes("amplitudes_v", amplitudes_v, limits)
    widths = check_widths("widths_s", widths_s, limits)
    trials = check_scalar(trials, "trials", kind=int, low=1, type_error=ValueError)
    check_choice("scheme", scheme, WRITE_SCHEMES)
    v_read_v = check_read_v(v_read_v, limits, type_error=ValueError)
    if reset_amplitude_v is None:
        reset_amplitude_v = limits.max_write_v
    reset_amplitude_v = float(check_amplitudes("reset_amplitude_v", reset_amplitude_v, limits)[0])
    reset_width_s = float(check_widths("reset_width_s", reset_width_s, limits)[0])
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
        reset_amplitude_v=reset_amplitude_v,
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
        reset_amplitude_v=reset_amplitude_v,
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
    reset_amplitude_v: float
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
            amplitude_v=self.reset_amplitude_v,
            width_s=self.reset_width_s,
            polarity=+1 if state == AP else -1,
            scheme=self.scheme,
        )
        return self.read(row, col)

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
                        "kind": "calibration",
                        "state": NAMES[state],
                        "amplitude_v": self.reset_amplitude_v,
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
                    "kind": "trial",
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


# -- the fit --------------------------------------------------------------------------------


def thermal_switching_probability(
    amplitudes_v: ArrayLike,
    width_s: ArrayLike,
    *,
    vc0_v: float,
    delta: float,
    tau0_s: float,
    barrier_exponent: float = 1.0,
) -> np.ndarray:
    """Neel-Brown switching probability 1 - exp(-(t / tau0) exp(-Delta (1 - |V|/Vc0)^n)), the
    barrier 0 from Vc0 up."""
    v = np.abs(np.asarray(amplitudes_v, dtype=float))
    barrier = delta * np.maximum(1.0 - v / vc0_v, 0.0) ** barrier_exponent
    rate = np.asarray(width_s, dtype=float) / tau0_s * np.exp(-barrier)
    return -np.expm1(-rate)


def fit_thermal_activation(
    amplitudes_v: ArrayLike,
    widths_s: ArrayLike,
    n_switched: ArrayLike,
    n_trials: ArrayLike,
    *,
    tau0_s: float = 1e-9,
    barrier_exponent: float = 1.0,
) -> ThermalFit:
    """Binomial maximum-likelihood fit of Vc0 and Delta to switching counts.

    Model: P(V, t) = 1 - exp(-(t / tau0) exp(-Delta (1 - |V| / Vc0)^n)), the barrier 0 from Vc0
    up, with ``tau0_s`` and the barrier exponent n fixed. Errors are the square roots of the
    diagonal of the inverse Hessian of the negative log-likelihood at the optimum.

    Parameters
    ----------
    amplitudes_v : array_like, shape (n_a,)
        Pulse amplitudes (their magnitude is used).
    widths_s : array_like, shape (n_w,)
        Pulse widths.
    n_switched, n_trials : array_like of int, shape (n_w, n_a)
        Switched and counted trials per (width, amplitude); points with no trials are ignored.
    tau0_s : float
        Attempt time.
    barrier_exponent : float
        n, 1 to 3: 1 in the simplest spin-torque picture, about 2 measured on many in-plane and
        perpendicular junctions (``docs/device-model.md``). Fitting with the wrong n biases
        Vc0 and Delta, however many trials.

    Raises
    ------
    ValueError
        Malformed inputs, or counts that cannot determine both parameters: fewer than two
        distinct amplitudes with a switching fraction strictly between 0 and 1 (with every
        point at 0 or at 1 the likelihood has no finite maximum), or switching that does not
        rise with amplitude.
    """
    v = np.abs(np.asarray(amplitudes_v, dtype=float))
    t = np.asarray(widths_s, dtype=float)
    for name, x, unit in (("amplitudes_v", v, "V (in magnitude)"), ("widths_s", t, "s")):
        if x.ndim != 1 or x.size == 0:
            raise ValueError(f"{name} must be a non-empty 1-D array, got shape {x.shape}")
        check_array(x, name, low=0.0, low_open=True, unit=unit)
    check_scalar(tau0_s, "tau0_s", low=0.0, low_open=True, unit="s")
    m = check_scalar(barrier_exponent, "barrier_exponent", low=1, high=3, type_error=ValueError)
    k = np.asarray(n_switched)
    n = np.asarray(n_trials)
    shape = (t.size, v.size)
    for name, x in (("n_switched", k), ("n_trials", n)):
        if x.shape != shape:
            raise ValueError(
                f"{name} must have shape (len(widths_s), len(amplitudes_v)) = {shape}, "
                f"got {x.shape}"
            )
        if not (np.all(np.isfinite(x)) and np.all(x >= 0) and np.all(x == np.round(x))):
            raise ValueError(f"{name} must hold non-negative whole counts")
    if np.any(k > n):
        raise ValueError("n_switched exceeds n_trials at some point")
    vv, tt = np.broadcast_to(v, shape), np.broadcast_to(t[:, None], shape)
    used = n > 0
    vv, tt, k, n = vv[used], tt[used], k[used].astype(float), n[used].astype(float)
    if n.size == 0:
        raise ValueError("no trials to fit: n_trials is 0 everywhere")
    if np.all(k == 0):
        raise ValueError("no trial switched: the data bound Vc0 and Delta from one side only")
    if np.all(k == n):
        raise ValueError("every trial switched: the data bound Vc0 and Delta from one side only")
    middle = (k > 0) & (k < n)
    n_mid_amplitudes = np.unique(vv[middle]).size
    if n_mid_amplitudes < 2:
        raise ValueError(
            f"{n_mid_amplitudes} amplitude(s) switched with a probability strictly between 0 "
            "and 1; two are needed to determine both Vc0 and Delta (measure more amplitudes "
            "across the transition)"
        )

    log_rate0 = np.log(tt / tau0_s)
    x0 = _initial_guess(vv[middle], log_rate0[middle], k[middle], n[middle], m)

    def objective(x: np.ndarray) -> tuple[float, np.ndarray]:
        theta = np.exp(x)
        f, g, _ = _nll(theta, vv, log_rate0, k, n, m)
        return f, g * theta

    def hessian(x: np.ndarray) -> np.ndarray:
        # Log parameters keep Vc0 and Delta positive; chain rule for theta = exp(x).
        theta = np.exp(x)
        _, g, h = _nll(theta, vv, log_rate0, k, n, m)
        return h * np.outer(theta, theta) + np.diag(g * theta)

    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        res = scipy.optimize.minimize(
            objective, x0, jac=True, hess=hessian, method="trust-exact", options={"gtol": 1e-9}
        )
        theta, f, decrement = _polish(np.exp(res.x), vv, log_rate0, k, n, m)
        _, _, h = _nll(theta, vv, log_rate0, k, n, m)
    if not (np.all(np.isfinite(theta)) and np.isfinite(f) and np.all(np.isfinite(h))):
        raise ValueError("the fit diverged: the counts do not determine Vc0 and Delta")
    positive = bool(np.all(np.linalg.eigvalsh(h) > 0))
    covariance = np.linalg.inv(h) if positive else np.full((2, 2), np.nan)
    errors = np.sqrt(np.diag(covariance))
    return ThermalFit(
        vc0_v=float(theta[0]),
        vc0_err_v=float(errors[0]),
        delta=float(theta[1]),
        delta_err=float(errors[1]),
        covariance=frozen_array(covariance),
        tau0_s=float(tau0_s),
        converged=positive and decrement < NEWTON_DECREMENT_TOL,
        neg_log_likelihood=float(f),
        n_trials=int(n.sum()),
        barrier_exponent=m,
    )


def _initial_guess(
    v: np.ndarray, log_rate0: np.ndarray, k: np.ndarray, n: np.ndarray, m: float
) -> np.ndarray:
    """Start from a weighted line through the points with intermediate switching fractions.

    There the barrier b = log(t / tau0) - log(-log(1 - p)) = Delta (1 - |V| / Vc0)^n, so
    b^(1/n) = Delta^(1/n) (1 - |V| / Vc0) is a straight line in |V| that gives both parameters.
    """
    p = k / n
    barrier = np.maximum(log_rate0 - np.log(-np.log1p(-p)), 1e-6)
    z = barrier ** (1.0 / m)
    # Binomial weights: a point's barrier is best known near p = 1 - 1/e and with many trials;
    # carried over to z by its slope dz/db.
    lam = -np.log1p(-p)
    w = n * lam**2 * np.exp(-lam) / -np.expm1(-lam) / (z / (m * barrier)) ** 2
    slope, intercept = np.polyfit(v, z, 1, w=np.sqrt(w))
    if slope >= 0:
        raise ValueError(
            "switching does not rise with amplitude in these counts: no thermal-activation fit"
        )
    scale = max(intercept, 1.0)
    return np.log([-intercept / slope, scale**m])


def _polish(
    theta: np.ndarray,
    v: np.ndarray,
    log_rate0: np.ndarray,
    k: np.ndarray,
    n: np.ndarray,
    m: float,
) -> tuple[np.ndarray, float, float]:
    """A few damped Newton steps in (Vc0, Delta) from the optimizer's answer.

    The optimizer works in log parameters and may stop on its own tolerance a little short of
    the optimum; the Newton decrement g' H^-1 g / 2 (the log-likelihood still to gain) is what
    says whether the optimum was reached. Returns theta, the NLL there and that decrement.
    """
    f, g, h = _nll(theta, v, log_rate0, k, n, m)
    decrement = math.inf
    for iteration in range(6):
        if not (np.all(np.isfinite(h)) and np.all(np.linalg.eigvalsh(h) > 0)):
            decrement = math.inf
            break
        step = np.linalg.solve(h, g)
        decrement = 0.5 * float(g @ step)
        if decrement < NEWTON_DECREMENT_TOL or iteration == 5:
            break
        scale = 1.0
        while scale > 1e-3:
            trial = theta - scale * step
            if np.all(trial > 0):
                f_new, g_new, h_new = _nll(trial, v, log_rate0, k, n, m)
                if f_new <= f:
                    theta, f, g, h = trial, f_new, g_new, h_new
                    break
            scale /= 2
        else:
            break
    return theta, f, decrement


def _nll(
    theta: np.ndarray,
    v: np.ndarray,
    log_rate0: np.ndarray,
    k: np.ndarray,
    n: np.ndarray,
    m: float = 1.0,
) -> tuple[float, np.ndarray, np.ndarray]:
    """Negative log-likelihood, its gradient and its Hessian in theta = (Vc0, Delta).

    With u = log(t / tau0) - Delta (1 - x)^m, x = |V| / Vc0, the rate is lam = e^u and each
    point contributes -k log(1 - e^-lam) + (n - k) lam; derivatives go through u, which is
    linear in Delta.
    """
    vc0, delta = theta
    x = v / vc0
    active = x < 1.0  # above Vc0 the floored barrier no longer depends on the parameters
    one_x = np.where(active, 1.0 - x, 1.0)  # 1 where inactive, so no power of 0 below
    u = np.maximum(log_rate0 - np.where(active, delta * one_x**m, 0.0), -700.0)
    lam = np.exp(u)
    log_p = np.where(lam < math.log(2), np.log(-np.expm1(-lam)), np.log1p(-np.exp(-lam)))
    f = float(np.sum(-k * log_p + (n - k) * lam))
    # lam e^-lam / (1 - e^-lam): 1 at small lam, 0 at large (below e^-690 from lam = 700 on)
    lq = lam / np.expm1(np.minimum(lam, 700.0))
    f_u = -k * lq + (n - k) * lam
    f_uu = f_u + k * lq * (lam + lq)
    # d u / d(Vc0, Delta), with dx/dVc0 = -x / Vc0
    du = np.where(active, [-delta * m * one_x ** (m - 1) * x / vc0, -(one_x**m)], 0.0)
    grad = du @ f_u
    hess = (du * f_uu) @ du.T
    # Second derivatives of u: d2u/dVc0^2 = -Delta m (1-x)^(m-2) x ((m-1) x - 2 (1-x)) / Vc0^2
    # (2 Delta x / Vc0^2 for m = 1) and d2u/dVc0 dDelta = -m (1-x)^(m-1) x / Vc0.
    d2 = -delta * m * one_x ** (m - 2) * x * ((m - 1) * x - 2 * one_x) / vc0**2
    hess[0, 0] += np.sum(f_u * np.where(active, d2, 0.0))
    cross = np.sum(f_u * np.where(active, -m * one_x ** (m - 1) * x / vc0, 0.0))
    hess[0, 1] += cross
    hess[1, 0] += cross
    return f, grad, hess


# -- parameter checks of this protocol only (the shared ones: mtjlab.core.checks) ------------


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
