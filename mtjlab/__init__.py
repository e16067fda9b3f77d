"""mtjlab: write, read and characterize passive MTJ crossbar arrays on a bench or a simulated one.

Each command is a function here (``mtjlab.read``, ``mtjlab.write``,
``mtjlab.characterize_fidelity``, ``mtjlab.characterize_switching``, ``mtjlab.characterize_rv``,
``mtjlab.reproduce``) returning a :class:`Result` (``.summary``, ``.to_xarray()``,
``.figures()``); ``mtjlab.sweep`` runs one of them over many chips and values; ``open_run``
reads a stored run; ``open_bench`` and ``simulated_bench`` hand a script the ArrayBackend of each
array, which every protocol (``mtjlab.protocols``) runs on.
"""

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
    "sweep",
    "write",
]


def __getattr__(name: str):
    # The API (mtjlab.api: OpenBench, Result, read, reproduce ...) is imported on first use,
    # not with the package: the command's entry point (mtjlab.cli.start) lives in this package
    # and must start before the heavy libraries load, so a Ctrl-C while they load ends in one
    # line. The package imports nothing else, not even typing.
    if name in __all__:
        from mtjlab import api

        return getattr(api, name)
    raise AttributeError(f"module 'mtjlab' has no attribute {name!r}")
