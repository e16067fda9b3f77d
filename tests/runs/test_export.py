"""Exports of a stored run: CSV and Parquet tables carry each record's commit time, NetCDF is the
run's gridded dataset, and a run that has no dataset is refused in one line with nothing written."""

import csv
from datetime import datetime, timezone

import numpy as np
import pytest
import xarray as xr

import mtjlab
from mtjlab.cli.app import main
from mtjlab.runs.store import RunStore, StoreError


@pytest.fixture(scope="module")
def read_run(tmp_path_factory):
    """A ``read`` run of array 1 made by the CLI: (store path, run id, wall-clock window)."""
    tmp = tmp_path_factory.mktemp("export")
    db = tmp / "runs.db"
    before = datetime.now(timezone.utc)
    assert main(["read", "--array", "1", "--store", str(db), "--out", str(tmp / "out")]) == 0
    after = datetime.now(timezone.utc)
    with RunStore(db) as store:
        (info,) = store.runs()
    return db, info.id, (before.replace(microsecond=before.microsecond // 1000 * 1000), after)


def _times(texts):
    return [datetime.fromisoformat(t) for t in texts]


def test_csv_has_the_commit_time_of_every_record(read_run, tmp_path):
    db, run, (before, after) = read_run
    with RunStore(db) as store:
        records = store.records(run, with_time=True)
        out = store.export(run, "csv", tmp_path / "run.csv")
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0])[:4] == ["run", "unit", "index", "time"]
    assert len(rows) == len(records) == 225  # one row per record, as before
    assert [row["time"] for row in rows] == [r["time"] for r in records]
    times = _times(row["time"] for row in rows)
    assert times == sorted(times) and before <= times[0] and times[-1] <= after
    assert all(t.utcoffset().total_seconds() == 0 for t in times)


def test_parquet_has_the_commit_time_as_a_utc_timestamp(read_run, tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    db, run, _ = read_run
    with RunStore(db) as store:
        records = store.records(run, with_time=True)
        table = pq.read_table(store.export(run, "parquet", tmp_path / "run.parquet"))
    assert table.column_names[:4] == ["run", "unit", "index", "time"]
    assert table.schema.field("time").type == pa.timestamp("ms", tz="UTC")
    assert table.num_rows == len(records)
    assert table.column("time").to_pylist() == _times(r["time"] for r in records)


def test_netcdf_is_the_gridded_dataset(read_run, tmp_path):
    db, run, (before, after) = read_run
    with RunStore(db) as store:
        info = store.run(run)
        (result,) = store.unit_results(run).values()
        records = store.records(run, with_time=True)
        out = store.export(run, "netcdf", tmp_path / "run.nc")
    assert out == tmp_path / "run.nc" and list(tmp_path.iterdir()) == [out]  # no leftovers
    with xr.open_dataset(out) as ds:
        ds.load()
    with xr.open_dataset(out, decode_times=False) as raw:
        raw.load()
    assert dict(ds.sizes) == {"row": 15, "column": 15}
    assert ds.resistance_ohm.dims == ds.state.dims == ds.time.dims == ("row", "column")
    for name, var in raw.variables.items():  # in the file, units on every variable
        assert isinstance(var.attrs.get("units"), str), name
    assert raw.resistance_ohm.attrs["units"] == "ohm" and raw.state.attrs["units"] == "1"
    assert raw.time.attrs["units"].startswith("milliseconds since ")
    assert ds.state.attrs["flag_meanings"] == "P AP open short"  # codes explained in text
    np.testing.assert_array_equal(ds.resistance_ohm, result["resistance_ohm"])
    assert ds.attrs["run"] == run and ds.attrs["kind"] == "read"
    assert ds.attrs["mtjlab_version"] == mtjlab.__version__ == info.version
    assert ds.time.dtype == np.dtype("datetime64[ns]")
    for r in records:
        when = datetime.fromisoformat(r["time"]).astimezone(timezone.utc).replace(tzinfo=None)
        assert ds.time.sel(row=r["row"], column=r["col"]).values == np.datetime64(when, "ns")
    window = [np.datetime64(t.replace(tzinfo=None), "ns") for t in (before, after)]
    assert window[0] <= ds.time.min().values and ds.time.max().values <= window[1]


def test_netcdf_of_a_run_without_a_finished_unit_is_refused_in_one_line(tmp_path):
    with RunStore(tmp_path / "runs.db") as store:
        run = store.create_run("read", {"array": 1}, seed=None, snapshot={})
        store.append(run, "array=1", {"row": 0, "col": 0, "resistance_ohm": 5e3})
        out = tmp_path / "run.nc"
        with pytest.raises(StoreError) as refused:
            store.export(run, "netcdf", out)
        # The records are still there to export as a table.
        assert store.export(run, "csv", tmp_path / "run.csv").exists()
    message = str(refused.value)
    assert "\n" not in message
    assert message == (
        f"{store.path}: run {run} (read, running) has no finished unit, so no netcdf {out};"
        " export csv"
    )
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.csv", "runs.db"]


def test_netcdf_of_a_kind_without_a_layout_is_refused_in_one_line(tmp_path):
    with RunStore(tmp_path / "runs.db") as store:
        run = store.create_run("bogus", {}, seed=None, snapshot={})
        store.finish_unit(run, "u", result={"x": 1})
        with pytest.raises(StoreError, match=r"run 1 \(bogus, running\) has no dataset layout"):
            store.export(run, "netcdf", tmp_path / "run.nc")
    assert not (tmp_path / "run.nc").exists()


def test_the_cli_says_why_in_one_line(tmp_path, capsys):
    db = tmp_path / "runs.db"
    with RunStore(db) as store:
        store.create_run("read", {"array": 1}, seed=None, snapshot={})
    out = tmp_path / "run.nc"
    argv = ["runs", "export", "1", "--store", str(db), "--format", "netcdf", "--out", str(out)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"mtjlab: error: {db}: run 1 (read, running) has no finished unit")
    assert not out.exists()
