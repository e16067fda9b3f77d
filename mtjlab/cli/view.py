"""``mtjlab view``: the live page on one or more run stores, or one run's page as a file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mtjlab.runs.values import NON_NEGATIVE_INT, POSITIVE_INT
from mtjlab.view import ViewServer, check_stores, export_run
from mtjlab.view.figures import FigureCache
from mtjlab.view.server import LOCAL_HOSTS


def _refresh(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not 0.1 <= value <= 3600:
        raise argparse.ArgumentTypeError(f"{value:g} s is outside 0.1 to 3600 s")
    return value


def add_view_command(sub: argparse._SubParsersAction) -> None:
    """Add ``mtjlab view`` to the ``mtjlab`` parser."""
    view = sub.add_parser(
        "view",
        help="a live web page on run stores: every run's progress and its figures as they fill",
        description="Serve a web page that lists every run of the given stores (kind, status, "
        "progress, time left, start and end, the chip or bench) and shows the selected run's "
        "figures, drawn from the units stored so far and drawn again as it finishes more. The "
        "page updates itself; it works with runs started anywhere, in any terminal, and reads "
        "the stores without ever writing them or holding up a run. Everything the page needs "
        "comes from the installed package: no internet. Ctrl-C stops it.",
        epilog="Example: mtjlab view --store out/runs.db, then open the address it prints. "
        "One run's page as a file: mtjlab view --store out/runs.db --run 3 --export run3.html",
    )
    view.add_argument(
        "--store",
        type=Path,
        action="append",
        required=True,
        metavar="FILE",
        help="a run store (SQLite file) to show; repeat for several",
    )
    view.add_argument(
        "--port",
        type=NON_NEGATIVE_INT,
        default=8050,
        help="port to serve the page on (default 8050; 0 picks a free one)",
    )
    view.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to serve on (default 127.0.0.1, this computer only); any other address "
        "lets other computers see your runs, and a warning says so",
    )
    view.add_argument(
        "--refresh",
        type=_refresh,
        default=1.0,
        metavar="SECONDS",
        help="how often the page asks for news (default 1 s); a run's figures are drawn again "
        "at most every 2 s, and then only if it finished another unit",
    )
    view.add_argument(
        "--export",
        type=Path,
        metavar="FILE.html",
        help="instead of serving, write the page of one run (--run) as a single HTML file "
        "that opens offline, figures inside",
    )
    view.add_argument(
        "--run",
        type=POSITIVE_INT,
        metavar="ID",
        help="the run to export (with --export; its id in the store, as 'mtjlab runs list' "
        "shows it)",
    )
    view.set_defaults(handler=_cmd_view)


def _cmd_view(args: argparse.Namespace) -> int:
    if args.run is not None and args.export is None:
        raise ValueError("--run is for --export: the served page shows every run")
    stores = check_stores(args.store)
    if args.export is not None:
        if args.run is None:
            raise ValueError("--export needs --run ID: the run to write the page of")
        if len(stores) > 1:
            raise ValueError("--export writes one run of one store: give one --store")
        path = export_run(stores, 0, args.run, args.export)
        print(f"run {args.run}'s page written to {path}")
        return 0
    try:
        server = ViewServer(
            stores, host=args.host, port=args.port, refresh_s=args.refresh, cache=FigureCache()
        )
    except OSError as exc:
        raise OSError(
            f"cannot serve on {args.host}:{args.port} ({exc.strerror or exc}); "
            "choose another --port or --host"
        ) from None
    if args.host not in LOCAL_HOSTS:
        print(
            f"mtjlab: warning: serving on {args.host}: anyone who can reach this computer "
            "can see these runs (nothing on the page can change them)",
            file=sys.stderr,
        )
    names = ", ".join(str(s.path) for s in stores)
    print(f"mtjlab view of {names} at {server.url} (Ctrl-C stops it)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("\nmtjlab view stopped", file=sys.stderr)
    finally:
        server.server_close()
    return 0
