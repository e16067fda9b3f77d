"""A run's log: ``mtjlab.log`` in its output folder, and what reaches the terminal
(``--log-level``).

The file gets, with UTC times, the command line, the run and its store, a progress line every
tenth of the way (on a terminal too, where the bar is drawn instead), the end or the
interruption, and an error with its traceback (the terminal shows the one line). At
``--log-level debug`` it also gets every command and reply of the bench's instruments
(pymeasure's and pyvisa's own debug lines) and mtjlab's debug messages, and so does the terminal.
"""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_FILE = "mtjlab.log"
#: Loggers whose lines are a run's: mtjlab's, and the instrument libraries' (pymeasure's
#: adapters log each command and reply under "Adapter" unless given a logger).
_OURS = ("mtjlab", "pymeasure", "pyvisa", "Adapter", "serial")
#: Progress lines, which the terminal already shows (bar or line): to the file only.
PROGRESS_LOGGER = "mtjlab.progress"

log = logging.getLogger("mtjlab.run")
#: For lines the terminal has already been told in its own words (``log.info(..., extra=ONCE)``).
ONCE = {"file_only": True}
#: The command line of this process's command, as main() was given it.
_COMMAND_LINE: list[str] = []


def set_command_line(argv: list[str]) -> None:
    """What the log's first line says was run (main()'s argv, which tests pass in-process)."""
    _COMMAND_LINE[:] = argv


def add_log_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--log-level",
        type=str.lower,
        choices=LOG_LEVELS,
        default="warning",
        help="what reaches the terminal besides progress and results (default warning); "
        f"debug adds every instrument command and reply. The output folder's {LOG_FILE} "
        "always keeps info and above (debug too with --log-level debug)",
    )


class _Ours(logging.Filter):
    def __init__(self, console: bool) -> None:
        super().__init__()
        self.console = console

    def filter(self, record: logging.LogRecord) -> bool:
        if self.console and (record.name == PROGRESS_LOGGER or hasattr(record, "file_only")):
            return False
        return record.name.split(".")[0] in _OURS


def _utc_formatter(fmt: str) -> logging.Formatter:
    formatter = logging.Formatter(fmt + "%(message)s", "%Y-%m-%dT%H:%M:%S")
    formatter.converter = time.gmtime
    return formatter


@contextmanager
def run_log(out: Path, level: str = "warning") -> Iterator[Path]:
    """Log to ``out/mtjlab.log`` (appended: a resumed run goes on in the same file) and to
    stderr at ``level`` while the block runs; every handler and level is put back after."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / LOG_FILE
    console_level = getattr(logging, level.upper())
    file_level = min(console_level, logging.INFO)
    file_handler = logging.FileHandler(path, encoding="utf-8")
    file_handler.setLevel(file_level)
    file_handler.setFormatter(_utc_formatter("%(asctime)s.%(msecs)03dZ %(levelname)s %(name)s: "))
    file_handler.addFilter(_Ours(console=False))
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(console_level)
    console.setFormatter(logging.Formatter("mtjlab: %(levelname)s %(name)s: %(message)s"))
    console.addFilter(_Ours(console=True))
    root = logging.getLogger()
    before = root.level
    root.setLevel(min(file_level, console_level))
    root.addHandler(file_handler)
    root.addHandler(console)
    try:
        log.info("command: mtjlab %s", shlex.join(_COMMAND_LINE or sys.argv[1:]), extra=ONCE)
        yield path
    except KeyboardInterrupt:
        log.warning("interrupted (Ctrl-C or SIGTERM): the run is kept to resume", extra=ONCE)
        raise
    except BaseException as exc:
        if not isinstance(exc, SystemExit):
            log.error("ended by %s: %s", type(exc).__name__, exc, exc_info=exc, extra=ONCE)
        raise
    finally:
        root.removeHandler(file_handler)
        root.removeHandler(console)
        root.setLevel(before)
        file_handler.close()
