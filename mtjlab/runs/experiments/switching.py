"""Switching probability of chosen cells against pulse amplitude and width, in both directions,
and the thermal-activation (Neel-Brown) fit of each curve; a resumable unit per cell and direction.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from mtjlab import report
from mtjlab.protocols.switching import switching_probability
from mtjlab.protocols.thermal_fit import fit_thermal_activation, thermal_switching_probability
from mtjlab.protocols.write import DEFAULT_RAMP_AP_TO_P, DEFAULT_RAMP_P_TO_AP
from mtjlab.runs.context import Context, random_seed, safe_on_exit
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
    AMPLITUDE_GRID,
    NUMBER,
    POSITIVE_INT,
    TEXT,
    VOLTS,
    WIDTH_LIST,
    OptionError,
    bounded,
)

#: Each spelling of ``--direction`` (lower case) and the direction it stands for, stored as such.
#: ``p-ap`` and ``ap-p`` are there for the shell, where an unquoted ``P->AP`` is a redirection
#: that creates a file named ``AP``.
DIRECTION_SPELLINGS = {
    "both": "both",
    "p->ap": "P->AP",
    "ap->p": "AP->P",
    "p-ap": "P->AP",
    "ap-p": "AP->P",
}


def _direction(text: str) -> str:
    """The direction ``--direction`` names, in the form runs store (both, P->AP or AP->P).

    Checked here rather than by argparse's choices, which match exactly, case included, and print
    the usage before their error: a bad value is one line naming what is allowed.
    """
    try:
        return DIRECTION_SPELLINGS[text.strip().lower()]
    except KeyError:
        raise OptionError(
            f"--direction {text!r}: expected both, P->AP or AP->P; p-ap and ap-p (any case) "
            "name the same two and need no quoting"
        ) from None


OPTIONS = (
    *ON_ONE_ARRAY,
    with_help(CELLS, "cells to measure (default 7,7)"),
    Option(
        "direction",
        "--direction",
        TEXT,
        default="both",
        metavar="{both,P->AP,AP->P,p-ap,ap-p}",
        help="switching to measure (default both); p-ap and ap-p (any case) are P->AP and AP->P "
        "and need no quoting in a shell, where an unquoted > redirects",
    ),
    Option(
        "p_to_ap_amplitudes_v",
        "--p-to-ap-amplitudes",
        AMPLITUDE_GRID,
        default=AMPLITUDE_GRID("0.40,0.01,0.55"),
        metavar="START,STEP,STOP",
        help="P->AP pulse amplitudes in volts, both ends included, as the write ramps are "
        "given (default 0.40,0.01,0.55)",
    ),
    Option(
        "ap_to_p_amplitudes_v",
        "--ap-to-p-amplitudes",
        AMPLITUDE_GRID,
        default=AMPLITUDE_GRID("0.28,0.01,0.40"),
        metavar="START,STEP,STOP",
        help="AP->P pulse amplitudes in volts, START,STEP,STOP (default 0.28,0.01,0.40)",
    ),
    Option(
        "widths_s",
        "--widths",
        WIDTH_LIST,
        default=[100e-9, 1e-6],
        metavar="WIDTHS",
        help="pulse widths, comma separated (default 100ns,1us)",
    ),
    Option(
        "trials",
        "--trials",
        bounded(POSITIVE_INT),
        default=20,
        help="trials per point (default 20)",
    ),
    Option(
        "reset_amplitude_v",
        "--reset-amplitude",
        VOLTS,
        help="amplitude of the reset pulses before each trial, both polarities (default: the "
        f"write-verify ramps' tops, {DEFAULT_RAMP_P_TO_AP.stop_v:g} V into AP and "
        f"{DEFAULT_RAMP_AP_TO_P.stop_v:g} V into P, inside the disturb envelope)",
    ),
    SCHEME,
    Option(
        "barrier_exponent",
        "--barrier-exponent",
        NUMBER,
        default=1.0,
        metavar="N",
        help="exponent n of the barrier Delta (1 - V/Vc0)^n the fit assumes, 1 to 3 (default 1; "
        "about 2 is measured on many junctions, see docs/device-model.md)",
    ),
    ALLOW_DISTURB,
)


def prepare(o: dict) -> dict:
    direction = _direction(o["direction"])
    bench = bench_of(o["bench"], o["seed"])
    arrays_on(bench, [o["array"]])
    limits = disturb_allowed(bench.limits(), o)
    directions = ["P->AP", "AP->P"] if direction == "both" else [direction]
    amplitudes = {"P->AP": o["p_to_ap_amplitudes_v"], "AP->P": o["ap_to_p_amplitudes_v"]}
    # The resets put a cell into AP with a positive pulse and into P with a negative one.
    given = o["reset_amplitude_v"]
    reset = {
        "to_ap": given or DEFAULT_RAMP_P_TO_AP.stop_v,
        "to_p": given or DEFAULT_RAMP_AP_TO_P.stop_v,
    }
    for d in directions:
        polarity = 1 if d == "P->AP" else -1
        for w in o["widths_s"]:
            limits.check_write(o["scheme"], max(amplitudes[d]), w, polarity)
    for polarity, amplitude in ((1, reset["to_ap"]), (-1, reset["to_p"])):
        limits.check_write(o["scheme"], amplitude, 100e-9, polarity)
    if not 1.0 <= o["barrier_exponent"] <= 3.0:  # also NaN
        raise OptionError(f"--barrier-exponent {o['barrier_exponent']:g}: expected 1 to 3")
    return {
        "bench": bench.as_params(),
        "array": o["array"],
        "cells": check_cells(o["cells"], bench.shape(o["array"])),
        "directions": directions,
        "amplitudes_v": {d: amplitudes[d] for d in directions},
        "widths_s": o["widths_s"],
        "trials": o["trials"],
        "reset_amplitude_v": reset,
        "scheme": o["scheme"],
        "barrier_exponent": o["barrier_exponent"],
        "allow_disturb": o["allow_disturb"],
    }


def _resets(stored: dict, direction: str) -> tuple[float, float]:
    """The reset amplitudes (into AP, into P) of a run: stored as such, or by a run made before
    they were told apart, as one amplitude per measured direction for both polarities."""
    if "to_ap" in stored:
        return stored["to_ap"], stored["to_p"]
    return stored[direction], stored[direction]


def run(ctx: Context) -> dict:
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
                        reset_amplitude_v=_resets(p["reset_amplitude_v"], direction),
                        rng=np.random.default_rng([random_seed(p), row, col]),
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
    summary = {
        "array": a,
        "cells": [
            {k: v for k, v in c.items() if k not in ("n_switched", "n_trials")} for c in curves
        ],
        "figures": [],
    }
    summary["figures"] = ctx.save_figures(figures(ctx.dataset(), summary))
    return summary


def figures(ds: xr.Dataset, summary: dict) -> dict[str, Figure]:
    """Per cell and direction, the measured probabilities per width and the fitted curves."""
    out = {}
    widths = ds.width.values
    for i in range(ds.sizes["cell"]):
        row, col = int(ds.row.values[i]), int(ds.column.values[i])
        for d in ds.direction.values:
            amplitudes = ds.amplitude_v.sel(direction=d).values
            amplitudes = amplitudes[np.isfinite(amplitudes)]
            n = len(amplitudes)
            curve = ds.isel(cell=i).sel(direction=d)
            n_trials = curve.n_trials.values[:, :n].astype(float)
            with np.errstate(invalid="ignore", divide="ignore"):
                measured = np.where(n_trials > 0, curve.n_switched.values[:, :n] / n_trials, np.nan)
            fine = fitted = None
            title = f"array {ds.attrs['array']} cell ({row}, {col}) {d}"
            if np.isfinite(curve.vc0_v):
                exponent = float(curve.barrier_exponent)
                fine = np.linspace(amplitudes.min(), amplitudes.max(), 200)
                fitted = np.array(
                    [
                        thermal_switching_probability(
                            fine,
                            w,
                            vc0_v=float(curve.vc0_v),
                            delta=float(curve.delta),
                            tau0_s=float(curve.tau0_s),
                            barrier_exponent=exponent if np.isfinite(exponent) else 1.0,
                        )
                        for w in widths
                    ]
                )
                title += (
                    f": Vc0 {float(curve.vc0_v):.4f} +- {float(curve.vc0_err_v):.4f} V, "
                    f"Delta {float(curve.delta):.1f} +- {float(curve.delta_err):.1f}"
                )
            name = f"switching_r{row}c{col}_{str(d).replace('->', '-')}.png"
            out[name] = report.figure_switching_curves(
                amplitudes,
                measured,
                widths,
                fit_amplitudes_v=fine,
                fit_probability=fitted,
                title=title,
            )
    return out


def text(summary: dict) -> list[str]:
    rows = []
    for c in summary["cells"]:
        if "vc0_v" in c:
            vc0 = f"{c['vc0_v']:.4f} +- {c['vc0_err_v']:.4f}"
            delta = f"{c['delta']:.1f} +- {c['delta_err']:.1f}"
        else:
            vc0, delta = "no fit", ""
        rows.append([f"({c['row']}, {c['col']})", c["direction"], vc0, delta])
    lines = [report.format_table(["cell", "direction", "Vc0 (V)", "Delta"], rows)]
    for c in summary["cells"]:
        if "vc0_v" not in c:
            why = c.get("reason") or c.get("fit_error", "")
            lines.append(f"cell ({c['row']}, {c['col']}) {c['direction']}: no fit: {why}")
    return lines


EXPERIMENT = register(
    Experiment(
        kind="switching",
        command=("characterize", "switching"),
        help="switching probability versus pulse amplitude and width; thermal-activation fit",
        description="For each cell and direction: calibrate the cell's two states, then N "
        "trials per amplitude and width (reset, pulse, read), in a shuffled order; fit the "
        "Neel-Brown model to give the cell's critical voltage and thermal stability factor, "
        "each with its 1-sigma error.",
        options=OPTIONS,
        prepare=prepare,
        run=run,
        text=text,
        figures=figures,
    )
)
