"""Exact DC solver of a passive (selector-less) resistive crossbar with line resistance.

Owns `solve_crossbar`, the terminal description `Terminals`, the result `CrossbarSolution` and
`ConvergenceError`; the numerical paths live in the private `_solver_block`, `_solver_iterative`
and `_solver_nodal` modules, which share only what `_solver_common` holds.

Circuit: device (i, j) joins row-line node u[i, j] to column-line node w[i, j]. Row line i is the
chain u[i, 0] - ... - u[i, cols-1] with `r_row` per segment, column line j the chain
w[0, j] - ... - w[rows-1, j] with `r_col` per segment. Each line end is open or tied to an ideal
voltage source through one more segment. The "start" end is the index-0 side (column 0 for a row,
row 0 for a column), the "end" end the last-index side.

Method: one ordered table, `METHOD_TABLE`, each entry saying when it applies with its linear
solve and its Newton step. The automatic choice takes the first that applies and solves;
`solve_crossbar(method=name)` tries that one first, then the automatic order. All are exact nodal
analysis and differ in the order of the work; `CrossbarSolution.method` says which ran, and
`CrossbarSolution.fallbacks` which were asked for but did not apply, or applied and failed (also
logged). A new method is one entry in the table. The entries:

- ``"ideal"``: both line resistances zero (below 1e-12 ohm). With every line tied, every node
  is at its line's source and no system is solved: each line's current is a matrix product of
  the conductances with the source voltages (with the default termination the column currents
  are ``row_voltages.T @ conductance_s``); a floating line is one unknown node, solved by the
  sparse path. Newton steps on ideal lines go the same way.
- ``"block"``, for linear devices when the array is at least 2x2, every line has resistance,
  every line is tied to a source at one end or both or floats with a conducting device onto a
  tied line (the read, write and inference schemes, the default termination), no tied line's
  segment is below 1e-4 of its total device resistance, and the block inverses fit in 256 MB
  (256x256 does, 512x512 does not): each column line's chain
  is eliminated onto the row nodes at its crosspoints (its inverse is semiseparable, so this is
  one rank-1 update per column), leaving a block-tridiagonal system in the row nodes with dense
  rows x rows blocks; a block-Thomas sweep with dense Cholesky (LAPACK) solves it, then the row
  voltages of all vectors are recovered block by block and the column currents follow as linear
  functionals of them. The column node voltages (and the device arrays) are computed only when
  read. Cost about cols * rows**3 + cols * rows**2 * k, so the array is transposed first when it
  has more rows than columns. With more vectors than driving ends (ends tied to a voltage other
  than 0), each driving end is solved alone at 1 V and the responses combined by matrix products
  (superposition): the k in that cost becomes the number of sources (15 instead of 178 for
  the 15x15 inference case, 64 instead of 100 at 64x64). Measured 10-15x faster than
  badcrossbar 1.1.0 from 15x15 to 128x128 (see ``benchmarks/``).
- ``"nodal"``, everything else: the sparse nodal matrix of the unknown nodes, one sparse LU
  factorization, all input vectors as right-hand sides. Any terminals, floating lines and islands,
  zero-resistance lines (collapsed to one node), and the Newton steps of a nonlinear solve (the
  k Jacobians as one block-diagonal matrix) that the block path below does not take. The
  reference the block paths are tested against.
- ``"pcg"``, for circuits the block path would take but for the size of its inverses (from
  512x512 on): conjugate gradients on the nodal equations, preconditioned by every row and
  column line's own tridiagonal chain, to a residual of 1e-13 of the right-hand side. Linear in
  memory; tens of iterations at 512x512 and 1024x1024, shorted devices included: devices that
  conduct like a line segment or more are carried exactly by the preconditioner (up to 4000 of
  them, with one conductance matrix for all vectors), which took 0.2 % shorts of 1e3 S on a
  512x512 array from 701 iterations to 38.
  Past 5000 iterations the sparse path takes over. For one or two input vectors on an array of
  64x64 devices or more (`PCG_FIRST_DEVICES`), the automatic choice tries it before the block
  path, to a residual of 1e-15: 2.4x to 5x faster than the block path from 64x64 to 256x256.
- Newton steps (``device_iv``) whose circuit suits the block path, with no negative slope and
  at most 32 lines on the shorter side, use a batched form of it: one Jacobian per vector, the
  same elimination done for all k vectors at once with numpy's batched dense inverses. Larger
  ones, with no negative slope, take the ``"pcg"`` path from the last iterate. The solution
  reports ``"block"``, ``"pcg"`` or ``"banded"`` when every step went one way, else ``"nodal"``.
- ``"banded"``, only when asked for (``method="banded"``), for the linear solve and every
  Newton step that the block path's conditions allow, with no negative conductance and at most
  32 lines on the shorter side: the same elimination of the column chains onto the row nodes,
  but what is left is factored and solved by one banded Cholesky call (LAPACK ``pbsv``) instead
  of a block sweep with an inverse per column, and the k Jacobians of a Newton step share that
  one band. A handful of LAPACK and numpy calls per solve, where the block sweep makes dozens:
  on the 15x15 arrays of the simulated bench, whose solves are small enough for call overhead
  to dominate, a Newton step measured 4x faster than the batched block form for one vector,
  5x for 15 and 3x for 178. The rest falls to the automatic choice. Asked for rather than
  automatic so that the automatic choice, and what it reports, stay as they were;
  `SimulatedBackend` asks for it.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from mtjlab.core.checks import check_array, check_choice, check_scalar
from mtjlab.sim._solver_block import BandedSystem, solve_block, solve_block_batched
from mtjlab.sim._solver_block import batched_eligible as batched_block_eligible
from mtjlab.sim._solver_block import eligible as block_eligible
from mtjlab.sim._solver_common import (
    Ends,
    NotPositiveDefiniteError,
    resistive_split,
    structure_eligible,
)
from mtjlab.sim._solver_iterative import RTOL, IterationLimitError, solve_pcg
from mtjlab.sim._solver_nodal import solve_nodes

__all__ = [
    "METHOD_TABLE",
    "ConvergenceError",
    "CrossbarSolution",
    "SolverMethod",
    "Terminals",
    "solve_crossbar",
]

# Line segments below this resistance are solved as ideal (zero-resistance) lines: their exact
# limit, where 1 / r would overflow the nodal equations.
IDEAL_SEGMENT_OHM = 1e-12

# Arrays from this many devices on take the iterative path (conjugate gradients preconditioned
# by the line chains) where the block path does not apply for size alone, and in Newton steps
# where the batched block form does not apply (more than 32 lines): measured faster than the
# sparse factorization there, 2x to 18x from 48x48 to 256x256.
PCG_MIN_DEVICES = 32 * 32

# One or two input vectors on an array from this many devices on: the automatic choice tries
# conjugate gradients before the block path, whose elimination costs the same for one vector as
# for hundreds. Run to PCG_FIRST_RTOL, tighter than the iterative path's own residual, so that
# the column currents agree with the sparse direct path as closely as the block path's do (1.9e-12
# against 2.0e-12 relative at 256x256). Measured for one vector: 2.4x faster than the block path
# at 64x64, 3.8x at 128x128, 5x at 256x256; for three or more vectors the block path is faster.
PCG_FIRST_DEVICES = 64 * 64
PCG_FIRST_VECTORS = 2
PCG_FIRST_RTOL = 1e-15

log = logging.getLogger(__name__)

DeviceIV = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


class ConvergenceError(RuntimeError):
    """Newton's method did not reach the voltage tolerance within the allowed iterations."""


@dataclass(frozen=True, eq=False)
class Terminals:
    """What each of the four ends of every line is connected to.

    Each array holds one voltage per line, shape (lines,) or (lines, k) for k input vectors;
    NaN means the end is open. A line with both ends NaN floats; a bias or ground (0 V, an
    ammeter) is a voltage on one or both ends. The NaN pattern must be the same for all k
    vectors (one circuit, one factorization).

    Attributes
    ----------
    row_start_v : array_like, shape (rows,) or (rows, k)
        Source at the column-0 end of each row line, volts.
    row_end_v : array_like, shape (rows,) or (rows, k)
        Source at the last-column end of each row line, volts.
    column_start_v : array_like, shape (cols,) or (cols, k)
        Source at the row-0 end of each column line, volts.
    column_end_v : array_like, shape (cols,) or (cols, k)
        Source at the last-row end of each column line, volts.
    """

    row_start_v: np.ndarray
    row_end_v: np.ndarray
    column_start_v: np.ndarray
    column_end_v: np.ndarray

    @classmethod
    def default(cls, row_voltages, rows: int, cols: int) -> Terminals:
        """The default termination: rows driven at their start, columns grounded at their end.

        Parameters
        ----------
        row_voltages : array_like, shape (rows,) or (rows, k)
            Voltages driving each row line at its column-0 end.
        rows, cols : int
            Array size.

        Returns
        -------
        Terminals
            Row ends and column starts open, column ends at 0 V (ammeters).
        """
        volts = np.asarray(row_voltages, dtype=float)
        if volts.ndim not in (1, 2) or volts.shape[0] != rows:
            raise ValueError(
                f"row_voltages must have shape ({rows},) or ({rows}, k); got {volts.shape}"
            )
        tail = volts.shape[1:]
        return cls(
            row_start_v=volts,
            row_end_v=np.full((rows, *tail), np.nan),
            column_start_v=np.full((cols, *tail), np.nan),
            column_end_v=np.zeros((cols, *tail)),
        )

    @classmethod
    def open(cls, rows: int, cols: int) -> Terminals:
        """Every end open: a starting point to tie chosen ends with `dataclasses.replace`."""
        return cls(
            row_start_v=np.full(rows, np.nan),
            row_end_v=np.full(rows, np.nan),
            column_start_v=np.full(cols, np.nan),
            column_end_v=np.full(cols, np.nan),
        )


@dataclass(frozen=True, eq=False)
class CrossbarSolution:
    """Currents and node voltages of a solved crossbar.

    Shapes have a leading k axis (input vectors) when the voltages given were 2-D, none when 1-D.
    Row currents count positive INTO the array from the row terminals; column currents count
    positive OUT of the array into the column terminals. An open end carries 0 A.

    Attributes
    ----------
    column_currents_a : ndarray, shape ([k,] cols)
        Current out of the array through each column's terminals (both ends summed), amps.
    row_currents_a : ndarray, shape ([k,] rows)
        Current into the array through each row's terminals (both ends summed), amps.
    row_start_current_a, row_end_current_a : ndarray, shape ([k,] rows)
        Per-end row terminal currents, into the array.
    column_start_current_a, column_end_current_a : ndarray, shape ([k,] cols)
        Per-end column terminal currents, out of the array.
    row_node_v, column_node_v : ndarray, shape ([k,] rows, cols)
        Voltage of the row-line and column-line node at each crosspoint (the block path
        computes the column node voltages on first access).
    device_voltages_v, device_currents_a : ndarray, shape ([k,] rows, cols)
        Row node minus column node voltage, and the current from row to column line, per
        device (computed on first access).
    iterations : int
        Newton iterations (0 for linear devices).
    method : str
        Path that solved it: "ideal", "nodal", "block", "pcg" or "banded" (see `METHOD_TABLE`).
    fallbacks : tuple of str
        The methods that were asked for but did not apply, or applied and failed, each as
        ``"name: why"``, in the order tried (also logged). Empty when the first choice ran.
    """

    column_currents_a: np.ndarray
    row_currents_a: np.ndarray
    row_start_current_a: np.ndarray
    row_end_current_a: np.ndarray
    column_start_current_a: np.ndarray
    column_end_current_a: np.ndarray
    iterations: int
    method: str
    # Node voltages as arrays, or as functions computing them on first access (the block path
    # gets the currents without them).
    _row_node_v: np.ndarray | Callable[[], np.ndarray] = field(repr=False, compare=False)
    _column_node_v: np.ndarray | Callable[[], np.ndarray] = field(repr=False, compare=False)
    _conductance_s: np.ndarray | None = field(default=None, repr=False, compare=False)
    _device_currents: np.ndarray | None = field(default=None, repr=False, compare=False)
    #: Methods that were asked for or tried and did not solve, each with why, in order.
    fallbacks: tuple[str, ...] = ()

    @cached_property
    def row_node_v(self) -> np.ndarray:
        """Voltage of the row-line node at each crosspoint, shape ([k,] rows, cols)."""
        v = self._row_node_v
        return v if isinstance(v, np.ndarray) else v()

    @cached_property
    def column_node_v(self) -> np.ndarray:
        """Voltage of the column-line node at each crosspoint, shape ([k,] rows, cols)."""
        v = self._column_node_v
        return v if isinstance(v, np.ndarray) else v()

    @cached_property
    def device_voltages_v(self) -> np.ndarray:
        """Row node minus column node voltage across each device, shape ([k,] rows, cols)."""
        return self.row_node_v - self.column_node_v

    @cached_property
    def device_currents_a(self) -> np.ndarray:
        """Current through each device from row line to column line, shape ([k,] rows, cols)."""
        if self._device_currents is not None:
            return self._device_currents
        return self._conductance_s * self.device_voltages_v


def _as_conductance(conductance_s) -> np.ndarray:
    # A private copy: node voltages and device currents may be computed from it later.
    g = np.array(conductance_s, dtype=float)
    if g.ndim != 2 or 0 in g.shape:
        raise ValueError(
            f"conductance_s must be a non-empty 2-D (rows, cols) array; got shape {g.shape}"
        )
    return check_array(g, "conductance_s", low=0.0, unit="S (0 is an open device)")


def _as_resistance(name: str, value) -> float:
    r = np.asarray(value, dtype=float)
    if r.ndim != 0:
        raise ValueError(f"{name} must be a scalar (ohm per segment); got shape {r.shape}")
    return float(check_array(r, name, low=0.0, unit="ohm per segment"))


def _as_ends(terminals: Terminals, rows: int, cols: int) -> tuple[Ends, bool]:
    """Validate terminals; return them as (lines, k) arrays and whether the input was batched."""
    arrays = {}
    for name, lines in (
        ("row_start_v", rows),
        ("row_end_v", rows),
        ("column_start_v", cols),
        ("column_end_v", cols),
    ):
        a = np.asarray(getattr(terminals, name), dtype=float)
        if a.ndim not in (1, 2) or a.shape[0] != lines or (a.ndim == 2 and a.shape[1] == 0):
            raise ValueError(
                f"terminals.{name} must have shape ({lines},) or ({lines}, k) with k >= 1; "
                f"got {a.shape}"
            )
        if np.isinf(a).any():
            raise ValueError(f"terminals.{name} must be finite volts or NaN (open); got inf")
        arrays[name] = a
    ks = {a.shape[1] for a in arrays.values() if a.ndim == 2}
    if len(ks) > 1:
        shapes = {name: a.shape for name, a in arrays.items()}
        raise ValueError(f"terminals arrays disagree on the number of vectors k: {shapes}")
    batched = bool(ks)
    k = ks.pop() if batched else 1
    for name, a in arrays.items():
        a = a if a.ndim == 2 else a[:, None]
        a = np.ascontiguousarray(np.broadcast_to(a, (a.shape[0], k)))
        nan = np.isnan(a)
        mixed = nan.any(axis=1) & ~nan.all(axis=1)
        if mixed.any():
            line = int(np.argmax(mixed))
            raise ValueError(
                f"terminals.{name}: line {line} is open (NaN) for some input vectors and tied "
                "for others; the NaN pattern must be the same for all k vectors "
                "(one circuit topology per solve)"
            )
        arrays[name] = a
    return Ends(**arrays), batched


def _check_lumped_ends(name: str, start_v: np.ndarray, end_v: np.ndarray) -> None:
    both = ~np.isnan(start_v[:, 0]) & ~np.isnan(end_v[:, 0])
    clash = both & (start_v != end_v).any(axis=1)
    if clash.any():
        line = int(np.argmax(clash))
        raise ValueError(
            f"{name} line {line} has zero resistance and both ends tied to different voltages "
            f"({start_v[line].tolist()} V vs {end_v[line].tolist()} V): infinite current; "
            "give the line resistance or tie the ends to the same voltage"
        )


def _lumped_split(total: np.ndarray, ends_on: tuple[np.ndarray, np.ndarray], device_a, axis):
    """Split a zero-resistance line's terminal current between its two ends.

    With both ends at one voltage, a current drawn at crosspoint p of a line of n crosspoints
    leaves by the start end with weight (n - p) / (n + 1) whatever the segment resistance, so
    that split is also the zero-resistance limit.
    """
    start_on, end_on = ends_on
    n = device_a.shape[axis]
    weight = (n - np.arange(n)) / (n + 1)
    shape = [1, 1, 1]
    shape[axis] = n
    via_start = (device_a * weight.reshape(shape)).sum(axis=axis)
    start = np.where(end_on, np.where(start_on, via_start, 0.0), total)
    start = np.where(start_on, start, 0.0)
    return start, np.where(end_on, total - start, 0.0)


def _terminal_currents(g, g_row, g_col, ends, row_v, col_v, device_a):
    """Per-end terminal currents (k, lines) from node voltages and device currents."""
    k = ends.k
    rows, cols = g.shape
    currents = {}
    if np.isfinite(g_row):
        currents["row_start"], currents["row_end"] = resistive_split(
            (ends.row_start_v.T - row_v[:, :, 0]) * g_row,
            (ends.row_end_v.T - row_v[:, :, -1]) * g_row,
            (ends.row_start_on, ends.row_end_on),
            device_a.sum(axis=2),
        )
    else:
        total = device_a.sum(axis=2)
        currents["row_start"], currents["row_end"] = _lumped_split(
            total, (ends.row_start_on, ends.row_end_on), device_a, axis=2
        )
    if np.isfinite(g_col):
        currents["col_start"], currents["col_end"] = resistive_split(
            (col_v[:, 0, :] - ends.column_start_v.T) * g_col,
            (col_v[:, -1, :] - ends.column_end_v.T) * g_col,
            (ends.col_start_on, ends.col_end_on),
            device_a.sum(axis=1),
        )
    else:
        total = device_a.sum(axis=1)
        currents["col_start"], currents["col_end"] = _lumped_split(
            total, (ends.col_start_on, ends.col_end_on), device_a, axis=1
        )
    assert all(c.shape in ((k, rows), (k, cols)) for c in currents.values())
    return currents


def _package(g, batched, currents, row_v, col_v, iterations, method, device_a=None, fallbacks=()):
    """Assemble the solution; `row_v` and `col_v` are (k, rows, cols) arrays or functions."""

    def out(a):
        return a if batched else a[0]

    def lazy(v):
        return out(v) if isinstance(v, np.ndarray) else lambda: out(v())

    column = currents["col_start"] + currents["col_end"]
    return CrossbarSolution(
        column_currents_a=out(column),
        row_currents_a=out(currents["row_start"] + currents["row_end"]),
        row_start_current_a=out(currents["row_start"]),
        row_end_current_a=out(currents["row_end"]),
        column_start_current_a=out(currents["col_start"]),
        column_end_current_a=out(currents["col_end"]),
        iterations=iterations,
        method=method,
        _row_node_v=lazy(row_v),
        _column_node_v=lazy(col_v),
        _conductance_s=g,
        _device_currents=None if device_a is None else out(device_a),
        fallbacks=tuple(fallbacks),
    )


@dataclass
class _Circuit:
    """One solve's circuit, and what its methods found out on the way (fallbacks)."""

    g: np.ndarray
    g_row: float
    g_col: float
    ends: Ends
    method: str
    fallbacks: list[str] = field(default_factory=list)

    @cached_property
    def banded(self) -> BandedSystem:
        return BandedSystem(self.g.shape, self.g_row, self.g_col, self.ends)

    def fall_back(self, name: str, why: str) -> None:
        log.info("solver: %s did not solve: %s", name, why)
        self.fallbacks.append(f"{name}: {why}")


# Each method's linear solve and Newton step return the node voltages (and, for the block
# path, the terminal currents), or an Unsolved saying why they did not solve. ``asked`` is True
# when the caller named the method: a size threshold that only says where the method is
# usually the fastest does not hold it back then.


@dataclass(frozen=True)
class Unsolved:
    """Why a method did not solve: it does not apply to the circuit (``failed`` False), or it
    applied and failed; ``str()`` is the text a fallback reports."""

    failed: bool
    why: str

    def __str__(self) -> str:
        return f"failed: {self.why}" if self.failed else f"not applicable {self.why}"


_UNREACHED = Unsolved(True, "a part of the circuit no source reaches")


def _not_applicable(why: str) -> Unsolved:
    return Unsolved(False, why)


def _banded_linear(c: _Circuit, asked: bool):
    if not c.banded.accepts(c.g[None]):
        return _not_applicable("(the block path's circuit, at most 32 lines on the shorter side)")
    try:
        row_v, col_v = c.banded.solve(c.g[None], None)
    except NotPositiveDefiniteError:
        return _UNREACHED
    return row_v, col_v, None


def _banded_step(c: _Circuit, slope, source, start, asked: bool):
    if not c.banded.accepts(slope):
        return _not_applicable("to this Newton step")
    try:
        return c.banded.solve(slope, source)
    except NotPositiveDefiniteError:
        return _UNREACHED


def _block_linear(c: _Circuit, asked: bool):
    if not block_eligible(c.g, c.g_row, c.g_col, c.ends):
        return _not_applicable(
            "(resistive lines, every node reaching a source, inverses in memory)"
        )
    solve = solve_block if c.g.shape[0] <= c.g.shape[1] else _solve_block_transposed
    try:
        return _superposed(solve, c.g, c.g_row, c.g_col, c.ends)
    except NotPositiveDefiniteError:
        return _UNREACHED


def _superposed(solve, g, g_row, g_col, ends: Ends):
    """``solve(g, g_row, g_col, ends)`` for more vectors than sources by superposition: the
    circuit is linear, so every node voltage and terminal current is a combination of the
    responses to each source alone at 1 V. With fewer sources (ends tied to a voltage other
    than 0 in some vector) than vectors, those responses are solved for instead and combined,
    one matrix product each; the node voltages only when read."""
    ends_v = (ends.row_start_v, ends.row_end_v, ends.column_start_v, ends.column_end_v)
    ends_on = (ends.row_start_on, ends.row_end_on, ends.col_start_on, ends.col_end_on)
    driving = [
        np.flatnonzero(on & (v != 0).any(axis=1)) for v, on in zip(ends_v, ends_on, strict=True)
    ]
    m = sum(d.size for d in driving)
    if m == 0 or m >= ends.k:
        return solve(g, g_row, g_col, ends)
    units = []
    weights = []  # (k, m): each source's voltage in each vector
    start = 0
    for v, lines in zip(ends_v, driving, strict=True):
        unit = np.where(np.isnan(v[:, :1]), np.nan, np.zeros((v.shape[0], m)))
        unit[lines, start + np.arange(lines.size)] = 1.0
        units.append(unit)
        weights.append(v[lines].T)
        start += lines.size
    c = np.concatenate(weights, axis=1)
    row_v, col_v, currents = solve(g, g_row, g_col, Ends(*units))

    def combine(responses):
        def combined() -> np.ndarray:
            r = responses if isinstance(responses, np.ndarray) else responses()
            return np.tensordot(c, r, axes=1)

        return combined

    return (
        combine(row_v),
        combine(col_v),
        {key: c @ value for key, value in currents.items()},
    )


def _block_step(c: _Circuit, slope, source, start, asked: bool):
    if not batched_block_eligible(slope, c.g_row, c.g_col, c.ends):
        return _not_applicable("to this Newton step (at most 32 lines on the shorter side)")
    return solve_block_batched(slope, c.g_row, c.g_col, c.ends, source)


def _pcg_first(c: _Circuit) -> bool:
    """Whether the automatic choice tries conjugate gradients before the block path here."""
    return c.g.size >= PCG_FIRST_DEVICES and c.ends.k <= PCG_FIRST_VECTORS


def _pcg(c: _Circuit, g, asked: bool, current_a=None, start=None, rtol: float = RTOL):
    if not asked and g[0].size < PCG_MIN_DEVICES:
        return _not_applicable(f"below {PCG_MIN_DEVICES} devices")
    if (g < 0).any() or not structure_eligible(g, c.g_row, c.g_col, c.ends):
        return _not_applicable("(resistive lines, every node reaching a source, no negative slope)")
    try:
        row_v, col_v, _ = solve_pcg(
            g, c.g_row, c.g_col, c.ends, current_a=current_a, start=start, rtol=rtol
        )
    except NotPositiveDefiniteError:
        return _UNREACHED
    except IterationLimitError as exc:
        return Unsolved(True, str(exc))
    return row_v, col_v


def _pcg_linear(c: _Circuit, asked: bool):
    solved = _pcg(c, c.g[None], asked, rtol=PCG_FIRST_RTOL if _pcg_first(c) else RTOL)
    return solved if isinstance(solved, Unsolved) else (*solved, None)


def _pcg_step(c: _Circuit, slope, source, start, asked: bool):
    return _pcg(c, slope, asked, current_a=source, start=start)


def _ideal_lines(c: _Circuit) -> bool:
    return math.isinf(c.g_row) and math.isinf(c.g_col)


def _ideal_linear(c: _Circuit, asked: bool):
    if not _ideal_lines(c):
        return _not_applicable("(both line resistances zero)")
    ends = c.ends
    if not (
        (ends.row_start_on | ends.row_end_on).all() and (ends.col_start_on | ends.col_end_on).all()
    ):
        return (*solve_nodes(c.g[None], c.g_row, c.g_col, ends), None)  # floating lines
    # Every line at its source: no unknown node. A line's current is its devices' sum, taken
    # as a matrix product (with the default termination, the column currents are V.T @ G).
    row_v, col_v = _source_voltages(ends, c.g.shape)
    row_src, col_src = _line_sources(ends)
    g = c.g
    row_total = row_src * g.sum(axis=1) - col_src @ g.T
    col_total = row_src @ g - col_src * g.sum(axis=0)
    device_a = g * (row_v - col_v)
    currents = {}
    currents["row_start"], currents["row_end"] = _lumped_split(
        row_total, (ends.row_start_on, ends.row_end_on), device_a, axis=2
    )
    currents["col_start"], currents["col_end"] = _lumped_split(
        col_total, (ends.col_start_on, ends.col_end_on), device_a, axis=1
    )
    return row_v, col_v, currents


def _ideal_step(c: _Circuit, slope, source, start, asked: bool):
    if not _ideal_lines(c):
        return _not_applicable("(both line resistances zero)")
    return solve_nodes(slope, c.g_row, c.g_col, c.ends, current_a=source)


def _nodal_linear(c: _Circuit, asked: bool):
    return (*solve_nodes(c.g[None], c.g_row, c.g_col, c.ends), None)


def _nodal_step(c: _Circuit, slope, source, start, asked: bool):
    return solve_nodes(slope, c.g_row, c.g_col, c.ends, current_a=source)


@dataclass(frozen=True)
class SolverMethod:
    """One way to solve the circuit: when it applies, its linear solve and its Newton step."""

    name: str
    applies: str
    automatic: bool
    linear: Callable
    step: Callable


#: The methods in the order the automatic choice tries them; the first that applies and solves
#: runs. `solve_crossbar(method=name)` tries that one first, then the automatic order.
METHOD_TABLE: tuple[SolverMethod, ...] = (
    SolverMethod(
        "banded",
        "asked for only; the block path's circuits with at most 32 lines on the shorter side",
        False,
        _banded_linear,
        _banded_step,
    ),
    SolverMethod(
        "ideal",
        "both line resistances zero: every tied line at its source, floating ones solved",
        True,
        _ideal_linear,
        _ideal_step,
    ),
    SolverMethod(
        "block",
        "resistive lines, every node reaching a source, block inverses within memory "
        "(up to 256x256); Newton steps up to 32 lines on the shorter side",
        True,
        _block_linear,
        _block_step,
    ),
    SolverMethod(
        "pcg",
        f"the block path's circuits from {PCG_MIN_DEVICES} devices on (any size when asked), "
        "no negative slope",
        True,
        _pcg_linear,
        _pcg_step,
    ),
    SolverMethod(
        "nodal",
        "any circuit (sparse LU)",
        True,
        _nodal_linear,
        _nodal_step,
    ),  # fmt: skip
)
_BY_NAME = {m.name: m for m in METHOD_TABLE}
#: What `solve_crossbar(method=...)` accepts.
METHODS = ("auto", *_BY_NAME)


def _order(method: str, c: _Circuit | None = None) -> list[SolverMethod]:
    automatic = [m for m in METHOD_TABLE if m.automatic]
    if method == "auto":
        if c is not None and _pcg_first(c):  # few vectors on a large array (PCG_FIRST_DEVICES)
            pcg, block = _BY_NAME["pcg"], _BY_NAME["block"]
            automatic.remove(pcg)
            automatic.insert(automatic.index(block), pcg)
        return automatic
    first = _BY_NAME[method]
    return [first, *(m for m in automatic if m is not first)]


def _try(c: _Circuit, solve: Callable[[SolverMethod, bool], object]):
    """The first method in `c.method`'s order that solves, and what it gave; a method asked
    for that does not solve, and one that applies but fails, are recorded as fallbacks."""
    for m in _order(c.method, c):
        asked = m.name == c.method
        result = solve(m, asked)
        if not isinstance(result, Unsolved):
            return m.name, result
        if asked or result.failed:
            c.fall_back(m.name, str(result))
    raise AssertionError("the nodal method solves every circuit")  # pragma: no cover


def _solve_linear(c: _Circuit, currents_needed=True):
    """Linear solve by the first method that solves: (row_v, col_v, currents, method).

    Node voltages come back as (k, rows, cols) arrays, or as functions from the block path.
    Without `currents_needed` (a Newton start) the currents may come back None.
    """
    name, (row_v, col_v, currents) = _try(c, lambda m, asked: m.linear(c, asked))
    if currents is None and currents_needed:
        device_a = c.g * (row_v - col_v)
        currents = _terminal_currents(c.g, c.g_row, c.g_col, c.ends, row_v, col_v, device_a)
    return row_v, col_v, currents, name


def _solve_block_transposed(g, g_row, g_col, ends):
    """The block path on the transposed array, whose blocks are smaller (cost cols * rows**3).

    Column lines become row lines: node voltages swap, and a current into the array by a
    transposed row is a current out of it by the original column with the sign reversed.
    """
    swapped = Ends(
        row_start_v=ends.column_start_v,
        row_end_v=ends.column_end_v,
        column_start_v=ends.row_start_v,
        column_end_v=ends.row_end_v,
    )
    col_v, row_v_fn, cur = solve_block(np.ascontiguousarray(g.T), g_col, g_row, swapped)
    currents = {
        "row_start": -cur["col_start"],
        "row_end": -cur["col_end"],
        "col_start": -cur["row_start"],
        "col_end": -cur["row_end"],
    }
    return (lambda: row_v_fn().transpose(0, 2, 1)), col_v.transpose(0, 2, 1), currents


def solve_crossbar(
    conductance_s,
    row_voltages=None,
    r_row: float = 0.0,
    r_col: float = 0.0,
    *,
    terminals: Terminals | None = None,
    device_iv: DeviceIV | None = None,
    tol_v: float = 1e-9,
    max_iter: int = 50,
    method: str = "auto",
) -> CrossbarSolution:
    """Solve the DC node voltages and terminal currents of a passive crossbar, exactly.

    Parameters
    ----------
    conductance_s : array_like, shape (rows, cols)
        Device conductances in siemens, >= 0 (0 is an open device; a shorted device is a large
        conductance such as 1e3 S). For nonlinear devices, the conductance Newton starts from.
    row_voltages : array_like, shape (rows,) or (rows, k), optional
        Input voltages under the DEFAULT TERMINATION: row i is driven at its start (column-0)
        end through one `r_row` segment, column j is held at 0 V by an ammeter at its end
        (row rows-1) through one `r_col` segment, and the other ends are open. Give either this
        or `terminals`.
    r_row, r_col : float
        Resistance of one row-line / column-line segment, ohm, >= 0. Zero makes the line an
        ideal node (solved exactly, not as a small resistance); so is any value below
        1e-12 ohm.
    terminals : Terminals, optional
        Any termination: each line end open (NaN), driven, biased or grounded.
    device_iv : callable, optional
        Nonlinear device law ``device_iv(v) -> (current_a, conductance_s)`` for device voltages
        v of shape (k, rows, cols) (row node minus column node), returning the current and its
        derivative dI/dV with the same shape. Solved by Newton's method from the linear
        solution with `conductance_s`.
    tol_v : float
        Newton stops when the largest node-voltage update is below this, volts.
    max_iter : int
        Newton iterations allowed before `ConvergenceError`.
    method : {"auto", "banded", "block", "pcg", "nodal"}
        "auto" picks the path by the circuit and its shape (`METHOD_TABLE`). A name tries that
        method first for the linear solve and every Newton step, and the automatic order where
        it does not apply or fails; the solution lists those fallbacks. "banded" is the fastest
        on the small arrays of the simulated bench; "nodal" solves any circuit (the reference).

    Returns
    -------
    CrossbarSolution
        Column currents (out of the array), row currents (into it), per-end currents, node
        voltages, device voltages and currents, with a leading k axis for 2-D inputs.

    Raises
    ------
    ValueError
        On an invalid argument (the message names it, what came and what is allowed).
    ConvergenceError
        If Newton's method does not converge within `max_iter` iterations.

    Notes
    -----
    A part of the circuit that no source reaches (for example a floating line whose devices are
    all open) has no defined potential; its nodes are reported at 0 V and carry no current. With
    zero line resistance and both ends of a line tied to one voltage, the terminal current splits
    between the ends as it does for any equal segments.

    Terminal currents of a line tied at one end are the sum of its device currents (Kirchhoff's
    law over the line); a line tied at both ends splits by its terminal segments' voltage drops,
    whose relative accuracy is about 1e-16 times the line's device resistance over the segment
    resistance. The block path takes row currents from the terminal segments too, and is used
    only where that ratio keeps them to about 1e-12.

    See the module docstring for the method chosen by shape.
    """
    g = _as_conductance(conductance_s)
    rows, cols = g.shape
    r_row = _as_resistance("r_row", r_row)
    r_col = _as_resistance("r_col", r_col)
    if (row_voltages is None) == (terminals is None):
        raise ValueError(
            "give exactly one of row_voltages (default termination) or terminals; got "
            + ("both" if terminals is not None else "neither")
        )
    if terminals is None:
        volts = np.asarray(row_voltages, dtype=float)
        if volts.ndim not in (1, 2) or volts.shape[0] != rows or 0 in volts.shape:
            raise ValueError(
                f"row_voltages must have shape ({rows},) or ({rows}, k) with k >= 1 to match "
                f"conductance_s of shape {g.shape}; got {volts.shape}"
            )
        check_array(volts, "row_voltages", unit="V")
        batched = volts.ndim == 2
        volts = volts if batched else volts[:, None]
        k = volts.shape[1]
        ends = Ends(  # the default termination, valid by construction
            row_start_v=volts,
            row_end_v=np.full((rows, k), np.nan),
            column_start_v=np.full((cols, k), np.nan),
            column_end_v=np.zeros((cols, k)),
        )
    elif not isinstance(terminals, Terminals):
        raise TypeError(f"terminals must be a Terminals; got {type(terminals).__name__}")
    else:
        ends, batched = _as_ends(terminals, rows, cols)
    # Conductance per segment; segments below IDEAL_SEGMENT_OHM are solved as ideal lines.
    g_row = 1.0 / r_row if r_row >= IDEAL_SEGMENT_OHM else math.inf
    g_col = 1.0 / r_col if r_col >= IDEAL_SEGMENT_OHM else math.inf
    if math.isinf(g_row):
        _check_lumped_ends("row", ends.row_start_v, ends.row_end_v)
    if math.isinf(g_col):
        _check_lumped_ends("column", ends.column_start_v, ends.column_end_v)
    if device_iv is not None and not callable(device_iv):
        raise TypeError(f"device_iv must be callable; got {type(device_iv).__name__}")
    tol_v = check_scalar(tol_v, "tol_v", low=0.0, low_open=True, unit="V")
    max_iter = check_scalar(max_iter, "max_iter", kind=int, low=1, type_error=ValueError)
    check_choice("method", method, METHODS)
    return _solve(g, g_row, g_col, ends, batched, device_iv, tol_v, max_iter, method)


def solve_ends(
    conductance_s: np.ndarray,
    r_row: float,
    r_col: float,
    ends: Ends,
    *,
    device_iv: DeviceIV | None = None,
    tol_v: float = 1e-9,
    max_iter: int = 50,
    method: str = "auto",
    start: str = "linear",
) -> CrossbarSolution:
    """`solve_crossbar` without its argument checks, for callers inside `mtjlab.sim` that build
    valid arguments themselves and solve often (the simulated backend, on every operation).

    `conductance_s` is a float (rows, cols) array of finite values >= 0 that the solution may
    keep (not changed afterwards); `r_row`, `r_col` finite floats >= 0; `ends` terminal voltages
    of shape (lines, k), finite or NaN with one NaN pattern for all k. The solution always has
    the leading k axis. What is checked here is only what a valid-looking call can still get
    wrong: zero-resistance lines tied to two voltages.

    `start` is where Newton's method starts: "linear", the linear solution with
    `conductance_s` (as `solve_crossbar`), or "sources", every node at its line's source voltage
    (the solution with ideal lines) where every line is tied, else the linear solution. From
    "sources" Newton needs about one step more, but no linear solve: one solve fewer for a
    single vector, whose linear solve costs a Newton step (a write pulse), one more for a batch,
    whose linear solve shares one matrix among all vectors. Both end at the same solution, to
    within the last step's quadratic remainder of `tol_v`.
    """
    g_row = 1.0 / r_row if r_row >= IDEAL_SEGMENT_OHM else math.inf
    g_col = 1.0 / r_col if r_col >= IDEAL_SEGMENT_OHM else math.inf
    if math.isinf(g_row):
        _check_lumped_ends("row", ends.row_start_v, ends.row_end_v)
    if math.isinf(g_col):
        _check_lumped_ends("column", ends.column_start_v, ends.column_end_v)
    check_choice("start", start, ("linear", "sources"))
    tied = ends.row_start_on | ends.row_end_on, ends.col_start_on | ends.col_end_on
    check_choice("method", method, METHODS)
    if device_iv is not None and start == "sources" and tied[0].all() and tied[1].all():
        c = _Circuit(conductance_s, g_row, g_col, ends, method)
        row_v, col_v = _source_voltages(ends, conductance_s.shape)
        try:
            return _newton(c, True, row_v, col_v, device_iv, tol_v, max_iter)
        except ConvergenceError:
            pass  # not from there: from the linear solution, as solve_crossbar starts
    return _solve(conductance_s, g_row, g_col, ends, True, device_iv, tol_v, max_iter, method)


def _step(c, slope, source, start, m: SolverMethod, asked: bool):
    return m.step(c, slope, source, start, asked)


def _distinct(items: list[str]) -> list[str]:
    """``items`` without repeats, in order (a Newton step's fallback recurs every step)."""
    return list(dict.fromkeys(items))


def _line_sources(ends: Ends) -> tuple[np.ndarray, np.ndarray]:
    """Each line's source voltage (its start end's where both ends are tied), as (k, rows) and
    (k, cols) transposed views."""
    row_src = np.where(ends.row_start_on[:, None], ends.row_start_v, ends.row_end_v)
    col_src = np.where(ends.col_start_on[:, None], ends.column_start_v, ends.column_end_v)
    return row_src.T, col_src.T


def _source_voltages(ends: Ends, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Node voltages (k, rows, cols) of every line at its source: the solution with ideal
    lines, for lines that are all tied."""
    rows, cols = shape
    row_src, col_src = _line_sources(ends)
    k = ends.k
    row_v = np.broadcast_to(row_src[:, :, None], (k, rows, cols)).copy()
    col_v = np.broadcast_to(col_src[:, None, :], (k, rows, cols)).copy()
    return row_v, col_v


def _solve(g, g_row, g_col, ends, batched, device_iv, tol_v, max_iter, method):
    """The solve behind `solve_crossbar` and `solve_ends`, on checked arguments."""
    c = _Circuit(g, g_row, g_col, ends, method)
    row_v, col_v, currents, ran = _solve_linear(c, device_iv is None)
    if device_iv is None:
        return _package(g, batched, currents, row_v, col_v, 0, ran, fallbacks=c.fallbacks)
    row_v = row_v if isinstance(row_v, np.ndarray) else row_v()
    col_v = col_v if isinstance(col_v, np.ndarray) else col_v()
    return _newton(c, batched, row_v, col_v, device_iv, tol_v, max_iter)


def _call_device_iv(device_iv: DeviceIV, volts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    result = device_iv(volts)
    if not (isinstance(result, tuple) and len(result) == 2):
        raise TypeError(
            f"device_iv must return (current_a, conductance_s); got {type(result).__name__}"
        )
    current, slope = (np.asarray(a, dtype=float) for a in result)
    for name, a in (("current_a", current), ("conductance_s", slope)):
        if a.shape != volts.shape:
            raise ValueError(
                f"device_iv returned {name} of shape {a.shape}; expected {volts.shape} "
                "(k, rows, cols) like its voltage argument"
            )
        if not np.isfinite(a).all():
            raise ValueError(f"device_iv returned non-finite {name} for finite voltages")
    return current, slope


def _newton(c: _Circuit, batched, row_v, col_v, device_iv, tol_v, max_iter):
    """Newton's method: each device as its slope conductance plus a parallel current source;
    each step by the first method in the table that solves it."""
    g, g_row, g_col, ends = c.g, c.g_row, c.g_col, c.ends
    update = np.inf
    methods = set()
    for iteration in range(1, max_iter + 1):
        volts = row_v - col_v
        current, slope = _call_device_iv(device_iv, volts)
        source = current - slope * volts
        step = functools.partial(_step, c, slope, source, (row_v, col_v))
        name, (new_row_v, new_col_v) = _try(c, step)
        methods.add(name)
        update = max(np.abs(new_row_v - row_v).max(), np.abs(new_col_v - col_v).max())
        row_v, col_v = new_row_v, new_col_v
        if update < tol_v:
            device_a, _ = _call_device_iv(device_iv, row_v - col_v)
            currents = _terminal_currents(g, g_row, g_col, ends, row_v, col_v, device_a)
            method = methods.pop() if len(methods) == 1 else "nodal"
            return _package(
                g, batched, currents, row_v, col_v, iteration, method, device_a,
                fallbacks=_distinct(c.fallbacks),
            )  # fmt: skip
    raise ConvergenceError(
        f"Newton's method did not converge in {max_iter} iterations: last node-voltage update "
        f"{update:.3g} V, tolerance tol_v={tol_v:.3g} V"
    )
