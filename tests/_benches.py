"""Bench files the tests derive from the built-in one."""

from __future__ import annotations


def with_serial_matrix(data: dict, resource: str) -> dict:
    """``data`` (a bench file's content, changed in place and returned) with a serial relay
    matrix of 8 x 90 at ``resource`` instead of the 707B: terminals on rows 1, 2, ..., the
    arrays' pads on columns 1 to 60, and no TSP-Link (a serial matrix is on none)."""
    data["instruments"]["matrix"] = {
        "model": "serial_matrix",
        "resource": resource,
        "options": {"rows": 8, "columns": 90},
    }
    del data["tsp_link"]
    for n, terminal in enumerate(data["terminals"].values(), start=1):
        terminal["matrix_row"] = str(n)
    pads = iter(range(1, 61))
    for wiring in data["arrays"].values():
        wiring["rows"] = [str(next(pads)) for _ in wiring["rows"]]
        wiring["cols"] = [str(next(pads)) for _ in wiring["cols"]]
    return data
