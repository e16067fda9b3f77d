"""Keithley 2400-family SourceMeter (SCPI) as a :class:`~mtjlab.instruments.roles.SourceMeter`.

Built on pymeasure's ``Keithley2400``, whose property table (strict validators) is right for this
model; this module adds the role methods, the list sweep, the error-queue check and the settings
a previous user may have left behind.

Command facts are from the 2400 Series SourceMeter User's Manual (2400S-900-01), section 18
"SCPI Command Reference":

- ``:SYSTem:RSENse <b>``: remote (4-wire) sense on or off ("Control remote sensing");
- ``:OUTPut[1]:SMODe HIMPedance|NORMal|ZERO|GUARd``: the output-off state; NORMal selects the
  V-source at 0 V with the compliance cut to 0.5 % of the present current range;
- ``:SOURce[1]:VOLTage:PROTection[:LEVel] <n>``: overvoltage protection; on the 2400 the levels
  are 20, 40, 60, 80, 100, 120 and 160 V, anything from 161 to 210 V meaning NONE. A value
  between two levels selects the *lower* one, so the driver sends a level from the table and
  reads it back (other 2400-family models have other tables, and the read-back catches that);
- ``:SOURce[1]:CLEar:AUTO <b>``: auto output-off; when on, ``:READ?`` turns the output on for
  each reading, behind :meth:`enable_output`'s back, so the driver turns it off;
- ``:OUTPut[1][:STATe]``: "Measurements cannot be made while the source is off", so with the
  output off ``:READ?`` never answers; :meth:`Keithley2400.measure` asks ``OUTPUT?`` first.

Why NORMal and not ZERO or HIMPedance when the output is off: the junction stays at 0 V through
a source that can sink only 0.5 % of the range (the manual calls NORMal "relatively high
impedance"), so a pulse another instrument drives into the same line through the switch matrix is
not shorted by the idle SMU as it would be by ZERO (0 V with the full compliance); HIMPedance
would leave the junction floating and wear the output relay, which the manual warns against for
outputs switched often.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from pymeasure.instruments import Instrument
from pymeasure.instruments.keithley import Keithley2400 as _PymeasureKeithley2400
from pymeasure.instruments.validators import strict_discrete_set

from mtjlab.core.checks import check_choice, check_scalar

from ._errors import ScpiErrorQueue
from ._smu import ConfirmedSource

#: Elements per reading, fixed by pymeasure's ``:FORMAT:ELEMENTS`` at connection.
_ELEMENTS = ("voltage", "current", "resistance", "time", "status")
_BOOL = {True: 1, False: 0}
#: Why a reading with the output off is refused rather than asked for.
_NO_READING_WHEN_OFF = (
    ", and the 2400 takes no reading then (':READ?' would wait until it times out)"
)


class Keithley2400(ScpiErrorQueue, ConfirmedSource, _PymeasureKeithley2400):
    """Keithley 2400 / 2401 / 2410 / 2420 / 2440 SourceMeter, sourcing voltage.

    Limits are those of the 2400 (±210 V, ±1.05 A); a model with narrower ranges refuses the
    excess itself and the error queue reports it.
    """

    max_list_points = 100
    max_voltage_v = 210.0
    max_current_a = 1.05
    current_limit_range_a = (1e-9, max_current_a)
    nplc_range = (0.01, 10.0)
    level_query = ":SOURCE:VOLTAGE?"
    #: The 2400's overvoltage-protection levels in V; 210 stands for NONE (161 to 210 V).
    protection_levels_v = (20.0, 40.0, 60.0, 80.0, 100.0, 120.0, 160.0, 210.0)

    voltage_protection_v = Instrument.control(
        ":SOUR:VOLT:PROT?",
        ":SOUR:VOLT:PROT %g",
        """Control the overvoltage protection in V (strictly one of the 2400's levels; 210
        means NONE).""",
        validator=strict_discrete_set,
        values=protection_levels_v,
    )

    output_off_mode = Instrument.control(
        ":OUTP:SMOD?",
        ":OUTP:SMOD %s",
        """Control the output-off state ('NORM', 'ZERO', 'HIMP' or 'GUAR').""",
        validator=strict_discrete_set,
        values=("NORM", "ZERO", "HIMP", "GUAR"),
    )

    auto_output_off_enabled = Instrument.control(
        ":SOUR:CLE:AUTO?",
        ":SOUR:CLE:AUTO %d",
        """Control auto output-off (bool): when on, each reading turns the output on.""",
        validator=strict_discrete_set,
        values=_BOOL,
        map_values=True,
    )

    def __init__(self, adapter, name: str = "Keithley 2400 SourceMeter", **kwargs):
        super().__init__(adapter, name, **kwargs)

    def _configure_voltage_source(self, compliance: float, nplc: float, limit_v: float) -> None:
        protection_v = next(v for v in self.protection_levels_v if v >= limit_v)
        self.source_enabled = False
        self.auto_output_off_enabled = False
        self.voltage_protection_v = protection_v
        self.wires = 2
        self.output_off_mode = "NORM"
        self.source_mode = "voltage"
        self.write(":SOURCE:VOLTAGE:MODE FIXED")
        self.source_voltage_range_auto_enabled = True
        self.write(':SENSE:FUNCTION "CURRENT"')
        self.compliance_current = compliance
        self.current_range_auto_enabled = True
        self.current_nplc = nplc
        self.check_errors()
        self._confirm_text("source function", ":SOURCE:FUNCTION?", "VOLT")
        self._confirm_number("compliance", ":SENSE:CURRENT:PROTECTION?", compliance, "A")
        held = self._read_number("overvoltage protection", ":SOUR:VOLT:PROT?")
        if held < limit_v:
            raise self._failure(
                f"overvoltage protection reads back as {held:g} V, below the voltage limit "
                f"{limit_v:g} V (this model's levels differ from the 2400's)"
            )

    def measure(self) -> tuple[float, float]:
        self._require_output_on("measure()", "OUTPUT?", _NO_READING_WHEN_OFF)
        reading = self._read_points(":READ?", 1)
        return float(reading[0, 0]), float(reading[0, 1])

    def sweep_voltage_list(self, voltages_v: Sequence[float]) -> np.ndarray:
        voltages = self._check_voltages(voltages_v)
        self._require_output_on("sweep_voltage_list()", "OUTPUT?", _NO_READING_WHEN_OFF)
        with self._withdrawing("level"):  # the sweep leaves the level at 0 V, not as confirmed
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

    def _set_output(self, on: bool) -> None:
        self.source_enabled = on

    def _set_level(self, voltage_v: float) -> None:
        self.source_voltage = voltage_v

    def _safe_steps(self) -> list[tuple[str, Callable[[], object]]]:
        """Abort, turn the output off (first, so the junction is unpowered as early as
        possible), then leave a fixed 0 V voltage source for whatever comes next."""
        return [
            ("abort", lambda: self.write(":ABORT")),
            ("output off", lambda: setattr(self, "source_enabled", False)),
            ("source voltage", lambda: setattr(self, "source_mode", "voltage")),
            ("fixed mode", lambda: self.write(":SOURCE:VOLTAGE:MODE FIXED")),
            ("level 0 V", lambda: setattr(self, "source_voltage", 0.0)),
        ]

    def output_trigger_on_external(self, line: int = 1, after: str = "DEL") -> None:
        """pymeasure's deprecated method, with ``after`` and ``line`` checked before they are
        spliced into the command."""
        check_choice("after", after, ("SOUR", "DEL", "SENS", "NONE"))
        check_scalar(line, "line", low=1, high=4, unit="(trigger link line)")
        super().output_trigger_on_external(int(line), after)

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
