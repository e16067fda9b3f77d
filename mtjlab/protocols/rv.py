"""Resistance versus pulse amplitude (R-V) loop of one device, and its switching voltages.

Owns the amplitude sweep 0 -> +max -> 0 -> -max -> 0 and the reading of states from the loop itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

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
from mtjlab.core.states import AP, OPEN, P
from mtjlab.protocols.readout import MIN_STATE_RATIO
from mtjlab.protocols.switching import MAX_STATE_RATIO

#: State code of a reading when the loop shows no two clear levels to tell P from AP by.
UNDETERMINED = -1

#: Most amplitude levels per branch: a finer step is more likely a unit slip than a plan.
MAX_LEVELS = 1000

#: The gap between the two levels must be at least this many times the spread within either
#: level, so that noise (an open cell reads the noise floor) is not taken for two states.
MIN_GAP_TO_SPREAD = 2.0


@dataclass(frozen=True, eq=False)
class RVLoop:
    """An R-V loop: one grounded read after each pulse, and the switching voltages it shows.

    Attributes
    ----------
    row, col : int
        The device.
    amplitude_v : ndarray
        Signed amplitude of each pulse (positive: P -> AP polarity).
    cycle : ndarray of int
        Cycle of each pulse.
    resistance_ohm : ndarray
        Grounded read after each pulse.
    state : ndarray of int
        ``mtjlab.core.states.P`` or ``AP`` from the loop's own threshold, ``OPEN`` for a
        reading that is no positive resistance, :data:`UNDETERMINED` when the loop shows no two
        levels.
    initial_resistance_ohm : float
        Read before the first pulse.
    initial_state : int
        Its state, as for ``state``.
    threshold_ohm : float
        Boundary between P and AP: the middle (in log resistance) of the largest gap between
        the loop's readings; NaN if that gap is no clear two-level split.
    v_switch_p_to_ap_v, v_switch_ap_to_p_v : ndarray, shape (cycles,)
        Per cycle, the first positive (negative) amplitude after which the device reads AP (P)
        having read P (AP) before the pulse; NaN when it did not switch that way. A device that
        starts a cycle already in AP shows no P -> AP switch in that cycle: run two cycles or
        more to see both in every device.
    width_s, v_read_v : float
        Pulse width and read voltage.
    scheme : str
        Half-select scheme of the pulses.
    """

    row: int
    col: int
    amplitude_v: np.ndarray
    cycle: np.ndarray
    resistance_ohm: np.ndarray
    state: np.ndarray
    initial_resistance_ohm: float
    initial_state: int
    threshold_ohm: float
    v_switch_p_to_ap_v: np.ndarray
    v_switch_ap_to_p_v: np.ndarray
    width_s: float
    v_read_v: float
    scheme: str

    @property
    def v_switch_p_to_ap_mean_v(self) -> float:
        """Mean P -> AP switching voltage over the cycles that switched (NaN if none did)."""
        return _nanmean(self.v_switch_p_to_ap_v)

    @property
    def v_switch_ap_to_p_mean_v(self) -> float:
        """Mean AP -> P switching voltage over the cycles that switched (NaN if none did)."""
        return _nanmean(self.v_switch_ap_to_p_v)


def rv_loop(
    backend: ArrayBackend,
    row: int,
    col: int,
    *,
    max_amplitude_v: float | tuple[float, float],
    step_v: float,
    width_s: float = 100e-9,
    scheme: str = "v/2",
    v_read_v: float = 0.1,
    cycles: int = 1,
    progress: ProgressCallback | None = None,
    record: RecordSink | None = None,
) -> RVLoop:
    """Sweep the pulse amplitude of one device around a loop, reading it after every pulse.

    Each cycle pulses at +step, +2 step, ... +max, ... +step, then -step, ... -max, ... -step
    (the last step of a ramp is shorter when its top is not a multiple of ``step_v``), each
    pulse followed by a grounded read at ``v_read_v``. The device is read once before the first
    pulse.

    Parameters
    ----------
    backend : ArrayBackend
        The array; its ``limits`` bound the amplitude, the width and the read voltage.
    row, col : int
        The device.
    max_amplitude_v : float or (float, float)
        Largest pulse amplitude of either polarity, or of the positive (P -> AP) and the
        negative (AP -> P) pulses (> 0, at most ``limits.max_write_v``, and inside the disturb
        envelope ``limits.max_unselected_v`` under ``scheme``).
    step_v : float
        Amplitude step, from the larger top / 1000 to the smaller top.
    width_s : float
        Width of every pulse, within the backend's width limits.
    scheme : {"v/2", "v/3", "floating"}
        Half-select scheme of the pulses.
    v_read_v : float
        Read voltage, under the grounded read bias (non-zero, at most ``limits.max_read_v`` in
        magnitude).
    cycles : int
        Loops to run, from 1 to 1000.
    progress : callable, optional
        Receives :class:`~mtjlab.core.events.Progress` events (task ``"rv-loop"``, one
        step per pulse).
    record : callable, optional
        Receives each read as it is measured: ``kind`` ``"rv"``, ``row``, ``col``, ``cycle``,
        ``amplitude_v`` (0 for the first read), ``width_s``, ``resistance_ohm``, ``step``.

    Returns
    -------
    RVLoop

    Raises
    ------
    ValueError
        A parameter outside its range, before anything is applied to the array.
    """
    limits = backend.limits
    row, col = check_cell(row, col, backend.shape, type_error=ValueError, range_error=ValueError)
    tops = np.atleast_1d(check_amplitudes("max_amplitude_v", max_amplitude_v, limits))
    if tops.size not in (1, 2):
        raise ValueError(
            f"max_amplitude_v must be one amplitude or two (P->AP, AP->P), got {tops.size}"
        )
    top_p_to_ap, top_ap_to_p = float(tops[0]), float(tops[-1])
    step_v = check_scalar(
        step_v,
        "step_v",
        low=max(top_p_to_ap, top_ap_to_p) / MAX_LEVELS,
        high=min(top_p_to_ap, top_ap_to_p),
        unit=f"V (the larger top / {MAX_LEVELS} to the smaller top)",
        type_error=ValueError,
    )
    width_s = float(check_widths("width_s", width_s, limits)[0])
    check_choice("scheme", scheme, WRITE_SCHEMES)
    limits.check_unselected(scheme, top_p_to_ap, width_s, 1)
    limits.check_unselected(scheme, top_ap_to_p, width_s, -1)
    v_read_v = check_read_v(v_read_v, limits, type_error=ValueError)
    cycles = check_scalar(cycles, "cycles", kind=int, low=1, high=1000, type_error=ValueError)

    def ramp(top: float) -> np.ndarray:
        n_levels = math.ceil(top / step_v - 1e-9)
        levels = np.minimum(step_v * np.arange(1, n_levels + 1), top)
        return np.concatenate([levels, levels[-2::-1]])  # up to the top and back, the top once

    one_cycle = np.concatenate([ramp(top_p_to_ap), -ramp(top_ap_to_p)])
    amplitude_v = np.tile(one_cycle, cycles)
    cycle = np.repeat(np.arange(cycles), one_cycle.size)
    resistance_ohm = np.empty(amplitude_v.size)
    base = {"record": "point", "row": row, "col": col, "width_s": width_s}

    def read() -> float:
        reading = backend.read_cell(row, col, v_read_v=v_read_v, bias="grounded")
        return float(reading.resistance_ohm)

    emit(progress, Progress("rv-loop", 0, amplitude_v.size, "pulse", "first read"))
    try:
        initial = read()
        _send(record, {**base, "cycle": 0, "amplitude_v": 0.0, "resistance_ohm": initial}, 0)
        for n, v in enumerate(amplitude_v):
            backend.write_pulse(
                row,
                col,
                amplitude_v=abs(float(v)),
                width_s=width_s,
                polarity=1 if v > 0 else -1,
                scheme=scheme,
            )
            resistance_ohm[n] = read()
            values = {
                **base,
                "cycle": int(cycle[n]),
                "amplitude_v": float(v),
                "resistance_ohm": float(resistance_ohm[n]),
            }
            _send(record, values, n + 1)
            emit(progress, Progress("rv-loop", n + 1, amplitude_v.size, "pulse", f"{v:+.4g} V"))
    finally:
        backend.safe_state()

    threshold_ohm = two_level_threshold(np.concatenate([[initial], resistance_ohm]))
    states = classify(np.concatenate([[initial], resistance_ohm]), threshold_ohm)
    p_to_ap, ap_to_p = _switching_voltages(amplitude_v, cycle, states, cycles)
    return RVLoop(
        row=row,
        col=col,
        amplitude_v=frozen_array(amplitude_v),
        cycle=frozen_array(cycle),
        resistance_ohm=frozen_array(resistance_ohm),
        state=frozen_array(states[1:]),
        initial_resistance_ohm=initial,
        initial_state=int(states[0]),
        threshold_ohm=threshold_ohm,
        v_switch_p_to_ap_v=frozen_array(p_to_ap),
        v_switch_ap_to_p_v=frozen_array(ap_to_p),
        width_s=width_s,
        v_read_v=v_read_v,
        scheme=scheme,
    )


def two_level_threshold(resistance_ohm: np.ndarray) -> float:
    """Threshold between the two levels of a set of readings, NaN if they show no two levels.

    The levels are split at the largest gap in log resistance; the threshold is the geometric
    middle of that gap. The split counts only if the gap is a ratio between
    :data:`~mtjlab.protocols.readout.MIN_STATE_RATIO` and
    :data:`~mtjlab.protocols.switching.MAX_STATE_RATIO` (what an MTJ's TMR can be) and at least
    :data:`MIN_GAP_TO_SPREAD` times the spread within either level. Readings that are no positive
    finite resistance are left out.
    """
    r = np.asarray(resistance_ohm, dtype=float)
    logs = np.sort(np.log(r[np.isfinite(r) & (r > 0)]))
    if logs.size < 2:
        return math.nan
    gaps = np.diff(logs)
    i = int(np.argmax(gaps))
    spread = max(logs[i] - logs[0], logs[-1] - logs[i + 1])
    if not math.log(MIN_STATE_RATIO) <= gaps[i] <= math.log(MAX_STATE_RATIO):
        return math.nan
    if gaps[i] < MIN_GAP_TO_SPREAD * spread:
        return math.nan
    return float(np.exp(0.5 * (logs[i] + logs[i + 1])))


def classify(resistance_ohm: np.ndarray, threshold_ohm: float) -> np.ndarray:
    """P, AP, OPEN (no positive finite reading) or UNDETERMINED (no threshold) per reading."""
    r = np.asarray(resistance_ohm, dtype=float)
    readable = np.isfinite(r) & (r > 0)
    if math.isnan(threshold_ohm):
        magnetic = np.full(r.shape, UNDETERMINED)
    else:
        magnetic = np.where(r > threshold_ohm, AP, P)
    return np.where(readable, magnetic, OPEN).astype(np.int8)


def _switching_voltages(
    amplitude_v: np.ndarray, cycle: np.ndarray, states: np.ndarray, cycles: int
) -> tuple[np.ndarray, np.ndarray]:
    """First amplitude per cycle and polarity whose pulse took the device out of its state.

    ``states`` has one more entry than ``amplitude_v``: the read before the first pulse.
    """
    before, after = states[:-1], states[1:]
    p_to_ap = (amplitude_v > 0) & (before == P) & (after == AP)
    ap_to_p = (amplitude_v < 0) & (before == AP) & (after == P)
    out = np.full((2, cycles), np.nan)
    for k, hits in enumerate((p_to_ap, ap_to_p)):
        for c in range(cycles):
            first = np.flatnonzero(hits & (cycle == c))
            if first.size:
                out[k, c] = amplitude_v[first[0]]
    return out[0], out[1]


def _send(record: RecordSink | None, values: dict, step: int) -> None:
    if record is not None:
        record({**values, "step": step})


def _nanmean(x: np.ndarray) -> float:
    finite = x[np.isfinite(x)]
    return float(np.mean(finite)) if finite.size else math.nan
