"""Reading an instrument's error queue after commands that can fail (SCPI and TSP dialects).

The mixins remember every command written since the last check, so that an
:class:`~mtjlab.instruments.roles.InstrumentError` names the instrument and the commands.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Callable, Iterable, Sequence

from pymeasure.instruments import Instrument

from mtjlab.core.signals import signals_held

from .roles import InstrumentError

log = logging.getLogger(__name__)

#: An instrument queue holds at most a few dozen entries; more means the replies are garbage.
_MAX_ERRORS = 64
#: How many of the commands sent since the last check an error names (the most recent ones).
_MAX_NAMED_COMMANDS = 32


def try_every(steps: Iterable[tuple[str, Callable[[], object]]]) -> list[tuple[str, Exception]]:
    """Run every ``(label, step)``, whatever an earlier one raised; return the ``(label,
    exception)`` of each that failed. For safe states: one refused or timed-out step must not
    leave the rest undone, so Ctrl-C and SIGTERM wait until the last step has run (and an
    interrupt raised inside a step, outside the main thread, is raised again after them)."""
    failed: list[tuple[str, Exception]] = []
    stopped: BaseException | None = None
    with signals_held():
        for label, step in steps:
            try:
                step()
            except Exception as exc:  # noqa: BLE001 - every step is tried, each failure returned
                failed.append((label, exc))
            except BaseException as exc:  # KeyboardInterrupt, SystemExit: after the last step
                stopped = stopped or exc
    if stopped is not None:
        raise stopped
    return failed


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

    def drain_errors(self) -> list[tuple[int, str]]:
        """Read the error queue until it is empty and return its entries without raising:
        entries a failed operation left behind, so that the next check reports only its own
        commands' errors. An unreadable reply ends the drain and is returned as an entry."""
        errors: list[tuple[int, str]] = []
        for _ in range(_MAX_ERRORS):
            try:
                code, message = self._parse_error(self.ask(self.error_query))
            except Exception as exc:  # noqa: BLE001 - a dead link must not stop a safe state
                errors.append((0, f"error queue unreadable: {exc}"))
                break
            if code == 0:
                break
            log.warning("%s: left in the error queue: %d, %s", self.name, code, message)
            errors.append((code, message))
        self._take_sent()
        return errors

    def run_every_step(self, steps: Sequence[tuple[str, Callable[[], object]]]) -> None:
        """Run every ``(label, step)`` even when an earlier one fails, then read the error
        queue; raise one :class:`InstrumentError` listing every failure, if there was one.

        For a safe state: one refused or timed-out command must not leave the rest undone.
        Entries left in the queue by an earlier failure are drained (and logged) first, so
        they are not mistaken for a failure of the safe state itself.
        """
        self.drain_errors()
        failures: list[tuple[int, str]] = []
        sent: list[str] = []
        # the queue is read last, and its entries are its own (no label)
        for label, exc in try_every([*steps, ("", self.check_errors)]):
            if isinstance(exc, InstrumentError):
                sent.extend(exc.commands)
                failures.extend(
                    (code, f"{label}: {message}" if label else message)
                    for code, message in exc.errors
                )
            else:
                failures.append((0, f"{label or 'error queue'}: {type(exc).__name__}: {exc}"))
        sent.extend(self._take_sent())
        if failures:
            raise InstrumentError(self.name, sent, failures)

    def check_get_errors(self) -> list:
        return self.check_errors()

    def check_set_errors(self) -> list:
        return self.check_errors()

    #: Relative difference between a value set and its read-back that counts as a refusal
    #: (rather than the instrument's rounding to its resolution).
    read_back_rel_tol = 0.01

    def _read_number(self, what: str, query: str) -> float:
        """Ask ``query`` and return its reply as a number; anything else is an error."""
        reply = self.ask(query).strip()
        try:
            return float(reply)
        except ValueError:
            raise self._failure(f"{what}: {query!r} answered {reply!r}, not a number") from None

    def _confirm_number(
        self, what: str, query: str, wanted: float, unit: str, abs_tol: float = 0.0
    ) -> None:
        """Raise unless ``query`` reads back ``wanted`` within ``read_back_rel_tol``."""
        held = self._read_number(what, query)
        if not math.isclose(held, wanted, rel_tol=self.read_back_rel_tol, abs_tol=abs_tol):
            raise self._failure(
                f"{what} reads back as {held:g} {unit} after setting {wanted:g} {unit}"
            )

    def _confirm_text(self, what: str, query: str, wanted: str) -> None:
        """Raise unless ``query`` reads back exactly ``wanted``."""
        reply = self.ask(query).strip()
        if reply != wanted:
            raise self._failure(f"{what} reads back as {reply!r} after setting {wanted!r}")

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
