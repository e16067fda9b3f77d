"""The reference experiment: distinct binary networks for Wine, each written into a passive array
and scored for accuracy (untuned and tuned) and write fidelity; one resumable unit per solution,
solutions on separate arrays in separate worker processes, the parent keeping the run store.
"""

from __future__ import annotations

import multiprocessing
import signal

import numpy as np

from mtjlab import report
from mtjlab.analysis.network import float_mlp_accuracy
from mtjlab.bench.description import from_params
from mtjlab.core.events import Progress, emit
from mtjlab.runs.context import Context, safe_on_exit
from mtjlab.runs.experiments.wine import RECORD_KEYS, Wine, learn, record_of, stateful
from mtjlab.runs.registry import Experiment, register
from mtjlab.runs.units import Unit, UnitRunner


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
        emit(ctx.progress, Progress("reproduce", 0, n, "solution"))

        def done(k: int, result: dict) -> None:
            results[k] = result
            detail = f"tuned {100 * result['tuned_accuracy']:.1f} %"
            emit(ctx.progress, Progress("reproduce", len(results), n, "solution", detail))

        for k in range(n):
            if runner.done(f"solution={k}"):
                done(k, runner.results[f"solution={k}"])
        pending = [k for k in range(n) if k not in results]
        workers = min(int(ctx.params.get("workers", 1)), len({wine.group_of(k) for k in pending}))
        # What each array's finished solutions left to know: its P/AP threshold and its defects.
        thresholds: dict[int, float] = {}
        known: dict[int, dict] = {a: {} for a in arrays}
        learn(list(results.values()), thresholds, known)
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
            _in_parallel(ctx, wine, runner, pending, thresholds, known, workers, done)
    return _summary(ctx, [results[k] for k in range(n)], wine)


def _in_parallel(ctx, wine, runner, pending, thresholds, known, workers, done) -> None:
    """Solutions on separate arrays in separate processes; this process keeps the run store.

    Each group of arrays has its solutions in order in one worker, which starts from the
    arrays' stored states, so the results are those of the serial run; each result and the
    group's state are committed here as they arrive.
    """
    mp = multiprocessing.get_context("fork")
    groups = sorted({wine.group_of(k) for k in pending})
    shares = [groups[w::workers] for w in range(workers)]
    queue = mp.Queue()
    states = {g: runner.backends[wine.state_key(g)].snapshot_state() for g in groups}
    procs = [
        mp.Process(
            target=_worker,
            args=(
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
    finally:
        for proc in procs:
            if remaining:
                proc.terminate()
            proc.join(timeout=10)
            if proc.is_alive():
                proc.kill()
                proc.join()


def _worker(queue, params, solutions, states, thresholds, known) -> None:
    # The parent owns the run: it ends the workers (SIGTERM, quietly) when it stops, also on
    # Ctrl-C, which the terminal sends to the workers too.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        wine = Wine(params)
        bench = from_params(params["bench"])
        backends = bench.backends(sorted({a for g in states for a in g}))
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


#: The scores of a solution summarized over the run (medians, quantiles, means).
_SOLUTION_KEYS = tuple(k for k in RECORD_KEYS if k not in ("solution", "array", "output_array"))


def _summary(ctx: Context, results: list[dict], wine: Wine) -> dict:
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
    overall["float_mlp_accuracy"] = float_mlp_accuracy(split)
    acc = {
        name: np.array([r[f"{name}_accuracy"] for r in results])
        for name in ("software", "untuned", "tuned")
    }
    out = ctx.out
    on = from_params(p["bench"]).label
    figures = [
        report.plot_accuracy_distributions(
            {
                "software (binary)": acc["software"],
                "hardware, untuned": acc["untuned"],
                "hardware, tuned": acc["tuned"],
            },
            out / "accuracy_distributions.png",
            title=f"{len(results)} binary solutions for Wine, {on}",
        ),
        report.plot_fidelity_vs_accuracy(
            np.array([r["weight_fidelity"] for r in results]),
            {"untuned": acc["untuned"], "tuned": acc["tuned"]},
            out / "fidelity_vs_accuracy.png",
            title="write fidelity against hardware accuracy",
        ),
        report.plot_confusion_matrix(
            np.sum([r["confusion_tuned"] for r in results], axis=0),
            out / "confusion_tuned.png",
            labels=["class 0", "class 1", "class 2"],
            title=f"tuned hardware, all {len(results)} solutions, test split",
        ),
    ]
    median = int(np.argsort(acc["tuned"])[len(results) // 2])
    r = results[median]
    figures.append(
        report.plot_state_map(
            np.array(r["states"], dtype=np.int8),
            out / "written_array_map.png",
            target=np.array(r["target"]),
            title=f"solution {r['solution']} (median tuned accuracy) on array {r['array']}: "
            f"device fidelity {100 * r['device_fidelity']:.1f} %",
        )
    )
    if wine.output_on_array:
        figures.append(
            report.plot_state_map(
                np.array(r["output_layer"]["states"], dtype=np.int8),
                out / "written_output_array_map.png",
                target=np.array(r["output_layer"]["target"]),
                title=f"its output layer on array {r['output_array']}: "
                f"device fidelity {100 * r['output_device_fidelity']:.1f} %",
            )
        )
    headline = [
        ("solutions", str(len(results))),
        ("on", on),
        ("median software accuracy (binary)", f"{100 * overall['median_software_accuracy']:.1f} %"),
        ("median untuned hardware accuracy", f"{100 * overall['median_untuned_accuracy']:.1f} %"),
        ("median tuned hardware accuracy", f"{100 * overall['median_tuned_accuracy']:.1f} %"),
        ("best tuned hardware accuracy", f"{100 * overall['max_tuned_accuracy']:.1f} %"),
        ("float MLP (same shape)", f"{100 * overall['float_mlp_accuracy']:.1f} %"),
        ("median device fidelity", f"{100 * overall['median_device_fidelity']:.2f} %"),
        ("median weight fidelity", f"{100 * overall['median_weight_fidelity']:.2f} %"),
        ("median pulses per write", f"{overall['median_pulses']:.0f}"),
    ]
    if wine.output_on_array:
        headline[2:2] = [("output layer", "on a second array (hidden signs as row voltages)")]
        headline += [
            (
                "median output-layer weight fidelity",
                f"{100 * overall['median_output_weight_fidelity']:.2f} %",
            )
        ]
    params = {k: v for k, v in p.items() if k != "networks"}
    html = report.write_html_report(
        out / "report.html",
        title="mtjlab reproduce: binary neural network for Wine on a passive MTJ array",
        headline=headline,
        parameters=params,
        figures=figures,
    )
    return {
        **overall,
        "solutions": solutions,
        "figures": [str(f) for f in figures],
        "html": str(html),
    }


def text(summary: dict) -> list[str]:
    rows = [
        [name, *(f"{100 * summary[f'{q}_{key}']:.1f}" for q in ("mean", "median", "q05", "max"))]
        for name, key in (
            ("software (binary)", "software_accuracy"),
            ("hardware, untuned", "untuned_accuracy"),
            ("  tuned: gain and offset", "gain_offset_accuracy"),
            ("  tuned: and thresholds", "tuned_accuracy"),
            ("device fidelity", "device_fidelity"),
            ("weight fidelity", "weight_fidelity"),
            ("output layer: device fidelity", "output_device_fidelity"),
            ("output layer: weight fidelity", "output_weight_fidelity"),
        )
        if f"median_{key}" in summary
    ]
    on_array = summary.get("output_layer") == "array"
    where = "output layer on a second array" if on_array else "output layer in software"
    return [
        f"{summary['n_solutions']} solutions, {where} (percent)",
        report.format_table(["", "mean", "median", "5 %", "best"], rows, label_column=True),
        f"float MLP of the same shape: {100 * summary['float_mlp_accuracy']:.1f} %",
        f"report: {summary['html']}",
    ]


EXPERIMENT = register(Experiment("reproduce", run, text))
