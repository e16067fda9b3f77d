"""The soak (benchmarks/soak.py) on a short stretch of emulated bench time: with at least one
fault of every kind the run is resumed to its end, its records are those of the clean run, no
relay moves under a live source and no device is broken by the run; and each of the soak's
checks can fail: a changed record, a relay moved under a live source, a device broken down."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
from pathlib import Path

import numpy as np
import pytest

from mtjlab.bench.emulated import EmulatedBench
from mtjlab.bench.file import builtin_bench_path, load_bench
from mtjlab.runs.store import RunStore
from mtjlab.sim.chip import OK, SHORTED

SOAK_FILE = Path(__file__).resolve().parents[1] / "benchmarks" / "soak.py"


def load_soak():
    spec = importlib.util.spec_from_file_location("mtjlab_benchmark_soak", SOAK_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


soak = load_soak()


@pytest.fixture(scope="module")
def soaked(tmp_path_factory):
    """Three minutes of emulated bench time (about 40 s of wall time on two cores)."""
    work = tmp_path_factory.mktemp("soak")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        status = soak.main(["--bench-minutes", "3", "--seed", "1", "--keep", str(work)])
    report = json.loads((work / "report.json").read_text())
    return status, report, printed.getvalue()


def test_the_run_survives_every_kind_of_fault(soaked):
    status, report, printed = soaked
    assert status == 0 and report["ok"], printed
    assert all(report["checks"].values())
    for kind in soak.KINDS:
        assert report["injected_by_kind"][kind] >= 1, kind
        assert report["survived_by_kind"][kind] == report["injected_by_kind"][kind], kind
    assert report["faults_injected"] == report["faults_planned"] == report["faults_survived"]
    assert report["faulted_finished"] and report["clean_finished"]
    assert not report["unexpected"]
    # every fault but the breakdown ended an attempt, and a new process resumed the run
    random_faults = report["faults"][:-1]
    for fault in random_faults:
        assert fault["effect"].startswith(("ended the attempt: ", "SIGKILL")), fault
    assert report["attempts"] == len(random_faults) + 1  # and the last one finished it
    kill = next(f for f in report["faults"] if f["kind"] == "kill")
    assert kill["effect"] == "SIGKILL"
    assert "result: PASS" in printed


def test_the_faulted_run_has_the_records_of_the_clean_one(soaked):
    _, report, printed = soaked
    comparison = report["comparison"]
    assert comparison["identical"], comparison["differences"]
    faulted, clean = comparison["records"]
    assert faulted == clean > 0
    assert comparison["units"] == [report["units"]] * 2
    assert comparison["results_identical"] and comparison["states_identical"]
    assert report["bench_s_clean"] >= 3 * 60
    assert "identical" in printed


def test_no_relay_moved_live_and_no_device_broke(soaked):
    _, report, _ = soaked
    assert report["live_relay_moves"] == 0
    assert report["live_relay_moves_in_circuit_log"] == 0
    faulted, clean = report["relay_moves_checked"]
    assert faulted > 0 and clean > 0
    assert report["relay_wrap_agrees_with_circuit_log"]
    assert report["devices_broken_by_run"] == []
    breakdown = report["faults"][-1]
    assert breakdown["kind"] == "breakdown" and breakdown["survived"]


def copy_run(source, run_id, target, change=lambda unit, index, record: record):
    """Run ``run_id`` of store ``source`` written anew into store ``target`` through the store's
    own API (so with new commit times), each record passed through ``change`` (None drops it);
    the new run's id."""
    with RunStore(source, read_only=True) as s:
        info = s.run(run_id)
        results = s.unit_results(run_id)
        states = s.latest_states(run_id)
        by_unit: dict[str, list[dict]] = {}
        for r in s.records(run_id):
            by_unit.setdefault(r["unit"], []).append(r)
    last_unit = {unit.split("/")[-1]: unit for unit in results}  # "array=A": its last unit
    with RunStore(target) as t:
        new_id = t.create_run(info.kind, info.parameters, seed=info.seed, snapshot=info.snapshot)
        for unit, result in results.items():
            t.begin_unit(new_id, unit)
            for r in by_unit.get(unit, []):
                data = {k: v for k, v in r.items() if k not in ("unit", "index")}
                data = change(unit, r["index"], data)
                if data is not None:
                    t.append(new_id, unit, data)
            key = unit.split("/")[-1]
            state = states[key] if last_unit[key] == unit else None
            t.finish_unit(
                new_id, unit, state_key=key if state else None, state=state, result=result
            )
        t.set_status(new_id, "finished")
    return new_id


def runs_of(report):
    (faulted, run_id), (clean, clean_id) = report["runs"]["faulted"], report["runs"]["clean"]
    return faulted, run_id, clean, clean_id


def units_of(store, run_id):
    with RunStore(store, read_only=True) as s:
        return list(s.unit_results(run_id))


def test_the_comparison_leaves_out_commit_times_only(soaked, tmp_path):
    faulted, run_id, clean, clean_id = runs_of(soaked[1])
    copy = tmp_path / "copy.db"
    copy_id = copy_run(faulted, run_id, copy)
    with RunStore(copy, read_only=True) as a, RunStore(faulted, read_only=True) as b:
        assert (
            a.records(copy_id, with_time=True)[0]["time"]
            != b.records(run_id, with_time=True)[0]["time"]
        )
    assert soak.compare_runs(copy, copy_id, clean, clean_id)["identical"]


def test_the_comparison_notices_a_changed_record(soaked, tmp_path):
    faulted, run_id, clean, clean_id = runs_of(soaked[1])
    changed = tmp_path / "changed.db"

    last = units_of(faulted, run_id)[-1]
    where = []

    def change(unit, index, record):  # the first cell read of the last unit, 0.1 % higher
        if unit == last and "resistance_ohm" in record and not where:
            where.append(index)
            return {**record, "resistance_ohm": record["resistance_ohm"] * 1.001}
        return record

    changed_id = copy_run(faulted, run_id, changed, change)
    comparison = soak.compare_runs(changed, changed_id, clean, clean_id)
    assert not comparison["identical"] and not comparison["records_identical"]
    (difference,) = comparison["differences"]
    assert difference.startswith(f"{last} record {where[0]}: resistance_ohm ")
    assert comparison["results_identical"] and comparison["states_identical"]


def test_the_comparison_notices_a_missing_record(soaked, tmp_path):
    faulted, run_id, clean, clean_id = runs_of(soaked[1])
    cut = tmp_path / "cut.db"
    first = units_of(faulted, run_id)[0]

    def drop_first(unit, index, record):
        return None if (unit, index) == (first, 0) else record

    cut_id = copy_run(faulted, run_id, cut, drop_first)
    comparison = soak.compare_runs(cut, cut_id, clean, clean_id)
    assert not comparison["identical"]
    faulted_count, clean_count = comparison["records"]
    assert faulted_count == clean_count - 1


@pytest.fixture
def watched():
    emulated = EmulatedBench(load_bench(builtin_bench_path()))
    events = io.StringIO()
    monitor = soak._Monitor({"faults": []}, events)
    monitor.attach(emulated)
    return emulated, monitor, events


def emitted(events, name):
    return [e for e in map(json.loads, events.getvalue().splitlines()) if e["event"] == name]


def test_the_relay_check_counts_a_relay_moved_under_a_live_source(watched):
    emulated, monitor, events = watched
    matrix = emulated.emulator("matrix")
    matrix.write('channel.close("1A01")')  # nothing live
    emulated.circuit.set_level("drive", 0.1)
    matrix.write('channel.close("1C02")')  # the drive terminal at 0.1 V
    emulated.circuit.set_level("drive", 0.0)
    matrix.write('channel.open("allslots")')  # live no more
    assert monitor.relay_moves == 4 and monitor.live_moves == 1
    assert emitted(events, "live_relay")[0]["live"] == ["drive"]
    relays = monitor.relays()
    assert relays["relay_log"] == 4 and relays["relay_log_live"] == 1


def test_the_breakdown_watch_sees_a_device_the_run_breaks(watched):
    emulated, monitor, events = watched
    backend = emulated.circuit.arrays[1]
    row, col = (int(i) for i in np.argwhere(backend.array.defect == OK)[0])
    v_device = np.zeros(backend.shape)
    v_device[row, col] = 10.0  # far above any device's breakdown voltage
    backend._stress(v_device, 1e-7)
    assert backend.array.defect[row, col] == SHORTED
    (broken,) = emitted(events, "broken")
    assert (broken["array"], broken["row"], broken["col"]) == (1, row, col)
