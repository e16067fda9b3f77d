"""Time a full read of large simulated MTJ arrays with nonlinear devices (Newton on the
bias-dependent AP resistance), the sizes the iterative solver path is for.

Run ``python benchmarks/bench_nonlinear.py`` (``--sizes 256 512`` for fewer). Each array is drawn
from ``Chip.from_seed`` with the default defect rates (0.2 % each of shorted, open, stuck-P,
stuck-AP devices; shorts at 100 Ohm), 60 nm devices and 2 Ohm line segments; every row is driven
at the read voltage and the columns go to ground through ammeters.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _memory import peak_memory_line  # benchmarks/, the script's own folder

from mtjlab.sim import Chip, ChipSpec
from mtjlab.sim.solver import solve_crossbar

R_SEGMENT_OHM = 2.0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024])
    parser.add_argument("--v-read", type=float, default=0.3, help="row voltage, V")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(f"read at {args.v_read} V on every row, {R_SEGMENT_OHM} Ohm segments, seed {args.seed}\n")
    print("| array | method | Newton steps | time |")
    print("|---|---|---|---|")
    for n in args.sizes:
        chip = Chip.from_seed(args.seed, ChipSpec(rows=n, cols=n, diameters_nm=(60.0,)))
        array = chip.array(0)
        volts = np.full((n, 1), args.v_read)
        start = time.perf_counter()
        sol = solve_crossbar(
            array.linear_conductance_s(),
            volts,
            R_SEGMENT_OHM,
            R_SEGMENT_OHM,
            device_iv=array.current_and_slope,
        )
        elapsed = time.perf_counter() - start
        print(f"| {n}x{n} | {sol.method} | {sol.iterations} | {elapsed:.2f} s |")


if __name__ == "__main__":
    main()
    print(peak_memory_line())
