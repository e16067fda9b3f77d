"""What every emulated instrument shares: the transcript of what it received and sent, the
virtual clock it advances, the faults a test can inject, and a pymeasure Adapter to reach it."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from pymeasure.adapters import Adapter


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

    def __init__(self, name: str, clock: VirtualClock | None = None) -> None:
        self.name = name
        self.clock = clock or VirtualClock()
        self.transcript: list[Exchange] = []
        self.faults = Faults()
        self.error_queue: deque[tuple[int, str]] = deque()
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
            self.error_queue.extend(self.faults.errors)
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
        self.error_queue.append((code, message))

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
