"""Model names, as a bench file writes them, mapped to driver classes."""

from __future__ import annotations

from .keithley707b import Keithley707B, Keithley708B
from .keithley2400 import Keithley2400
from .keithley2450 import Keithley2450
from .keithley2600b import Keithley2600B
from .keysight33500b import Keysight33500B
from .keysight81150a import Keysight81150A
from .keysight81160a import Keysight81160A
from .roles import PulseGenerator, SourceMeter, SwitchMatrix
from .serial_matrix import SerialRelayMatrix

DRIVERS: dict[str, type] = {
    "keithley2400": Keithley2400,
    "keithley2450": Keithley2450,
    "keithley2600b": Keithley2600B,
    "keithley707b": Keithley707B,
    "keithley708b": Keithley708B,
    "serial_matrix": SerialRelayMatrix,
    "keysight33500b": Keysight33500B,
    "keysight81160a": Keysight81160A,
    "keysight81150a": Keysight81150A,
}

ROLES: dict[type, str] = {
    SourceMeter: "source meter",
    SwitchMatrix: "switch matrix",
    PulseGenerator: "pulse generator",
}


def driver_for(model: str) -> type:
    """Return the driver class for ``model`` (as in :data:`DRIVERS`).

    Raises
    ------
    KeyError
        If the model is unknown; the message lists the known models.
    """
    try:
        return DRIVERS[model]
    except (KeyError, TypeError):
        known = ", ".join(sorted(DRIVERS))
        raise KeyError(f"unknown instrument model {model!r}; known models: {known}") from None


def role_of(model: str) -> type:
    """Return the role class (:class:`SourceMeter`, :class:`SwitchMatrix` or
    :class:`PulseGenerator`) the model's driver implements."""
    driver = driver_for(model)
    return next(role for role in ROLES if issubclass(driver, role))
