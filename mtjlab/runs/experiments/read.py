"""Read an array: every cell's resistance under a stated biasing of the unselected lines, and its
P/AP/open/short class from the map's own two populations.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from mtjlab import report
from mtjlab.core.schemes import READ_BIASES
from mtjlab.protocols.readout import read_states
from mtjlab.runs.context import Context, safe_on_exit
from mtjlab.runs.options import (
    ON_ONE_ARRAY,
    Option,
    arrays_on,
    bench_of,
)
from mtjlab.runs.registry import Experiment, register
from mtjlab.runs.units import Unit
from mtjlab.runs.values import (
    RESISTANCE,
    TEXT,
    VOLTS,
)

OPTIONS = (
    *ON_ONE_ARRAY,
    Option("v_read_v", "--v-read", VOLTS, default=0.1, help="read voltage (default 0.1)"),
    Option(
        "bias",
        "--bias",
        TEXT,
        default="grounded",
        choices=READ_BIASES,
        help="unselected lines (default grounded)",
    ),
    Option(
        "threshold_ohm",
        "--threshold-ohm",
        RESISTANCE,
        help="P/AP threshold, for an array that shows one state only",
    ),
)


def prepare(o: dict) -> dict:
    bench = bench_of(o["bench"], o["seed"])
    arrays_on(bench, [o["array"]])
    bench.limits().check_read(o["v_read_v"])
    return {
        "bench": bench.as_params(),
        "array": o["array"],
        "v_read_v": o["v_read_v"],
        "bias": o["bias"],
        "threshold_ohm": o["threshold_ohm"],
    }


def run(ctx: Context) -> dict:
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
    summary = {
        "array": a,
        "threshold_ohm": result["threshold_ohm"],
        "counts": result["counts"],
        "figures": [],
        "table": report.format_resistance_map(np.array(result["resistance_ohm"], dtype=float)),
    }
    summary["figures"] = ctx.save_figures(figures(ctx.dataset(), summary))
    return summary


def figures(ds: xr.Dataset, summary: dict) -> dict[str, Figure]:
    title = f"array {ds.attrs['array']}, {ds.attrs['bias']} read at {ds.attrs['v_read_v']:g} V"
    return {
        "resistance_map.png": report.figure_resistance_map(ds.resistance_ohm.values, title=title),
        "state_map.png": report.figure_state_map(ds.state.values, title=title),
    }


def text(summary: dict) -> list[str]:
    counts = ", ".join(f"{n} {name}" for name, n in summary["counts"].items())
    return [
        summary["table"],
        f"array {summary['array']}: {counts}; P/AP threshold {summary['threshold_ohm']:.0f} Ohm",
    ]


EXPERIMENT = register(
    Experiment(
        kind="read",
        command=("read",),
        help="read an array: resistance map, P/AP/open/short states, figures",
        description="Read every cell of one array with the unselected lines biased as asked, "
        "classify each cell (the P/AP threshold comes from the map's own two populations) and "
        "save the resistance and state maps.",
        options=OPTIONS,
        prepare=prepare,
        run=run,
        text=text,
        figures=figures,
    )
)
