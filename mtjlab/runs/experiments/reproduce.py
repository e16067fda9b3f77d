"""The reference experiment: distinct binary networks for Wine, each written into a passive array
and scored for accuracy (untuned and tuned) and write fidelity; one resumable unit per solution,
solutions on separate arrays in separate worker processes, the parent keeping the run store.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import threading
import time
from dataclasses import replace

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from mtjlab.analysis.metrics import METRIC_KEYS, metric_statistics
from mtjlab.analysis.network import INPUT_SCALINGS, distinct_binary_networks, float_mlp_accuracy
from mtjlab.bench.description import (
    BenchDescription,
    FileBench,
    bench_label,
    from_params,
)
from mtjlab.core.events import Progress, emit
from mtjlab.runs.context import Context, safe_on_exit
from mtjlab.runs.experiments import reproduce_report, reproduce_text
from mtjlab.runs.experiments.wine import (
    RECORD_KEYS,
    Wine,
    learn,
    record_of,
    split_of,
    stateful,
)
from mtjlab.runs.options import (
    ALLOW_DISTURB,
    ARRAYS,
    BENCH,
    CHIP,
    CHIP_SET,
    SEED,
    WRITE_VERIFY_ON_CHIP,
    Option,
    arrays_on,
    check_write_params,
    chip_bench,
    chip_ramps,
    disturb_allowed,
)
from mtjlab.runs.registry import Experiment, register
from mtjlab.runs.units import Unit, UnitRunner
from mtjlab.runs.values import (
    DEFAULT_TEST_WINES,
    FLAG,
    FRACTION,
    POSITIVE_INT,
    TEXT,
    VOLTS,
    WINE_SAMPLES,
    WINE_SPLIT,
    OptionError,
    bounded,
)
from mtjlab.sim.chip import PRESETS, REPRODUCE_PRESET
from mtjlab.sim.statistics import pair_weight_sampler

#: The write-verify options reproduce takes: its ramps, by default the chip preset's.
_RAMP_OPTIONS = ("p_to_ap_ramp_v", "ap_to_p_ramp_v")

OPTIONS = (
    Option(
        "solutions",
        "--solutions",
        bounded(POSITIVE_INT),
        default=300,
        help="binary solutions (default 300)",
    ),
    replace(SEED, help="seed of the chip, the train/test split and the training (default 0)"),
    replace(
        CHIP,
        default=REPRODUCE_PRESET,
        help=f"simulated chip preset: {', '.join(sorted(PRESETS))} (default {REPRODUCE_PRESET!r}, "
        "device size as physics; 'default' is the old name of 'kind'; see docs/device-model.md)",
    ),
    replace(ARRAYS, help="arrays the solutions are written into in turn (default all)"),
    CHIP_SET,
    Option(
        "v_in_v",
        "--v-in",
        VOLTS,
        default=0.1,
        help="row voltage of an input of 1 (default 0.1 V, inside the read limit)",
    ),
    Option(
        "inputs",
        "--inputs",
        TEXT,
        default="unsigned",
        choices=INPUT_SCALINGS,
        help="how the 13 features become row voltages: unsigned, each scaled into 0..1 as the "
        "reference experiment did (default), or signed, each z-scored and scaled into -1..1, "
        "whose currents largely cancel on the lines",
    ),
    Option(
        "split",
        "--split",
        WINE_SPLIT,
        default=(WINE_SAMPLES - DEFAULT_TEST_WINES, DEFAULT_TEST_WINES),
        metavar="TRAIN/TEST",
        help="training and test wines of the stratified split (default "
        f"{WINE_SAMPLES - DEFAULT_TEST_WINES}/{DEFAULT_TEST_WINES}; the reference experiment "
        "used 148/30)",
    ),
    Option(
        "output_layer",
        "--output-layer",
        TEXT,
        default="software",
        choices=("software", "array"),
        help="where the 7x3 output layer runs: in software on the measured hidden signs, or "
        "written into a second array, the hidden signs driving its rows (arrays taken in pairs "
        "from --arrays; default software)",
    ),
    Option(
        "train_fault_rate",
        "--train-fault-rate",
        FRACTION,
        default=0.0,
        metavar="P",
        help="statistics-aware training: each epoch, lose each hidden weight with probability P "
        "(as a pair with a defect device reads), so solutions do not lean on single weights "
        "(default 0)",
    ),
    Option(
        "statistics_aware",
        "--statistics-aware",
        FLAG,
        default=False,
        help="statistics-aware training: each epoch, the hidden weights as pairs drawn from the "
        "chip preset's device statistics would hold them (resistance and TMR spread, stuck and "
        "open devices)",
    ),
    Option(
        "defect_aware",
        "--defect-aware",
        FLAG,
        default=False,
        help="place each layer so the defects its array's earlier writes showed (stuck, open, "
        "short cells) cost the fewest weights, using the spare rows and any column pair",
    ),
    Option(
        "workers",
        "--workers",
        bounded(POSITIVE_INT, 1024),
        help="processes writing arrays side by side, each array's solutions in order in one "
        "of them; the results are those of one process (default: 2, or 1 on one core; 1 with "
        "--bench, whose instruments one process drives)",
    ),
    replace(
        BENCH,
        help="a bench file (docs/bench.md): the solutions are written, read and scored through "
        "its instruments and the arrays it wires (--arrays among them), and on an emulated bench "
        "the run reports the bench time it would take; --chip and --chip-set describe the "
        "built-in simulated chip, the file its own (default: the built-in simulated chip)",
    ),
    *(replace(o, group=None) for o in WRITE_VERIFY_ON_CHIP if o.name in _RAMP_OPTIONS),
    ALLOW_DISTURB,
)


def prepare(o: dict) -> dict:
    """Every value checked against the bench; the networks are trained by :func:`expand`."""
    bench = chip_bench(o, REPRODUCE_PRESET)
    if o["bench"] is None:
        workers = o["workers"] or min(2, os.cpu_count() or 1)
    else:
        if o["workers"] not in (None, 1):
            raise OptionError(
                f"--workers {o['workers']}: a bench's instruments are driven by one process"
            )
        workers = 1
        if o["statistics_aware"] and bench.seed is None:
            raise OptionError(
                "--statistics-aware draws from the simulated chip's device statistics; "
                f"bench {o['bench']} is a real bench, whose statistics mtjlab does not know"
            )
    arrays = arrays_on(bench, o["arrays"])
    limits = disturb_allowed(bench.limits(), o)
    limits.check_read(o["v_in_v"], "input voltage --v-in")
    write = chip_ramps(o, bench)
    check_write_params({**write, "scheme": "v/2", "width_s": 100e-9, "v_read_v": 0.1}, limits)
    if o["output_layer"] == "array" and len(arrays) < 2:
        raise OptionError(
            f"--output-layer array needs two arrays per solution; --arrays gives {arrays}"
        )
    return {
        "bench": bench.as_params(),
        "split_seed": o["seed"],
        "test_samples": o["split"][1],
        "inputs": o["inputs"],
        "arrays": arrays,
        "v_in_v": o["v_in_v"],
        "workers": workers,
        "defect_aware": o["defect_aware"],
        "output_layer": o["output_layer"],
        "train_fault_rate": o["train_fault_rate"],
        "statistics_aware": o["statistics_aware"],
        "write": write,
        "solutions": o["solutions"],
        "allow_disturb": o["allow_disturb"],
    }


def expand(params: dict) -> dict:
    """Train the distinct binary networks the run writes, once, and keep them with the run (so
    a resumed run does not train again)."""
    p = dict(params)
    n = p.pop("solutions")
    sampler = None
    if p["statistics_aware"]:
        sampler = pair_weight_sampler(from_params(p["bench"]).spec(), p["v_in_v"])
    nets = distinct_binary_networks(
        split_of(p),
        n,
        seed=p["split_seed"],
        weight_fault_rate=p["train_fault_rate"],
        weight_sampler=sampler,
        # the run's worker processes are not started yet: the training has their cores
        processes=int(p.get("workers", 1)),
    )
    p["networks"] = [
        {
            "w_hidden": net.w_hidden.tolist(),
            "b_hidden": net.b_hidden.tolist(),
            "w_out": net.w_out.tolist(),
            "b_out": net.b_out.tolist(),
        }
        for net in nets
    ]
    return p


def run(ctx: Context) -> dict:
    wine = Wine(ctx.params)
    n = len(wine.nets)
    arrays = sorted({a for g in wine.groups for a in g})
    backends = ctx.backends(arrays)
    with safe_on_exit(backends):
        runner = UnitRunner(
            {wine.state_key(g): stateful(backends, g) for g in wine.groups},
            ctx.store,
            ctx.run_id,
        )
        results: dict[int, dict] = {}

        def done(k: int, result: dict) -> None:
            results[k] = result
            detail = f"tuned {100 * result['tuned_accuracy']:.1f} %"
            emit(ctx.progress, Progress("reproduce", len(results), n, "solution", detail))

        # A resumed run's stored solutions come first, as the progress's starting point.
        results |= {k: runner.results[f"solution={k}"] for k in range(n)
                    if runner.done(f"solution={k}")}  # fmt: skip
        emit(ctx.progress, Progress("reproduce", len(results), n, "solution"))
        pending = [k for k in range(n) if k not in results]
        workers = min(int(ctx.params.get("workers", 1)), len({wine.group_of(k) for k in pending}))
        # What each array's finished solutions left to know: its P/AP threshold and its defects.
        thresholds: dict[int, float] = {}
        known: dict[int, dict] = {a: {} for a in arrays}
        learn(list(results.values()), thresholds, known)
        # What the summary needs that no solution changes: worked out while a core is spare (a
        # worker has written all its arrays and the others have not) instead of after the last
        # solution.
        ahead: dict = {}

        def spare() -> None:
            if not ahead:
                ahead["float_mlp_accuracy"] = float_mlp_accuracy(wine.split)

        if workers <= 1:
            for k in pending:
                g = wine.group_of(k)

                def measure(record, k=k) -> dict:
                    result = wine.solve(backends, k, thresholds, known)
                    record(record_of(result))
                    return result

                result = runner.run(Unit(f"solution={k}", wine.state_key(g), measure))
                learn([result], thresholds, known)
                done(k, result)
        else:
            _in_parallel(ctx, wine, runner, pending, thresholds, known, workers, done, spare)
    return _summary(ctx, [results[k] for k in range(n)], wine, ahead)


def _in_parallel(ctx, wine, runner, pending, thresholds, known, workers, done, spare) -> None:
    """Solutions on separate arrays in separate processes; this process keeps the run store.

    Each group of arrays has its solutions in order in one worker, which starts from the
    arrays' stored states, so the results are those of the serial run; each result and the
    group's state are committed here as they arrive. ``spare()`` is called when a worker has
    sent its last result while others still work, so a core is free.
    """
    mp = multiprocessing.get_context("fork")
    groups = sorted({wine.group_of(k) for k in pending})
    shares = [groups[w::workers] for w in range(workers)]
    worker_of = {g: w for w, share in enumerate(shares) for g in share}
    left = [sum(worker_of[wine.group_of(k)] == w for k in pending) for w in range(workers)]
    queue = mp.Queue()
    states = {g: runner.backends[wine.state_key(g)].snapshot_state() for g in groups}
    procs = [
        mp.Process(
            target=_worker,
            args=(
                os.getpid(),
                queue,
                ctx.params,
                [k for k in pending if wine.group_of(k) in share],
                {g: states[g] for g in share},
                thresholds,
                known,
            ),
            daemon=True,
        )
        for share in shares
    ]
    for proc in procs:
        proc.start()
    try:
        remaining = len(pending)
        while remaining:
            message = queue.get()
            if message[0] == "error":
                raise RuntimeError(f"a reproduce worker failed: {message[1]}")
            _, k, result, state = message
            key = wine.state_key(wine.group_of(k))
            runner.commit(f"solution={k}", key, result, state, [record_of(result)])
            done(k, result)
            remaining -= 1
            w = worker_of[wine.group_of(k)]
            left[w] -= 1
            if left[w] == 0 and remaining:
                spare()
    finally:
        for proc in procs:
            if remaining:
                proc.terminate()
            proc.join(timeout=10)
            if proc.is_alive():
                proc.kill()
                proc.join()


def _end_with(parent: int) -> None:
    """End this worker as soon as ``parent`` is gone (a SIGKILL gives it no chance to end its
    workers): a thread that looks every 0.2 s, so a worker blocked writing to a full pipe ends
    too. Only the parent keeps the run store, so nothing a worker holds is lost."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(1)

    threading.Thread(target=watch, name="mtjlab-parent-watch", daemon=True).start()


def _worker(parent, queue, params, solutions, states, thresholds, known) -> None:
    # The parent owns the run: it ends the workers (SIGTERM, quietly) when it stops, also on
    # Ctrl-C, which the terminal sends to the workers too; if it is killed, they end by
    # themselves.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _end_with(parent)
    try:
        wine = Wine(params)
        bench = from_params(params["bench"])
        limits = disturb_allowed(bench.limits(), params)
        backends = bench.backends(sorted({a for g in states for a in g}), limits=limits)
        groups = {g: stateful(backends, g) for g in states}
        for g, blob in states.items():
            groups[g].restore_state(blob)
        thresholds = dict(thresholds)
        with safe_on_exit(backends):
            for k in solutions:
                g = wine.group_of(k)
                result = wine.solve(backends, k, thresholds, known)
                learn([result], thresholds, known)
                queue.put(("result", k, result, groups[g].snapshot_state()))
    except BaseException as exc:  # report, do not hang the parent
        queue.put(("error", f"{type(exc).__name__}: {exc}"))


#: The scores of a solution summarized over the run (medians, quantiles, means); the metrics
#: are summarized by how well they predict the accuracy drop instead (:func:`_metrics`).
_SOLUTION_KEYS = tuple(
    k for k in RECORD_KEYS if k not in ("solution", "array", "output_array", *METRIC_KEYS)
)

#: The accuracy drops the metrics are scored against: software minus hardware test accuracy.
_DROPS = {"untuned_drop": "untuned", "tuned_drop": "tuned"}


def _metrics(results: list[dict], wine: Wine, seed: int) -> dict | None:
    """How well each metric, and weight fidelity, predicts each solution's accuracy drop, and the
    ceiling the test split's noise puts on that (:func:`analysis.metrics.metric_statistics`).
    Computed here from the solutions' values, so any number of workers gives the same; None for
    a run whose solutions were stored before the metrics existed."""
    if not all("test_correct" in r for r in results):
        return None
    metrics = {k: np.array([r[k] for r in results]) for k in ("weight_fidelity", *METRIC_KEYS)}
    software = np.array([r["test_correct"]["software"] for r in results])
    sample_drops = {
        drop: software - np.array([r["test_correct"][name] for r in results])
        for drop, name in _DROPS.items()
    }
    drops = {drop: d.mean(axis=1) for drop, d in sample_drops.items()}
    return metric_statistics(metrics, drops, sample_drops, wine.split.y_test, seed=seed)


def _tuning_lowered(results: list[dict]) -> dict:
    """The solutions whose test accuracy the tuning lowered (tuned below untuned hardware), and
    those whose software accuracy the same threshold retuning lowered (the tuning is fitted on the
    training split, so it can lose on the test split)."""
    lowered = [r["solution"] for r in results if r["tuned_accuracy"] < r["untuned_accuracy"]]
    out: dict = {"n_tuning_lowered": len(lowered), "tuning_lowered_solutions": lowered}
    if all("software_retuned_accuracy" in r for r in results):
        out["n_software_retuning_lowered"] = sum(
            r["software_retuned_accuracy"] < r["software_accuracy"] for r in results
        )
    return out


def _diameters_nm(bench: BenchDescription) -> tuple[float, ...] | None:
    """Each array's device diameter: the simulated chip's, or a bench file's emulated chip's;
    None on a real bench, whose devices mtjlab does not know."""
    if isinstance(bench, FileBench) and bench.seed is None:
        return None
    return bench.spec().diameters_nm


def _per_array(results: list[dict], diameters_nm: tuple[float, ...] | None) -> list[dict]:
    """The solutions grouped by the array holding their hidden layer, with its device diameter
    (None on a real bench) and each group's accuracies and mean weight fidelity."""
    groups: dict[int, list[dict]] = {}
    for r in results:
        groups.setdefault(r["array"], []).append(r)
    out = []
    for array, rs in sorted(groups.items()):
        untuned = np.array([r["untuned_accuracy"] for r in rs])
        tuned = np.array([r["tuned_accuracy"] for r in rs])
        out.append(
            {
                "array": array,
                "diameter_nm": None if diameters_nm is None else float(diameters_nm[array]),
                "n_solutions": len(rs),
                "solutions": [r["solution"] for r in rs],
                "median_untuned_accuracy": float(np.median(untuned)),
                "mean_untuned_accuracy": float(np.mean(untuned)),
                "median_tuned_accuracy": float(np.median(tuned)),
                "mean_tuned_accuracy": float(np.mean(tuned)),
                "mean_weight_fidelity": float(np.mean([r["weight_fidelity"] for r in rs])),
                "n_tuning_lowered": int(np.sum(tuned < untuned)),
            }
        )
    return out


def _summary(ctx: Context, results: list[dict], wine: Wine, ahead: dict | None = None) -> dict:
    """The run's summary; ``ahead`` holds what of it was worked out while solutions ran."""
    ahead = ahead or {}
    p, split = ctx.params, wine.split
    solutions = [record_of(r) for r in results]
    overall: dict = {
        "accuracy_unit": "fraction of the test split",
        "n_solutions": len(results),
        "output_layer": "array" if wine.output_on_array else "software",
    }
    for key in (k for k in _SOLUTION_KEYS if all(k in r for r in results)):
        v = np.array([r[key] for r in results], dtype=float)
        overall[f"median_{key}"] = float(np.median(v))
        overall[f"mean_{key}"] = float(np.mean(v))
        overall[f"q05_{key}"] = float(np.quantile(v, 0.05))
        overall[f"q95_{key}"] = float(np.quantile(v, 0.95))
        overall[f"max_{key}"] = float(np.max(v))
    mlp = ahead.get("float_mlp_accuracy")
    overall["float_mlp_accuracy"] = float_mlp_accuracy(split) if mlp is None else mlp
    overall |= _tuning_lowered(results)
    bench = from_params(p["bench"])
    overall["per_array"] = _per_array(results, _diameters_nm(bench))
    metrics = _metrics(results, wine, p["split_seed"])
    if metrics is not None:
        overall["metrics"] = metrics
    summary = {**overall, "solutions": solutions, "figures": [], "html": ""}
    if not ctx.draws:
        return summary
    on = bench.label
    ds = ctx.dataset()
    figures = ctx.save_figures(_figures(ds, overall, on))
    emulated = ctx.emulated  # on an emulated bench: the bench time so far, as the console says
    html = reproduce_report.write_report(
        ctx.out / "report.html",
        ds=ds,
        summary=overall,
        params=p,
        on=on,
        output_on_array=wine.output_on_array,
        figure_paths=figures,
        per_array_table=(
            reproduce_text.PER_ARRAY_TITLE[0].upper() + reproduce_text.PER_ARRAY_TITLE[1:],
            reproduce_text.PER_ARRAY_HEADER,
            reproduce_text.per_array_rows(overall["per_array"]),
        ),
        bench_time=None if emulated is None else (emulated.clock.now_s, emulated.round_trips()),
        store=ctx.store.path,
    )
    summary["figures"], summary["html"] = figures, str(html)
    return summary


def figures(ds: xr.Dataset, summary: dict) -> dict[str, Figure]:
    return _figures(ds, summary, bench_label(json.loads(ds.attrs["bench"])))


def _figures(ds: xr.Dataset, summary: dict, on: str) -> dict[str, Figure]:
    """The report's figures (:func:`reproduce_report.figures`)."""
    return reproduce_report.figures(ds, summary, on)


EXPERIMENT = register(
    Experiment(
        kind="reproduce",
        command=("reproduce",),
        help="the reference experiment: binary neural networks for Wine written, read and scored",
        description="Train distinct binary 13-7-3 networks for scikit-learn's Wine data, write "
        "each hidden layer into a 15x15 array with write-verify (weights as differential column "
        "pairs), read it back, run the test split through the array as row voltages, tune each "
        "hidden unit's gain, offset and threshold on the training split, and score accuracy and "
        "write fidelity; summary.json, figures and report.html in the output folder.",
        options=OPTIONS,
        prepare=prepare,
        run=run,
        text=reproduce_text.text,
        figures=figures,
        expand=expand,
        expanding="training binary networks for {solutions} solutions ...",
    )
)
