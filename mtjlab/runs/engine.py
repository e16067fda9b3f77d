"""The engine: a run is recorded, measured, resumed and summarized the same way whatever its
experiment; starting and resuming are one code path, so a resumed run cannot differ from a fresh
one. Each run's status stays true on every exit, and its ``summary.json`` is written at the end.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

import mtjlab.runs.experiments  # noqa: F401  (declares every experiment in the registry)
from mtjlab.bench.description import from_params
from mtjlab.bench.transcript import TRANSCRIPT_FILE, transcribing
from mtjlab.core.events import ProgressCallback
from mtjlab.runs.context import Context
from mtjlab.runs.registry import EXPERIMENTS, experiment
from mtjlab.runs.store import HEARTBEAT_S, RunStore, StoreError

#: Status of a run that is not finished and may be resumed.
RESUMABLE = ("running", "interrupted", "failed")


def create(store: RunStore, kind: str, params: dict) -> int:
    """Record a new run of ``kind`` in ``store`` (measure it with :func:`execute`)."""
    experiment(kind)  # an unknown kind is refused before a run is recorded
    seed = params["bench"].get("seed")
    return store.create_run(
        kind,
        params,
        seed=None if seed is None else int(seed),
        snapshot=from_params(params["bench"]).snapshot(),
    )


def resume(store: RunStore, run_id: int, *, progress: ProgressCallback | None = None) -> dict:
    """Go on with an unfinished run where it stopped; its finished units are kept as they are."""
    info = store.run(run_id)
    summary = Path(info.parameters.get("out", "")) / "summary.json"
    if info.status == "finished" and not summary.is_file():
        pass  # killed between its last commit and its summary: resuming writes it
    elif info.status not in RESUMABLE:
        raise StoreError(f"run {run_id} in {store.path} is {info.status}; nothing to resume")
    if info.kind not in EXPERIMENTS:
        raise StoreError(f"run {run_id} in {store.path} is of unknown kind {info.kind!r}")
    return execute(store, run_id, progress=progress)


def execute(store: RunStore, run_id: int, *, progress: ProgressCallback | None = None) -> dict:
    """Measure (the rest of) a run, keep its status true on every exit, write its summary.

    The run is this process's alone while it measures: a second process that asks for it is
    refused, naming this one (:class:`~mtjlab.runs.store.RunBusyError`).
    """
    with owning(store, run_id) as lease:
        info = store.run(run_id)
        out = Path(info.parameters["out"])
        out.mkdir(parents=True, exist_ok=True)
        ctx = Context(store, run_id, info.parameters, out, progress)
        store.set_status(run_id, "running")
        try:
            with transcribing(out / TRANSCRIPT_FILE):  # a bench's commands and replies
                summary = experiment(info.kind).run(ctx)
            summary = {"run": run_id, "kind": info.kind, "store": str(store.path), **summary}
            if ctx.emulated is not None:  # a dry run: what the bench would have taken
                summary["bench_time_s"] = ctx.emulated.clock.now_s
                summary["round_trips"] = ctx.emulated.round_trips()
            # The summary first, then "finished": a run killed between the two has its
            # summary, and one killed before both resumes and writes it.
            text = json.dumps(summary, indent=2, default=_plain) + "\n"
            (out / "summary.json").write_text(text)
        except BaseException as exc:
            status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
            try:
                store.set_status(run_id, status)
            except StoreError:  # a full disk: its failure is the one to see, and the lease
                lease.keep = True  # left behind says the run is not being measured any more
            raise
        store.set_status(run_id, "finished")
    return summary


class _Lease:
    """What :func:`owning` hands the block: ``keep`` leaves the lease in the store when the
    block ends (when the run's status could not be written, the leftover lease is what says
    that nobody is measuring it)."""

    keep = False


@contextmanager
def owning(store: RunStore, run_id: int) -> Iterator[_Lease]:
    """Hold run ``run_id``'s lease for the block, with a heartbeat every HEARTBEAT_S from a
    thread of its own (on its own connection), so that a process on another host sharing the
    store sees this one alive; the lease is given up however the block ends."""
    token = store.take_lease(run_id)
    stop = threading.Event()
    thread = threading.Thread(
        target=store.heartbeat, args=(run_id, token, stop), name="mtjlab-lease", daemon=True
    )
    thread.start()
    lease = _Lease()
    try:
        yield lease
    finally:
        stop.set()
        thread.join(timeout=2 * HEARTBEAT_S)
        if lease.keep:
            store.let_go(token)
        else:
            with contextlib.suppress(StoreError):  # the failure that ended the run says why
                store.drop_lease(run_id, token)


def _plain(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")
