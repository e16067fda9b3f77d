"""Peak resident memory for the benchmarks: the last line of a benchmark (its own process, and
the largest process it waited for: the workers a command forks and joins), and a command run
as a child with its wall time and peak."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from typing import IO

#: ru_maxrss per MiB: it is in kilobytes on Linux and in bytes on macOS.
PER_MIB = 1024 * 1024 if sys.platform == "darwin" else 1024


def run_measured(
    argv: list[str], cwd: str | os.PathLike, stdout: IO | int, stderr: IO | int
) -> tuple[float, int, float]:
    """Run ``argv`` to its end: its wall time (s), exit status and peak memory (MiB), the
    latter ``os.wait4``'s ``ru_maxrss`` of the child, which covers the largest process of its
    tree the child reaped (a command's joined workers)."""
    start = time.perf_counter()
    child = subprocess.Popen(argv, cwd=cwd, stdout=stdout, stderr=stderr)
    _, wait_status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    status = os.waitstatus_to_exitcode(wait_status)
    child.returncode = status  # reaped here, not by Popen
    return wall, status, usage.ru_maxrss / PER_MIB


def peak_memory_line() -> str:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / PER_MIB
    waited = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / PER_MIB
    text = f"peak memory: {own:.0f} MiB in this process"
    if waited:
        text += f", {waited:.0f} MiB in the largest process it waited for"
    return text
