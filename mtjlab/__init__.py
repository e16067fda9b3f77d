"""mtjlab: write, read and characterize passive MTJ crossbar arrays on a bench or a simulated one.

Each command is a function here (``mtjlab.read``, ``mtjlab.write``,
``mtjlab.characterize_fidelity``, ``mtjlab.characterize_switching``, ``mtjlab.characterize_rv``,
``mtjlab.reproduce``) returning a :class:`Result` (``.summary``, ``.to_xarray()``,
``.figures()``); ``open_run`` reads a stored run; ``open_bench`` and ``simulated_bench`` hand a
script the ArrayBackend of each array, which every protocol (``mtjlab.protocols``) runs on.
"""

from mtjlab.api import (
    OpenBench,
    Result,
    SimulatedBench,
    characterize_fidelity,
    characterize_rv,
    characterize_switching,
    open_bench,
    open_run,
    read,
    reproduce,
    simulated_bench,
    write,
)
from mtjlab.core.version import __version__

__all__ = [
    "OpenBench",
    "Result",
    "SimulatedBench",
    "__version__",
    "characterize_fidelity",
    "characterize_rv",
    "characterize_switching",
    "open_bench",
    "open_run",
    "read",
    "reproduce",
    "simulated_bench",
    "write",
]
