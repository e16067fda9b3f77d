"""A store that fails under a run (a full disk, a lock held too long) ends the command in one line
naming the file and what to do, keeps every committed record and leaves the run resumable; a run
killed before its summary was written gets it when resumed."""

import json
import sqlite3
from pathlib import Path

import pytest

import mtjlab
import mtjlab.runs.store
from mtjlab.cli.app import main
from mtjlab.runs.store import RunStore, StoreError

FIDELITY = ["characterize", "fidelity", "--arrays", "1", "--patterns", "2", "--fixed", "none"]


def _records(path, run_id=1):
    with RunStore(path) as s:
        return sorted(
            (r["unit"], r["index"], json.dumps({k: v for k, v in r.items()}, sort_keys=True))
            for r in s.records(run_id)
        )


def test_a_full_disk_is_one_line_and_the_run_resumes_to_the_same_records(
    tmp_path, monkeypatch, capsys
):
    assert main([*FIDELITY, "--out", str(tmp_path / "ref")]) == 0
    capsys.readouterr()
    open_ = RunStore._open

    def on_a_small_disk(self):  # SQLite's own "disk is full", some pages into the run
        open_(self)
        (pages,) = self._db.execute("PRAGMA page_count").fetchone()
        self._db.execute(f"PRAGMA max_page_count={pages + 40}")

    monkeypatch.setattr(RunStore, "_open", on_a_small_disk)
    store = tmp_path / "cut" / "runs.db"
    assert main([*FIDELITY, "--out", str(tmp_path / "cut")]) == 2
    err = capsys.readouterr().err
    (line,) = [x for x in err.splitlines() if x.startswith("mtjlab: error:")]
    assert line == (
        f"mtjlab: error: {store}: database or disk is full; free some space, then resume the run"
    )
    assert "Traceback" not in err
    with RunStore(store) as s:
        assert s.run(1).status == "interrupted"  # "failed" could not be written: disk full
        assert s.run(1).n_records > 100  # everything committed before the disk filled is kept
    monkeypatch.setattr(RunStore, "_open", open_)  # space again
    assert main(["runs", "resume", "1", "--store", str(store)]) == 0
    assert _records(store) == _records(tmp_path / "ref" / "runs.db")


def test_a_run_killed_before_its_summary_gets_it_on_resume(tmp_path, capsys):
    out = tmp_path / "o"
    assert main(["read", "--out", str(out)]) == 0
    written = (out / "summary.json").read_text()
    (out / "summary.json").unlink()  # as if killed between its last commit and the summary
    assert main(["runs", "resume", "1", "--store", str(out / "runs.db")]) == 0
    assert (out / "summary.json").read_text() == written
    # with its summary there, a finished run has nothing to resume
    assert main(["runs", "resume", "1", "--store", str(out / "runs.db")]) == 2
    assert "is finished; nothing to resume" in capsys.readouterr().err


def test_a_lock_held_too_long_names_the_store(tmp_path, monkeypatch):
    path = tmp_path / "runs.db"
    with RunStore(path) as s:
        run = s.create_run("read", {}, seed=0, snapshot={})
        s.begin_unit(run, "u")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process writing, and not letting go
    try:
        with RunStore(path) as s:
            s._db.execute("PRAGMA busy_timeout=100")  # the store waits 10 s; the test less
            with pytest.raises(StoreError) as info:
                s.append(run, "u", {"x": 1})
        assert str(info.value) == (
            f"{path}: database is locked; another process holds the store; let it finish"
        )
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert mtjlab.runs.store.STORE_FORMATS  # the module is the one patched above


def test_a_store_whose_newest_pages_are_only_in_its_log_opens_with_them(tmp_path):
    # A crash (or a failed checkpoint) can leave the tables' latest pages in the -wal file only.
    # 0a933d7 checked a store's tables on the main file alone (immutable=1, which ignores the
    # log) and refused such a file, although sqlite3 itself read every record.
    live = tmp_path / "live.db"
    with RunStore(live) as s:
        run = s.create_run("read", {}, seed=0, snapshot={})
    writer = sqlite3.connect(live, isolation_level=None)
    writer.execute("ALTER TABLE records RENAME TO records_moved")
    writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the file itself has no records table
    writer.execute("PRAGMA wal_autocheckpoint=0")  # and what follows stays in the log
    writer.execute("ALTER TABLE records_moved RENAME TO records")
    writer.execute(
        "INSERT INTO records (run_id, unit, idx, data) VALUES (?, 'u', 0, '{\"x\": 1}')", (run,)
    )
    crashed = tmp_path / "crashed.db"
    for suffix in ("", "-wal", "-shm"):  # copied while the writer still holds them
        Path(f"{crashed}{suffix}").write_bytes(Path(f"{live}{suffix}").read_bytes())
    writer.close()
    with RunStore(crashed) as s:
        assert [r["x"] for r in s.records(run)] == [1]


def test_export_refuses_a_store_with_damaged_pages(tmp_path, capsys):
    # On 0a933d7 some damaged stores exported other data than was measured, without a word.
    out = tmp_path / "o"
    assert main([*FIDELITY, "--out", str(out)]) == 0
    store = out / "runs.db"
    db = sqlite3.connect(store)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    (page_size,) = db.execute("PRAGMA page_size").fetchone()
    (pages,) = db.execute("PRAGMA page_count").fetchone()
    db.close()
    data = bytearray(store.read_bytes())
    middle = pages // 2
    data[middle * page_size : (middle + 1) * page_size] = bytes(page_size)  # one page zeroed
    store.write_bytes(bytes(data))
    capsys.readouterr()
    argv = ["runs", "export", "1", "--store", str(store), "--out", str(tmp_path / "r.csv")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"mtjlab: error: {store}: fails SQLite's integrity check (")
    assert err.count("\n") == 1 and not (tmp_path / "r.csv").exists()


# -- read-only media (issue 23, failure 6) --------------------------------------------------------


@pytest.fixture
def read_only_mount(tmp_path):
    """A folder on its own small file system, remounted read-only by ``freeze()``: the media a
    store is read from after a campaign (a write-protected disk, a read-only share). Needs the
    right to mount (root in a container with it); skipped where it is not given."""
    import subprocess

    where = tmp_path / "media"
    where.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(where)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip("mounting a file system is not allowed here")

    def freeze():
        subprocess.run(["mount", "-o", "remount,ro", str(where)], check=True)

    try:
        yield where, freeze
    finally:
        subprocess.run(["umount", "--lazy", str(where)], check=False)


def test_reading_commands_work_on_read_only_media_and_writing_ones_say_why(read_only_mount, capsys):
    where, freeze = read_only_mount
    assert main(["read", "--array", "1", "--out", str(where / "o")]) == 0
    store = where / "o" / "runs.db"
    expected = _records(store)
    freeze()
    capsys.readouterr()
    assert main(["runs", "list", "--store", str(store)]) == 0
    assert " 1  read  finished" in capsys.readouterr().out
    assert main(["runs", "show", "1", "--store", str(store), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["records"] == 225
    out = where.parent / "export.csv"
    assert main(["runs", "export", "1", "--store", str(store), "--out", str(out)]) == 0
    assert len(out.read_text().splitlines()) == 226
    with RunStore(store, read_only=True) as s:
        assert (
            sorted((r["unit"], r["index"], json.dumps(r, sort_keys=True)) for r in s.records(1))
            == expected
        )
    # A new run or a resume needs to write: one line, no traceback.
    assert main(["read", "--array", "1", "--store", str(store), "--out", str(out.parent)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mtjlab: error:") and len(err.strip().splitlines()) == 1
    assert sorted(p.name for p in store.parent.iterdir()) == sorted(
        ["runs.db", "summary.json", "resistance_map.png", "state_map.png", "mtjlab.log"]
    )


def test_a_pending_log_on_read_only_media_is_one_line_not_other_data(read_only_mount, capsys):
    where, freeze = read_only_mount
    assert main(["read", "--array", "1", "--out", str(where / "o")]) == 0
    store = where / "o" / "runs.db"
    writer = sqlite3.connect(store)  # holds the log open: its pages stay in it, unmerged
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.execute("CREATE TABLE pending (x)")  # a change only the log holds
    writer.commit()
    log = Path(f"{store}-wal")
    assert log.stat().st_size > 0
    copied = where / "copy"
    copied.mkdir()
    (copied / "runs.db").write_bytes(store.read_bytes())
    (copied / "runs.db-wal").write_bytes(log.read_bytes())
    writer.close()
    freeze()
    capsys.readouterr()
    assert main(["runs", "list", "--store", str(copied / "runs.db")]) == 2
    err = capsys.readouterr().err
    assert "write-ahead log" in err and "copy the store and its -wal file" in err
    assert len(err.strip().splitlines()) == 1


# -- a damaged payload that SQLite's own check cannot see (issue 23, failure 6) -----------------


def _flip_a_digit(store: Path, needle: bytes) -> None:
    """Change one digit inside the first stored text containing ``needle``, as a bad sector or
    a stray write would: the page stays well-formed, the value is another."""
    blob = bytearray(store.read_bytes())
    at = blob.index(needle) + len(needle)
    while not chr(blob[at]).isdigit():
        at += 1
    blob[at] = ord("1") if blob[at] != ord("1") else ord("2")
    store.write_bytes(bytes(blob))


def test_a_changed_value_in_a_record_is_found_not_exported(tmp_path, capsys):
    assert main(["read", "--array", "1", "--out", str(tmp_path / "o")]) == 0
    store = tmp_path / "o" / "runs.db"
    with RunStore(store) as s:
        s._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # every page in the file itself
        (data,) = s._db.execute("SELECT data FROM records WHERE idx=17").fetchone()
    _flip_a_digit(store, data.encode()[: data.index('"resistance_ohm": ') + 18])
    with sqlite3.connect(store) as db:  # the live row changed, and is still valid JSON
        (changed,) = db.execute("SELECT data FROM records WHERE idx=17").fetchone()
    assert changed != data and json.loads(changed).keys() == json.loads(data).keys()
    with RunStore(store) as s:
        s.check_integrity()  # SQLite finds nothing wrong with the pages
    capsys.readouterr()
    out = tmp_path / "x.csv"
    assert main(["runs", "export", "1", "--store", str(store), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "does not match its checksum" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()
    with pytest.raises(StoreError, match="record .* of unit .* does not match its checksum"):
        mtjlab.open_run(store, 1)


def test_a_changed_unit_state_is_found_before_a_resume_uses_it(tmp_path, capsys):
    assert main([*FIDELITY, "--out", str(tmp_path / "o")]) == 0
    store = tmp_path / "o" / "runs.db"
    with RunStore(store) as s:
        s._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    _flip_a_digit(store, b'"fidelity": ')
    capsys.readouterr()
    assert main(["runs", "show", "1", "--store", str(store)]) == 2
    assert "finished unit" in capsys.readouterr().err


def test_rows_written_before_checksums_are_read_unchecked(tmp_path):
    store = tmp_path / "runs.db"
    with RunStore(store) as s:
        run = s.create_run("read", {}, seed=0, snapshot={})
        s.begin_unit(run, "u")
        s.append(run, "u", {"x": 1.5})
        s._db.execute("UPDATE records SET crc=NULL")
    with RunStore(store, read_only=True) as s:
        assert s.records(run) == [{"unit": "u", "index": 0, "x": 1.5}]
