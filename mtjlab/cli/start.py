"""The ``mtjlab`` command's entry point. It loads the command (numpy, scipy, matplotlib, xarray:
about a second) and builds its parser under a handler, so a Ctrl-C before a command runs ends in
one line, as one while it runs does. What comes before this module (the interpreter starting,
``mtjlab/__init__``, which imports nothing heavy) takes a few hundredths of a second.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> int:
    try:
        from mtjlab.cli.app import main as command

        return command(argv)
    except KeyboardInterrupt:  # a running command says itself what it kept; this is before one
        print("\nmtjlab: interrupted while starting; nothing was run", file=sys.stderr)
        sys.stdout.flush()
        sys.stderr.flush()
        # Ended here rather than returned: a Ctrl-C that lands in code an extension module runs
        # while it is imported marks the interpreter as ended by Ctrl-C even once caught, and
        # its exit would then be a SIGINT of itself instead of this status.
        os._exit(130)
