"""Run store: commits survive a kill, resumed units start clean, foreign files stay untouched,
every record carries its commit time, and a schema-1 store is upgraded in place."""

import csv
import json
import math
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mtjlab
import mtjlab.runs.schema
import mtjlab.runs.store
from mtjlab.runs.schema import APPLICATION_ID, SCHEMA_VERSION, NotAStoreError
from mtjlab.runs.store import (
    _RESERVED_KEYS,
    STORE_FORMATS,
    RunStore,
    StoreError,
    UnknownRunError,
)


@pytest.fixture
def store(tmp_path):
    with RunStore(tmp_path / "runs.db") as s:
        yield s


def test_run_records_and_info_round_trip(tmp_path):
    path = tmp_path / "runs.db"
    parameters = {"scheme": "v/2", "amplitudes_v": [0.5, -0.75], "nested": {"n": 3}}
    with RunStore(path) as s:
        first = s.create_run("write", parameters, seed=2**100 + 7, snapshot={"sim": True})
        second = s.create_run("read", {}, seed=None, snapshot={})
        s.append(first, "pattern=0/array=0", {"row": 0, "col": 1, "amplitude_v": 0.5})
        s.append(first, "pattern=0/array=0", {"row": 1, "col": 1, "ok": True})
        s.append(first, "pattern=0/array=1", {"row": 0, "note": None})
        s.finish_unit(first, "pattern=0/array=0")
    # Reopened, so everything below comes from the file, not from the open connection.
    with RunStore(path) as s:
        assert s.records(first) == [
            {"unit": "pattern=0/array=0", "index": 0, "row": 0, "col": 1, "amplitude_v": 0.5},
            {"unit": "pattern=0/array=0", "index": 1, "row": 1, "col": 1, "ok": True},
            {"unit": "pattern=0/array=1", "index": 0, "row": 0, "note": None},
        ]
        info = s.run(first)
        assert (info.id, info.kind, info.status, info.ended) == (first, "write", "running", None)
        assert info.parameters == parameters
        assert info.seed == 2**100 + 7  # wider than SQLite's integers, so stored as text
        assert info.snapshot == {"sim": True}
        assert info.version == mtjlab.__version__
        assert (info.n_records, info.units_done) == (3, 1)
        started = datetime.fromisoformat(info.started)
        assert started.utcoffset() == timezone.utc.utcoffset(None)
        assert abs((datetime.now(timezone.utc) - started).total_seconds()) < 60
        assert [r.id for r in s.runs()] == [first, second]
        assert s.run(second).seed is None and s.run(second).n_records == 0
    # The file is marked as ours and runs in WAL mode.
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()


def test_set_status_stamps_and_clears_ended(store):
    run = store.create_run("write", {}, seed=1, snapshot={})
    store.set_status(run, "finished")
    assert store.run(run).status == "finished"
    assert datetime.fromisoformat(store.run(run).ended).tzinfo is not None
    store.set_status(run, "running")
    assert (store.run(run).status, store.run(run).ended) == ("running", None)
    store.set_status(run, "interrupted")
    assert store.run(run).status == "interrupted"
    with pytest.raises(ValueError, match="'done' is not one of running, interrupted"):
        store.set_status(run, "done")


def test_begin_unit_drops_a_partial_attempt_and_refuses_a_finished_unit(store):
    run = store.create_run("write", {}, seed=1, snapshot={})
    store.begin_unit(run, "a")
    for i in range(3):
        store.append(run, "a", {"attempt": i})
    store.begin_unit(run, "b")
    store.append(run, "b", {"attempt": 0})
    # As after a crash inside unit "b": begin it again.
    store.begin_unit(run, "b")
    assert [r["unit"] for r in store.records(run)] == ["a", "a", "a"]
    store.append(run, "b", {"attempt": 9})
    assert store.records(run)[-1] == {"unit": "b", "index": 0, "attempt": 9}
    store.finish_unit(run, "b")
    assert store.records(run, finished_only=True) == [{"unit": "b", "index": 0, "attempt": 9}]
    for refused in (
        lambda: store.begin_unit(run, "b"),
        lambda: store.append(run, "b", {"attempt": 1}),
        lambda: store.finish_unit(run, "b"),
    ):
        with pytest.raises(StoreError, match=r"unit 'b' of run 1 is already finished"):
            refused()
    assert store.run(run).n_records == 4


def test_finish_unit_keeps_states_results_and_order(store):
    run = store.create_run("write", {}, seed=1, snapshot={})
    store.finish_unit(run, "z", state_key="chip", state=b"\x00old", result={"errors": 2})
    store.finish_unit(run, "m", state_key="other", state=b"x")
    store.finish_unit(run, "a", state_key="chip", state=b"new\xff")
    store.finish_unit(run, "b", result={"errors": 0, "ber": 1e-6})
    assert store.done_units(run) == ["z", "m", "a", "b"]
    assert store.latest_states(run) == {"chip": b"new\xff", "other": b"x"}
    assert store.unit_results(run) == {
        "z": {"errors": 2},
        "m": {},
        "a": {},
        "b": {"errors": 0, "ber": 1e-6},
    }
    assert store.run(run).units_done == 4
    with pytest.raises(ValueError, match="give both or neither"):
        store.finish_unit(run, "c", state=b"x")
    assert store.done_units(run) == ["z", "m", "a", "b"]


def test_duplicate_index_is_refused_by_the_schema(store):
    run = store.create_run("write", {}, seed=1, snapshot={})
    store.append(run, "u", {"x": 1})
    db = sqlite3.connect(store.path)
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        db.execute("INSERT INTO records (run_id, unit, idx, data) VALUES (?, 'u', 0, '{}')", (run,))
    db.close()


def test_record_values_are_checked_and_numpy_scalars_converted(store):
    run = store.create_run("write", {}, seed=1, snapshot={})
    store.append(run, "u", {"a": np.float32(0.5), "b": np.int64(-3), "c": np.bool_(True)})
    (record,) = store.records(run)
    assert [(record[k], type(record[k])) for k in "abc"] == [(0.5, float), (-3, int), (True, bool)]
    with pytest.raises(TypeError, match="'amps'.*list"):
        store.append(run, "u", {"amps": [1, 2]})
    with pytest.raises(TypeError, match="'raw'.*bytes"):
        store.append(run, "u", {"raw": np.bytes_(b"x")})
    with pytest.raises(ValueError, match="'big'.*64 bits"):
        store.append(run, "u", {"big": 2**63})
    with pytest.raises(ValueError, match="'index' is reserved"):
        store.append(run, "u", {"index": 1})
    with pytest.raises(ValueError) as time_key:
        store.append(run, "u", {"row": 0, "time": "12:00"})
    assert str(time_key.value) == (
        "record key 'time' is reserved (the store adds run, unit, index and time)"
    )
    assert store.run(run).n_records == 1


def _foreign_sqlite(path):
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")  # the hardest case: reading it would leave -wal/-shm
    db.execute("CREATE TABLE runs (id INTEGER)")
    db.commit()
    db.close()


def _ours_without_tables(path):
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA application_id={APPLICATION_ID}")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE other (x)")
    db.commit()
    db.close()


def _lookalike_without_our_id(path):
    db = sqlite3.connect(path)
    db.executescript(mtjlab.runs.schema.SCHEMA)
    db.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    db.commit()
    db.close()


@pytest.mark.parametrize(
    "make",
    [
        lambda p: p.write_text("pattern,row,col\n0,1,2\n"),
        lambda p: p.write_bytes(np.random.default_rng(0).bytes(5000)),
        lambda p: p.write_bytes(b""),
        lambda p: p.write_bytes(b"SQLite format 3\x00" + bytes(20)),
        _foreign_sqlite,
        _ours_without_tables,
        _lookalike_without_our_id,
    ],
    ids=["text", "random", "empty", "truncated", "foreign-sqlite", "our-id-no-tables", "lookalike"],
)
def test_a_foreign_file_is_refused_and_left_untouched(tmp_path, make):
    path = tmp_path / "data.db"
    make(path)
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    before = path.read_bytes()
    with pytest.raises(NotAStoreError, match=str(path)):
        RunStore(path)
    assert path.read_bytes() == before
    assert path.stat().st_mtime_ns == 1_000_000_000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.db"]


def test_a_store_from_a_newer_schema_is_refused_untouched(tmp_path):
    path = tmp_path / "runs.db"
    RunStore(path).close()
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    db.commit()
    db.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match="schema 99 is newer") as refused:
        RunStore(path)
    assert not isinstance(refused.value, NotAStoreError)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs.db"]


@pytest.mark.parametrize(
    ("value", "message"),
    [("abc", "unknown store schema version 'abc'"), ("0", "unknown store schema version 0")],
)
def test_a_store_with_an_unknown_schema_version_is_refused_in_one_line(tmp_path, value, message):
    path = tmp_path / "runs.db"
    RunStore(path).close()
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value=? WHERE key='schema_version'", (value,))
    db.commit()
    db.close()
    before = path.read_bytes()
    with pytest.raises(StoreError) as refused:
        RunStore(path)
    assert str(refused.value) == f"{path}: {message}"
    assert path.read_bytes() == before


#: The schema of version 1, as mtjlab wrote it before records had a time.
SCHEMA_1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE runs (
    id INTEGER PRIMARY KEY, kind TEXT NOT NULL, status TEXT NOT NULL, started TEXT NOT NULL,
    ended TEXT, parameters TEXT NOT NULL, seed TEXT, snapshot TEXT NOT NULL, version TEXT NOT NULL
);
CREATE TABLE units (
    id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL REFERENCES runs(id), unit TEXT NOT NULL,
    finished TEXT NOT NULL, result TEXT NOT NULL, state_key TEXT, state BLOB,
    UNIQUE (run_id, unit)
);
CREATE TABLE records (
    id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL REFERENCES runs(id), unit TEXT NOT NULL,
    idx INTEGER NOT NULL, data TEXT NOT NULL,
    UNIQUE (run_id, unit, idx)
);
"""


def make_schema_1_store(path, records=({"row": 0, "resistance_ohm": 5e3},), result=None):
    """A store as mtjlab wrote it with schema 1: run 1 (``read``) with ``records`` in unit
    ``array=1``, finished with ``result`` if one is given."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute(f"PRAGMA application_id={APPLICATION_ID}")
    db.executescript(SCHEMA_1)
    db.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(
        "INSERT INTO runs (kind, status, started, parameters, seed, snapshot, version)"
        " VALUES ('read', 'running', '2024-05-06T07:08:09.123+00:00', '{}', NULL, '{}', '0.1.0')"
    )
    for i, record in enumerate(records):
        db.execute(
            "INSERT INTO records (run_id, unit, idx, data) VALUES (1, 'array=1', ?, ?)",
            (i, json.dumps(record)),
        )
    if result is not None:
        db.execute(
            "INSERT INTO units (run_id, unit, finished, result) VALUES (1, 'array=1', ?, ?)",
            ("2024-05-06T07:09:10.456+00:00", json.dumps(result)),
        )
    db.close()


def _schema(path):
    db = sqlite3.connect(path)
    try:
        (version,) = db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        columns = [row[1] for row in db.execute("PRAGMA table_info(records)")]
        return version, columns
    finally:
        db.close()


def test_a_schema_1_store_is_upgraded_in_place_and_keeps_its_records(tmp_path):
    path = tmp_path / "runs.db"
    make_schema_1_store(path)
    assert SCHEMA_VERSION == 4
    assert _schema(path) == ("1", ["id", "run_id", "unit", "idx", "data"])
    with RunStore(path) as s:
        assert _schema(path) == ("4", ["id", "run_id", "unit", "idx", "data", "time", "crc"])
        assert s.holder(1) is None  # schema 3's leases table is there, and empty
        before = datetime.now(timezone.utc)
        s.append(1, "array=1", {"row": 1, "resistance_ohm": 1.2e4})
        after = datetime.now(timezone.utc)
        old, new = s.records(1, with_time=True)
        assert old == {"unit": "array=1", "index": 0, "time": None, "row": 0, "resistance_ohm": 5e3}
        assert (new["unit"], new["index"], new["row"]) == ("array=1", 1, 1)
        assert _floor_ms(before) <= datetime.fromisoformat(new["time"]) <= after
        # Without with_time the records are as schema 1 gave them.
        assert s.records(1)[0] == {"unit": "array=1", "index": 0, "row": 0, "resistance_ohm": 5e3}
        s.finish_unit(1, "array=1", result={"n": 2})
        assert s.run(1).n_records == 2 and s.unit_results(1) == {"array=1": {"n": 2}}
        # Upgrading once more, as a process that checked before another one upgraded would,
        # changes nothing: the version is read again under the write lock.
        s._upgrade()
    with RunStore(path) as s:  # reopened: already schema 4, nothing to do
        assert [r["time"] is None for r in s.records(1, with_time=True)] == [True, False]
    assert _schema(path)[0] == "4"
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    db.close()


def test_a_schema_1_store_that_cannot_be_written_is_refused_in_one_line(tmp_path, monkeypatch):
    path = tmp_path / "runs.db"
    make_schema_1_store(path)

    def no_write(self, *args):
        raise sqlite3.OperationalError("attempt to write a readonly database")

    # As the upgrade's first write would fail on a read-only file (root could write anyway).
    monkeypatch.setattr(RunStore, "_transaction", no_write)
    with pytest.raises(StoreError) as refused:
        RunStore(path)
    assert str(refused.value) == (
        f"{path}: cannot upgrade the store to schema 4 (attempt to write a readonly database)"
    )
    monkeypatch.undo()
    assert _schema(path)[0] == "1"
    with RunStore(path) as s:
        assert s.records(1, with_time=True)[0]["time"] is None


def test_a_schema_1_run_exports_with_empty_times(tmp_path):
    xr = pytest.importorskip("xarray")
    path = tmp_path / "runs.db"
    records = [{"row": 0, "col": c, "resistance_ohm": 5e3 * (c + 1)} for c in range(2)]
    result = {"threshold_ohm": 8e3, "resistance_ohm": [[5e3, 1e4]], "states": [[0, 1]]}
    make_schema_1_store(path, records, result)
    with RunStore(path) as s:
        table = s.export(1, "csv", tmp_path / "old.csv").read_text().splitlines()
        nc = s.export(1, "netcdf", tmp_path / "old.nc")
    assert table[0] == "run,unit,index,time,row,col,resistance_ohm"
    assert table[1:] == ["1,array=1,0,,0,0,5000.0", "1,array=1,1,,0,1,10000.0"]
    with xr.open_dataset(nc) as ds:
        assert ds.time.dtype == np.dtype("datetime64[ns]") and bool(ds.time.isnull().all())
        np.testing.assert_array_equal(ds.resistance_ohm, [[5e3, 1e4]])
    with xr.open_dataset(nc, decode_times=False) as raw:  # no time: NaN, units all the same
        assert bool(np.isnan(raw.time).all())
        assert raw.time.attrs["units"] == "milliseconds since 1970-01-01T00:00:00+00:00"


def _floor_ms(when):
    """``when`` cut to milliseconds, as the store stamps times."""
    return when.replace(microsecond=when.microsecond // 1000 * 1000)


def test_records_and_units_are_stamped_when_committed(tmp_path):
    path = tmp_path / "runs.db"
    before = datetime.now(timezone.utc)
    with RunStore(path) as first, RunStore(path) as second:
        run = first.create_run("write", {}, seed=1, snapshot={})
        for i in range(30):  # two connections taking turns, as two processes would
            (first if i % 2 else second).append(run, f"u{i % 3}", {"i": i})
        second.finish_unit(run, "u2")
        records = first.records(run, with_time=True)
        times = [datetime.fromisoformat(r["time"]) for r in records]
        finished = first.unit_times(run)
    after = datetime.now(timezone.utc)
    assert [r["i"] for r in records] == list(range(30))
    assert times == sorted(times)  # in commit order
    assert all(_floor_ms(before) <= t <= after for t in times)
    assert all(t.utcoffset() == timedelta(0) for t in times)
    assert all(len(r["time"]) == len("2024-05-06T07:08:09.123+00:00") for r in records)
    assert list(finished) == ["u2"]
    done = datetime.fromisoformat(finished["u2"])
    assert max(t for t, r in zip(times, records, strict=True) if r["unit"] == "u2") <= done
    assert _floor_ms(before) <= done <= after


def test_unit_times_are_in_finishing_order(store):
    run = store.create_run("write", {}, seed=1, snapshot={})
    assert store.unit_times(run) == {}
    for unit in ("z", "a", "m"):
        store.finish_unit(run, unit)
    times = store.unit_times(run)
    assert list(times) == store.done_units(run) == ["z", "a", "m"]
    assert list(times.values()) == sorted(times.values())
    with pytest.raises(UnknownRunError):
        store.unit_times(run + 1)


def test_a_missing_folder_is_named(tmp_path):
    missing = tmp_path / "no" / "such"
    with pytest.raises(StoreError, match=f"folder {missing} does not exist"):
        RunStore(missing / "runs.db")
    assert not (tmp_path / "no").exists()


def test_an_unknown_run_is_named_with_the_runs_held(store):
    message = f"run 7 not in store {store.path} (store is empty)"
    with pytest.raises(UnknownRunError) as empty:
        store.run(7)
    assert str(empty.value) == message
    for _ in range(3):
        store.create_run("read", {}, seed=None, snapshot={})
    for call in (
        lambda: store.run(7),
        lambda: store.append(7, "u", {}),
        lambda: store.records(7),
        lambda: store.finish_unit(7, "u"),
        lambda: store.export(7, "csv", store.path.parent / "x.csv"),
    ):
        with pytest.raises(UnknownRunError) as unknown:
            call()
        assert str(unknown.value) == f"run 7 not in store {store.path} (runs 1 to 3)"
    assert not (store.path.parent / "x.csv").exists()


ROWS = [
    {"pattern": 0, "row": 0, "amplitude_v": 0.5, "state": "P"},
    {"pattern": 0, "row": 1, "amplitude_v": -0.1, "state": "AP", "ok": True},
    {"pattern": 1, "row": 2, "amplitude_v": None, "state": "short", "ok": False, "big": 2**40},
]


@pytest.fixture
def exported_run(store):
    run = store.create_run("write", {}, seed=5, snapshot={})
    store.append(run, "pattern=0", ROWS[0])
    store.append(run, "pattern=0", ROWS[1])
    store.append(run, "pattern=1", ROWS[2])
    return store, run


def test_export_csv(exported_run, tmp_path):
    store, run = exported_run
    out = store.export(run, "csv", tmp_path / "out.csv")
    with open(out, newline="") as f:
        table = list(csv.reader(f))
    assert table[0] == [
        "run",
        "unit",
        "index",
        "time",
        "pattern",
        "row",
        "amplitude_v",
        "state",
        "ok",
        "big",
    ]
    times = [r["time"] for r in store.records(run, with_time=True)]
    assert [row[3] for row in table[1:]] == times
    assert [row[:3] + row[4:] for row in table[1:]] == [
        ["1", "pattern=0", "0", "0", "0", "0.5", "P", "", ""],
        ["1", "pattern=0", "1", "0", "1", "-0.1", "AP", "True", ""],
        ["1", "pattern=1", "0", "1", "2", "", "short", "False", str(2**40)],
    ]


def test_export_parquet(exported_run, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    store, run = exported_run
    table = pq.read_table(store.export(run, "parquet", tmp_path / "out.parquet"))
    times = [datetime.fromisoformat(r["time"]) for r in store.records(run, with_time=True)]
    expected = [
        {"run": 1, "unit": u, "index": i, "time": t, **{k: r.get(k) for k in ROWS[2]}}
        for u, i, t, r in zip(
            ("pattern=0", "pattern=0", "pattern=1"), (0, 1, 0), times, ROWS, strict=True
        )
    ]
    assert table.to_pylist() == expected
    assert table.schema.metadata[b"mtjlab_version"] == mtjlab.__version__.encode()


def test_export_parquet_without_pyarrow_says_how_to_get_it(exported_run, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # makes pyarrow unimportable
    store, run = exported_run
    with pytest.raises(StoreError, match="pip install pyarrow"):
        store.export(run, "parquet", tmp_path / "out.parquet")
    assert list(tmp_path.glob("*.parquet")) == []


def test_export_refuses_an_unknown_format_and_a_failed_export_leaves_nothing(
    exported_run, tmp_path, monkeypatch
):
    store, run = exported_run
    with pytest.raises(StoreError, match="'xlsx' \\(one of csv, parquet, netcdf\\)"):
        store.export(run, "xlsx", tmp_path / "out.xlsx")
    assert STORE_FORMATS == ("csv", "parquet", "netcdf")

    def half_written(tmp, *args):
        tmp.write_text("run,unit\n1,")
        raise OSError("disk full")

    before = sorted(tmp_path.iterdir())
    monkeypatch.setattr(mtjlab.runs.store, "write_csv", half_written)
    with pytest.raises(StoreError, match="out.csv: cannot write the export \\(disk full\\)"):
        store.export(run, "csv", tmp_path / "out.csv")
    assert sorted(tmp_path.iterdir()) == before


def test_an_empty_run_exports_a_header_only(store, tmp_path):
    run = store.create_run("read", {}, seed=None, snapshot={})
    header = store.export(run, "csv", tmp_path / "e.csv").read_text().split()
    assert header == ["run,unit,index,time"]
    # NetCDF is the run's dataset, which an empty run has not (tests/runs/test_export.py).


CHILD = textwrap.dedent(
    """
    import sys
    from mtjlab.runs.store import RunStore

    store = RunStore(sys.argv[1])
    run, unit = int(sys.argv[2]), sys.argv[3]
    store.begin_unit(run, unit)
    i = 0
    while True:
        store.append(run, unit, {"i": i, "amplitude_v": 0.1 * i})
        print(i, flush=True)  # only after append returned, i.e. after the commit
        i += 1
    """
)


def test_a_killed_writer_loses_nothing_committed(tmp_path):
    path = tmp_path / "runs.db"
    with RunStore(path) as s:
        run = s.create_run("write", {}, seed=1, snapshot={})
    for attempt, wait_for in enumerate((40, 7)):
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(path), str(run), "unit"],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None
        committed = 0
        for _ in range(wait_for):
            committed = int(child.stdout.readline()) + 1
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        assert child.returncode == -signal.SIGKILL
        with RunStore(path) as s:
            records = s.records(run)
            # A prefix of what was appended, consecutive and without duplicates; the killed
            # attempt (the second one began the unit again) is all that is there.
            assert len(records) >= committed
            assert [r["index"] for r in records] == list(range(len(records)))
            assert [r["i"] for r in records] == list(range(len(records)))
            assert [r["amplitude_v"] for r in records] == [0.1 * i for i in range(len(records))]
            assert s.run(run).status == "running"
            s.append(run, "unit", {"i": -1})
            assert s.records(run)[-1] == {"unit": "unit", "index": len(records), "i": -1}
            if attempt == 0:
                s.begin_unit(run, "unit")
                assert s.records(run) == []
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    db.close()


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 5e-324, 1.7976931348623157e308]),
    st.text(),
)
keys = st.text(min_size=1).filter(lambda k: k not in _RESERVED_KEYS)


def _same(a, b):
    if isinstance(a, float) and isinstance(b, float):
        # NaN is stored and read back as NaN; -0.0 keeps its sign.
        return (math.isnan(a) and math.isnan(b)) or (
            a == b and math.copysign(1, a) == math.copysign(1, b)
        )
    return type(a) is type(b) and a == b


@settings(max_examples=60, deadline=None)
@given(records=st.lists(st.dictionaries(keys, scalars, max_size=6), min_size=1, max_size=4))
def test_records_round_trip_exactly(records):
    with tempfile.TemporaryDirectory() as folder, RunStore(Path(folder) / "r.db") as s:
        run = s.create_run("prop", {}, seed=None, snapshot={})
        for record in records:
            s.append(run, "u", record)
        back = s.records(run)
    assert len(back) == len(records)
    for i, (sent, got) in enumerate(zip(records, back, strict=True)):
        assert (got.pop("unit"), got.pop("index")) == ("u", i)
        assert list(got) == list(sent)
        assert all(_same(sent[k], got[k]) for k in sent), (sent, got)


def test_a_signal_inside_a_commit_waits_for_it_and_the_store_stays_usable(tmp_path):
    # SIGTERM between BEGIN and COMMIT used to leave the connection inside a transaction, so the
    # run could not be marked interrupted ("cannot start a transaction within a transaction").
    store = RunStore(tmp_path / "runs.db")
    run_id = store.create_run("read", {}, seed=0, snapshot={})
    store.begin_unit(run_id, "u")
    with pytest.raises(KeyboardInterrupt), store._transaction() as db:
        db.execute("UPDATE runs SET status='running' WHERE id=?", (run_id,))
        os.kill(os.getpid(), signal.SIGINT)
        db.execute("UPDATE runs SET status='failed' WHERE id=?", (run_id,))
    assert store.run(run_id).status == "failed"  # the whole transaction was committed
    store.set_status(run_id, "interrupted")  # and the next one starts
    assert store.run(run_id).status == "interrupted"


def test_a_store_another_process_creates_meanwhile_is_kept(tmp_path, monkeypatch):
    # Two commands given the same new --store: the second to finish creating it used to replace
    # the first one's file, losing its run and records.
    path = tmp_path / "new.db"
    create = mtjlab.runs.store.create_file

    def create_after_a_rival(where):
        monkeypatch.setattr(mtjlab.runs.store, "create_file", create)
        with RunStore(path) as rival:  # the other process gets there first
            run = rival.create_run("read", {}, seed=0, snapshot={})
            rival.begin_unit(run, "u")
            rival.append(run, "u", {"x": 1})
        create(where)

    monkeypatch.setattr(mtjlab.runs.store, "create_file", create_after_a_rival)
    with RunStore(path) as store:
        run = store.create_run("read", {}, seed=1, snapshot={})
        assert [r.seed for r in store.runs()] == [0, 1]
        assert [r["x"] for r in store.records(1)] == [1]
        assert run == 2
    assert not list(tmp_path.glob(".*.tmp"))


def test_a_schema_2_store_gains_the_leases_table_and_keeps_its_runs(tmp_path):
    path = tmp_path / "runs.db"
    with RunStore(path) as s:
        run = s.create_run("read", {}, seed=0, snapshot={})
    db = sqlite3.connect(path)
    db.execute("DROP TABLE leases")
    db.execute("UPDATE meta SET value='2' WHERE key='schema_version'")
    db.commit()
    db.close()
    with RunStore(path) as s:
        assert s.run(run).kind == "read"
        s.drop_lease(run, s.take_lease(run))
    assert _schema(path)[0] == "4"
