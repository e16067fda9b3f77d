"""The experiments a run can be of: each experiment module declares itself here once, and the
engine, the command line and the Python API find it by its run kind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import xarray as xr
from matplotlib.figure import Figure

from mtjlab.runs.context import Context
from mtjlab.runs.options import Option


def _as_is(params: dict) -> dict:
    return params


@dataclass(frozen=True)
class Experiment:
    """One experiment, declared once for the engine, the command line and the Python API.

    - ``command``: its words on the command line (``("characterize", "fidelity")``); the Python
      function is the words joined by ``_`` (``mtjlab.characterize_fidelity``).
    - ``options``: what it takes, in the order the command line shows them.
    - ``prepare(options)``: the checked options (every option by name) to the run's stored
      parameters, every value checked against the bench before a run is recorded;
      ``expand(params)``: the slow part of that (training networks), done once the output
      folder is known to be usable; ``expanding`` says what it does, for the person waiting.
    - ``run(ctx)``: measures the run in resumable units (through ``ctx.runner``), writes its
      figures into ``ctx.out`` and returns its summary.
    - ``text(summary)``: the end-of-run table, as lines.
    - ``figures(dataset, summary)``: its figures by file name, drawn from the run's dataset
      (``mtjlab.runs.datasets``), for the output folder and for the Python API alike.
    """

    kind: str
    command: tuple[str, ...]
    help: str
    description: str
    options: tuple[Option, ...]
    prepare: Callable[[dict], dict]
    run: Callable[[Context], dict]
    text: Callable[[dict], list[str]]
    figures: Callable[[xr.Dataset, dict], dict[str, Figure]]
    expand: Callable[[dict], dict] = _as_is
    expanding: str = ""

    @property
    def function_name(self) -> str:
        return "_".join(self.command)


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
