"""What an experiment's run is given: its store and run, parameters, output folder, progress,
and the backends of its bench, made safe on every exit.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from mtjlab.bench.description import from_params
from mtjlab.core.backend import ArrayBackend
from mtjlab.core.events import ProgressCallback
from mtjlab.protocols.write import Ramp
from mtjlab.report import save_figure
from mtjlab.runs.datasets import run_dataset
from mtjlab.runs.options import disturb_allowed
from mtjlab.runs.store import RunStore
from mtjlab.runs.units import UnitRunner


@dataclass
class Context:
    """What an experiment gets: the store and run, its parameters, where its outputs go."""

    store: RunStore
    run_id: int
    params: dict
    out: Path
    progress: ProgressCallback | None
    #: The EmulatedBench behind a run on an emulated bench file (for its bench time).
    emulated: Any = None

    def backends(self, arrays: list[int]) -> dict[int, ArrayBackend]:
        bench = from_params(self.params["bench"])
        backends = bench.backends(arrays, limits=disturb_allowed(bench.limits(), self.params))
        self.emulated = getattr(next(iter(backends.values()), None), "emulated", None)
        return backends

    def runner(self, backends: dict[int, ArrayBackend]) -> UnitRunner:
        return UnitRunner({f"array={a}": b for a, b in backends.items()}, self.store, self.run_id)

    def dataset(self) -> xr.Dataset:
        """The run's data so far, as the Python API and the figures see it."""
        return run_dataset(self.store, self.run_id)

    @property
    def draws(self) -> bool:
        """Whether the run draws its figures and report: not a sweep's point, whose numbers alone
        the sweep keeps (its ``draw_figures`` parameter is False)."""
        return bool(self.params.get("draw_figures", True))

    def save_figures(self, figures: dict[str, Figure]) -> list[str]:
        """Write each figure into the output folder under its file name; the paths written."""
        return [str(save_figure(fig, self.out / name)) for name, fig in figures.items()]


@contextmanager
def safe_on_exit(backends: dict[int, ArrayBackend]) -> Iterator[None]:
    """Every backend to its safe state when the block ends, however it ends."""
    with ExitStack() as stack:
        for b in backends.values():
            stack.enter_context(b)
        yield


def random_seed(params: dict) -> int:
    """The seed of a run's own random choices (a write's cell order, a switching run's trial
    order): its simulated chip's seed, so a chip and its run go together, or 0 on a real bench,
    whose chip has no seed."""
    seed = params["bench"].get("seed")
    return 0 if seed is None else int(seed)


def write_options(params: dict) -> dict:
    """Keyword arguments of write_verify from a run's stored ``write`` parameters."""
    w = dict(params)
    for key in ("ramp_p_to_ap", "ramp_ap_to_p"):
        if key in w:
            w[key] = Ramp(*w[key])
    return w


def finite_or_none(value: float) -> float | None:
    """A float for JSON: NaN and infinities (no value) become None."""
    return float(value) if np.isfinite(value) else None
