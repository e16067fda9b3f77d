"""A serial relay crosspoint matrix (the kind a lab builds for a probe card) as a
:class:`~mtjlab.instruments.roles.SwitchMatrix`, speaking the line protocol written out in
``docs/instruments.md``.

Every command carries a sequence number and a checksum and is acknowledged by a reply that
repeats both; a reply that is missing, fails its checksum, carries the wrong sequence number or
does not echo the command is an :class:`~mtjlab.instruments.roles.InstrumentError`, never success.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import serial
from pymeasure.adapters import SerialAdapter
from pymeasure.instruments import Instrument

from mtjlab.core.checks import check_scalar

from ._grammar import ascii_pattern, check_names
from .roles import ChannelSpecError, InstrumentError, SwitchMatrix

log = logging.getLogger(__name__)

#: Longest line (without the newline) either side sends; the firmware must buffer this much.
MAX_LINE_BYTES = 1024
#: Sequence numbers run 1..MAX_SEQUENCE and wrap to 1.
MAX_SEQUENCE = 9999
#: Late replies to timed-out commands that may be skipped while waiting for the current one.
_MAX_STALE = 8

_CROSSPOINT = ascii_pattern(r"([1-9][0-9]?),([1-9][0-9]?)")
_LINE = ascii_pattern(r"([\x20-\x29\x2b-\x7e]*)\*([0-9A-F]{2})")
_ERROR = ascii_pattern(r"ERR ([0-9]{1,3}) ([\x20-\x29\x2b-\x7e]*)")


def checksum(body: str) -> int:
    """XOR of the ASCII bytes of ``body`` (the part of a line before ``*``)."""
    value = 0
    for byte in body.encode("ascii"):
        value ^= byte
    return value


def frame(body: str) -> str:
    """Append ``*`` and the two-digit upper-case hexadecimal checksum to ``body``."""
    return f"{body}*{checksum(body):02X}"


def unframe(line: str) -> str | None:
    """Return the body of a well-formed line with a correct checksum, else None."""
    match = _LINE.fullmatch(line)
    if match is None or int(match.group(2), 16) != checksum(match.group(1)):
        return None
    return match.group(1)


class SerialRelayMatrix(Instrument, SwitchMatrix):
    """A ``rows`` x ``columns`` relay crosspoint matrix on a serial line.

    Parameters
    ----------
    adapter : str or pymeasure Adapter
        A pyserial port name or URL (``COM3``, ``socket://host:port``,
        ``loop://``), or an adapter.
    rows, columns : int
        Size of the matrix, 1 to 99 each; crosspoints are named ``"<row>,<column>"``, 1-based.
    baudrate : int
        Line speed when ``adapter`` is a port name (8 data bits, no parity, 1 stop bit).
    timeout_s : float
        How long to wait for an acknowledgement before calling it missing.
    """

    channel_form = "<row>,<column> in decimal without leading zeros, e.g. 3,12"
    row_form = "a row number 1-99 without leading zeros"
    column_form = "a column number 1-99 without leading zeros"
    first_column = "1"

    @classmethod
    def crosspoint(cls, row: str, column: str) -> str:
        """``"<row>,<column>"``; whether it lies inside a given matrix is checked when the
        crosspoint is used (the size is the instance's)."""
        name = f"{row},{column}"
        if not (isinstance(row, str) and isinstance(column, str)) or not _CROSSPOINT.fullmatch(
            name
        ):
            raise ChannelSpecError(
                f"matrix row {row!r} and column {column!r} make no crosspoint; "
                f"rows: {cls.row_form}; columns: {cls.column_form}"
            )
        return name

    def __init__(
        self,
        adapter,
        name: str = "Serial relay matrix",
        rows: int = 16,
        columns: int = 16,
        baudrate: int = 115200,
        timeout_s: float = 1.0,
        **kwargs,
    ):
        self.rows = int(check_scalar(rows, "rows", low=1, high=99, unit="rows"))
        self.columns = int(check_scalar(columns, "columns", low=1, high=99, unit="columns"))
        if rows != self.rows or columns != self.columns:
            raise ValueError(f"rows={rows!r} and columns={columns!r} must be whole numbers")
        if isinstance(adapter, str):
            port = serial.serial_for_url(adapter, baudrate=baudrate, timeout=timeout_s)
            adapter = SerialAdapter(port, write_termination="\n", read_termination="\n")
        super().__init__(adapter, name, includeSCPI=False, **kwargs)
        self._sequence = 0
        self._abandoned: set[int] = set()

    # -- role --------------------------------------------------------------------------------

    def close(self, channels: str | Iterable[str]) -> None:
        self._transact("CLOSE", self._crosspoints(channels))

    def open(self, channels: str | Iterable[str]) -> None:
        self._transact("OPEN", self._crosspoints(channels))

    def exclusive_close(self, channels: str | Iterable[str]) -> None:
        self._transact("XCLOSE", self._crosspoints(channels))

    def open_all(self) -> None:
        self._transact("OPENALL", [])

    def closed(self) -> list[str]:
        payload = self._transact("CLOSED?", [], query=True)
        if not payload:
            return []
        try:
            return self._crosspoints(payload.split(" "))
        except ChannelSpecError:
            raise InstrumentError(
                self.name, ["CLOSED?"], [(0, f"reply is not a list of crosspoints: {payload!r}")]
            ) from None

    def shutdown(self) -> None:
        """Go to the safe state (also on leaving a ``with`` block)."""
        self.safe_state()
        Instrument.shutdown(self)

    @property
    def id(self) -> str:
        """The controller's identification text (``IDN?``)."""
        return self._transact("IDN?", [], query=True)

    # -- protocol ----------------------------------------------------------------------------

    def _crosspoints(self, channels: str | Iterable[str]) -> list[str]:
        names = check_names(channels, _CROSSPOINT, self.channel_form, "crosspoint")
        for name in names:
            row, column = (int(x) for x in name.split(","))
            if row > self.rows or column > self.columns:
                raise ChannelSpecError(
                    f"crosspoint {name!r} is outside the matrix; allowed: rows 1 to {self.rows}, "
                    f"columns 1 to {self.columns}"
                )
        return names

    def _next_sequence(self) -> int:
        self._sequence = self._sequence % MAX_SEQUENCE + 1
        return self._sequence

    def _transact(self, verb: str, args: list[str], query: bool = False) -> str:
        """Send one command line and return the payload of its acknowledgement."""
        sequence = self._next_sequence()
        self._abandoned.discard(sequence)  # a number reused after wrapping is current again
        echo = " ".join([verb, *args])
        line = frame(f"{sequence} {echo}")
        if len(line) > MAX_LINE_BYTES:
            raise ValueError(
                f"{len(args)} crosspoints make a {len(line)}-byte line; allowed: at most "
                f"{MAX_LINE_BYTES} bytes (send fewer crosspoints per command)"
            )
        reply = self.ask(line)
        for _ in range(_MAX_STALE + 1):
            if reply == "":
                self._abandoned.add(sequence)
                raise self._protocol_error(line, "no acknowledgement before the timeout")
            body = unframe(reply)
            if body is None:
                raise self._protocol_error(line, f"garbled acknowledgement {reply!r}")
            number, _, rest = body.partition(" ")
            if number != str(sequence) and number.isdigit() and int(number) in self._abandoned:
                # the late acknowledgement of a command already reported as failed
                self._abandoned.discard(int(number))
                log.warning("%s: discarding late reply %r", self.name, reply)
                reply = self.read()
                continue
            break
        else:
            raise self._protocol_error(line, "only late replies to earlier commands")
        if number != str(sequence):
            raise self._protocol_error(line, f"acknowledgement {reply!r} is not for this command")
        error = _ERROR.fullmatch(rest)
        if error is not None:
            raise InstrumentError(self.name, [line], [(int(error.group(1)), error.group(2))])
        if query:
            if rest == f"OK {echo}":
                return ""
            if rest.startswith(f"OK {echo} "):
                return rest[len(f"OK {echo} ") :]
        elif rest == f"OK {echo}":
            return ""
        raise self._protocol_error(line, f"acknowledgement {reply!r} does not echo the command")

    def _protocol_error(self, line: str, explanation: str) -> InstrumentError:
        return InstrumentError(self.name, [line], [(0, explanation)])
