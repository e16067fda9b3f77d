"""The last line of a benchmark: the peak resident memory of its own process, and of the largest
process it waited for (the worker processes a command forks and joins)."""

from __future__ import annotations

import resource
import sys

#: ru_maxrss is in kilobytes on Linux and in bytes on macOS.
_PER_MIB = 1024 * 1024 if sys.platform == "darwin" else 1024


def peak_memory_line() -> str:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / _PER_MIB
    waited = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / _PER_MIB
    text = f"peak memory: {own:.0f} MiB in this process"
    if waited:
        text += f", {waited:.0f} MiB in the largest process it waited for"
    return text
