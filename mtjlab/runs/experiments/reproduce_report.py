"""The report of a reproduce run: its figures with what each shows, the accuracy table the console
prints, the parameters as a reader names them, and the command line that makes the run again.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from mtjlab import report
from mtjlab.runs.experiments.reproduce_text import ACCURACY_HEADER, accuracy_rows
from mtjlab.runs.values import DEFAULT_TEST_WINES, WINE_SAMPLES

_TITLE = "mtjlab reproduce: binary neural network for Wine on a passive MTJ array"


# -- figures -------------------------------------------------------------------------------------


def figures(ds: xr.Dataset, summary: dict, on: str) -> dict[str, Figure]:
    """The run's figures by file name, in the order the report shows them: accuracy
    distributions, each solution through the stages, the untuned accuracy drop against weight
    fidelity (and the best metric), the results per array, the summed confusion matrix, and the
    written map of the solution of median tuned accuracy (and of its output layer)."""
    n = ds.sizes["solution"]
    acc = {name: ds[f"{name}_accuracy"].values for name in ("software", "untuned", "tuned")}
    out = {
        "accuracy_distributions.png": report.figure_accuracy_distributions(
            {
                "software (binary)": acc["software"],
                "hardware, untuned": acc["untuned"],
                "hardware, tuned": acc["tuned"],
            },
            title=f"{n} binary solutions for Wine, {on}",
        ),
        "accuracy_by_solution.png": report.figure_accuracy_by_solution(
            {"software\n(binary)": acc["software"], "hardware,\nuntuned": acc["untuned"]}
            | {"hardware,\ntuned": acc["tuned"]},
            title=f"each of {n} solutions from software to tuned hardware, {on}",
        ),
        # The file name is kept from when this was a scatter of fidelity against accuracy.
        "fidelity_vs_accuracy.png": _drop_figure(ds, summary),
    }
    per_array = summary.get("per_array") or _per_array_of(ds)
    out["accuracy_by_array.png"] = report.figure_accuracy_by_array(
        [_array_label(g) for g in per_array],
        {
            "untuned": [g["median_untuned_accuracy"] for g in per_array],
            "tuned": [g["median_tuned_accuracy"] for g in per_array],
        },
        [g["mean_weight_fidelity"] for g in per_array],
        title=f"per array (the array holding each solution's hidden layer), {on}",
    )
    out["confusion_tuned.png"] = report.figure_confusion_matrix(
        ds.confusion_tuned.sum("solution").values,
        labels=["class 0", "class 1", "class 2"],
        title=f"tuned hardware, all {n} solutions, test split",
    )
    r = ds.isel(solution=int(np.argsort(acc["tuned"])[n // 2]))
    out["written_array_map.png"] = report.figure_state_map(
        r.state.values,
        target=r.target.values,
        title=f"solution {int(r.solution)} (median tuned accuracy) on array {int(r.array)}: "
        f"device fidelity {100 * float(r.device_fidelity):.1f} %",
    )
    if "output_state" in ds:
        out["written_output_array_map.png"] = report.figure_state_map(
            r.output_state.values,
            target=r.output_target.values,
            title=f"its output layer on array {int(r.output_array)}: "
            f"device fidelity {100 * float(r.output_device_fidelity):.1f} %",
        )
    return out


def _best_metric(summary: dict, ds: xr.Dataset) -> str | None:
    """The metric that best predicts the untuned drop, if the run scored metrics, one ranks
    best, and the dataset holds its values."""
    best = (summary.get("metrics") or {}).get("best")
    return best if best is not None and best in ds else None


def _metric_axis(name: str, values: np.ndarray) -> tuple[str, np.ndarray]:
    """A metric's axis label and values: drops in points, agreements and fidelities in percent
    (all are fractions in the run), anything else as it is."""
    label = name.replace("_", " ")
    if name.endswith("_drop"):
        return f"{label} (points)", 100 * values
    if name.endswith(("_fidelity", "_agreement")):
        return f"{label} (%)", 100 * values
    return label, values


def _drop_figure(ds: xr.Dataset, summary: dict) -> Figure:
    """The untuned accuracy drop against weight fidelity, beside the best metric when there is
    one, each panel with its rank correlation when the run has it (not with too few
    solutions, where the summary has no metrics)."""
    drop = ds.software_accuracy.values - ds.untuned_accuracy.values
    predictors = {"weight fidelity (%)": 100 * ds.weight_fidelity.values}
    names = {"weight fidelity (%)": "weight_fidelity"}
    best = _best_metric(summary, ds)
    if best is not None and best != "weight_fidelity":
        label, values = _metric_axis(best, ds[best].values)
        label = f"best: {label}".replace(" (", "\n(")
        predictors[label] = values
        names[label] = best
    rho = None
    if "metrics" in summary and best is not None:
        by_metric = summary["metrics"]["by_metric"]
        rho = {
            label: (
                by_metric[name]["untuned_drop"]["rho"],
                by_metric[name]["untuned_drop"]["rho_interval"],
            )
            for label, name in names.items()
            if name in by_metric
        }
    return report.figure_accuracy_drop(
        drop,
        predictors,
        rho=rho,
        title=f"untuned accuracy drop of {drop.size} solutions against what may predict it",
    )


def _per_array_of(ds: xr.Dataset) -> list[dict]:
    """Per-array medians from the dataset alone (a summary made before ``per_array``)."""
    out = []
    for array in np.unique(ds.array.values):
        one = ds.where(ds.array == array, drop=True)
        out.append(
            {
                "array": int(array),
                "diameter_nm": None,
                "median_untuned_accuracy": float(np.median(one.untuned_accuracy.values)),
                "median_tuned_accuracy": float(np.median(one.tuned_accuracy.values)),
                "mean_weight_fidelity": float(np.mean(one.weight_fidelity.values)),
            }
        )
    return out


def _array_label(group: dict) -> str:
    d = group["diameter_nm"]
    return f"array {group['array']}" if d is None else f"{group['array']}: {d:g} nm"


def captions(ds: xr.Dataset, summary: dict) -> dict[str, str]:
    """What each figure shows and how to read it, by file name."""
    n = ds.sizes["solution"]
    best = _best_metric(summary, ds)
    drop = (
        "Each dot is one solution: its untuned accuracy drop (software minus untuned hardware, in "
        "points; one test sample is 1.85 points) against its weight fidelity"
        + (
            f", and, right, against {best.replace('_', ' ')}, the metric that best ranks the drop"
            if best not in (None, "weight_fidelity")
            else ""
        )
        + ". Points are jittered by less than a test sample so ties show. A panel's title gives "
        "Spearman's rho with its bootstrap interval; a rho near 0 means the value does not rank "
        "the drop."
    )
    if best is None:
        drop += f" With {n} solutions no metric could be ranked, so no rho is shown."
    captions = {
        "accuracy_distributions.png": "Histograms of the test accuracy of all "
        f"{n} solutions in software (binary weights), on the hardware untuned and tuned; the "
        "dashed lines are the medians. A hardware histogram on top of software's means the "
        "array costs no accuracy.",
        "accuracy_by_solution.png": "Each thin line is one solution, from its software accuracy "
        "to its untuned and tuned hardware accuracy; the bold line joins the medians. Lines are "
        "offset by under a fifth of a test sample so equal solutions stay apart; red lines are "
        "solutions the tuning made worse on the test split.",
        "fidelity_vs_accuracy.png": drop,
        "accuracy_by_array.png": "Left: median untuned and tuned test accuracy of the solutions "
        "whose hidden layer each array holds, by array and device diameter. Right: the mean "
        "weight fidelity of those solutions (a weight is right when both devices of its pair "
        "read as written). The numbers are in the per-array table.",
        "confusion_tuned.png": "Test samples of every solution on tuned hardware, summed: true "
        "class down, predicted class across; off-diagonal counts are misclassified samples, "
        "each row shaded by its share of the true class.",
        "written_array_map.png": "The array as written for the solution of median tuned "
        "accuracy: each cell's state read back after write-verify, cells that differ from "
        "their target marked; the title gives its device fidelity.",
        "written_output_array_map.png": "The same solution's output layer on its second array, "
        "read back after write-verify, cells that differ from their target marked.",
    }
    return captions


# -- the page ------------------------------------------------------------------------------------


def headline(
    overall: dict, on: str, output_on_array: bool, bench_time: tuple[float, int] | None
) -> list[tuple[str, str]]:
    """The page's headline numbers: name and formatted value."""
    n = overall["n_solutions"]
    rows = [
        ("solutions", str(n)),
        ("on", on),
        ("median software accuracy (binary)", f"{100 * overall['median_software_accuracy']:.1f} %"),
        ("median untuned hardware accuracy", f"{100 * overall['median_untuned_accuracy']:.1f} %"),
        ("median tuned hardware accuracy", f"{100 * overall['median_tuned_accuracy']:.1f} %"),
        ("best tuned hardware accuracy", f"{100 * overall['max_tuned_accuracy']:.1f} %"),
        ("solutions whose test accuracy tuning lowered", f"{overall['n_tuning_lowered']} of {n}"),
        ("float MLP (same shape)", f"{100 * overall['float_mlp_accuracy']:.1f} %"),
        ("median device fidelity", f"{100 * overall['median_device_fidelity']:.2f} %"),
        ("median weight fidelity", f"{100 * overall['median_weight_fidelity']:.2f} %"),
        ("median pulses per write", f"{overall['median_pulses']:.0f}"),
    ]
    if "median_software_retuned_accuracy" in overall:  # not in a run resumed from before it
        retuned = 100 * overall["median_software_retuned_accuracy"]
        rows.insert(3, ("median software accuracy, thresholds retuned", f"{retuned:.1f} %"))
    if "n_software_retuning_lowered" in overall:
        rows.append(
            (
                "solutions whose software accuracy the same retuning lowered",
                f"{overall['n_software_retuning_lowered']} of {n}",
            )
        )
    if output_on_array:
        rows[2:2] = [("output layer", "on a second array (hidden signs as row voltages)")]
        rows.append(
            (
                "median output-layer weight fidelity",
                f"{100 * overall['median_output_weight_fidelity']:.2f} %",
            )
        )
    if bench_time is not None:  # what the console's "emulated bench:" line says
        seconds, commands = bench_time
        rows.append(("bench time (emulated bench)", f"{seconds:.1f} s, {commands} commands"))
    return rows


def _yes(value: object) -> str:
    return "yes" if value else "no"


def _volts(value: float) -> str:
    return f"{value:g} V"


def _ramp(ramp: list) -> str:
    start, step, stop = ramp
    return f"{start:g} to {stop:g} V in steps of {step:g} V"


def _plain(value: object) -> str:
    """Any other parameter, readably: yes/no, lists joined, mappings as ``field = value``."""
    if isinstance(value, bool):
        return _yes(value)
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, dict):
        return ", ".join(f"{k} = {_plain(v)}" for k, v in value.items()) or "none"
    if isinstance(value, (list, tuple)):
        return ", ".join(_plain(v) for v in value) or "none"
    return str(value)


def _bench_rows(bench: dict) -> dict[str, str]:
    if bench.get("kind") == "file":
        emulated = "" if bench.get("seed") is None else f" (emulated, chip {bench['seed']})"
        lines = len(str(bench.get("text", "")).splitlines())
        return {
            "bench": f"bench file {bench['path']}{emulated}",
            "bench file": f"{lines} lines, kept with the run in its store",
        }
    if bench.get("kind") == "sim":
        return {
            "bench": f"simulated chip {bench['seed']}",
            "bench: chip preset": str(bench.get("preset", "kind")),
            "bench: chip changes": _plain(bench.get("changes", {})),
        }
    return {f"bench: {k}": _plain(v) for k, v in bench.items()}


#: How the report names each parameter, and how it shows its value (by the stored key).
_PARAMETERS = {
    "split_seed": ("seed of the train/test split and the training", str),
    "test_samples": ("test wines of the split", str),
    "inputs": ("inputs (signed -1..1, unsigned 0..1)", str),
    "arrays": ("arrays", _plain),
    "v_in_v": ("row voltage of an input of 1", _volts),
    "output_layer": ("output layer", str),
    "train_fault_rate": ("training: weight fault rate per epoch", _plain),
    "statistics_aware": ("training: statistics-aware", _yes),
    "defect_aware": ("defect-aware placement", _yes),
    "workers": ("worker processes", str),
    "allow_disturb": ("disturb envelope lifted (--allow-disturb)", _yes),
    "out": ("output folder", str),
}


def parameter_rows(params: dict) -> dict[str, str]:
    """The run's parameters by a reader's name, each value formatted (no dict or list repr);
    a parameter this table does not know is shown by its key, flattened."""
    rows: dict[str, str] = {}
    for key, value in params.items():
        if key == "bench":
            rows |= _bench_rows(value)
        elif key == "networks":
            rows["networks"] = (
                f"{len(value)} binary 13-7-3 networks, trained once, kept with the run"
            )
        elif key == "write" and isinstance(value, dict):
            for name, v in value.items():
                if name == "ramp_p_to_ap":
                    rows["write: P->AP ramp"] = _ramp(v)
                elif name == "ramp_ap_to_p":
                    rows["write: AP->P ramp"] = _ramp(v)
                else:
                    rows[f"write: {name}"] = _plain(v)
        elif key in _PARAMETERS:
            name, shown = _PARAMETERS[key]
            rows[name] = shown(value)
        elif isinstance(value, dict):
            rows |= {f"{key}: {k}": _plain(v) for k, v in value.items()}
        else:
            rows[key] = _plain(value)
    return rows


def command_line(params: dict, n_solutions: int, store: Path | str | None = None) -> str:
    """An ``mtjlab reproduce`` command with the run's options.

    The run store does not keep the command line a run was started with (only its parameters),
    so this is the equivalent command rebuilt from the parameters: every option given
    explicitly, defaults included.
    """
    bench = params["bench"]
    argv = ["mtjlab", "reproduce", "--solutions", str(n_solutions)]
    argv += ["--seed", str(params["split_seed"])]
    if bench.get("kind") == "file":
        argv += ["--bench", str(bench["path"])]
    else:
        argv += ["--chip", str(bench.get("preset", "kind"))]
        for field, value in bench.get("changes", {}).items():
            argv += ["--chip-set", f"{field}={value:g}" if isinstance(value, float) else
                     f"{field}={value}"]  # fmt: skip
    argv += ["--arrays", ",".join(str(a) for a in params["arrays"])]
    test = params.get("test_samples", DEFAULT_TEST_WINES)  # a run stored before the option
    argv += ["--inputs", str(params.get("inputs", "signed"))]
    argv += ["--split", f"{WINE_SAMPLES - test}/{test}"]
    argv += ["--v-in", f"{params['v_in_v']:g}", "--output-layer", str(params["output_layer"])]
    if params.get("train_fault_rate"):
        argv += ["--train-fault-rate", f"{params['train_fault_rate']:g}"]
    argv += ["--statistics-aware"] if params.get("statistics_aware") else []
    argv += ["--defect-aware"] if params.get("defect_aware") else []
    argv += ["--workers", str(params["workers"])]
    write = params.get("write", {})
    for flag, key in (("--p-to-ap", "ramp_p_to_ap"), ("--ap-to-p", "ramp_ap_to_p")):
        if key in write:
            argv += [flag, ",".join(f"{v:g}" for v in write[key])]
    argv += ["--allow-disturb"] if params.get("allow_disturb") else []
    if "out" in params:
        argv += ["--out", str(params["out"])]
        if store is not None and Path(store) != Path(params["out"]) / "runs.db":
            argv += ["--store", str(store)]
    return shlex.join(argv)


def write_report(
    path: Path,
    *,
    ds: xr.Dataset,
    summary: dict,
    params: dict,
    on: str,
    output_on_array: bool,
    figure_paths: list[str],
    per_array_table: tuple[str, list[str], list[list[str]]],
    bench_time: tuple[float, int] | None,
    store: Path | str | None,
) -> Path:
    """The run's report.html: headline, accuracy and per-array tables, captioned figures,
    parameters and the command line."""
    said = captions(ds, summary)
    on_array = "output layer on a second array" if output_on_array else "output layer in software"
    accuracy = (
        f"Accuracy and fidelity over the {summary['n_solutions']} solutions, {on_array} (percent "
        "of the test split; 5 % is the 5th percentile, best the highest)",
        ACCURACY_HEADER,
        accuracy_rows(summary),
    )
    return report.write_html_report(
        path,
        title=_TITLE,
        headline=headline(summary, on, output_on_array, bench_time),
        parameters=parameter_rows(params),
        figures=[(Path(f), said.get(Path(f).name, Path(f).stem)) for f in figure_paths],
        tables=[accuracy, per_array_table],
        notes=[
            (
                "Command line",
                command_line(params, summary["n_solutions"], store),
                "Rebuilt from the run's stored parameters (the run store does not keep the "
                "command as typed): it makes the same run again, every option written out.",
            )
        ],
    )
