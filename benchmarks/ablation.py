"""Ablation of a chip's non-idealities: each switched off in turn, its cost in accuracy.

Run: python benchmarks/ablation.py [--solutions 100] [--preset sized] [--seed 0] [--inputs signed]

Each row runs `mtjlab reproduce` on the same chip seed and the same solutions with some ChipSpec
fields changed (`--chip-set`), and reports the mean and median test accuracy untuned and tuned,
the mean weight fidelity, and what switching the non-ideality off gains over the full chip.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import tempfile
import time
from pathlib import Path

from mtjlab.cli.app import main as mtjlab_main

VARIANTS: dict[str, dict[str, float]] = {
    "all non-idealities": {},
    "no critical-voltage spread (write errors, disturb)": {
        "sigma_vc0_rel": 0.0,
        "sigma_delta_rel": 0.0,
        "sigma_barrier_exponent_rel": 0.0,
    },
    "no resistance spread (R_P, TMR, diameter)": {
        "sigma_r_p_log": 0.0,
        "sigma_tmr0_rel": 0.0,
        "sigma_diameter_nm": 0.0,
    },
    "no defects (shorts, opens, stuck)": {
        "p_shorted": 0.0,
        "pinholes_per_um2": 0.0,
        "edge_shorts_per_um": 0.0,
        "p_open": 0.0,
        "p_stuck_p": 0.0,
        "p_stuck_ap": 0.0,
    },
    "no line resistance": {"r_row_ohm": 0.0, "r_col_ohm": 0.0},
    "no read noise": {"read_noise_rel": 0.0, "read_noise_floor_a": 0.0},
}


#: Presets with no write window inside their disturb envelope are written outside it, with their
#: own ramps (the reference die: README, "The reference experiment").
OUTSIDE_THE_ENVELOPE = {"reference": ["--allow-disturb"]}


def run(preset: str, seed: int, solutions: int, changes: dict[str, float], inputs: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        argv = ["reproduce", "--solutions", str(solutions), "--seed", str(seed)]
        argv += ["--inputs", inputs]
        argv += ["--chip", preset, "--out", str(Path(tmp) / "r")]
        argv += OUTSIDE_THE_ENVELOPE.get(preset, [])
        for name, value in changes.items():
            argv += ["--chip-set", f"{name}={value}"]
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            status = mtjlab_main(argv)
        if status != 0:
            raise SystemExit(f"mtjlab {' '.join(argv)} exited with {status}")
        return json.loads((Path(tmp) / "r" / "summary.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--solutions", type=int, default=100)
    parser.add_argument("--preset", default="sized")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--inputs", default="unsigned", choices=("unsigned", "signed"))
    args = parser.parse_args()

    print(
        f"{args.solutions} solutions, chip {args.seed} ({args.preset}), {args.inputs} inputs; "
        "accuracy in percent"
    )
    print(
        "| chip | untuned mean | untuned median | tuned mean | tuned median | weight fidelity "
        "| untuned gain | time |"
    )
    print("|---|---|---|---|---|---|---|---|")
    base = None
    for name, changes in VARIANTS.items():
        start = time.perf_counter()
        s = run(args.preset, args.seed, args.solutions, changes, args.inputs)
        elapsed = time.perf_counter() - start
        if base is None:
            base = s
        gain = 100 * (s["mean_untuned_accuracy"] - base["mean_untuned_accuracy"])
        print(
            f"| {name} | {100 * s['mean_untuned_accuracy']:.1f} "
            f"| {100 * s['median_untuned_accuracy']:.1f} | {100 * s['mean_tuned_accuracy']:.1f} "
            f"| {100 * s['median_tuned_accuracy']:.1f} | {100 * s['mean_weight_fidelity']:.2f} "
            f"| {gain:+.1f} | {elapsed:.0f} s |",
            flush=True,
        )
    assert base is not None
    print(
        f"software (binary): mean {100 * base['mean_software_accuracy']:.1f}, "
        f"median {100 * base['median_software_accuracy']:.1f}"
    )


if __name__ == "__main__":
    main()
