"""The experiments: each module declares one (its run in resumable units, summary, figures and
text) in the registry when imported; importing this package declares them all.
"""

from mtjlab.runs.experiments import fidelity, read, reproduce, rv, switching, write

__all__ = ["fidelity", "read", "reproduce", "rv", "switching", "write"]
