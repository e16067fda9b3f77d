"""The experiments a run can be of: each experiment module declares itself here once, and the
engine, the command line and the Python API find it by its run kind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mtjlab.runs.context import Context


@dataclass(frozen=True)
class Experiment:
    """One experiment, as the engine runs it and a person reads it.

    ``run(ctx)`` measures the run in resumable units (through ``ctx.runner``), writes its
    figures into ``ctx.out`` and returns its summary; ``text(summary)`` is the end-of-run table,
    as lines.
    """

    kind: str
    run: Callable[[Context], dict]
    text: Callable[[dict], list[str]]


#: Every experiment by run kind, in the order they were declared.
EXPERIMENTS: dict[str, Experiment] = {}


def register(experiment: Experiment) -> Experiment:
    """Declare ``experiment``; a run kind is declared once."""
    if experiment.kind in EXPERIMENTS:
        raise ValueError(f"run kind {experiment.kind!r} is declared twice")
    EXPERIMENTS[experiment.kind] = experiment
    return experiment


def experiment(kind: str) -> Experiment:
    """The experiment of run kind ``kind``; an unknown kind is a ValueError naming the known."""
    try:
        return EXPERIMENTS[kind]
    except KeyError:
        raise ValueError(
            f"unknown run kind {kind!r}; expected one of {sorted(EXPERIMENTS)}"
        ) from None
