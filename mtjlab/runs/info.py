"""What the run store says of one run (its kind, status, parameters, progress), as a plain
record that the store hands out and the datasets and summaries read."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RunInfo:
    """One run as stored: what ran, with which settings, and how far it got."""

    id: int
    kind: str
    status: str
    started: str
    ended: str | None
    parameters: dict
    seed: int | None
    snapshot: dict
    version: str
    n_records: int
    units_done: int
