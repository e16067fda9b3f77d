"""Keithley 2400-family SourceMeter (SCPI) as a :class:`~mtjlab.instruments.roles.SourceMeter`.

Built on pymeasure's ``Keithley2400``, whose property table (strict validators) is right for this
model; this module adds the role methods, the list sweep and the error-queue check.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pymeasure.instruments import Instrument
from pymeasure.instruments.keithley import Keithley2400 as _PymeasureKeithley2400

from ._errors import ScpiErrorQueue
from ._values import check_choice, check_number, check_voltage_list
from .roles import SourceMeter

#: Elements per reading, fixed by pymeasure's ``:FORMAT:ELEMENTS`` at connection.
_ELEMENTS = ("voltage", "current", "resistance", "time", "status")


class Keithley2400(ScpiErrorQueue, _PymeasureKeithley2400, SourceMeter):
    """Keithley 2400 / 2401 / 2410 / 2420 / 2440 SourceMeter, sourcing voltage.

    Limits are those of the 2400 (±210 V, ±1.05 A); a model with narrower ranges refuses the
    excess itself and the error queue reports it.
    """

    max_list_points = 100
    max_voltage_v = 210.0
    max_current_a = 1.05
    nplc_range = (0.01, 10.0)

    def __init__(self, adapter, name: str = "Keithley 2400 SourceMeter", **kwargs):
        super().__init__(adapter, name, **kwargs)

    def configure_voltage_source(self, compliance_current_a: float, nplc: float) -> None:
        compliance = check_number(
            compliance_current_a, 1e-9, self.max_current_a, "compliance_current_a", "A"
        )
        nplc = check_number(nplc, *self.nplc_range, "nplc", "power-line cycles")
        self.source_mode = "voltage"
        self.write(":SOURCE:VOLTAGE:MODE FIXED")
        self.source_voltage_range_auto_enabled = True
        self.write(':SENSE:FUNCTION "CURRENT"')
        self.compliance_current = compliance
        self.current_range_auto_enabled = True
        self.current_nplc = nplc
        self.check_errors()

    def set_voltage(self, voltage_v: float) -> None:
        voltage = self._check_voltage(voltage_v, "voltage_v")
        self.source_voltage = voltage
        self.check_errors()

    def measure(self) -> tuple[float, float]:
        reading = self._read_points(":READ?", 1)
        return float(reading[0, 0]), float(reading[0, 1])

    def sweep_voltage_list(self, voltages_v: Sequence[float]) -> np.ndarray:
        voltages = check_voltage_list(voltages_v, self.max_voltage_v, self.max_list_points)
        self.source_voltage = 0.0  # the fixed level the source returns to after the list
        self.write(":SOURCE:VOLTAGE:MODE LIST")
        self.write(":SOURCE:LIST:VOLTAGE " + ",".join(f"{v:g}" for v in voltages))
        self.write(":ARM:COUNT 1")
        self.write(f":TRIGGER:COUNT {len(voltages)}")
        self.check_errors()
        try:
            readings = self._read_points(":READ?", len(voltages))
        finally:
            self.write(":SOURCE:VOLTAGE:MODE FIXED")
            self.write(":TRIGGER:COUNT 1")
            self.check_errors()
        return readings[:, 1]

    def enable_output(self) -> None:
        self.source_enabled = True
        self.check_errors()

    def disable_output(self) -> None:
        self.source_enabled = False
        self.check_errors()

    def safe_state(self) -> None:
        self.write(":ABORT")
        self.source_mode = "voltage"
        self.write(":SOURCE:VOLTAGE:MODE FIXED")
        self.source_voltage = 0.0
        self.source_enabled = False
        self.check_errors()

    def shutdown(self) -> None:
        """Go to the safe state (also on leaving a ``with`` block)."""
        self.safe_state()
        Instrument.shutdown(self)

    def output_trigger_on_external(self, line: int = 1, after: str = "DEL") -> None:
        """pymeasure's deprecated method, with ``after`` and ``line`` checked before they are
        spliced into the command."""
        check_choice(after, ("SOUR", "DEL", "SENS", "NONE"), "after")
        check_number(line, 1, 4, "line", "(trigger link line)")
        super().output_trigger_on_external(int(line), after)

    def _check_voltage(self, value: float, name: str) -> float:
        return check_number(value, -self.max_voltage_v, self.max_voltage_v, name, "V")

    def _read_points(self, query: str, points: int) -> np.ndarray:
        """Ask ``query`` and return its reply as a (points, 5) array of the elements in
        :data:`_ELEMENTS`; a reply of another length or with non-numbers is an error."""
        reply = self.ask(query)
        try:
            values = np.array([float(x) for x in reply.split(",")], dtype=float)
        except ValueError:
            values = np.array([])
        if values.size != points * len(_ELEMENTS):
            raise self._failure(
                f"expected {points} reading(s) of {len(_ELEMENTS)} numbers, got {reply!r}"
            )
        return values.reshape(points, len(_ELEMENTS))
