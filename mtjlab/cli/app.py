"""The ``mtjlab`` command. Arguments are checked here, at the edge, with messages that say what was
expected and what came."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from mtjlab.cli.experiments import add_experiment_commands
from mtjlab.cli.logs import set_command_line
from mtjlab.cli.manage import add_manage_commands
from mtjlab.cli.running import interrupted_status, terminate_as_interrupt
from mtjlab.cli.sweep import add_sweep_command
from mtjlab.cli.view import add_view_command
from mtjlab.core.schemes import READ_BIASES
from mtjlab.core.version import __version__
from mtjlab.report import check_figure_path, format_resistance_map, plot_resistance_map
from mtjlab.runs.values import (
    NON_NEGATIVE_INT,
    VOLTS,
)
from mtjlab.sim.backend import SimulatedBackend
from mtjlab.sim.chip import Chip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mtjlab",
        description="Write, read and characterize passive MTJ arrays, on a bench or simulated.",
    )
    parser.add_argument("--version", action="version", version=f"mtjlab {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sim = sub.add_parser("sim", help="work on the built-in simulated bench")
    sim_sub = sim.add_subparsers(dest="sim_command", required=True, metavar="SIM_COMMAND")
    read = sim_sub.add_parser(
        "read",
        help="read a simulated array's resistance map, print it and save a heat map",
        description="Read every cell of one array of a simulated chip, print the resistance map "
        "in kOhm and save it as a heat map.",
    )
    read.add_argument(
        "--seed",
        type=NON_NEGATIVE_INT,
        default=0,
        help="chip seed: the same seed gives the same chip (default 0)",
    )
    read.add_argument(
        "--array",
        type=NON_NEGATIVE_INT,
        default=1,
        help="which array of the die (default 1, the 50 nm devices)",
    )
    read.add_argument(
        "--v-read",
        type=VOLTS,
        default=0.1,
        dest="v_read",
        help="read voltage in volts (default 0.1)",
    )
    read.add_argument(
        "--bias",
        choices=READ_BIASES,
        default="grounded",
        help="biasing of the unselected lines (default grounded)",
    )
    read.add_argument(
        "--out",
        type=Path,
        default=Path("resistance_map.png"),
        help="heat-map file (.png, .pdf or .svg) or an existing folder to save "
        "resistance_map.png in (default resistance_map.png)",
    )
    read.set_defaults(handler=_sim_read)

    add_experiment_commands(sub)
    add_sweep_command(sub)
    add_manage_commands(sub)
    add_view_command(sub)
    return parser


def _sim_read(args: argparse.Namespace) -> int:
    try:
        out = check_figure_path(args.out, "resistance_map.png")
    except ValueError as exc:
        print(f"mtjlab: error: --out {args.out}: {exc}", file=sys.stderr)
        return 2
    chip = Chip.from_seed(args.seed)
    n_arrays = len(chip.arrays)
    if args.array >= n_arrays:
        print(
            f"mtjlab: error: --array {args.array} is out of range: the simulated chip has "
            f"{n_arrays} arrays (0 to {n_arrays - 1})",
            file=sys.stderr,
        )
        return 2
    with SimulatedBackend(chip, args.array) as backend:
        rmap = backend.read_map(v_read_v=args.v_read, bias=args.bias)
    a = chip.array(args.array)
    title = (
        f"chip seed {args.seed}, array {args.array} ({a.diameter_nm:g} nm), "
        f"V_read {args.v_read:g} V, {args.bias} bias"
    )
    # The figure is saved before anything is printed, so a reader that stops early (| head)
    # cannot cost the user the heat map.
    written = plot_resistance_map(rmap.resistance_ohm, out, title=title)
    print(title)
    print(format_resistance_map(rmap.resistance_ohm))
    print(f"heat map saved to {written}")
    return 0


#: Exit status when the reader of stdout goes away early: what a command killed by SIGPIPE
#: reports (128 + 13), so ``set -o pipefail`` scripts see ``mtjlab ... | head`` as they see
#: ``cat ... | head``, and nobody mistakes cut-short output for complete output.
EXIT_BROKEN_PIPE = 141


def _handle(args: argparse.Namespace) -> int:
    """Run a command; a value it cannot use ends it with one line and status 2, no traceback.

    Bad input surfaces as ValueError (limits, patterns, stores, arguments) or OSError (files);
    ``MTJLAB_DEBUG=1`` shows the traceback instead, for reporting a bug.
    """
    try:
        with terminate_as_interrupt():  # SIGTERM while checking or training ends as Ctrl-C
            return int(args.handler(args))
    except BrokenPipeError:
        raise
    except KeyboardInterrupt as exc:  # before a run began (training, checking): nothing to keep
        if os.environ.get("MTJLAB_DEBUG"):
            raise
        print("\nmtjlab: interrupted before anything was measured", file=sys.stderr)
        return interrupted_status(exc)
    except (ValueError, OSError) as exc:
        if os.environ.get("MTJLAB_DEBUG"):
            raise
        print(f"mtjlab: error: {exc}", file=sys.stderr)
        return 2


def main(argv: list[str] | None = None) -> int:
    """Run the command with ``argv`` (default ``sys.argv[1:]``) and return its exit status."""
    parser = build_parser()
    set_command_line(list(sys.argv[1:] if argv is None else argv))
    try:
        try:
            args = parser.parse_args(argv)
            status = _handle(args)
        finally:
            # Flush here rather than at interpreter exit, where a closed pipe can only be
            # reported as an ignored exception; --help and --version leave through here too.
            sys.stdout.flush()
    except BrokenPipeError:
        # Python ignores SIGPIPE, so a reader that stopped early (| head) shows up as this
        # error. Point stdout at devnull so the flush at exit cannot raise it a second time.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return EXIT_BROKEN_PIPE
    return status


if __name__ == "__main__":
    sys.exit(main())
