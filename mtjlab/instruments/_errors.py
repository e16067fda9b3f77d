"""Reading an instrument's error queue after commands that can fail (SCPI and TSP dialects).

The mixins remember every command written since the last check, so that an
:class:`~mtjlab.instruments.roles.InstrumentError` names the instrument and the commands.
"""

from __future__ import annotations

import logging
from collections import deque

from pymeasure.instruments import Instrument

from .roles import InstrumentError

log = logging.getLogger(__name__)

#: An instrument queue holds at most a few dozen entries; more means the replies are garbage.
_MAX_ERRORS = 64
#: How many of the commands sent since the last check an error names (the most recent ones).
_MAX_NAMED_COMMANDS = 32


class _ErrorQueue(Instrument):
    error_query = ""

    def write(self, command: str, **kwargs) -> None:
        if command != self.error_query:
            self._sent_since_check().append(command)
        super().write(command, **kwargs)

    def _sent_since_check(self) -> deque[str]:
        # created on first use: pymeasure base classes may write from their __init__
        if "_unchecked" not in self.__dict__:
            self._unchecked: deque[str] = deque(maxlen=_MAX_NAMED_COMMANDS)
        return self._unchecked

    def _take_sent(self) -> list[str]:
        sent = list(self._sent_since_check())
        self._unchecked.clear()
        return sent

    def _parse_error(self, reply: str) -> tuple[int, str]:
        raise NotImplementedError

    def check_errors(self) -> list:
        """Read the error queue until it is empty; raise :class:`InstrumentError` naming the
        commands sent since the last check if it held anything. Returns an empty list
        otherwise (the pymeasure convention)."""
        errors: list[tuple[int, str]] = []
        for _ in range(_MAX_ERRORS):
            reply = self.ask(self.error_query)
            try:
                code, message = self._parse_error(reply)
            except (ValueError, IndexError):
                errors.append((0, f"unreadable error-queue reply {reply!r}"))
                break
            if code == 0:
                break
            log.error("%s: %d, %s", self.name, code, message)
            errors.append((code, message))
        commands = self._take_sent()
        if errors:
            raise InstrumentError(self.name, commands, errors)
        return []

    def check_get_errors(self) -> list:
        return self.check_errors()

    def check_set_errors(self) -> list:
        return self.check_errors()

    def _failure(self, explanation: str) -> InstrumentError:
        """Return an InstrumentError for a failure the driver saw itself (bad reply)."""
        return InstrumentError(self.name, self._take_sent(), [(0, explanation)])


class ScpiErrorQueue(_ErrorQueue):
    """``SYST:ERR?`` answers ``<code>,"<message>"``; code 0 means the queue is empty."""

    error_query = "SYST:ERR?"

    def _parse_error(self, reply: str) -> tuple[int, str]:
        code, message = reply.strip().split(",", 1)
        return int(code), message.strip().strip('"')


class TspErrorQueue(_ErrorQueue):
    """``errorqueue.next()`` prints code, message, severity and node separated by tabs;
    code 0 means the queue is empty."""

    error_query = "print(errorqueue.next())"

    def _parse_error(self, reply: str) -> tuple[int, str]:
        fields = reply.strip().split("\t")
        return int(float(fields[0])), fields[1]
