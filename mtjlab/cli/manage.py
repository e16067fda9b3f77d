"""The commands that look after a bench and a run store: ``bench check | instruments | example
| serve`` and ``runs list | show | export | resume``.
"""

from __future__ import annotations

import argparse
import importlib.util
import inspect
import json
import shlex
import sys
import threading
from pathlib import Path

from mtjlab import report
from mtjlab.bench import drivers as bench_use
from mtjlab.bench.emulated import EMULATORS
from mtjlab.bench.file import builtin_bench_path, load_bench, parse_bench_text, read_bench_text
from mtjlab.bench.schema import bench_schema
from mtjlab.bench.serve import MAX_PACE, Fault, ServedBench
from mtjlab.bench.session import connect_reachable
from mtjlab.bench.transcript import TRANSCRIPT_FILE, escaped, read_transcript
from mtjlab.cli.logs import add_log_option
from mtjlab.cli.running import UsageError, existing_store, resume
from mtjlab.instruments.registry import DRIVERS, ROLES, checks_of
from mtjlab.runs.info import RunInfo, planned_units
from mtjlab.runs.store import STORE_FORMATS
from mtjlab.runs.values import (
    NON_NEGATIVE_INT,
    POSITIVE_INT,
)
from mtjlab.sim.limits import chip_limits


def add_manage_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``bench`` and ``runs`` to the ``mtjlab`` parser."""
    bench = sub.add_parser("bench", help="check a bench file's instruments and wiring")
    bench_sub = bench.add_subparsers(dest="bench_command", required=True, metavar="ACTION")
    bench_check = bench_sub.add_parser(
        "check",
        help="connect, identify each instrument, switch every crosspoint of the wiring",
        description="Load the bench file (errors name the file, key and value), connect to "
        "every instrument and ask it what it is, then with every source off close each "
        "terminal onto every pad of each wired array, read the matrix back and open it. "
        "An instrument that cannot be reached is reported and the others are still checked; "
        "nothing is switched onto its terminals. Exit status 1 if anything failed.",
    )
    bench_check.add_argument(
        "--bench",
        type=Path,
        metavar="FILE",
        help="the bench file (default: the built-in emulated bench)",
    )
    bench_check.set_defaults(handler=_cmd_bench_check)
    bench_instruments = bench_sub.add_parser(
        "instruments",
        help="list the instrument models a bench file can name",
        description="List every instrument model mtjlab has a driver for: its name as a bench "
        "file's 'model' spells it, the instrument, the role it can fill, how the file's "
        "'resource' reaches it, and whether an emulated bench can stand it in.",
    )
    bench_instruments.set_defaults(handler=_cmd_bench_instruments)
    top_level = sub.add_parser(
        "instruments",
        help="the instrument models mtjlab drives (as 'bench instruments')",
        description=bench_instruments.description,
    )
    top_level.set_defaults(handler=_cmd_bench_instruments)
    bench_example = bench_sub.add_parser(
        "example",
        help="write an example bench file to start your own from",
        description="Write the example emulated bench file (the built-in emulated bench), or "
        "with --real the example real bench file (a 2636B, a 33522B and a 707B) to edit to "
        "your own bench. An existing file is never overwritten.",
    )
    bench_example.add_argument(
        "--real", action="store_true", help="the real bench example instead of the emulated one"
    )
    bench_example.add_argument(
        "--out",
        type=Path,
        metavar="FILE",
        help="file to write (default: emulated-bench.yaml, or real-bench.yaml with --real, "
        "in the current folder)",
    )
    bench_example.set_defaults(handler=_cmd_bench_example)
    bench_schema_cmd = bench_sub.add_parser(
        "schema",
        help="print the bench file's JSON Schema, for an editor to complete and check it",
        description="Print the JSON Schema of a bench file (draft 2020-12): keys, models and "
        "each driver's options, terminals, limits, timing. Saved beside your bench files and "
        "named on their first line ('# yaml-language-server: $schema=bench.schema.json'), it "
        "lets a YAML editor complete keys and underline mistakes as you type. What depends on "
        "other keys (a terminal's instrument, a pad on the matrix) is checked by 'mtjlab "
        "bench check'.",
    )
    bench_schema_cmd.add_argument(
        "--out", type=Path, metavar="FILE", help="write it to FILE instead of printing it"
    )
    bench_schema_cmd.set_defaults(handler=_cmd_bench_schema)
    bench_serve = bench_sub.add_parser(
        "serve",
        help="serve an emulated bench's instruments on 127.0.0.1 sockets, for any VISA client",
        description="Serve every instrument of an emulated bench file on a TCP socket of its "
        "own on 127.0.0.1, all acting on the bench's one simulated chip: a VISA instrument as "
        "TCPIP0::127.0.0.1::PORT::SOCKET (messages end with LF: set read_termination='\\n'), "
        "the serial matrix as the pyserial URL socket://127.0.0.1:PORT. One client at a time "
        "per socket; a second one waits until the first closes. Prints each instrument's "
        "resource, writes a bench file that points mtjlab at them (kind real: "
        "`mtjlab read --bench SERVED.yaml` then goes through pyvisa-py's socket transport), "
        "and serves until Ctrl-C or SIGTERM. Details: docs/bench-serve.md.",
    )
    bench_serve.add_argument(
        "--bench",
        type=Path,
        metavar="FILE",
        help="the emulated bench file to serve (default: the built-in emulated bench)",
    )
    bench_serve.add_argument(
        "--write-bench",
        type=Path,
        default=Path("served-bench.yaml"),
        metavar="SERVED.yaml",
        help="the bench file to write, pointing at the sockets (default served-bench.yaml); "
        "an existing file is replaced only if `bench serve` wrote it",
    )
    bench_serve.add_argument(
        "--port",
        type=NON_NEGATIVE_INT,
        default=0,
        help="the first instrument's port, the others' the ports after it, so the served bench "
        "file stays right from one start to the next (default 0: free ports, others each time)",
    )
    bench_serve.add_argument(
        "--pace",
        type=_pace,
        default=0.0,
        metavar="F",
        help="wall-clock seconds per second of the emulators' bench time: 1 answers as slowly "
        "as the bench would (a map in seconds), so client timeouts behave as on a bench; "
        "0 (default) answers at once",
    )
    bench_serve.add_argument(
        "--fault",
        type=_fault,
        action="append",
        default=[],
        metavar="INSTRUMENT:ACTION:WHEN",
        help="inject a fault once, at an instrument's socket (repeat for more): ACTION is drop "
        "(close the connection as the command arrives, not acting on it), garble (send the "
        "next reply reversed) or delay=SECONDS (hold the next reply back that long); WHEN is "
        "N (the Nth command line that socket receives) or /REGEX/ (the first line it "
        "matches). E.g. smu_a:drop:40, smu_a:delay=3:/printbuffer/, matrix:garble:/getclose/",
    )
    bench_serve.set_defaults(handler=_cmd_bench_serve)

    runs = sub.add_parser("runs", help="list, show, export and resume the runs of a store")
    runs_sub = runs.add_subparsers(dest="runs_command", required=True, metavar="ACTION")
    for name, text in (
        ("list", "list the runs of a store"),
        ("show", "show one run: parameters, status, records, results"),
        ("export", "export one run's records, one row per record"),
        ("resume", "go on with an interrupted run where it stopped"),
        ("transcript", "print every command a bench run sent its instruments, and each reply"),
    ):
        p = runs_sub.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".")
        if name != "list":
            p.add_argument("run_id", type=POSITIVE_INT, metavar="ID", help="run id")
        p.add_argument("--store", type=Path, required=True, help="the run store (SQLite file)")
        if name == "show":
            p.add_argument(
                "--json",
                action="store_true",
                help="print the run as JSON: parameters, limits and each unit's results",
            )
        if name == "resume":
            add_log_option(p)
        if name == "transcript":
            p.add_argument(
                "--instrument",
                metavar="NAME",
                help="only the lines of the instrument of this name in the bench file (those "
                "sharing its resource, such as a 2636B's two channels, are one wire)",
            )
            p.epilog = (
                f"The transcript is {TRANSCRIPT_FILE} in the run's output folder: per line the "
                "UTC time, the instruments, > for a command and < for a reply, and the text "
                "(tabs, line breaks and backslashes escaped). A run on the simulated chip talks "
                "to no instrument and has none."
            )
        if name == "export":
            p.add_argument("--format", choices=STORE_FORMATS, default="csv", dest="fmt")
            p.add_argument(
                "--out", type=Path, help="file to write (default run-ID.csv/.parquet/.nc)"
            )
        p.set_defaults(handler=_RUNS_HANDLERS[name])


def _cmd_bench_check(args: argparse.Namespace) -> int:
    bench = load_bench(args.bench or builtin_bench_path())
    drivers, unreachable, emulated = connect_reachable(bench)
    rows = bench_use.check(bench, drivers, unreachable)
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
    # an emulated bench without limits of its own runs under its chip's (as its backends do)
    limits = bench.limits or (chip_limits(emulated.chip) if emulated else None)
    if limits is not None:
        whose = "the bench file's" if bench.limits is not None else "the emulated chip's own"
        print(f"limits ({whose}): " + "\n  ".join(limits.describe()))
    if emulated is not None:
        print(
            f"emulated: chip {emulated.chip.seed}, {emulated.round_trips()} commands, "
            f"{emulated.clock.now_s:.2f} s of bench time"
        )
    return 0 if all(r.ok for r in rows) else 1


#: The example bench files ``bench example`` writes, packaged beside the built-in emulated bench
#: (the same bytes as examples/emulated-bench.yaml and examples/real-bench.yaml).
_EXAMPLE_BENCHES = {
    "emulated": builtin_bench_path(),
    "real": builtin_bench_path().with_name("real.yaml"),
}


def _cmd_bench_example(args: argparse.Namespace) -> int:
    kind = "real" if args.real else "emulated"
    source = _EXAMPLE_BENCHES[kind]
    out = args.out or Path(f"{kind}-bench.yaml")
    if not out.parent.is_dir():
        raise UsageError(f"--out {out}: folder {out.parent} does not exist")
    try:
        with out.open("xb") as file:  # "x": an existing file is refused, never overwritten
            file.write(source.read_bytes())
    except FileExistsError:
        raise UsageError(f"--out {out}: the file exists; give another --out") from None
    print(f"wrote the example {kind} bench file to {out}")
    then = "edit its resources, wiring and limits to your bench, then run" if args.real else "next"
    print(f"{then}: mtjlab bench check --bench {shlex.quote(str(out))}")
    return 0


def _cmd_bench_schema(args: argparse.Namespace) -> int:
    text = json.dumps(bench_schema(), indent=2) + "\n"
    if args.out is None:
        print(text, end="")
        return 0
    if not args.out.parent.is_dir():
        raise UsageError(f"--out {args.out}: folder {args.out.parent} does not exist")
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote the bench file's JSON Schema to {args.out}")
    return 0


def _pace(text: str) -> float:
    try:
        pace = float(text)
    except ValueError:
        pace = -1.0
    if not 0 <= pace <= MAX_PACE:
        raise argparse.ArgumentTypeError(
            f"expected a number from 0 (no pacing) to {MAX_PACE:g}, got {text!r}"
        )
    return pace


def _fault(text: str) -> Fault:
    try:
        return Fault.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _cmd_bench_serve(args: argparse.Namespace) -> int:
    source = args.bench or builtin_bench_path()
    text = read_bench_text(source)
    bench = parse_bench_text(text, str(source))
    if bench.kind != "emulated":
        raise UsageError(f"--bench {source}: a {bench.kind} bench; only an emulated bench, "
                         "whose chip is simulated, can be served")  # fmt: skip
    if not args.write_bench.parent.is_dir():
        raise UsageError(
            f"--write-bench {args.write_bench}: folder {args.write_bench.parent} does not exist"
        )
    served = ServedBench(
        bench,
        pace=args.pace,
        faults=args.fault,
        port=args.port,
        log=lambda line: print(f"serve: {line}", file=sys.stderr, flush=True),
    )
    try:
        served.write_bench(args.write_bench, text, str(source))
        served.start()
        faults = "".join(f"; fault {f}" for f in args.fault)
        seed = served.emulated.chip.seed
        print(f"serving bench {bench.name!r} ({source}) on 127.0.0.1, chip {seed} emulated; "
              f"pace {args.pace:g}{faults}")  # fmt: skip
        print(
            report.format_table(
                ["instrument", "model", "resource"],
                [[n, e.model, served.address(n)] for n, e in bench.instruments.items()],
                label_column=True,
            )
        )
        out = shlex.quote(str(args.write_bench))
        print(f"wrote {args.write_bench}; in another terminal: mtjlab read --bench {out}")
        print("Ctrl-C stops it", flush=True)
        forever = threading.Event()
        while not forever.wait(1.0):  # a timed wait, so Ctrl-C is taken at once
            pass
    except KeyboardInterrupt:  # Ctrl-C, and SIGTERM as the CLI turns it: the way to stop
        pass
    finally:
        served.stop()
    print(f"stopped after {served.commands()} commands", file=sys.stderr)
    return 0


def _cmd_bench_instruments(args: argparse.Namespace) -> int:
    rows = []
    for model, driver in DRIVERS.items():
        roles = [text for role, text in ROLES.items() if issubclass(driver, role)]
        # the driver's default instrument name (its errors carry it): the model as sold
        name = inspect.signature(driver).parameters.get("name")
        instrument = driver.__name__ if name is None or name.default is name.empty else name.default
        rows.append(
            [
                model,
                instrument,
                ", ".join(roles),
                bench_use.connection(model),
                "yes" if model in EMULATORS else "no",
            ]
        )
    print(
        report.format_table(
            ["model", "instrument", "role", "connects through", "emulator"],
            rows,
            label_column=True,
        )
    )
    print("\nwhat each driver checks:")
    for model in DRIVERS:
        print(f"  {model}: " + "; ".join(checks_of(model)))
    return 0


def _cmd_runs_list(args: argparse.Namespace) -> int:
    with existing_store(args.store) as store:
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
    with existing_store(args.store) as store:
        info = store.run(args.run_id)
        results = store.unit_results(args.run_id)
    shown = _shown(info, results)
    if args.json:
        print(json.dumps(shown, indent=2))
    else:
        print("\n".join(_summary(info, shown)))
    return 0


def _shown(info: RunInfo, results: dict[str, dict]) -> dict:
    """What ``runs show --json`` prints: the run, its parameters without the bulky ones (the
    patterns by name, the networks by count), its limits and each unit's scalar results."""
    bulky = ("patterns", "target", "networks")
    params = {k: v for k, v in info.parameters.items() if k not in bulky}
    if "patterns" in info.parameters:
        params["patterns"] = [p["name"] for p in info.parameters["patterns"]]
    if "networks" in info.parameters:
        params["networks"] = f"{len(info.parameters['networks'])} binary networks"
    return {
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


#: The most parameter lines ``runs show`` prints; the rest are counted in one more line.
_MAX_PARAMETER_LINES = 14


def _short(value: object, width: int = 80) -> str:
    """A parameter's value in a few words: a list of more than 6 items as its length, a dict as
    its keys (as many as fit), a long text cut in the middle."""
    if isinstance(value, dict):
        keys = [str(k) for k in value]
        while len(keys) > 1 and len(", ".join(keys)) + 7 > width:
            keys = keys[:-1]
        more = ", ..." if len(keys) < len(value) else ""
        return "{" + ", ".join(keys) + more + "}"
    if isinstance(value, list | tuple):
        if len(value) > 6:
            return f"{len(value)} items"
        return "[" + ", ".join(_short(v, width) for v in value) + "]"
    text = value if isinstance(value, str) else json.dumps(value)  # true, false, null, numbers
    if len(text) > width:
        keep = width - 3
        text = text[: keep // 2] + "..." + text[len(text) - (keep - keep // 2) :]
    return text


def _bench_line(bench: object) -> str:
    if not isinstance(bench, dict):
        return "not recorded with the run"
    if bench.get("kind") == "sim":
        changes = ", ".join(f"{k}={v}" for k, v in bench.get("changes", {}).items())
        text = f"simulated chip {bench.get('seed')}, preset {bench.get('preset')}"
        return text + (f", changes: {changes}" if changes else "")
    if bench.get("kind") == "file":
        seed = bench.get("seed")
        emulated = "" if seed is None else f" (emulated, chip {seed})"
        return f"bench file {bench.get('path')}{emulated}"
    return _short(bench)


def _limits_lines(limits: dict | None) -> list[str]:
    """The limits as ``key=value`` on at most two lines (their reasons are left to --json)."""
    if not limits:
        return ["limits: none stored with the run"]
    words = [f"{k}={_short(v, 20)}" for k, v in limits.items() if k != "reasons"]
    lines = ["limits:"]
    for i, word in enumerate(words):
        if len(lines[-1]) + len(word) > 94 and lines[-1] != "limits:":
            lines.append(" ")
        lines[-1] += f" {word}" + ("," if i < len(words) - 1 else "")
    return lines if len(lines) <= 2 else [lines[0], lines[1] + " ..."]


def _summary(info: RunInfo, shown: dict) -> list[str]:
    """``runs show``: the run in at most 25 lines, from what ``--json`` prints."""
    params = shown["parameters"]
    planned = planned_units(info)
    units_done = f"{info.units_done}" + ("" if planned is None else f" of {planned}")
    lines = [
        f"run {info.id}: {info.kind}, {info.status}",
        f"started: {info.started}, ended: {info.ended or 'not ended'}",
        f"seed: {info.seed}, mtjlab: {info.version}",
        f"records: {info.n_records}, units done: {units_done}",
        f"bench: {_bench_line(params.get('bench'))}",
    ]
    rest = [f"  {k}: {_short(v)}" for k, v in params.items() if k != "bench"]
    if len(rest) > _MAX_PARAMETER_LINES:
        more = len(rest) - _MAX_PARAMETER_LINES + 1
        rest = [*rest[: _MAX_PARAMETER_LINES - 1], f"  ({more} more: see --json)"]
    lines += ["parameters:" if rest else "parameters: none", *rest]
    lines += _limits_lines(shown["limits"])
    names = list(shown["units"])
    if len(names) > 4:
        names = [*names[:2], "...", *names[-2:]]
    lines.append(f"units ({len(shown['units'])}): " + (", ".join(names) or "none finished"))
    lines.append("more with --json: whole parameter values, the limits' reasons, unit results")
    return lines


def _cmd_runs_export(args: argparse.Namespace) -> int:
    if args.fmt == "parquet" and importlib.util.find_spec("pyarrow") is None:
        raise UsageError(
            "--format parquet needs pyarrow, which is not installed: "
            "pip install 'mtjlab[export]', or use --format csv or netcdf"
        )
    suffix = {"csv": ".csv", "parquet": ".parquet", "netcdf": ".nc"}[args.fmt]
    out = args.out or Path(f"run-{args.run_id}{suffix}")
    if out.suffix.lower() != suffix:
        raise UsageError(f"--out {out}: a {args.fmt} export is written to a {suffix} file")
    if not out.parent.is_dir():
        raise UsageError(f"--out {out}: folder {out.parent} does not exist")
    with existing_store(args.store) as store:
        path = store.export(args.run_id, args.fmt, out)
        n = store.run(args.run_id).n_records
    print(f"{n} records of run {args.run_id} written to {path}")
    return 0


def _cmd_runs_transcript(args: argparse.Namespace) -> int:
    with existing_store(args.store) as store:
        info = store.run(args.run_id)
    path = Path(info.parameters.get("out") or ".") / TRANSCRIPT_FILE
    bench = info.parameters.get("bench") or {}
    if not path.is_file():
        if bench.get("kind") == "file":
            raise UsageError(f"run {args.run_id}: its transcript {path} is not there (moved?)")
        print(f"run {args.run_id} ran on the simulated chip: no instrument, no transcript")
        return 1
    lines = read_transcript(path)
    if args.instrument is not None:
        wires = {line.instruments for line in lines}
        mine = {w for w in wires if args.instrument in w.split("+")}
        if not mine:
            raise UsageError(
                f"--instrument {args.instrument}: not in the transcript; its instruments: "
                f"{', '.join(sorted(n for w in wires for n in w.split('+')))}"
            )
        lines = [line for line in lines if line.instruments in mine]
    width = max((len(line.instruments) for line in lines), default=0)
    for line in lines:
        print(f"{line.time}  {line.instruments:<{width}}  {line.direction} {escaped(line.text)}")
    return 0


_RUNS_HANDLERS = {
    "list": _cmd_runs_list,
    "show": _cmd_runs_show,
    "export": _cmd_runs_export,
    "resume": resume,
    "transcript": _cmd_runs_transcript,
}
