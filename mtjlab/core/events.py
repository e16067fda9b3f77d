"""Progress events: how a protocol says how far it has got, without printing.

A protocol takes an optional ``progress`` callable and calls it with :class:`Progress` events; the
command line draws them as progress bars, a notebook may log them, tests may collect them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Progress:
    """``done`` of ``total`` steps of ``task`` are finished.

    ``task`` names the stage (``"write-verify"``, ``"switching"``, ...); ``unit`` what one step is
    (``"pulse"``, ``"pattern"``, ``"trial"``); ``detail`` a short free text for the current step.
    The first event of a task has the steps finished before it began in ``done``: 0, or, when a
    run resumes, the units it had already stored (a rate or time left is then measured from
    there, not from 0); the last has ``done == total``.
    """

    task: str
    done: int
    total: int
    unit: str = "step"
    detail: str = ""


ProgressCallback = Callable[[Progress], None]


def emit(progress: ProgressCallback | None, event: Progress) -> None:
    """Send ``event`` to ``progress`` if there is one."""
    if progress is not None:
        progress(event)
