"""An emulated serial relay crosspoint matrix: the controller side of the line protocol in
``docs/instruments.md`` ("Serial relay matrix"), acting on the bench circuit's crosspoints.

Reached through pyserial as ``emulated://<name>`` (see :mod:`.protocol_emulated`); a line in is
one command, and exactly one framed reply goes out, after the relays have settled.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from mtjlab.sim.emulators.base import EmulatedInstrument, VirtualClock
from mtjlab.sim.emulators.circuit import BenchCircuit

#: Longest line, without its LF, the controller takes (code 6 beyond).
MAX_LINE_BYTES = 1024
#: Sequence numbers run 1..MAX_SEQUENCE.
MAX_SEQUENCE = 9999

#: The error codes of the protocol, each with the text the controller sends.
ERRORS = {
    1: "checksum mismatch",
    2: "unknown verb",
    3: "malformed argument",
    4: "crosspoint outside the matrix",
    5: "relay fault",
    6: "line too long",
}

_FRAMED = re.compile(r"([\x20-\x29\x2b-\x7e]*)\*([0-9A-F]{2})")
_SEQUENCE = re.compile(r"[1-9][0-9]{0,3}")
_CROSSPOINT = re.compile(r"([1-9][0-9]?),([1-9][0-9]?)")
_SWITCHING = ("CLOSE", "OPEN", "XCLOSE")
_QUERIES = ("OPENALL", "CLOSED?", "IDN?")


def _checksum(body: str) -> int:
    value = 0
    for byte in body.encode("latin-1"):
        value ^= byte
    return value


def _frame(body: str) -> str:
    return f"{body}*{_checksum(body):02X}"


class _Refused(Exception):
    """A command answered with ``ERR <code> <text>``; the text is the code's, then ``detail``,
    unless ``text`` is given whole."""

    def __init__(self, code: int, detail: str = "", text: str | None = None) -> None:
        super().__init__(code, detail)
        self.code = code
        self.text = text if text is not None else f"{ERRORS[code]} {detail}".strip()


class SerialMatrixEmulator(EmulatedInstrument):
    """A ``rows`` x ``columns`` relay matrix controller.

    Parameters
    ----------
    circuit : BenchCircuit
        The chip behind the matrix; crosspoint ``3,12`` is its crosspoint (row ``"3"``,
        column ``"12"``).
    name : str
        The instrument's name in transcripts.
    rows, columns : int
        Size of the matrix, 1 to 99 each.
    relay_settle_s : float
        Time a relay takes to move and settle, s, before the reply goes out.
    clock : VirtualClock, optional
        Bench time; default the circuit's.

    Attributes
    ----------
    stuck : set of str
        Crosspoints (``"r,c"``) whose relay does not move: a command that would move one
        drives the others and replies code 5.
    """

    def __init__(
        self,
        circuit: BenchCircuit,
        name: str = "matrix",
        rows: int = 16,
        columns: int = 16,
        relay_settle_s: float = 3e-3,
        clock: VirtualClock | None = None,
    ) -> None:
        super().__init__(name, clock or circuit.clock)
        for label, size in (("rows", rows), ("columns", columns)):
            if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= 99:
                raise ValueError(f"{label} must be a whole number from 1 to 99; got {size!r}")
        if relay_settle_s < 0:
            raise ValueError(f"relay_settle_s must be >= 0 s; got {relay_settle_s!r}")
        self.circuit = circuit
        self.rows = rows
        self.columns = columns
        self.relay_settle_s = relay_settle_s
        self.closed: set[tuple[int, int]] = set()
        self.stuck: set[str] = set()

    @property
    def identification(self) -> str:
        return f"mtjlab emulated relay matrix {self.rows}x{self.columns}"

    # -- the wire ----------------------------------------------------------------------------

    def handle(self, line: str) -> list[str]:
        sequence = "0"
        try:
            if len(line.encode("latin-1")) > MAX_LINE_BYTES:
                sequence = self._readable_sequence(line)
                raise _Refused(6, f"({len(line)} bytes)")
            framed = _FRAMED.fullmatch(line)
            if framed is None or int(framed.group(2), 16) != _checksum(framed.group(1)):
                sequence = self._readable_sequence(line)
                raise _Refused(1)
            body = framed.group(1)
            head, _, rest = body.partition(" ")
            if _SEQUENCE.fullmatch(head) is None:
                raise _Refused(3, f"sequence number {head!r}")
            sequence = head
            return [_frame(f"{sequence} OK {rest}{self._execute(rest)}")]
        except _Refused as refused:
            return [_frame(f"{sequence} ERR {refused.code} {refused.text}")]

    @staticmethod
    def _readable_sequence(line: str) -> str:
        """The sequence number at the start of a damaged line, if it reads as one, else 0."""
        head = line.partition(" ")[0]
        return head if _SEQUENCE.fullmatch(head) else "0"

    # -- commands ----------------------------------------------------------------------------

    def _execute(self, command: str) -> str:
        """Act on ``<VERB>[ <arg> ...]``; return what follows the echo in the reply."""
        verb, *args = command.split(" ")
        if verb not in _SWITCHING + _QUERIES:
            raise _Refused(2, repr(verb))
        if verb in _SWITCHING and not args:
            raise _Refused(3, f"{verb} needs crosspoints")
        if verb in _QUERIES and args:
            raise _Refused(3, f"{verb} takes no argument")
        crosspoints = self._crosspoints(args)  # the whole line is checked before any relay
        if verb == "IDN?":
            return f" {self.identification}"
        if verb == "CLOSED?":
            return "".join(f" {r},{c}" for r, c in sorted(self.closed))
        if verb == "CLOSE":
            self._switch(opening=set(), closing=crosspoints - self.closed)
        elif verb == "OPEN":
            self._switch(opening=crosspoints & self.closed, closing=set())
        elif verb == "XCLOSE":
            self._switch(opening=self.closed - crosspoints, closing=crosspoints - self.closed)
        else:  # OPENALL
            self._switch(opening=set(self.closed), closing=set())
        return ""

    def _crosspoints(self, args: Iterable[str]) -> set[tuple[int, int]]:
        out = set()
        for arg in args:
            match = _CROSSPOINT.fullmatch(arg)
            if match is None:
                raise _Refused(3, repr(arg))
            row, column = int(match.group(1)), int(match.group(2))
            if row > self.rows or column > self.columns:
                raise _Refused(4, f"{arg} (rows 1-{self.rows}, columns 1-{self.columns})")
            out.add((row, column))
        return out

    def _switch(self, opening: set[tuple[int, int]], closing: set[tuple[int, int]]) -> None:
        """Open, settle, close, settle (break before make); a stuck relay stays as it was and
        the reply is code 5, with the others driven."""
        failed = []
        for crosspoints, closed in ((opening, False), (closing, True)):
            for row, column in sorted(crosspoints):
                if f"{row},{column}" in self.stuck:
                    failed.append(f"relay {row},{column} did not {'close' if closed else 'open'}")
                    continue
                self.circuit.set_crosspoint(str(row), str(column), closed)
                (self.closed.add if closed else self.closed.discard)((row, column))
            if crosspoints:
                self.clock.advance(self.relay_settle_s)
        if failed:
            raise _Refused(5, text="; ".join(failed))
