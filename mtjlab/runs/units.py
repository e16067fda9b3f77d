"""Resumable runs: a run is a list of named units, each measured whole and committed to the run
store with the backend's state, so an interrupted run redoes only the unit it was in.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from mtjlab.core.backend import ArrayBackend, Stateful
from mtjlab.core.records import Measure
from mtjlab.runs.store import RunStore


class StateGroup:
    """Backends a unit changes together (two arrays holding the two layers of one network),
    whose states are saved and put back as one: length-prefixed, in the order given."""

    def __init__(self, backends: Sequence[ArrayBackend]) -> None:
        if not backends:
            raise ValueError("a state group needs at least one backend")
        self.backends = tuple(backends)

    def snapshot_state(self) -> bytes | None:
        parts = []
        for backend in self.backends:
            blob = backend.snapshot_state()
            if blob is None:
                return None  # real arrays keep their states by themselves
            parts.append(struct.pack("<Q", len(blob)) + blob)
        return b"".join(parts)

    def restore_state(self, blob: bytes) -> None:
        view, blobs = memoryview(blob), []
        while view:
            if len(view) < 8:
                raise ValueError("a grouped state is cut short")
            (n,) = struct.unpack("<Q", view[:8])
            if len(view) < 8 + n:
                raise ValueError("a grouped state is cut short")
            blobs.append(bytes(view[8 : 8 + n]))
            view = view[8 + n :]
        if len(blobs) != len(self.backends):
            raise ValueError(
                f"a grouped state holds {len(blobs)} states for {len(self.backends)} backends"
            )
        for backend, state in zip(self.backends, blobs, strict=True):
            backend.restore_state(state)


@dataclass(frozen=True)
class Unit:
    """One piece of a run: ``measure(record)`` does it, handing each record to ``record`` as it is
    measured, and returns a JSON-friendly result; ``state_key`` names the backend (or the
    :class:`StateGroup`) it changes."""

    name: str
    state_key: str
    measure: Callable[[Callable[[dict], None]], dict]


class UnitRunner:
    """Runs units once each, in order, against a run store or in memory.

    With a store, finished units are skipped, a unit cut short is started again without its
    partial records, and each backend is put back in the state its last finished unit left
    (for backends that have a state of their own, such as the simulator).
    """

    def __init__(
        self,
        backends: Mapping[str, Stateful],
        store: RunStore | None = None,
        run_id: int | None = None,
    ) -> None:
        if (store is None) != (run_id is None):
            raise ValueError("give both store and run_id, or neither")
        self.backends = dict(backends)
        self.store = store
        self.run_id = run_id
        self.results: dict[str, dict] = {}
        if store is not None and run_id is not None:
            self.results = store.unit_results(run_id)
            for key, blob in store.latest_states(run_id).items():
                if key not in self.backends:
                    raise ValueError(f"stored state {key!r} has no backend in this run")
                self.backends[key].restore_state(blob)

    def done(self, name: str) -> bool:
        return name in self.results

    def commit(
        self,
        name: str,
        state_key: str,
        result: dict,
        state: bytes | None,
        records: list[dict],
    ) -> None:
        """Record a unit measured elsewhere (another process) as if :meth:`run` had measured it;
        ``state`` is the backend's state after it, from ``snapshot_state``."""
        if self.store is not None and self.run_id is not None:
            self.store.begin_unit(self.run_id, name)
            for record in records:
                self.store.append(self.run_id, name, record)
            self.store.finish_unit(
                self.run_id,
                name,
                state_key=None if state is None else state_key,
                state=state,
                result=result,
            )
        self.results[name] = result

    def run_unit(self, name: str, state_key: str, measure: Measure) -> dict:
        """:meth:`run` as a protocol's ``run_unit`` (``mtjlab.core.records.RunUnit``)."""
        return self.run(Unit(name, state_key, measure))

    def run(self, unit: Unit) -> dict:
        """Measure ``unit`` unless it is done already; return its result."""
        if unit.name in self.results:
            return self.results[unit.name]
        backend = self.backends[unit.state_key]
        if self.store is None or self.run_id is None:
            result = unit.measure(lambda record: None)
        else:
            store, run_id = self.store, self.run_id
            store.begin_unit(run_id, unit.name)
            result = unit.measure(lambda record: store.append(run_id, unit.name, record))
            state = backend.snapshot_state()  # None: a real array, which keeps its own state
            store.finish_unit(
                run_id,
                unit.name,
                state_key=None if state is None else unit.state_key,
                state=state,
                result=result,
            )
        self.results[unit.name] = result
        return result
