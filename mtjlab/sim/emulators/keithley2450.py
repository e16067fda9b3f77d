"""An emulated Keithley 2450 SourceMeter in its native SCPI command set: sourcing voltage into
the bench circuit, reading the current out of its HI terminal, reading buffers and list sweeps.

Command facts are from the Model 2450 Reference Manual (2450-901-01), section 6 (SCPI command
reference) and appendix B (common commands):

- ``*LANG?`` answers the command set the instrument obeys (``SCPI``, ``TSP`` or ``SCPI2400``);
  an emulator made with another ``language`` answers only the common commands and refuses every
  other header (-113), as the instrument does not understand native SCPI then;
- ``:SOURce[1]:<function>:PROTection[:LEVel]``: PROT2 ... PROT180 or NONE; the output never
  exceeds the level (a level beyond it is clamped, and ``:TRIPped?`` answers 1);
- ``:OUTPut[1]:<function>:SMODe``: the output-off state, kept per source function; NORMal and
  HIMPedance leave the terminal floating in the circuit (relatively high impedance, or the relay
  open), ZERO holds it at 0 V, GUARd sources 0 A (floating);
- ``:SOURce[1]:LIST:<function>``: up to 100 values, -210 V to 210 V (-1.05 A to 1.05 A);
  ``:SOURce[1]:SWEep:<function>:LIST <start>, <delay>, <count>, <failAbort>[, "<buffer>"]`` sets
  up the sweep that ``:INITiate`` runs: each list value from ``start``, measured, stored in the
  buffer, ``count`` times; with failAbort ON "the sweep is stopped immediately if a limit is
  exceeded", so the point in limit is not stored and the sweep ends there. Afterwards the source
  returns to its programmed level;
- ``:READ? ["<buffer>"[, <elements>]]`` and ``:MEASure:CURRent?`` make a reading, store it in the
  buffer (defbuffer1 unless named) and answer the elements asked for (READing by default);
  ``:TRACe:DATA? <start>, <end>[, "<buffer>"[, <elements>]]``, ``:TRACe:ACTual? ["<buffer>"]``,
  ``:TRACe:CLEar ["<buffer>"]`` read, count and clear it. The 2450 measures with the output off
  too: the reading is then what flows with the output-off state;
- a reading in limit reads the limit value (the source is clamped at it);
- ``:SYSTem:ERRor[:NEXT]?`` answers ``<code>,"<message>;<type>;<date time>"``, ``0,"No
  error;0;0 0"`` when empty; -113 Undefined header, -104 Data type error, -109 Missing
  parameter, -141 Invalid character data, -221 Settings conflict, -222 Parameter data out of
  range;
- ``:SYSTem:ERRor:COUNt?`` and ``:SYSTem:ERRor:CODE[:NEXT]?`` count the entries and read the
  oldest one's code. Not confirmed from the manual's own page (not at hand): lab scripts for
  the 2450 family send the count query; the 2400's manual has both.

Not emulated: sourcing current (output on with the current source selected: -221), measuring
voltage or resistance, ranges limiting anything, user buffers, the TSP command set.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from mtjlab.sim.emulators._scpi import (
    DATA_OUT_OF_RANGE,
    DATA_TYPE_ERROR,
    MISSING_PARAMETER,
    PARAMETER_NOT_ALLOWED,
    SETTINGS_CONFLICT,
    UNDEFINED_HEADER,
    ScpiError,
    number,
)
from mtjlab.sim.emulators._source_meter import (
    Handler,
    ScpiSourceMeter,
    choice,
    on_off,
    quoted,
    setting_reply,
)
from mtjlab.sim.emulators.base import VirtualClock
from mtjlab.sim.emulators.circuit import BenchCircuit

MAX_VOLTAGE_V = 210.0
MAX_CURRENT_A = 1.05
#: Overvoltage-protection settings and the voltage (V) each lets through.
PROTECTION_LEVELS_V = {
    **{f"PROT{v}": float(v) for v in (2, 5, 10, 20, 40, 60, 80, 100, 120, 140, 160, 180)},
    "NONE": MAX_VOLTAGE_V,
}
_BUFFERS = ("defbuffer1", "defbuffer2")
_BUFFER_ELEMENTS = ("READing", "SOURce", "RELative")


def _split(args: str) -> list[str]:
    return [a.strip() for a in args.split(",")] if args.strip() else []


class Keithley2450Emulator(ScpiSourceMeter):
    """A Keithley 2450 on the bench circuit.

    Parameters
    ----------
    circuit : BenchCircuit
        The circuit its HI terminal drives.
    terminals : dict
        ``{"smu": terminal}``; without it the instrument drives nothing and reads 0 A.
    name : str
        The name in errors and transcripts.
    line_frequency_hz : float
        Power-line frequency: one NPLC lasts ``1 / line_frequency_hz``.
    clock : VirtualClock or None
        Bench time; the circuit's clock if None.
    language : str
        What ``*LANG?`` answers: the command set a last user left selected.
    """

    idn = "KEITHLEY INSTRUMENTS,MODEL 2450,04000001,1.7.3b"
    max_voltage_v = MAX_VOLTAGE_V
    max_current_a = MAX_CURRENT_A
    messages = {-222: "Parameter data out of range"}

    def __init__(
        self,
        circuit: BenchCircuit,
        terminals: dict[str, str],
        *,
        name: str = "emulated Keithley 2450",
        line_frequency_hz: float = 50.0,
        clock: VirtualClock | None = None,
        language: str = "SCPI",
    ) -> None:
        self.language = language
        super().__init__(
            circuit, terminals, name=name, line_frequency_hz=line_frequency_hz, clock=clock
        )

    def _take_arguments(self, name: str) -> None:
        if self.language not in ("SCPI", "TSP", "SCPI2400"):
            raise ValueError(f"{name}: language={self.language!r}; allowed: SCPI, TSP, SCPI2400")

    def reset(self) -> None:
        """The *RST state (manual, section 6 defaults)."""
        self.output_on = False
        self.source_function = "VOLT"
        self.level_v = 0.0
        self.level_a = 0.0
        self.current_limit_a = 105e-6
        self.voltage_limit_v = 21.0
        self.protection = {"VOLT": "NONE", "CURR": "NONE"}
        self.off_mode = {"VOLT": "NORM", "CURR": "NORM"}
        self.source_range_auto = {"VOLT": True, "CURR": True}
        self.sense_function = "CURR:DC"
        self.nplc = {"CURR": 1.0, "VOLT": 1.0}
        self.remote_sense = {"CURR": False, "VOLT": False}
        self.current_range_auto = True
        self.current_range_a = 105e-6
        self.voltage_list_v: list[float] = []
        self.sweep: tuple[int, int, bool, str] | None = None
        self.sweep_delay_s = 0.0
        #: each buffer's readings as (reading, source value, time s)
        self.buffers: dict[str, list[tuple[float, float, float]]] = {b: [] for b in _BUFFERS}
        self._drive()

    # -- the wire --------------------------------------------------------------------------------

    def _find(self, head: str) -> Handler | None:
        return super()._find(head) if self.language == "SCPI" else None

    def _common_extras(self) -> dict[tuple[str, bool], Callable[[], str | None]]:
        """The common commands (manual, appendix B) beyond IEEE 488.2's."""
        return {**super()._common_extras(), ("*LANG", True): lambda: self.language}

    def _entries(self) -> list[tuple[str, Handler]]:
        return [
            ("[:SOURce#]:FUNCtion[:MODE]", self._source_function),
            ("[:SOURce#]:VOLTage[:LEVel][:IMMediate][:AMPLitude]", self._voltage_level),
            ("[:SOURce#]:CURRent[:LEVel][:IMMediate][:AMPLitude]", self._current_level),
            ("[:SOURce#]:VOLTage:ILIMit[:LEVel]", self._current_limit),
            ("[:SOURce#]:CURRent:VLIMit[:LEVel]", self._voltage_limit),
            ("[:SOURce#]:VOLTage:PROTection[:LEVel]:TRIPped", self._protection_tripped),
            ("[:SOURce#]:VOLTage:PROTection[:LEVel]", self._protection("VOLT")),
            ("[:SOURce#]:CURRent:PROTection[:LEVel]", self._protection("CURR")),
            ("[:SOURce#]:VOLTage:RANGe:AUTO", self._flag("source_range_auto", "VOLT")),
            ("[:SOURce#]:CURRent:RANGe:AUTO", self._flag("source_range_auto", "CURR")),
            ("[:SOURce#]:LIST:VOLTage", self._voltage_list),
            ("[:SOURce#]:LIST:VOLTage:APPend", self._voltage_list_append),
            ("[:SOURce#]:SWEep:VOLTage:LIST", self._sweep_list),
            (":OUTPut#[:STATe]", self._output),
            (":OUTPut#:VOLTage:SMODe", self._off_mode(("VOLT",))),
            (":OUTPut#:CURRent:SMODe", self._off_mode(("CURR",))),
            (":OUTPut#:SMODe", self._off_mode(("VOLT", "CURR"))),
            ("[:SENSe#]:FUNCtion[:ON]", self._sense_function),
            ("[:SENSe#]:CURRent[:DC]:RSENse", self._flag("remote_sense", "CURR")),
            ("[:SENSe#]:VOLTage[:DC]:RSENse", self._flag("remote_sense", "VOLT")),
            ("[:SENSe#]:CURRent[:DC]:RANGe:AUTO", self._flag("current_range_auto")),
            ("[:SENSe#]:CURRent[:DC]:RANGe[:UPPer]", self._current_range),
            ("[:SENSe#]:CURRent[:DC]:NPLCycles", self._nplc("CURR")),
            ("[:SENSe#]:VOLTage[:DC]:NPLCycles", self._nplc("VOLT")),
            (":SYSTem:ERRor[:NEXT]", self._next_error),
            (":SYSTem:ERRor:COUNt", self._error_count),
            (":SYSTem:ERRor:CODE[:NEXT]", self._next_error_code),
            (":SYSTem:CLEar", self._system_clear),
            (":ABORt", self._abort),
            (":INITiate[:IMMediate]", self._initiate),
            (":READ", self._read),
            (":MEASure[:CURRent][:DC]", self._read),
            (":TRACe:CLEar", self._trace_clear),
            (":TRACe:ACTual", self._trace_actual),
            (":TRACe:DATA", self._trace_data),
        ]

    # -- handlers --------------------------------------------------------------------------------

    def _source_function(self, args: str, query: bool) -> str | None:
        if query:
            return self.source_function
        self.source_function = choice(args, ("VOLTage", "CURRent"))
        if self.output_on and self.source_function != "VOLT":
            self.output_on = False  # sourcing current: not emulated
            raise ScpiError(*SETTINGS_CONFLICT)
        self._drive()
        return None

    def _current_level(self, args: str, query: bool) -> str | None:
        if query:
            return setting_reply(self.level_a)
        self.level_a = number(args, -MAX_CURRENT_A, MAX_CURRENT_A, default=0.0)
        return None

    def _current_limit(self, args: str, query: bool) -> str | None:
        if query:
            return setting_reply(self.current_limit_a)
        self.current_limit_a = number(args, 1e-9, MAX_CURRENT_A, default=105e-6)
        return None

    def _voltage_limit(self, args: str, query: bool) -> str | None:
        if query:
            return setting_reply(self.voltage_limit_v)
        self.voltage_limit_v = number(args, 0.02, MAX_VOLTAGE_V, default=21.0)
        return None

    def _protection(self, function: str) -> Handler:
        def handler(args: str, query: bool) -> str | None:
            if query:
                return self.protection[function]
            self.protection[function] = choice(args, tuple(PROTECTION_LEVELS_V))
            self._drive()
            return None

        return handler

    def _protection_tripped(self, args: str, query: bool) -> str | None:
        if not query:
            raise ScpiError(*UNDEFINED_HEADER)
        return "1" if abs(self.level_v) > self._protection_v() else "0"

    def _voltage_list_append(self, args: str, query: bool) -> str | None:
        if query:
            raise ScpiError(*UNDEFINED_HEADER)
        values = [number(a, -MAX_VOLTAGE_V, MAX_VOLTAGE_V) for a in _split(args)]
        if len(self.voltage_list_v) + len(values) > self.max_list_points:
            raise ScpiError(*DATA_OUT_OF_RANGE)
        self.voltage_list_v += values
        return None

    def _sweep_list(self, args: str, query: bool) -> str | None:
        """<start>[, <delay>[, <count>[, <failAbort>[, "<buffer>"]]]]"""
        if query:
            raise ScpiError(*UNDEFINED_HEADER)
        parts = _split(args)
        if not parts:
            raise ScpiError(*MISSING_PARAMETER)
        if len(parts) > 5:
            raise ScpiError(*PARAMETER_NOT_ALLOWED)
        if not self.voltage_list_v:
            raise ScpiError(*SETTINGS_CONFLICT)  # no list to sweep
        start = number(parts[0], 1, len(self.voltage_list_v))
        delay = number(parts[1], 0.0, 10_000.0) if len(parts) > 1 else 0.0
        count = number(parts[2], 1, 268_435_455) if len(parts) > 2 else 1
        fail_abort = on_off(parts[3]) if len(parts) > 3 else False
        buffer = self._buffer_name(parts[4]) if len(parts) > 4 else "defbuffer1"
        if start != int(start) or count != int(count):
            raise ScpiError(*DATA_TYPE_ERROR)
        self.sweep = (int(start), int(count), fail_abort, buffer)
        self.sweep_delay_s = delay
        return None

    def _off_mode(self, functions: tuple[str, ...]) -> Handler:
        def handler(args: str, query: bool) -> str | None:
            if query:
                return self.off_mode[functions[0]]
            mode = choice(args, ("NORMal", "HIMPedance", "ZERO", "GUARd"))
            for function in functions:
                self.off_mode[function] = mode
            self._drive()
            return None

        return handler

    def _sense_function(self, args: str, query: bool) -> str | None:
        if query:
            return f'"{self.sense_function}"'
        name = quoted(args).split(":")[0]
        function = choice(name, ("CURRent", "VOLTage", "RESistance"))
        self.sense_function = {"CURR": "CURR:DC", "VOLT": "VOLT:DC", "RES": "RES"}[function]
        return None

    def _nplc(self, function: str) -> Handler:
        def handler(args: str, query: bool) -> str | None:
            if query:
                return setting_reply(self.nplc[function])
            self.nplc[function] = number(args, 0.01, 10.0, default=1.0)
            return None

        return handler

    def _next_error(self, args: str, query: bool) -> str | None:
        if not query:
            raise ScpiError(*UNDEFINED_HEADER)
        if not self.error_queue:
            return '0,"No error;0;0 0"'
        code, message = self.error_queue.popleft()
        seconds = self.clock.now_s
        stamp = f"2024/01/01 {int(seconds // 3600) % 24:02d}:{int(seconds // 60) % 60:02d}:"
        stamp += f"{seconds % 60:06.3f}"
        return f'{code},"{message};1;{stamp}"'

    def _system_clear(self, args: str, query: bool) -> str | None:
        self.error_queue.clear()
        return None

    def _initiate(self, args: str, query: bool) -> str | None:
        if self.sweep is None:
            self._store("defbuffer1", *self._reading(self.level_v))
            return None
        start, count, fail_abort, buffer = self.sweep
        on_before = self.output_on
        self.output_on = True  # the sweep's trigger model turns the output on
        try:
            for _ in range(count):
                for level in self.voltage_list_v[start - 1 :]:
                    self._drive(level)
                    reading, in_limit = self._reading(level)
                    if in_limit and fail_abort:
                        return None
                    self._store(buffer, reading, level)
        finally:
            self.output_on = on_before
            self._drive()
        return None

    def _read(self, args: str, query: bool) -> str | None:
        if not query:
            raise ScpiError(*UNDEFINED_HEADER)
        parts = _split(args)
        buffer = self._buffer_name(parts[0]) if parts else "defbuffer1"
        elements = [choice(e, _BUFFER_ELEMENTS) for e in parts[1:]] or ["READ"]
        reading, _ = self._reading(self.level_v)
        self._store(buffer, reading, self.level_v)
        return self._format(self.buffers[buffer][-1:], elements)

    def _trace_clear(self, args: str, query: bool) -> str | None:
        buffer = self._buffer_name(args) if args.strip() else "defbuffer1"
        self.buffers[buffer].clear()
        return None

    def _trace_actual(self, args: str, query: bool) -> str | None:
        if not query:
            raise ScpiError(*UNDEFINED_HEADER)
        buffer = self._buffer_name(args) if args.strip() else "defbuffer1"
        return f"{len(self.buffers[buffer])}"

    def _trace_data(self, args: str, query: bool) -> str | None:
        if not query:
            raise ScpiError(*UNDEFINED_HEADER)
        parts = _split(args)
        if len(parts) < 2:
            raise ScpiError(*MISSING_PARAMETER)
        buffer = self._buffer_name(parts[2]) if len(parts) > 2 else "defbuffer1"
        stored = self.buffers[buffer]
        start = number(parts[0], 1, max(len(stored), 1))
        end = number(parts[1], start, max(len(stored), 1))
        if not stored:
            raise ScpiError(*DATA_OUT_OF_RANGE)  # an empty buffer has no index 1
        elements = [choice(e, _BUFFER_ELEMENTS) for e in parts[3:]] or ["READ"]
        return self._format(stored[int(start) - 1 : int(end)], elements)

    # -- buffers and the circuit -----------------------------------------------------------------

    def _buffer_name(self, text: str) -> str:
        name = quoted(text)
        if name not in self.buffers:
            raise ScpiError(*DATA_OUT_OF_RANGE)  # user buffers: not emulated
        return name

    def _store(self, buffer: str, reading: float, source: float) -> None:
        self.buffers[buffer].append((reading, self._applied_level(source), self.clock.now_s))

    def _format(self, rows: list[tuple[float, float, float]], elements: list[str]) -> str:
        column = {"READ": 0, "SOUR": 1, "REL": 2}
        first = rows[0][2] if rows else 0.0
        values = []
        for row in rows:
            for element in elements:
                value = row[column[element]]
                values.append(value - first if element == "REL" else value)
        return ",".join(setting_reply(v) for v in values)

    def _protection_v(self) -> float:
        return PROTECTION_LEVELS_V[self.protection["VOLT"]]

    def _output_off_state(self) -> str:
        return self.off_mode[self.source_function]

    def _reading(self, level_v: float) -> tuple[float, bool]:
        """One current reading: (A, whether the source was in limit). The clock advances by the
        integration time."""
        current = self._measure_current_a(self.nplc["CURR"])
        if self.output_on and abs(current) >= self.current_limit_a:
            return math.copysign(self.current_limit_a, current), True
        return current, False
