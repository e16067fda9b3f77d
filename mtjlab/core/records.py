"""What a measurement hands on as it goes: each record to a sink as it is measured, and each
resumable unit to whoever runs units (the run engine with its store, or nothing, in memory).

A protocol takes these as arguments, so it records and resumes without knowing the run store.
"""

from __future__ import annotations

from collections.abc import Callable

#: Takes one record (a flat dict of str, int, float, bool or None) as soon as it is measured.
#: Its ``record`` key says what it is: "pulse" and "cell" of write-verify, "calibration" and
#: "trial" of a switching measurement, "point" of an R-V loop.
RecordSink = Callable[[dict], None]

#: Measures one unit, handing its records to the sink it is given; returns the unit's result.
Measure = Callable[[RecordSink], dict]

#: Runs a unit ``(name, state_key, measure)`` and returns its result: once, in order; a run
#: store's runner returns the stored result of a unit already finished instead of measuring it.
RunUnit = Callable[[str, str, Measure], dict]


def run_in_memory(name: str, state_key: str, measure: Measure) -> dict:
    """Measure the unit now, keeping no record: a protocol used outside a run."""
    return measure(lambda record: None)
