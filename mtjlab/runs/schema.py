"""The run store's file: its SQLite schema and version, the header that marks a file as a store,
making a new one safely beside other processes, and opening one for reading only.
"""

from __future__ import annotations

import os
import sqlite3
import uuid
import zlib
from pathlib import Path
from urllib.parse import quote

from mtjlab.core.version import __version__

APPLICATION_ID = 0x4D544A4C  # "MTJL": marks an SQLite file as an mtjlab store
#: 1: the first schema. 2: records.time, when each record was committed (NULL for records
#: committed under schema 1; a schema-1 store is upgraded to 2 when opened, see _upgrade).
#: 3: the leases table. 4: records.crc and units.crc, a CRC-32 of what each row holds (NULL for
#: rows written before the upgrade), so a damaged payload is found when it is read.
SCHEMA_VERSION = 4
SQLITE_MAGIC = b"SQLite format 3\x00"

#: Who is measuring a run: one row while a process measures it (schema 3).
LEASES = """
CREATE TABLE IF NOT EXISTS leases (
    run_id INTEGER PRIMARY KEY REFERENCES runs(id), pid INTEGER NOT NULL, host TEXT NOT NULL,
    token TEXT NOT NULL, since TEXT NOT NULL, heartbeat TEXT NOT NULL
);
"""

SCHEMA = (
    """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE runs (
    id INTEGER PRIMARY KEY, kind TEXT NOT NULL, status TEXT NOT NULL, started TEXT NOT NULL,
    ended TEXT, parameters TEXT NOT NULL, seed TEXT, snapshot TEXT NOT NULL, version TEXT NOT NULL
);
CREATE TABLE units (
    id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL REFERENCES runs(id), unit TEXT NOT NULL,
    finished TEXT NOT NULL, result TEXT NOT NULL, state_key TEXT, state BLOB, crc INTEGER,
    UNIQUE (run_id, unit)
);
CREATE TABLE records (
    id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL REFERENCES runs(id), unit TEXT NOT NULL,
    idx INTEGER NOT NULL, data TEXT NOT NULL, time TEXT, crc INTEGER,
    UNIQUE (run_id, unit, idx)
);
"""
    + LEASES
)

# records.time may be NULL in every store, new or upgraded, so both have the same schema: only
# records committed before a schema-1 store was upgraded lack it. It is text like every other
# time in the store: UTC, ISO 8601 with milliseconds (_now), which sorts as it reads.


class StoreError(ValueError):
    """A store file is missing, unusable or asked for something it does not hold."""


class NotAStoreError(StoreError):
    """The file exists but is not an mtjlab store; it was left untouched."""


def create_file(path: Path) -> None:
    """Make a new, empty store at ``path``; a store another process made there meanwhile is
    kept as it is."""
    # Build the store under a temporary name and rename it into place, so a crash during
    # creation never leaves a half-made file that would later be refused as foreign.
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        db = sqlite3.connect(tmp, isolation_level=None)
        try:
            db.execute(f"PRAGMA application_id={APPLICATION_ID}")
            db.executescript(SCHEMA)
            db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            db.execute("PRAGMA journal_mode=WAL")
        finally:
            db.close()
        # A hard link appears only if nothing is there yet: a store another process created
        # meanwhile is kept (replacing it lost that process's runs), and opened as it is.
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        except OSError:  # a file system without hard links: rename unless it appeared
            if not path.exists():
                os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def check_header(path: Path) -> None:
    """Refuse a file that is not an mtjlab store from its header alone, before SQLite opens it
    (so nothing of a foreign file is changed). Its tables are checked once it is open, through
    its write-ahead log: a check of the file alone missed what only the log held yet."""
    if not path.is_file():
        raise NotAStoreError(f"{path}: not a file")
    with open(path, "rb") as f:
        header = f.read(100)
    if len(header) == 0:
        raise NotAStoreError(f"{path}: empty file (0 bytes), not an mtjlab store")
    if not header.startswith(SQLITE_MAGIC):
        raise NotAStoreError(f"{path}: not an SQLite file, so not an mtjlab store")
    # The application id sits in the header (offset 68), so a foreign database is refused
    # without SQLite ever opening it.
    if len(header) < 72 or int.from_bytes(header[68:72], "big") != APPLICATION_ID:
        raise NotAStoreError(f"{path}: an SQLite database but not an mtjlab store")


def schema_version(db: sqlite3.Connection, path: Path) -> int:
    """The store's schema version: one this mtjlab reads (1 is upgraded on open) or an error.

    A newer version is refused (it may hold what this code would lose), a missing one means
    a lookalike rather than a store, and any other value is refused as unknown.
    """
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if not {"meta", "runs", "units", "records"} <= tables:
        raise NotAStoreError(f"{path}: has mtjlab's application id but not its tables")
    row = db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
    if row is None:
        raise NotAStoreError(f"{path}: has mtjlab's tables but no schema version")
    try:
        version = int(row[0])
    except ValueError:
        raise StoreError(f"{path}: unknown store schema version {row[0]!r}") from None
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{path}: store schema {version} is newer than this mtjlab "
            f"{__version__} reads (schema {SCHEMA_VERSION}); upgrade mtjlab"
        )
    if version < 1:
        raise StoreError(f"{path}: unknown store schema version {version}")
    return version


def record_crc(unit: str, index: int, data: str) -> int:
    """The CRC-32 a record is stored with: of its unit, its index and its JSON text."""
    return zlib.crc32(f"{unit}\0{index}\0{data}".encode())


def unit_crc(unit: str, result: str, state_key: str | None, state: bytes | None) -> int:
    """The CRC-32 a finished unit is stored with: of its name, result, state key and state."""
    head = f"{unit}\0{result}\0{state_key}\0".encode()
    return zlib.crc32(state or b"", zlib.crc32(head))


def connect_read_only(path: Path) -> sqlite3.Connection:
    """A connection to the store at ``path`` that writes nothing: ``mode=ro``, which reads a store
    another process is writing (through its write-ahead log). On read-only media, where SQLite
    cannot create the log's index beside the file, a store with no pending log is read as
    immutable (no process can be writing it there); one whose log holds pages cannot be read
    safely and is a StoreError."""
    uri = "file:" + quote(str(path.resolve())) + "?mode=ro"
    db = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=10.0)
    try:
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return db
    except sqlite3.OperationalError:
        db.close()
        if os.access(path.parent, os.W_OK) and _writable_mount(path):
            raise
    wal = Path(f"{path}-wal")
    if wal.exists() and wal.stat().st_size > 0:
        raise StoreError(
            f"{path}: on read-only media with a write-ahead log ({wal.name}) that SQLite "
            "cannot index there; copy the store and its -wal file to a writable folder"
        )
    return sqlite3.connect(uri + "&immutable=1", uri=True, isolation_level=None)


def _writable_mount(path: Path) -> bool:
    """Whether the file system holding ``path`` is mounted for writing (root writes to a
    write-protected folder, but not to a read-only mount)."""
    try:
        return not (os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False
