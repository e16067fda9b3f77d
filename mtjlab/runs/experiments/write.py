"""Write a pattern into an array with write-verify, and read back what was written."""

from __future__ import annotations

import numpy as np

from mtjlab import report
from mtjlab.core.patterns import load_pattern
from mtjlab.protocols.write import place_pattern, write_verify
from mtjlab.runs.context import Context, safe_on_exit, write_options
from mtjlab.runs.options import (
    CELL,
    ON_ONE_ARRAY,
    PATH,
    WRITE_VERIFY,
    Option,
    arrays_on,
    bench_of,
    check_write_params,
    write_params,
)
from mtjlab.runs.registry import Experiment, register
from mtjlab.runs.units import Unit

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
)


def prepare(o: dict) -> dict:
    bench = bench_of(o["bench"], o["seed"])
    shape = bench.shape(o["array"]) if o["array"] in bench.arrays() else None
    if o["offset"] is None:
        target = load_pattern(o["pattern"], shape)
    else:
        target = place_pattern(load_pattern(o["pattern"]), shape, o["offset"])
    write = write_params(o)
    arrays_on(bench, [o["array"]])
    check_write_params(write, bench.limits())
    return {
        "bench": bench.as_params(),
        "array": o["array"],
        "pattern_file": str(o["pattern"]),
        "offset": list(o["offset"]) if o["offset"] else None,
        "target": target.tolist(),
        "write": write,
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


def text(summary: dict) -> list[str]:
    return [
        f"array {summary['array']}: write fidelity {summary['fidelity']:.4f}, "
        f"{summary['pulses']} pulses in {summary['passes']} passes, "
        f"{summary['given_up']} cells given up, {summary['disturbed']} disturbed"
    ]


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
    )
)
