"""Read-out: an array's resistance map turned into cell states (P, AP, open, short), with the P/AP
threshold taken from the array's own measured distribution rather than a constant.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mtjlab.core.backend import ArrayBackend
from mtjlab.core.events import Progress, ProgressCallback, emit
from mtjlab.core.records import RecordSink
from mtjlab.core.states import AP, NAMES, OPEN, SHORT, P

#: A reading this many times below the P/AP threshold is a short, this many times above it an
#: open. The threshold sits near R_P sqrt(1 + TMR), so with TMR from 50 to 300 % the P and AP
#: populations lie within a factor 2.2 of it and a factor 8 leaves room for variation and lines.
DEFECT_FACTOR = 8.0

#: Two populations count as P and AP only if their medians differ by at least this ratio (a TMR
#: of 30 %); one population split by noise alone differs by a few per cent.
MIN_STATE_RATIO = 1.3


class ThresholdError(ValueError):
    """The map shows one population only, so it cannot say which state that is."""


@dataclass(frozen=True)
class Readout:
    """One read-out of an array.

    ``states`` holds a code of :mod:`mtjlab.core.states` per cell (P, AP, OPEN or SHORT);
    ``threshold_ohm`` is the P/AP boundary used and ``threshold_source`` where it came from
    (``"map"``: this map's own two populations; ``"given"``: passed in).
    """

    resistance_ohm: np.ndarray
    states: np.ndarray
    threshold_ohm: float
    threshold_source: str
    v_read_v: float
    bias: str

    def counts(self) -> dict[str, int]:
        """How many cells of each class."""
        return {name: int(np.sum(self.states == code)) for code, name in NAMES.items()}


def split_threshold(resistance_ohm: np.ndarray) -> float | None:
    """The P/AP threshold of a map from its two populations, or None if it shows only one.

    Readings are compared in log resistance; far outliers (opens, shorts, non-physical
    readings) are left out around the median before the split, which maximises the variance
    between the two groups (Otsu's criterion), and the threshold is the geometric mean of the
    two group medians.
    """
    r = np.asarray(resistance_ohm, dtype=float).ravel()
    r = r[np.isfinite(r) & (r > 0)]
    if r.size < 2:
        return None
    centre = np.median(np.log(r))
    logs = np.sort(np.log(r[np.abs(np.log(r) - centre) < np.log(DEFECT_FACTOR)]))
    if logs.size < 2:
        return None
    n = logs.size
    k = np.arange(1, n)
    cumulative = np.cumsum(logs)[:-1]
    mean_lo = cumulative / k
    mean_hi = (logs.sum() - cumulative) / (n - k)
    between = k * (n - k) * (mean_hi - mean_lo) ** 2
    cut = int(np.argmax(between)) + 1
    lo, hi = np.median(logs[:cut]), np.median(logs[cut:])
    if hi - lo < np.log(MIN_STATE_RATIO):
        return None
    return float(np.exp(0.5 * (lo + hi)))


def classify(resistance_ohm: np.ndarray, threshold_ohm: float) -> np.ndarray:
    """Cell classes of a map for a given P/AP threshold (codes of :mod:`mtjlab.core.states`)."""
    r = np.asarray(resistance_ohm, dtype=float)
    states = np.where(r > threshold_ohm, AP, P).astype(np.int8)
    states[r < threshold_ohm / DEFECT_FACTOR] = SHORT
    states[~np.isfinite(r) | (r <= 0) | (r > threshold_ohm * DEFECT_FACTOR)] = OPEN
    return states


def read_states(
    backend: ArrayBackend,
    *,
    v_read_v: float = 0.1,
    bias: str = "grounded",
    threshold_ohm: float | None = None,
    progress: ProgressCallback | None = None,
    record: RecordSink | None = None,
) -> Readout:
    """Read the whole array and classify every cell.

    Parameters
    ----------
    backend : ArrayBackend
        The array.
    v_read_v, bias
        Read voltage and read bias of the unselected lines (see :meth:`ArrayBackend.read_map`).
        The grounded read bias is the one that classifies reliably: floating and V/2 or V/3 reads
        carry sneak currents that squash the P and AP populations together.
    threshold_ohm : float, optional
        P/AP boundary. By default it is taken from this map's own two populations; pass one
        (from an earlier read-out of the same array) to classify a map that shows one state only.
    record : callable, optional
        Receives one dict per cell (``row``, ``col``, ``resistance_ohm``, ``state``).

    Raises
    ------
    ThresholdError
        No threshold was given and the map shows a single population.
    """
    if threshold_ohm is not None and not (np.isfinite(threshold_ohm) and threshold_ohm > 0):
        raise ValueError(f"threshold_ohm must be a finite resistance > 0, got {threshold_ohm!r}")
    emit(progress, Progress("read", 0, 1, "map"))
    rmap = backend.read_map(v_read_v=v_read_v, bias=bias)
    emit(progress, Progress("read", 1, 1, "map"))
    source = "given"
    if threshold_ohm is None:
        threshold_ohm = split_threshold(rmap.resistance_ohm)
        source = "map"
        if threshold_ohm is None:
            raise ThresholdError(
                "the map shows a single resistance population, so it cannot tell P from AP; "
                "pass a threshold from an earlier read-out of this array"
            )
    states = classify(rmap.resistance_ohm, threshold_ohm)
    if record is not None:
        for (row, col), r in np.ndenumerate(rmap.resistance_ohm):
            record(
                {
                    "row": row,
                    "col": col,
                    "resistance_ohm": float(r),
                    "state": NAMES[int(states[row, col])],
                }
            )
    return Readout(
        resistance_ohm=rmap.resistance_ohm,
        states=states,
        threshold_ohm=float(threshold_ohm),
        threshold_source=source,
        v_read_v=rmap.v_read_v,
        bias=rmap.bias,
    )
