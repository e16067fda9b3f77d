"""Resistance-voltage loops: a cell's resistance read after each pulse of an amplitude sweep in both
polarities, and the amplitudes at which it switched; one resumable unit per cell.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from mtjlab import report
from mtjlab.protocols.rv import rv_loop
from mtjlab.runs.context import Context, finite_or_none, safe_on_exit
from mtjlab.runs.options import (
    ALLOW_DISTURB,
    CELLS,
    ON_ONE_ARRAY,
    SCHEME,
    Option,
    arrays_on,
    bench_of,
    check_cells,
    disturb_allowed,
    with_help,
)
from mtjlab.runs.registry import Experiment, register
from mtjlab.runs.units import Unit
from mtjlab.runs.values import (
    AMPLITUDE_PAIR,
    POSITIVE_INT,
    SECONDS,
    VOLTS,
    OptionError,
    bounded,
)

OPTIONS = (
    *ON_ONE_ARRAY,
    with_help(CELLS, "cells to sweep (default 7,7)"),
    Option(
        "max_amplitude_v",
        "--max-amplitude",
        AMPLITUDE_PAIR,
        default=(0.58, 0.42),
        metavar="P2AP[,AP2P]",
        help="largest P->AP and AP->P amplitudes in volts, or one for both (default 0.58,0.42, "
        "inside the default chip's disturb envelope under v/2)",
    ),
    Option("step_v", "--step", VOLTS, default=0.02, help="amplitude step (default 0.02)"),
    Option("width_s", "--width", SECONDS, default=100e-9, help="pulse width (default 100ns)"),
    Option(
        "cycles", "--cycles", bounded(POSITIVE_INT), default=2, help="loops per cell (default 2)"
    ),
    SCHEME,
    ALLOW_DISTURB,
)


def prepare(o: dict) -> dict:
    bench = bench_of(o["bench"], o["seed"])
    arrays_on(bench, [o["array"]])
    limits = disturb_allowed(bench.limits(), o)
    for polarity, top in zip((1, -1), o["max_amplitude_v"], strict=True):
        limits.check_write(o["scheme"], top, o["width_s"], polarity)
    if not 0 < o["step_v"] <= min(o["max_amplitude_v"]):
        raise OptionError(f"--step {o['step_v']:g}: expected 0 < step <= --max-amplitude")
    return {
        "bench": bench.as_params(),
        "array": o["array"],
        "cells": check_cells(o["cells"], bench.shape(o["array"])),
        "max_amplitude_v": list(o["max_amplitude_v"]),
        "step_v": o["step_v"],
        "width_s": o["width_s"],
        "cycles": o["cycles"],
        "scheme": o["scheme"],
        "allow_disturb": o["allow_disturb"],
    }


def run(ctx: Context) -> dict:
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
                    "v_switch_p_to_ap_v": finite_or_none(loop.v_switch_p_to_ap_mean_v),
                    "v_switch_ap_to_p_v": finite_or_none(loop.v_switch_ap_to_p_mean_v),
                }

            loops.append(runner.run(Unit(f"cell={row},{col}", f"array={a}", measure)))
    summary = {
        "array": a,
        "cells": [
            {k: v for k, v in loop.items() if k not in ("amplitude_v", "resistance_ohm")}
            for loop in loops
        ],
        "figures": [],
    }
    summary["figures"] = ctx.save_figures(figures(ctx.dataset(), summary))
    return summary


def figures(ds: xr.Dataset, summary: dict) -> dict[str, Figure]:
    """Per cell, its loop: the resistance read after each pulse (step 0 is the read before the
    first pulse, not part of the loop)."""
    out = {}
    for i in range(ds.sizes["cell"]):
        loop = ds.isel(cell=i, step=slice(1, None))
        keep = np.isfinite(loop.amplitude_v.values)
        row, col = int(ds.row.values[i]), int(ds.column.values[i])
        switching = tuple(
            finite_or_none(float(loop[name]))
            for name in ("v_switch_ap_to_p_v", "v_switch_p_to_ap_v")
        )
        out[f"rv_r{row}c{col}.png"] = report.figure_rv_loop(
            loop.amplitude_v.values[keep],
            loop.resistance_ohm.values[keep],
            switching_v=switching,
            title=f"array {ds.attrs['array']} cell ({row}, {col}), "
            f"{ds.attrs['width_s'] * 1e9:g} ns pulses",
        )
    return out


def _volts_text(value: float | None) -> str:
    return "did not switch" if value is None else f"{value:+.3f}"


def text(summary: dict) -> list[str]:
    rows = [
        [
            f"({c['row']}, {c['col']})",
            _volts_text(c["v_switch_p_to_ap_v"]),
            _volts_text(c["v_switch_ap_to_p_v"]),
        ]
        for c in summary["cells"]
    ]
    return [report.format_table(["cell", "P->AP at (V)", "AP->P at (V)"], rows)]


EXPERIMENT = register(
    Experiment(
        kind="rv",
        command=("characterize", "rv"),
        help="resistance versus pulse amplitude loop of a device; its switching voltages",
        description="Sweep the write-pulse amplitude 0 -> +max -> 0 -> -max -> 0 on each cell, "
        "with a low-bias grounded read after every pulse, and report the switching voltages.",
        options=OPTIONS,
        prepare=prepare,
        run=run,
        text=text,
        figures=figures,
    )
)
