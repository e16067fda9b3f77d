"""A bench run's transcript: every command the drivers send and every reply, with its time and the
instruments it went to, in ``transcript.tsv`` beside the run's other outputs.

pymeasure's adapters log each command and reply at debug level on their ``log``; each adapter a
bench connects is given a logger of its own under ``mtjlab.wire`` named for the instruments at
its resource (``mtjlab.wire.smu_a+smu_b``) before its driver says a word, and
:func:`transcribing` collects what they log while a run measures, whatever the log level. A
line per exchange, tab-separated: UTC time, instruments, ``>`` to them or ``<`` from them, the
text with its backslashes, tabs and line breaks escaped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from mtjlab.core.wiring import Bench

WIRE = "mtjlab.wire"
TRANSCRIPT_FILE = "transcript.tsv"
SENT, RECEIVED = ">", "<"
_ESCAPES = (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"))


@dataclass(frozen=True)
class Exchanged:
    """One line of a transcript."""

    time: str
    instruments: str
    direction: str
    text: str


def wire_names(bench: Bench) -> dict[str, str]:
    """The name of each resource's wire: the instruments at it, joined by ``+``."""
    names: dict[str, list[str]] = {}
    for name, entry in bench.instruments.items():
        names.setdefault(entry.resource, []).append(name)
    return {resource: "+".join(n) for resource, n in names.items()}


def wire_logger(name: str) -> logging.Logger:
    return logging.getLogger(f"{WIRE}.{name}")


def escaped(text: str) -> str:
    """``text`` on one line: backslashes, tabs and line breaks escaped as in a transcript."""
    for raw, escaped in _ESCAPES:
        text = text.replace(raw, escaped)
    return text


def _unescape(text: str) -> str:
    out, i = [], 0
    back = {escaped[1]: raw for raw, escaped in _ESCAPES}
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text) and text[i + 1] in back:
            out.append(back[text[i + 1]])
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


class _TranscriptHandler(logging.Handler):
    """Appends each command and reply logged on a wire to the transcript file, opened on the
    first (a run on the simulated bench sends none and gets no file)."""

    def __init__(self, path: Path) -> None:
        super().__init__(logging.DEBUG)
        self.path = path
        self._file = None

    def emit(self, record: logging.LogRecord) -> None:
        message = str(record.msg)
        if message.startswith("WRITE:"):
            direction = SENT
        elif message.startswith("READ:"):
            direction = RECEIVED
        else:
            return
        text = record.getMessage().split(":", 1)[1]
        when = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        when += f".{int(record.msecs):03d}Z"
        instruments = record.name.removeprefix(WIRE + ".")
        try:
            if self._file is None:
                self._file = self.path.open("a", encoding="utf-8")
            self._file.write(f"{when}\t{instruments}\t{direction}\t{escaped(text)}\n")
            self._file.flush()
        except OSError:
            self.handleError(record)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        super().close()


@contextmanager
def transcribing(path: Path) -> Iterator[Path]:
    """Every wire's commands and replies appended to ``path`` while the block runs (a resumed
    run goes on in the same file); the wire loggers' level is put back after."""
    logger = logging.getLogger(WIRE)
    handler = _TranscriptHandler(path)
    before = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    try:
        yield path
    finally:
        logger.removeHandler(handler)
        logger.setLevel(before)
        handler.close()


def read_transcript(path: Path) -> list[Exchanged]:
    """The lines of a transcript file; a line that is not one is a ValueError naming it."""
    lines = []
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 4 or parts[2] not in (SENT, RECEIVED):
                raise ValueError(f"{path}:{number}: not a transcript line: {line[:60]!r}")
            lines.append(Exchanged(parts[0], parts[1], parts[2], _unescape(parts[3])))
    return lines
