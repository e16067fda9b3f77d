"""A sweep: one experiment run at every point of a grid (or a random sample) of chip fields and
experiment options, each point on its own simulated chip seed.

Each point is one unit of the run store: this process alone writes the store, the points run in
it (``workers=1``) or in a local process pool, each seeded by itself, so the results are the same
whatever the worker count, and an interrupted sweep resumes with only the points it lacked.
The points themselves are planned and checked by :mod:`mtjlab.runs.sweeps`.
"""

from __future__ import annotations

import contextlib
import io
import multiprocessing
import os
import tempfile
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict
from pathlib import Path
from typing import Any

import xarray as xr
from matplotlib.figure import Figure

from mtjlab import report
from mtjlab.bench.description import SimBench
from mtjlab.core.events import Progress, emit
from mtjlab.runs.context import Context
from mtjlab.runs.options import Option
from mtjlab.runs.registry import Experiment, experiment, register
from mtjlab.runs.store import RunStore
from mtjlab.runs.sweeps import (
    MAX_POINTS,
    NOT_VARIED,
    SEEDS,
    VARY,
    SweepPoint,
    plan,
    point_text,
    shown,
)
from mtjlab.runs.units import Unit, UnitRunner
from mtjlab.runs.values import (
    NON_NEGATIVE_INT,
    POSITIVE_INT,
    TEXT,
    OptionError,
    ValueKind,
    bounded,
)

#: Experiments a sweep can run: those whose options name the simulated chip (``chip`` and
#: ``chip_set``), so each point's chip fields reach the point's run: the reference experiment,
#: and write fidelity characterized over many writes.
SWEEPABLE = ("reproduce", "fidelity")

#: The figures of a point shown in the sweep's table, by experiment (all of a point's figures
#: are in its stored result, the summary and the dataset).
TABLE_KEYS = {
    "reproduce": (
        "median_software_accuracy",
        "median_untuned_accuracy",
        "median_tuned_accuracy",
        "mean_weight_fidelity",
    ),
    "fidelity": ("mean_fidelity", "min_fidelity", "p_to_ap_error_rate", "ap_to_p_error_rate"),
}


def _check_settings(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise OptionError(f"expected the experiment's options by name, got {value!r}")
    return dict(value)


def _parse_settings(text: str) -> dict[str, Any]:
    raise OptionError("the experiment's own options are given by name, from Python")


#: The swept experiment's own options, fixed over the sweep, by name.
SETTINGS = ValueKind("settings", _parse_settings, _check_settings)

OPTIONS = (
    Option(
        "experiment",
        None,
        TEXT,
        choices=SWEEPABLE,
        help=f"the experiment run at every point: {', '.join(SWEEPABLE)}",
    ),
    Option(
        "vary",
        "--vary",
        VARY,
        default=(),
        many="append",
        metavar="FIELD=VALUES",
        help="a chip field or an option of the experiment and its values, V1,V2,... (a grid), "
        "or LOW:HIGH (a range for --sample); repeatable",
    ),
    Option(
        "seeds",
        "--seeds",
        SEEDS,
        default=(0,),
        metavar="N|S1,S2,...",
        help="chip seeds each point runs on: a count (3: seeds 0, 1, 2) or a list (default 0)",
    ),
    Option(
        "sample",
        "--sample",
        bounded(POSITIVE_INT, MAX_POINTS),
        metavar="N",
        help="draw N points uniformly from the --vary ranges instead of a grid",
    ),
    Option(
        "sample_seed",
        "--sample-seed",
        NON_NEGATIVE_INT,
        default=0,
        help="seed of the --sample draw (default 0)",
    ),
    Option(
        "workers",
        "--workers",
        bounded(POSITIVE_INT, 1024),
        help="processes running points side by side (default: every core); the results are "
        "those of one process",
    ),
    Option(
        "scheduler",
        "--scheduler",
        TEXT,
        metavar="tcp://HOST:PORT",
        help="run the points on the Dask cluster of this scheduler instead of a local pool "
        "(needs pip install 'mtjlab[dask]')",
    ),
    Option("settings", None, SETTINGS, default={}, help="the experiment's own options"),
)


def prepare(o: dict) -> dict:
    """The sweep's points planned, each point's run prepared (every value checked against its
    chip) before any work starts."""
    exp = experiment(o["experiment"])
    inner = {opt.name: opt for opt in exp.options}
    given = o["settings"]
    unknown = sorted(set(given) - set(inner))
    if unknown:
        raise OptionError(
            f"{exp.kind} has no option {', '.join(unknown)}; its options: "
            f"{', '.join(sorted(inner))}"
        )
    set_by_sweep = sorted(set(given) & set(NOT_VARIED))
    if set_by_sweep:
        raise OptionError(f"{', '.join(set_by_sweep)}: set by the sweep for each point")
    varied = [v.field for v in o["vary"]]
    both = sorted(set(given) & set(varied))
    if both:
        raise OptionError(f"{', '.join(both)}: both fixed and varied")
    fixed = {
        name: opt.take(given.get(name, opt.default))
        for name, opt in inner.items()
        if name not in NOT_VARIED and name not in varied
    }
    preset = fixed.get("chip", inner["chip"].default)
    points = plan(
        exp,
        o["vary"],
        o["seeds"],
        preset=preset,
        sample=o["sample"],
        sample_seed=o["sample_seed"],
    )
    for point in points:
        exp.prepare(_point_options(fixed, point))  # an OptionError names what is wrong
    if o["scheduler"]:
        dask_client(o["scheduler"]).close()  # reachable, before any work starts
    first = points[0]
    return {
        "experiment": exp.kind,
        "varied": varied,
        "sampled": o["sample"] is not None,
        "seeds": list(o["seeds"]),
        "fixed": fixed,
        "points": [asdict(p) for p in points],
        "workers": o["workers"] or os.cpu_count() or 1,
        "scheduler": o["scheduler"],
        # The run's bench as the store records it: the die of its first point (each point's
        # own chip is in the point).
        "bench": SimBench(first.seed, first.options.get("chip", preset), first.chip).as_params(),
    }


def _point_options(fixed: dict, point: SweepPoint) -> dict:
    """The options of one point's run: the fixed ones, the point's, its seed and chip fields;
    one worker process (the sweep spreads its points over processes, not a point's work)."""
    return {
        **fixed,
        **point.options,
        "seed": point.seed,
        "chip_set": list(point.chip.items()),
        "bench": None,
        "workers": 1,
    }


def run_point(kind: str, fixed: dict, point: dict) -> dict:
    """Run one point in this process, in a temporary folder; its figures (every number of its
    summary) with the point's values and index."""
    from mtjlab.runs import engine  # the engine imports the experiments, this one among them

    p = SweepPoint(**point)
    exp = experiment(kind)
    params = exp.expand(exp.prepare(_point_options(fixed, p))) | {"draw_figures": False}
    with tempfile.TemporaryDirectory(prefix="mtjlab-point-") as tmp:
        params["out"] = str(Path(tmp) / "out")
        with RunStore(Path(tmp) / "runs.db") as store, contextlib.redirect_stdout(io.StringIO()):
            summary = engine.execute(store, engine.create(store, kind, params))
    # Every number of the summary, and of its "overall" figures (a fidelity run's).
    flat = {**summary.get("overall", {}), **summary}
    numbers = {
        k: v
        for k, v in flat.items()
        if isinstance(v, (int, float)) and not isinstance(v, bool) and k not in ("run",)
    }
    metrics = summary.get("metrics") or {}
    if metrics.get("best") is not None:
        numbers["best_metric_rho"] = metrics["by_metric"][metrics["best"]]["untuned_drop"]["rho"]
    return {"point": p.index, **p.values(), **numbers}


class _NoState:
    """The sweep's units change no array of this process: nothing to save or put back."""

    def snapshot_state(self) -> None:
        return None

    def restore_state(self, blob: bytes) -> None:
        raise ValueError("a sweep keeps no array state")


def _unit(index: int) -> str:
    return f"point={index}"


def run(ctx: Context) -> dict:
    p = ctx.params
    points = p["points"]
    n = len(points)
    runner = UnitRunner({"sweep": _NoState()}, ctx.store, ctx.run_id)
    results: dict[int, dict] = {}

    def done(index: int, result: dict) -> None:
        results[index] = result
        emit(
            ctx.progress,
            Progress(
                "sweep",
                len(results),
                n,
                "point",
                point_text({k: result[k] for k in (*p["varied"], "seed")}),
            ),
        )

    # A resumed sweep's stored points come first, as the progress's starting point.
    for point in points:
        if runner.done(_unit(point["index"])):
            results[point["index"]] = runner.results[_unit(point["index"])]
    emit(ctx.progress, Progress("sweep", len(results), n, "point"))
    pending = [point for point in points if point["index"] not in results]

    def commit(result: dict) -> None:
        runner.commit(_unit(result["point"]), "sweep", result, None, [result])
        done(result["point"], result)

    workers = min(int(p["workers"]), len(pending))
    if p.get("scheduler"):
        _on_dask(p["scheduler"], p, pending, commit)
    elif workers <= 1:
        for point in pending:

            def measure(record, point=point) -> dict:
                result = run_point(p["experiment"], p["fixed"], point)
                record(result)
                return result

            done(point["index"], runner.run(Unit(_unit(point["index"]), "sweep", measure)))
    else:
        _in_pool(workers, p, pending, commit, results)
    ordered = [results[point["index"]] for point in points]
    summary = {
        "experiment": p["experiment"],
        "n_points": n,
        "varied": p["varied"],
        "seeds": p["seeds"],
        "points": ordered,
    }
    summary["figures"] = ctx.save_figures(figures(ctx.dataset(), summary))
    return summary


#: How many times a local pool that lost a worker is started again before the sweep fails.
POOL_RESTARTS = 3


def _in_pool(workers: int, p: dict, pending: list[dict], commit, results: dict) -> None:
    """Points in forked worker processes, each running whole points; only this process writes
    the store, each result committed as it arrives. A worker that dies (killed, out of memory)
    breaks the pool: the points not yet committed run again in a new one, up to
    :data:`POOL_RESTARTS` times."""
    for attempt in range(POOL_RESTARTS + 1):
        left = [point for point in pending if point["index"] not in results]
        if not left:
            return
        pool = ProcessPoolExecutor(min(workers, len(left)), mp_context=_fork())
        try:
            futures = [pool.submit(run_point, p["experiment"], p["fixed"], pt) for pt in left]
            for future in as_completed(futures):
                commit(future.result())
            return
        except BrokenProcessPool:
            if attempt == POOL_RESTARTS:
                raise RuntimeError(
                    f"the sweep's worker processes died {POOL_RESTARTS + 1} times; "
                    "its finished points are kept (mtjlab runs resume)"
                ) from None
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _fork():
    return multiprocessing.get_context("fork")


def dask_client(address: str):
    """A Dask client of the scheduler at ``address``, or an OptionError in one line: Dask not
    installed (the extra to install named), or the scheduler not reachable."""
    try:
        from distributed import Client
    except ImportError:
        raise OptionError(
            f"--scheduler {address}: running on a Dask cluster needs Dask: "
            "pip install 'mtjlab[dask]'"
        ) from None
    try:
        return Client(address, timeout=DASK_TIMEOUT_S)
    except (OSError, TimeoutError, ValueError) as exc:
        raise OptionError(
            f"--scheduler {address}: cannot reach the Dask scheduler ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else 'no answer'})"
        ) from None


#: How long connecting to a Dask scheduler may take.
DASK_TIMEOUT_S = 10


def _on_dask(address: str, p: dict, pending: list[dict], commit) -> None:
    """Points as tasks of a Dask cluster; only this process writes the store, each result
    committed as it arrives. A worker lost in the middle costs only its tasks, which the
    scheduler runs again elsewhere."""
    from distributed import as_completed as dask_completed

    client = _client_of_this_process(address)
    ours = client is None
    if ours:
        client = dask_client(address)
    try:
        futures = [
            client.submit(run_point, p["experiment"], p["fixed"], point, pure=False, retries=2)
            for point in pending
        ]
        for future in dask_completed(futures):
            commit(future.result())
    finally:
        if ours:
            client.close()


def _client_of_this_process(address: str):
    """The running Dask client this process already has on the scheduler at ``address`` (the
    one ``mtjlab.sweep(client=...)`` was given), or None. A second client of the same process
    would share the first one's event loop, and closing it has left the first one's futures
    bound to a loop that was gone (seen on CI as "is bound to a different event loop")."""
    from distributed import default_client

    try:
        client = default_client()
    except ValueError:  # no client in this process
        return None
    same = client.status == "running" and client.scheduler.address == address
    return client if same else None


def text(summary: dict) -> list[str]:
    """One row per point: its values and seed, and the experiment's main figures."""
    keys = [
        k
        for k in TABLE_KEYS.get(summary["experiment"], ())
        if all(k in r for r in summary["points"])
    ]
    fields = [*summary["varied"], "seed"]
    rows = [
        [shown(r[f]) for f in fields] + [f"{100 * r[k]:.1f}" for k in keys]
        for r in summary["points"]
    ]
    header = fields + [k.replace("_accuracy", "").replace("_", " ") + " %" for k in keys]
    return [
        f"sweep of {summary['experiment']}: {summary['n_points']} points",
        report.format_table(header, rows),
    ]


#: A sweep's figures, by experiment: their y label, and each series' variable and label.
FIGURE_SERIES = {
    "reproduce": (
        "test accuracy (%)",
        (
            ("median_software_accuracy", "software"),
            ("median_untuned_accuracy", "untuned"),
            ("median_tuned_accuracy", "tuned"),
        ),
    ),
    "fidelity": (
        "write fidelity (%)",
        (("mean_fidelity", "mean over writes"), ("min_fidelity", "worst write")),
    ),
}


def figures(ds: xr.Dataset, summary: dict) -> dict[str, Figure]:
    """One figure per varied numeric field: the experiment's main figures (for reproduce the
    median software, untuned and tuned accuracy, for fidelity the mean and worst write fidelity,
    in percent) against the field's values, the median over the seeds and the other fields'
    values, and their spread."""
    kind = summary.get("experiment") or ds.attrs.get("experiment", "")
    ylabel, wanted = FIGURE_SERIES.get(kind, ("", ()))
    series = [(k, label) for k, label in wanted if k in ds]
    out: dict[str, Figure] = {}
    if not series:
        return out
    for field in summary.get("varied", []):
        if field not in ds.dims or ds[field].dtype.kind not in "iuf":
            continue  # a sample (one dimension, point), or a field of text values
        data = {
            label: 100 * ds[k].transpose(field, ...).values.reshape(ds.sizes[field], -1)
            for k, label in series
        }
        n_seeds = ds.sizes.get("seed", 1)
        out[f"sweep_{field}.png"] = report.figure_sweep_field(
            ds[field].values,
            data,
            xlabel=field,
            ylabel=ylabel,
            title=f"{kind}: {ds.sizes[field]} values of {field}, {n_seeds} chip seed"
            + ("s" if n_seeds != 1 else ""),
        )
    return out


EXPERIMENT = register(
    Experiment(
        kind="sweep",
        command=("sweep",),
        help="one experiment over a grid or a sample of chip fields and options, times seeds",
        description="Run an experiment at every point of a grid (or a random sample) of chip "
        "fields and experiment options, each point on its own simulated chip seed; each point "
        "is one resumable unit of the run store.",
        options=OPTIONS,
        prepare=prepare,
        run=run,
        text=text,
        figures=figures,
    )
)
