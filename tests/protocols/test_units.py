"""Resumable units: a unit's backends' states stored with it and put back on resume."""

import numpy as np
import pytest

from mtjlab.core.states import AP, P
from mtjlab.runs.store import RunStore
from mtjlab.runs.units import StateGroup, Unit, UnitRunner
from mtjlab.sim.backend import SimulatedBackend
from mtjlab.sim.chip import Chip


def _backends():
    """Arrays 0 and 1 of chip 0, on a chip of their own (arrays of one chip share state)."""
    chip = Chip.from_seed(0)
    return SimulatedBackend(chip, 0), SimulatedBackend(chip, 1)


def _flipped(backend):
    return np.where(backend.array.state == P, AP, P).astype(np.int8)


def test_a_group_puts_back_each_member_in_order():
    a, b = _backends()
    before_a, before_b = a.array.state.copy(), b.array.state.copy()
    assert (before_a != before_b).any()  # so a swap of the two would show
    blob = StateGroup([a, b]).snapshot_state()
    a.array.state[...] = _flipped(a)
    b.array.state[...] = _flipped(b)
    StateGroup([a, b]).restore_state(blob)
    np.testing.assert_array_equal(a.array.state, before_a)
    np.testing.assert_array_equal(b.array.state, before_b)


def test_a_cut_or_mismatched_group_state_is_refused():
    a, b = _backends()
    blob = StateGroup([a, b]).snapshot_state()
    with pytest.raises(ValueError, match="cut short"):
        StateGroup([a, b]).restore_state(blob[:-1])
    with pytest.raises(ValueError, match="holds 2 states for 1 backends"):
        StateGroup([a]).restore_state(blob)


def test_a_grouped_unit_resumes_with_both_arrays_as_it_left_them(tmp_path):
    a, b = _backends()
    flipped_a, flipped_b = _flipped(a), _flipped(b)
    with RunStore(tmp_path / "s.db") as store:
        run = store.create_run("test", {}, seed=0, snapshot={})

        def measure(record):
            a.array.state[...] = flipped_a
            b.array.state[...] = flipped_b
            record({"x": 1})
            return {"done": True}

        UnitRunner({"arrays=0+1": StateGroup([a, b])}, store, run).run(
            Unit("u", "arrays=0+1", measure)
        )
        fresh_a, fresh_b = _backends()
        runner = UnitRunner({"arrays=0+1": StateGroup([fresh_a, fresh_b])}, store, run)
    assert runner.done("u")
    np.testing.assert_array_equal(fresh_a.array.state, flipped_a)
    np.testing.assert_array_equal(fresh_b.array.state, flipped_b)


class _RealArray:
    """Stands for an array on a bench: it keeps its own state, so it has none to save."""

    def snapshot_state(self):
        return None

    def restore_state(self, blob):
        raise AssertionError("a real array's state is never restored")


def test_a_unit_on_a_real_array_is_stored_without_a_state(tmp_path):
    with RunStore(tmp_path / "s.db") as store:
        run = store.create_run("test", {}, seed=0, snapshot={})
        UnitRunner({"array=0": _RealArray()}, store, run).run(
            Unit("u", "array=0", lambda record: {"done": True})
        )
        assert store.latest_states(run) == {}
        assert UnitRunner({"array=0": _RealArray()}, store, run).results == {"u": {"done": True}}
