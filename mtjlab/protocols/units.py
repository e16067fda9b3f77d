"""Resumable runs: a run is a list of named units, each measured whole and committed to the run
store with the backend's state, so an interrupted run redoes only the unit it was in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from mtjlab.backend import ArrayBackend
from mtjlab.store import RunStore


@dataclass(frozen=True)
class Unit:
    """One piece of a run: ``measure(record)`` does it, handing each record to ``record`` as it is
    measured, and returns a JSON-friendly result; ``state_key`` names the backend it changes."""

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
        backends: Mapping[str, ArrayBackend],
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
                self.run_id, name, state_key=state_key, state=state, result=result
            )
        self.results[name] = result

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
            store.finish_unit(
                run_id,
                unit.name,
                state_key=unit.state_key,
                state=backend.snapshot_state(),
                result=result,
            )
        self.results[unit.name] = result
        return result
