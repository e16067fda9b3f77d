"""Signals held off while the bench is being made safe: a Ctrl-C or SIGTERM that arrives then is
remembered, said to be waiting, and delivered once the safe state has run to its end.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

#: The signals a person or a scheduler stops a run with.
HELD = (signal.SIGINT, signal.SIGTERM)

_depth = 0  # nested holds (a bench's safe state runs each instrument's): one set of handlers


@contextmanager
def signals_held(what: str | None = "making the bench safe") -> Iterator[None]:
    """Run the block to its end whatever SIGINT or SIGTERM arrives meanwhile.

    A signal that arrives is kept, and the person who pressed Ctrl-C (again) is told on stderr
    that ``what`` is going on and to wait (nothing is said for a block too short to notice,
    ``what=None``, such as a commit); when the block ends, however it ends, the previous
    handlers are back and the first signal kept is delivered to them, so the program stops as
    it would have. Outside the main thread (where Python runs no handler) the block just runs.
    """
    global _depth
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    if _depth:
        _depth += 1
        try:
            yield
        finally:
            _depth -= 1
        return
    kept: list[int] = []

    def keep(signum: int, frame: FrameType | None) -> None:
        if not kept and what is not None:
            name = signal.Signals(signum).name
            print(f"\nmtjlab: {name} received while {what}; wait for it to finish", file=sys.stderr)
        kept.append(signum)

    # getsignal is None for a handler set outside Python; the default is what it would do
    previous = {s: signal.getsignal(s) or signal.SIG_DFL for s in HELD}
    for s in HELD:
        signal.signal(s, keep)
    _depth = 1
    try:
        yield
    finally:
        _depth = 0
        for s, handler in previous.items():
            signal.signal(s, handler)
        if kept:
            signal.raise_signal(kept[0])
