"""Write a pattern into an array with write-verify, and read back what was written."""

from __future__ import annotations

import json

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from mtjlab import report
from mtjlab.core.patterns import load_pattern
from mtjlab.protocols.write import place_pattern, write_verify
from mtjlab.runs.context import Context, safe_on_exit, write_options
from mtjlab.runs.options import (
    ALLOW_DISTURB,
    ON_ONE_ARRAY,
    WRITE_VERIFY,
    Option,
    arrays_on,
    bench_of,
    check_write_params,
    disturb_allowed,
    write_params,
)
from mtjlab.runs.registry import Experiment, register
from mtjlab.runs.units import Unit
from mtjlab.runs.values import (
    CELL,
    FLAG,
    PATH,
)

OPTIONS = (
    Option("pattern", None, PATH, help="pattern file (CSV of 0/1 or P/AP)"),
    *ON_ONE_ARRAY,
    Option(
        "offset",
        "--offset",
        CELL,
        metavar="ROW,COL",
        help="write the pattern as a block with its first cell here; without --offset the "
        "pattern must cover the whole array",
    ),
    *WRITE_VERIFY,
    Option(
        "repair_disturbed",
        "--repair-disturbed",
        FLAG,
        default=False,
        help="write the cells outside the pattern that a pulse disturbed back to their state",
    ),
    ALLOW_DISTURB,
)


def prepare(o: dict) -> dict:
    bench = bench_of(o["bench"], o["seed"])
    shape = bench.shape(o["array"]) if o["array"] in bench.arrays() else None
    if o["offset"] is None:
        target = load_pattern(o["pattern"], shape)
    else:
        target = place_pattern(load_pattern(o["pattern"]), shape, o["offset"])
    write = write_params(o, bench)
    arrays_on(bench, [o["array"]])
    check_write_params(write, disturb_allowed(bench.limits(), o))
    return {
        "bench": bench.as_params(),
        "array": o["array"],
        "pattern_file": str(o["pattern"]),
        "offset": list(o["offset"]) if o["offset"] else None,
        "target": target.tolist(),
        "write": write,
        "repair_disturbed": o["repair_disturbed"],
        "allow_disturb": o["allow_disturb"],
    }


def run(ctx: Context) -> dict:
    a = ctx.params["array"]
    target = np.array(ctx.params["target"], dtype=np.int8)
    backends = ctx.backends([a])

    def measure(record) -> dict:
        result = write_verify(
            backends[a],
            target,
            progress=ctx.progress,
            record=lambda r: record({"array": a, **r}),
            repair_disturbed=bool(ctx.params.get("repair_disturbed", False)),
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
    for bulky in ("states", "resistance_ohm"):  # in the dataset; the summary keeps figures
        result.pop(bulky)
    summary = {**result, "figures": []}
    summary["figures"] = ctx.save_figures(figures(ctx.dataset(), summary))
    return summary


def figures(ds: xr.Dataset, summary: dict) -> dict[str, Figure]:
    if "fidelity" not in ds:  # a write still going on (the live view): its pulses so far
        return _figures_in_flight(ds)
    title = (
        f"array {ds.attrs['array']}: write fidelity {float(ds.fidelity):.4f}, "
        f"{int(ds.pulses)} pulses"
    )
    return {
        "state_map.png": report.figure_state_map(
            ds.state.values, target=ds.target.values, title=title
        ),
        "resistance_map.png": report.figure_resistance_map(ds.resistance_ohm.values, title=title),
        "wrong_per_pass.png": report.figure_wrong_per_pass(
            ds.wrong_per_pass.values,
            title=f"array {ds.attrs['array']}: write-verify, cells read wrong at each verify",
        ),
    }


def _figures_in_flight(ds: xr.Dataset) -> dict[str, Figure]:
    a, n = ds.attrs["array"], int(ds.pulses)
    write = ds.attrs.get("write", "{}")  # a dict attribute is kept as JSON text
    most = int(json.loads(write).get("max_attempts", 0)) or max(int(ds.attempts.max()), 1)
    return {
        "wrong_per_pass.png": report.figure_wrong_per_pass(
            ds.pulsed_per_pass.values,
            title=f"array {a}: writing, cells pulsed in each pass so far ({n} pulses)",
        ),
        "attempts_map.png": report.figure_error_map(
            ds.attempts.values / most,
            title=f"array {a}: writing, pulses each cell has had (of at most {most})",
            label="pulses / most a cell gets",
        ),
    }


def text(summary: dict) -> list[str]:
    lines = [
        f"array {summary['array']}: write fidelity {summary['fidelity']:.4f}, "
        f"{summary['pulses']} pulses in {summary['passes']} passes, "
        f"{summary['given_up']} cells given up, {summary['disturbed']} disturbed"
    ]
    if "disturbed_outside" in summary:  # runs stored before it was counted have none
        lines.append(
            f"outside the pattern: {summary['disturbed_outside']} cells changed by the pulses, "
            f"{summary['repaired']} written back"
        )
    return lines


EXPERIMENT = register(
    Experiment(
        kind="write",
        command=("write",),
        help="write a pattern file into an array with write-verify",
        description="Write a pattern (CSV of 0/1 or P/AP, one array row per line) into an array "
        "with write-verify and report the write fidelity, the pulses used and the cells given "
        "up.",
        options=OPTIONS,
        prepare=prepare,
        run=run,
        text=text,
        figures=figures,
    )
)
