"""Write fidelity, characterized unattended: many patterns written into many arrays, each write
one resumable unit; per-array statistics and where each array's cells went wrong.
"""

from __future__ import annotations

import numpy as np

from mtjlab import report
from mtjlab.protocols.fidelity import characterize_fidelity
from mtjlab.runs.context import Context, safe_on_exit, write_options
from mtjlab.runs.registry import Experiment, register


def run(ctx: Context) -> dict:
    arrays = list(ctx.params["arrays"])
    patterns = [np.array(p["cells"], dtype=np.int8) for p in ctx.params["patterns"]]
    backends = ctx.backends(arrays)
    with safe_on_exit(backends):
        fidelity = characterize_fidelity(
            backends,
            patterns,
            run_unit=ctx.runner(backends).run_unit,
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


def text(summary: dict) -> list[str]:
    header = ["array", "writes", "fidelity", "min", "P->AP err", "AP->P err", "disturbed"]
    header += ["stuck", "pulses"]
    rows = [
        [
            a,
            s["writes"],
            f"{s['mean_fidelity']:.4f}",
            f"{s['min_fidelity']:.4f}",
            f"{s['p_to_ap_error_rate']:.2e}",
            f"{s['ap_to_p_error_rate']:.2e}",
            s["disturbed"],
            s["stuck_cells"],
            f"{s['mean_pulses']:.0f}",
        ]
        for a, s in summary["per_array"].items()
    ]
    o = summary["overall"]
    return [
        report.format_table(header, rows),
        f"all: {o['writes']} writes, mean fidelity {o['mean_fidelity']:.4f}, {o['pulses']} pulses",
    ]


EXPERIMENT = register(Experiment("fidelity", run, text))
