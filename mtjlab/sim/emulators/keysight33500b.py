"""A Keysight 33500B (two-output 33522B) emulated on its SCPI, and what its emulator shares with
the 81160A's: their parameter rules, the state of a pulse output and what it drives on the circuit.

Where the facts come from (Agilent 33500 Series Operating and Service Guide):

- output termination 1 Ohm to 10 kOhm or INFinity, ``OUTPut[1|2]:LOAD?`` answering 9.9E+37 for
  INFinity; a 50 Ohm series output impedance, so that a new termination rescales the displayed
  amplitude and offset and leaves the output as it was: Features and Functions, Output
  Termination;
- ``VOLTage:UNIT {VPP|VRMS|DBM}``: Output Configuration;
- levels: no more than 10 Vpp into 50 Ohm, 20 Vpp into an open circuit, and high and low levels
  within half of that (FUNCtion:ARBitrary:PTPeak, Limits Due to Amplitude);
- pulse width 16 ns to 1,000,000 s, and below the period by at least the minimum width; 8.4 ns
  the shortest edge (Pulse Waveforms); edges up to 1 us, and the pulse commands' short forms, as
  in pymeasure's ``Agilent33500`` table; the shortest period follows as twice the minimum width;
- ``TRIGger[1|2]:SOURce {IMMediate|EXTernal|TIMer|BUS}``, BUS starting one burst per ``*TRG``,
  and ``*OPC?`` answering 1 once the burst is complete: TRIGger subsystem; ``BURSt:MODE``,
  ``:NCYCles``, ``:STATe``: BURSt subsystem.

Not confirmed from the guide, and so chosen here: the amplitude floor (1 mVpp into 50 Ohm), the
reset values of pulse width, period and edges (100 us, 1 ms, 10 ns), and the trigger latency
(:attr:`Keysight33500BEmulator.trigger_latency_s`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from mtjlab.sim.emulators._scpi import (
    DATA_OUT_OF_RANGE,
    DATA_TYPE_ERROR,
    DECIMAL,
    ILLEGAL_PARAMETER,
    MISSING_PARAMETER,
    PARAMETER_NOT_ALLOWED,
    SETTINGS_CONFLICT,
    SUFFIX_OUT_OF_RANGE,
    SYNTAX_ERROR,
    TRIGGER_IGNORED,
    UNDEFINED_HEADER,
    Node,
    ScpiError,
    Token,
    character,
    header,
    match,
    split_parameters,
    split_units,
    tokens,
)
from mtjlab.sim.emulators._scpi import number as scpi_number
from mtjlab.sim.emulators.base import EmulatedInstrument, VirtualClock
from mtjlab.sim.emulators.circuit import BenchCircuit

#: The output number a command without a channel suffix acts on.
DEFAULT_OUTPUT = 1
#: What the 33500B answers for an INFinity output termination.
INFINITE_OHM_REPLY = 9.9e37
#: Series output impedance of both families, Ohm.
SOURCE_OHM = 50.0

# -- parameters -------------------------------------------------------------------------------

#: Unit suffixes SCPI allows after a number, as multipliers (seconds, volts, ohms, hertz).
_UNITS = {
    "": 1.0, "S": 1.0, "MS": 1e-3, "US": 1e-6, "NS": 1e-9, "PS": 1e-12,
    "V": 1.0, "MV": 1e-3, "VPP": 1.0, "OHM": 1.0, "KOHM": 1e3, "MOHM": 1e6, "HZ": 1.0,
    "KHZ": 1e3, "MHZ": 1e6,
}  # fmt: skip


def one_parameter(params: Sequence[str]) -> str:
    if not params:
        raise ScpiError(*MISSING_PARAMETER)
    if len(params) > 1:
        raise ScpiError(*PARAMETER_NOT_ALLOWED)
    return params[0]


def number(
    params: Sequence[str], low: float, high: float, default: float, specials: dict | None = None
) -> float:
    """A numeric parameter (MINimum, MAXimum, DEFault, or a number with an optional unit
    suffix); one outside ``low`` to ``high`` is refused with "Data out of range"."""
    text = one_parameter(params)
    return scpi_number(text, low, high, default=default, specials=specials, units=_UNITS)


def boolean(params: Sequence[str]) -> bool:
    """ON, OFF, or a number without a unit: rounded, any but 0 is ON."""
    text = one_parameter(params).upper()
    if text in ("ON", "OFF"):
        return text == "ON"
    m = DECIMAL.fullmatch(text)
    if m is None or m.group(2):
        raise ScpiError(*DATA_TYPE_ERROR)
    return round(float(m.group(1))) != 0


def choice(params: Sequence[str], options: Sequence[str]) -> str:
    """A character parameter among ``options`` (written with the short form in upper case);
    returns the short form."""
    return character(one_parameter(params), options, unknown=ILLEGAL_PARAMETER)


def no_parameters(params: Sequence[str]) -> None:
    if params:
        raise ScpiError(*PARAMETER_NOT_ALLOWED)


def nr3(value: float, decimals: int) -> str:
    """``value`` as an NR3 reply with ``decimals`` mantissa decimals, from its shortest decimal
    form, so that the reply shows the number set (8.4E-09, not the binary neighbour
    8.400000000000001E-09)."""
    if value == 0:
        return f"{0.0:+.{decimals}E}"
    mantissa, _, exponent = f"{Decimal(repr(float(value))):+.{decimals}E}".partition("E")
    return f"{mantissa}E{int(exponent):+03d}"


def scale_to_load(load_ohm: float) -> float:
    """The fraction of the open-circuit level that a load of ``load_ohm`` sees behind the
    50 Ohm source impedance (1 for an infinite load)."""
    return 1.0 if math.isinf(load_ohm) else load_ohm / (load_ohm + SOURCE_OHM)


# -- a pulse output ----------------------------------------------------------------------------


@dataclass
class PulseOutput:
    """What one output holds, as the instrument would report it. Levels are in Vpp and V into
    the load the output is told (``load_ohm``); the emulator takes it that the device presents
    that load, so these are the levels the circuit gets."""

    terminal: str | None
    on: bool = False
    function: str = "SIN"
    amplitude_vpp: float = 0.1
    offset_v: float = 0.0
    unit: str = "VPP"
    load_ohm: float = 50.0
    inverted: bool = False
    width_s: float = 100e-6
    period_s: float = 1e-3
    hold: str = "WIDT"
    leading_s: float = 10e-9
    trailing_s: float = 10e-9
    # the 33500B's burst and trigger source
    burst: bool = False
    burst_mode: str = "TRIG"
    ncycles: int = 1
    trigger_source: str = "IMM"
    # the 81160A's arm source and trigger count
    arm_source: str = "IMM"
    trigger_count: int = 1

    @property
    def base_level_v(self) -> float:
        """The level the output rests at between pulses."""
        if self.function == "DC":
            return self.offset_v
        half = self.amplitude_vpp / 2
        return self.offset_v + half if self.inverted else self.offset_v - half

    @property
    def peak_level_v(self) -> float:
        """The level a pulse reaches."""
        if self.function == "DC":
            return self.offset_v
        half = self.amplitude_vpp / 2
        return self.offset_v - half if self.inverted else self.offset_v + half

    @property
    def high_time_s(self) -> float:
        """How long each cycle sits at the peak: the width of a pulse; half the period of any
        other waveform, whose own frequency the emulator does not model."""
        return self.width_s if self.function == "PULS" else self.period_s / 2


Handler = Callable[[int, list[str]], list[str]]


@dataclass(frozen=True)
class Command:
    """A header and what it does set (``write``) and queried (``read``); ``follows``: whether
    output 2 takes the setting too while channel coupling is on."""

    nodes: tuple[Node, ...]
    write: Handler | None
    read: Handler | None
    follows: bool = True


class PulseGeneratorEmulator(EmulatedInstrument):
    """Two pulse outputs on the circuit, behind a table of SCPI commands.

    An output that is on rests at its base level on its terminal. One that waits for a trigger
    (:meth:`_waits_for_trigger`) fires on ``*TRG``; every other output that is on runs free: a
    pulse train at its period, recorded in :attr:`free_running` and applied to the circuit as
    bench time passes (:meth:`catch_up`).

    Parameters
    ----------
    circuit : BenchCircuit
        The circuit the outputs drive.
    terminals : dict of int to str
        Output number -> the circuit terminal it drives; an output left out drives nothing.
    name : str
        The instrument's name in transcripts and errors.
    clock : VirtualClock, optional
        Bench time; the circuit's clock if not given.
    """

    #: *IDN? reply.
    idn = ""
    #: How SYST:ERR? spells an empty queue's code.
    no_error_code = "0"
    #: Time from a bus trigger to the start of the pulse, s.
    trigger_latency_s = 0.0
    #: Open-circuit amplitude range, Vpp; scaled to the load told (see :func:`scale_to_load`).
    open_circuit_amplitude_vpp = (0.0, 0.0)
    #: Open-circuit level window: high and low level within +-this, V.
    open_circuit_window_v = 0.0
    width_range_s = (0.0, 0.0)
    period_range_s = (0.0, 0.0)
    edge_range_s = (0.0, 0.0)
    load_range_ohm = (0.0, 0.0)
    functions: tuple[str, ...] = ()
    #: Free-running pulses applied one by one in one catch-up; the rest of the train in that
    #: interval is applied as one pulse of their total time at the peak, which switches a
    #: device with the same probability (P = 1 - exp(-t / tau) in the device model).
    train_pulses_applied_singly = 16
    #: Relative tolerance on limits: the last digit a setting is held to.
    limit_rel_tol = 1e-9

    def __init__(
        self,
        circuit: BenchCircuit,
        terminals: dict[int, str],
        *,
        name: str = "pulse generator",
        clock: VirtualClock | None = None,
    ) -> None:
        super().__init__(name, clock if clock is not None else circuit.clock)
        for number_, terminal in terminals.items():
            if number_ not in (1, 2):
                raise ValueError(f"{name}: output {number_!r} is not 1 or 2")
            if terminal not in circuit.levels:
                raise ValueError(
                    f"{name}: output {number_} -> terminal {terminal!r}, which is not a source "
                    f"terminal of this bench (those are {', '.join(circuit.levels)})"
                )
        self.circuit = circuit
        self.terminals = dict(terminals)
        self.outputs = {n: self._reset_output(self.terminals.get(n)) for n in (1, 2)}
        #: Outputs that are on and not waiting for a trigger: a pulse train into the device.
        self.free_running: set[int] = set()
        #: Pulses each output's free-running train has put out so far.
        self.free_running_pulses: dict[int, int] = {1: 0, 2: 0}
        #: Pulses fired by bus triggers so far, per output.
        self.triggered_pulses: dict[int, int] = {1: 0, 2: 0}
        self._next_pulse_s: dict[int, float] = {}
        self._coupled = False
        # another instrument's relay change or reading first sees the train this one put out
        circuit.before_change.append(self.catch_up)
        self._commands = self._command_table()

    # -- model-specific -----------------------------------------------------------------------

    def _reset_output(self, terminal: str | None) -> PulseOutput:
        raise NotImplementedError

    def _command_table(self) -> list[Command]:
        raise NotImplementedError

    def _waits_for_trigger(self, out: PulseOutput) -> bool:
        """Whether the output, when on, puts out nothing until a bus trigger."""
        raise NotImplementedError

    def _cycles_per_trigger(self, out: PulseOutput) -> int:
        """Pulses one bus trigger starts on the output (0: a bus trigger does not start it)."""
        raise NotImplementedError

    def _timing_fits(self, width_s: float, period_s: float, out: PulseOutput) -> bool:
        raise NotImplementedError

    def _format_number(self, value: float) -> str:
        raise NotImplementedError

    def _on_load_change(self, out: PulseOutput, load_ohm: float) -> None:
        out.load_ohm = load_ohm

    # -- the wire ---------------------------------------------------------------------------

    def handle(self, line: str) -> list[str]:
        self.catch_up()
        replies: list[str] = []
        path: list[Token] = []
        for unit in split_units(line):
            try:
                replies.extend(self._execute(unit, path))
            except ScpiError as exc:
                self.push_error(exc.code, exc.message)
        return replies

    def _execute(self, unit: str, path: list[Token]) -> list[str]:
        head, _, rest = unit.partition(" ")
        params = split_parameters(rest)
        if head.startswith("*"):
            return self._common(head.upper(), params)
        query = head.endswith("?")
        text = head[:-1] if query else head
        absolute = text.startswith(":")
        received = tokens(text.lstrip(":")) if text.strip(":") else None
        if received is None:
            raise ScpiError(*(SYNTAX_ERROR if text.strip(":") else UNDEFINED_HEADER))
        if not absolute:
            received = path + received  # a compound message continues the previous header's path
        path[:] = received[:-1]
        for command in self._commands:
            suffixes = match(command.nodes, received)
            if suffixes is None:
                continue
            handler = command.read if query else command.write
            if handler is None:
                raise ScpiError(*UNDEFINED_HEADER)
            channel = int(suffixes[-1]) if suffixes else DEFAULT_OUTPUT
            if channel not in self.outputs:
                raise ScpiError(*SUFFIX_OUT_OF_RANGE)
            if query and params:
                raise ScpiError(*PARAMETER_NOT_ALLOWED)
            replies = handler(channel, params)
            if not query and command.follows and self._coupled and channel == 1:
                handler(2, params)  # with coupling on, output 2 follows output 1
            return replies
        raise ScpiError(*UNDEFINED_HEADER)

    def _common(self, head: str, params: list[str]) -> list[str]:
        """IEEE 488.2 common commands (see
        :meth:`~mtjlab.sim.emulators.base.EmulatedInstrument.answer_common`) and ``*TRG`` and
        ``*OPT?``. ``*TRG`` runs the triggered pulses to their end in bench time, so ``*WAI``
        has nothing to wait for and ``*OPC?`` answers 1 at once."""
        name = head.upper()
        query = name.endswith("?")
        extras: dict[tuple[str, bool], Callable[[], str | None]] = {
            ("*TRG", False): self._bus_trigger,
            ("*OPT", True): lambda: "0",
        }
        reply = self.answer_common(
            name.rstrip("?"), params, query, identity=self.idn, reset=self._reset, extras=extras
        )
        return [] if reply is None else [reply]

    def _reset(self) -> None:
        for n, out in self.outputs.items():
            self.outputs[n] = self._reset_output(out.terminal)
            self._refresh(n)
        self._coupled = False

    def _system_error(self, channel: int, params: list[str]) -> list[str]:
        if not self.error_queue:
            return [f'{self.no_error_code},"No error"']
        code, message = self.error_queue.popleft()
        return [f'{code},"{message}"']

    # -- acting on the circuit -----------------------------------------------------------------

    def _refresh(self, n: int) -> None:
        """Put output ``n``'s present state on its terminal and on the free-running record."""
        out = self.outputs[n]
        if out.terminal is not None:
            self.circuit.set_level(out.terminal, out.base_level_v if out.on else None)
        runs = out.on and out.function != "DC" and not self._waits_for_trigger(out)
        if out.terminal is not None:
            self.circuit.set_train(out.terminal, runs)
        if runs and n not in self.free_running:
            self.free_running.add(n)
            self._next_pulse_s[n] = self.clock.now_s
        elif not runs:
            self.free_running.discard(n)
            self._next_pulse_s.pop(n, None)

    def catch_up(self) -> None:
        """Apply the pulses every free-running output has put out up to the present bench
        time (the clock may have been advanced by other instruments since)."""
        now = self.clock.now_s
        for n in sorted(self.free_running):
            out = self.outputs[n]
            due = self._next_pulse_s[n]
            if due > now:
                continue
            count = math.floor((now - due) / out.period_s) + 1
            self._next_pulse_s[n] = due + count * out.period_s
            self.free_running_pulses[n] += count
            if out.terminal is None:
                continue
            pulse = {out.terminal: out.peak_level_v}
            for _ in range(min(count, self.train_pulses_applied_singly)):
                self.circuit.pulse(pulse, out.high_time_s)
            rest = count - self.train_pulses_applied_singly
            if rest > 0:
                self.circuit.pulse(pulse, rest * out.high_time_s)

    def _bus_trigger(self) -> None:
        """Fire every output that is on and started by a bus trigger, after the latency; the
        clock runs to the end of the longest burst."""
        cycles = {n: self._cycles_per_trigger(out) for n, out in self.outputs.items()}
        if not any(cycles.values()):
            raise ScpiError(*TRIGGER_IGNORED)
        self.clock.advance(self.trigger_latency_s)
        armed = {n: c for n, c in cycles.items() if c and self.outputs[n].on}
        singly = min(max(armed.values(), default=0), self.train_pulses_applied_singly)
        for k in range(singly):
            self._fire_together({n: self.outputs[n].high_time_s for n, c in armed.items() if c > k})
        # the rest of a long burst as one pulse of its total time at the peak (see above)
        self._fire_together(
            {n: (c - singly) * self.outputs[n].high_time_s for n, c in armed.items() if c > singly}
        )
        for n, c in armed.items():
            self.triggered_pulses[n] += c
        ends = [
            (c - 1) * self.outputs[n].period_s + self.outputs[n].high_time_s
            for n, c in armed.items()
        ]
        self.clock.advance(max(ends, default=0.0))

    def _fire_together(self, high_times_s: dict[int, float]) -> None:
        """Pulses of the outputs in ``high_times_s`` (output -> time at the peak), started
        together: one circuit pulse while all are at their peak, then one for each longer
        one's remainder."""
        left: dict[str, tuple[float, float]] = {}
        for n, t in high_times_s.items():
            terminal = self.outputs[n].terminal
            if terminal is not None:  # an output wired to nothing drives nothing
                left[terminal] = (t, self.outputs[n].peak_level_v)
        held = 0.0
        while left:
            shortest = min(t for t, _ in left.values())
            self.circuit.pulse({term: v for term, (_, v) in left.items()}, shortest - held)
            held = shortest
            left = {term: tv for term, tv in left.items() if tv[0] > shortest}

    # -- shared setting handlers ---------------------------------------------------------------

    def _within(self, value: float, low: float, high: float) -> bool:
        tol = self.limit_rel_tol * max(abs(low), abs(high))
        return low - tol <= value <= high + tol

    def _amplitude_range(self, out: PulseOutput) -> tuple[float, float]:
        k = scale_to_load(out.load_ohm)
        low, high = self.open_circuit_amplitude_vpp
        return low * k, high * k

    def _levels_fit(self, out: PulseOutput, amplitude_vpp: float, offset_v: float) -> bool:
        window = self.open_circuit_window_v * scale_to_load(out.load_ohm)
        return self._within(abs(offset_v) + amplitude_vpp / 2, 0.0, window)

    def _set_amplitude(self, n: int, params: list[str]) -> list[str]:
        out = self.outputs[n]
        if out.unit != "VPP":
            # the emulator holds levels in Vpp only; VRMS and DBM are kept for the read-back
            raise ScpiError(*SETTINGS_CONFLICT)
        low, high = self._amplitude_range(out)
        value = number(params, low, high * (1 + self.limit_rel_tol), out.amplitude_vpp)
        if not self._levels_fit(out, value, out.offset_v):
            raise ScpiError(*SETTINGS_CONFLICT)
        out.amplitude_vpp = value
        self._refresh(n)
        return []

    def _set_offset(self, n: int, params: list[str]) -> list[str]:
        out = self.outputs[n]
        window = self.open_circuit_window_v * scale_to_load(out.load_ohm)
        value = number(params, -window, window, 0.0)
        if not self._levels_fit(out, out.amplitude_vpp, value):
            raise ScpiError(*DATA_OUT_OF_RANGE)
        out.offset_v = value
        self._refresh(n)
        return []

    def _set_width(self, n: int, params: list[str]) -> list[str]:
        out = self.outputs[n]
        value = number(params, *self.width_range_s, out.width_s)
        if not self._timing_fits(value, out.period_s, out):
            raise ScpiError(*SETTINGS_CONFLICT)
        out.width_s = value
        return []

    def _set_period(self, n: int, params: list[str]) -> list[str]:
        out = self.outputs[n]
        value = number(params, *self.period_range_s, out.period_s)
        if not self._timing_fits(out.width_s, value, out):
            raise ScpiError(*SETTINGS_CONFLICT)
        out.period_s = value
        return []

    def _set_edges(self, which: str) -> Handler:
        def handler(n: int, params: list[str]) -> list[str]:
            out = self.outputs[n]
            value = number(params, *self.edge_range_s, self.edge_range_s[0])
            leading = value if which in ("both", "leading") else out.leading_s
            trailing = value if which in ("both", "trailing") else out.trailing_s
            probe = PulseOutput(None, leading_s=leading, trailing_s=trailing)
            if not self._timing_fits(out.width_s, out.period_s, probe):
                raise ScpiError(*SETTINGS_CONFLICT)
            out.leading_s, out.trailing_s = leading, trailing
            return []

        return handler

    def _set_output(self, n: int, params: list[str]) -> list[str]:
        self.outputs[n].on = boolean(params)
        self._refresh(n)
        return []

    def _set_polarity(self, n: int, params: list[str]) -> list[str]:
        self.outputs[n].inverted = choice(params, ("NORMal", "INVerted")) == "INV"
        self._refresh(n)
        return []

    def _set_function(self, n: int, params: list[str]) -> list[str]:
        self.outputs[n].function = choice(params, self.functions)
        self._refresh(n)
        return []

    def _set_unit(self, n: int, params: list[str]) -> list[str]:
        self.outputs[n].unit = choice(params, ("VPP", "VRMS", "DBM"))
        return []

    def _set_hold(self, n: int, params: list[str]) -> list[str]:
        self.outputs[n].hold = choice(params, ("WIDTh", "DCYCle"))
        return []

    def _trigger_setting(self, attribute: str, parse: Callable[[list[str]], object]) -> Handler:
        def handler(n: int, params: list[str]) -> list[str]:
            setattr(self.outputs[n], attribute, parse(params))
            self._refresh(n)
            return []

        return handler

    @staticmethod
    def _accept(n: int, params: list[str]) -> list[str]:
        """A command without parameters the emulator has nothing to do for (a beep)."""
        no_parameters(params)
        return []

    @staticmethod
    def _accept_text(n: int, params: list[str]) -> list[str]:
        """A command with one text parameter the emulator has nothing to do for."""
        one_parameter(params)
        return []

    def _read(self, get: Callable[[PulseOutput], object]) -> Handler:
        """A query handler answering ``get(output)`` in the model's reply format."""

        def handler(n: int, params: list[str]) -> list[str]:
            value = get(self.outputs[n])
            if isinstance(value, bool):
                return ["1" if value else "0"]
            if isinstance(value, int):
                return [str(value)]
            if isinstance(value, float):
                return [self._format_number(value)]
            return [str(value)]

        return handler


class Keysight33500BEmulator(PulseGeneratorEmulator):
    """A two-output Keysight 33522B: see the module docstring for where each fact comes from.

    An output waits for a bus trigger while it is in a triggered burst (``BURSt:STATe ON``,
    ``BURSt:MODE TRIGgered``) whose trigger source is BUS or EXTernal (nothing is wired to Trig
    In); a gated burst waits too, its gate never opening. With the burst off, or triggered
    IMMediately or by the TIMer, an output that is on runs free at its pulse period.
    """

    idn = "Agilent Technologies,33522B,EMULATED,5.00-1.19-2.00-58-00"
    no_error_code = "+0"
    #: Not confirmed from the 33500B guide: 20 entries, as the same family's 33210A guide
    #: ("SYSTem:ERRor?") gives.
    error_capacity = 20
    #: Not from the guide: a bus trigger's latency, taken as 1 us.
    trigger_latency_s = 1e-6
    open_circuit_amplitude_vpp = (2e-3, 20.0)
    open_circuit_window_v = 10.0
    #: Shortest width, and below the period by at least this much.
    min_width_s = 16e-9
    width_range_s = (16e-9, 1e6)
    period_range_s = (32e-9, 1e6)
    edge_range_s = (8.4e-9, 1e-6)
    load_range_ohm = (1.0, 10e3)
    functions = ("SINusoid", "SQUare", "TRIangle", "RAMP", "PULSe", "PRBS", "NOISe", "ARB", "DC")

    def _reset_output(self, terminal: str | None) -> PulseOutput:
        return PulseOutput(terminal)

    def _waits_for_trigger(self, out: PulseOutput) -> bool:
        return out.burst and (out.burst_mode == "GAT" or out.trigger_source in ("BUS", "EXT"))

    def _cycles_per_trigger(self, out: PulseOutput) -> int:
        # a bus trigger starts the burst of a triggered burst on BUS; EXT and gated wait on
        bus = out.burst and out.burst_mode == "TRIG" and out.trigger_source == "BUS"
        return out.ncycles if bus else 0

    def _timing_fits(self, width_s: float, period_s: float, out: PulseOutput) -> bool:
        return width_s <= period_s - self.min_width_s

    def _format_number(self, value: float) -> str:
        return nr3(value, 15)

    def _on_load_change(self, out: PulseOutput, load_ohm: float) -> None:
        # the output stays as it was; what is displayed (and set) is rescaled to the new load
        ratio = scale_to_load(load_ohm) / scale_to_load(out.load_ohm)
        out.amplitude_vpp *= ratio
        out.offset_v *= ratio
        out.load_ohm = load_ohm

    def _set_load(self, n: int, params: list[str]) -> list[str]:
        inf = {"INF": math.inf, "INFINITY": math.inf}
        value = number(params, *self.load_range_ohm, 50.0, specials=inf)
        self._on_load_change(self.outputs[n], value)
        self._refresh(n)
        return []

    def _command_table(self) -> list[Command]:
        src = "[SOURce#]:"
        volt = src + "VOLTage:[LEVel]:[IMMediate]"
        pulse = src + "FUNCtion:PULSe:"
        burst = src + "BURSt:"
        read = self._read

        def load_reply(out: PulseOutput) -> float:
            return INFINITE_OHM_REPLY if math.isinf(out.load_ohm) else out.load_ohm

        table = [
            ("OUTPut#:[STATe]", self._set_output, read(lambda o: o.on)),
            ("OUTPut#:LOAD", self._set_load, read(load_reply)),
            (
                "OUTPut#:POLarity",
                self._set_polarity,
                read(lambda o: "INV" if o.inverted else "NORM"),
            ),
            (src + "FUNCtion", self._set_function, read(lambda o: o.function)),
            (volt + ":[AMPLitude]", self._set_amplitude, read(lambda o: o.amplitude_vpp)),
            (volt + ":OFFSet", self._set_offset, read(lambda o: o.offset_v)),
            (src + "VOLTage:UNIT", self._set_unit, read(lambda o: o.unit)),
            (pulse + "WIDTh", self._set_width, read(lambda o: o.width_s)),
            (pulse + "PERiod", self._set_period, read(lambda o: o.period_s)),
            (pulse + "HOLD", self._set_hold, read(lambda o: o.hold)),
            (pulse + "TRANsition:[BOTH]", self._set_edges("both"), read(lambda o: o.leading_s)),
            (pulse + "TRANsition:LEADing", self._set_edges("leading"), read(lambda o: o.leading_s)),
            (
                pulse + "TRANsition:TRAiling",
                self._set_edges("trailing"),
                read(lambda o: o.trailing_s),
            ),
            (burst + "STATe", self._trigger_setting("burst", boolean), read(lambda o: o.burst)),
            (
                burst + "MODE",
                self._trigger_setting("burst_mode", lambda p: choice(p, ("TRIGgered", "GATed"))),
                read(lambda o: o.burst_mode),
            ),
            (
                burst + "NCYCles",
                self._trigger_setting("ncycles", lambda p: round(number(p, 1, 1e8, 1))),
                read(lambda o: float(o.ncycles)),
            ),
            (
                "TRIGger#:SOURce",
                self._trigger_setting(
                    "trigger_source",
                    lambda p: choice(p, ("IMMediate", "EXTernal", "TIMer", "BUS")),
                ),
                read(lambda o: o.trigger_source),
            ),
            ("SYSTem:ERRor:[NEXT]", None, self._system_error),
            ("SYSTem:BEEPer:[IMMediate]", self._accept, None),
            ("DISPlay:TEXT", self._accept_text, None),
            ("DISPlay:TEXT:CLEar", self._accept, None),
        ]
        return [Command(header(h), w, r) for h, w, r in table]
