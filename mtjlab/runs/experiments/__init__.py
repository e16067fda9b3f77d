"""The experiments: each module declares one (its options, run in resumable units, summary and
text) in the registry when imported; importing this package declares them all.
"""

from mtjlab.runs.experiments import fidelity, read, reproduce, rv, sweep, switching, write

#: The run kinds in the order the command line lists their commands (a sweep, which runs one of
#: them at many points, has its own function, ``mtjlab.sweep``).
COMMAND_ORDER = ("read", "write", "fidelity", "switching", "rv", "reproduce")

__all__ = ["COMMAND_ORDER", "fidelity", "read", "reproduce", "rv", "sweep", "switching", "write"]
