"""What every emulated instrument shares: the transcript of what it received and sent, the
virtual clock it advances, the faults a test can inject, its error queue and IEEE 488.2 status
registers with the common commands, and a pymeasure Adapter to reach it."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from pymeasure.adapters import Adapter

from mtjlab.sim.emulators._scpi import (
    MISSING_PARAMETER,
    PARAMETER_NOT_ALLOWED,
    UNDEFINED_HEADER,
    ScpiError,
    number,
)
from mtjlab.sim.emulators._status import (
    MASTER_SUMMARY,
    OPERATION_COMPLETE,
    QUEUE_OVERFLOW,
    StatusRegisters,
)


class VirtualClock:
    """Bench time in seconds: what the emulated instruments would have taken on a real bench."""

    def __init__(self) -> None:
        self.now_s = 0.0

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"the clock runs forward only; got {seconds!r} s")
        self.now_s += seconds


class EmulatorTimeout(TimeoutError):
    """The emulated instrument did not answer (an injected timeout, or no reply was due)."""


class EmulatorDisconnected(ConnectionError):
    """The emulated instrument is gone (an injected disconnect)."""


@dataclass
class Faults:
    """Faults to inject, consumed as they happen.

    Attributes
    ----------
    timeouts : int
        The next this many reads time out (the reply is lost).
    errors : list of (int, str)
        Entries pushed onto the error queue after the next command.
    garble : int
        The next this many replies come back garbled (bytes swapped, as on a noisy line).
    disconnect_after : int or None
        After this many more commands the instrument stops answering for good.
    """

    timeouts: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    garble: int = 0
    disconnect_after: int | None = None


@dataclass(frozen=True)
class Exchange:
    """One line of a transcript: when (bench time, s), which way (``"in"`` to the instrument,
    ``"out"`` from it) and the text."""

    time_s: float
    direction: str
    text: str


class EmulatedInstrument:
    """Base of the emulators: line in, lines out, a transcript, faults and the clock.

    A subclass implements :meth:`handle`, which acts on one command line and returns the reply
    lines it produces (none for a command without a reply), and may push onto ``error_queue``.
    """

    #: Bench time one command takes to arrive and be parsed, s (the bench file's latency).
    command_latency_s = 1e-3
    #: Entries the error queue holds (None: no limit known); one more error than that turns
    #: the last entry into -350 "Queue overflow" and later ones are lost until it is read.
    error_capacity: int | None = None

    def __init__(self, name: str, clock: VirtualClock | None = None) -> None:
        self.name = name
        self.clock = clock or VirtualClock()
        self.transcript: list[Exchange] = []
        self.faults = Faults()
        self.error_queue: deque[tuple[int, str]] = deque()
        self.status = StatusRegisters()
        self._replies: deque[str] = deque()
        self._disconnected = False

    # -- the wire ------------------------------------------------------------------------------

    def write(self, line: str) -> None:
        if self._disconnected:
            raise EmulatorDisconnected(f"{self.name} is disconnected")
        self.transcript.append(Exchange(self.clock.now_s, "in", line))
        self.clock.advance(self.command_latency_s)
        if self.faults.disconnect_after is not None:
            if self.faults.disconnect_after <= 0:
                self._disconnected = True
                raise EmulatorDisconnected(f"{self.name} stopped answering")
            self.faults.disconnect_after -= 1
        self._replies.extend(self.handle(line))
        if self.faults.errors:
            for code, message in self.faults.errors:
                self.push_error(code, message)
            self.faults.errors = []

    def read(self) -> str:
        if self._disconnected:
            raise EmulatorDisconnected(f"{self.name} is disconnected")
        if self.faults.timeouts > 0:
            self.faults.timeouts -= 1
            if self._replies:
                self._replies.popleft()  # the reply is lost on the way
            raise EmulatorTimeout(f"{self.name}: no reply (injected timeout)")
        if not self._replies:
            raise EmulatorTimeout(f"{self.name}: no reply is due (nothing was asked)")
        reply = self._replies.popleft()
        if self.faults.garble > 0:
            self.faults.garble -= 1
            reply = reply[::-1] if len(reply) > 1 else reply + "?"
        self.transcript.append(Exchange(self.clock.now_s, "out", reply))
        return reply

    def handle(self, line: str) -> list[str]:
        raise NotImplementedError

    # -- helpers for subclasses ------------------------------------------------------------------

    def discard_replies(self) -> None:
        """Drop replies not read yet (a flushed input buffer)."""
        self._replies.clear()

    def push_error(self, code: int, message: str) -> None:
        """Queue an error and set its standard event bit."""
        self.status.record(code)
        capacity = self.error_capacity
        if capacity is None or len(self.error_queue) < capacity:
            self.error_queue.append((code, message))
        elif self.error_queue[-1] != QUEUE_OVERFLOW:
            self.error_queue[-1] = QUEUE_OVERFLOW
            self.status.record(QUEUE_OVERFLOW[0])

    def clear_status(self) -> None:
        """``*CLS``: the error queue and the standard event register emptied."""
        self.error_queue.clear()
        self.status.event = 0

    def answer_common(
        self,
        name: str,
        params: Sequence[str],
        query: bool,
        *,
        identity: str,
        reset: Callable[[], object],
        extras: Mapping[tuple[str, bool], Callable[[], str | None]] | None = None,
    ) -> str | None:
        """The IEEE 488.2 common command ``name`` (upper case, without its ``?``) with its
        parameters: its reply, or None. ``identity`` is the ``*IDN?`` reply, ``reset`` does
        ``*RST`` (which leaves the status registers as they are), ``extras`` holds the model's
        own common commands by (name, query). ``*OPC`` sets the operation-complete bit at once
        and ``*OPC?`` answers 1 at once: an emulator finishes each command before the next.
        ``*TST?`` answers 0, the self-test passed.

        A name the instrument does not have is refused with -113, a parameter where none is
        taken with -108, ``*ESE``/``*SRE`` without their value with -109, with one that is not
        a number with -104 and one outside 0 to 255 with -222 (the SCPI errors)."""
        registers = self.status

        def set_register(attribute: str, mask: int) -> Callable[[], None]:
            def action() -> None:
                if len(params) != 1:
                    raise ScpiError(*(MISSING_PARAMETER if not params else PARAMETER_NOT_ALLOWED))
                setattr(registers, attribute, round(number(params[0], 0, 255)) & mask)

            return action

        def operation_complete() -> None:
            registers.event |= OPERATION_COMPLETE

        def do_reset() -> None:
            reset()

        actions: dict[tuple[str, bool], Callable[[], str | None]] = {
            ("*IDN", True): lambda: identity,
            ("*RST", False): do_reset,
            ("*CLS", False): self.clear_status,
            ("*ESE", True): lambda: str(registers.event_enable),
            ("*ESR", True): lambda: str(registers.read_event()),
            ("*SRE", True): lambda: str(registers.request_enable),
            ("*STB", True): lambda: str(
                registers.status_byte(
                    error_available=bool(self.error_queue), message_available=bool(self._replies)
                )
            ),
            ("*OPC", True): lambda: "1",
            ("*OPC", False): operation_complete,
            ("*WAI", False): lambda: None,
            ("*TST", True): lambda: "0",
            **(extras or {}),
        }
        setters = {  # bit 6 of the request enable register cannot be set
            "*ESE": set_register("event_enable", 0xFF),
            "*SRE": set_register("request_enable", 0xFF & ~MASTER_SUMMARY),
        }
        if not query and name in setters:
            setters[name]()
            return None
        action = actions.get((name, query))
        if action is None:
            raise ScpiError(*UNDEFINED_HEADER)
        if params:
            raise ScpiError(*PARAMETER_NOT_ALLOWED)
        return action()

    def received(self) -> list[str]:
        """The command lines received so far, in order."""
        return [e.text for e in self.transcript if e.direction == "in"]


class EmulatorAdapter(Adapter):
    """A pymeasure Adapter whose far end is an emulated instrument, so a driver (mtjlab's or
    pymeasure's own) talks to it exactly as to a VISA instrument."""

    def __init__(self, instrument: EmulatedInstrument, **kwargs) -> None:
        super().__init__(**kwargs)
        self.instrument = instrument

    def _write(self, command: str, **kwargs) -> None:
        self.instrument.write(command)

    def _read(self, **kwargs) -> str:
        return self.instrument.read()

    def flush_read_buffer(self) -> None:
        self.instrument.discard_replies()

    def close(self) -> None:
        pass
