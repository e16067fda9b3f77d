"""Write fidelity, characterized unattended: many patterns written into many arrays, each write
one resumable unit; per-array statistics and where each array's cells went wrong.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from mtjlab import report
from mtjlab.core.patterns import PATTERN_KINDS, load_pattern, make_pattern
from mtjlab.protocols.fidelity import characterize_fidelity
from mtjlab.runs.context import Context, random_seed, safe_on_exit, write_options
from mtjlab.runs.options import (
    ALLOW_DISTURB,
    CHIP,
    CHIP_SET,
    ON_MANY_ARRAYS,
    WRITE_VERIFY_ON_CHIP,
    Option,
    arrays_on,
    check_write_params,
    chip_bench,
    disturb_allowed,
    write_params,
)
from mtjlab.runs.registry import Experiment, register
from mtjlab.runs.values import (
    FRACTION,
    NON_NEGATIVE_INT,
    PATH,
    TEXT,
    OptionError,
    bounded,
)

_FIXED_KINDS = [k for k in PATTERN_KINDS if k != "random"]

OPTIONS = (
    *ON_MANY_ARRAYS,
    CHIP,
    CHIP_SET,
    Option(
        "patterns",
        "--patterns",
        bounded(NON_NEGATIVE_INT),
        default=2,
        help="number of random patterns (default 2)",
    ),
    Option(
        "ap_fraction",
        "--ap-fraction",
        FRACTION,
        default=0.5,
        help="fraction of AP cells in the random patterns (default 0.5)",
    ),
    Option(
        "fixed",
        "--fixed",
        TEXT,
        default="checkerboard,all-AP",
        help="fixed patterns, comma separated, from "
        f"{', '.join(_FIXED_KINDS)}; 'none' for none "
        "(default checkerboard,all-AP)",
    ),
    Option(
        "pattern_file",
        "--pattern-file",
        PATH,
        default=(),
        many="append",
        help="a pattern file to add (repeatable)",
    ),
    *WRITE_VERIFY_ON_CHIP,
    ALLOW_DISTURB,
)


def prepare(o: dict) -> dict:
    fixed = [] if o["fixed"].strip() == "none" else [k.strip() for k in o["fixed"].split(",")]
    for kind in fixed:
        if kind not in _FIXED_KINDS:
            raise OptionError(
                f"--fixed: unknown pattern {kind!r}; expected any of "
                f"{', '.join(_FIXED_KINDS)} or 'none'"
            )
    bench = chip_bench(o)
    arrays = arrays_on(bench, o["arrays"])
    shapes = {bench.shape(a) for a in arrays}
    if len(shapes) != 1:
        raise OptionError(f"arrays {arrays} are not all of one shape: {sorted(shapes)}")
    (shape,) = shapes
    patterns = [
        {
            "name": f"random-{k}",
            "cells": make_pattern(
                "random",
                shape,
                ap_fraction=o["ap_fraction"],
                rng=np.random.default_rng([o["seed"], k]),
            ).tolist(),
        }
        for k in range(o["patterns"])
    ]
    patterns += [{"name": k, "cells": make_pattern(k, shape).tolist()} for k in fixed]
    patterns += [
        {"name": str(f), "cells": load_pattern(f, shape).tolist()} for f in o["pattern_file"]
    ]
    if not patterns:
        raise OptionError("no patterns: give --patterns N, --fixed or --pattern-file")
    write = write_params(o, bench)
    check_write_params(write, disturb_allowed(bench.limits(), o))
    return {
        "bench": bench.as_params(),
        "arrays": arrays,
        "patterns": patterns,
        "write": write,
        "allow_disturb": o["allow_disturb"],
    }


def run(ctx: Context) -> dict:
    arrays = list(ctx.params["arrays"])
    patterns = [np.array(p["cells"], dtype=np.int8) for p in ctx.params["patterns"]]
    backends = ctx.backends(arrays)
    with safe_on_exit(backends):
        runner = ctx.runner(backends)
        fidelity = characterize_fidelity(
            backends,
            patterns,
            run_unit=runner.run_unit,
            seed=random_seed(ctx.params),
            progress=ctx.progress,
            finished=set(runner.results),
            **write_options(ctx.params["write"]),
        )
    writes = [
        {k: v for k, v in w.items() if k not in ("wrong_cells", "given_up_cells")}
        for w in fidelity.writes
    ]
    summary = {
        "overall": fidelity.overall(),
        "per_array": {str(a): s for a, s in fidelity.per_array.items()},
        "stuck": {str(a): s for a, s in fidelity.stuck.items()},
        "patterns": [p["name"] for p in ctx.params["patterns"]],
        "writes": writes,
        "figures": [],
    }
    summary["figures"] = ctx.save_figures(figures(ctx.dataset(), summary))
    return summary


def figures(ds: xr.Dataset, summary: dict) -> dict[str, Figure]:
    """Each write's fidelity by array, and per array the fraction of its finished writes after
    which each cell was wrong."""
    arrays = [int(a) for a in ds.array.values]
    out = {
        "fidelity_by_write.png": report.figure_fidelity_by_write(
            ds.fidelity.values,
            arrays,
            pattern_names=[str(n) for n in ds.pattern_name.values],
            title=f"write fidelity of each of {ds.sizes['pattern']} patterns in "
            f"{len(arrays)} arrays",
        )
    }
    for a in ds.array.values:
        done = ~np.isnat(ds.finished.sel(array=a).values)
        wrong = ds.wrong.sel(array=a).values[done]
        n_done, n = int(done.sum()), ds.sizes["pattern"]
        patterns = f"{n} patterns" if n_done == n else f"the {n_done} of {n} patterns written"
        out[f"error_map_array{a}.png"] = report.figure_error_map(
            wrong.sum(axis=0) / max(n_done, 1),
            title=f"array {a}: fraction of {patterns} each cell ended wrong",
            label="error fraction",
        )
    return out


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


EXPERIMENT = register(
    Experiment(
        kind="fidelity",
        command=("characterize", "fidelity"),
        help="write many patterns into one or many arrays; fidelity statistics",
        description="Write random and fixed patterns into each array with write-verify, "
        "unattended and resumable; per-array and per-cell statistics: fidelity, P->AP and AP->P "
        "error rates, disturbed neighbours, stuck cells.",
        options=OPTIONS,
        prepare=prepare,
        run=run,
        text=text,
        figures=figures,
    )
)
