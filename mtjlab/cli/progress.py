"""Progress of long commands drawn on stderr: bars with an ETA on a terminal, a line every tenth of
the way when stderr is a log file, so an unattended run's log still says how far it got.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any, TextIO

from tqdm import tqdm

from mtjlab.core.events import Progress

progress_log = logging.getLogger("mtjlab.progress")  # mtjlab.cli.logs.PROGRESS_LOGGER

#: The outermost task of each command (reproduce's is its solutions) gets a bar that stays and,
#: in a log, a line every tenth of the way; inner tasks get bars that go and no log lines.
OUTER_TASKS = ("fidelity", "switching", "rv", "read", "sweep", "reproduce")


class ProgressView:
    """A callable for a protocol's ``progress`` argument that draws its events."""

    def __init__(self, stream: TextIO | None = None, *, enabled: bool = True) -> None:
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._bars: dict[str, Any] = {}
        self._logged: dict[str, int] = {}
        self._started: dict[str, tuple[float, int]] = {}  # by task: when, and done then

    def __call__(self, event: Progress) -> None:
        if not self.enabled:
            return
        line = self._line(event)
        if self.tty:
            self._draw(event)
        elif line is not None:
            print(line, file=self.stream, flush=True)
        if line is not None:
            progress_log.info(line)  # the run's log file (mtjlab.cli.logs), terminal or not

    def close(self) -> None:
        for bar in self._bars.values():
            bar.close()
        self._bars.clear()

    def _draw(self, event: Progress) -> None:
        bar = self._bars.get(event.task)
        if bar is None or event.done == 0 or bar.total != event.total:
            if bar is not None:
                bar.close()
            outer = event.task in OUTER_TASKS
            bar = tqdm(
                total=event.total,
                initial=event.done,  # a resumed run's stored units: not in the rate
                desc=event.task,
                unit=event.unit,
                file=self.stream,
                leave=outer,
                position=0 if outer else 1,
                dynamic_ncols=True,
            )
            self._bars[event.task] = bar
        bar.set_postfix_str(event.detail, refresh=False)
        bar.update(event.done - bar.n)
        if event.done >= event.total and event.task not in OUTER_TASKS:
            bar.close()
            del self._bars[event.task]

    def _line(self, event: Progress) -> str | None:
        # Only the outer task, at most every tenth of the way, with the time it has taken; its
        # first event starts the clock (done is 0, or what a resumed run had stored).
        if event.task not in OUTER_TASKS or event.total <= 0:
            return None
        started = self._started.get(event.task)
        if started is None or event.done < started[1] or event.done == 0:
            self._started[event.task] = (time.monotonic(), event.done)
            self._logged[event.task] = -1  # the next step is logged: an early time left
            return None
        tenth = 10 * event.done // event.total
        if tenth == self._logged.get(event.task):
            return None
        self._logged[event.task] = tenth
        since, done_then = started
        elapsed = time.monotonic() - since
        eta = elapsed / (event.done - done_then) * (event.total - event.done)
        detail = f" ({event.detail})" if event.detail else ""
        return (
            f"{event.task}: {event.done}/{event.total} {event.unit}s, {elapsed:.0f} s, "
            f"about {eta:.0f} s left{detail}"
        )
