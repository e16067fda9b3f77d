"""Run kinds: how a command's run is set up from its stored parameters, measured and summarized.

Starting a run and resuming it are the same code, so a resumed run cannot differ from a fresh one;
each kind writes its figures and a ``summary.json`` into the run's output folder when it ends.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mtjlab import report
from mtjlab.bench.description import from_params
from mtjlab.core.backend import ArrayBackend
from mtjlab.core.events import ProgressCallback
from mtjlab.protocols.fidelity import characterize_fidelity
from mtjlab.protocols.readout import read_states
from mtjlab.protocols.write import Ramp, write_verify
from mtjlab.runs.store import RunStore, StoreError
from mtjlab.runs.units import Unit, UnitRunner

#: Status of a run that is not finished and may be resumed.
RESUMABLE = ("running", "interrupted", "failed")


@dataclass
class Context:
    """What a run kind gets: the store and run, its parameters, where its outputs go."""

    store: RunStore
    run_id: int
    params: dict
    out: Path
    progress: ProgressCallback | None
    #: The EmulatedBench behind a run on an emulated bench file (for its bench time).
    emulated: Any = None

    def backends(self, arrays: list[int]) -> dict[int, ArrayBackend]:
        backends = from_params(self.params["bench"]).backends(arrays)
        self.emulated = getattr(next(iter(backends.values()), None), "emulated", None)
        return backends

    def runner(self, backends: dict[int, ArrayBackend]) -> UnitRunner:
        return UnitRunner({f"array={a}": b for a, b in backends.items()}, self.store, self.run_id)


@contextmanager
def safe_on_exit(backends: dict[int, ArrayBackend]) -> Iterator[None]:
    """Every backend to its safe state when the block ends, however it ends."""
    with ExitStack() as stack:
        for b in backends.values():
            stack.enter_context(b)
        yield


def write_options(params: dict) -> dict:
    """Keyword arguments of write_verify from a run's stored ``write`` parameters."""
    w = dict(params)
    for key in ("ramp_p_to_ap", "ramp_ap_to_p"):
        if key in w:
            w[key] = Ramp(*w[key])
    return w


# -- the kinds ----------------------------------------------------------------------------------


def _read(ctx: Context) -> dict:
    a = ctx.params["array"]
    backends = ctx.backends([a])

    def measure(record) -> dict:
        readout = read_states(
            backends[a],
            v_read_v=ctx.params["v_read_v"],
            bias=ctx.params["bias"],
            threshold_ohm=ctx.params.get("threshold_ohm"),
            progress=ctx.progress,
            record=lambda r: record({"array": a, **r}),
        )
        return {
            "array": a,
            "threshold_ohm": readout.threshold_ohm,
            "counts": readout.counts(),
            "resistance_ohm": readout.resistance_ohm.tolist(),
            "states": readout.states.tolist(),
        }

    with safe_on_exit(backends):
        result = ctx.runner(backends).run(Unit(f"array={a}", f"array={a}", measure))
    r = np.array(result["resistance_ohm"], dtype=float)
    states = np.array(result["states"], dtype=np.int8)
    title = f"array {a}, {ctx.params['bias']} read at {ctx.params['v_read_v']:g} V"
    figures = [
        report.plot_resistance_map(r, ctx.out / "resistance_map.png", title=title),
        report.plot_state_map(states, ctx.out / "state_map.png", title=title),
    ]
    return {
        "array": a,
        "threshold_ohm": result["threshold_ohm"],
        "counts": result["counts"],
        "figures": [str(f) for f in figures],
        "table": report.format_resistance_map(r),
    }


def _write(ctx: Context) -> dict:
    a = ctx.params["array"]
    target = np.array(ctx.params["target"], dtype=np.int8)
    backends = ctx.backends([a])

    def measure(record) -> dict:
        result = write_verify(
            backends[a],
            target,
            progress=ctx.progress,
            record=lambda r: record({"array": a, **r}),
            **write_options(ctx.params["write"]),
        )
        return {
            **result.summary(),
            "array": a,
            "states": result.final.states.tolist(),
            "resistance_ohm": result.final.resistance_ohm.tolist(),
            "given_up_cells": [[r, c, why] for (r, c), why in result.given_up.items()],
        }

    with safe_on_exit(backends):
        result = ctx.runner(backends).run(Unit(f"array={a}", f"array={a}", measure))
    states = np.array(result.pop("states"), dtype=np.int8)
    r = np.array(result.pop("resistance_ohm"), dtype=float)
    title = f"array {a}: write fidelity {result['fidelity']:.4f}, {result['pulses']} pulses"
    figures = [
        report.plot_state_map(states, ctx.out / "state_map.png", target=target, title=title),
        report.plot_resistance_map(r, ctx.out / "resistance_map.png", title=title),
    ]
    return {**result, "figures": [str(f) for f in figures]}


def _fidelity(ctx: Context) -> dict:
    arrays = list(ctx.params["arrays"])
    patterns = [np.array(p["cells"], dtype=np.int8) for p in ctx.params["patterns"]]
    backends = ctx.backends(arrays)
    with safe_on_exit(backends):
        fidelity = characterize_fidelity(
            backends,
            patterns,
            store=ctx.store,
            run_id=ctx.run_id,
            seed=int(ctx.params["bench"]["seed"]),
            progress=ctx.progress,
            **write_options(ctx.params["write"]),
        )
    figures = []
    for a in arrays:
        figures.append(
            report.plot_error_map(
                fidelity.cell_error_fraction[a],
                ctx.out / f"error_map_array{a}.png",
                title=f"array {a}: fraction of {len(patterns)} patterns each cell ended wrong",
                label="error fraction",
            )
        )
    writes = [
        {k: v for k, v in w.items() if k not in ("wrong_cells", "given_up_cells")}
        for w in fidelity.writes
    ]
    return {
        "overall": fidelity.overall(),
        "per_array": {str(a): s for a, s in fidelity.per_array.items()},
        "stuck": {str(a): s for a, s in fidelity.stuck.items()},
        "patterns": [p["name"] for p in ctx.params["patterns"]],
        "writes": writes,
        "figures": [str(f) for f in figures],
    }


def _switching(ctx: Context) -> dict:
    from mtjlab.protocols.switching import fit_thermal_activation, switching_probability

    p = ctx.params
    a = p["array"]
    backends = ctx.backends([a])
    widths = np.array(p["widths_s"])
    curves = []
    with safe_on_exit(backends):
        runner = ctx.runner(backends)
        for row, col in p["cells"]:
            for direction in p["directions"]:
                amplitudes = np.array(p["amplitudes_v"][direction])

                def measure(record, row=row, col=col, direction=direction, amplitudes=amplitudes):
                    result = switching_probability(
                        backends[a],
                        [(row, col)],
                        direction=direction,
                        amplitudes_v=amplitudes,
                        widths_s=widths,
                        trials=p["trials"],
                        scheme=p["scheme"],
                        reset_amplitude_v=p["reset_amplitude_v"][direction],
                        rng=np.random.default_rng([p["bench"]["seed"], row, col]),
                        progress=ctx.progress,
                        record=lambda r: record({"array": a, **r}),
                    )
                    c = result.cells[0]
                    out = {
                        "row": row,
                        "col": col,
                        "direction": direction,
                        "switchable": c.switchable,
                        "reason": c.reason,
                        "n_switched": c.n_switched.tolist(),
                        "n_trials": c.n_trials.tolist(),
                    }
                    if c.switchable:
                        try:
                            fit = fit_thermal_activation(
                                amplitudes,
                                widths,
                                c.n_switched,
                                c.n_trials,
                                barrier_exponent=ctx.params.get("barrier_exponent", 1.0),
                            )
                        except ValueError as exc:
                            out["fit_error"] = str(exc)
                        else:
                            out.update(
                                vc0_v=fit.vc0_v,
                                vc0_err_v=fit.vc0_err_v,
                                delta=fit.delta,
                                delta_err=fit.delta_err,
                                tau0_s=fit.tau0_s,
                                barrier_exponent=fit.barrier_exponent,
                                fit_converged=fit.converged,
                            )
                    return out

                name = f"cell={row},{col}/direction={direction}"
                curves.append(runner.run(Unit(name, f"array={a}", measure)))
    figures = []
    for c in curves:
        amplitudes = np.array(p["amplitudes_v"][c["direction"]])
        n_trials = np.array(c["n_trials"], dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):
            measured = np.where(n_trials > 0, np.array(c["n_switched"]) / n_trials, np.nan)
        fine = fitted = None
        title = f"array {a} cell ({c['row']}, {c['col']}) {c['direction']}"
        if "vc0_v" in c:
            from mtjlab.protocols.switching import thermal_switching_probability

            fine = np.linspace(amplitudes.min(), amplitudes.max(), 200)
            fitted = np.array(
                [
                    thermal_switching_probability(
                        fine,
                        w,
                        vc0_v=c["vc0_v"],
                        delta=c["delta"],
                        tau0_s=c["tau0_s"],
                        barrier_exponent=c.get("barrier_exponent", 1.0),
                    )
                    for w in widths
                ]
            )
            title += (
                f": Vc0 {c['vc0_v']:.4f} +- {c['vc0_err_v']:.4f} V, "
                f"Delta {c['delta']:.1f} +- {c['delta_err']:.1f}"
            )
        direction = c["direction"].replace("->", "-")
        figures.append(
            report.plot_switching_curves(
                amplitudes,
                measured,
                widths,
                ctx.out / f"switching_r{c['row']}c{c['col']}_{direction}.png",
                fit_amplitudes_v=fine,
                fit_probability=fitted,
                title=title,
            )
        )
    return {
        "array": a,
        "cells": [
            {k: v for k, v in c.items() if k not in ("n_switched", "n_trials")} for c in curves
        ],
        "figures": [str(f) for f in figures],
    }


def _rv(ctx: Context) -> dict:
    from mtjlab.protocols.rv import rv_loop

    p = ctx.params
    a = p["array"]
    backends = ctx.backends([a])
    loops = []
    with safe_on_exit(backends):
        runner = ctx.runner(backends)
        for row, col in p["cells"]:

            def measure(record, row=row, col=col) -> dict:
                loop = rv_loop(
                    backends[a],
                    row,
                    col,
                    max_amplitude_v=p["max_amplitude_v"],
                    step_v=p["step_v"],
                    width_s=p["width_s"],
                    scheme=p["scheme"],
                    cycles=p["cycles"],
                    progress=ctx.progress,
                    record=lambda r: record({"array": a, **r}),
                )
                return {
                    "row": row,
                    "col": col,
                    "amplitude_v": loop.amplitude_v.tolist(),
                    "resistance_ohm": loop.resistance_ohm.tolist(),
                    "v_switch_p_to_ap_v": _finite_or_none(loop.v_switch_p_to_ap_mean_v),
                    "v_switch_ap_to_p_v": _finite_or_none(loop.v_switch_ap_to_p_mean_v),
                }

            loops.append(runner.run(Unit(f"cell={row},{col}", f"array={a}", measure)))
    figures = [
        report.plot_rv_loop(
            np.array(loop["amplitude_v"]),
            np.array(loop["resistance_ohm"]),
            ctx.out / f"rv_r{loop['row']}c{loop['col']}.png",
            switching_v=(loop["v_switch_ap_to_p_v"], loop["v_switch_p_to_ap_v"]),
            title=f"array {a} cell ({loop['row']}, {loop['col']}), "
            f"{p['width_s'] * 1e9:g} ns pulses",
        )
        for loop in loops
    ]
    return {
        "array": a,
        "cells": [
            {k: v for k, v in loop.items() if k not in ("amplitude_v", "resistance_ohm")}
            for loop in loops
        ],
        "figures": [str(f) for f in figures],
    }


@dataclass
class _Wine:
    """What every solution of a reproduce run shares: data, networks, mappings, settings.

    Each solution is written into a group of arrays: its hidden layer's array, and with the
    output layer on an array, the next array of the list for that layer. Solution ``k`` goes to
    group ``k`` modulo the number of groups.
    """

    params: dict

    def __post_init__(self) -> None:
        from mtjlab.analysis.network import BinaryNet, wine_split
        from mtjlab.protocols.inference import PairMapping

        p = self.params
        self.split = wine_split(p["split_seed"])
        self.nets = [
            BinaryNet(
                w_hidden=np.array(n["w_hidden"], dtype=np.int8),
                b_hidden=np.array(n["b_hidden"]),
                w_out=np.array(n["w_out"], dtype=np.int8),
                b_out=np.array(n["b_out"]),
            )
            for n in p["networks"]
        ]
        self.arrays = list(p["arrays"])
        self.output_on_array = p.get("output_layer", "software") == "array"
        size = 2 if self.output_on_array else 1
        self.groups = [
            tuple(self.arrays[i : i + size]) for i in range(0, len(self.arrays) - size + 1, size)
        ]
        if not self.groups:
            raise ValueError(f"the output layer on an array needs two arrays, got {self.arrays}")
        n_hidden = self.nets[0].w_hidden.shape[1]
        self.mapping = PairMapping.default(self.split.n_features, n_hidden)
        self.out_mapping = PairMapping.default(n_hidden, self.split.n_classes)
        self.x_all = np.vstack([self.split.x_train, self.split.x_test])

    def group_of(self, k: int) -> tuple[int, ...]:
        return self.groups[k % len(self.groups)]

    def array_of(self, k: int) -> int:
        """The array holding solution ``k``'s hidden layer."""
        return self.group_of(k)[0]

    @staticmethod
    def state_key(group: tuple[int, ...]) -> str:
        return f"array={group[0]}" if len(group) == 1 else "arrays=" + "+".join(map(str, group))

    def _write_layer(
        self,
        backend: ArrayBackend,
        weights: np.ndarray,
        default,
        threshold_ohm: float | None,
        bad_cells: dict[tuple[int, int], int],
        seed: list[int],
    ):
        """Place (with ``defect_aware``, around the known ``bad_cells``) and write one layer."""
        from mtjlab.protocols.inference import defect_aware_mapping

        mapping = default
        if self.params.get("defect_aware"):
            mapping = defect_aware_mapping(weights, bad_cells, backend.shape)
        target = mapping.target(weights)
        written = write_verify(
            backend,
            target,
            threshold_ohm=threshold_ohm,
            rng=np.random.default_rng(seed),
            **write_options(self.params["write"]),
        )
        return mapping, target, written

    def solve(
        self,
        backends: dict[int, ArrayBackend],
        k: int,
        thresholds: dict[int, float],
        known: dict[int, dict[tuple[int, int], int]],
    ) -> dict:
        """Write solution ``k`` into its arrays, read it back, score it untuned and tuned.

        ``thresholds`` and ``known`` hold what each array's earlier solutions showed: its P/AP
        threshold and its defects; with ``defect_aware`` each layer is placed so the defects cost
        the fewest weights.
        """
        from mtjlab.analysis.network import retune_output_thresholds, retune_thresholds, sign
        from mtjlab.protocols.inference import fit_calibration, nominal_calibration

        p, split, net = self.params, self.split, self.nets[k]
        group = self.group_of(k)
        a = group[0]
        v_in, n_train = p["v_in_v"], len(split.x_train)
        mapping, target, written = self._write_layer(
            backends[a], net.w_hidden, self.mapping, thresholds.get(a), known.get(a, {}),
            [p["split_seed"], k],
        )  # fmt: skip
        final = written.final
        weights = target != -1
        diff = mapping.differences_a(backends[a], self.x_all, v_in)
        untuned = nominal_calibration(final.resistance_ohm, final.states, mapping, v_in)
        # Tuning, on the training split only: each unit's gain and offset, then its threshold.
        gain_offset = fit_calibration(diff[:n_train], split.x_train, net.w_hidden)
        retuned = retune_thresholds(net, gain_offset.apply(diff[:n_train]), split.y_train)
        hidden = {
            "untuned": untuned.apply(diff) + net.b_hidden,
            "gain_offset": gain_offset.apply(diff) + net.b_hidden,
            "tuned": gain_offset.apply(diff) + retuned.b_hidden,
        }
        result: dict = {"solution": k, "array": a}
        if self.output_on_array:
            out_a = group[1]
            out_mapping, out_target, out_written = self._write_layer(
                backends[out_a], net.w_out, self.out_mapping, thresholds.get(out_a),
                known.get(out_a, {}), [p["split_seed"], k, 1],
            )  # fmt: skip
            out_final = out_written.final
            # The hidden layer's signs drive the output array's rows; its untuned gain comes
            # from its own read-back map, its tuned gain and offset from the training split.
            out_untuned = nominal_calibration(
                out_final.resistance_ohm, out_final.states, out_mapping, v_in
            )
            scores = {}
            for name, pre in hidden.items():
                h = sign(pre)
                d = out_mapping.differences_a(backends[out_a], h, v_in)
                if name == "untuned":
                    scores[name] = out_untuned.apply(d[n_train:]) + net.b_out
                    continue
                cal = fit_calibration(d[:n_train], h[:n_train], net.w_out)
                b_out = net.b_out
                if name == "tuned":  # and the output thresholds, on the measured sums
                    b_out = retune_output_thresholds(
                        cal.apply(d[:n_train]), net.b_out, split.y_train
                    )
                scores[name] = cal.apply(d[n_train:]) + b_out
            predicted = {name: np.argmax(v, axis=1) for name, v in scores.items()}
            out_weights = out_target != -1
            result |= {
                "output_array": out_a,
                "output_device_fidelity": float(
                    np.mean(out_final.states[out_weights] == out_target[out_weights])
                ),
                "output_weight_fidelity": float(
                    np.mean(out_mapping.weights_read(out_final.states) == net.w_out)
                ),
                "output_layer": {
                    "threshold_ohm": out_written.threshold_ohm,
                    "bad_cells": _bad_cells(out_final.states, out_written.given_up),
                    "states": out_final.states.tolist(),
                    "target": out_target.tolist(),
                },
            }
        else:
            out_written = None
            predicted = {
                "untuned": net.predict_from_preactivation(hidden["untuned"][n_train:]),
                "gain_offset": net.predict_from_preactivation(hidden["gain_offset"][n_train:]),
                "tuned": retuned.predict_from_preactivation(hidden["tuned"][n_train:]),
            }
        confusion = np.zeros((split.n_classes, split.n_classes), dtype=int)
        np.add.at(confusion, (split.y_test, predicted["tuned"]), 1)
        writes = [written] if out_written is None else [written, out_written]
        return result | {
            "software_accuracy": net.accuracy(split.x_test, split.y_test),
            "untuned_accuracy": float(np.mean(predicted["untuned"] == split.y_test)),
            "gain_offset_accuracy": float(np.mean(predicted["gain_offset"] == split.y_test)),
            "tuned_accuracy": float(np.mean(predicted["tuned"] == split.y_test)),
            "device_fidelity": float(np.mean(final.states[weights] == target[weights])),
            "weight_fidelity": float(np.mean(mapping.weights_read(final.states) == net.w_hidden)),
            "pulses": sum(w.pulses for w in writes),
            "given_up": sum(len(w.given_up) for w in writes),
            "threshold_ohm": written.threshold_ohm,
            "bad_cells": _bad_cells(final.states, written.given_up),
            "confusion_tuned": confusion.tolist(),
            "states": final.states.tolist(),
            "target": target.tolist(),
        }


def _bad_cells(states: np.ndarray, given_up: dict) -> list[list[int]]:
    """Cells a write showed to be defects, with the class each is stuck in: those that read open
    or short, and those that did not switch however often they were pulsed."""
    from mtjlab.core.states import OPEN, SHORT

    bad = {(int(r), int(c)) for r, c in np.argwhere(np.isin(states, (OPEN, SHORT)))}
    bad |= {rc for rc, why in given_up.items() if why.startswith("did not switch")}
    return [[r, c, int(states[r, c])] for r, c in sorted(bad)]


def _layers(result: dict) -> list[tuple[int, dict]]:
    """The arrays a solution's result wrote, each with what its write showed (threshold,
    defects)."""
    layers = [(result["array"], result)]
    if "output_layer" in result:
        layers.append((result["output_array"], result["output_layer"]))
    return layers


def _learn(results: list[dict], thresholds: dict, known: dict) -> None:
    """Update each array's P/AP threshold and known defects from finished solutions, in
    solution order (the latest word on each cell wins)."""
    for r in sorted(results, key=lambda r: r["solution"]):
        for array, layer in _layers(r):
            thresholds[array] = layer["threshold_ohm"]
            known.setdefault(array, {}).update(
                {(row, col): state for row, col, state in layer.get("bad_cells", [])}
            )


#: Keys of a solution's result that are its record in the run store (the rest are arrays);
#: the output layer's keys only when it is on an array.
_RECORD_KEYS = (
    "solution",
    "array",
    "software_accuracy",
    "untuned_accuracy",
    "gain_offset_accuracy",
    "tuned_accuracy",
    "device_fidelity",
    "weight_fidelity",
    "output_array",
    "output_device_fidelity",
    "output_weight_fidelity",
    "pulses",
    "given_up",
)


def _record(result: dict) -> dict:
    return {key: result[key] for key in _RECORD_KEYS if key in result}


def _stateful(backends: dict[int, ArrayBackend], group: tuple[int, ...]):
    """What a group's state key names: its one backend, or its backends as a StateGroup."""
    from mtjlab.runs.units import StateGroup

    return backends[group[0]] if len(group) == 1 else StateGroup([backends[a] for a in group])


def _reproduce(ctx: Context) -> dict:
    from mtjlab.core.events import Progress, emit

    wine = _Wine(ctx.params)
    n = len(wine.nets)
    arrays = sorted({a for g in wine.groups for a in g})
    backends = ctx.backends(arrays)
    with safe_on_exit(backends):
        runner = UnitRunner(
            {wine.state_key(g): _stateful(backends, g) for g in wine.groups},
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
        _learn(list(results.values()), thresholds, known)
        if workers <= 1:
            for k in pending:
                g = wine.group_of(k)

                def measure(record, k=k) -> dict:
                    result = wine.solve(backends, k, thresholds, known)
                    record(_record(result))
                    return result

                result = runner.run(Unit(f"solution={k}", wine.state_key(g), measure))
                _learn([result], thresholds, known)
                done(k, result)
        else:
            _reproduce_in_parallel(ctx, wine, runner, pending, thresholds, known, workers, done)
    return _reproduce_summary(ctx, [results[k] for k in range(n)], wine)


def _reproduce_in_parallel(ctx, wine, runner, pending, thresholds, known, workers, done) -> None:
    """Solutions on separate arrays in separate processes; this process keeps the run store.

    Each group of arrays has its solutions in order in one worker, which starts from the
    arrays' stored states, so the results are those of the serial run; each result and the
    group's state are committed here as they arrive.
    """
    import multiprocessing

    mp = multiprocessing.get_context("fork")
    groups = sorted({wine.group_of(k) for k in pending})
    shares = [groups[w::workers] for w in range(workers)]
    queue = mp.Queue()
    states = {g: runner.backends[wine.state_key(g)].snapshot_state() for g in groups}
    procs = [
        mp.Process(
            target=_reproduce_worker,
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
            runner.commit(f"solution={k}", key, result, state, [_record(result)])
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


def _reproduce_worker(queue, params, solutions, states, thresholds, known) -> None:
    import signal

    # The parent owns the run: it ends the workers (SIGTERM, quietly) when it stops, also on
    # Ctrl-C, which the terminal sends to the workers too.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        wine = _Wine(params)
        bench = from_params(params["bench"])
        backends = bench.backends(sorted({a for g in states for a in g}))
        groups = {g: _stateful(backends, g) for g in states}
        for g, blob in states.items():
            groups[g].restore_state(blob)
        thresholds = dict(thresholds)
        with safe_on_exit(backends):
            for k in solutions:
                g = wine.group_of(k)
                result = wine.solve(backends, k, thresholds, known)
                _learn([result], thresholds, known)
                queue.put(("result", k, result, groups[g].snapshot_state()))
    except BaseException as exc:  # report, do not hang the parent
        queue.put(("error", f"{type(exc).__name__}: {exc}"))


#: The scores of a solution summarized over the run (medians, quantiles, means).
_SOLUTION_KEYS = tuple(k for k in _RECORD_KEYS if k not in ("solution", "array", "output_array"))


def _reproduce_summary(ctx: Context, results: list[dict], wine: _Wine) -> dict:
    from mtjlab.analysis.network import float_mlp_accuracy

    p, split = ctx.params, wine.split
    solutions = [_record(r) for r in results]
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


def _finite_or_none(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


KINDS: dict[str, Callable[[Context], dict]] = {
    "read": _read,
    "write": _write,
    "fidelity": _fidelity,
    "switching": _switching,
    "rv": _rv,
    "reproduce": _reproduce,
}


# -- starting, resuming -------------------------------------------------------------------------


def create(store: RunStore, kind: str, params: dict) -> int:
    """Record a new run of ``kind`` in ``store`` (measure it with :func:`execute`)."""
    if kind not in KINDS:
        raise ValueError(f"unknown run kind {kind!r}; expected one of {sorted(KINDS)}")
    seed = params["bench"].get("seed")
    return store.create_run(
        kind,
        params,
        seed=None if seed is None else int(seed),
        snapshot=from_params(params["bench"]).snapshot(),
    )


def resume(store: RunStore, run_id: int, *, progress: ProgressCallback | None = None) -> dict:
    """Go on with an unfinished run where it stopped; its finished units are kept as they are."""
    info = store.run(run_id)
    if info.status not in RESUMABLE:
        raise StoreError(f"run {run_id} in {store.path} is {info.status}; nothing to resume")
    if info.kind not in KINDS:
        raise StoreError(f"run {run_id} in {store.path} is of unknown kind {info.kind!r}")
    return execute(store, run_id, progress=progress)


def execute(store: RunStore, run_id: int, *, progress: ProgressCallback | None = None) -> dict:
    """Measure (the rest of) a run, keep its status true on every exit, write its summary."""
    info = store.run(run_id)
    out = Path(info.parameters["out"])
    out.mkdir(parents=True, exist_ok=True)
    ctx = Context(store, run_id, info.parameters, out, progress)
    store.set_status(run_id, "running")
    try:
        summary = KINDS[info.kind](ctx)
    except KeyboardInterrupt:
        store.set_status(run_id, "interrupted")
        raise
    except BaseException:
        store.set_status(run_id, "failed")
        raise
    store.set_status(run_id, "finished")
    summary = {"run": run_id, "kind": info.kind, "store": str(store.path), **summary}
    if ctx.emulated is not None:  # a dry run: what the bench would have taken
        summary["bench_time_s"] = ctx.emulated.clock.now_s
        summary["round_trips"] = ctx.emulated.round_trips()
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=_plain) + "\n")
    return summary


def _plain(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")
