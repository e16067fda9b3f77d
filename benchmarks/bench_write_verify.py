"""Time and pulses of one write-verify of a random 15x15 pattern on SimulatedBackend.

Run: python benchmarks/bench_write_verify.py [--seeds 5] [--arrays 0,1,2,3,4]

For each array of Chip.from_seed(seed) and each pattern seed, a fresh chip is drawn, a random
pattern (half AP) is written with the default write-verify (V/2, 100 ns, the default ramps,
inside the chip's disturb envelope: P->AP 0.55-0.59 V, AP->P 0.40-0.43 V, at most 6 pulses a
cell), and the wall time, pulses, passes, reads and final
fidelity are reported, and how the time splits between the pulses, the map reads and the
protocol's own work; then the mean cost of one pulse, one grounded map read and one inference
batch (column_currents_a of 178 input vectors, the Wine data set's size).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
from _memory import peak_memory_line  # benchmarks/, the script's own folder

from mtjlab.core.patterns import make_pattern
from mtjlab.protocols.write import DEFAULT_RAMP_AP_TO_P, write_verify
from mtjlab.sim.backend import SimulatedBackend
from mtjlab.sim.chip import Chip


def _timed(method: Callable, spent: dict[str, float], name: str) -> Callable:
    """`method` that adds the time of each call to spent[name]."""

    def call(*args, **kwargs):
        start = time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            spent[name] += time.perf_counter() - start

    return call


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="pattern seeds per array (default 5)")
    parser.add_argument("--arrays", default="0,1,2,3,4", help="arrays (default all five)")
    parser.add_argument("--chip", type=int, default=0, help="chip seed (default 0)")
    args = parser.parse_args()
    arrays = [int(a) for a in args.arrays.split(",")]

    print("array  pattern  time (s)  pulses  passes  map reads  fidelity  given up")
    times, pulses = [], []
    spent = {"pulses": 0.0, "map reads": 0.0}
    for a in arrays:
        for k in range(args.seeds):
            backend = SimulatedBackend(Chip.from_seed(args.chip), a)
            # The protocol calls these two: timing them splits its time without changing it.
            backend.write_pulse = _timed(backend.write_pulse, spent, "pulses")  # type: ignore[method-assign]
            backend.read_map = _timed(backend.read_map, spent, "map reads")  # type: ignore[method-assign]
            pattern = make_pattern("random", backend.shape, rng=np.random.default_rng([a, k]))
            start = time.perf_counter()
            result = write_verify(backend, pattern)
            elapsed = time.perf_counter() - start
            times.append(elapsed)
            pulses.append(result.pulses)
            print(
                f"{a:5d}  {k:7d}  {elapsed:8.3f}  {result.pulses:6d}  {result.passes:6d}  "
                f"{backend.counts['reads'] // 225:9d}  {result.fidelity:8.4f}  "
                f"{len(result.given_up):8d}"
            )
    n = len(times)
    print(
        f"mean: {np.mean(times):.3f} s and {np.mean(pulses):.1f} pulses per write-verify "
        f"({n} writes)"
    )
    protocol = sum(times) - spent["pulses"] - spent["map reads"]
    print(
        f"split per write-verify: pulses {spent['pulses'] / n:.3f} s, map reads "
        f"{spent['map reads'] / n:.3f} s, protocol {protocol / n:.3f} s"
    )

    backend = SimulatedBackend(Chip.from_seed(args.chip), 1)
    count = 200
    start = time.perf_counter()
    for k in range(count):
        backend.write_pulse(
            k % 15, (7 * k) % 15, amplitude_v=DEFAULT_RAMP_AP_TO_P.stop_v, width_s=1e-7, polarity=-1
        )
    pulse_ms = (time.perf_counter() - start) / count * 1e3
    start = time.perf_counter()
    for _ in range(20):
        backend.read_map()
    map_ms = (time.perf_counter() - start) / 20 * 1e3
    inputs = np.random.default_rng(0).uniform(-0.1, 0.1, size=(178, 15))
    start = time.perf_counter()
    for _ in range(5):
        backend.column_currents_a(inputs)
    batch_ms = (time.perf_counter() - start) / 5 * 1e3
    print(
        f"one write_pulse {pulse_ms:.2f} ms, one grounded read_map {map_ms:.1f} ms, "
        f"one column_currents_a of 178 vectors {batch_ms:.1f} ms"
    )


if __name__ == "__main__":
    main()
    print(peak_memory_line())
