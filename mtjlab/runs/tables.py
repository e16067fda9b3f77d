"""A run's records as a table, one row per record: CSV, and Parquet (the ``[export]`` extra)."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

from mtjlab.runs.info import RunInfo


def _column(rows: list[dict], key: str) -> tuple[str, list]:
    """A column's values and the one type they share: str, bool, int or float."""
    values = [row.get(key) for row in rows]
    present = [v for v in values if v is not None]
    if any(isinstance(v, str) for v in present):
        return "str", values
    if present and all(isinstance(v, bool) for v in present):
        return "bool", values
    if present and all(isinstance(v, int) for v in present):
        return "int", values
    return "float", values


def _times(values: list) -> list[datetime | None] | None:
    """The ``time`` column as datetimes; None if it holds anything but the store's times (a
    record key ``time`` committed before the key was reserved, with schema 1, is kept as is)."""
    try:
        return [None if v is None else datetime.fromisoformat(v) for v in values]
    except (TypeError, ValueError):
        return None


def write_csv(tmp: Path, columns: list[str], rows: list[dict], info: RunInfo) -> None:
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if row.get(c) is None else row[c] for c in columns])


def write_parquet(tmp: Path, columns: list[str], rows: list[dict], info: RunInfo) -> None:
    # pyarrow is the optional [export] extra, and heavy: imported only for a parquet export
    import pyarrow as pa
    import pyarrow.parquet as pq

    types = {"str": pa.string(), "bool": pa.bool_(), "int": pa.int64(), "float": pa.float64()}
    convert = {"str": str, "bool": bool, "int": int, "float": float}
    arrays = {}
    for key in columns:
        kind, values = _column(rows, key)
        times = _times(values) if key == "time" else None
        if times is not None:  # a timestamp column, so readers get times rather than text
            arrays[key] = pa.array(times, pa.timestamp("ms", tz="UTC"))
            continue
        plain = [None if v is None else convert[kind](v) for v in values]
        arrays[key] = pa.array(plain, types[kind])
    table = pa.table(arrays).replace_schema_metadata(
        {"mtjlab_run": str(info.id), "mtjlab_kind": info.kind, "mtjlab_version": info.version}
    )
    pq.write_table(table, tmp)
