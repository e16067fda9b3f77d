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


#: How many units a run of each kind measures, from its parameters.
_PLANNED_UNITS = {
    "read": lambda p: 1,
    "write": lambda p: 1,
    "fidelity": lambda p: len(p["patterns"]) * len(p["arrays"]),
    "switching": lambda p: len(p["cells"]) * len(p["directions"]),
    "rv": lambda p: len(p["cells"]),
    "reproduce": lambda p: len(p["networks"]),
    "sweep": lambda p: len(p["points"]),
}


def planned_units(info: RunInfo) -> int | None:
    """How many units the run measures in all, from its parameters; None for a kind or a
    parameter set that does not say."""
    try:
        return int(_PLANNED_UNITS[info.kind](info.parameters))
    except (KeyError, TypeError):
        return None
