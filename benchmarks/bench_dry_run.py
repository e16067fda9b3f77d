"""A dry run on the emulated bench: what a full grounded map of one 15x15 array would cost on the
bench the file describes, against the physical floor of one integration and one relay settling per
cell. A bench whose matrix is on the read source-meter's TSP-Link (``tsp_link`` in its file) is
measured twice: the map as one script on the source-meter, and cell by cell from the computer.

Run: python benchmarks/bench_dry_run.py [--bench FILE] [--array N] [--nplc 1]

The bench time is the emulated instruments' virtual clock (command latency, integration time from
NPLC and the line frequency, relay settling, pulse widths); the round trips are the commands the
drivers sent. The wall time is what the emulation took on this machine.
"""

from __future__ import annotations

import argparse
import dataclasses
import time

from mtjlab.benchfile import builtin_bench_path, load_bench
from mtjlab.sim.emulators.bench import EmulatedBench


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", default=str(builtin_bench_path()))
    parser.add_argument("--array", type=int, default=None)
    parser.add_argument("--nplc", type=float, default=1.0)
    args = parser.parse_args()

    bench = load_bench(args.bench)
    array = args.array if args.array is not None else min(bench.arrays)
    cells = len(bench.arrays[array].rows) * len(bench.arrays[array].cols)
    integration_s = args.nplc / bench.timing["line_frequency_hz"]
    floor_s = cells * (integration_s + bench.timing["relay_settle_s"])
    print(f"bench {bench.name!r}, array {array}, {cells} cells, NPLC {args.nplc:g}")
    print(f"  physical floor  {floor_s:8.2f} s  ({cells} x (integration "
          f"{1e3 * integration_s:.1f} ms + relay settling "
          f"{1e3 * bench.timing['relay_settle_s']:.1f} ms))")  # fmt: skip
    ways = [("one script", bench)] if bench.tsp_link_node is not None else []
    ways.append(("cell by cell", dataclasses.replace(bench, tsp_link_node=None)))
    for label, way in ways:
        emulated = EmulatedBench(way)
        with emulated.backend(array, nplc=args.nplc) as backend:
            backend.read_cell(0, 0)  # the sources' one-time configuration, outside the count
            start_s, start_n = emulated.clock.now_s, emulated.round_trips()
            wall = time.perf_counter()
            backend.read_map()
            bench_s = emulated.clock.now_s - start_s
            trips = emulated.round_trips() - start_n
            wall = time.perf_counter() - wall
        print(f"  {label}:")
        print(f"    bench time      {bench_s:8.2f} s  ({1e3 * bench_s / cells:.1f} ms per cell; "
              f"{bench_s / floor_s:.2f} x the floor)")  # fmt: skip
        print(f"    round trips     {trips:8d}    ({trips / cells:.2f} per cell)")
        print(f"    emulation wall  {wall:8.2f} s")


if __name__ == "__main__":
    main()
