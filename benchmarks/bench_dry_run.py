"""A dry run on the emulated bench: what a full grounded map of one 15x15 array would cost on the
bench the file describes, against the physical floor of one integration and one relay settling per
cell. A bench whose matrix is on the read source-meter's TSP-Link (``tsp_link`` in its file) is
measured twice: the map as one script on the source-meter, and cell by cell from the computer.
With ``--vectors N`` it measures inference instead: N random input vectors on 13 rows (Wine's
13 features), at up to 0.1 V, by superposition (one reading per row, column and vector, and one
relay connection per row and column).

Run: python benchmarks/bench_dry_run.py [--bench FILE] [--array N] [--nplc 1] [--vectors 178]

The bench time is the emulated instruments' virtual clock (command latency, integration time from
NPLC and the line frequency, relay settling, pulse widths); the round trips are the commands the
drivers sent. The wall time is what the emulation took on this machine.
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np
from _memory import peak_memory_line  # benchmarks/, the script's own folder

from mtjlab.bench.emulated import EmulatedBench
from mtjlab.bench.file import builtin_bench_path, load_bench


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", default=str(builtin_bench_path()))
    parser.add_argument("--array", type=int, default=None)
    parser.add_argument("--nplc", type=float, default=1.0)
    parser.add_argument("--vectors", type=int, default=0, help="inference of this many vectors")
    args = parser.parse_args()

    bench = load_bench(args.bench)
    array = args.array if args.array is not None else min(bench.arrays)
    rows, cols = len(bench.arrays[array].rows), len(bench.arrays[array].cols)
    integration_s = args.nplc / bench.timing["line_frequency_hz"]
    settle_s = bench.timing["relay_settle_s"]
    if args.vectors > 0:
        inputs = np.zeros((args.vectors, rows))
        inputs[:, :13] = 0.1 * np.random.default_rng(0).uniform(-1, 1, (args.vectors, 13))
        readings, connections = 13 * cols * args.vectors, 13 * cols
        what = f"inference of {args.vectors} vectors on 13 rows"
    else:
        readings = connections = rows * cols
        what = f"a grounded map of {rows * cols} cells"
    floor_s = readings * integration_s + connections * settle_s
    print(f"bench {bench.name!r}, array {array}, {what}, NPLC {args.nplc:g}")
    print(f"  physical floor  {floor_s:8.2f} s  ({readings} readings x {1e3 * integration_s:.1f} ms"
          f" + {connections} connections x {1e3 * settle_s:.1f} ms relay settling)")  # fmt: skip
    ways = [("one script", bench)] if bench.tsp_link_node is not None else []
    ways.append(("cell by cell", dataclasses.replace(bench, tsp_link_node=None)))
    for label, way in ways:
        emulated = EmulatedBench(way)
        with emulated.backend(array, nplc=args.nplc) as backend:
            backend.read_cell(0, 0)  # the sources' one-time configuration, outside the count
            start_s, start_n = emulated.clock.now_s, emulated.round_trips()
            wall = time.perf_counter()
            if args.vectors > 0:
                backend.column_currents_a(inputs)
            else:
                backend.read_map()
            bench_s = emulated.clock.now_s - start_s
            trips = emulated.round_trips() - start_n
            wall = time.perf_counter() - wall
        print(f"  {label}:")
        print(f"    bench time      {bench_s:8.2f} s  ({bench_s / floor_s:.2f} x the floor)")
        print(f"    round trips     {trips:8d}    ({trips / readings:.3f} per reading)")
        print(f"    emulation wall  {wall:8.2f} s")


if __name__ == "__main__":
    main()
    print(peak_memory_line())
