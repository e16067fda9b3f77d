"""The ``mtjlab`` command's entry point. It loads the command (numpy, scipy, matplotlib, xarray:
about a second) and builds its parser under a handler, so a Ctrl-C before a command runs ends in
one line, as one while it runs does.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    try:
        from mtjlab.cli.app import main as command

        return command(argv)
    except KeyboardInterrupt:  # a running command says itself what it kept; this is before one
        print("\nmtjlab: interrupted while starting; nothing was run", file=sys.stderr)
        return 130
