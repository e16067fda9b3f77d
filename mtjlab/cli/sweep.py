"""``mtjlab sweep EXPERIMENT``: one experiment over a grid or a sample of chip fields and its
options, times chip seeds. The sweep's options, then the experiment's own, which hold for every
point (``mtjlab sweep reproduce --vary r_row_ohm=0,5,20 --seeds 3 --solutions 5``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from mtjlab.cli.logs import add_log_option
from mtjlab.cli.running import out_and_store, run
from mtjlab.runs.experiments.sweep import EXPERIMENT as SWEEP
from mtjlab.runs.experiments.sweep import SWEEPABLE
from mtjlab.runs.registry import Experiment, experiment
from mtjlab.runs.sweeps import NOT_VARIED

_EPILOG = (
    "A FIELD is a field of the chip preset (docs/device-model.md) or an option of the "
    "experiment. Each point is the experiment on its own chip seed; the points run in a local "
    "process pool, with the results of one process, and an interrupted sweep resumes with only "
    "the points it lacked (mtjlab runs resume)."
)


def add_sweep_command(sub: argparse._SubParsersAction) -> None:
    """Add ``mtjlab sweep`` and one subcommand per experiment it can sweep."""
    parser = sub.add_parser("sweep", help=SWEEP.help, description=SWEEP.description)
    which = parser.add_subparsers(dest="experiment", required=True, metavar="EXPERIMENT")
    for kind in SWEEPABLE:
        exp = experiment(kind)
        sweep = which.add_parser(
            kind,
            help=f"sweep {kind}: {exp.help}",
            description=f"{SWEEP.description} The experiment: {exp.description}",
            epilog=_EPILOG,
        )
        for option in SWEEP.options:
            if option.name not in ("experiment", "settings"):
                option.add_to(sweep)
        own = sweep.add_argument_group(f"{kind}'s options, the same at every point")
        for option in exp.options:
            if option.name not in NOT_VARIED:
                # No default here: an option not given is not fixed by the sweep (it takes its
                # default at every point, unless it is varied); its help still says the default.
                replace(option, default=None).add_to(own)
        sweep.add_argument(
            "--store",
            type=Path,
            help="SQLite run store to append the sweep to (created if absent; default runs.db "
            "in the output folder)",
        )
        sweep.add_argument(
            "--out", type=Path, help="folder for figures and summary.json (default "
            "mtjlab-sweep-DATE-TIME)"
        )  # fmt: skip
        add_log_option(sweep)
        sweep.set_defaults(handler=_handler(exp))


def _handler(exp: Experiment) -> Callable[[argparse.Namespace], int]:
    def handle(args: argparse.Namespace) -> int:
        given = vars(args)
        options = {
            o.name: given[o.name] for o in SWEEP.options if o.name not in ("experiment", "settings")
        }
        options |= {"experiment": exp.kind}
        # The experiment's options given on the command line (a switch when it is on).
        options["settings"] = {
            o.name: given[o.name]
            for o in exp.options
            if o.name not in NOT_VARIED and given.get(o.name) not in (None, False)
        }
        params = SWEEP.prepare(options)
        out, store = out_and_store(args, SWEEP.kind)
        print(f"sweep of {exp.kind}: {len(params['points'])} points", file=sys.stderr)
        params["out"] = str(out)
        return run(SWEEP.kind, params, store, out, args.log_level)

    return handle
