"""Write-verify: a binary pattern written into an array (or a block of it) by pulsing only the cells
that read wrong, with an amplitude ramp and a per-cell attempt cap, and scored by a final read.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np

from mtjlab.core.backend import ArrayBackend
from mtjlab.core.checks import check_choice, check_scalar
from mtjlab.core.events import Progress, ProgressCallback, emit
from mtjlab.core.records import RecordSink
from mtjlab.core.schemes import WRITE_SCHEMES
from mtjlab.core.states import AP, NAMES, OPEN, SHORT, P
from mtjlab.protocols.readout import MIN_STATE_RATIO, Readout, ThresholdError, read_states

#: Value of a target cell that is to be left alone (outside the block being written).
KEEP = -1

WRITE_ORDERS = ("row-major", "column-major", "random")


@dataclass(frozen=True)
class Ramp:
    """Pulse amplitudes of successive attempts on one cell: start, start + step, ... up to stop."""

    start_v: float
    step_v: float
    stop_v: float

    def amplitude(self, attempt: int) -> float:
        """Amplitude of attempt ``attempt`` (0 for the first)."""
        return min(self.start_v + attempt * self.step_v, self.stop_v)


#: The write window of the default simulated chip (V/2, 100 ns). The ramps' tops stay inside the
#: disturb envelope of every default die of seeds 0 to 29 (V/2 at 0.59 V puts 0.295 V on the
#: half-selected neighbours against an envelope of at least 0.301 V; 0.43 V puts 0.215 V against
#: at least 0.220 V). The starts switch a device up to about 1.5 standard deviations of critical
#: voltage above the nominal one in one pulse or two; the devices beyond about 3.5 deviations
#: that not even the tops switch are the price of the envelope (a few per die).
DEFAULT_RAMP_P_TO_AP = Ramp(0.55, 0.02, 0.59)
DEFAULT_RAMP_AP_TO_P = Ramp(0.40, 0.015, 0.43)


class GiveUpKind(enum.Enum):
    """Why write-verify gave up a cell: it reads open, reads short, or did not switch."""

    READS_OPEN = "reads-open"
    READS_SHORT = "reads-short"
    DID_NOT_SWITCH = "did-not-switch"


@dataclass(frozen=True)
class GiveUp:
    """Why one cell was given up: its :class:`GiveUpKind` and the words shown and stored for it
    (``str()`` of a GiveUp is its ``message``, the text of :attr:`WriteResult.given_up`)."""

    kind: GiveUpKind
    message: str

    def __str__(self) -> str:
        return self.message

    @classmethod
    def reads(cls, state: int) -> GiveUp:
        """A cell that reads ``state`` (OPEN or SHORT): no pulse can write it."""
        kind = {OPEN: GiveUpKind.READS_OPEN, SHORT: GiveUpKind.READS_SHORT}[state]
        return cls(kind, f"reads {NAMES[state]}")

    @classmethod
    def did_not_switch(cls, target: int, pulses: int, amplitude_v: float) -> GiveUp:
        """A cell still not in ``target`` after ``pulses`` pulses, the last at ``amplitude_v``."""
        return cls(
            GiveUpKind.DID_NOT_SWITCH,
            f"did not switch to {NAMES[target]} after {pulses} pulses up to {amplitude_v:g} V",
        )


@dataclass(frozen=True)
class WriteResult:
    """What a write-verify did and how well it ended.

    ``final`` is the last verify read, taken after the last pulse; ``fidelity`` the fraction of
    the written cells (target not KEEP) whose final state is their target, counting neighbours
    that were disturbed after they had verified (``disturbed``). ``disturbed_outside`` counts
    the cells outside the pattern (KEEP) that any verify read found out of the state the first
    read gave them, and ``repaired`` those of them written back (``repair_disturbed``).
    ``given_up`` maps (row, col) to why a cell was left (``"reads open"``, ``"reads short"``,
    ``"did not switch ..."``), the words shown and stored, and ``given_up_kinds`` the same
    cells to a :class:`GiveUpKind`, for code to test
    (a cell that did not switch is ``GiveUpKind.DID_NOT_SWITCH``; never parse the words).
    """

    target: np.ndarray
    final: Readout
    fidelity: float
    pulses: int
    passes: int
    attempts: np.ndarray
    given_up: dict[tuple[int, int], str]
    disturbed: int
    errors_p_to_ap: int
    errors_ap_to_p: int
    threshold_ohm: float
    history: list[int] = field(default_factory=list)
    given_up_kinds: dict[tuple[int, int], GiveUpKind] = field(default_factory=dict)
    disturbed_outside: int = 0
    repaired: int = 0

    def summary(self) -> dict:
        """JSON-friendly figures of the write (no arrays)."""
        return {
            "fidelity": self.fidelity,
            "pulses": self.pulses,
            "passes": self.passes,
            "given_up": len(self.given_up),
            "disturbed": self.disturbed,
            "disturbed_outside": self.disturbed_outside,
            "repaired": self.repaired,
            "errors_p_to_ap": self.errors_p_to_ap,
            "errors_ap_to_p": self.errors_ap_to_p,
            "threshold_ohm": self.threshold_ohm,
            "wrong_per_pass": list(self.history),
        }


def place_pattern(
    pattern: np.ndarray, shape: tuple[int, int], offset: tuple[int, int] = (0, 0)
) -> np.ndarray:
    """A full-array target with ``pattern`` at ``offset`` and every other cell KEEP."""
    pattern = np.asarray(pattern)
    rows, cols = pattern.shape
    r0, c0 = offset
    if not (r0 >= 0 and c0 >= 0 and r0 + rows <= shape[0] and c0 + cols <= shape[1]):
        raise ValueError(
            f"a {rows}x{cols} pattern at offset ({r0}, {c0}) does not fit the "
            f"{shape[0]}x{shape[1]} array"
        )
    target = np.full(shape, KEEP, dtype=np.int8)
    target[r0 : r0 + rows, c0 : c0 + cols] = pattern
    return target


def write_verify(
    backend: ArrayBackend,
    target: np.ndarray,
    *,
    scheme: str = "v/2",
    width_s: float = 100e-9,
    ramp_p_to_ap: Ramp = DEFAULT_RAMP_P_TO_AP,
    ramp_ap_to_p: Ramp = DEFAULT_RAMP_AP_TO_P,
    max_attempts: int = 6,
    max_passes: int = 12,
    order: str = "row-major",
    v_read_v: float = 0.1,
    threshold_ohm: float | None = None,
    rng: np.random.Generator | int = 0,
    progress: ProgressCallback | None = None,
    record: RecordSink | None = None,
    repair_disturbed: bool = False,
) -> WriteResult:
    """Write ``target`` into the array with write-verify.

    Each pass reads the whole array under the grounded read bias (the only one that classifies
    every cell correctly) and pulses, in ``order``, only the cells that read wrong. As every
    read covers the whole array, a cell outside the pattern that a pulse disturbed is seen by
    the next read wherever it is: it is counted, and written back to the state the first read
    gave it when ``repair_disturbed`` is set. A cell's
    n-th pulse has amplitude ``ramp.amplitude(n)`` of its direction; a cell is given up when it
    reads open or short, or after ``max_attempts`` pulses. A last read scores the result.

    Parameters
    ----------
    target : ndarray of int, shape of the array
        0 = P, 1 = AP, :data:`KEEP` (-1) = leave this cell alone (see :func:`place_pattern`).
    scheme : {"v/2", "v/3", "floating"}
        Half-select scheme of every pulse.
    ramp_p_to_ap, ramp_ap_to_p : Ramp
        Amplitude ramps; every amplitude must lie inside the backend's limits.
    max_attempts : int
        Pulses a cell may get before it is reported as not switching.
    max_passes : int
        Verify-and-pulse rounds at most.
    order : {"row-major", "column-major", "random"}
        Order in which a pass pulses its wrong cells (random is seeded by ``rng``).
    threshold_ohm : float, optional
        P/AP boundary from an earlier read-out of this array. Without one, it comes from the
        first read if that shows both states, or else from calibration pulses on a few cells.
    record : callable, optional
        Receives each pulse as it is applied (``record="pulse"``, ``pass``, ``row``, ``col``,
        ``attempt``, ``direction``, ``amplitude_v``, ``width_s``), then one ``record="cell"``
        per written cell (``target``, ``final``, ``attempts``, ``resistance_ohm``, ``given_up``).
    repair_disturbed : bool
        Write the cells outside the pattern that a pulse disturbed back to their first state
        (their pulses are recorded like the pattern's, their cells are not).
    """
    target = _check_target(backend, target)
    check_choice("scheme", scheme, WRITE_SCHEMES)
    check_choice("order", order, WRITE_ORDERS)
    max_attempts = check_scalar(
        max_attempts, "max_attempts", kind=int, low=1, type_error=ValueError
    )
    max_passes = check_scalar(max_passes, "max_passes", kind=int, low=1, type_error=ValueError)
    limits = backend.limits
    for name, ramp in (("ramp_p_to_ap", ramp_p_to_ap), ("ramp_ap_to_p", ramp_ap_to_p)):
        if not (0 < ramp.start_v <= ramp.stop_v and ramp.step_v >= 0):
            raise ValueError(f"{name} must have 0 < start_v <= stop_v and step_v >= 0, got {ramp}")
        limits.check_write(scheme, ramp.stop_v, width_s, 1 if name == "ramp_p_to_ap" else -1)
    limits.check_read(v_read_v)
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)

    written = target != KEEP
    attempts = np.zeros(backend.shape, dtype=int)
    given_up: dict[tuple[int, int], GiveUp] = {}
    verified = np.zeros(backend.shape, dtype=bool)
    pulses = 0
    history: list[int] = []

    readout = _first_read(backend, v_read_v, threshold_ohm)
    if readout is None:
        threshold = _calibrate(
            backend, target, width_s, ramp_p_to_ap, ramp_ap_to_p, scheme, v_read_v
        )
        pulses += 2 * _CALIBRATION_CELLS
        readout = read_states(backend, v_read_v=v_read_v, threshold_ohm=threshold)
    threshold = readout.threshold_ohm
    before = readout.states.copy()
    watched = ~written & np.isin(before, (P, AP))  # cells outside the pattern that hold a state
    moved_ever = np.zeros(backend.shape, dtype=bool)

    passes = 0
    while True:
        states = readout.states
        moved = watched & (states != before)
        moved_ever |= moved
        goal = target
        if repair_disturbed:
            goal = np.where(moved, before, target).astype(np.int8)
        active = goal != KEEP
        verified |= written & (states == target)
        for row, col in np.argwhere(active & np.isin(states, (OPEN, SHORT))):
            given_up.setdefault((int(row), int(col)), GiveUp.reads(int(states[row, col])))
        wrong = active & (states != goal)
        todo = [(int(r), int(c)) for r, c in np.argwhere(wrong) if (r, c) not in given_up]
        history.append(int(wrong.sum()))
        if not todo or passes == max_passes:
            break
        passes += 1
        emit(progress, Progress("write-verify", 0, len(todo), "pulse", f"pass {passes}"))
        for n, (row, col) in enumerate(_ordered(todo, order, rng)):
            to_ap = goal[row, col] == AP
            ramp = ramp_p_to_ap if to_ap else ramp_ap_to_p
            amplitude_v = ramp.amplitude(int(attempts[row, col]))
            backend.write_pulse(
                row,
                col,
                amplitude_v=amplitude_v,
                width_s=width_s,
                polarity=1 if to_ap else -1,
                scheme=scheme,
            )
            attempts[row, col] += 1
            pulses += 1
            if record is not None:
                record(
                    {
                        "record": "pulse",
                        "pass": passes,
                        "row": row,
                        "col": col,
                        "attempt": int(attempts[row, col]),
                        "direction": "P->AP" if to_ap else "AP->P",
                        "amplitude_v": amplitude_v,
                        "width_s": width_s,
                    }
                )
            if attempts[row, col] >= max_attempts:
                given_up[(row, col)] = GiveUp.did_not_switch(
                    int(goal[row, col]), max_attempts, amplitude_v
                )
            emit(progress, Progress("write-verify", n + 1, len(todo), "pulse", f"pass {passes}"))
        readout = read_states(backend, v_read_v=v_read_v, threshold_ohm=threshold)

    final = readout
    # A cell given up after its last pulse may still have switched on that pulse.
    for rc in [rc for rc, why in given_up.items() if why.kind is GiveUpKind.DID_NOT_SWITCH]:
        if final.states[rc] == (target[rc] if written[rc] else before[rc]):
            del given_up[rc]
    ok = written & (final.states == target)
    wants_ap = written & (target == AP)
    wants_p = written & (target == P)
    result = WriteResult(
        target=target,
        final=final,
        fidelity=float(ok.sum() / max(int(written.sum()), 1)),
        pulses=pulses,
        passes=passes,
        attempts=attempts,
        given_up={rc: given_up[rc].message for rc in sorted(given_up)},
        disturbed=int(np.sum(verified & written & ~ok)),
        errors_p_to_ap=int(np.sum(wants_ap & ~ok)),
        errors_ap_to_p=int(np.sum(wants_p & ~ok)),
        threshold_ohm=threshold,
        history=history,
        given_up_kinds={rc: given_up[rc].kind for rc in sorted(given_up)},
        disturbed_outside=int(moved_ever.sum()),
        repaired=int(np.sum(moved_ever & (final.states == before))) if repair_disturbed else 0,
    )
    if record is not None:
        for row, col in np.argwhere(written):
            record(
                {
                    "record": "cell",
                    "row": int(row),
                    "col": int(col),
                    "target": NAMES[int(target[row, col])],
                    "final": NAMES[int(final.states[row, col])],
                    "attempts": int(attempts[row, col]),
                    "resistance_ohm": float(final.resistance_ohm[row, col]),
                    "given_up": result.given_up.get((int(row), int(col)), ""),
                }
            )
    return result


# -- helpers ------------------------------------------------------------------------------------

#: Cells pulsed both ways to find the P/AP threshold of an array that shows one state only.
_CALIBRATION_CELLS = 3


def _first_read(backend: ArrayBackend, v_read_v: float, threshold_ohm: float | None):
    try:
        return read_states(backend, v_read_v=v_read_v, threshold_ohm=threshold_ohm)
    except ThresholdError:
        return None


def _calibrate(backend, target, width_s, ramp_p_to_ap, ramp_ap_to_p, scheme, v_read_v) -> float:
    """P/AP threshold from a few written cells, each read after a pulse to AP and one to P.

    The cells are spread over the written block and will be written to their target by the
    passes that follow, so calibrating costs two pulses and two reads per cell.
    """
    cells = np.argwhere(target != KEEP)
    picks = cells[np.linspace(0, len(cells) - 1, _CALIBRATION_CELLS).astype(int)]
    r_ap, r_p = [], []
    for row, col in picks:
        row, col = int(row), int(col)
        backend.write_pulse(
            row, col, amplitude_v=ramp_p_to_ap.stop_v, width_s=width_s, polarity=1, scheme=scheme
        )
        r_ap.append(backend.read_cell(row, col, v_read_v=v_read_v).resistance_ohm)
        backend.write_pulse(
            row, col, amplitude_v=ramp_ap_to_p.stop_v, width_s=width_s, polarity=-1, scheme=scheme
        )
        r_p.append(backend.read_cell(row, col, v_read_v=v_read_v).resistance_ohm)
    ratio = np.array(r_ap) / np.array(r_p)
    good = np.isfinite(ratio) & (ratio >= MIN_STATE_RATIO)
    if not good.any():
        raise RuntimeError(
            f"calibration failed: none of cells {picks.tolist()} changed resistance by "
            f"{MIN_STATE_RATIO}x between an AP and a P pulse; pass threshold_ohm explicitly"
        )
    return float(np.sqrt(np.median(np.array(r_ap)[good]) * np.median(np.array(r_p)[good])))


def _ordered(cells: list[tuple[int, int]], order: str, rng: np.random.Generator):
    if order == "row-major":
        return sorted(cells)
    if order == "column-major":
        return sorted(cells, key=lambda rc: (rc[1], rc[0]))
    return [cells[i] for i in rng.permutation(len(cells))]


def _check_target(backend: ArrayBackend, target) -> np.ndarray:
    t = np.asarray(target)
    if t.shape != backend.shape:
        raise ValueError(
            f"target has shape {t.shape}; the array is {backend.shape} "
            "(place a smaller pattern with place_pattern)"
        )
    if t.dtype.kind not in "iub" and not (t.dtype.kind == "f" and np.all(t == np.round(t))):
        raise ValueError(f"target must hold 0 (P), 1 (AP) or -1 (keep), got dtype {t.dtype}")
    t = t.astype(np.int8)
    bad = ~np.isin(t, (P, AP, KEEP))
    if bad.any():
        row, col = (int(x) for x in np.argwhere(bad)[0])
        raise ValueError(
            f"target cell ({row}, {col}) is {int(t[row, col])}; expected 0 (P), 1 (AP) or -1 (keep)"
        )
    if not np.any(t != KEEP):
        raise ValueError("target writes no cell (every cell is -1, keep)")
    return t
