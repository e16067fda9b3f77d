"""mtjlab: write, read and characterize passive MTJ crossbar arrays on a bench or a simulated one.

Protocols use one interface, :class:`mtjlab.core.backend.ArrayBackend`; the bench and the simulator
both implement it.
"""

from mtjlab.core.version import __version__

__all__ = ["__version__"]
