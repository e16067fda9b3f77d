"""A write pulse's circuit solved in one compiled kernel (numba, the optional ``fast`` extra).

`SimulatedBackend` solves every write pulse as Newton's method on the array's MTJ law from the
lines' source voltages, each step one banded solve of the circuit (`mtjlab.sim.solver`). On the
15x15 arrays a step costs about 70 microseconds, nearly all of it the per-call cost of some
twenty numpy and LAPACK calls on 15x15 blocks, and a pulse about 0.5 ms with the device law and
the Newton loop around it. The kernel (`mtjlab.sim._pulse_kernel`) does the whole of it in one
call of compiled loops, about 0.11 ms (0.19 ms for the whole `write_pulse`, against 0.53 ms).

Its arithmetic is not LAPACK's, so its device voltages agree with the numpy path to rounding
(about 1e-14 V), not bit for bit. The backend uses it for pulses only, whose voltages only
decide, each against a random draw, whether a device switches or breaks down, so a run's
outcomes are those of the numpy path (a draw would have to fall within 1e-14 of a switching
probability to tell them apart); every reading keeps the numpy path, whose currents are results.

Without numba, or with the environment variable ``MTJLAB_NUMBA=0``, `enabled` is False and the
backend solves pulses with the numpy path. This module is light: the kernel's module, and numba
with it, is imported on the first pulse that takes it.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import os
from types import ModuleType

import numpy as np

from mtjlab.core.states import AP
from mtjlab.sim._pulse_codes import (
    CONVERGED,
    KIND_AP,
    KIND_OPEN,
    KIND_P,
    KIND_SHORTED,
    NOT_CONVERGED,
    NOT_POSITIVE_DEFINITE,
)
from mtjlab.sim.chip import OPEN, SHORTED

__all__ = [
    "CONVERGED",
    "KIND_AP",
    "KIND_OPEN",
    "KIND_P",
    "KIND_SHORTED",
    "NOT_CONVERGED",
    "NOT_POSITIVE_DEFINITE",
    "array_arguments",
    "device_kinds",
    "enabled",
    "kernel",
    "pulse_voltages",
]

#: Whether numba is installed (looked up, not imported).
NUMBA_INSTALLED = importlib.util.find_spec("numba") is not None


def enabled() -> bool:
    """Whether pulses take the compiled kernel: numba is installed and ``MTJLAB_NUMBA`` is not
    ``0`` (read on every call, so a test or a run can turn it off)."""
    return NUMBA_INSTALLED and os.environ.get("MTJLAB_NUMBA", "1") != "0"


def device_kinds(state: np.ndarray, defect: np.ndarray, ap: int, shorted: int, opened: int):
    """Each device's kind for the law: KIND_SHORTED or KIND_OPEN for those defects, else its
    state's (a stuck device follows the law of the state it is stuck in)."""
    kind = np.where(state == ap, KIND_AP, KIND_P).astype(np.int8)
    kind[defect == shorted] = KIND_SHORTED
    kind[defect == opened] = KIND_OPEN
    return kind


def array_arguments(
    array, row_ends: np.ndarray, col_ends: np.ndarray, tol_v: float, max_iter: int
) -> tuple:
    """`pulse_voltages`' arguments for a chip's array (`mtjlab.sim.chip.MTJArray`) whose lines
    are tied as ``row_ends`` (2, rows) and ``col_ends`` (2, cols): each line's voltage at its
    start and at its end, NaN where that end is open; Newton starts from each line's tied
    voltage and stops as ``tol_v`` and ``max_iter`` say."""
    row_ends = np.ascontiguousarray(row_ends, dtype=float)
    col_ends = np.ascontiguousarray(col_ends, dtype=float)
    return (
        device_kinds(array.state, array.defect, AP, SHORTED, OPEN),
        np.ascontiguousarray(array.params.r_p_ohm, dtype=float),
        np.ascontiguousarray(array.params.tmr0, dtype=float),
        np.ascontiguousarray(array.params.v_half_v, dtype=float),
        1.0 / array.r_short_ohm,
        np.where(np.isnan(row_ends[0]), row_ends[1], row_ends[0]),
        np.where(np.isnan(col_ends[0]), col_ends[1], col_ends[0]),
        row_ends,
        col_ends,
        1.0 / float(array.r_row_ohm),
        1.0 / float(array.r_col_ohm),
        tol_v,
        max_iter,
    )


@functools.cache
def kernel() -> ModuleType:
    """The kernel's module, imported on first use (with numba, which only pulses need)."""
    return importlib.import_module("mtjlab.sim._pulse_kernel")


def pulse_voltages(*args):
    """`mtjlab.sim._pulse_kernel.pulse_voltages`: (outcome, device voltages, iterations).

    Ctrl-C, or SIGTERM as the command line turns it, raises in its signal handler wherever
    Python is; when that is inside numba's dispatcher (it runs Python to load a cached kernel),
    the dispatcher reports a SystemError caused by it, and a run would end as failed, with a
    traceback, instead of interrupted. The interruption itself is raised again here (as it is
    when it comes while numba compiles, whatever error numba makes of it)."""
    try:
        return kernel().pulse_voltages(*args)
    except Exception as exc:
        interruption = _interruption(exc)
        if interruption is not None:
            raise interruption from None
        raise


def _interruption(exc: BaseException) -> KeyboardInterrupt | None:
    """The Ctrl-C (or SIGTERM turned into one) that ``exc`` was raised from, if it was."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None
