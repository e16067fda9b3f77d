"""Datasets of stored runs: each kind's layout and values against what the run store holds, and
their NetCDF3 files read back unchanged."""

import json
from datetime import datetime, timezone

import numpy as np
import pytest
import xarray as xr

import mtjlab
from mtjlab.cli.app import main
from mtjlab.core.patterns import make_pattern, save_pattern
from mtjlab.core.states import NAMES
from mtjlab.protocols.write import KEEP
from mtjlab.runs.datasets import (
    DATASETS,
    NO_RECORD,
    run_dataset,
)
from mtjlab.runs.netcdf import netcdf3_compatible, write_netcdf
from mtjlab.runs.store import RunStore

#: Each kind run small on the simulated bench (the write's pattern file is added below).
COMMANDS = {
    "read": ["read", "--array", "1"],
    "write": ["write", "--array", "1"],
    "fidelity": ["characterize", "fidelity", "--arrays", "1", "--patterns", "1"],
    "switching": [
        "characterize", "switching", "--cells", "7,7", "3,4", "--widths", "100ns,1us",
        "--p-to-ap-amplitudes", "0.40,0.05,0.55", "--ap-to-p-amplitudes", "0.28,0.04,0.40",
        "--trials", "3",
    ],
    "rv": ["characterize", "rv", "--cells", "7,7", "1,1", "--step", "0.1", "--cycles", "2"],
    "reproduce": ["reproduce", "--solutions", "3", "--workers", "1"],
}  # fmt: skip
#: Every kind a store holds: the commands', and a sweep's (run from Python).
KINDS = (*COMMANDS, "sweep")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One store with a run of every kind: (store, run id by kind, output folders)."""
    tmp = tmp_path_factory.mktemp("runs")
    pattern = save_pattern(make_pattern("random", (15, 15), rng=3), tmp / "pattern.csv")
    db = tmp / "runs.db"
    for kind, argv in COMMANDS.items():
        extra = [str(pattern)] if kind == "write" else []
        assert main(argv + extra + ["--store", str(db), "--out", str(tmp / kind)]) == 0
    mtjlab.sweep(
        "reproduce", vary="r_row_ohm=0,6", solutions=2, workers=1, store=db, out=tmp / "sweep"
    )
    with RunStore(db) as store:
        yield store, {info.kind: info.id for info in store.runs()}, tmp


def _dataset(runs, kind):
    store, ids, _ = runs
    return run_dataset(store, ids[kind]), store, ids[kind]


def _utc(text):
    """A store time as the naive UTC datetime64[ns] the datasets hold."""
    when = datetime.fromisoformat(text).astimezone(timezone.utc).replace(tzinfo=None)
    return np.datetime64(when, "ns")


def _is_time(var):
    """A time variable: datetime64[ns] with units UTC in memory (in a file its units are
    xarray's encoding, milliseconds since a midnight)."""
    return (
        var.dtype == np.dtype("datetime64[ns]")
        and var.attrs["long_name"].endswith("(UTC)")
        and var.attrs["units"] == "UTC"
    )


def test_every_run_kind_has_a_dataset(runs):
    _, ids, _ = runs
    assert set(ids) == set(KINDS) == set(DATASETS)  # the kinds the commands record


@pytest.mark.parametrize("kind", KINDS)
def test_units_attributes_and_text(runs, kind):
    ds, store, run_id = _dataset(runs, kind)
    info = store.run(run_id)
    for name, var in ds.variables.items():
        assert isinstance(var.attrs.get("units"), str), name
        if var.dtype == object:
            assert all(type(v) is str for v in var.values.ravel()), name
        assert var.dtype.kind != "U", name
    assert ds.attrs["run"] == run_id and ds.attrs["kind"] == kind
    assert ds.attrs["mtjlab_version"] == info.version
    assert ds.attrs["started"] == info.started and ds.attrs["finished"] == info.ended
    assert ds.attrs["status"] == "finished" and ds.attrs["seed"] == 0
    assert json.loads(ds.attrs["bench"]) == info.parameters["bench"]
    for key, value in ds.attrs.items():
        ok = isinstance(value, str | int | float)
        ok |= isinstance(value, np.ndarray) and value.ndim == 1 and value.dtype.kind in "if"
        assert ok, (key, value)


def test_read(runs):
    ds, store, run_id = _dataset(runs, "read")
    (result,) = store.unit_results(run_id).values()
    assert dict(ds.sizes) == {"row": 15, "column": 15}
    assert ds.resistance_ohm.dims == ds.state.dims == ("row", "column")
    np.testing.assert_array_equal(ds.resistance_ohm, result["resistance_ohm"])
    np.testing.assert_array_equal(ds.state, result["states"])
    assert ds.threshold_ohm.item() == result["threshold_ohm"]
    assert ds.resistance_ohm.attrs["units"] == "ohm" and ds.state.attrs["units"] == "1"
    assert ds.state.attrs["flag_meanings"] == "P AP open short"
    np.testing.assert_array_equal(ds.state.attrs["flag_values"], list(NAMES))
    records = store.records(run_id, with_time=True)
    assert len(records) == 225
    for r in records:
        cell = ds.sel(row=r["row"], column=r["col"])
        assert cell.resistance_ohm.item() == r["resistance_ohm"]
        assert NAMES[int(cell.state)] == r["state"]
        assert cell.time.values == _utc(r["time"])
    assert _is_time(ds.time) and ds.time.dims == ("row", "column")
    info = store.run(run_id)
    assert _utc(info.started) <= ds.time.min() and ds.time.max() <= _utc(info.ended)


def test_write(runs):
    ds, store, run_id = _dataset(runs, "write")
    (result,) = store.unit_results(run_id).values()
    np.testing.assert_array_equal(ds.target, store.run(run_id).parameters["target"])
    np.testing.assert_array_equal(ds.state, result["states"])
    np.testing.assert_array_equal(ds.resistance_ohm, result["resistance_ohm"])
    for key in ("fidelity", "pulses", "passes", "given_up", "threshold_ohm"):
        assert ds[key].item() == result[key], key
    np.testing.assert_array_equal(ds.wrong_per_pass, result["wrong_per_pass"])
    cells = [r for r in store.records(run_id, with_time=True) if r["record"] == "cell"]
    assert len(cells) == 225  # a whole-array pattern: every cell written
    for r in cells:
        assert ds.attempts.sel(row=r["row"], column=r["col"]).item() == r["attempts"]
        assert ds.time.sel(row=r["row"], column=r["col"]).values == _utc(r["time"])
    pulses = [r for r in store.records(run_id) if r["record"] == "pulse"]
    assert int(ds.attempts.sum()) == len(pulses) == result["pulses"]
    assert ds.attrs["omitted_parameters"] == "target"  # it is the target variable


def test_write_of_a_block_marks_the_cells_left_alone(tmp_path):
    block = save_pattern(make_pattern("checkerboard", (3, 4)), tmp_path / "block.csv")
    argv = ["write", str(block), "--array", "1", "--offset", "2,3", "--store"]
    assert main(argv + [str(tmp_path / "runs.db"), "--out", str(tmp_path / "out")]) == 0
    with RunStore(tmp_path / "runs.db") as store:
        ds = run_dataset(store, 1)
    written = ds.target != KEEP
    assert int(written.sum()) == 12 and bool(written[2:5, 3:7].all())
    assert ds.target.attrs["flag_meanings"] == "keep P AP"
    assert (ds.attempts.where(~written) == NO_RECORD).sum() == 225 - 12
    assert (ds.attempts.where(written) >= 0).sum() == 12
    assert int(ds.attempts.where(written).sum()) == ds.pulses.item()
    assert bool(ds.time.isnull().where(~written, True).all())  # no record, no time
    assert int(ds.time.notnull().sum()) == 12


def test_fidelity_with_writes_not_finished(runs):
    store, ids, _ = runs
    info = store.run(ids["fidelity"])
    first = dict(list(store.unit_results(info.id).items())[:1])
    (unit,) = first
    records = [r for r in store.records(info.id, with_time=True) if r["unit"] == unit]
    ds = DATASETS["fidelity"](info, first, records)
    assert ds.fidelity.dtype == ds.pulses.dtype == np.float64
    assert int(ds.pulses.notnull().sum()) == 1 and ds.pulses[0, 0] == first[unit]["pulses"]
    assert (ds.state[1:] == NO_RECORD).all() and ds.resistance_ohm[1:].isnull().all()
    assert (ds.state[0] != NO_RECORD).all()
    assert ds.time[1:].isnull().all() and ds.time[0].notnull().all()
    assert ds.finished.isnull().all()  # no unit times given
    ds = DATASETS["fidelity"](info, first, records, store.unit_times(info.id))
    assert ds.finished[0, 0].values == _utc(store.unit_times(info.id)[unit])
    assert ds.finished[1:].isnull().all()


def test_attributes_keep_what_netcdf3_can_hold(tmp_path):
    bench = {"kind": "file", "path": "bench.yaml", "text": "x" * 2000, "seed": None}
    params = {"bench": bench, "array": 1, "widths_s": [1e-7], "cells": [[7, 7]], "flag": True}
    params |= {"big": 2**40, "arrays": [0, 1, 2], "networks": [[1] * 300], "none": None}
    result = {"threshold_ohm": 8e3, "resistance_ohm": [[5e3, 1e4]], "states": [[0, 1]]}
    with RunStore(tmp_path / "runs.db") as store:
        run_id = store.create_run("read", params, seed=2**62, snapshot={})
        store.finish_unit(run_id, "array=1", result=result)
        ds = run_dataset(store, run_id)
    attrs = ds.attrs
    assert json.loads(attrs["bench"]) == {k: v for k, v in bench.items() if k != "text"}
    assert attrs["omitted_parameters"] == "bench.text networks"
    assert attrs["array"] == 1 and attrs["widths_s"] == 1e-7 and attrs["flag"] == "true"
    assert attrs["cells"] == "[[7, 7]]" and attrs["none"] == "null"
    assert attrs["big"] == str(2**40) and attrs["seed"] == str(2**62)
    np.testing.assert_array_equal(attrs["arrays"], [0, 1, 2])
    assert attrs["status"] == "running" and "finished" not in attrs and "ended" not in attrs
    path = write_netcdf(ds, tmp_path / "read.nc")
    with xr.open_dataset(path) as back:
        xr.testing.assert_identical(back.load(), netcdf3_compatible(ds))


def test_fidelity(runs):
    ds, store, run_id = _dataset(runs, "fidelity")
    params = store.run(run_id).parameters
    assert dict(ds.sizes) == {"pattern": 3, "array": 1, "row": 15, "column": 15}
    assert list(ds.pattern_name.values) == [p["name"] for p in params["patterns"]]
    assert ds.fidelity.dims == ("pattern", "array")
    assert ds.state.dims == ("pattern", "array", "row", "column")
    np.testing.assert_array_equal(ds.target, [p["cells"] for p in params["patterns"]])
    summary = json.loads((runs[2] / "fidelity" / "summary.json").read_text())
    assert len(summary["writes"]) == 3
    for w in summary["writes"]:
        write = ds.sel(pattern=w["pattern"], array=w["array"])
        for key in ("fidelity", "pulses", "disturbed", "errors_p_to_ap", "threshold_ohm"):
            assert write[key].item() == w[key], key
    for unit in store.unit_results(run_id).values():
        write = ds.sel(pattern=unit["pattern"], array=unit["array"])
        assert write.fidelity.item() == unit["fidelity"]
        assert sorted(map(list, np.argwhere(write.wrong.values))) == sorted(unit["wrong_cells"])
    cells = [r for r in store.records(run_id, with_time=True) if r["record"] == "cell"]
    assert len(cells) == 3 * 225
    for r in cells:
        cell = ds.sel(pattern=r["pattern"], array=r["array"], row=r["row"], column=r["col"])
        assert NAMES[int(cell.state)] == r["final"]
        assert cell.resistance_ohm.item() == r["resistance_ohm"]
        assert cell.time.values == _utc(r["time"])
    np.testing.assert_array_equal(ds.wrong, ds.state != ds.target)
    times = store.unit_times(run_id)
    for unit, write in store.unit_results(run_id).items():
        done = ds.finished.sel(pattern=write["pattern"], array=write["array"]).values
        assert done == _utc(times[unit])
        # A write finishes after its last cell record is committed.
        assert done >= ds.time.sel(pattern=write["pattern"], array=write["array"]).max()


def test_switching(runs):
    ds, store, run_id = _dataset(runs, "switching")
    params = store.run(run_id).parameters
    assert dict(ds.sizes) == {"cell": 2, "direction": 2, "width": 2, "amplitude": 4}
    assert list(ds.cell.values) == ["7,7", "3,4"] and list(ds.row.values) == [7, 3]
    assert list(ds.direction.values) == ["P->AP", "AP->P"]
    np.testing.assert_allclose(ds.width, [100e-9, 1e-6])
    assert ds.width.attrs["units"] == "s" and ds.amplitude_v.attrs["units"] == "V"
    for d, amplitudes in params["amplitudes_v"].items():
        row = ds.amplitude_v.sel(direction=d).values
        np.testing.assert_array_equal(row[: len(amplitudes)], amplitudes)
        assert np.isnan(row[len(amplitudes) :]).all()
    for unit in store.unit_results(run_id).values():
        curve = ds.sel(cell=f"{unit['row']},{unit['col']}", direction=unit["direction"])
        n = len(unit["n_trials"][0])
        np.testing.assert_array_equal(curve.n_switched[:, :n], unit["n_switched"])
        np.testing.assert_array_equal(curve.n_trials[:, :n], unit["n_trials"])
        assert (curve.n_trials[:, n:] == 0).all()
        measured = np.array(unit["n_switched"]) / np.array(unit["n_trials"])
        np.testing.assert_allclose(curve.probability[:, :n], measured)
        assert (
            bool(curve.switchable) == unit["switchable"] and curve.reason.item() == unit["reason"]
        )
        assert np.isnan(curve.vc0_v) == ("vc0_v" not in unit)
        if "vc0_v" in unit:
            assert curve.vc0_v.item() == unit["vc0_v"] and curve.delta.item() == unit["delta"]
    trials = [r for r in store.records(run_id) if r["record"] == "trial"]
    assert int(ds.n_trials.sum() + ds.n_reset_failed.sum()) == len(trials)
    assert int(ds.n_switched.sum()) == sum(r["switched"] for r in trials)
    assert _is_time(ds.finished_time) and ds.finished_time.dims == ("cell", "direction")
    for unit, when in store.unit_times(run_id).items():
        res = store.unit_results(run_id)[unit]
        curve = ds.sel(cell=f"{res['row']},{res['col']}", direction=res["direction"])
        assert curve.finished_time.values == _utc(when)


def test_rv(runs):
    ds, store, run_id = _dataset(runs, "rv")
    results = store.unit_results(run_id)
    n_pulses = len(results["cell=7,7"]["amplitude_v"])
    assert dict(ds.sizes) == {"cell": 2, "step": n_pulses + 1}  # step 0: the first read
    assert ds.resistance_ohm.dims == ("cell", "step")
    for unit in results.values():
        loop = ds.sel(cell=f"{unit['row']},{unit['col']}")
        assert loop.amplitude_v[0].item() == 0.0
        np.testing.assert_array_equal(loop.amplitude_v[1:], unit["amplitude_v"])
        np.testing.assert_array_equal(loop.resistance_ohm[1:], unit["resistance_ohm"])
        for key in ("v_switch_p_to_ap_v", "v_switch_ap_to_p_v"):
            stored = np.nan if unit[key] is None else unit[key]
            np.testing.assert_equal(loop[key].item(), stored)
    assert sorted(set(ds.cycle.values.ravel())) == [0, 1]
    assert _is_time(ds.time) and ds.time.dims == ("cell", "step")
    for r in store.records(run_id, with_time=True):
        assert ds.time.sel(cell=f"{r['row']},{r['col']}", step=r["step"]).values == _utc(r["time"])


def test_reproduce(runs):
    ds, store, run_id = _dataset(runs, "reproduce")
    results = sorted(store.unit_results(run_id).values(), key=lambda r: r["solution"])
    assert ds.sizes["solution"] == 3 and list(ds.solution.values) == [0, 1, 2]
    keys = ("software_accuracy", "untuned_accuracy", "gain_offset_accuracy", "tuned_accuracy")
    keys += ("device_fidelity", "weight_fidelity", "pulses", "given_up", "threshold_ohm")
    for key in keys:
        assert ds[key].dims == ("solution",)
        np.testing.assert_array_equal(ds[key], [r[key] for r in results], err_msg=key)
    records = store.records(run_id)
    np.testing.assert_array_equal(ds.tuned_accuracy, [r["tuned_accuracy"] for r in records])
    np.testing.assert_array_equal(ds.array, [r["array"] for r in results])
    assert ds.confusion_tuned.dims == ("solution", "true_class", "predicted_class")
    np.testing.assert_array_equal(ds.confusion_tuned, [r["confusion_tuned"] for r in results])
    np.testing.assert_array_equal(ds.state, [r["states"] for r in results])
    np.testing.assert_array_equal(ds.target, [r["target"] for r in results])
    for bad, r in zip(ds.bad_cell.values, results, strict=True):
        assert sorted(map(list, np.argwhere(bad))) == sorted(c[:2] for c in r["bad_cells"])
    assert "output_state" not in ds  # the output layer ran in software
    assert ds.attrs["omitted_parameters"] == "networks" and ds.attrs["workers"] == 1
    assert _is_time(ds.finished) and ds.finished.dims == ("solution",)
    assert "finished" in ds.coords
    times = store.unit_times(run_id)
    units = sorted(times, key=lambda u: store.unit_results(run_id)[u]["solution"])
    np.testing.assert_array_equal(ds.finished, [_utc(times[u]) for u in units])


@pytest.mark.parametrize("kind", KINDS)
def test_netcdf_round_trip(runs, kind, tmp_path):
    ds, _, _ = _dataset(runs, kind)
    path = write_netcdf(ds, tmp_path / f"{kind}.nc")
    assert list(tmp_path.iterdir()) == [path]
    with xr.open_dataset(path) as back:
        back.load()
    expected = netcdf3_compatible(ds)
    xr.testing.assert_identical(back, expected)
    with xr.open_dataset(path, decode_times=False) as raw:
        raw.load()
    for name, var in back.variables.items():
        assert var.dtype == expected[name].dtype, name
        if var.dtype.kind == "M":  # in the file: float milliseconds, their units beside them
            assert raw[name].dtype == np.float64, name
            assert raw[name].attrs["units"].startswith("milliseconds since "), name
            assert raw[name].attrs["units"].endswith("T00:00:00+00:00"), name
        else:
            assert var.attrs["units"] == raw[name].attrs["units"] == ds[name].attrs["units"]
        assert var.dtype.kind not in "bS" and var.dtype != np.int64, name
        if var.dtype == object:
            assert all(type(v) is str for v in var.values.ravel()), name
    for name, var in ds.variables.items():
        if var.dtype == bool:
            np.testing.assert_array_equal(back[name].astype(bool), var)
            assert back[name].attrs["flag_meanings"] == "false true"


def test_unknown_kind_and_unfinished_runs_are_refused(tmp_path):
    with RunStore(tmp_path / "runs.db") as store:
        bogus = store.create_run("bogus", {}, seed=None, snapshot={})
        with pytest.raises(ValueError, match="'bogus'.*fidelity.*reproduce"):
            run_dataset(store, bogus)
        empty = store.create_run("read", {"array": 1}, seed=None, snapshot={})
        with pytest.raises(ValueError, match="no finished unit"):
            run_dataset(store, empty)


def _unfinish_last_unit(store_path, run_id, tmp_path):
    """A copy of the store in which the run's last unit is not finished: its records stay, as
    those of a unit being measured do."""
    import shutil
    import sqlite3

    copy = tmp_path / "in_flight.db"
    shutil.copyfile(store_path, copy)
    db = sqlite3.connect(copy)
    with db:
        (last,) = db.execute(
            "SELECT unit FROM units WHERE run_id=? ORDER BY id DESC LIMIT 1", (run_id,)
        ).fetchone()
        db.execute("DELETE FROM units WHERE run_id=? AND unit=?", (run_id, last))
    db.close()
    return copy


@pytest.mark.parametrize("kind", ["write", "switching", "rv"])
def test_records_in_flight_add_up_to_what_the_finished_unit_holds(runs, kind, tmp_path):
    store, ids, _ = runs
    whole = run_dataset(store, ids[kind])
    cut_store = RunStore(_unfinish_last_unit(store.path, ids[kind], tmp_path))
    with cut_store as cut:
        finished_only = None if kind == "write" else run_dataset(cut, ids[kind])
        in_flight = run_dataset(cut, ids[kind], in_flight=True)
        if kind == "write":
            with pytest.raises(ValueError, match="no finished unit"):
                run_dataset(cut, ids[kind])
    if kind == "write":
        # its one unit not finished: only the dataset in flight has it (checked above)
        np.testing.assert_array_equal(in_flight.attempts.values, whole.attempts.values)
        assert int(in_flight.pulses) == int(whole.pulses) == in_flight.attempts.values.sum()
        # the cells pulsed in each pass: those read wrong at the verify before it
        wrong = whole.wrong_per_pass.values
        assert wrong[-1] == 0 and list(in_flight.pulsed_per_pass.values) == list(wrong[:-1])
        # what the live view draws of it
        from mtjlab.runs.registry import experiment

        drawn = experiment("write").figures(in_flight, {})
        assert sorted(drawn) == ["attempts_map.png", "wrong_per_pass.png"]
    elif kind == "switching":
        # the last curve: absent from its finished units, counted from its trials in flight,
        # to the same counts as its result held
        last = (whole.sizes["cell"] - 1, whole.sizes["direction"] - 1)
        for name in ("n_switched", "n_trials", "n_reset_failed"):
            assert finished_only[name].values[last].sum() == 0 or name == "n_reset_failed"
            np.testing.assert_array_equal(in_flight[name].values, whole[name].values)
        assert whole.n_trials.values[last].sum() > 0
        assert not in_flight.finished.values[last] and whole.finished.values[last]
    else:
        np.testing.assert_array_equal(in_flight.resistance_ohm.values, whole.resistance_ohm.values)
        assert np.isnan(in_flight.v_switch_p_to_ap_v.values[-1])  # a loop's result: not yet


def test_only_kinds_that_can_show_records_in_flight_take_them(runs, tmp_path):
    store, ids, _ = runs
    with RunStore(_unfinish_last_unit(store.path, ids["fidelity"], tmp_path)) as cut:
        a = run_dataset(cut, ids["fidelity"])
        b = run_dataset(cut, ids["fidelity"], in_flight=True)
    xr.testing.assert_identical(a, b)


@pytest.mark.parametrize("kind", KINDS)
def test_the_live_view_draws_every_kinds_figures(runs, kind):
    from mtjlab.view import check_stores
    from mtjlab.view.figures import draw

    store, ids, _ = runs
    drawn = draw(check_stores([store.path])[0], store.run(ids[kind]))
    assert drawn.note == "" and drawn.pngs
    for png in drawn.pngs.values():
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
