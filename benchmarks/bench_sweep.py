"""Points per second of a sweep on one and two local worker processes and on a two-worker Dask
cluster (a LocalCluster on 127.0.0.1, started and stopped here), in one run, side by side.

Run: python benchmarks/bench_sweep.py [--points 16] [--solutions 4] [--repeats 2]

Every point is `mtjlab reproduce` on its own chip seed (line resistance 2 and 3 Ohm, each on
seeds 0 to N/2 - 1 of the default die), so the three executors run the same work; the results
are checked to be the same. Each executor's time is the best of its repeats: the first sweep on
a fresh Dask cluster also pays its workers' imports and first calls (a few seconds, printed
apart), which the pool's workers inherit from this process when they fork. Starting the cluster
is not timed. Dask needs the `dask` extra (`pip install '.[dask]'`); without it its row is left
out and says so.
"""

from __future__ import annotations

import argparse
import resource
import time

import mtjlab


def timed(label: str, args: argparse.Namespace, **where) -> tuple[float, list]:
    best, first, points = float("inf"), None, []
    for _ in range(args.repeats):
        start = time.perf_counter()
        result = mtjlab.sweep(
            "reproduce",
            vary=[("r_row_ohm", [2.0, 3.0])],
            seeds=args.points // 2,
            solutions=args.solutions,
            **where,
        )
        took = time.perf_counter() - start
        first = took if first is None else first
        best = min(best, took)
        points = result.summary["points"]
    print(f"| {label} | {args.points / best:.2f} | {best:.1f} s | {first:.1f} s |", flush=True)
    return best, points


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=16)
    parser.add_argument("--solutions", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    args.points -= args.points % 2
    print(f"{args.points} points, reproduce with {args.solutions} solutions each")
    print(f"| executor | points per second | time (best of {args.repeats}) | first run |")
    print("|---|---|---|---|")
    one, reference = timed("1 local worker", args, workers=1)
    two, pooled = timed("2 local workers", args, workers=2)
    assert pooled == reference, "the pool's results differ from one process's"
    try:
        import distributed
    except ImportError:
        print("| Dask, 2 workers | (dask extra not installed) | | |")
        dask = None
    else:
        with (
            distributed.LocalCluster(
                n_workers=2,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
            ) as cluster,
            distributed.Client(cluster) as client,
        ):
            dask, on_dask = timed("Dask LocalCluster, 2 workers", args, client=client)
        assert on_dask == reference, "the Dask cluster's results differ from one process's"
    print(f"speed-up from 1 to 2 local workers: {one / two:.2f}x")
    if dask is not None:
        print(f"Dask against the 2-worker pool: {two / dask:.2f}x the pool's speed")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of this process: {peak:.0f} MB (each worker holds one point's run)")


if __name__ == "__main__":
    main()
