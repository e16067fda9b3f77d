"""Time mtjlab's crossbar solver against badcrossbar 1.1.0 on the same arrays, side by side.

Run ``python benchmarks/bench_solver.py`` (``--quick`` for fewer repeats and no 256x256 case;
``--large`` adds 512x512 and 1024x1024, where mtjlab takes its iterative path, and a table of
that path's iterations with shorted devices).
Prints a markdown table: case, badcrossbar time, mtjlab time, speedup and the largest relative
difference between the two solvers' column currents.
"""

from __future__ import annotations

import argparse
import logging
import time

import numpy as np
from _memory import peak_memory_line  # benchmarks/, the script's own folder

from mtjlab.sim import _solver_iterative
from mtjlab.sim.solver import Terminals, _as_ends, solve_crossbar

try:
    import badcrossbar
except ImportError:  # the table still reports mtjlab alone
    badcrossbar = None

R_LOW_OHM, R_HIGH_OHM = 5e3, 12e3
R_SEGMENT_OHM = 2.0

# (rows, cols, input vectors); badcrossbar is skipped where one solve would take too long.
CASES = [(15, 15, 178), (64, 64, 100), (128, 128, 100), (256, 256, 10), (256, 256, 1)]
LARGE_CASES = [(512, 512, 1), (1024, 1024, 1)]


def make_case(rows: int, cols: int, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A random 50/50 array of the two resistances and k input vectors, from one seed."""
    rng = np.random.default_rng(seed)
    resistance_ohm = rng.choice([R_LOW_OHM, R_HIGH_OHM], size=(rows, cols))
    voltages_v = rng.uniform(0.0, 0.3, size=(rows, k))
    return resistance_ohm, voltages_v


def run_mtjlab(resistance_ohm: np.ndarray, voltages_v: np.ndarray) -> np.ndarray:
    # Default termination: rows driven at column 0, columns to ammeters at the last row.
    sol = solve_crossbar(1.0 / resistance_ohm, voltages_v, R_SEGMENT_OHM, R_SEGMENT_OHM)
    return sol.column_currents_a


def run_badcrossbar(resistance_ohm: np.ndarray, voltages_v: np.ndarray) -> np.ndarray:
    # badcrossbar drives word lines at their first bit line and grounds bit lines after their
    # last word line: the same circuit as mtjlab's default termination. Its fastest settings
    # (output currents only) are used.
    sol = badcrossbar.compute(
        voltages_v,
        resistance_ohm,
        r_i_word_line=R_SEGMENT_OHM,
        r_i_bit_line=R_SEGMENT_OHM,
        node_voltages=False,
        all_currents=False,
    )
    return sol.currents.output


def best_time(fn, *args, repeats: int, budget_s: float) -> tuple[float, np.ndarray]:
    """Best wall time of up to `repeats` calls (timeit-style), stopping early past `budget_s`."""
    best = np.inf
    start = time.perf_counter()
    result = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn(*args)
        best = min(best, time.perf_counter() - t0)
        if time.perf_counter() - start > budget_s:
            break
    return best, result


def fmt_time(seconds: float) -> str:
    if not np.isfinite(seconds):
        return "skipped"
    return f"{seconds * 1e3:.2f} ms" if seconds < 1 else f"{seconds:.2f} s"


def pcg_with_shorts(n: int, seed: int) -> None:
    """The iterative path on an n x n array (one vector) with none and with 0.2 % of its
    devices shorted at 1e3 S, with the preconditioner carrying the strong devices and with the
    line chains alone."""
    print(f"\n| {n}x{n}, one vector | preconditioner | pcg iterations | time |")
    print("|---|---|---|---|")
    for shorted in (0.0, 0.002):
        resistance_ohm, voltages_v = make_case(n, n, 1, seed)
        g = 1.0 / resistance_ohm
        g[np.random.default_rng(seed + 1).random((n, n)) < shorted] = 1e3
        ends, _ = _as_ends(Terminals.default(voltages_v, n, n), n, n)
        g_segment = 1.0 / R_SEGMENT_OHM
        for label, most in (("chains + strong devices", _solver_iterative.MAX_STRONG),
                            ("chains alone", 0)):  # fmt: skip
            if shorted == 0.0 and most == 0:
                continue  # the same preconditioner when nothing is strong
            saved, _solver_iterative.MAX_STRONG = _solver_iterative.MAX_STRONG, most
            try:
                t0 = time.perf_counter()
                *_, iterations = _solver_iterative.solve_pcg(g[None], g_segment, g_segment, ends)
                seconds = time.perf_counter() - t0
            finally:
                _solver_iterative.MAX_STRONG = saved
            what = f"{int(round(shorted * n * n))} shorts" if shorted else "no shorts"
            print(f"| {what} | {label} | {iterations} | {fmt_time(seconds)} |")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, no 256x256 case")
    parser.add_argument("--large", action="store_true", help="add 512x512 and 1024x1024")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random arrays")
    parser.add_argument(
        "--max-badcrossbar-s",
        type=float,
        default=15.0,
        help="skip badcrossbar on a case once one of its solves took longer than this",
    )
    args = parser.parse_args(argv)
    logging.getLogger("badcrossbar").setLevel(logging.WARNING)  # it logs every solve at INFO
    repeats = 3 if args.quick else 7
    budget_s = 2.0 if args.quick else 10.0
    cases = CASES[:3] if args.quick else CASES
    if args.large:
        cases = cases + LARGE_CASES

    print(f"segment {R_SEGMENT_OHM} ohm, devices {R_LOW_OHM:g}/{R_HIGH_OHM:g} ohm 50/50, ", end="")
    print(f"seed {args.seed}, best of up to {repeats} runs\n")
    print("| case | badcrossbar 1.1.0 | mtjlab | speedup | max rel diff |")
    print("|---|---|---|---|---|")
    bc_too_slow = badcrossbar is None
    for rows, cols, k in cases:
        resistance_ohm, voltages_v = make_case(rows, cols, k, args.seed)
        run_mtjlab(resistance_ohm, voltages_v)  # warm-up (imports, caches)
        t_mt, i_mt = best_time(
            run_mtjlab, resistance_ohm, voltages_v, repeats=repeats, budget_s=budget_s
        )
        t_bc, diff = np.inf, np.nan
        if not bc_too_slow:
            t_bc, i_bc = best_time(
                run_badcrossbar, resistance_ohm, voltages_v, repeats=repeats, budget_s=budget_s
            )
            diff = float(np.max(np.abs(i_mt - i_bc) / np.abs(i_bc)))
            bc_too_slow = t_bc > args.max_badcrossbar_s
        speedup = f"{t_bc / t_mt:.1f}x" if np.isfinite(t_bc) else "n/a"
        diff_s = f"{diff:.1e}" if np.isfinite(diff) else "n/a"
        case = f"{rows}x{cols}, {k} vectors"
        print(f"| {case} | {fmt_time(t_bc)} | {fmt_time(t_mt)} | {speedup} | {diff_s} |")
    if args.large:
        pcg_with_shorts(512, args.seed)


if __name__ == "__main__":
    main()
    print(peak_memory_line())
