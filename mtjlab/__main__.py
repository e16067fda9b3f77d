"""``python -m mtjlab``: the same command as the ``mtjlab`` script."""

import sys

from mtjlab.cli.start import main

if __name__ == "__main__":
    sys.exit(main())
