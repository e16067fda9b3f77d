"""Running an experiment from the command line: where its outputs and store go, the run itself
(Ctrl-C and SIGTERM end it as interrupted, to resume later) and its end-of-run text.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mtjlab.cli.logs import ONCE, log, run_log
from mtjlab.cli.progress import ProgressView
from mtjlab.runs import engine as runs
from mtjlab.runs.registry import experiment
from mtjlab.runs.store import RunStore


class UsageError(ValueError):
    """A command-line value that cannot be used; reported in one line with exit status 2."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised as Ctrl-C is, so every ``with`` block makes its bench safe on the way out;
    the command then ends with 143 (128 + SIGTERM), as a process SIGTERM ended does."""


#: Exit status after Ctrl-C (128 + SIGINT) and after SIGTERM (128 + SIGTERM).
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143


def interrupted_status(exc: KeyboardInterrupt) -> int:
    return EXIT_TERMINATED if isinstance(exc, Terminated) else EXIT_INTERRUPTED


def out_and_store(args: argparse.Namespace, kind: str) -> tuple[Path, Path]:
    out = args.out or Path(f"mtjlab-{kind}-{time.strftime('%Y%m%d-%H%M%S')}")
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: exists and is not a folder")
    if not out.parent.is_dir():
        raise UsageError(f"--out {out}: {out.parent} is not an existing folder")
    if not os.access(out if out.exists() else out.parent, os.W_OK):
        raise UsageError(f"--out {out}: not writable")
    _try_to_write_in(out)
    out = out.resolve()
    store = args.store or out / "runs.db"
    if args.store is not None and not args.store.parent.is_dir():
        raise UsageError(f"--store {args.store}: folder {args.store.parent} does not exist")
    return out, store


def _try_to_write_in(out: Path) -> None:
    """Write and remove a file in the output folder (made, and removed again, if it was not
    there), so that a folder the system will not write in (/proc, a full or read-only disk that
    os.access does not see) is refused before training or measuring, not after."""
    made = not out.exists()
    try:
        if made:
            out.mkdir()
        probe = out / f".mtjlab-write-check-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise UsageError(f"--out {out}: cannot write there ({exc.strerror or exc})") from None
    finally:
        if made:
            with contextlib.suppress(OSError):  # not made, or not empty: left as it is
                out.rmdir()


def open_store(path: Path, out: Path) -> RunStore:
    if not path.exists() and path.parent == out:
        out.mkdir(parents=True, exist_ok=True)
    return RunStore(path)


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (a scheduler, a closed session) ends a run as Ctrl-C does: through every ``with``
    block, so the array reaches its safe state and the run is marked interrupted."""

    def interrupt(signum: int, frame: object) -> None:
        raise Terminated

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run(kind: str, params: dict, store_path: Path, out: Path, log_level: str = "warning") -> int:
    view = ProgressView()
    store = open_store(store_path, out)
    run_id = None
    try:
        # SIGTERM is Ctrl-C here: the CLI's handler turned it (app._handle)
        with store, run_log(out, log_level):
            run_id = runs.create(store, kind, params)
            said = f"run {run_id} in {store_path} ({kind}), outputs in {out}"
            print(said, file=sys.stderr)
            log.info(said, extra=ONCE)
            summary = runs.execute(store, run_id, progress=view)
            log.info("run %s finished", run_id)
    except KeyboardInterrupt as exc:
        view.close()
        print(
            f"\ninterrupted: run {run_id} is kept in {store_path}; go on with "
            f"`mtjlab runs resume {run_id} --store {store_path}`",
            file=sys.stderr,
        )
        return interrupted_status(exc)
    finally:
        view.close()
    print_summary(summary)
    return 0


def print_summary(summary: dict) -> None:
    """The end-of-run table of a summary, then where its files are."""
    if "bench_time_s" in summary:
        print(
            f"emulated bench: {summary['bench_time_s']:.1f} s of bench time, "
            f"{summary['round_trips']} commands"
        )
    for line in experiment(summary["kind"]).text(summary):
        print(line)
    for name, cells in summary.get("stuck", {}).items():
        for s in cells:
            print(f"array {name} cell ({s['row']}, {s['col']}): {s['reason']}")
    for f in summary.get("figures", []):
        print(f"figure: {f}")
    print(f"run {summary['run']} in {summary['store']}")


def resume(args: argparse.Namespace) -> int:
    view = ProgressView()
    with existing_store(args.store, read_only=False) as store:  # SIGTERM turned as in run()
        print(f"resuming run {args.run_id} in {args.store}", file=sys.stderr)
        out = Path(store.run(args.run_id).parameters.get("out") or ".")
        try:
            with run_log(out, getattr(args, "log_level", "warning")):
                log.info("resuming run %s in %s", args.run_id, args.store, extra=ONCE)
                summary = runs.resume(store, args.run_id, progress=view)
                log.info("run %s finished", args.run_id)
        except KeyboardInterrupt as exc:
            view.close()
            print(f"\ninterrupted again: run {args.run_id} is kept", file=sys.stderr)
            return interrupted_status(exc)
        finally:
            view.close()
    print_summary(summary)
    return 0


def existing_store(path: Path, *, read_only: bool = True) -> RunStore:
    """The run store at ``path``, which must exist (a listing never creates one), opened for
    reading only unless the command writes to it (resume)."""
    if not path.exists():
        raise UsageError(f"--store {path}: no such file")
    return RunStore(path, read_only=read_only)
