"""Instrument drivers: one role interface per instrument kind, one module per model.

Drivers know nothing of MTJs; see ``docs/instruments.md`` for what each role method sends.
"""

from .registry import DRIVERS, driver_for, role_of
from .roles import (
    LOAD_50_OHM,
    LOAD_HIGH_Z,
    ChannelSpecError,
    InstrumentError,
    PulseGenerator,
    SourceMeter,
    SwitchMatrix,
)

__all__ = [
    "DRIVERS",
    "LOAD_50_OHM",
    "LOAD_HIGH_Z",
    "ChannelSpecError",
    "InstrumentError",
    "PulseGenerator",
    "SourceMeter",
    "SwitchMatrix",
    "driver_for",
    "role_of",
]
