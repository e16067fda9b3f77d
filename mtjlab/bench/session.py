"""Connecting a bench file's instruments: mtjlab's drivers on the real instruments' VISA
sessions, or on the emulators of an emulated bench.
"""

from __future__ import annotations

from pymeasure.adapters import VISAAdapter

from mtjlab.bench.drivers import build_drivers
from mtjlab.bench.emulated import EmulatedBench
from mtjlab.core.wiring import Bench, InstrumentEntry


def connect(bench: Bench):
    """The drivers of ``bench`` by instrument name, and the EmulatedBench behind them (None on a
    real bench). Instruments at one VISA resource share one session."""
    if bench.kind == "emulated":
        emulated = EmulatedBench(bench)
        return emulated.drivers(), emulated
    adapters: dict[str, VISAAdapter] = {}

    def session(entry: InstrumentEntry, timeout_ms: int | None) -> VISAAdapter:
        if entry.resource not in adapters:
            adapters[entry.resource] = VISAAdapter(entry.resource, timeout=timeout_ms or 10_000)
        return adapters[entry.resource]

    return build_drivers(bench, session, lambda entry: entry.resource, named_errors=True), None
