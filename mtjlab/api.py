"""mtjlab from Python: each command as a function of the same name taking its options as keyword
arguments (``mtjlab.read(array=2)``, ``mtjlab.characterize_fidelity(patterns=4)``), returning a
:class:`Result`; ``open_run`` for a stored run. Built from the experiments' own declarations.
"""

from __future__ import annotations

import html
import inspect
import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import xarray as xr
from matplotlib.figure import Figure

from mtjlab.bench.session import OpenBench, SimulatedBench, open_bench, simulated_bench
from mtjlab.core.events import ProgressCallback
from mtjlab.runs import engine
from mtjlab.runs.datasets import run_dataset
from mtjlab.runs.experiments import COMMAND_ORDER
from mtjlab.runs.registry import Experiment, experiment
from mtjlab.runs.store import RunStore, StoreError

#: Keys of a summary that name files of the run's output folder.
_FILE_KEYS = ("figures", "html", "store")


class Result:
    """What a run gave: ``summary`` (the ``summary.json`` content; None for a run that has not
    finished), ``to_xarray()`` (its data with named dimensions and units), ``figures()``
    (matplotlib Figures, drawn anew from the data) and, in a notebook, its summary table."""

    def __init__(self, kind: str, run_id: int, summary: dict | None, dataset: xr.Dataset) -> None:
        self.kind = kind
        self.run_id = run_id
        self.summary = summary
        self._dataset = dataset

    @property
    def experiment(self) -> Experiment:
        return experiment(self.kind)

    def to_xarray(self) -> xr.Dataset:
        """The run's data: named dimensions, a ``units`` attribute on every variable."""
        return self._dataset.copy()

    def figures(self) -> list[Figure]:
        """The run's figures as matplotlib Figures (no pyplot, no files)."""
        return list(self.experiment.figures(self._dataset, self.summary or {}).values())

    def text(self) -> str:
        """The end-of-run table, as the command prints it."""
        if self.summary is None:
            return f"run {self.run_id} ({self.kind}) has not finished"
        return "\n".join(self.experiment.text(self.summary))

    def __repr__(self) -> str:
        status = "finished" if self.summary is not None else "not finished"
        return f"<mtjlab {self.kind} run {self.run_id}, {status}>\n{self.text()}"

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(str(k))}</th>"
            f"<td style='text-align:left'>{html.escape(_short(v))}</td></tr>"
            for k, v in (self.summary or {}).items()
            if not isinstance(v, (list, dict))
        )
        return (
            f"<div><b>mtjlab {html.escape(self.kind)} run {self.run_id}</b>"
            f"<pre>{html.escape(self.text())}</pre><table>{rows}</table></div>"
        )


def _short(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def open_run(store: str | Path, run_id: int) -> Result:
    """A run kept in the run store ``store``: its data so far, and its summary once finished."""
    path = Path(store)
    if not path.exists():
        raise StoreError(f"{path}: no such run store")
    with RunStore(path, read_only=True) as s:
        info = s.run(run_id)
        dataset = run_dataset(s, run_id)
    summary = None
    summary_file = Path(info.parameters.get("out", "")) / "summary.json"
    if info.status == "finished" and summary_file.is_file():
        summary = json.loads(summary_file.read_text())
    return Result(info.kind, run_id, summary, dataset)


def run_experiment(
    kind: str,
    options: dict[str, Any],
    *,
    store: str | Path | None = None,
    out: str | Path | None = None,
    progress: ProgressCallback | None = None,
) -> Result:
    """Run experiment ``kind`` with ``options`` (by name; the rest take their defaults), as its
    command would. Without ``out`` and ``store`` nothing is left on disk: the run goes to a
    temporary folder, and the result keeps its summary and data in memory."""
    exp = experiment(kind)
    taken = {}
    for option in exp.options:
        value = options.get(option.name, option.default)
        taken[option.name] = option.take(value)
    params = exp.prepare(taken)
    with tempfile.TemporaryDirectory(prefix="mtjlab-") as tmp:
        out_dir = Path(out) if out is not None else Path(tmp) / "out"
        if out_dir.exists() and not out_dir.is_dir():
            raise ValueError(f"out={str(out_dir)!r}: exists and is not a folder")
        out_dir.mkdir(parents=True, exist_ok=True)
        store_path = Path(store) if store is not None else out_dir / "runs.db"
        if store is None and out is None:
            store_path = Path(tmp) / "runs.db"
        params = exp.expand(params)
        params["out"] = str(out_dir.resolve())
        with RunStore(store_path) as s:
            run_id = engine.create(s, kind, params)
            summary = engine.execute(s, run_id, progress=progress)
            dataset = run_dataset(s, run_id).load()
        if out is None:  # its files went with the temporary folder
            summary = {k: v for k, v in summary.items() if k not in _FILE_KEYS}
            dataset.attrs.pop("out", None)
            if store is not None:
                summary["store"] = str(store_path)
    return Result(kind, run_id, summary, dataset)


def _function(exp: Experiment) -> Callable[..., Result]:
    """The Python function of an experiment's command, with its options as parameters."""
    parameters = []
    for option in exp.options:
        if option.flag is None:  # a positional argument of the command: a required parameter
            parameters.append(
                inspect.Parameter(option.name, inspect.Parameter.POSITIONAL_OR_KEYWORD)
            )
        else:
            parameters.append(
                inspect.Parameter(
                    option.name, inspect.Parameter.KEYWORD_ONLY, default=option.default
                )
            )
    for name in ("store", "out", "progress"):
        parameters.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None))
    signature = inspect.Signature(parameters, return_annotation=Result)

    def function(*args: Any, **kwargs: Any) -> Result:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        values = dict(bound.arguments)
        where = {name: values.pop(name) for name in ("store", "out", "progress")}
        return run_experiment(exp.kind, values, **where)

    lines = [f"{exp.description}", "", "Parameters", "----------"]
    for option in exp.options:
        flag = f" (``{option.flag}`` on the command line)" if option.flag else ""
        lines += [f"{option.name}{flag}", f"    {option.help}"]
    lines += [
        "store, out : path, optional",
        "    The run store to append the run to, and the folder for its figures and",
        "    summary.json; without them nothing is left on disk.",
        "progress : callable, optional",
        "    Called with each mtjlab.core.events.Progress as the run goes.",
        "",
        "Returns",
        "-------",
        "Result",
        "    ``.summary``, ``.to_xarray()``, ``.figures()``.",
    ]
    function.__name__ = function.__qualname__ = exp.function_name
    function.__doc__ = "\n".join(lines)
    function.__signature__ = signature  # type: ignore[attr-defined]
    function.__module__ = "mtjlab"
    return function


#: Each experiment's function, by its name (``read``, ``characterize_fidelity``, ...).
FUNCTIONS: dict[str, Callable[..., Result]] = {
    experiment(kind).function_name: _function(experiment(kind)) for kind in COMMAND_ORDER
}


def sweep(
    experiment: str,
    *,
    vary: Any = (),
    seeds: Any = 1,
    sample: int | None = None,
    sample_seed: int = 0,
    workers: int | None = None,
    scheduler: str | None = None,
    client: Any = None,
    store: str | Path | None = None,
    out: str | Path | None = None,
    progress: ProgressCallback | None = None,
    **options: Any,
) -> Result:
    """Run ``experiment`` at every point of a grid (or a random sample) of chip fields and its
    options, each point on its own simulated chip seed.

    Parameters
    ----------
    experiment : str
        The experiment run at each point (``"reproduce"``).
    vary : sequence
        The fields to vary: ``("r_row_ohm", [0, 5, 20])`` for a grid of values, or text as on
        the command line, ``"r_row_ohm=0,5,20"``, or a range ``"p_open=0:0.01"`` for ``sample``.
        A field is a chip field (``docs/device-model.md``) or an option of the experiment.
    seeds : int or sequence of int
        The chip seeds of every point: a count (1: seed 0) or the seeds.
    sample : int, optional
        Draw this many points uniformly from the ranges instead of a grid (``sample_seed``
        fixes the draw).
    workers : int, optional
        Processes running points side by side (default: every core); the results are those of
        one process.
    scheduler, client : optional
        Run the points on a Dask cluster instead: its scheduler's address (``tcp://HOST:PORT``)
        or a ``distributed.Client`` of it (``pip install 'mtjlab[dask]'``); the results are the
        same.
    store, out, progress
        As for every experiment: the run store, the output folder, a progress callback.
    **options
        The experiment's own options, fixed over the sweep (``solutions=5``).

    Returns
    -------
    Result
        ``.summary["points"]`` (each point's values and figures) and ``.to_xarray()`` (one
        dimension per varied field and ``seed``, or ``point`` for a sample).
    """
    values = {
        "experiment": experiment,
        "vary": [vary] if isinstance(vary, str) else list(vary),
        "seeds": seeds,
        "sample": sample,
        "sample_seed": sample_seed,
        "workers": workers,
        "scheduler": client.scheduler.address if client is not None else scheduler,
        "settings": options,
    }
    return run_experiment("sweep", values, store=store, out=out, progress=progress)


read = FUNCTIONS["read"]
write = FUNCTIONS["write"]
characterize_fidelity = FUNCTIONS["characterize_fidelity"]
characterize_switching = FUNCTIONS["characterize_switching"]
characterize_rv = FUNCTIONS["characterize_rv"]
reproduce = FUNCTIONS["reproduce"]

__all__ = [
    "FUNCTIONS",
    "OpenBench",
    "Result",
    "SimulatedBench",
    "characterize_fidelity",
    "characterize_rv",
    "characterize_switching",
    "open_bench",
    "open_run",
    "read",
    "reproduce",
    "run_experiment",
    "simulated_bench",
    "sweep",
    "write",
]
