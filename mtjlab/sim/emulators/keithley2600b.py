"""An emulated Keithley 2600B System SourceMeter speaking TSP: the statements a driver sends one
per line (attribute assignments, function calls, ``print`` and ``printbuffer``), each channel
sourcing voltage into the bench circuit and reading the current out of its HI.

Facts from the Series 2600B Reference Manual (2600BS-901-01), TSP command reference and the
error summary:

- ``print(...)`` writes its values separated by tabs, numbers as ``%.5e`` (the default ASCII
  precision), strings as they are, ``nil`` for an undefined value; ``printbuffer(start, end,
  buffer.readings)`` writes the readings separated by ", ";
- ``errorqueue.next()`` gives code, message, severity and node; an empty queue gives code 0,
  "Queue Is Empty". A statement that does not parse is -285 (syntax error) and prevents its
  execution; indexing something that is not there is -286 (TSP runtime error);
- ``smuX.source.offmode``: OUTPUT_NORMAL (0) sources what ``offfunc`` selects, 0 V
  (OUTPUT_DCVOLTS) limited to ``offlimiti`` or 0 A (OUTPUT_DCAMPS); OUTPUT_ZERO (1) 0 V at the
  present limit; OUTPUT_HIGH_Z (2) opens the relay. So with the output off the terminal is held
  at 0 V in the first two, floating in the others, and a reading then is what flows;
- ``smuX.trigger``: ``source.listv({...})`` with ``source.action`` ENABLE sources one list value
  per trigger, ``measure.i(buffer)`` with ``measure.action`` ENABLE measures into the buffer,
  ``arm.count`` x ``count`` times from ``initiate()``; ``endsweep.action`` SOURCE_IDLE returns
  the source to its idle level (``source.levelv``) after the sweep;
- the per-model limits (``localnode.model``): levels up to 40 V on the 2601B/2602B/2604B and
  200 V on the others; current limits from 10 nA (100 pA on the 2634B/2635B/2636B) to 3 A (1.5 A
  on the 200 V models); channel b only on the two-channel models;
- NPLC 0.001 to 25; integration time NPLC / ``localnode.linefreq``.

The IEEE 488.2 common commands are taken on a line of their own (reference manual, "Common
commands"), with the status registers of :mod:`mtjlab.sim.emulators._status`;
``status.condition`` is the status byte (its B2 error available, B4 message available, B5
event summary, B6 master summary); ``localnode.serialno`` and ``localnode.revision`` answer
what ``*IDN?`` does. The statements a driver sends are executed directly (fast, and exactly as
before); any other statement runs in the Lua interpreter of the user scripts, which reaches the
same objects (``smua``, ``errorqueue``, ``localnode``, ``status``, ``reset``), so globals,
loops, arithmetic and functions behave as on the instrument.

A value beyond the model's range is refused with -222 "Parameter data out of range" (the code
the SCPI standard gives; the manual excerpts at hand do not name the 2600B's own) and the
setting keeps its value. User scripts (``loadscript`` ... ``endscript``) run in Lua with the
channels and the TSP-Link nodes given to :meth:`Keithley2600BEmulator.link` (``node[N]``), see
:mod:`mtjlab.sim.emulators._tsp_script`. Not emulated: sourcing current (output on with the
current source selected: a runtime error), measuring voltage (``measure.v()`` gives the sourced
level), resistance, digital I/O.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mtjlab.sim.emulators._scpi import ScpiError, split_parameters
from mtjlab.sim.emulators._source_meter import check_line_frequency, measure_current_a
from mtjlab.sim.emulators._tsp_script import ScriptError, ScriptRuntime, print_text
from mtjlab.sim.emulators.base import EmulatedInstrument, VirtualClock
from mtjlab.sim.emulators.circuit import BenchCircuit


@dataclass(frozen=True)
class Model2600B:
    """One 2600B model's limits."""

    max_voltage_v: float
    min_current_limit_a: float
    max_current_limit_a: float
    channels: str


MODELS: dict[str, Model2600B] = {
    "2601B": Model2600B(40.0, 10e-9, 3.0, "a"),
    "2602B": Model2600B(40.0, 10e-9, 3.0, "ab"),
    "2604B": Model2600B(40.0, 10e-9, 3.0, "ab"),
    "2611B": Model2600B(200.0, 10e-9, 1.5, "a"),
    "2612B": Model2600B(200.0, 10e-9, 1.5, "ab"),
    "2614B": Model2600B(200.0, 10e-9, 1.5, "ab"),
    "2634B": Model2600B(200.0, 100e-12, 1.5, "ab"),
    "2635B": Model2600B(200.0, 100e-12, 1.5, "a"),
    "2636B": Model2600B(200.0, 100e-12, 1.5, "ab"),
}

#: The smuX constants the drivers use, with their values.
CONSTANTS = {
    "OUTPUT_DCAMPS": 0,
    "OUTPUT_DCVOLTS": 1,
    "OUTPUT_OFF": 0,
    "OUTPUT_ON": 1,
    "OUTPUT_HIGH_Z": 2,
    "OUTPUT_NORMAL": 0,
    "OUTPUT_ZERO": 1,
    "SENSE_LOCAL": 0,
    "SENSE_REMOTE": 1,
    "DISABLE": 0,
    "ENABLE": 1,
    "SOURCE_IDLE": 0,
    "SOURCE_HOLD": 1,
    "AUTORANGE_OFF": 0,
    "AUTORANGE_ON": 1,
}

#: What ``localnode.serialno`` and ``localnode.revision`` (and ``*IDN?``) answer.
SERIAL = "4000001"
REVISION = "4.0.4"

#: The IEEE 488.2 common commands a TSP instrument takes on a line of their own (2600B
#: Reference Manual, "Common commands"); any other line starting with ``*`` is Lua.
COMMON_COMMANDS = frozenset(
    ("*CLS", "*ESE", "*ESE?", "*ESR?", "*IDN?", "*OPC", "*OPC?", "*RST", "*SRE", "*SRE?",
     "*STB?", "*TST?", "*WAI")
)  # fmt: skip
#: The instrument's own tables and functions besides the channels, as a script sees them.
_ROOTS = ("localnode", "errorqueue", "status")
_CALLS = ("reset", "waitcomplete")

_NAME = r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*"
_ASSIGNMENT = re.compile(rf"^\s*({_NAME})\s*=(?!=)\s*(.+?)\s*$")
_CALL = re.compile(rf"^\s*({_NAME})\s*\((.*)\)\s*$", re.DOTALL)
_NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")


class TspError(Exception):
    """A statement the instrument refuses: the (code, message) it queues."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message


def _syntax(detail: str) -> TspError:
    return TspError(-285, f"TSP Syntax error at line 1: {detail}")


def _runtime(detail: str) -> TspError:
    return TspError(-286, f"TSP Runtime error at line 1: {detail}")


def _split_arguments(text: str) -> list[str]:
    """Split at the commas outside brackets and quotes."""
    parts, depth, quote, start = [], 0, "", 0
    for i, c in enumerate(text):
        if quote:
            quote = "" if c == quote else quote
        elif c in "'\"":
            quote = c
        elif c in "({":
            depth += 1
        elif c in ")}":
            depth -= 1
            if depth < 0:
                raise _syntax(f"unexpected symbol near '{c}'")
        elif c == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    if depth or quote:
        raise _syntax("unfinished expression")
    last = text[start:].strip()
    if parts or last:
        parts.append(last)
    if any(not p for p in parts):
        raise _syntax("unexpected symbol near ','")
    return parts


def _plain(text: str, *, call: bool = False) -> bool:
    """Whether ``text`` is an expression the emulator evaluates itself (a call of one of the
    instrument's functions if ``call``): see :meth:`Keithley2600BEmulator._direct`."""
    text = text.strip()
    found = _CALL.match(text)
    if found:
        name = found.group(1)
        if name not in ("print", "printbuffer", *_CALLS) and not _own(name):
            return False
        try:
            arguments = _split_arguments(found.group(2))
        except TspError:
            return False
        return all(_plain(a) for a in arguments)
    if call:
        return False
    if _NUMBER.match(text) or text == "nil":
        return True
    if len(text) >= 2 and text[0] in "'\"" and text[-1] == text[0]:
        return text[0] not in text[1:-1]
    if text.startswith("{") and text.endswith("}"):
        try:
            return all(_plain(a) for a in _split_arguments(text[1:-1]))
        except TspError:
            return False
    return re.fullmatch(_NAME, text) is not None and _own(text)


def _own(name: str) -> bool:
    """Whether dotted ``name`` is one of the instrument's own (``smua.x``, ``localnode.x``)."""
    head, dot, _ = name.partition(".")
    return bool(dot) and head in ("smua", "smub", *_ROOTS)


class _Buffer:
    """A reading buffer (``smuX.nvbuffer1``): readings (A), source values (V), times (s)."""

    def __init__(self) -> None:
        self.readings: list[float] = []
        self.sourcevalues: list[float] = []
        self.timestamps: list[float] = []

    def clear(self) -> None:
        self.readings.clear()
        self.sourcevalues.clear()
        self.timestamps.clear()

    def append(self, reading: float, source: float, time_s: float) -> None:
        self.readings.append(reading)
        self.sourcevalues.append(source)
        self.timestamps.append(time_s)


class _Channel:
    """One SMU channel's attributes (the reset defaults of the manual) and trigger model."""

    def __init__(self, letter: str, terminal: str | None) -> None:
        self.letter = letter
        self.terminal = terminal
        self.buffers = {"nvbuffer1": _Buffer(), "nvbuffer2": _Buffer()}
        self.reset()

    def reset(self) -> None:
        self.attributes: dict[str, float] = {
            "source.func": 1,
            "source.levelv": 0.0,
            "source.leveli": 0.0,
            "source.limiti": 100e-3,
            "source.limitv": 20.0,
            "source.autorangev": 1,
            "source.autorangei": 1,
            "source.output": 0,
            "source.offmode": 0,
            "source.offfunc": 1,
            "source.offlimiti": 1e-3,
            "sense": 0,
            "measure.nplc": 1.0,
            "measure.autorangei": 1,
            "measure.autorangev": 1,
            "measure.autozero": 2,
            "trigger.arm.count": 1,
            "trigger.count": 1,
            "trigger.source.action": 0,
            "trigger.measure.action": 0,
            "trigger.endsweep.action": 0,
        }
        self.list_v: list[float] = []
        self.measure_buffer: _Buffer | None = None
        for buffer in self.buffers.values():
            buffer.clear()


class Keithley2600BEmulator(EmulatedInstrument):
    """A Keithley 2600B (``model``) on the bench circuit; each channel feeds one terminal.

    Parameters
    ----------
    circuit : BenchCircuit
        The circuit the channels drive.
    terminals : dict
        Channel (``"a"``, ``"b"``) -> circuit terminal; a channel without one drives nothing and
        reads 0 A.
    name : str
        The name in errors and transcripts.
    line_frequency_hz : float
        Power-line frequency (``localnode.linefreq``).
    clock : VirtualClock or None
        Bench time; the circuit's clock if None.
    model : str
        What ``localnode.model`` answers, one of :data:`MODELS`; it sets the limits and the
        channels.
    """

    def __init__(
        self,
        circuit: BenchCircuit,
        terminals: dict[str, str],
        *,
        name: str = "emulated Keithley 2600B",
        line_frequency_hz: float = 50.0,
        clock: VirtualClock | None = None,
        model: str = "2636B",
    ) -> None:
        if model not in MODELS:
            raise ValueError(f"{name}: model {model!r} is not one of {', '.join(MODELS)}")
        limits = MODELS[model]
        unknown = set(terminals) - set(limits.channels)
        if unknown:
            raise ValueError(
                f"{name}: channels {sorted(unknown)} do not exist on the {model}; "
                f"it has {', '.join(limits.channels)}"
            )
        check_line_frequency(name, line_frequency_hz)
        super().__init__(name, clock or circuit.clock)
        self.circuit = circuit
        self.model_name = model
        self.limits = limits
        self.line_frequency_hz = float(line_frequency_hz)
        self.channels = {c: _Channel(c, terminals.get(c)) for c in limits.channels}
        for channel in self.channels.values():
            self._drive(channel)
        self.scripts = ScriptRuntime(
            self, tuple(f"smu{c}" for c in limits.channels) + _ROOTS + _CALLS, self.clock.advance
        )

    def link(self, node: int, emulator: EmulatedInstrument, latency_s: float) -> None:
        """Put ``emulator`` on this instrument's TSP-Link as ``node[node]``; each statement a
        script sends it takes ``latency_s`` of bench time. The 2604B, 2614B and 2634B have no
        TSP-Link."""
        if self.model_name in ("2604B", "2614B", "2634B"):
            raise ValueError(f"{self.name}: the {self.model_name} has no TSP-Link")
        self.scripts.link(node, emulator, latency_s)

    # -- the wire --------------------------------------------------------------------------------

    def handle(self, line: str) -> list[str]:
        statement = line.strip()
        try:
            if self.scripts.take_line(line):
                return []
            head = statement.partition(" ")[0].upper()
            if head in COMMON_COMMANDS:
                return self._common(head, statement.partition(" ")[2])
            if self._direct(statement):
                return self._execute(statement)
            # anything else (a script's names, TSP-Link nodes, Lua of any kind) runs in Lua
            return self.scripts.run(statement)
        except (TspError, ScriptError, ScpiError) as error:
            self.push_error(error.code, error.message)
            return []

    def _direct(self, statement: str) -> bool:
        """Whether ``statement`` is one the emulator executes itself, without Lua: an
        assignment to a channel's attribute or a call of the instrument's own functions, with
        arguments that are numbers, strings, ``nil``, tables of them or the instrument's own
        names. These are what a driver sends, thousands of times in a run."""
        if not statement:
            return True
        assignment = _ASSIGNMENT.match(statement)
        if assignment:
            return assignment.group(1).startswith(("smua.", "smub.")) and _plain(
                assignment.group(2)
            )
        return _plain(statement, call=True)

    # -- what a script sees (ScriptRuntime's LocalObjects) ---------------------------------------

    def script_lookup(self, name: str) -> Any:
        try:
            value = self._lookup(name)
        except TspError:
            raise LookupError(name) from None
        if isinstance(value, _Buffer):
            raise LookupError(name)  # a buffer is passed on by its name
        return value

    def script_assign(self, name: str, value: Any) -> None:
        self._assign(name, value)

    def script_call(self, name: str, arguments: list[str]) -> list[Any]:
        return self._call(name, arguments)

    def _common(self, head: str, rest: str) -> list[str]:
        """An IEEE 488.2 common command (see
        :meth:`~mtjlab.sim.emulators.base.EmulatedInstrument.answer_common`)."""
        identity = f"Keithley Instruments Inc., Model {self.model_name}, {SERIAL}, {REVISION}"
        reply = self.answer_common(
            head.rstrip("?"),
            split_parameters(rest),
            head.endswith("?"),
            identity=identity,
            reset=self._reset,
        )
        return [] if reply is None else [reply]

    def _execute(self, statement: str) -> list[str]:
        if not statement:
            return []
        assignment = _ASSIGNMENT.match(statement)
        if assignment:
            self._assign(assignment.group(1), self._evaluate(assignment.group(2)))
            return []
        call = _CALL.match(statement)
        if call is None:
            raise _syntax(f"unexpected symbol near '{statement[:20]}'")
        name, arguments = call.group(1), _split_arguments(call.group(2))
        if name == "print":
            values = [v for a in arguments for v in self._evaluate_all(a)]
            return ["\t".join(print_text(v) for v in values)]
        if name == "printbuffer":
            return [self._printbuffer(arguments)]
        self._call(name, arguments)
        return []

    # -- expressions -----------------------------------------------------------------------------

    def _evaluate(self, text: str) -> Any:
        values = self._evaluate_all(text)
        return values[0] if values else None

    def _evaluate_all(self, text: str) -> list[Any]:
        """An expression's values (a function call may give several)."""
        text = text.strip()
        if _NUMBER.match(text):
            return [float(text)]
        if text == "nil":
            return [None]
        if len(text) >= 2 and text[0] in "'\"" and text[-1] == text[0]:
            return [text[1:-1]]
        if text.startswith("{") and text.endswith("}"):
            return [[self._number(self._evaluate(a)) for a in _split_arguments(text[1:-1])]]
        call = _CALL.match(text)
        if call:
            return self._call(call.group(1), _split_arguments(call.group(2)))
        if re.fullmatch(_NAME, text):
            return [self._lookup(text)]
        raise _syntax(f"unexpected symbol near '{text[:20]}'")

    @staticmethod
    def _number(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _runtime(f"number expected, got {print_text(value)}")
        return float(value)

    def _channel(self, name: str) -> tuple[_Channel, str]:
        """The channel ``smua.x.y`` names and the rest of the name (``x.y``)."""
        head, _, rest = name.partition(".")
        channel = self.channels.get(head[3:]) if head in ("smua", "smub") else None
        if channel is None:
            raise _runtime(f"attempt to index global '{head}' (a nil value)")
        return channel, rest

    def _lookup(self, name: str) -> Any:
        if name == "localnode.model":
            return self.model_name
        if name == "localnode.linefreq":
            return self.line_frequency_hz
        if name == "localnode.serialno":
            return SERIAL
        if name == "localnode.revision":
            return REVISION
        if name == "status.condition":
            return float(
                self.status.status_byte(
                    error_available=bool(self.error_queue),
                    message_available=bool(self._replies),
                )
            )
        if name == "errorqueue.count":
            return float(len(self.error_queue))
        if not name.startswith(("smua", "smub")):
            if name in ("errorqueue.next", "errorqueue.clear"):
                raise _runtime(f"{name} is a function")  # a script calls it by this name
            if name.split(".")[0] in _ROOTS:
                return None  # a field these tables do not have is nil
            if "." in name:
                raise _runtime(f"attempt to index global '{name.split('.')[0]}' (a nil value)")
            return None  # an undefined global is nil
        channel, rest = self._channel(name)
        if rest in CONSTANTS:
            return float(CONSTANTS[rest])
        if rest in channel.attributes:
            return float(channel.attributes[rest])
        buffer_name, _, field = rest.partition(".")
        if buffer_name in channel.buffers:
            buffer = channel.buffers[buffer_name]
            if field == "n":
                return float(len(buffer.readings))
            if field in ("readings", "sourcevalues", "timestamps"):
                return getattr(buffer, field)
            if not field:
                return buffer
        raise _runtime(f"attempt to index field '{rest}' of '{name.split('.')[0]}'")

    # -- statements ------------------------------------------------------------------------------

    def _assign(self, name: str, value: Any) -> None:
        channel, attribute = self._channel(name)
        if attribute not in channel.attributes:
            raise _runtime(f"field '{attribute}' of {name.split('.')[0]} cannot be set")
        number = self._number(value)
        self._check(attribute, number)
        if attribute == "source.output" and number == 1 and channel.attributes["source.func"] != 1:
            raise _runtime("sourcing current is not emulated")
        channel.attributes[attribute] = number
        if attribute.startswith("source."):
            self._drive(channel)

    def _check(self, attribute: str, value: float) -> None:
        """Refuse a value beyond what the model takes (and keep the old one)."""
        limits = self.limits
        ranges: dict[str, tuple[float, float]] = {
            "source.levelv": (-limits.max_voltage_v, limits.max_voltage_v),
            "source.limitv": (10e-3, limits.max_voltage_v),
            "source.leveli": (-limits.max_current_limit_a, limits.max_current_limit_a),
            "source.limiti": (limits.min_current_limit_a, limits.max_current_limit_a),
            "source.offlimiti": (limits.min_current_limit_a, limits.max_current_limit_a),
            "measure.nplc": (0.001, 25.0),
            "trigger.arm.count": (1, 268_435_455),
            "trigger.count": (1, 268_435_455),
        }
        choices = {
            "source.func": (0, 1),
            "source.output": (0, 1, 2),
            "source.offmode": (0, 1, 2),
            "source.offfunc": (0, 1),
            "sense": (0, 1, 3),
            "measure.autozero": (0, 1, 2),
        }
        if attribute in ranges:
            low, high = ranges[attribute]
            ok = math.isfinite(value) and low <= value <= high
        else:
            ok = value in choices.get(attribute, (0, 1))
        if not ok:
            raise TspError(-222, "Parameter data out of range")

    def _call(self, name: str, arguments: list[str]) -> list[Any]:
        if name == "waitcomplete" or name == "errorqueue.clear" or name == "reset":
            if name == "errorqueue.clear":
                self.error_queue.clear()
            elif name == "reset":
                self._reset()
            return []
        if name == "errorqueue.next":
            if not self.error_queue:
                return [0.0, "Queue Is Empty", 0.0, 0.0]
            code, message = self.error_queue.popleft()
            return [float(code), message, 20.0, 1.0]
        if not name.startswith(("smua.", "smub.")):
            raise _runtime(f"attempt to call global '{name}' (a nil value)")
        channel, method = self._channel(name)
        actions: dict[str, Callable[[], list[Any]]] = {
            "reset": lambda: self._reset_channel(channel),
            "abort": lambda: [],
            "measure.i": lambda: self._measure(channel, arguments)[:1],
            "measure.v": lambda: self._measure(channel, arguments)[1:],
            "measure.iv": lambda: self._measure(channel, arguments),
            "trigger.source.listv": lambda: self._listv(channel, arguments),
            "trigger.measure.i": lambda: self._measure_into(channel, arguments),
            "trigger.initiate": lambda: self._initiate(channel),
            "nvbuffer1.clear": lambda: self._clear(channel.buffers["nvbuffer1"]),
            "nvbuffer2.clear": lambda: self._clear(channel.buffers["nvbuffer2"]),
        }
        action = actions.get(method)
        if action is None:
            raise _runtime(f"attempt to call field '{method}' (a nil value)")
        return action()

    @staticmethod
    def _clear(buffer: _Buffer) -> list[Any]:
        buffer.clear()
        return []

    def _printbuffer(self, arguments: list[str]) -> str:
        if len(arguments) != 3:
            raise _runtime("printbuffer takes a start index, an end index and a buffer field")
        start = int(self._number(self._evaluate(arguments[0])))
        end = int(self._number(self._evaluate(arguments[1])))
        values = self._evaluate(arguments[2])
        if not isinstance(values, list):
            raise _runtime("bad argument #3 to 'printbuffer' (buffer expected)")
        if not 1 <= start <= end <= len(values):
            raise _runtime(f"printbuffer: index {start} to {end} of {len(values)} readings")
        return ", ".join(print_text(v) for v in values[start - 1 : end])

    # -- channels and the circuit ----------------------------------------------------------------

    def _reset(self) -> None:
        for channel in self.channels.values():
            self._reset_channel(channel)

    def _reset_channel(self, channel: _Channel) -> list[Any]:
        channel.reset()
        self._drive(channel)
        return []

    def _drive(self, channel: _Channel, level_v: float | None = None) -> None:
        if channel.terminal is None:
            return
        a = channel.attributes
        if a["source.output"] == 1:
            level = a["source.levelv"] if level_v is None else level_v
            self.circuit.set_level(channel.terminal, level)
        elif a["source.output"] == 2:
            self.circuit.set_level(channel.terminal, None)  # OUTPUT_HIGH_Z: the relay open
        elif a["source.offmode"] == 1 or (a["source.offmode"] == 0 and a["source.offfunc"] == 1):
            self.circuit.set_level(channel.terminal, 0.0)  # 0 V (ZERO, or NORMAL sourcing 0 V)
        else:
            self.circuit.set_level(channel.terminal, None)  # HIGH_Z, or NORMAL sourcing 0 A

    def _limit_a(self, channel: _Channel) -> float:
        a = channel.attributes
        if a["source.output"] == 1 or a["source.offmode"] == 1:
            return a["source.limiti"]
        return a["source.offlimiti"]

    def _source_v(self, channel: _Channel) -> float:
        a = channel.attributes
        return a["source.levelv"] if a["source.output"] == 1 else 0.0

    def _measure(self, channel: _Channel, arguments: list[str]) -> list[Any]:
        """(current A, voltage V), stored in the buffer named as the argument if there is one."""
        buffer = self._evaluate(arguments[0]) if arguments else None
        if arguments and not isinstance(buffer, _Buffer):
            raise _runtime("bad argument #1 to 'measure' (buffer expected)")
        current = self._current(channel)
        voltage = self._source_v(channel)
        if isinstance(buffer, _Buffer):
            buffer.append(current, voltage, self.clock.now_s)
        return [current, voltage]

    def _current(self, channel: _Channel) -> float:
        nplc = channel.attributes["measure.nplc"]
        current = measure_current_a(
            self.circuit, channel.terminal, nplc, self.line_frequency_hz, self.clock
        )
        limit = self._limit_a(channel)
        return math.copysign(limit, current) if abs(current) >= limit else current

    def _listv(self, channel: _Channel, arguments: list[str]) -> list[Any]:
        if len(arguments) != 1:
            raise _runtime("listv takes one table of levels")
        values = self._evaluate(arguments[0])
        if not isinstance(values, list) or not values:
            raise _runtime("bad argument #1 to 'listv' (table expected)")
        for value in values:
            self._check("source.levelv", value)
        channel.list_v = values
        return []

    def _measure_into(self, channel: _Channel, arguments: list[str]) -> list[Any]:
        buffer = self._evaluate(arguments[0]) if len(arguments) == 1 else None
        if not isinstance(buffer, _Buffer):
            raise _runtime("bad argument #1 to 'i' (buffer expected)")
        channel.measure_buffer = buffer
        return []

    def _initiate(self, channel: _Channel) -> list[Any]:
        """The trigger model: arm count x count source-measure cycles, then the end of sweep."""
        a = channel.attributes
        sourcing = a["trigger.source.action"] == 1
        if sourcing and not channel.list_v:
            raise _runtime("trigger.source.action is ENABLE with no source list")
        cycles = int(a["trigger.arm.count"] * a["trigger.count"])
        for k in range(cycles):
            level = channel.list_v[k % len(channel.list_v)] if sourcing else a["source.levelv"]
            if a["source.output"] == 1:
                self._drive(channel, level)
            if a["trigger.measure.action"] == 1 and channel.measure_buffer is not None:
                current = self._current(channel)
                channel.measure_buffer.append(current, level, self.clock.now_s)
        if a["trigger.endsweep.action"] == 0:
            self._drive(channel)  # SOURCE_IDLE: back to the idle level
        return []
