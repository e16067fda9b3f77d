"""The measuring commands of ``mtjlab`` (read, write, characterize) and the run-store commands
(runs list, show, export, resume): arguments checked here, before anything is written or measured.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from mtjlab import report
from mtjlab.bench.description import BenchDescription, FileBench, SimBench
from mtjlab.bench.session import connect
from mtjlab.cli.progress import ProgressView
from mtjlab.core.limits import Limits
from mtjlab.core.patterns import PATTERN_KINDS, load_pattern, make_pattern
from mtjlab.core.schemes import READ_BIASES, WRITE_SCHEMES
from mtjlab.protocols.write import (
    DEFAULT_RAMP_AP_TO_P,
    DEFAULT_RAMP_P_TO_AP,
    WRITE_ORDERS,
    place_pattern,
)
from mtjlab.runs.registry import experiment
from mtjlab.runs.store import STORE_FORMATS, RunStore

SHAPE = (15, 15)
N_ARRAYS = 5


class UsageError(ValueError):
    """A command-line value that cannot be used; reported in one line with exit status 2."""


# -- argument types -----------------------------------------------------------------------------


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {value}")
    return value


def positive_int(text: str) -> int:
    value = non_negative_int(text)
    if value == 0:
        raise argparse.ArgumentTypeError("expected a whole number >= 1, got 0")
    return value


def volts(text: str) -> float:
    try:
        value = float(text.strip().removesuffix("V").removesuffix("v"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a voltage in volts, got {text!r}") from None
    if not np.isfinite(value) or value == 0:
        raise argparse.ArgumentTypeError(f"expected a finite, non-zero voltage, got {text!r}")
    return value


_TIME_UNITS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def seconds(text: str) -> float:
    """A duration: a number of seconds, or with a unit (100ns, 1us, 2ms)."""
    t = text.strip()
    scale = 1.0
    for unit in ("ns", "us", "ms", "s"):
        if t.endswith(unit):
            t, scale = t[: -len(unit)], _TIME_UNITS[unit]
            break
    try:
        value = float(t) * scale
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a duration such as 100e-9 or 100ns, got {text!r}"
        ) from None
    if not (np.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a duration > 0, got {text!r}")
    return value


def fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 1, got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 1, got {text!r}")
    return value


def resistance(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a resistance in ohms, got {text!r}") from None
    if not (np.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a resistance > 0 ohms, got {text!r}")
    return value


def cell(text: str) -> tuple[int, int]:
    parts = text.split(",")
    try:
        row, col = (int(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected ROW,COL such as 3,4, got {text!r}") from None
    if row < 0 or col < 0:
        raise argparse.ArgumentTypeError(f"expected ROW,COL >= 0, got {text!r}")
    return row, col


def ramp(text: str) -> tuple[float, float, float]:
    parts = text.split(",")
    try:
        start, step, stop = (float(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected START,STEP,STOP in volts such as 0.65,0.05,0.75, got {text!r}"
        ) from None
    if not (0 < start <= stop and step >= 0 and np.isfinite([start, step, stop]).all()):
        raise argparse.ArgumentTypeError(f"expected 0 < START <= STOP and STEP >= 0, got {text!r}")
    return start, step, stop


def array_list(text: str) -> list[int] | None:
    """Array indices such as 0,2,4; None for 'all' (every array the bench reaches). Which
    indices exist is the bench's to say (a bench file wires its own), checked once it is read."""
    if text == "all":
        return None
    try:
        arrays = sorted({int(p) for p in text.split(",")})
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected array indices such as 0,2,4 or 'all', got {text!r}"
        ) from None
    if arrays[0] < 0:
        raise argparse.ArgumentTypeError(f"array {arrays[0]} is out of range: indices are >= 0")
    return arrays


def amplitude_grid(text: str) -> list[float]:
    """START:STOP:STEP in volts, both ends included."""
    try:
        start, stop, step = (float(p) for p in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected START:STOP:STEP in volts such as 0.40:0.60:0.01, got {text!r}"
        ) from None
    if not (0 < start < stop and step > 0 and np.isfinite([start, stop, step]).all()):
        raise argparse.ArgumentTypeError(f"expected 0 < START < STOP and STEP > 0, got {text!r}")
    n = int(np.floor((stop - start) / step + 1e-9)) + 1
    if n > 200:
        raise argparse.ArgumentTypeError(f"{text!r} makes {n} amplitudes; at most 200")
    return [round(start + k * step, 9) for k in range(n)]


def width_list(text: str) -> list[float]:
    widths = [seconds(p) for p in text.split(",")]
    return sorted(set(widths))


def chip_change(text: str) -> tuple[str, float]:
    """FIELD=VALUE for a numeric ChipSpec field."""
    name, sep, value = text.partition("=")
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not sep or not name.strip() or not np.isfinite(number):
        raise argparse.ArgumentTypeError(f"expected FIELD=NUMBER such as r_row_ohm=0, got {text!r}")
    return name.strip(), number


def array_index(text: str) -> int:
    """One array index (>= 0); whether the bench has it is checked once it is read."""
    arrays = array_list(text)
    if arrays is None or len(arrays) != 1:
        raise argparse.ArgumentTypeError(f"expected one array index such as 1, got {text!r}")
    return arrays[0]


# -- shared options -----------------------------------------------------------------------------


def _add_bench(p: argparse.ArgumentParser, *, many_arrays: bool = False) -> None:
    p.add_argument(
        "--bench",
        type=Path,
        metavar="FILE",
        help="a bench file (docs/bench.md; examples/ has the emulated and a real one): the run "
        "drives its instruments, and on an emulated bench reports the bench time it would take "
        "(default: the built-in simulated chip)",
    )
    p.add_argument(
        "--seed",
        type=non_negative_int,
        default=0,
        help="seed of the simulated chip: the same seed is the same chip (default 0)",
    )
    if many_arrays:
        p.add_argument(
            "--arrays",
            type=array_list,
            default=None,
            help="arrays to characterize, such as 0,2,4, or 'all' (default all; with --bench, "
            "the wired ones)",
        )
    else:
        p.add_argument(
            "--array",
            type=array_index,
            default=1,
            help=f"which array: of the simulated die, 0 to {N_ARRAYS - 1} (default 1, the 50 nm "
            "devices); with --bench, one the file wires",
        )


def _add_output(p: argparse.ArgumentParser, kind: str) -> None:
    p.add_argument(
        "--store",
        type=Path,
        help="SQLite run store to append this run to (created if absent; default runs.db "
        "in the output folder)",
    )
    p.add_argument(
        "--out",
        type=Path,
        help=f"folder for figures and summary.json (default mtjlab-{kind}-DATE-TIME)",
    )


def _add_write_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("write-verify")
    g.add_argument(
        "--scheme", choices=WRITE_SCHEMES, default="v/2", help="half-select scheme (default v/2)"
    )
    g.add_argument(
        "--width",
        type=seconds,
        default=100e-9,
        dest="width_s",
        help="pulse width: seconds, or with ns/us/ms (default 100ns)",
    )
    g.add_argument(
        "--p-to-ap",
        type=ramp,
        default=_ramp_values(DEFAULT_RAMP_P_TO_AP),
        metavar="START,STEP,STOP",
        help="amplitude ramp of P->AP pulses in volts (default 0.65,0.05,0.75)",
    )
    g.add_argument(
        "--ap-to-p",
        type=ramp,
        default=_ramp_values(DEFAULT_RAMP_AP_TO_P),
        metavar="START,STEP,STOP",
        help="amplitude ramp of AP->P pulses in volts (default 0.50,0.05,0.55)",
    )
    g.add_argument(
        "--max-attempts",
        type=positive_int,
        default=6,
        help="pulses a cell may get before it is reported stuck (default 6)",
    )
    g.add_argument(
        "--max-passes", type=positive_int, default=12, help="verify passes at most (default 12)"
    )
    g.add_argument(
        "--order", choices=WRITE_ORDERS, default="row-major", help="pulse order (default row-major)"
    )
    g.add_argument(
        "--v-read",
        type=volts,
        default=0.1,
        dest="v_read_v",
        help="verify read voltage in volts (default 0.1)",
    )


def _write_params(args: argparse.Namespace) -> dict:
    return {
        "scheme": args.scheme,
        "width_s": args.width_s,
        "ramp_p_to_ap": list(args.p_to_ap),
        "ramp_ap_to_p": list(args.ap_to_p),
        "max_attempts": args.max_attempts,
        "max_passes": args.max_passes,
        "order": args.order,
        "v_read_v": args.v_read_v,
    }


def _bench(args: argparse.Namespace) -> tuple[BenchDescription, Limits]:
    """The bench a command runs on (a bench file, or the built-in simulated chip) and its
    limits; the array(s) asked for are checked to be on it."""
    bench = FileBench.read(args.bench) if args.bench is not None else SimBench(args.seed)
    if hasattr(args, "arrays"):
        args.arrays = _arrays_on(bench, args.arrays, args.bench)
    else:
        _arrays_on(bench, [args.array], args.bench)
    return bench, bench.limits()


def _arrays_on(
    bench: BenchDescription, asked: list[int] | None, bench_file: Path | None
) -> list[int]:
    """The arrays asked for (every array the bench reaches if None), each checked to be on
    the bench: a bench file's wired arrays, or the simulated chip's."""
    reachable = bench.arrays()
    if asked is None:
        return reachable
    missing = sorted(set(asked) - set(reachable))
    if missing:
        where = f"bench {bench_file}" if bench_file is not None else "the simulated chip"
        raise UsageError(f"array(s) {missing} are not on {where}; it has {reachable}")
    return asked


def _check_write_params(write: dict, limits: Limits) -> None:
    limits.check_read(write["v_read_v"])
    for key in ("ramp_p_to_ap", "ramp_ap_to_p"):
        limits.check_pulse(write[key][2], write["width_s"])


# -- parser -------------------------------------------------------------------------------------


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add read, write, characterize and runs to the ``mtjlab`` parser."""
    read = sub.add_parser(
        "read",
        help="read an array: resistance map, P/AP/open/short states, figures",
        description="Read every cell of one array with the unselected lines biased as asked, "
        "classify each cell (the P/AP threshold comes from the map's own two populations) and "
        "save the resistance and state maps.",
    )
    _add_bench(read)
    read.add_argument(
        "--v-read", type=volts, default=0.1, dest="v_read_v", help="read voltage (default 0.1)"
    )
    read.add_argument(
        "--bias",
        choices=READ_BIASES,
        default="grounded",
        help="unselected lines (default grounded)",
    )
    read.add_argument(
        "--threshold-ohm",
        type=resistance,
        help="P/AP threshold, for an array that shows one state only",
    )
    _add_output(read, "read")
    read.set_defaults(handler=_cmd_read)

    write = sub.add_parser(
        "write",
        help="write a pattern file into an array with write-verify",
        description="Write a pattern (CSV of 0/1 or P/AP, one array row per line) into an array "
        "with write-verify and report the write fidelity, the pulses used and the cells given up.",
    )
    write.add_argument("pattern", type=Path, help="pattern file (CSV of 0/1 or P/AP)")
    _add_bench(write)
    write.add_argument(
        "--offset",
        type=cell,
        metavar="ROW,COL",
        help="write the pattern as a block with its first cell here; without --offset the "
        "pattern must cover the whole array",
    )
    _add_write_options(write)
    _add_output(write, "write")
    write.set_defaults(handler=_cmd_write)

    char = sub.add_parser("characterize", help="unattended characterization runs")
    char_sub = char.add_subparsers(dest="what", required=True, metavar="WHAT")
    fid = char_sub.add_parser(
        "fidelity",
        help="write many patterns into one or many arrays; fidelity statistics",
        description="Write random and fixed patterns into each array with write-verify, "
        "unattended and resumable; per-array and per-cell statistics: fidelity, P->AP and AP->P "
        "error rates, disturbed neighbours, stuck cells.",
    )
    _add_bench(fid, many_arrays=True)
    fid.add_argument(
        "--patterns",
        type=non_negative_int,
        default=2,
        help="number of random patterns (default 2)",
    )
    fid.add_argument(
        "--ap-fraction",
        type=fraction,
        default=0.5,
        help="fraction of AP cells in the random patterns (default 0.5)",
    )
    fid.add_argument(
        "--fixed",
        default="checkerboard,all-AP",
        help="fixed patterns, comma separated, from "
        f"{', '.join(k for k in PATTERN_KINDS if k != 'random')}; 'none' for none "
        "(default checkerboard,all-AP)",
    )
    fid.add_argument(
        "--pattern-file",
        type=Path,
        action="append",
        default=[],
        help="a pattern file to add (repeatable)",
    )
    _add_write_options(fid)
    _add_output(fid, "fidelity")
    fid.set_defaults(handler=_cmd_fidelity)

    sw = char_sub.add_parser(
        "switching",
        help="switching probability versus pulse amplitude and width; thermal-activation fit",
        description="For each cell and direction: calibrate the cell's two states, then N "
        "trials per amplitude and width (reset, pulse, read), in a shuffled order; fit the "
        "Neel-Brown model to give the cell's critical voltage and thermal stability factor, "
        "each with its 1-sigma error.",
    )
    _add_bench(sw)
    sw.add_argument(
        "--cells",
        type=cell,
        nargs="+",
        default=[(7, 7)],
        metavar="ROW,COL",
        help="cells to measure (default 7,7)",
    )
    sw.add_argument(
        "--direction",
        choices=("both", "P->AP", "AP->P"),
        default="both",
        help="switching to measure (default both)",
    )
    sw.add_argument(
        "--p-to-ap-amplitudes",
        type=amplitude_grid,
        default=amplitude_grid("0.40:0.60:0.01"),
        metavar="START:STOP:STEP",
        help="P->AP pulse amplitudes in volts (default 0.40:0.60:0.01)",
    )
    sw.add_argument(
        "--ap-to-p-amplitudes",
        type=amplitude_grid,
        default=amplitude_grid("0.28:0.45:0.01"),
        metavar="START:STOP:STEP",
        help="AP->P pulse amplitudes in volts (default 0.28:0.45:0.01)",
    )
    sw.add_argument(
        "--widths",
        type=width_list,
        default=[100e-9, 1e-6],
        help="pulse widths, comma separated (default 100ns,1us)",
    )
    sw.add_argument("--trials", type=positive_int, default=20, help="trials per point (default 20)")
    sw.add_argument(
        "--reset-amplitude",
        type=volts,
        dest="reset_amplitude_v",
        help="amplitude of the reset pulse before each trial (default: the write-verify ramp's "
        "top, 0.55 V to reset to P and 0.75 V to reset to AP, which switch every working cell "
        "while sparing most neighbours under V/2)",
    )
    sw.add_argument(
        "--scheme", choices=WRITE_SCHEMES, default="v/2", help="half-select scheme (default v/2)"
    )
    sw.add_argument(
        "--barrier-exponent",
        type=float,
        default=1.0,
        metavar="N",
        help="exponent n of the barrier Delta (1 - V/Vc0)^n the fit assumes, 1 to 3 (default 1; "
        "about 2 is measured on many junctions, see docs/device-model.md)",
    )
    _add_output(sw, "switching")
    sw.set_defaults(handler=_cmd_switching)

    rv = char_sub.add_parser(
        "rv",
        help="resistance versus pulse amplitude loop of a device; its switching voltages",
        description="Sweep the write-pulse amplitude 0 -> +max -> 0 -> -max -> 0 on each cell, "
        "with a low-bias grounded read after every pulse, and report the switching voltages.",
    )
    _add_bench(rv)
    rv.add_argument(
        "--cells",
        type=cell,
        nargs="+",
        default=[(7, 7)],
        metavar="ROW,COL",
        help="cells to sweep (default 7,7)",
    )
    rv.add_argument(
        "--max-amplitude",
        type=volts,
        default=0.8,
        dest="max_amplitude_v",
        help="largest amplitude of either polarity in volts (default 0.8)",
    )
    rv.add_argument(
        "--step", type=volts, default=0.02, dest="step_v", help="amplitude step (default 0.02)"
    )
    rv.add_argument(
        "--width",
        type=seconds,
        default=100e-9,
        dest="width_s",
        help="pulse width (default 100ns)",
    )
    rv.add_argument("--cycles", type=positive_int, default=2, help="loops per cell (default 2)")
    rv.add_argument(
        "--scheme", choices=WRITE_SCHEMES, default="v/2", help="half-select scheme (default v/2)"
    )
    _add_output(rv, "rv")
    rv.set_defaults(handler=_cmd_rv)

    rep = sub.add_parser(
        "reproduce",
        help="the reference experiment: binary neural networks for Wine written, read and scored",
        description="Train distinct binary 13-7-3 networks for scikit-learn's Wine data, write "
        "each hidden layer into a 15x15 array with write-verify (weights as differential column "
        "pairs), read it back, run the test split through the array as row voltages, tune each "
        "hidden unit's gain, offset and threshold on the training split, and score accuracy and "
        "write fidelity; summary.json, figures and report.html in the output folder.",
    )
    rep.add_argument(
        "--solutions", type=positive_int, default=300, help="binary solutions (default 300)"
    )
    rep.add_argument(
        "--seed",
        type=non_negative_int,
        default=0,
        help="seed of the chip, the train/test split and the training (default 0)",
    )
    rep.add_argument(
        "--chip",
        default="default",
        metavar="PRESET",
        help="simulated chip preset: default, ideal or reference (default 'default'; see "
        "docs/device-model.md)",
    )
    rep.add_argument(
        "--arrays",
        type=array_list,
        default=None,
        help="arrays the solutions are written into in turn (default all)",
    )
    rep.add_argument(
        "--chip-set",
        type=chip_change,
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="change one field of the chip preset, such as r_row_ohm=0 or p_open=0.01 "
        "(repeatable; fields in docs/device-model.md)",
    )
    rep.add_argument(
        "--v-in",
        type=volts,
        default=0.1,
        dest="v_in_v",
        help="row voltage of an input of 1 (default 0.1 V, inside the read limit)",
    )
    rep.add_argument(
        "--output-layer",
        choices=("software", "array"),
        default="software",
        help="where the 7x3 output layer runs: in software on the measured hidden signs, or "
        "written into a second array, the hidden signs driving its rows (arrays taken in pairs "
        "from --arrays; default software)",
    )
    rep.add_argument(
        "--train-fault-rate",
        type=fraction,
        default=0.0,
        metavar="P",
        help="statistics-aware training: each epoch, lose each hidden weight with probability P "
        "(as a pair with a defect device reads), so solutions do not lean on single weights "
        "(default 0)",
    )
    rep.add_argument(
        "--statistics-aware",
        action="store_true",
        help="statistics-aware training: each epoch, the hidden weights as pairs drawn from the "
        "chip preset's device statistics would hold them (resistance and TMR spread, stuck and "
        "open devices)",
    )
    rep.add_argument(
        "--defect-aware",
        action="store_true",
        help="place each layer so the defects its array's earlier writes showed (stuck, open, "
        "short cells) cost the fewest weights, using the spare rows and any column pair",
    )
    rep.add_argument(
        "--workers",
        type=positive_int,
        default=None,
        help="processes writing arrays side by side, each array's solutions in order in one "
        "of them; the results are those of one process (default: 2, or 1 on one core; 1 with "
        "--bench, whose instruments one process drives)",
    )
    rep.add_argument(
        "--bench",
        type=Path,
        metavar="FILE",
        help="a bench file (docs/bench.md): the solutions are written, read and scored through "
        "its instruments and the arrays it wires (--arrays among them), and on an emulated bench "
        "the run reports the bench time it would take; --chip and --chip-set describe the "
        "built-in simulated chip, the file its own (default: the built-in simulated chip)",
    )
    _add_output(rep, "reproduce")
    rep.set_defaults(handler=_cmd_reproduce)

    bench = sub.add_parser("bench", help="check a bench file's instruments and wiring")
    bench_sub = bench.add_subparsers(dest="bench_command", required=True, metavar="ACTION")
    bench_check = bench_sub.add_parser(
        "check",
        help="connect, identify each instrument, switch every crosspoint of the wiring",
        description="Load the bench file (errors name the file, key and value), connect to "
        "every instrument and ask it what it is, then with every source off close each "
        "terminal onto every pad of each wired array, read the matrix back and open it. "
        "Exit status 1 if anything failed.",
    )
    bench_check.add_argument(
        "--bench",
        type=Path,
        metavar="FILE",
        help="the bench file (default: the built-in emulated bench)",
    )
    bench_check.set_defaults(handler=_cmd_bench_check)

    runs = sub.add_parser("runs", help="list, show, export and resume the runs of a store")
    runs_sub = runs.add_subparsers(dest="runs_command", required=True, metavar="ACTION")
    for name, text in (
        ("list", "list the runs of a store"),
        ("show", "show one run: parameters, status, records, results"),
        ("export", "export one run's records, one row per record"),
        ("resume", "go on with an interrupted run where it stopped"),
    ):
        p = runs_sub.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".")
        if name != "list":
            p.add_argument("run_id", type=positive_int, metavar="ID", help="run id")
        p.add_argument("--store", type=Path, required=True, help="the run store (SQLite file)")
        if name == "export":
            p.add_argument("--format", choices=STORE_FORMATS, default="csv", dest="fmt")
            p.add_argument(
                "--out", type=Path, help="file to write (default run-ID.csv/.parquet/.nc)"
            )
        p.set_defaults(handler=_RUNS_HANDLERS[name])


# -- measuring commands -------------------------------------------------------------------------


def _out_and_store(args: argparse.Namespace, kind: str) -> tuple[Path, Path]:
    out = args.out or Path(f"mtjlab-{kind}-{time.strftime('%Y%m%d-%H%M%S')}")
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: exists and is not a folder")
    if not out.parent.is_dir():
        raise UsageError(f"--out {out}: {out.parent} is not an existing folder")
    if not os.access(out if out.exists() else out.parent, os.W_OK):
        raise UsageError(f"--out {out}: not writable")
    out = out.resolve()
    store = args.store or out / "runs.db"
    if args.store is not None and not args.store.parent.is_dir():
        raise UsageError(f"--store {args.store}: folder {args.store.parent} does not exist")
    return out, store


def _open_store(path: Path, out: Path) -> RunStore:
    if not path.exists() and path.parent == out:
        out.mkdir(parents=True, exist_ok=True)
    return RunStore(path)


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (a scheduler, a closed session) ends a run as Ctrl-C does: through every ``with``
    block, so the array reaches its safe state and the run is marked interrupted."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run(kind: str, params: dict, store_path: Path, out: Path) -> int:
    from mtjlab.runs import engine as runs

    view = ProgressView()
    store = _open_store(store_path, out)
    run_id = None
    try:
        with _terminate_as_interrupt(), store:
            run_id = runs.create(store, kind, params)
            print(f"run {run_id} in {store_path} ({kind}), outputs in {out}", file=sys.stderr)
            summary = runs.execute(store, run_id, progress=view)
    except KeyboardInterrupt:
        view.close()
        print(
            f"\ninterrupted: run {run_id} is kept in {store_path}; go on with "
            f"`mtjlab runs resume {run_id} --store {store_path}`",
            file=sys.stderr,
        )
        return 130
    finally:
        view.close()
    print_summary(summary)
    return 0


def _cmd_read(args: argparse.Namespace) -> int:

    bench, limits = _bench(args)
    limits.check_read(args.v_read_v)
    out, store = _out_and_store(args, "read")
    params = {
        "bench": bench.as_params(),
        "array": args.array,
        "v_read_v": args.v_read_v,
        "bias": args.bias,
        "threshold_ohm": args.threshold_ohm,
        "out": str(out),
    }
    return _run("read", params, store, out)


def _cmd_write(args: argparse.Namespace) -> int:

    if args.offset is None:
        target = load_pattern(args.pattern, SHAPE)
    else:
        target = place_pattern(load_pattern(args.pattern), SHAPE, args.offset)
    write = _write_params(args)
    bench, limits = _bench(args)
    _check_write_params(write, limits)
    out, store = _out_and_store(args, "write")
    params = {
        "bench": bench.as_params(),
        "array": args.array,
        "pattern_file": str(args.pattern),
        "offset": list(args.offset) if args.offset else None,
        "target": target.tolist(),
        "write": write,
        "out": str(out),
    }
    return _run("write", params, store, out)


def _cmd_fidelity(args: argparse.Namespace) -> int:

    fixed = [] if args.fixed.strip() == "none" else [k.strip() for k in args.fixed.split(",")]
    for kind in fixed:
        if kind not in PATTERN_KINDS or kind == "random":
            raise UsageError(
                f"--fixed: unknown pattern {kind!r}; expected any of "
                f"{', '.join(k for k in PATTERN_KINDS if k != 'random')} or 'none'"
            )
    patterns = [
        {
            "name": f"random-{k}",
            "cells": make_pattern(
                "random",
                SHAPE,
                ap_fraction=args.ap_fraction,
                rng=np.random.default_rng([args.seed, k]),
            ).tolist(),
        }
        for k in range(args.patterns)
    ]
    patterns += [{"name": k, "cells": make_pattern(k, SHAPE).tolist()} for k in fixed]
    patterns += [
        {"name": str(f), "cells": load_pattern(f, SHAPE).tolist()} for f in args.pattern_file
    ]
    if not patterns:
        raise UsageError("no patterns: give --patterns N, --fixed or --pattern-file")
    write = _write_params(args)
    bench, limits = _bench(args)
    _check_write_params(write, limits)
    out, store = _out_and_store(args, "fidelity")
    params = {
        "bench": bench.as_params(),
        "arrays": args.arrays,
        "patterns": patterns,
        "write": write,
        "out": str(out),
    }
    return _run("fidelity", params, store, out)


def _check_cells(cells: list[tuple[int, int]]) -> list[list[int]]:
    for row, col in cells:
        if row >= SHAPE[0] or col >= SHAPE[1]:
            raise UsageError(
                f"--cells {row},{col}: out of range; the array has rows and columns 0 to "
                f"{SHAPE[0] - 1}"
            )
    return [list(c) for c in dict.fromkeys(cells)]


def _ramp_values(ramp) -> tuple[float, float, float]:
    return ramp.start_v, ramp.step_v, ramp.stop_v


def _cmd_reproduce(args: argparse.Namespace) -> int:
    from mtjlab.analysis.network import BinaryNet, train_binary_networks, wine_split

    if args.bench is None:
        bench = SimBench(args.seed, args.chip, dict(args.chip_set))
        workers = args.workers or min(2, os.cpu_count() or 1)
    else:
        if args.chip != "default" or args.chip_set:
            raise UsageError(
                "--chip and --chip-set describe the built-in simulated chip; with --bench the "
                "bench file says what is behind its matrix"
            )
        if args.workers not in (None, 1):
            raise UsageError(
                f"--workers {args.workers}: a bench's instruments are driven by one process"
            )
        bench = FileBench.read(args.bench)
        workers = 1
        if args.statistics_aware and bench.seed is None:
            raise UsageError(
                "--statistics-aware draws from the simulated chip's device statistics; "
                f"bench {args.bench} is a real bench, whose statistics mtjlab does not know"
            )
    args.arrays = _arrays_on(bench, args.arrays, args.bench)
    limits = bench.limits()
    limits.check_read(args.v_in_v, "input voltage --v-in")
    write = {
        "ramp_p_to_ap": list(_ramp_values(DEFAULT_RAMP_P_TO_AP)),
        "ramp_ap_to_p": list(_ramp_values(DEFAULT_RAMP_AP_TO_P)),
    }
    for ramp_values in write.values():
        limits.check_pulse(ramp_values[2], 100e-9)
    if args.output_layer == "array" and len(args.arrays) < 2:
        raise UsageError(
            f"--output-layer array needs two arrays per solution; --arrays gives {args.arrays}"
        )
    out, store = _out_and_store(args, "reproduce")
    print(f"training binary networks for {args.solutions} solutions ...", file=sys.stderr)
    split = wine_split(args.seed)
    sampler = None
    if args.statistics_aware:
        from mtjlab.sim.statistics import pair_weight_sampler

        sampler = pair_weight_sampler(bench.spec(), args.v_in_v)
    nets: list[BinaryNet] = []
    seen: set[bytes] = set()
    # A few seeds more than solutions, since two seeds can land on the same solution.
    base = args.seed * 1_000_000
    for chunk in range(10):
        start = base + chunk * (args.solutions + 10)
        batch = train_binary_networks(
            split,
            range(start, start + args.solutions + 10),
            weight_fault_rate=args.train_fault_rate,
            weight_sampler=sampler,
        )
        for net in batch:
            form = net.canonical()
            if form not in seen and len(nets) < args.solutions:
                seen.add(form)
                nets.append(net)
        if len(nets) == args.solutions:
            break
    else:
        raise UsageError(f"found only {len(nets)} distinct solutions, not {args.solutions}")
    params = {
        "bench": bench.as_params(),
        "split_seed": args.seed,
        "arrays": args.arrays,
        "v_in_v": args.v_in_v,
        "workers": workers,
        "defect_aware": args.defect_aware,
        "output_layer": args.output_layer,
        "train_fault_rate": args.train_fault_rate,
        "statistics_aware": args.statistics_aware,
        "write": write,
        "networks": [
            {
                "w_hidden": n.w_hidden.tolist(),
                "b_hidden": n.b_hidden.tolist(),
                "w_out": n.w_out.tolist(),
                "b_out": n.b_out.tolist(),
            }
            for n in nets
        ],
        "out": str(out),
    }
    return _run("reproduce", params, store, out)


def _cmd_switching(args: argparse.Namespace) -> int:

    bench, limits = _bench(args)
    directions = ["P->AP", "AP->P"] if args.direction == "both" else [args.direction]
    amplitudes = {"P->AP": args.p_to_ap_amplitudes, "AP->P": args.ap_to_p_amplitudes}
    # Measuring P->AP resets to P with an AP->P pulse, and the other way round.
    reset = {
        "P->AP": args.reset_amplitude_v or DEFAULT_RAMP_AP_TO_P.stop_v,
        "AP->P": args.reset_amplitude_v or DEFAULT_RAMP_P_TO_AP.stop_v,
    }
    for d in directions:
        for w in args.widths:
            limits.check_pulse(max(amplitudes[d]), w)
        limits.check_pulse(reset[d], 100e-9)
    if not 1.0 <= args.barrier_exponent <= 3.0:  # also NaN
        raise UsageError(f"--barrier-exponent {args.barrier_exponent:g}: expected 1 to 3")
    out, store = _out_and_store(args, "switching")
    params = {
        "bench": bench.as_params(),
        "array": args.array,
        "cells": _check_cells(args.cells),
        "directions": directions,
        "amplitudes_v": {d: amplitudes[d] for d in directions},
        "widths_s": args.widths,
        "trials": args.trials,
        "reset_amplitude_v": {d: reset[d] for d in directions},
        "scheme": args.scheme,
        "barrier_exponent": args.barrier_exponent,
        "out": str(out),
    }
    return _run("switching", params, store, out)


def _cmd_rv(args: argparse.Namespace) -> int:

    bench, limits = _bench(args)
    limits.check_pulse(args.max_amplitude_v, args.width_s)
    if not 0 < args.step_v <= args.max_amplitude_v:
        raise UsageError(f"--step {args.step_v:g}: expected 0 < step <= --max-amplitude")
    out, store = _out_and_store(args, "rv")
    params = {
        "bench": bench.as_params(),
        "array": args.array,
        "cells": _check_cells(args.cells),
        "max_amplitude_v": args.max_amplitude_v,
        "step_v": args.step_v,
        "width_s": args.width_s,
        "cycles": args.cycles,
        "scheme": args.scheme,
        "out": str(out),
    }
    return _run("rv", params, store, out)


# -- summaries ----------------------------------------------------------------------------------


def print_summary(summary: dict) -> None:
    """The end-of-run table of a summary, then where its files are."""
    if "bench_time_s" in summary:
        print(
            f"emulated bench: {summary['bench_time_s']:.1f} s of bench time, "
            f"{summary['round_trips']} commands"
        )
    for line in experiment(summary["kind"]).text(summary):
        print(line)
    for name, cells in summary.get("stuck", {}).items():
        for s in cells:
            print(f"array {name} cell ({s['row']}, {s['col']}): {s['reason']}")
    for f in summary.get("figures", []):
        print(f"figure: {f}")
    print(f"run {summary['run']} in {summary['store']}")


# -- runs ---------------------------------------------------------------------------------------


def _cmd_bench_check(args: argparse.Namespace) -> int:
    from mtjlab.bench import drivers as bench_use
    from mtjlab.bench.file import builtin_bench_path, load_bench

    bench = load_bench(args.bench or builtin_bench_path())
    drivers, emulated = connect(bench)
    rows = bench_use.check(bench, drivers)
    print(f"bench {bench.name!r} ({bench.kind}, {bench.source})")
    print(
        report.format_table(
            ["", "what", "result", "ok"],
            [[r.item, r.detail, r.result, "yes" if r.ok else "NO"] for r in rows],
            label_column=True,
        )
    )
    print(f"read biases: {', '.join(bench.read_schemes) or 'none'}; "
          f"write schemes: {', '.join(bench.write_schemes) or 'none'}")  # fmt: skip
    if emulated is not None:
        print(
            f"emulated: chip {emulated.chip.seed}, {emulated.round_trips()} commands, "
            f"{emulated.clock.now_s:.2f} s of bench time"
        )
    return 0 if all(r.ok for r in rows) else 1


def _existing_store(path: Path) -> RunStore:
    if not path.exists():
        raise UsageError(f"--store {path}: no such file")
    return RunStore(path)


def _cmd_runs_list(args: argparse.Namespace) -> int:
    with _existing_store(args.store) as store:
        infos = store.runs()
    if not infos:
        print(f"no runs in {args.store}")
        return 0
    rows = [
        [
            i.id,
            i.kind,
            i.status,
            i.started[:19],
            (i.ended or "")[:19],
            i.seed,
            i.units_done,
            i.n_records,
        ]
        for i in infos
    ]
    print(
        report.format_table(
            ["id", "kind", "status", "started", "ended", "seed", "units", "records"], rows
        )
    )
    return 0


def _cmd_runs_show(args: argparse.Namespace) -> int:
    with _existing_store(args.store) as store:
        info = store.run(args.run_id)
        results = store.unit_results(args.run_id)
    bulky = ("patterns", "target", "networks")
    params = {k: v for k, v in info.parameters.items() if k not in bulky}
    if "patterns" in info.parameters:
        params["patterns"] = [p["name"] for p in info.parameters["patterns"]]
    if "networks" in info.parameters:
        params["networks"] = f"{len(info.parameters['networks'])} binary networks"
    shown = {
        "id": info.id,
        "kind": info.kind,
        "status": info.status,
        "started": info.started,
        "ended": info.ended,
        "seed": info.seed,
        "mtjlab": info.version,
        "records": info.n_records,
        "units_done": info.units_done,
        "parameters": params,
        "limits": info.snapshot.get("limits"),
        "units": {
            name: {k: v for k, v in r.items() if not isinstance(v, list)}
            for name, r in results.items()
        },
    }
    print(json.dumps(shown, indent=2))
    return 0


def _cmd_runs_export(args: argparse.Namespace) -> int:
    suffix = {"csv": ".csv", "parquet": ".parquet", "netcdf": ".nc"}[args.fmt]
    out = args.out or Path(f"run-{args.run_id}{suffix}")
    if out.suffix.lower() != suffix:
        raise UsageError(f"--out {out}: a {args.fmt} export is written to a {suffix} file")
    if not out.parent.is_dir():
        raise UsageError(f"--out {out}: folder {out.parent} does not exist")
    with _existing_store(args.store) as store:
        path = store.export(args.run_id, args.fmt, out)
        n = store.run(args.run_id).n_records
    print(f"{n} records of run {args.run_id} written to {path}")
    return 0


def _cmd_runs_resume(args: argparse.Namespace) -> int:
    from mtjlab.runs import engine as runs

    view = ProgressView()
    with _terminate_as_interrupt(), _existing_store(args.store) as store:
        print(f"resuming run {args.run_id} in {args.store}", file=sys.stderr)
        try:
            summary = runs.resume(store, args.run_id, progress=view)
        except KeyboardInterrupt:
            view.close()
            print(f"\ninterrupted again: run {args.run_id} is kept", file=sys.stderr)
            return 130
        finally:
            view.close()
    print_summary(summary)
    return 0


_RUNS_HANDLERS = {
    "list": _cmd_runs_list,
    "show": _cmd_runs_show,
    "export": _cmd_runs_export,
    "resume": _cmd_runs_resume,
}
