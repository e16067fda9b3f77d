"""Keithley 2450 SourceMeter, native SCPI command set, as a
:class:`~mtjlab.instruments.roles.SourceMeter`.

pymeasure's ``Keithley2450`` needs the instrument switched to the "SCPI 2400" command set for its
buffer and truncates out-of-range values instead of refusing them, so this driver declares its
own table in the 2450's native commands, with strict validators.

Command facts are from the Model 2450 Reference Manual (2450-901-01 Rev. B), sections 6 (SCPI
command reference) and appendix B (common commands):

- ``*LANG?`` answers ``SCPI``, ``TSP`` or ``SCPI2400``, the command set the instrument obeys
  (kept in nonvolatile memory, so the last user's choice stays); configuration refuses unless it
  is ``SCPI``;
- ``[:SENSe[1]]:CURRent:RSENse <b>``: 0 selects local (2-wire) sense for the current function;
- ``:OUTPut[1]:VOLTage:SMODe NORMal|HIMPedance|ZERO|GUARd``: the output-off state, kept per
  source function, so it is set after the source function. NORMal for the reason given in the
  2400 driver: 0 V through a current-limited source, where ZERO would keep the full current
  limit and could short a pulse another instrument drives into the junction, and HIMPedance
  would leave the junction floating and wear the relay;
- ``:SOURce[1]:VOLTage:PROTection[:LEVel]``: overvoltage protection, one of PROT2, PROT5,
  PROT10, PROT20, PROT40, PROT60, PROT80, PROT100, PROT120, PROT140, PROT160, PROT180 or NONE
  (the levels of ``smu.source.protect.level``, p. 8-141; the query answers the same word). It is
  stored with the source function, so it too is set after the source function;
- ``:SOURce[1]:SWEep:VOLTage:LIST <start>, <delay>, <count>, <failAbort>``: with failAbort ON
  the sweep stops at the first point that exceeds the current limit, leaving fewer readings in
  the buffer than points; ``:TRACe:ACTual? "defbuffer1"`` gives how many, so a compliance stop is
  reported as such instead of waiting on ``:TRACe:DATA?`` for readings that never come.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from pymeasure.instruments import Instrument, SCPIMixin
from pymeasure.instruments.validators import strict_discrete_set, strict_range

from ._errors import ScpiErrorQueue
from ._smu import ConfirmedSource

_BOOL = {True: 1, False: 0}
#: Overvoltage-protection settings and the voltage (V) each lets through; NONE lets all through.
PROTECTION_LEVELS_V = {
    **{f"PROT{v}": float(v) for v in (2, 5, 10, 20, 40, 60, 80, 100, 120, 140, 160, 180)},
    "NONE": math.inf,
}


def _unquote(reply):
    return reply.strip('"') if isinstance(reply, str) else reply


class Keithley2450(ScpiErrorQueue, ConfirmedSource, SCPIMixin, Instrument):
    """Keithley 2450 SourceMeter (±210 V, ±1.05 A), sourcing voltage, measuring current."""

    max_list_points = 100
    max_voltage_v = 210.0
    max_current_a = 1.05
    current_limit_range_a = (1e-9, max_current_a)
    nplc_range = (0.01, 10.0)
    level_query = ":SOUR:VOLT?"

    def __init__(self, adapter, name: str = "Keithley 2450 SourceMeter", **kwargs):
        super().__init__(adapter, name, **kwargs)
        self._compliance_a: float | None = None

    command_set = Instrument.measurement(
        "*LANG?",
        """Get the command set the instrument obeys ('SCPI', 'TSP' or 'SCPI2400').""",
        cast=str,
    )

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

    voltage_protection = Instrument.control(
        ":SOUR:VOLT:PROT?",
        ":SOUR:VOLT:PROT %s",
        """Control the overvoltage protection (strictly 'PROT2' ... 'PROT180' or 'NONE').""",
        validator=strict_discrete_set,
        values=tuple(PROTECTION_LEVELS_V),
        cast=str,
    )

    voltage_output_off_mode = Instrument.control(
        ":OUTP:VOLT:SMOD?",
        ":OUTP:VOLT:SMOD %s",
        """Control the output-off state of the voltage source ('NORM', 'ZERO', 'HIMP' or
        'GUAR').""",
        validator=strict_discrete_set,
        values=("NORM", "ZERO", "HIMP", "GUAR"),
        cast=str,
    )

    current_limit = Instrument.control(
        ":SOUR:VOLT:ILIM?",
        ":SOUR:VOLT:ILIM %g",
        """Control the current limit (compliance) while sourcing voltage, in A
        (strictly 1e-9 to 1.05).""",
        validator=strict_range,
        values=current_limit_range_a,
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

    current_remote_sense_enabled = Instrument.control(
        ":SENS:CURR:RSEN?",
        ":SENS:CURR:RSEN %d",
        """Control 4-wire (remote) sense for the current function (bool; False is 2-wire).""",
        validator=strict_discrete_set,
        values=_BOOL,
        map_values=True,
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
        values=nplc_range,
    )

    output_enabled = Instrument.control(
        ":OUTP?",
        ":OUTP %d",
        """Control whether the output is on (bool).""",
        validator=strict_discrete_set,
        values=_BOOL,
        map_values=True,
    )

    def _configure_voltage_source(self, compliance: float, nplc: float, limit_v: float) -> None:
        protection = next(name for name, v in PROTECTION_LEVELS_V.items() if v >= limit_v)
        language = str(self.command_set).strip()
        if language != "SCPI":
            raise self._failure(
                f"the instrument obeys the {language!r} command set and this driver speaks the "
                "2450's native SCPI; select it with *LANG SCPI (2450 Reference Manual, *LANG). "
                "Nothing else was sent."
            )
        self.output_enabled = False
        self.source_function = "voltage"
        self.voltage_protection = protection
        self.voltage_output_off_mode = "NORM"
        self.source_voltage_range_auto_enabled = True
        self.current_limit = compliance
        self.sense_function = "current"
        self.current_remote_sense_enabled = False
        self.current_range_auto_enabled = True
        self.current_nplc = nplc
        self.check_errors()
        self._confirm_text("source function", ":SOUR:FUNC?", "VOLT")
        self._confirm_number("current limit", ":SOUR:VOLT:ILIM?", compliance, "A")
        self._confirm_text("overvoltage protection", ":SOUR:VOLT:PROT?", protection)
        self._compliance_a = compliance

    def measure(self) -> tuple[float, float]:
        voltage, current = self._read_pairs(':READ? "defbuffer1",SOUR,READ', 1)[0]
        return float(voltage), float(current)

    def sweep_voltage_list(self, voltages_v: Sequence[float]) -> np.ndarray:
        voltages = self._check_voltages(voltages_v)
        n = len(voltages)
        # the sweep's trigger model drives the output itself: only where it is already on
        self._require_output_on("sweep_voltage_list()", ":OUTP?")
        # the sweep leaves the level at 0 V, not as confirmed
        with self._withdrawing("level"):
            try:
                self.write(':TRAC:CLE "defbuffer1"')
                self.write(":SOUR:LIST:VOLT " + ",".join(f"{v:g}" for v in voltages))
                # from index 1, no delay between points, one pass, stop at the current limit
                self.write(":SOUR:SWE:VOLT:LIST 1,0,1,ON")
                self.check_errors()
                self.write(":INIT")
                self.write("*WAI")
                stored = self._buffer_count()
                if stored < n:
                    limit = self._compliance_a
                    limit_text = f" of {limit:g} A" if limit is not None else ""
                    raise self._failure(
                        f"compliance: the current limit{limit_text} was reached by point "
                        f"{stored + 1} of {n} ({voltages[stored]:g} V), where the sweep stopped; "
                        f"{stored} reading(s) stored"
                    )
                if stored > n:
                    raise self._failure(
                        f"the buffer holds {stored} readings after a {n}-point sweep"
                    )
                pairs = self._read_pairs(f':TRAC:DATA? 1,{n},"defbuffer1",SOUR,READ', n)
            except BaseException:
                self.source_voltage = 0.0
                self.drain_errors()  # logged; the error raised says what went wrong
                raise
        self.source_voltage = 0.0
        self.check_errors()
        return pairs[:, 1]

    def _set_output(self, on: bool) -> None:
        self.output_enabled = on

    def _set_level(self, voltage_v: float) -> None:
        self.source_voltage = voltage_v

    def _safe_steps(self) -> list[tuple[str, Callable[[], object]]]:
        """Abort, turn the output off (first, so the junction is unpowered as early as
        possible), then leave a 0 V voltage source for whatever comes next."""
        return [
            ("abort", lambda: self.write(":ABOR")),
            ("output off", lambda: setattr(self, "output_enabled", False)),
            ("source voltage", lambda: setattr(self, "source_function", "voltage")),
            ("level 0 V", lambda: setattr(self, "source_voltage", 0.0)),
        ]

    def _buffer_count(self) -> int:
        reply = self.ask(':TRAC:ACT? "defbuffer1"').strip()
        try:
            return int(reply)
        except ValueError:
            raise self._failure(f"buffer count unreadable: {reply!r}") from None

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
