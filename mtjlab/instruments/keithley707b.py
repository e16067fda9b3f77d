"""Keithley 707B / 708B switching matrix (TSP) as a
:class:`~mtjlab.instruments.roles.SwitchMatrix`; pymeasure has no driver for it.

A channel is one crosspoint named ``<slot><row><column>``, e.g. ``1A01`` (slot 1, row A,
column 1). Channel lists are joined with commas into one TSP string literal, after every name has
been checked against that grammar, so no input can close the literal or add a statement.

Before its first close the driver sets the connect rule to break-before-make and reads it back:
with it, every switch opens before any closes, so no two paths are joined while switching
(Models 707B and 708B Switching Matrix Reference Manual, 707B-901-01: section 2, connection
methods for close operations; section 7, ``channel.connectrule``, whose other rules are
``channel.MAKE_BEFORE_BREAK`` and ``channel.OFF``). Commands and the error queue follow
section 7 (``channel.close``, ``channel.open``, ``channel.exclusiveclose``,
``channel.getclose``, ``errorqueue.next``).
"""

from __future__ import annotations

from collections.abc import Iterable

from pymeasure.instruments import Instrument

from ._errors import TspErrorQueue
from ._grammar import ascii_pattern, check_names
from .roles import ChannelSpecError, LinkNodeMatrix, SwitchMatrix


class Keithley707B(TspErrorQueue, Instrument, SwitchMatrix, LinkNodeMatrix):
    """Keithley 707B: six slots, each an 8-row (A-H) by 12-column (01-12) matrix card."""

    channel_pattern = ascii_pattern(r"[1-6][A-H](0[1-9]|1[0-2])")
    channel_form = "<slot 1-6><row A-H><column 01-12>, e.g. 1A01"
    row_form = "a row letter A-H (rows are bused across the slots)"
    column_form = "<slot 1-6><column 01-12>, e.g. 105 for slot 1, column 05"
    first_column = "101"

    @classmethod
    def crosspoint(cls, row: str, column: str) -> str:
        if not (isinstance(row, str) and len(row) == 1):
            raise ChannelSpecError(f"matrix row {row!r} is not of the form {cls.row_form}")
        if not (isinstance(column, str) and len(column) == 3):
            raise ChannelSpecError(f"matrix column {column!r} is not of the form {cls.column_form}")
        name = column[0] + row + column[1:]
        if cls.channel_pattern.fullmatch(name) is None:
            raise ChannelSpecError(
                f"matrix row {row!r} and column {column!r} make no {cls.__name__} channel; "
                f"rows: {cls.row_form}; columns: {cls.column_form}"
            )
        return name

    def __init__(self, adapter, name: str = "Keithley 707B Switching Matrix", **kwargs):
        super().__init__(adapter, name, includeSCPI=False, **kwargs)
        self._break_before_make_confirmed = False

    def _channel_list(self, channels: str | Iterable[str]) -> str:
        return ",".join(check_names(channels, self.channel_pattern, self.channel_form, "channel"))

    def require_break_before_make(self) -> None:
        """Set the connect rule to break-before-make and read it back, once per connection;
        raise, with nothing closed, if the instrument refuses it or holds another rule. (A
        script that switches the matrix over TSP-Link relies on this having been done.)"""
        if self._break_before_make_confirmed:
            return
        self.write("channel.connectrule = channel.BREAK_BEFORE_MAKE")
        self.check_errors()
        # compared on the instrument, so that the check does not rest on the constants' values
        reply = self.ask("print(channel.connectrule == channel.BREAK_BEFORE_MAKE)").strip()
        if reply != "true":
            raise self._failure(
                f"the connect rule is not break-before-make (the check printed {reply!r}); "
                "nothing was closed"
            )
        self._break_before_make_confirmed = True

    def close(self, channels: str | Iterable[str]) -> None:
        names = self._channel_list(channels)
        self.require_break_before_make()
        self.write(f'channel.close("{names}")')
        self.check_errors()

    def open(self, channels: str | Iterable[str]) -> None:
        self.write(f'channel.open("{self._channel_list(channels)}")')
        self.check_errors()

    def exclusive_close(self, channels: str | Iterable[str]) -> None:
        names = self._channel_list(channels)
        self.require_break_before_make()
        self.write(f'channel.exclusiveclose("{names}")')
        self.check_errors()

    def open_all(self) -> None:
        self._write_open_all()
        self.check_errors()

    def closed(self) -> list[str]:
        """Closed channels as the matrix lists them (semicolon-separated, ``nil`` if none)."""
        reply = self.ask('print(channel.getclose("allslots"))').strip()
        if reply == "nil":
            return []
        names = reply.split(";")
        for name in names:
            if self.channel_pattern.fullmatch(name) is None:
                raise self._failure(f"unexpected reply to channel.getclose: {reply!r}")
        return names

    def safe_state(self) -> None:
        """Open every crosspoint. Entries an earlier failure left in the error queue are
        drained first; a failure of the safe state itself is raised as one InstrumentError."""
        self.run_every_step([("open all channels", self._write_open_all)])

    def _write_open_all(self) -> None:
        self.write('channel.open("allslots")')

    def shutdown(self) -> None:
        """Go to the safe state (also on leaving a ``with`` block)."""
        self.safe_state()
        Instrument.shutdown(self)


class Keithley708B(Keithley707B):
    """Keithley 708B: one slot, an 8-row (A-H) by 12-column (01-12) matrix card."""

    channel_pattern = ascii_pattern(r"1[A-H](0[1-9]|1[0-2])")
    channel_form = "1<row A-H><column 01-12>, e.g. 1A01"
    column_form = "1<column 01-12>, e.g. 105 for column 05"

    def __init__(self, adapter, name: str = "Keithley 708B Switching Matrix", **kwargs):
        super().__init__(adapter, name, **kwargs)
