"""Model names, as a bench file writes them, mapped to driver classes."""

from __future__ import annotations

from ._errors import ScpiErrorQueue, TspErrorQueue
from ._pulser import BusTriggeredPulser
from ._smu import ConfirmedSource
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


#: What each kind of driver checks before and after it acts, by the class that does it.
_CHECKS: dict[type, str] = {
    ConfirmedSource: "output on only once its settings and level are read back",
    ScpiErrorQueue: "error queue (SYST:ERR?) read after every setting",
    TspErrorQueue: "error queue (errorqueue.next) read after every setting",
    Keithley707B: "break-before-make set and read back before its first close; crosspoints "
    "read back by bench check",
    SerialRelayMatrix: "each command acknowledged with its sequence number and checksum",
}


_LOADS = {"50ohm": "50 Ohm", "highz": "high Z"}


def _volts(low: float, high: float) -> str:
    return f"{low * 1e3:g} mV to {high:g} V" if low < 1 else f"{low:g} to {high:g} V"


def checks_of(model: str) -> list[str]:
    """What the driver of ``model`` checks, in a few words each: read-backs, the error queue,
    its source and pulse ranges (as ``mtjlab bench instruments`` lists them)."""
    driver = driver_for(model)
    said = [text for cls, text in _CHECKS.items() if issubclass(driver, cls)]
    if isinstance(getattr(driver, "max_voltage_v", None), float):  # (a 2600B: by model)
        said.append(f"sources up to {driver.max_voltage_v:g} V")
    if issubclass(driver, BusTriggeredPulser):
        heights = ", ".join(
            f"{_volts(*limits)} into {_LOADS.get(load, load)}"
            for load, limits in getattr(driver, "amplitude_limits_v", {}).items()
        )
        low, high = driver.width_limits_s
        said.append(
            f"pulse widths {low * 1e9:g} ns to {high:g} s"
            + (f", heights {heights}" if heights else "")
        )
    return said
