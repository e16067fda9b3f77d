"""Time and peak memory of `mtjlab reproduce` for this install and an older one, side by side.

Run: python benchmarks/bench_versus.py --baseline VENV [--solutions 300] [--repeats 1]
[--skip-dry-run]

VENV is a virtualenv folder with an older mtjlab installed; its command is VENV/bin/mtjlab.
"This install" is the mtjlab of the Python that runs this script (`python -m mtjlab`, or the
`mtjlab` script next to that Python when `-m` does not work). Each command runs in a fresh
temporary folder as its working directory, with `--out` inside it. The two installs alternate,
the baseline first. With `--repeats R` each command runs R times; the table keeps the best time
and the largest memory.

The cases:

1. "reproduce, the baseline's defaults": the baseline runs `reproduce --solutions N`, whose
   defaults were the `default` die with signed inputs and a 124/54 split. This install runs
   `reproduce --solutions N --chip kind --inputs signed`: the same die and inputs under their new
   names (the split is still 124/54). If the baseline's `reproduce --help` lists `--inputs`, it
   gets the same flags (with `--chip default` if its help does not name the `kind` preset). The
   medians and means of software, untuned and tuned accuracy and of weight fidelity from both
   runs' summary.json are printed side by side. They are not expected to be equal: the newer
   install writes inside a disturb envelope, with other ramps.
2. "reproduce, each install's defaults": this install runs `reproduce --solutions N` (the
   `sized` die with unsigned inputs, more work than the baseline's defaults: its write-verify
   needs more pulses); the baseline's time in this row is its case 1 run, its own defaults.
3. "dry run": both run `reproduce --bench FILE --solutions 1`, FILE being
   examples/emulated-bench.yaml of this repository (for a baseline that does not know the
   preset name `kind`, a copy naming the same die by its older name, `default`). The table
   adds the bench time (`bench_time_s` of summary.json, the emulated instruments' virtual
   clock) and the ratio of bench time to wall time. A baseline that refuses the file or an
   option has its error line printed, and the benchmark goes on. `--skip-dry-run` leaves this
   case out.

Wall time is time.perf_counter around the subprocess, start to reaping.

Peak memory is the largest resident set size of any one process of the run's process tree, not
their sum. The script starts the command with subprocess.Popen and reaps it with os.wait4; the
number is that call's ru_maxrss (kB on Linux, shown in MiB). On Linux it is the larger of the
command's own peak and the peaks of the descendants it reaped. reproduce forks its worker
processes and joins them, so they are included. This was checked by experiment: a child Python of
13 MB that forks a worker touching 400 MB and joins it gave ru_maxrss 419,336 kB through
os.wait4 and through RUSAGE_CHILDREN; the same child exiting without reaping its worker gave
12,868 kB through os.wait4.
resource.getrusage(RUSAGE_CHILDREN).ru_maxrss, taken before and after each run as a cross-check,
covers the same tree, but it is the largest over all children of this script so far. It checks
a run only when it rises; the script prints a note when it rises to a value other than the
os.wait4 one.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from _memory import PER_MIB, run_measured  # benchmarks/, the script's own folder

BENCH_FILE = Path(__file__).resolve().parents[1] / "examples" / "emulated-bench.yaml"

#: Keys of summary.json printed side by side for case 1 (both installs use these names).
METRICS = [
    f"{stat}_{name}"
    for name in ("software_accuracy", "untuned_accuracy", "tuned_accuracy", "weight_fidelity")
    for stat in ("median", "mean")
]


def say(text: str = "") -> None:
    print(text, flush=True)


def this_install() -> list[str]:
    """The command of this install's mtjlab: `python -m mtjlab`, or the script next to Python."""
    with tempfile.TemporaryDirectory() as tmp:
        probe = subprocess.run(
            [sys.executable, "-m", "mtjlab", "--version"], cwd=tmp, capture_output=True, text=True
        )
    if probe.returncode == 0:
        return [sys.executable, "-m", "mtjlab"]
    script = Path(sys.executable).parent / "mtjlab"
    if not script.exists():
        print(f"bench_versus.py: error: no mtjlab for {sys.executable}", file=sys.stderr)
        sys.exit(2)
    return [str(script)]


def version(command: list[str]) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run([*command, "--version"], cwd=tmp, capture_output=True, text=True)
    return (out.stdout or out.stderr).strip() or f"(--version gave status {out.returncode})"


def reproduce_help(command: list[str]) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(
            [*command, "reproduce", "--help"], cwd=tmp, capture_output=True, text=True
        )
    return out.stdout


def last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "(no stderr)"


def run_once(command: list[str], args: list[str]) -> dict:
    """One run in a fresh temporary folder: wall time, status, peak memory and its summary.json."""
    tmp = Path(tempfile.mkdtemp(prefix="bench-versus-"))
    try:
        out = tmp / "out"
        argv = [*command, *args, "--out", str(out)]
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        with open(tmp / "stdout.txt", "wb") as stdout, open(tmp / "stderr.txt", "wb") as stderr:
            wall, status, mib = run_measured(argv, tmp, stdout, stderr)
        after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        if after > before and after / PER_MIB != mib:
            say(
                f"    note: RUSAGE_CHILDREN rose to {after / PER_MIB:.0f} MiB, os.wait4 "
                f"gave {mib:.0f} MiB"
            )
        summary = {}
        if (out / "summary.json").exists():
            summary = json.loads((out / "summary.json").read_text())
        error = ""
        if status != 0:
            error = last_line((tmp / "stderr.txt").read_text(errors="replace"))
        return {
            "argv": argv,
            "wall": wall,
            "status": status,
            "mib": mib,
            "summary": summary,
            "error": error,
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def timed(label: str, command: list[str], args: list[str], k: int, repeats: int) -> dict | None:
    """One run, printed as it ends; None when it failed (its command and last stderr line shown)."""
    run = run_once(command, args)
    if run["status"] != 0:
        say(
            f"  {label} (run {k + 1}/{repeats}): FAILED, status {run['status']}: "
            + " ".join(run["argv"])
        )
        say(f"    {run['error']}")
        return None
    bench = run["summary"].get("bench_time_s")
    extra = f", bench time {bench:.1f} s" if bench is not None else ""
    say(f"  {label} (run {k + 1}/{repeats}): {run['wall']:.1f} s, peak {run['mib']:.0f} MiB{extra}")
    return run


def versus(
    base: list[str] | None,
    base_args: list[str],
    this: list[str],
    this_args: list[str],
    repeats: int,
) -> tuple[dict | None, dict | None]:
    """Each command `repeats` times, the baseline first; a failed command is not run again.

    Returns for each the run of the best time, with the largest memory of its runs (None if it
    failed or, for the baseline, if there is none).
    """
    runs: dict[str, list[dict]] = {"baseline": [], "this": []}
    failed = {"baseline": base is None, "this": False}
    for k in range(repeats):
        for label, command, args in (("baseline", base, base_args), ("this", this, this_args)):
            if failed[label]:
                continue
            run = timed(label, command, args, k, repeats)
            if run is None:
                failed[label] = True
            else:
                runs[label].append(run)
    best = []
    for label in ("baseline", "this"):
        if failed[label]:
            best.append(None)
            continue
        run = dict(min(runs[label], key=lambda run: run["wall"]))
        run["mib"] = max(r["mib"] for r in runs[label])
        best.append(run)
    return best[0], best[1]


def cell_time(run: dict | None) -> str:
    return f"{run['wall']:.1f} s" if run else "failed"


def cell_mib(run: dict | None) -> str:
    return f"{run['mib']:.0f} MiB" if run else "-"


def cell_bench(run: dict | None) -> tuple[str, str]:
    bench = run["summary"].get("bench_time_s") if run else None
    if bench is None:
        return "-", "-"
    return f"{bench:.1f} s", f"{bench / run['wall']:.1f}"


def speed_up(base: dict | None, this: dict | None) -> str:
    if base is None or this is None:
        return "-"
    return f"{base['wall'] / this['wall']:.2f}x"


def bench_file_for(base_help: str, tmp: Path) -> Path:
    """The emulated bench file as the baseline reads it: the die the file names as ``kind`` was
    called ``default`` before that name changed, so an older install whose help does not list
    ``kind`` gets a copy naming it so (the same die)."""
    if "kind" in base_help:
        return BENCH_FILE
    copy = tmp / BENCH_FILE.name
    copy.write_text(BENCH_FILE.read_text().replace("preset: kind", "preset: default"))
    return copy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", required=True, help="virtualenv folder of the older mtjlab")
    parser.add_argument("--solutions", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=1, help="runs of each command; best time")
    parser.add_argument("--skip-dry-run", action="store_true", help="leave out case 3")
    args = parser.parse_args()

    baseline_script = Path(args.baseline) / "bin" / "mtjlab"
    if not baseline_script.exists():
        print(f"bench_versus.py: error: {baseline_script} does not exist", file=sys.stderr)
        sys.exit(2)
    base = [str(baseline_script.resolve())]
    this = this_install()
    n = str(args.solutions)
    say(f"baseline:     {' '.join(base)} ({version(base)})")
    say(f"this install: {' '.join(this)} ({version(this)})")
    say(f"{args.solutions} solutions, best of {args.repeats} run(s), baseline first")

    base_help = reproduce_help(base)
    this_case1 = ["reproduce", "--solutions", n, "--chip", "kind", "--inputs", "signed"]
    if "--inputs" in base_help:
        chip = "kind" if "kind" in base_help else "default"
        base_case1 = ["reproduce", "--solutions", n, "--chip", chip, "--inputs", "signed"]
        say(f"the baseline's reproduce has --inputs: it runs with --chip {chip} --inputs signed")
    else:
        base_case1 = ["reproduce", "--solutions", n]
        say("the baseline's reproduce has no --inputs: it runs with its defaults")

    rows = []  # (case, baseline run, this run, whether the baseline runs the case)
    say()
    say("1. reproduce, the baseline's defaults")
    b1, t1 = versus(base, base_case1, this, this_case1, args.repeats)
    rows.append(("reproduce, the baseline's defaults", b1, t1, True))

    say()
    say("2. reproduce, each install's defaults (this one: sized die, unsigned inputs)")
    _, t2 = versus(None, [], this, ["reproduce", "--solutions", n], args.repeats)
    # The baseline's time is its case 1 run: its defaults (other work than this install's).
    rows.append(("reproduce, each install's defaults (baseline: case 1)", b1, t2, True))

    if not args.skip_dry_run:
        say()
        say(f"3. dry run: reproduce --bench {BENCH_FILE.name} --solutions 1")
        dry = ["reproduce", "--bench", str(BENCH_FILE), "--solutions", "1"]
        with tempfile.TemporaryDirectory() as tmp:
            base_dry = ["reproduce", "--bench", str(bench_file_for(base_help, Path(tmp))),
                        "--solutions", "1"]  # fmt: skip
            b3, t3 = versus(base, base_dry, this, dry, args.repeats)
        rows.append(("dry run (emulated bench)", b3, t3, True))

    say()
    say("Accuracy (fraction of the test split) and weight fidelity, from summary.json:")
    say()
    say(
        "| key | baseline, its defaults | this, --chip kind --inputs signed "
        "| this, its defaults (sized, unsigned) |"
    )
    say("|---|---|---|---|")
    for key in METRICS:
        cells = []
        for run in (b1, t1, t2):
            value = run["summary"].get(key) if run else None
            cells.append(f"{value:.4f}" if isinstance(value, (int, float)) else "-")
        say(f"| {key} | {' | '.join(cells)} |")

    say()
    say(
        "| case | baseline time | this install time | speed-up (baseline / this) "
        "| peak memory baseline | peak memory this | bench time baseline | bench time this "
        "| bench / wall baseline | bench / wall this |"
    )
    say("|---|---|---|---|---|---|---|---|---|---|")
    for case, b, t, has_baseline in rows:
        bench_b, ratio_b = cell_bench(b)
        bench_t, ratio_t = cell_bench(t)
        base_time = cell_time(b) if has_baseline else "n/a"
        base_mib = cell_mib(b) if has_baseline else "n/a"
        say(
            f"| {case} | {base_time} | {cell_time(t)} | {speed_up(b, t)} | {base_mib} "
            f"| {cell_mib(t)} | {bench_b} | {bench_t} | {ratio_b} | {ratio_t} |"
        )
    say()
    for case, b, t, has_baseline in rows:
        if not has_baseline:
            say(f"{case}: no baseline, this install {cell_time(t)}")
        elif b is None or t is None:
            failed = "baseline" if b is None else "this install"
            say(f"{case}: no speed-up, the {failed} failed")
        else:
            say(f"{case}: speed-up {speed_up(b, t)}")


if __name__ == "__main__":
    main()
