"""What `mtjlab reproduce` prints: the accuracy table, the metrics, the tuning count and the
per-array table, as text; the tables are the report's too (:mod:`reproduce_report`)."""

from __future__ import annotations

from mtjlab import report

#: The accuracy table's rows, as the console and the report show them: label and summary key
#: (each row has ``mean_``, ``median_``, ``q05_`` and ``max_`` of its key; a row whose key the
#: summary lacks, such as the output layer's with the output layer in software, is left out).
ACCURACY_ROWS = (
    ("software (binary)", "software_accuracy"),
    ("  thresholds retuned", "software_retuned_accuracy"),
    ("hardware, untuned", "untuned_accuracy"),
    ("  tuned: gain and offset", "gain_offset_accuracy"),
    ("  tuned: and thresholds", "tuned_accuracy"),
    ("device fidelity", "device_fidelity"),
    ("weight fidelity", "weight_fidelity"),
    ("output layer: device fidelity", "output_device_fidelity"),
    ("output layer: weight fidelity", "output_weight_fidelity"),
)

#: The accuracy table's columns (the first holds the row names).
ACCURACY_HEADER = ["", "mean", "median", "5 %", "best"]


def accuracy_rows(summary: dict) -> list[list[str]]:
    """The accuracy table's rows, in percent, as the console prints them."""
    return [
        [name, *(f"{100 * summary[f'{q}_{key}']:.1f}" for q in ("mean", "median", "q05", "max"))]
        for name, key in ACCURACY_ROWS
        if f"median_{key}" in summary
    ]


#: The per-array table's columns, in the console and the report (each "mean" that of the column
#: before it; weight fidelity a mean; "tuning lowered" counts tuned below untuned).
PER_ARRAY_HEADER = ["array", "diameter", "solutions", "untuned median", "mean"]
PER_ARRAY_HEADER += ["tuned median", "mean", "weight fidelity", "tuning lowered"]

PER_ARRAY_TITLE = "per array (its solutions' hidden layer; percent, weight fidelity a mean)"


def per_array_rows(per_array: list[dict]) -> list[list[str]]:
    """The per-array section as table rows, accuracies and fidelity in percent."""
    return [
        [
            str(g["array"]),
            "-" if g["diameter_nm"] is None else f"{g['diameter_nm']:g} nm",
            str(g["n_solutions"]),
            *(
                f"{100 * g[key]:.1f}"
                for key in (
                    "median_untuned_accuracy",
                    "mean_untuned_accuracy",
                    "median_tuned_accuracy",
                    "mean_tuned_accuracy",
                )
            ),
            f"{100 * g['mean_weight_fidelity']:.2f}",
            str(g["n_tuning_lowered"]),
        ]
        for g in per_array
    ]


def _tuning_line(summary: dict) -> str:
    """One line: on how many solutions tuning lowered test accuracy (and retuning software's)."""
    line = (
        f"tuning lowered test accuracy on {summary['n_tuning_lowered']} of "
        f"{summary['n_solutions']} solutions (tuned below untuned)"
    )
    if "n_software_retuning_lowered" in summary:
        line += (
            f"; the same retuning lowered software's on {summary['n_software_retuning_lowered']}"
        )
    return line


def text(summary: dict) -> list[str]:
    rows = accuracy_rows(summary)  # the report's table too
    on_array = summary.get("output_layer") == "array"
    where = "output layer on a second array" if on_array else "output layer in software"
    lines = [
        f"{summary['n_solutions']} solutions, {where} (percent)",
        report.format_table(ACCURACY_HEADER, rows, label_column=True),
        f"float MLP of the same shape: {100 * summary['float_mlp_accuracy']:.1f} %",
    ]
    if "metrics" in summary:
        lines += _metric_lines(summary["metrics"], summary["n_solutions"])
    if "n_tuning_lowered" in summary:  # not in a summary made before it
        lines.append(_tuning_line(summary))
    if "per_array" in summary:
        lines += [
            PER_ARRAY_TITLE,
            report.format_table(PER_ARRAY_HEADER, per_array_rows(summary["per_array"])),
        ]
    if "html" in summary:  # a run from Python without an output folder has no report file
        lines.append(f"report: {summary['html']}")
    return lines


def _metric_lines(metrics: dict, n: int) -> list[str]:
    """The best metric's rho against the untuned drop beside weight fidelity's, and the
    ceiling; the rest is in summary.json."""
    best = metrics["best"]
    if best is None:
        return [
            f"metrics against the untuned drop: no rank correlation over {n} solutions "
            "(too few, or no spread)"
        ]

    def rho(name: str) -> str:
        s = metrics["by_metric"][name]["untuned_drop"]
        if s["rho"] is None:  # such as weight fidelity when every write was perfect
            return "not defined (it does not vary)"
        interval = s["rho_interval"]
        shown = "" if interval is None else f" [{interval[0]:+.2f}, {interval[1]:+.2f}]"
        return f"{s['rho']:+.2f}{shown}"

    names = [best] + [name for name in ("weight_fidelity",) if name != best]
    width = max(len(name) + 7 for name in names)
    lines = [
        f"untuned accuracy drop predicted by (Spearman rho, {100 * metrics['confidence']:.0f} % "
        f"bootstrap interval, {n} solutions):"
    ]
    lines += [
        f"  {(name + ' (best)' if name == best else name).ljust(width)}  {rho(name)}"
        for name in names
    ]
    ceiling = metrics["ceiling"]["untuned_drop"]
    if ceiling["ceiling"] is not None:
        lines.append(
            f"  {'ceiling from the test split'.ljust(width)}   {ceiling['ceiling']:.2f} "
            f"(split-half reliability {ceiling['reliability']:.2f})"
        )
    return lines
