"""What the emulated SourceMeters share: the SCPI ones (the 2400 family and the 2450) the
constructor's checks, the wire (header table, common commands, the error queue) and sourcing
voltage onto the bench circuit; all of them (the 2600B too) measuring the current there. Each
model's commands stay in its own module."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from mtjlab.sim.emulators._scpi import (
    DATA_OUT_OF_RANGE,
    DATA_TYPE_ERROR,
    INVALID_CHARACTER_DATA,
    MISSING_PARAMETER,
    SETTINGS_CONFLICT,
    UNDEFINED_HEADER,
    ScpiError,
    character,
    header,
    match,
    number,
    split_parameters,
    split_program_message,
    tokens,
)
from mtjlab.sim.emulators.base import EmulatedInstrument, VirtualClock
from mtjlab.sim.emulators.circuit import BenchCircuit

#: A handler takes the parameters and whether it was a query; it returns the reply, if any.
Handler = Callable[[str, bool], "str | None"]


def check_line_frequency(name: str, line_frequency_hz: float) -> None:
    """Refuse a power-line frequency other than 50 or 60 Hz (ValueError)."""
    if line_frequency_hz not in (50.0, 60.0):
        raise ValueError(f"{name}: line_frequency_hz={line_frequency_hz!r}; allowed: 50, 60")


def measure_current_a(
    circuit: BenchCircuit,
    terminal: str | None,
    nplc: float,
    line_frequency_hz: float,
    clock: VirtualClock,
) -> float:
    """The current out of ``terminal`` over ``nplc`` power-line cycles (0 A from a channel wired
    to nothing); ``clock`` advances by the integration time."""
    integration_s = nplc / line_frequency_hz
    current = 0.0 if terminal is None else circuit.measure_current_a(terminal, integration_s)
    clock.advance(integration_s)
    return current


class ScpiTable:
    """The headers an instrument knows, each with its handler, matched in order. A numeric
    suffix may only be 1: these instruments have one source."""

    def __init__(self, entries: Sequence[tuple[str, Handler]]) -> None:
        self._entries = [(header(spec), handler) for spec, handler in entries]

    def find(self, received: str) -> Handler | None:
        """The handler of ``received`` (a header with its leading colon), None if unknown."""
        nodes = tokens(received[1:]) if received.startswith(":") else None
        if nodes is None:
            return None
        for spec, handler in self._entries:
            suffixes = match(spec, nodes)
            if suffixes is not None and all(s == "1" for s in suffixes):
                return handler
        return None


def on_off(args: str) -> bool:
    """A boolean parameter: ON, OFF, 1 or 0."""
    text = args.strip().upper()
    if not text:
        raise ScpiError(*MISSING_PARAMETER)
    if text in ("1", "ON"):
        return True
    if text in ("0", "OFF"):
        return False
    raise ScpiError(*DATA_TYPE_ERROR)


def choice(args: str, words: Sequence[str]) -> str:
    """A character parameter among ``words`` as its short form; -141 if none."""
    return character(args, words, unknown=INVALID_CHARACTER_DATA)


def quoted(text: str) -> str:
    """A string parameter: the text between its quotes."""
    text = text.strip()
    if len(text) < 2 or text[0] not in "'\"" or text[-1] != text[0]:
        raise ScpiError(*DATA_TYPE_ERROR)
    return text[1:-1]


def setting_reply(value: float) -> str:
    """A numeric setting as the source meters read it back."""
    return f"{value:.6E}"


class ScpiSourceMeter(EmulatedInstrument):
    """A SourceMeter with one HI terminal on the bench circuit, behind a table of SCPI headers.

    A subclass keeps its model-specific constructor arguments before calling this constructor,
    which has :meth:`_take_arguments` check them after the channels; it gives its headers
    (:meth:`_entries`), its ``*RST`` state (:meth:`reset`), its protection level and its
    output-off state.
    """

    #: *IDN? reply.
    idn: str
    #: The largest voltage (V) and current (A) it sources or measures.
    max_voltage_v: float
    max_current_a: float
    #: The most points a source list holds (both manuals: 100).
    max_list_points = 100
    #: Messages the model words otherwise than the SCPI standard: code -> message.
    messages: dict[int, str] = {}

    # the source state every model has (set by reset)
    output_on: bool
    source_function: str
    level_v: float
    current_range_a: float
    current_range_auto: bool
    voltage_list_v: list[float]

    def __init__(
        self,
        circuit: BenchCircuit,
        terminals: dict[str, str],
        *,
        name: str,
        line_frequency_hz: float,
        clock: VirtualClock | None,
    ) -> None:
        unknown = set(terminals) - {"smu"}
        if unknown:
            raise ValueError(f"{name}: channels {sorted(unknown)} do not exist; it has 'smu'")
        self._take_arguments(name)
        check_line_frequency(name, line_frequency_hz)
        super().__init__(name, clock or circuit.clock)
        self.circuit = circuit
        self.terminal = terminals.get("smu")
        self.line_frequency_hz = float(line_frequency_hz)
        self._table = ScpiTable(self._entries())
        self.reset()

    # -- model-specific ----------------------------------------------------------------------------

    def _take_arguments(self, name: str) -> None:
        """Check (ValueError) and take the model-specific constructor arguments."""

    def _entries(self) -> list[tuple[str, Handler]]:
        raise NotImplementedError

    def reset(self) -> None:
        """The *RST state."""
        raise NotImplementedError

    def _protection_v(self) -> float:
        """The overvoltage-protection level: the output never exceeds it."""
        raise NotImplementedError

    def _output_off_state(self) -> str:
        """The output-off state now, as its short form (``ZERO`` holds the terminal at 0 V)."""
        raise NotImplementedError

    # -- the wire ----------------------------------------------------------------------------------

    def handle(self, line: str) -> list[str]:
        replies = []
        for head, args, query in split_program_message(line):
            try:
                reply = self._dispatch(head, args, query)
            except ScpiError as refused:
                self.push_error(refused.code, self.messages.get(refused.code, refused.message))
                continue
            if reply is not None:
                replies.append(reply)
        return replies

    def _dispatch(self, head: str, args: str, query: bool) -> str | None:
        if head.startswith("*"):
            return self.answer_common(
                head.upper(),
                split_parameters(args),
                query,
                identity=self.idn,
                reset=self.reset,
                extras=self._common_extras(),
            )
        handler = self._find(head)
        if handler is None:
            raise ScpiError(*UNDEFINED_HEADER)
        return handler(args, query)

    def _find(self, head: str) -> Handler | None:
        return self._table.find(head)

    def _common_extras(self) -> dict[tuple[str, bool], Callable[[], str | None]]:
        """The model's common commands beyond the IEEE 488.2 set of
        :meth:`~mtjlab.sim.emulators.base.EmulatedInstrument.answer_common`: ``*TRG`` (the
        emulator starts no trigger model on it)."""
        return {("*TRG", False): lambda: None}

    def _error_count(self, args: str, query: bool) -> str | None:
        """``:SYSTem:ERRor:COUNt?``: how many entries the error queue holds."""
        if not query:
            raise ScpiError(*UNDEFINED_HEADER)
        return f"{len(self.error_queue)}"

    def _next_error_code(self, args: str, query: bool) -> str | None:
        """``:SYSTem:ERRor:CODE[:NEXT]?``: the oldest entry's code alone (0 when empty)."""
        if not query:
            raise ScpiError(*UNDEFINED_HEADER)
        return self._code_text(self.error_queue.popleft()[0]) if self.error_queue else "0"

    def _code_text(self, code: int) -> str:
        """An error code as the model writes it in a reply."""
        return f"{code}"

    # -- handlers both models have -----------------------------------------------------------------

    def _flag(self, attribute: str, key: str | None = None) -> Handler:
        """An ON/OFF setting: the attribute, or its entry ``key``."""

        def handler(args: str, query: bool) -> str | None:
            held = getattr(self, attribute)
            if query:
                return "1" if (held if key is None else held[key]) else "0"
            if key is None:
                setattr(self, attribute, on_off(args))
            else:
                held[key] = on_off(args)
            return None

        return handler

    def _voltage_level(self, args: str, query: bool) -> str | None:
        if query:
            return setting_reply(self.level_v)
        v = self.max_voltage_v
        self.level_v = number(args, -v, v, default=0.0)
        self._drive()
        return None

    def _current_range(self, args: str, query: bool) -> str | None:
        if query:
            return setting_reply(self.current_range_a)
        i = self.max_current_a
        self.current_range_a = abs(number(args, -i, i))
        self.current_range_auto = False
        return None

    def _voltage_list(self, args: str, query: bool) -> str | None:
        if query:
            return ",".join(setting_reply(v) for v in self.voltage_list_v)
        v = self.max_voltage_v
        values = [number(a, -v, v) for a in args.split(",")]
        if len(values) > self.max_list_points:
            raise ScpiError(*DATA_OUT_OF_RANGE)
        self.voltage_list_v = values
        return None

    def _output(self, args: str, query: bool) -> str | None:
        if query:
            return "1" if self.output_on else "0"
        on = on_off(args)
        if on and self.source_function != "VOLT":
            raise ScpiError(*SETTINGS_CONFLICT)  # sourcing current: not emulated
        self.output_on = on
        self._drive()
        return None

    def _abort(self, args: str, query: bool) -> str | None:
        return None  # the emulator completes each trigger model as it is started

    # -- the circuit -------------------------------------------------------------------------------

    def _applied_level(self, level_v: float) -> float:
        """The level the output holds: the programmed one, never beyond the protection level."""
        limit = self._protection_v()
        return max(-limit, min(limit, level_v))

    def _drive(self, level_v: float | None = None) -> None:
        """Put the terminal at what the output holds now (``level_v`` instead of the programmed
        level while a list point is sourced)."""
        if self.terminal is None:
            return
        if self.output_on and self.source_function == "VOLT":
            level = self.level_v if level_v is None else level_v
            self.circuit.set_level(self.terminal, self._applied_level(level))
        elif self._output_off_state() == "ZERO":
            self.circuit.set_level(self.terminal, 0.0)
        else:
            self.circuit.set_level(self.terminal, None)

    def _measure_current_a(self, nplc: float) -> float:
        """The current out of the HI terminal over ``nplc`` power-line cycles."""
        return measure_current_a(
            self.circuit, self.terminal, nplc, self.line_frequency_hz, self.clock
        )
