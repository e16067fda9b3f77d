"""The simulated bench: MTJ device model, simulated chip, crossbar circuit solver, SimulatedBackend.

The simulator knows the ArrayBackend interface it implements and nothing of protocols.
"""

from mtjlab.sim.backend import SimulatedBackend
from mtjlab.sim.chip import Chip, ChipSpec
from mtjlab.sim.solver import ConvergenceError, CrossbarSolution, Terminals, solve_crossbar

__all__ = [
    "Chip",
    "ChipSpec",
    "ConvergenceError",
    "CrossbarSolution",
    "SimulatedBackend",
    "Terminals",
    "solve_crossbar",
]
