"""Time of `mtjlab reproduce` on the simulated bench, and how it splits.

Run: python benchmarks/bench_reproduce.py [--solutions 300] [--chip sized]

Runs the command end to end into a temporary folder (what a user waits for), then times its parts
on a sample of solutions: training, write-verify, the inference batch (train and test splits
through the array), calibration and scoring, and the run store's commits.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import tempfile
import time
from pathlib import Path

import numpy as np
from _memory import peak_memory_line  # benchmarks/, the script's own folder

from mtjlab.analysis.network import train_binary_networks, wine_split
from mtjlab.cli.app import main as mtjlab_main
from mtjlab.protocols.inference import PairMapping, fit_calibration, nominal_calibration
from mtjlab.protocols.write import Ramp, write_verify
from mtjlab.runs.store import RunStore
from mtjlab.sim.backend import SimulatedBackend
from mtjlab.sim.chip import Chip, chip_spec
from mtjlab.sim.limits import chip_limits

#: Presets with no write window inside their disturb envelope are written outside it, with their
#: own ramps (the reference die: README, "The reference experiment").
OUTSIDE_THE_ENVELOPE = {"reference": ["--allow-disturb"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--solutions", type=int, default=300)
    parser.add_argument("--chip", default="sized")
    parser.add_argument("--sample", type=int, default=20, help="solutions timed part by part")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "rep"
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            status = mtjlab_main(
                [
                    "reproduce",
                    "--solutions",
                    str(args.solutions),
                    "--chip",
                    args.chip,
                    "--out",
                    str(out),
                    *OUTSIDE_THE_ENVELOPE.get(args.chip, []),
                ]
            )
        total = time.perf_counter() - start
    print(f"mtjlab reproduce --solutions {args.solutions}: {total:.1f} s (status {status})")

    split = wine_split(0)
    start = time.perf_counter()
    nets = train_binary_networks(split, range(args.solutions + 10))
    t_train = time.perf_counter() - start
    chip = Chip.from_seed(0, chip_spec(args.chip))
    limits = chip_limits(chip)
    ramps = {}
    if args.chip in OUTSIDE_THE_ENVELOPE:  # the same pulses as the run above
        limits = limits.allowing_disturb("benchmark of a die with no window inside its envelope")
        ramps = {"ramp_p_to_ap": Ramp(0.65, 0.05, 0.75), "ramp_ap_to_p": Ramp(0.50, 0.05, 0.55)}
    backends = [SimulatedBackend(chip, a, limits=limits) for a in range(5)]
    mapping = PairMapping.default(13, 7)
    x_all = np.vstack([split.x_train, split.x_test])
    parts = {"write-verify": 0.0, "inference batch": 0.0, "calibrate and score": 0.0}
    pulses = 0
    for k, net in enumerate(nets[: args.sample]):
        b = backends[k % 5]
        t0 = time.perf_counter()
        result = write_verify(b, mapping.target(net.w_hidden), **ramps)
        t1 = time.perf_counter()
        diff = mapping.differences_a(b, x_all, 0.1)
        t2 = time.perf_counter()
        nominal_calibration(result.final.resistance_ohm, result.final.states, mapping, 0.1)
        tuned = fit_calibration(diff[:124], split.x_train, net.w_hidden)
        net.predict_from_preactivation(tuned.apply(diff[124:]) + net.b_hidden)
        t3 = time.perf_counter()
        parts["write-verify"] += t1 - t0
        parts["inference batch"] += t2 - t1
        parts["calibrate and score"] += t3 - t2
        pulses += result.pulses
    with tempfile.TemporaryDirectory() as tmp:
        store = RunStore(Path(tmp) / "s.db")
        run = store.create_run("bench", {}, seed=0, snapshot={})
        blob = backends[0].snapshot_state()
        t0 = time.perf_counter()
        for k in range(args.sample):
            store.begin_unit(run, f"u{k}")
            store.append(run, f"u{k}", {"solution": k, "tuned_accuracy": 0.9})
            store.finish_unit(run, f"u{k}", state_key="a", state=blob, result={"k": k})
        parts["run store"] = time.perf_counter() - t0
        store.close()
    n = args.sample
    print(f"training {args.solutions + 10} networks: {t_train:.2f} s")
    print(f"per solution, mean of {n} ({pulses / n:.0f} pulses each):")
    for name, seconds in parts.items():
        print(f"  {name:20s} {1e3 * seconds / n:8.1f} ms")
    per_solution = sum(parts.values()) / n
    print(
        f"  {'sum':20s} {1e3 * per_solution:8.1f} ms -> {args.solutions} solutions "
        f"{per_solution * args.solutions:.1f} s + training"
    )


if __name__ == "__main__":
    main()
    print(peak_memory_line())
