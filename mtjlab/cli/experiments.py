"""The experiments' commands, built from their declarations (``mtjlab.runs.registry``): one
subcommand per experiment, its options as declared, then where its outputs go.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from mtjlab.cli.logs import add_log_option
from mtjlab.cli.running import out_and_store, run
from mtjlab.runs.experiments import COMMAND_ORDER
from mtjlab.runs.registry import Experiment, experiment

#: The help of a command word that groups experiments.
GROUPS = {"characterize": "unattended characterization runs"}


def add_experiment_commands(sub: argparse._SubParsersAction) -> None:
    """Add every experiment's command to the ``mtjlab`` parser, in the declared order."""
    groups: dict[str, argparse._SubParsersAction] = {}
    for kind in COMMAND_ORDER:
        exp = experiment(kind)
        where = sub
        if len(exp.command) == 2:
            word = exp.command[0]
            if word not in groups:
                parent = sub.add_parser(word, help=GROUPS[word])
                groups[word] = parent.add_subparsers(dest="what", required=True, metavar="WHAT")
            where = groups[word]
        parser = where.add_parser(exp.command[-1], help=exp.help, description=exp.description)
        _add_options(parser, exp)
        parser.set_defaults(handler=_handler(exp))


def _add_options(parser: argparse.ArgumentParser, exp: Experiment) -> None:
    groups: dict[str, argparse._ArgumentGroup] = {}
    for option in exp.options:
        if option.group is None:
            option.add_to(parser)
        else:
            if option.group not in groups:
                groups[option.group] = parser.add_argument_group(option.group)
            option.add_to(groups[option.group])
    parser.add_argument(
        "--store",
        type=Path,
        help="SQLite run store to append this run to (created if absent; default runs.db "
        "in the output folder)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        help=f"folder for figures and summary.json (default mtjlab-{exp.kind}-DATE-TIME)",
    )
    add_log_option(parser)


def _handler(exp: Experiment) -> Callable[[argparse.Namespace], int]:
    def handle(args: argparse.Namespace) -> int:
        options = {o.name: getattr(args, o.name) for o in exp.options}
        params = exp.prepare(options)
        out, store = out_and_store(args, exp.kind)
        if exp.expanding:
            print(exp.expanding.format(**options), file=sys.stderr)
        params = exp.expand(params)
        params["out"] = str(out)
        return run(exp.kind, params, store, out, args.log_level)

    return handle
