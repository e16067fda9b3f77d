"""An emulated Keithley 2400-family SourceMeter: its SCPI command set, sourcing voltage into the
bench circuit and reading the current out of its HI terminal.

Command facts are from the 2400 Series SourceMeter User's Manual (2400S-900-01): section 17
(:CONFigure, :READ?, :MEASure?), section 18 (SCPI command reference), appendix B (error list):

- ``:OUTPut[1][:STATe]``: "Measurements cannot be made while the source is off": ``:READ?`` with
  the output off (and auto output-off disabled) gives no reading; the emulator queues +803 "Not
  permitted with OUTPUT off" and sends nothing back, so the reader times out as on a bench;
- ``:SOURce[1]:CLEar:AUTO``: with auto output-off enabled, ``:READ?`` turns the output on for
  each source-measure cycle and off after it; ``:MEASure?`` turns the output on and leaves it on
  unless auto output-off is enabled (it is ``:CONFigure`` then ``:READ?``);
- ``:OUTPut[1]:SMODe``: HIMPedance opens the output relay, NORMal is 0 V through a compliance of
  0.5 % of the current range (a relatively high impedance), ZERO is 0 V at the full compliance,
  GUARd a 0 A current source. Into the circuit, ZERO holds the terminal at 0 V and the others
  leave it floating;
- ``:SOURce[1]:VOLTage:PROTection``: a value between two levels selects the lower, one below the
  lowest selects the lowest, one above the highest selects NONE (the model's maximum); the output
  never exceeds the level;
- the data elements of a reading are VOLTage, CURRent, RESistance, TIME and STATus, in that
  order, the ones ``:FORMat:ELEMents`` did not select left out; an element neither sourced nor
  measured is NAN, +9.91e37. In compliance the current reads the compliance value and status
  bit 3 (Compliance) is set; bit 2 (front terminals), 12 (I-Meas), 14 (V-Sour), 4 (OVP);
- list sweeps: ``:SOURce[1]:VOLTage:MODE LIST`` with ``:SOURce[1]:LIST:VOLTage`` (1 to 100
  points) sources one list point per trigger, ``:TRIGger:COUNt`` times, restarting the list
  if the count exceeds it; afterwards the source returns to the fixed level;
- the integration time is NPLC / line frequency, one setting shared by every function;
- errors: -113 Undefined header, -104 Data type error, -109 Missing parameter, -141 Invalid
  character data, -221 Settings conflict, -222 Data out of range, +803 Not permitted with
  OUTPUT off; the empty queue answers ``0,"No error"``;
- the error queue (section 18, SYSTem subsystem): ``:SYSTem:ERRor[:NEXT]?``, ``:ALL?``,
  ``:COUNt?``, ``:CODE[:NEXT]?``, ``:CODE:ALL?`` and ``:SYSTem:CLEar``, ``:STATus:QUEue?``
  the same as ``:SYSTem:ERRor?``; it holds up to 10 messages.

Not emulated: sourcing current (turning the output on with the current source selected is
refused with -221; the settings are kept), ranges (kept and read back, never limiting),
measuring voltage or resistance (those elements read NAN), the trace buffer, limit tests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mtjlab.sim.emulators._scpi import (
    DATA_OUT_OF_RANGE,
    DATA_STALE,
    DATA_TYPE_ERROR,
    SETTINGS_CONFLICT,
    UNDEFINED_HEADER,
    ScpiError,
    number,
    short_form,
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

#: What a reading shows for an element neither sourced nor measured (manual: NAN).
NAN_READING = 9.91e37


@dataclass(frozen=True)
class Model2400:
    """One 2400-family model: its largest voltage and current, and its overvoltage-protection
    levels (V, ascending; above the last means NONE)."""

    max_voltage_v: float
    max_current_a: float
    protection_levels_v: tuple[float, ...]


#: 2400 Series User's Manual, section 18 ":SOURce[1]:VOLTage:PROTection" and the ranges.
MODELS: dict[str, Model2400] = {
    "2400": Model2400(210.0, 1.05, (20.0, 40.0, 60.0, 80.0, 100.0, 120.0, 160.0)),
    "2401": Model2400(21.0, 1.05, (20.0,)),
    "2420": Model2400(63.0, 3.15, (6.0, 12.0, 18.0, 24.0, 30.0, 36.0, 48.0)),
    "2440": Model2400(42.0, 5.25, (4.0, 8.0, 12.0, 16.0, 20.0, 24.0, 32.0)),
}

_ELEMENTS = ("VOLTage", "CURRent", "RESistance", "TIME", "STATus")
_STATUS_FRONT, _STATUS_COMPLIANCE, _STATUS_OVP = 1 << 2, 1 << 3, 1 << 4
_STATUS_I_MEAS, _STATUS_V_SOUR = 1 << 12, 1 << 14


def _reading(value: float) -> str:
    return f"{value:+.6E}"


class Keithley2400Emulator(ScpiSourceMeter):
    """A 2400-family SourceMeter (``model``: one of :data:`MODELS`) on the bench circuit.

    Parameters
    ----------
    circuit : BenchCircuit
        The circuit its HI terminal drives.
    terminals : dict
        ``{"smu": terminal}``, the circuit terminal of its HI; without it the instrument drives
        nothing and reads 0 A.
    name : str
        The name in errors and transcripts.
    line_frequency_hz : float
        Power-line frequency: one NPLC lasts ``1 / line_frequency_hz``.
    clock : VirtualClock or None
        Bench time; the circuit's clock if None.
    model : str
        Which model of the family (limits and overvoltage-protection levels).
    """

    #: Manual, section 18 ":SYSTem:ERRor[:NEXT]?": the error queue holds up to 10 messages.
    error_capacity = 10

    def __init__(
        self,
        circuit: BenchCircuit,
        terminals: dict[str, str],
        *,
        name: str = "emulated Keithley 2400",
        line_frequency_hz: float = 50.0,
        clock: VirtualClock | None = None,
        model: str = "2400",
    ) -> None:
        self.model_name = model
        super().__init__(
            circuit, terminals, name=name, line_frequency_hz=line_frequency_hz, clock=clock
        )

    def _take_arguments(self, name: str) -> None:
        if self.model_name not in MODELS:
            raise ValueError(f"{name}: model {self.model_name!r} is not one of {', '.join(MODELS)}")
        self.model = MODELS[self.model_name]
        self.max_voltage_v = self.model.max_voltage_v
        self.max_current_a = self.model.max_current_a
        self.idn = (
            f"KEITHLEY INSTRUMENTS INC.,MODEL {self.model_name},"
            "4000001,C33 Mar 31 2015 09:32:39/A02  /S/K"
        )

    # -- state -----------------------------------------------------------------------------------

    def reset(self) -> None:
        """The *RST state (manual, section 18 tables' defaults)."""
        self.output_on = False
        self.source_function = "VOLT"
        self.voltage_mode = "FIX"
        self.level_v = 0.0
        self.source_current_a = 0.0
        self.voltage_list_v: list[float] = [0.0]
        self.source_voltage_range_auto = True
        self.source_voltage_range_v = 21.0
        self.source_current_range_auto = True
        self.protection_v = self.model.max_voltage_v
        self.compliance_a = 105e-6
        self.compliance_v = 21.0
        self.current_range_auto = True
        self.current_range_a = 105e-6
        self.voltage_range_auto = True
        self.nplc = 1.0
        self.sense_functions = {"CURR"}
        self.remote_sense = False
        self.output_off_mode = "NORM"
        self.auto_output_off = False
        self.arm_count = 1
        self.trigger_count = 1
        self.elements = list(_ELEMENTS)
        self.auto_zero = True
        self.front_terminals = True
        self.source_delay_s = 0.0
        self.source_delay_auto = True
        self.display_enabled = True
        self.last_readings: list[float] = []
        self._drive()

    # -- the wire --------------------------------------------------------------------------------

    def _entries(self) -> list[tuple[str, Handler]]:
        return [
            (":FORMat:ELEMents[:SENSe#]", self._elements),
            (":FORMat[:DATA]", self._format_data),
            ("[:SOURce#]:FUNCtion[:MODE]", self._source_function),
            ("[:SOURce#]:VOLTage:MODE", self._voltage_mode),
            ("[:SOURce#]:VOLTage:RANGe:AUTO", self._flag("source_voltage_range_auto")),
            ("[:SOURce#]:VOLTage:RANGe[:UPPer]", self._source_voltage_range),
            ("[:SOURce#]:VOLTage:PROTection[:LEVel]", self._protection),
            ("[:SOURce#]:VOLTage[:LEVel][:IMMediate][:AMPLitude]", self._voltage_level),
            ("[:SOURce#]:LIST:VOLTage", self._voltage_list),
            ("[:SOURce#]:LIST:VOLTage:POINts", self._list_points),
            ("[:SOURce#]:CURRent:RANGe:AUTO", self._flag("source_current_range_auto")),
            ("[:SOURce#]:CURRent[:LEVel][:IMMediate][:AMPLitude]", self._current_level),
            ("[:SOURce#]:CLEar:AUTO", self._flag("auto_output_off")),
            ("[:SOURce#]:CLEar[:IMMediate]", self._clear),
            ("[:SOURce#]:DELay", self._source_delay),
            ("[:SOURce#]:DELay:AUTO", self._flag("source_delay_auto")),
            (":SENSe#:FUNCtion[:ON]", self._sense_function),
            (":SENSe#:CURRent[:DC]:PROTection[:LEVel]", self._compliance),
            (":SENSe#:CURRent[:DC]:RANGe:AUTO", self._flag("current_range_auto")),
            (":SENSe#:CURRent[:DC]:RANGe[:UPPer]", self._current_range),
            (":SENSe#:CURRent[:DC]:NPLCycles", self._nplc),
            (":SENSe#:VOLTage[:DC]:PROTection[:LEVel]", self._voltage_compliance),
            (":SENSe#:VOLTage[:DC]:RANGe:AUTO", self._flag("voltage_range_auto")),
            (":SENSe#:VOLTage[:DC]:NPLCycles", self._nplc),
            (":SENSe#:RESistance:NPLCycles", self._nplc),
            (":SYSTem:RSENse", self._flag("remote_sense")),
            (":SYSTem:ERRor[:NEXT]", self._next_error),
            (":SYSTem:ERRor:ALL", self._all_errors),
            (":SYSTem:ERRor:COUNt", self._error_count),
            (":SYSTem:ERRor:CODE[:NEXT]", self._next_error_code),
            (":SYSTem:ERRor:CODE:ALL", self._all_error_codes),
            (":SYSTem:CLEar", self._system_clear),
            (":STATus:QUEue[:NEXT]", self._next_error),
            (":SYSTem:LFRequency", self._line_frequency),
            (":SYSTem:AZERo[:STATe]", self._auto_zero),
            (":OUTPut#[:STATe]", self._output),
            (":OUTPut#:SMODe", self._output_off_mode),
            (":ARM[:SEQuence#][:LAYer#]:COUNt", self._count("arm_count")),
            (":TRIGger[:SEQuence#]:COUNt", self._count("trigger_count")),
            (":ROUTe:TERMinals", self._terminals),
            (":DISPlay:ENABle", self._flag("display_enabled")),
            (":ABORt", self._abort),
            (":INITiate[:IMMediate]", self._initiate),
            (":FETCh", self._fetch),
            (":READ", self._read),
            (":CONFigure:CURRent[:DC]", self._configure),
            (":MEASure[:CURRent][:DC]", self._measure),
        ]

    # -- handlers --------------------------------------------------------------------------------

    def _count(self, attribute: str) -> Handler:
        def handler(args: str, query: bool) -> str | None:
            if query:
                return f"{getattr(self, attribute)}"
            count = number(args, 1, 2500, default=1)
            other = self.trigger_count if attribute == "arm_count" else self.arm_count
            if count != int(count):
                raise ScpiError(*DATA_TYPE_ERROR)
            if count * other > 2500:  # manual: arm count x trigger count at most 2500
                raise ScpiError(*SETTINGS_CONFLICT)
            setattr(self, attribute, int(count))
            return None

        return handler

    def _elements(self, args: str, query: bool) -> str | None:
        if query:
            return ",".join(short_form(e) for e in _ELEMENTS if e in self.elements)
        chosen = {choice(word, _ELEMENTS) for word in args.split(",")}
        self.elements = [e for e in _ELEMENTS if short_form(e) in chosen]
        return None

    def _format_data(self, args: str, query: bool) -> str | None:
        if query:
            return "ASC"
        if choice(args.split(",")[0], ("ASCii", "REAL", "SREal")) != "ASC":
            raise ScpiError(*SETTINGS_CONFLICT)  # only ASCII is emulated
        return None

    def _source_function(self, args: str, query: bool) -> str | None:
        if query:
            return self.source_function
        function = choice(args, ("VOLTage", "CURRent", "MEMory"))
        if function == "MEM":
            raise ScpiError(*SETTINGS_CONFLICT)  # source memory sweeps: not emulated
        self.source_function = function
        self._drive()
        return None

    def _voltage_mode(self, args: str, query: bool) -> str | None:
        if query:
            return self.voltage_mode
        mode = choice(args, ("FIXed", "LIST", "SWEep"))
        if mode == "SWE":
            raise ScpiError(*SETTINGS_CONFLICT)  # staircase sweeps: not emulated
        self.voltage_mode = mode
        return None

    def _source_voltage_range(self, args: str, query: bool) -> str | None:
        if query:
            return setting_reply(self.source_voltage_range_v)
        v = self.model.max_voltage_v
        self.source_voltage_range_v = abs(number(args, -v, v))
        self.source_voltage_range_auto = False
        return None

    def _protection(self, args: str, query: bool) -> str | None:
        if query:
            return setting_reply(self.protection_v)
        v = self.model.max_voltage_v
        wanted = abs(number(args, -v, v, default=v))
        levels = self.model.protection_levels_v
        if wanted > levels[-1]:
            self.protection_v = v  # NONE
        else:
            self.protection_v = max([lv for lv in levels if lv <= wanted], default=levels[0])
        self._drive()
        return None

    def _list_points(self, args: str, query: bool) -> str | None:
        if not query:
            raise ScpiError(*UNDEFINED_HEADER)
        return f"{len(self.voltage_list_v)}"

    def _current_level(self, args: str, query: bool) -> str | None:
        if query:
            return setting_reply(self.source_current_a)
        i = self.model.max_current_a
        self.source_current_a = number(args, -i, i, default=0.0)
        return None

    def _clear(self, args: str, query: bool) -> str | None:
        self.output_on = False
        self._drive()
        return None

    def _source_delay(self, args: str, query: bool) -> str | None:
        if query:
            return setting_reply(self.source_delay_s)
        self.source_delay_s = number(args, 0.0, 9999.998, default=0.0)
        self.source_delay_auto = False
        return None

    def _sense_function(self, args: str, query: bool) -> str | None:
        names = {"CURR": "CURR:DC", "VOLT": "VOLT:DC", "RES": "RES"}
        if query:
            return ",".join(f'"{names[f]}"' for f in sorted(self.sense_functions))
        chosen = set()
        for word in args.split(","):
            name = quoted(word).split(":")[0]
            chosen.add(choice(name, ("CURRent", "VOLTage", "RESistance")))
        self.sense_functions |= chosen  # manual: FUNCtion[:ON] adds to the functions measured
        return None

    def _compliance(self, args: str, query: bool) -> str | None:
        if query:
            return setting_reply(self.compliance_a)
        i = self.model.max_current_a
        self.compliance_a = abs(number(args, -i, i, default=105e-6))
        return None

    def _voltage_compliance(self, args: str, query: bool) -> str | None:
        if query:
            return setting_reply(self.compliance_v)
        v = self.model.max_voltage_v
        self.compliance_v = abs(number(args, -v, v, default=21.0))
        return None

    def _nplc(self, args: str, query: bool) -> str | None:
        if query:
            return setting_reply(self.nplc)
        self.nplc = number(args, 0.01, 10.0, default=1.0)
        return None

    def _next_error(self, args: str, query: bool) -> str | None:
        if not query:
            raise ScpiError(*UNDEFINED_HEADER)
        if not self.error_queue:
            return '0,"No error"'
        code, message = self.error_queue.popleft()
        return f'{self._code_text(code)},"{message}"'

    def _code_text(self, code: int) -> str:
        return f"{code:+d}" if code > 0 else f"{code}"

    def _all_errors(self, args: str, query: bool) -> str | None:
        """``:SYSTem:ERRor:ALL?``: every entry, oldest first, and the queue emptied."""
        if not query:
            raise ScpiError(*UNDEFINED_HEADER)
        entries = [f'{self._code_text(c)},"{m}"' for c, m in self.error_queue]
        self.error_queue.clear()
        return ",".join(entries) or '0,"No error"'

    def _all_error_codes(self, args: str, query: bool) -> str | None:
        """``:SYSTem:ERRor:CODE:ALL?``: every entry's code, and the queue emptied."""
        if not query:
            raise ScpiError(*UNDEFINED_HEADER)
        codes = [self._code_text(c) for c, _ in self.error_queue]
        self.error_queue.clear()
        return ",".join(codes) or "0"

    def _system_clear(self, args: str, query: bool) -> str | None:
        if query:
            raise ScpiError(*UNDEFINED_HEADER)
        self.error_queue.clear()
        return None

    def _line_frequency(self, args: str, query: bool) -> str | None:
        if query:
            return f"{self.line_frequency_hz:g}"
        hz = number(args, 50, 60)
        if hz not in (50, 60):
            raise ScpiError(*DATA_OUT_OF_RANGE)
        self.line_frequency_hz = hz
        return None

    def _auto_zero(self, args: str, query: bool) -> str | None:
        if query:
            return "1" if self.auto_zero else "0"
        if args.strip().upper() != "ONCE":
            self.auto_zero = on_off(args)
        return None

    def _output_off_mode(self, args: str, query: bool) -> str | None:
        if query:
            return self.output_off_mode
        self.output_off_mode = choice(args, ("HIMPedance", "NORMal", "ZERO", "GUARd"))
        self._drive()
        return None

    def _terminals(self, args: str, query: bool) -> str | None:
        if query:
            return "FRON" if self.front_terminals else "REAR"
        self.front_terminals = choice(args, ("FRONt", "REAR")) == "FRON"
        return None

    def _initiate(self, args: str, query: bool) -> str | None:
        self.last_readings = self._run_trigger_model()
        return None

    def _fetch(self, args: str, query: bool) -> str | None:
        if not self.last_readings:
            raise ScpiError(*DATA_STALE)
        return ",".join(_reading(v) for v in self.last_readings)

    def _read(self, args: str, query: bool) -> str | None:
        if not query:
            raise ScpiError(*UNDEFINED_HEADER)
        readings = self._run_trigger_model()
        if not readings:
            return None  # no reading: the reader times out, as on the instrument
        self.last_readings = readings
        return ",".join(_reading(v) for v in readings)

    def _configure(self, args: str, query: bool) -> str | None:
        """:CONFigure:CURRent: current only, one reading per :READ?, and the output on."""
        self.sense_functions = {"CURR"}
        self.arm_count = self.trigger_count = 1
        if self.source_function == "VOLT":
            self.output_on = True
            self._drive()
        return None

    def _measure(self, args: str, query: bool) -> str | None:
        if not query:
            raise ScpiError(*UNDEFINED_HEADER)
        self._configure("", False)
        return self._read("", True)

    # -- the circuit -----------------------------------------------------------------------------

    def _protection_v(self) -> float:
        return self.protection_v

    def _output_off_state(self) -> str:
        return self.output_off_mode

    def _run_trigger_model(self) -> list[float]:
        """Arm count x trigger count source-measure cycles; the data elements of each, in order.
        None at all if the output is off and auto output-off does not turn it on."""
        if not self.output_on and not (self.auto_output_off and self.source_function == "VOLT"):
            self.push_error(803, "Not permitted with OUTPUT off")
            return []
        points = self.arm_count * self.trigger_count
        listed = self.voltage_mode == "LIST"
        values: list[float] = []
        for k in range(points):
            level = self.voltage_list_v[k % len(self.voltage_list_v)] if listed else self.level_v
            self.output_on = True
            self._drive(level)
            values.extend(self._cycle(level))
            if self.auto_output_off:
                self.output_on = False
                self._drive()
        self._drive()  # back to the fixed level (or off)
        return values

    def _cycle(self, level_v: float) -> list[float]:
        """One source-measure cycle at ``level_v``: its data elements."""
        current = self._measure_current_a(self.nplc)
        status = _STATUS_V_SOUR | _STATUS_I_MEAS | (_STATUS_FRONT if self.front_terminals else 0)
        if abs(current) >= self.compliance_a:
            current = math.copysign(self.compliance_a, current)
            status |= _STATUS_COMPLIANCE
        if abs(level_v) > self.protection_v:
            status |= _STATUS_OVP
        elements = {
            "VOLTage": self._applied_level(level_v),
            "CURRent": current,
            "RESistance": NAN_READING,
            "TIME": self.clock.now_s,
            "STATus": float(status),
        }
        return [elements[e] for e in _ELEMENTS if e in self.elements]
