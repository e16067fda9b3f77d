"""How the cost grows with the work: `mtjlab reproduce` against its number of solutions, and the
crossbar solver against the array's size, each with its peak memory, on one log-log figure.

Run: python benchmarks/bench_growth.py [--solutions 10,30,100,300,1000] [--sizes 15,32,...,1024]
[--figure growth.png]

Every point runs in a process of its own, so that its peak resident memory (``os.wait4``'s
``ru_maxrss``: the largest process of its tree, reproduce's joined workers included) is its own.
A reproduce point is the command with its defaults and ``--solutions N``, timed end to end (the
imports, training, the writes on two workers, the summary and the figures). A solver point is one
linear solve of an N x N array of the two resistances, 2 Ohm line segments, the rows driven at
column 0 and the columns held at 0 V at the last row, with one input vector (the write and read
case) and, up to 256, with 100 (the inference case): the best of three solves, after one that is
not timed. The figure has a dashed line of slope 1 on the reproduce panel and of slopes 2 and 3 on
the solver panel, to read the growth against.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from _memory import run_measured  # benchmarks/, the script's own folder

#: One solver point, run in its own Python: prints its best time in seconds.
SOLVE = """
import time, numpy as np
from mtjlab.sim.solver import solve_crossbar
n, k = {n}, {k}
rng = np.random.default_rng(0)
g = 1.0 / rng.choice([5e3, 12e3], size=(n, n))
v = rng.uniform(0.0, 0.3, size=(n, k))
solve_crossbar(g, v, 2.0, 2.0)
best = float("inf")
for _ in range(3):
    start = time.perf_counter()
    solve_crossbar(g, v, 2.0, 2.0)
    best = min(best, time.perf_counter() - start)
print(best)
"""


def run(argv: list[str], cwd: str) -> tuple[float, float, str]:
    """Wall time, peak memory (MiB) and stdout of one command."""
    with tempfile.TemporaryFile() as out:
        took, status, mib = run_measured(argv, cwd, out, subprocess.DEVNULL)
        out.seek(0)
        text = out.read().decode()
    if status != 0:
        raise SystemExit(f"{' '.join(argv)} exited with {status}")
    return took, mib, text


def reproduce_points(counts: list[int]) -> list[dict]:
    points = []
    for n in counts:
        with tempfile.TemporaryDirectory() as tmp:
            argv = [sys.executable, "-m", "mtjlab", "reproduce", "--solutions", str(n)]
            took, mib, _ = run([*argv, "--out", str(Path(tmp) / "out")], tmp)
        points.append({"solutions": n, "time_s": took, "peak_mib": mib})
        print(f"| reproduce | {n} solutions | {took:.1f} s | {mib:.0f} MiB |", flush=True)
    return points


def solver_points(sizes: list[int]) -> list[dict]:
    points = []
    for n in sizes:
        for k in (1, 100) if n <= 256 else (1,):
            with tempfile.TemporaryDirectory() as tmp:
                _, mib, text = run([sys.executable, "-c", SOLVE.format(n=n, k=k)], tmp)
            best = float(text.strip())
            points.append({"size": n, "vectors": k, "time_s": best, "peak_mib": mib})
            print(f"| solver | {n}x{n}, {k} vector(s) | {best * 1e3:.2f} ms | {mib:.0f} MiB |",
                  flush=True)  # fmt: skip
    return points


def draw(reproduce: list[dict], solver: list[dict], path: Path) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9.0, 3.8), layout="constrained")
    left, right = fig.subplots(1, 2)
    if reproduce:
        x = [p["solutions"] for p in reproduce]
        y = [p["time_s"] for p in reproduce]
        left.loglog(x, y, "o-", label="mtjlab reproduce, 2 workers")
        left.loglog(x, [y[-1] * xi / x[-1] for xi in x], "k--", linewidth=0.8, label="slope 1")
        left.set_xlabel("solutions")
        left.set_ylabel("wall time (s)")
        left.set_title("the main job against its solutions")
        left.legend(loc="upper left", frameon=False)
    for k, marker in ((1, "o-"), (100, "s-")):
        pts = [p for p in solver if p["vectors"] == k]
        if pts:
            right.loglog([p["size"] for p in pts], [p["time_s"] * 1e3 for p in pts], marker,
                         label=f"{k} input vector{'s' if k > 1 else ''}")  # fmt: skip
    ones = [p for p in solver if p["vectors"] == 1]
    if ones:
        x = [p["size"] for p in ones]
        t0 = ones[0]["time_s"] * 1e3
        for slope in (2, 3):
            right.loglog(x, [t0 * (xi / x[0]) ** slope for xi in x], "k:", linewidth=0.8)
            at = (x[-1], t0 * (x[-1] / x[0]) ** slope)
            right.annotate(f"slope {slope}", at, fontsize=8, ha="right", va="bottom")
        right.set_xlabel("array size N (N x N)")
        right.set_ylabel("one linear solve (ms)")
        right.set_title("the solver against the array's size")
        right.legend(loc="upper left", frameon=False)
    fig.savefig(path, dpi=120)
    print(f"figure: {path}")


def numbers(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--solutions", type=numbers, default=[10, 30, 100, 300, 1000])
    parser.add_argument("--sizes", type=numbers, default=[15, 32, 64, 128, 256, 512, 1024])
    parser.add_argument("--figure", type=Path, default=Path("growth.png"))
    parser.add_argument("--json", type=Path, help="also write the points here")
    args = parser.parse_args()
    print("| what | size of the work | time | peak memory |")
    print("|---|---|---|---|")
    solver = solver_points(args.sizes)
    reproduce = reproduce_points(args.solutions)
    draw(reproduce, solver, args.figure)
    if args.json is not None:
        args.json.write_text(json.dumps({"reproduce": reproduce, "solver": solver}, indent=2))


if __name__ == "__main__":
    main()
