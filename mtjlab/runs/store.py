"""Run store: each run, its configuration and every measured record, appended to SQLite as measured.

A killed process loses at most the record in flight, and a run resumes from its finished units.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from mtjlab.core.signals import signals_held
from mtjlab.core.version import __version__

# The netcdf export is the run's gridded dataset; datasets.py reads a store through the calls
# it names (StoredRuns), so it imports nothing of this module.
from mtjlab.runs.datasets import DATASETS, run_dataset
from mtjlab.runs.info import RunInfo
from mtjlab.runs.leases import HEARTBEAT_S, HELD, HOST, alive
from mtjlab.runs.netcdf import write_netcdf
from mtjlab.runs.schema import (
    LEASES,
    SCHEMA_VERSION,
    NotAStoreError,
    StoreError,
    check_header,
    connect_read_only,
    create_file,
    record_crc,
    schema_version,
    unit_crc,
)
from mtjlab.runs.tables import write_csv, write_parquet

STORE_FORMATS = ("csv", "parquet", "netcdf")
#: Connections this process has open, by resolved store path (see RunStore._open).
_OPEN: dict[Path, int] = {}

#: Held by the lease's heartbeat thread while it is inside SQLite, and taken around every fork of
#: this process. A process forked while another of its threads holds one of SQLite's own locks
#: (it takes a process-wide one to open a file) inherits it held, and its first connection waits
#: on it for ever: a sweep's pool workers, forked while the run's heartbeat connected, hung in
#: sqlite3.connect of their points' stores. SQLite is not fork-safe with threads; this keeps the
#: one thread that uses it beside the forking one out of it at the moment of the fork.
_SQLITE_CALLS = threading.Lock()
os.register_at_fork(
    before=_SQLITE_CALLS.acquire,
    after_in_parent=_SQLITE_CALLS.release,
    after_in_child=_SQLITE_CALLS.release,
)


STATUSES = ("running", "interrupted", "finished", "failed")
#: Keys the store adds to the records it hands back and to the exported tables, so no record
#: may use them: run, unit, index and the commit time.
_RESERVED_KEYS = ("run", "unit", "index", "time")


class RunBusyError(StoreError):
    """A run that another live process is measuring: one owner per run."""


class UnknownRunError(StoreError):
    """No run with that id in the store."""


class RunStore:
    """An SQLite file of runs, each record committed on its own as soon as it is appended.

    Parameters
    ----------
    path
        The store file. Created if absent (its folder must exist); an existing file must be an
        mtjlab store, and anything else is refused without being modified.
    read_only
        Open an existing store for reading only, as the listing, showing and exporting commands
        do: nothing is written to it, and it reads from read-only media (a write-protected
        folder or disk, a read-only mount) too.
    """

    def __init__(self, path: str | os.PathLike, *, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        try:
            self._open()
        except (sqlite3.Error, OSError) as exc:  # a file system that will not have it
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            raise StoreError(f"{self.path}: cannot open the run store ({reason})") from None

    def _open(self) -> None:
        if self.read_only and not self.path.is_file():
            raise StoreError(f"{self.path}: no such run store")
        if not self.path.exists():
            if not self.path.parent.is_dir():
                raise StoreError(f"{self.path}: folder {self.path.parent} does not exist")
            create_file(self.path)
        key = self.path.resolve()
        if not _OPEN.get(key):
            # Checked only when no connection of this process has the file open: closing a file
            # Python opened drops every POSIX lock the process holds on it, SQLite's included,
            # and another process would then read the store as if its WAL were not there.
            check_header(self.path)
        self._db = connect_read_only(self.path) if self.read_only else self._connect()
        self._key = key
        _OPEN[key] = _OPEN.get(key, 0) + 1
        # WAL with synchronous=NORMAL: a commit survives a killed process (not a power cut) and
        # costs no fsync, so committing every record stays cheap.
        try:
            # Its tables and version first, read through the write-ahead log (a check of the
            # file alone called a store malformed whose newest pages only the log held), and
            # before anything is set on it.
            try:
                version = schema_version(self._db, self.path)
            except sqlite3.DatabaseError as e:
                raise NotAStoreError(f"{self.path}: unreadable SQLite database ({e})") from None
            self._crc = version >= 4  # the rows' checksums are there to check
            if self.read_only:
                if version < 3:
                    raise StoreError(
                        f"{self.path}: a schema {version} store, which this version reads only "
                        f"after upgrading it to schema {SCHEMA_VERSION}; open it once where it "
                        "can be written (mtjlab runs list, on a copy if need be)"
                    )
                return
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            if version < SCHEMA_VERSION:
                self._upgrade()
        except BaseException:
            self.close()
            raise

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, isolation_level=None, timeout=10.0)

    def _upgrade(self) -> None:
        """Bring an older store to :data:`SCHEMA_VERSION` in place, in one transaction.

        Schema 1 to 2 adds ``records.time``; records committed before the upgrade keep NULL
        there (their commit time was never stored), and ``records()`` gives them ``None``.
        Schema 2 to 3 adds the ``leases`` table (who is measuring a run); 3 to 4 the ``crc``
        columns, NULL (unchecked) for the rows already there.
        """
        self._crc = True
        try:
            with self._transaction() as db:
                # Read again under the write lock: another process may have upgraded the store
                # between our check and BEGIN IMMEDIATE, and ADD COLUMN must run only once.
                version = schema_version(db, self.path)
                if version == 1:
                    db.execute("ALTER TABLE records ADD COLUMN time TEXT")
                if version < 3:
                    db.execute(LEASES)
                for table in ("records", "units") if version < 4 else ():
                    columns = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
                    if "crc" not in columns:
                        db.execute(f"ALTER TABLE {table} ADD COLUMN crc INTEGER")
                db.execute("UPDATE meta SET value=? WHERE key='schema_version'",
                           (str(SCHEMA_VERSION),))  # fmt: skip
        except sqlite3.Error as e:  # a read-only file, say: say what was being done
            raise StoreError(
                f"{self.path}: cannot upgrade the store to schema {SCHEMA_VERSION} ({e})"
            ) from None

    def close(self) -> None:
        """Close the file; every appended record is already committed."""
        self._db.close()
        if _OPEN.get(self._key):
            _OPEN[self._key] -= 1

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        # IMMEDIATE takes the write lock up front, so a read-then-write (next index, finished
        # check) cannot interleave with another writer. Ctrl-C and SIGTERM wait for the commit
        # or the rollback: one arriving between BEGIN and COMMIT left the connection inside a
        # transaction, so the run could not even be marked interrupted.
        with signals_held(None), self._said_of_the_file():
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                if self._db.in_transaction:  # (SQLite may have rolled back by itself)
                    self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    @contextmanager
    def _said_of_the_file(self) -> Iterator[None]:
        """An SQLite failure (a full disk, a lock held past the timeout, a read-only file) as
        one line naming the store and what to do; what was committed before it is kept."""
        try:
            yield
        except sqlite3.Error as exc:
            hint = {
                "database or disk is full": "free some space, then resume the run",
                "database is locked": "another process holds the store; let it finish",
                "attempt to write a readonly database": "make the file writable",
            }.get(str(exc), "check the file (sqlite3 FILE 'PRAGMA integrity_check')")
            raise StoreError(f"{self.path}: {exc}; {hint}") from None

    def _require_run(self, run_id: int) -> None:
        if self._db.execute("SELECT 1 FROM runs WHERE id=?", (run_id,)).fetchone():
            return
        lo, hi = self._db.execute("SELECT MIN(id), MAX(id) FROM runs").fetchone()
        held = "store is empty" if lo is None else f"runs {lo} to {hi}"
        raise UnknownRunError(f"run {run_id} not in store {self.path} ({held})")

    def _require_unfinished(self, run_id: int, unit: str) -> None:
        self._require_run(run_id)
        query = "SELECT 1 FROM units WHERE run_id=? AND unit=?"
        if self._db.execute(query, (run_id, unit)).fetchone():
            raise StoreError(f"{self.path}: unit {unit!r} of run {run_id} is already finished")

    def create_run(self, kind: str, parameters: dict, *, seed: int | None, snapshot: dict) -> int:
        """Start a run (status ``running``) and return its id."""
        # The seed as text: numpy seed entropy can exceed SQLite's 64-bit integers.
        seed_text = None if seed is None else str(int(seed))
        row = (kind, _now(), _dumps(parameters), seed_text, _dumps(snapshot), __version__)
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO runs (kind, status, started, parameters, seed, snapshot, version)"
                " VALUES (?, 'running', ?, ?, ?, ?, ?)",
                row,
            )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def run(self, run_id: int) -> RunInfo:
        """The run with this id; :class:`UnknownRunError` if there is none."""
        self._require_run(run_id)
        return self._run_infos("WHERE r.id=?", (run_id,))[0]

    def runs(self) -> list[RunInfo]:
        """Every run, by id."""
        return self._run_infos("", ())

    def _run_infos(self, where: str, args: tuple) -> list[RunInfo]:
        rows = self._db.execute(
            "SELECT r.id, r.kind, r.status, r.started, r.ended, r.parameters, r.seed, r.snapshot,"
            " r.version, (SELECT COUNT(*) FROM records WHERE run_id=r.id),"
            f" (SELECT COUNT(*) FROM units WHERE run_id=r.id) FROM runs r {where} ORDER BY r.id",
            args,
        )
        infos = []
        for row in rows:  # the columns come in RunInfo's field order
            info = dict(zip((f.name for f in fields(RunInfo)), row, strict=True))
            info["parameters"] = json.loads(info["parameters"])
            info["snapshot"] = json.loads(info["snapshot"])
            info["seed"] = None if info["seed"] is None else int(info["seed"])
            if info["status"] == "running" and self._orphaned(info["id"]):
                info["status"] = "interrupted"  # its process died without saying so (SIGKILL)
            infos.append(RunInfo(**info))
        return infos

    # -- who measures a run ------------------------------------------------------------------

    def _orphaned(self, run_id: int) -> bool:
        """A lease is left whose process is gone: it was killed while it measured the run."""
        row = self._db.execute(
            "SELECT pid, host, heartbeat, token FROM leases WHERE run_id=?", (run_id,)
        ).fetchone()
        return row is not None and not alive(*row)

    def holder(self, run_id: int) -> tuple[int, str, str] | None:
        """``(pid, host, since)`` of the live process measuring ``run_id``, or None."""
        row = self._db.execute(
            "SELECT pid, host, since, heartbeat, token FROM leases WHERE run_id=?", (run_id,)
        ).fetchone()
        if row is None or not alive(row[0], row[1], row[3], row[4]):
            return None
        return row[0], row[1], row[2]

    def take_lease(self, run_id: int) -> str:
        """Record this process as the one measuring ``run_id``, and return the lease's token.

        A lease whose process is gone (ended on this host, or silent for :data:`STALE_S` on
        another) is taken over; one whose process lives is a :class:`RunBusyError` naming it.
        """
        token = uuid.uuid4().hex
        with self._transaction() as db:
            self._require_run(run_id)
            holder = self.holder(run_id)
            if holder is not None:
                pid, host, since = holder
                raise RunBusyError(
                    f"{self.path}: run {run_id} is being measured by process {pid} on {host} "
                    f"since {since[:19]}; let it finish or stop it, then resume"
                )
            now = _now()
            db.execute(
                "INSERT OR REPLACE INTO leases VALUES (?, ?, ?, ?, ?, ?)",
                (run_id, os.getpid(), HOST, token, now, now),
            )
        HELD.add(token)
        return token

    def heartbeat(self, run_id: int, token: str, stop: threading.Event) -> None:
        """Say every :data:`HEARTBEAT_S` that the holder of lease ``token`` lives, until
        ``stop`` is set: for a thread of its own, on a connection of its own (SQLite's; one more
        RunStore would open the file from Python, see ``__init__``)."""
        with _SQLITE_CALLS:  # never inside SQLite when the process forks (see _SQLITE_CALLS)
            db = sqlite3.connect(self.path, isolation_level=None, timeout=10.0)
        try:
            while not stop.wait(HEARTBEAT_S):
                with _SQLITE_CALLS:
                    db.execute(
                        "UPDATE leases SET heartbeat=? WHERE run_id=? AND token=?",
                        (_now(), run_id, token),
                    )
        finally:
            with _SQLITE_CALLS:
                db.close()

    @staticmethod
    def let_go(token: str) -> None:
        """Stop holding lease ``token`` in this process and leave its row in the store, where
        it reads as its process's death (the run shows as interrupted)."""
        HELD.discard(token)

    def drop_lease(self, run_id: int, token: str) -> None:
        """Give the run up (only the lease ``token``: never another process's). It is given up
        in this process even if the store cannot be written (a full disk): the row left there
        is then a leftover that reads as its process's death."""
        HELD.discard(token)
        with self._transaction() as db:
            db.execute("DELETE FROM leases WHERE run_id=? AND token=?", (run_id, token))

    def set_status(self, run_id: int, status: str) -> None:
        """Set the status; ``finished``/``failed`` stamp ``ended``, ``running`` clears it."""
        if status not in STATUSES:
            raise ValueError(f"status {status!r} is not one of {', '.join(STATUSES)}")
        with self._transaction() as db:
            self._require_run(run_id)
            if status in ("finished", "failed"):
                db.execute("UPDATE runs SET status=?, ended=? WHERE id=?", (status, _now(), run_id))
            elif status == "running":
                db.execute("UPDATE runs SET status=?, ended=NULL WHERE id=?", (status, run_id))
            else:
                db.execute("UPDATE runs SET status=? WHERE id=?", (status, run_id))

    def done_units(self, run_id: int) -> list[str]:
        """The finished units of a run, in the order they were finished."""
        self._require_run(run_id)
        rows = self._db.execute("SELECT unit FROM units WHERE run_id=? ORDER BY id", (run_id,))
        return [unit for (unit,) in rows]

    def begin_unit(self, run_id: int, unit: str) -> None:
        """Start (or restart) a unit, dropping the records of an unfinished attempt at it."""
        with self._transaction() as db:
            self._require_unfinished(run_id, unit)
            db.execute("DELETE FROM records WHERE run_id=? AND unit=?", (run_id, unit))

    def append(self, run_id: int, unit: str, record: dict) -> None:
        """Commit one record of ``unit``; it gets the next index within the unit (0, 1, 2 ...).

        Values must be str, int (64-bit), float, bool or None; numpy scalars are converted.
        The record is stamped with the UTC time of the transaction that commits it.
        """
        data = json.dumps({key: _scalar(key, value) for key, value in record.items()})
        with self._transaction() as db:
            self._require_unfinished(run_id, unit)
            query = "SELECT COALESCE(MAX(idx) + 1, 0) FROM records WHERE run_id=? AND unit=?"
            (index,) = db.execute(query, (run_id, unit)).fetchone()
            # Stamped under the write lock, not before it: commits of concurrent writers are
            # then stamped in the order they commit (as far as the system clock goes forward).
            db.execute(
                "INSERT INTO records (run_id, unit, idx, data, time, crc)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (run_id, unit, index, data, _now(), record_crc(unit, index, data)),
            )

    def finish_unit(
        self,
        run_id: int,
        unit: str,
        *,
        state_key: str | None = None,
        state: bytes | None = None,
        result: dict | None = None,
    ) -> None:
        """Mark a unit done, with ``state`` under ``state_key`` and ``result``, in one commit."""
        if (state_key is None) != (state is None):
            raise ValueError("state_key and state go together: give both or neither")
        blob = None if state is None else bytes(state)
        text = _dumps(result or {})
        row = (run_id, unit, _now(), text, state_key, blob, unit_crc(unit, text, state_key, blob))
        with self._transaction() as db:
            self._require_unfinished(run_id, unit)
            db.execute(
                "INSERT INTO units (run_id, unit, finished, result, state_key, state, crc)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                row,
            )

    def latest_states(self, run_id: int) -> dict[str, bytes]:
        """For each state key, the state stored by the most recently finished unit."""
        self._require_run(run_id)
        rows = self._db.execute(
            f"SELECT unit, result, state_key, state, {self._crc_column} FROM units"
            " WHERE run_id=? AND state_key IS NOT NULL ORDER BY id",
            (run_id,),
        )
        checked = (self._checked_unit(run_id, *row) for row in rows)
        return {key: bytes(state) for _, _, key, state in checked}  # later units overwrite earlier

    def unit_results(self, run_id: int) -> dict[str, dict]:
        """Each finished unit's result (``{}`` if it stored none), in finishing order."""
        self._require_run(run_id)
        rows = self._db.execute(
            f"SELECT unit, result, state_key, state, {self._crc_column} FROM units"
            " WHERE run_id=? ORDER BY id",
            (run_id,),
        )
        checked = (self._checked_unit(run_id, *row) for row in rows)
        return {unit: json.loads(result) for unit, result, _, _ in checked}

    def unit_times(self, run_id: int) -> dict[str, str]:
        """When each finished unit was finished (UTC, ISO 8601), in finishing order."""
        self._require_run(run_id)
        rows = self._db.execute(
            "SELECT unit, finished FROM units WHERE run_id=? ORDER BY id", (run_id,)
        )
        return dict(rows.fetchall())

    def records(
        self, run_id: int, *, finished_only: bool = False, with_time: bool = False
    ) -> list[dict]:
        """The records of a run in measurement order.

        Parameters
        ----------
        run_id : int
            The run; :class:`UnknownRunError` if there is none.
        finished_only : bool
            Only the records of finished units (not those of an attempt cut short).
        with_time : bool
            Add ``time``: when the record was committed, UTC, ISO 8601 with milliseconds
            (``None`` for a record committed before its store was upgraded to schema 2).
            Off by default, so that a run and its resumed twin give equal records.

        Returns
        -------
        list of dict
            Each ``{"unit", "index", "time" (if asked), **record}``.
        """
        self._require_run(run_id)
        only = " AND unit IN (SELECT unit FROM units WHERE run_id=?)" if finished_only else ""
        args = (run_id, run_id) if finished_only else (run_id,)
        rows = self._db.execute(
            f"SELECT unit, idx, time, data, {self._crc_column} FROM records"
            f" WHERE run_id=?{only} ORDER BY id",
            args,
        )
        rows = [self._checked_record(run_id, *row) for row in rows]
        if with_time:
            # A record's own "time" (possible only before schema 2 reserved the key, so its
            # commit time is NULL) is kept: the record comes last and wins.
            return [
                {"unit": unit, "index": index, "time": time, **json.loads(data)}
                for unit, index, time, data in rows
            ]
        return [{"unit": unit, "index": index, **json.loads(data)} for unit, index, _, data in rows]

    @property
    def _crc_column(self) -> str:
        return "crc" if self._crc else "NULL"

    def _damaged(self, run_id: int, what: str) -> StoreError:
        return StoreError(
            f"{self.path}: {what} of run {run_id} does not match its checksum: the file was "
            "damaged after it was written; use a backup, or recover what is readable with "
            "sqlite3's .recover"
        )

    def _checked_record(self, run_id: int, unit: str, index: int, time, data: str, crc):
        if crc is not None and crc != record_crc(unit, index, data):
            raise self._damaged(run_id, f"record {index} of unit {unit!r}")
        return unit, index, time, data

    def _checked_unit(self, run_id: int, unit: str, result: str, state_key, state, crc):
        if crc is not None and crc != unit_crc(unit, result, state_key, state):
            raise self._damaged(run_id, f"finished unit {unit!r}")
        return unit, result, state_key, state

    def export(self, run_id: int, fmt: str, path: str | os.PathLike) -> Path:
        """Write a run to ``path`` in ``fmt``; return the path written.

        ``csv`` and ``parquet`` are a table of every record, one row per record: columns
        ``run``, ``unit``, ``index``, ``time`` (the commit time, UTC; empty for records from
        before schema 2), then every record key in first-seen order. ``netcdf`` is the run's
        gridded dataset (:func:`mtjlab.runs.datasets.run_dataset`) from its finished units, as
        NetCDF3: a run without a finished unit has none and is refused.
        The file appears complete or not at all: it is written aside and renamed into place.
        """
        if fmt not in STORE_FORMATS:
            raise StoreError(
                f"{self.path}: unknown export format {fmt!r} (one of {', '.join(STORE_FORMATS)})"
            )
        self.check_integrity()
        info = self.run(run_id)
        out = Path(path)
        if not out.parent.is_dir():
            raise StoreError(f"{out}: folder {out.parent} does not exist")
        if fmt == "netcdf":
            return self._export_dataset(info, out)
        if fmt == "parquet" and importlib.util.find_spec("pyarrow") is None:
            raise StoreError(f"{out}: parquet export needs pyarrow (pip install pyarrow)")
        rows = [{"run": run_id, **r} for r in self.records(run_id, with_time=True)]
        columns = list(dict.fromkeys(key for row in rows for key in row)) or list(_RESERVED_KEYS)
        tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex[:8]}.tmp")
        try:
            {"csv": write_csv, "parquet": write_parquet}[fmt](tmp, columns, rows, info)
            os.replace(tmp, out)
        except OSError as exc:  # said of the file asked for, not of the one written aside
            raise StoreError(f"{out}: cannot write the export ({exc.strerror or exc})") from None
        finally:
            tmp.unlink(missing_ok=True)
        return out

    def check_integrity(self) -> None:
        """Refuse a store whose pages SQLite finds damaged (``PRAGMA integrity_check``): an
        export of it could hand out other data than was measured, without a word."""
        try:
            with self._said_of_the_file():
                problems = [row[0] for row in self._db.execute("PRAGMA integrity_check(5)")]
        except StoreError as exc:
            problems = [str(exc).split(": ", 1)[-1]]
        if problems != ["ok"]:
            raise StoreError(
                f"{self.path}: fails SQLite's integrity check ({problems[0]}); export from a "
                "backup, or recover what is readable with sqlite3's .recover"
            )

    def _export_dataset(self, info: RunInfo, out: Path) -> Path:
        # Checked here rather than left to run_dataset's ValueError, so the message is a
        # StoreError naming the store, the run and the file that was not written.
        where = f"{self.path}: run {info.id} ({info.kind}, {info.status})"
        if info.kind not in DATASETS:
            raise StoreError(f"{where} has no dataset layout, so no netcdf {out}; export csv")
        if info.units_done == 0:
            raise StoreError(f"{where} has no finished unit, so no netcdf {out}; export csv")
        try:
            return write_netcdf(run_dataset(self, info.id), out)  # written aside, then renamed
        except OSError as exc:
            raise StoreError(f"{out}: cannot write the export ({exc.strerror or exc})") from None


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _dumps(value: Any) -> str:
    def plain(obj: Any) -> Any:
        if isinstance(obj, np.generic | np.ndarray):
            return obj.tolist()
        raise TypeError(f"{type(obj).__name__} cannot be stored as JSON")

    return json.dumps(value, default=plain)


def _scalar(key: object, value: Any) -> str | int | float | bool | None:
    if not isinstance(key, str):
        raise TypeError(f"record key {key!r} is a {type(key).__name__}, not a str")
    if key in _RESERVED_KEYS:
        added = ", ".join(_RESERVED_KEYS[:-1]) + f" and {_RESERVED_KEYS[-1]}"
        raise ValueError(f"record key {key!r} is reserved (the store adds {added})")
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, str | bool | float):
        return value
    if isinstance(value, int):
        if not -(2**63) <= value < 2**63:
            raise ValueError(f"record key {key!r}: int {value} does not fit in 64 bits")
        return value
    raise TypeError(
        f"record key {key!r}: {type(value).__name__} is not a str, int, float, bool or None"
    )
