"""A run's figures for the live view: its experiment's own figures (those of its output folder and
``Result.figures()``), drawn from the units the store holds so far, as PNG.

Drawing costs the viewer's processor time, which on a small machine is the run's too, so a run's
figures are drawn again only when it has finished another unit, and then no sooner than
``min_interval_s`` after the last drawing nor sooner than the last drawing took, divided by
``busy_fraction``: the view spends at most that fraction of one core drawing, however slow its
figures. Until then the page keeps the figures it has.
"""

from __future__ import annotations

import io
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from matplotlib.figure import Figure

import mtjlab.runs.experiments  # noqa: F401  (declares every experiment in the registry)
from mtjlab.runs.datasets import IN_FLIGHT, run_dataset
from mtjlab.runs.info import RunInfo
from mtjlab.runs.registry import experiment
from mtjlab.view.runs import StoreFile, ViewError, opened, read_run

log = logging.getLogger(__name__)

#: PNG resolution of the page's figures: enough for a screen, cheaper to draw than the
#: output folder's 150 dpi.
VIEW_DPI = 80


@dataclass
class Drawn:
    """A run's figures as last drawn: what they were drawn from (``stamp``: units finished and
    status), their PNGs by file name, and why there are none when there are none."""

    stamp: str
    pngs: dict[str, bytes] = field(default_factory=dict)
    note: str = ""
    drawn_at: float = 0.0
    took_s: float = 0.0


def _stamp(info: RunInfo) -> str:
    """What a drawing is of: the units finished and the status, and for a kind whose figures
    show records as they arrive (a switching curve's trials), the records too."""
    stamp = f"{info.units_done}-{info.status}"
    return f"{info.n_records}r-{stamp}" if info.kind in IN_FLIGHT else stamp


def _summary(info: RunInfo) -> dict:
    """The summary the figures read: a finished run's summary.json when its folder is at hand,
    else what the parameters say of it (a sweep's experiment and varied fields), as a run that
    has not finished has no summary yet."""
    out = info.parameters.get("out")
    if info.status == "finished" and out:
        path = Path(out) / "summary.json"
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            pass
    return {k: info.parameters[k] for k in ("experiment", "varied") if k in info.parameters}


def png(fig: Figure) -> bytes:
    """One figure as PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=VIEW_DPI)
    return buffer.getvalue()


def draw(store: StoreFile, info: RunInfo) -> Drawn:
    """The figures of run ``info`` from what its store holds now (no cache); the store is open
    only while the run's data is read, not while the figures are drawn."""
    started = time.perf_counter()
    drawn = Drawn(_stamp(info))
    with opened(store) as s:
        try:
            dataset = run_dataset(s, info.id, in_flight=True)
        except ValueError:
            drawn.note = "no unit finished yet"
            return drawn
    try:
        figures = experiment(info.kind).figures(dataset, _summary(info))
        drawn.pngs = {name: png(fig) for name, fig in figures.items()}
    except Exception as exc:  # a figure of a run cut short; the page says so, the view goes on
        log.info("view: figures of run %s not drawn: %r", info.id, exc)
        drawn.note = f"figures not drawn from {info.units_done} units: {exc}"
    if not drawn.pngs and not drawn.note:
        drawn.note = f"a {info.kind} run has no figures"
    drawn.took_s = time.perf_counter() - started
    return drawn


class FigureCache:
    """Each run's figures as last drawn, drawn again as the module says; one drawing at a time.

    Parameters
    ----------
    min_interval_s : float
        The least time between two drawings of one run's figures.
    busy_fraction : float
        The most of one core spent drawing: a drawing that took t seconds is followed by none
        of the same run for t / busy_fraction.
    """

    def __init__(self, min_interval_s: float = 2.0, busy_fraction: float = 0.2) -> None:
        if min_interval_s < 0 or not 0 < busy_fraction <= 1:
            raise ValueError(
                f"min_interval_s={min_interval_s} must be >= 0 and busy_fraction="
                f"{busy_fraction} in (0, 1]"
            )
        self.min_interval_s = min_interval_s
        self.busy_fraction = busy_fraction
        self._drawn: dict[tuple[Path, int], Drawn] = {}
        self._lock = threading.Lock()

    def _due(self, old: Drawn | None, stamp: str) -> bool:
        if old is None:
            return True
        if old.stamp == stamp:
            return False
        if stamp.endswith(("finished", "failed", "interrupted")):
            return True  # the last drawing of a run that ended: no reason to wait
        wait = max(self.min_interval_s, old.took_s / self.busy_fraction)
        return time.monotonic() - old.drawn_at >= wait

    def figures(self, store: StoreFile, info: RunInfo) -> Drawn:
        """The figures of run ``info`` (as just read from ``store``): those drawn last, or
        drawn now if the run has moved on and the time since allows."""
        key = (store.path, info.id)
        with self._lock:
            old = self._drawn.get(key)
            if not self._due(old, _stamp(info)):
                assert old is not None
                return old
            drawn = draw(store, info)
            drawn.drawn_at = time.monotonic()
            self._drawn[key] = drawn
            return drawn

    def png(self, store: StoreFile, run_id: int, name: str) -> bytes:
        """One figure as last drawn (drawn first if it never was); ViewError if it has none of
        that name."""
        with self._lock:
            drawn = self._drawn.get((store.path, run_id))
        if drawn is None:
            drawn = self.figures(store, read_run(store, run_id))
        try:
            return drawn.pngs[name]
        except KeyError:
            raise ViewError(f"run {run_id} has no figure {name!r}") from None
