"""The commands that look after a bench and a run store: ``bench check | instruments`` and
``runs list | show | export | resume``.
"""

from __future__ import annotations

import argparse
import inspect
import json
from pathlib import Path

from mtjlab import report
from mtjlab.bench import drivers as bench_use
from mtjlab.bench.emulated import EMULATORS
from mtjlab.bench.file import builtin_bench_path, load_bench
from mtjlab.bench.session import connect
from mtjlab.cli.running import UsageError, existing_store, resume
from mtjlab.instruments.registry import DRIVERS, ROLES
from mtjlab.runs.store import STORE_FORMATS
from mtjlab.runs.values import (
    POSITIVE_INT,
)


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
        "Exit status 1 if anything failed.",
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
            p.add_argument("run_id", type=POSITIVE_INT, metavar="ID", help="run id")
        p.add_argument("--store", type=Path, required=True, help="the run store (SQLite file)")
        if name == "export":
            p.add_argument("--format", choices=STORE_FORMATS, default="csv", dest="fmt")
            p.add_argument(
                "--out", type=Path, help="file to write (default run-ID.csv/.parquet/.nc)"
            )
        p.set_defaults(handler=_RUNS_HANDLERS[name])


def _cmd_bench_check(args: argparse.Namespace) -> int:
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
    limits = bench.limits or (
        emulated.backend(next(iter(bench.arrays))).limits if emulated else None
    )
    if limits is not None:
        whose = "the bench file's" if bench.limits is not None else "the emulated chip's own"
        print(f"limits ({whose}): " + "\n  ".join(limits.describe()))
    if emulated is not None:
        print(
            f"emulated: chip {emulated.chip.seed}, {emulated.round_trips()} commands, "
            f"{emulated.clock.now_s:.2f} s of bench time"
        )
    return 0 if all(r.ok for r in rows) else 1


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
    with existing_store(args.store) as store:
        path = store.export(args.run_id, args.fmt, out)
        n = store.run(args.run_id).n_records
    print(f"{n} records of run {args.run_id} written to {path}")
    return 0


_RUNS_HANDLERS = {
    "list": _cmd_runs_list,
    "show": _cmd_runs_show,
    "export": _cmd_runs_export,
    "resume": resume,
}
