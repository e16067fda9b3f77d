"""Keithley 2450 SourceMeter, native SCPI command set, as a
:class:`~mtjlab.instruments.roles.SourceMeter`.

pymeasure's ``Keithley2450`` needs the instrument switched to the "SCPI 2400" command set for its
buffer and truncates out-of-range values instead of refusing them, so this driver declares its
own table in the 2450's native commands, with strict validators.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pymeasure.instruments import Instrument, SCPIMixin
from pymeasure.instruments.validators import strict_discrete_set, strict_range

from ._errors import ScpiErrorQueue
from ._values import check_number, check_voltage_list
from .roles import SourceMeter

_BOOL = {True: 1, False: 0}


def _unquote(reply):
    return reply.strip('"') if isinstance(reply, str) else reply


class Keithley2450(ScpiErrorQueue, SCPIMixin, Instrument, SourceMeter):
    """Keithley 2450 SourceMeter (±210 V, ±1.05 A), sourcing voltage, measuring current."""

    max_list_points = 100

    def __init__(self, adapter, name: str = "Keithley 2450 SourceMeter", **kwargs):
        super().__init__(adapter, name, **kwargs)

    source_function = Instrument.control(
        ":SOUR:FUNC?",
        ":SOUR:FUNC %s",
        """Control the source function ('voltage' or 'current').""",
        validator=strict_discrete_set,
        values={"voltage": "VOLT", "current": "CURR"},
        map_values=True,
        cast=str,
    )

    source_voltage = Instrument.control(
        ":SOUR:VOLT?",
        ":SOUR:VOLT %g",
        """Control the source voltage level in V (strictly -210 to 210).""",
        validator=strict_range,
        values=(-210.0, 210.0),
    )

    source_voltage_range_auto_enabled = Instrument.control(
        ":SOUR:VOLT:RANG:AUTO?",
        ":SOUR:VOLT:RANG:AUTO %d",
        """Control whether the voltage source auto-ranges (bool).""",
        validator=strict_discrete_set,
        values=_BOOL,
        map_values=True,
    )

    current_limit = Instrument.control(
        ":SOUR:VOLT:ILIM?",
        ":SOUR:VOLT:ILIM %g",
        """Control the current limit (compliance) while sourcing voltage, in A
        (strictly 1e-9 to 1.05).""",
        validator=strict_range,
        values=(1e-9, 1.05),
    )

    sense_function = Instrument.control(
        ":SENS:FUNC?",
        ':SENS:FUNC "%s"',
        """Control the measure function ('current' or 'voltage').""",
        validator=strict_discrete_set,
        values={"current": "CURR:DC", "voltage": "VOLT:DC"},
        map_values=True,
        cast=str,
        get_process=_unquote,
    )

    current_range_auto_enabled = Instrument.control(
        ":SENS:CURR:RANG:AUTO?",
        ":SENS:CURR:RANG:AUTO %d",
        """Control whether the current measurement auto-ranges (bool).""",
        validator=strict_discrete_set,
        values=_BOOL,
        map_values=True,
    )

    current_nplc = Instrument.control(
        ":SENS:CURR:NPLC?",
        ":SENS:CURR:NPLC %g",
        """Control the current integration time in power-line cycles (strictly 0.01 to 10).""",
        validator=strict_range,
        values=(0.01, 10.0),
    )

    output_enabled = Instrument.control(
        ":OUTP?",
        ":OUTP %d",
        """Control whether the output is on (bool).""",
        validator=strict_discrete_set,
        values=_BOOL,
        map_values=True,
    )

    def configure_voltage_source(self, compliance_current_a: float, nplc: float) -> None:
        compliance = check_number(compliance_current_a, 1e-9, 1.05, "compliance_current_a", "A")
        nplc = check_number(nplc, 0.01, 10.0, "nplc", "power-line cycles")
        self.source_function = "voltage"
        self.source_voltage_range_auto_enabled = True
        self.current_limit = compliance
        self.sense_function = "current"
        self.current_range_auto_enabled = True
        self.current_nplc = nplc
        self.check_errors()

    def set_voltage(self, voltage_v: float) -> None:
        self.source_voltage = check_number(voltage_v, -210.0, 210.0, "voltage_v", "V")
        self.check_errors()

    def measure(self) -> tuple[float, float]:
        voltage, current = self._read_pairs(':READ? "defbuffer1",SOUR,READ', 1)[0]
        return float(voltage), float(current)

    def sweep_voltage_list(self, voltages_v: Sequence[float]) -> np.ndarray:
        voltages = check_voltage_list(voltages_v, 210.0, self.max_list_points)
        self.write(':TRAC:CLE "defbuffer1"')
        self.write(":SOUR:LIST:VOLT " + ",".join(f"{v:g}" for v in voltages))
        # start at index 1, no delay between points: the sweep's trigger model
        self.write(":SOUR:SWE:VOLT:LIST 1,0")
        self.check_errors()
        self.write(":INIT")
        self.write("*WAI")
        try:
            pairs = self._read_pairs(
                f':TRAC:DATA? 1,{len(voltages)},"defbuffer1",SOUR,READ', len(voltages)
            )
        finally:
            self.source_voltage = 0.0
            self.check_errors()
        return pairs[:, 1]

    def enable_output(self) -> None:
        self.output_enabled = True
        self.check_errors()

    def disable_output(self) -> None:
        self.output_enabled = False
        self.check_errors()

    def safe_state(self) -> None:
        self.write(":ABOR")
        self.source_function = "voltage"
        self.source_voltage = 0.0
        self.output_enabled = False
        self.check_errors()

    def shutdown(self) -> None:
        """Go to the safe state (also on leaving a ``with`` block)."""
        self.safe_state()
        Instrument.shutdown(self)

    def _read_pairs(self, query: str, points: int) -> np.ndarray:
        """Ask ``query`` and return a (points, 2) array of (source value, reading)."""
        reply = self.ask(query)
        try:
            values = np.array([float(x) for x in reply.split(",")], dtype=float)
        except ValueError:
            values = np.array([])
        if values.size != 2 * points:
            raise self._failure(f"expected {points} (source, reading) pair(s), got {reply!r}")
        return values.reshape(points, 2)
