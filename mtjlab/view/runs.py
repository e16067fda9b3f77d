"""What the live view shows of the runs in its stores: each run as one row (kind, status,
progress, time left, start and end, the chip or bench), read through read-only connections.

A store is opened for each look and closed straight after: a viewer holds no SQLite transaction
open between looks, so a run's commits and its log's checkpoints never wait on it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from mtjlab.bench.description import bench_label
from mtjlab.runs.info import RunInfo, planned_units
from mtjlab.runs.schema import StoreError
from mtjlab.runs.store import RunStore


class ViewError(ValueError):
    """A store the view cannot read, or a run or figure it does not have: one line for the
    person who asked."""


@dataclass(frozen=True)
class StoreFile:
    """One store the view reads: its place in the command's list and its file."""

    index: int
    path: Path


def check_stores(paths: list[str | os.PathLike]) -> list[StoreFile]:
    """The stores to view, each opened read-only once to see that it can be: a file that is not
    a store, is missing, or cannot be read without writing (a log SQLite cannot index on a
    read-only share) is a ViewError naming it."""
    if not paths:
        raise ViewError("no run store given: name one or more with --store FILE")
    stores = []
    for i, path in enumerate(paths):
        path = Path(path)
        try:
            with RunStore(path, read_only=True):
                pass
        except StoreError as exc:
            raise ViewError(f"--store {path}: {exc}") from None
        stores.append(StoreFile(i, path))
    return stores


@contextmanager
def opened(store: StoreFile) -> Iterator[RunStore]:
    """The store, read-only, for one look; a store that went away or broke meanwhile is a
    ViewError."""
    try:
        with RunStore(store.path, read_only=True) as s:
            yield s
    except StoreError as exc:
        raise ViewError(str(exc)) from None


def read_run(store: StoreFile, run_id: int) -> RunInfo:
    """Run ``run_id`` as ``store`` has it now; ViewError if it has none."""
    with opened(store) as s:
        return s.run(run_id)


def _seconds_between(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def time_left_s(info: RunInfo, unit_times: list[str], planned: int | None) -> float | None:
    """Seconds left of a running run at the pace of its units so far: the mean time between its
    finished units (from the first unit's end, so a resumed run's pause does not count), or the
    time since it started for its first; None when it is not running or has no finished unit."""
    if info.status != "running" or planned is None or not unit_times:
        return None
    left = max(planned - len(unit_times), 0)
    if len(unit_times) >= 2:
        per_unit = _seconds_between(unit_times[0], unit_times[-1]) / (len(unit_times) - 1)
    else:
        per_unit = _seconds_between(info.started, unit_times[0])
    return max(per_unit, 0.0) * left


def _bench_text(parameters: dict) -> str:
    bench = parameters.get("bench")
    if not isinstance(bench, dict):
        return "not recorded"
    try:
        return bench_label(bench)
    except (KeyError, TypeError):
        return "not recorded"


def run_row(store: StoreFile, info: RunInfo, unit_times: list[str]) -> dict:
    """One run as the page's table shows it (JSON-ready)."""
    planned = planned_units(info)
    return {
        "store": store.index,
        "store_name": store.path.name,
        "id": info.id,
        "key": f"{store.index}/{info.id}",
        "kind": info.kind,
        "status": info.status,
        "records": info.n_records,
        "units_done": info.units_done,
        "units_planned": planned,
        "progress": None if not planned else min(info.units_done / planned, 1.0),
        "time_left_s": time_left_s(info, unit_times, planned),
        "started": info.started,
        "ended": info.ended,
        "seed": info.seed,
        "bench": _bench_text(info.parameters),
    }


def now_text() -> str:
    """Now, as the store writes its times (UTC, ISO 8601)."""
    return datetime.now(timezone.utc).isoformat()


def list_runs(stores: list[StoreFile]) -> list[dict]:
    """Every run of every store as a row, newest first within each store."""
    rows = []
    for store in stores:
        with opened(store) as s:
            infos = s.runs()
            times = {
                i.id: list(s.unit_times(i.id).values()) if i.status == "running" else []
                for i in infos
            }
        rows += [run_row(store, i, times[i.id]) for i in reversed(infos)]
    return rows


def find_store(stores: list[StoreFile], index: int) -> StoreFile:
    """The store of that index, or a ViewError."""
    if not 0 <= index < len(stores):
        raise ViewError(f"no store {index}: the view reads {len(stores)}")
    return stores[index]
