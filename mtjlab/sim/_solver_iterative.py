"""Iterative path of the crossbar solver, for arrays too large to factor: conjugate gradients on
the nodal equations, preconditioned by the lines' own chains.

The nodal matrix of a crossbar whose every node reaches a source is symmetric positive definite.
Split it as A = M - C: M holds every row line's chain (its segments, terminal ties and the
devices' conductances on the diagonal) and every column line's chain, and C is the device
coupling between a row node and the column node it faces. M is block tridiagonal with one
tridiagonal block per line, so it is factored once (LAPACK ``pttrf``, linear in the node count)
and applied by ``pttrs``; A is applied matrix-free in a few array passes. Memory and work per
iteration are linear in rows x cols, and the iteration count grows slowly with the array (tens
of iterations at 512x512), which is what makes 1024x1024 arrays solvable where a sparse
factorization of two million nodes is not.

Many vectors are iterated together, each with its own step lengths; with a conductance matrix
per vector (a Newton step) each vector has its own preconditioner, factored as one long chain.

A device that conducts like a line segment or more (a short) couples its row and column chains
as strongly as they hold together, which the chains alone do not see: 0.2 % shorts of 1e3 S
took a 512x512 array from 39 iterations to 666. With one conductance matrix for all vectors the
preconditioner therefore also carries the strong devices exactly: it is the chains plus one
rank-1 term per strong device, g (e_u - e_w)(e_u - e_w)^T, applied by the Woodbury identity. Its
small matrix couples two strong devices only when they share a line (the chains' inverses are
block diagonal), is built from one solve of each such line's chain, and is factored once.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
from scipy.linalg import lapack

from mtjlab.sim._solver_common import Ends, NotPositiveDefiniteError

#: Relative residual (against the right-hand side, per vector) at which iteration stops. Column
#: currents then agree with the sparse direct path to about 1e-9 relative (tests pin 1e-8).
RTOL = 1e-13

#: Iterations allowed before the caller falls back to the direct path.
MAX_ITERATIONS = 5000

#: A device at least this fraction of the smaller segment conductance is carried exactly by the
#: preconditioner (a short), up to MAX_STRONG of them; weaker devices barely couple the chains.
STRONG_FRACTION = 0.05
MAX_STRONG = 4000


class IterationLimitError(ArithmeticError):
    """Conjugate gradients did not reach the tolerance within MAX_ITERATIONS."""


def _chain_factor(diag: np.ndarray, g_seg: float, length: int) -> tuple[np.ndarray, np.ndarray]:
    """Factor (pttrf) the chains laid end to end in ``diag``: each ``length`` nodes long, joined
    to its neighbours by ``-g_seg``, and to nothing across a chain boundary."""
    d = np.ascontiguousarray(diag, dtype=float).ravel()
    e = np.full(d.size - 1, -g_seg)
    e[length - 1 :: length] = 0.0
    d, e, info = lapack.dpttrf(d, e)
    if info != 0:
        raise NotPositiveDefiniteError("a line chain is not positive definite")
    return d, e


class _System:
    """The nodal equations of the crossbar as an operator, a right-hand side and a
    preconditioner, on node arrays of shape (k, rows, cols)."""

    def __init__(self, g: np.ndarray, g_row: float, g_col: float, ends: Ends, current_a):
        blocks, rows, cols = g.shape
        k = ends.k
        self.g, self.g_row, self.g_col = g, g_row, g_col
        self.k, self.rows, self.cols = k, rows, cols
        self.per_vector = blocks > 1

        deg_row = np.full(cols, 2.0)
        deg_row[[0, -1]] = 1.0 if cols > 1 else 0.0
        deg_col = np.full(rows, 2.0)
        deg_col[[0, -1]] = 1.0 if rows > 1 else 0.0
        tie_row = np.zeros((rows, cols))
        tie_row[:, 0] += g_row * ends.row_start_on
        tie_row[:, -1] += g_row * ends.row_end_on
        tie_col = np.zeros((rows, cols))
        tie_col[0, :] += g_col * ends.col_start_on
        tie_col[-1, :] += g_col * ends.col_end_on
        self.diag_u = g_row * deg_row[None, :] + tie_row + g  # (blocks, rows, cols)
        self.diag_w = g_col * deg_col[:, None] + tie_col + g

        b_u = np.zeros((k, rows, cols))
        b_w = np.zeros((k, rows, cols))
        rs, re = ends.row_start_on, ends.row_end_on
        cs, ce = ends.col_start_on, ends.col_end_on
        b_u[:, rs, 0] += g_row * ends.row_start_v[rs].T
        b_u[:, re, -1] += g_row * ends.row_end_v[re].T
        b_w[:, 0, cs] += g_col * ends.column_start_v[cs].T
        b_w[:, -1, ce] += g_col * ends.column_end_v[ce].T
        if current_a is not None:
            b_u -= current_a
            b_w += current_a
        self.b = (b_u, b_w)

        # Row chains in row-major order, column chains in column-major order.
        self.strong: _StrongDevices | None = None
        if not self.per_vector:
            self.strong = _StrongDevices.build(self, g[0])
        if self.strong is None:
            self.m_u = _chain_factor(self.diag_u, g_row, cols)
            self.m_w = _chain_factor(self.diag_w.transpose(0, 2, 1), g_col, rows)

    def apply(self, u: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        g, g_row, g_col = self.g, self.g_row, self.g_col
        au = self.diag_u * u - g * w
        au[:, :, 1:] -= g_row * u[:, :, :-1]
        au[:, :, :-1] -= g_row * u[:, :, 1:]
        aw = self.diag_w * w - g * u
        aw[:, 1:, :] -= g_col * w[:, :-1, :]
        aw[:, :-1, :] -= g_col * w[:, 1:, :]
        return au, aw

    def chains(self, r_u: np.ndarray, r_w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Solve the line chains (the block-diagonal part of the preconditioner)."""
        k, rows, cols = r_u.shape
        if self.per_vector:  # one long chain over all vectors, one right-hand side
            z_u = lapack.dpttrs(*self.m_u, r_u.reshape(-1, 1))[0].reshape(k, rows, cols)
            z_w = lapack.dpttrs(*self.m_w, r_w.transpose(0, 2, 1).reshape(-1, 1))[0]
            return z_u, z_w.reshape(k, cols, rows).transpose(0, 2, 1)
        z_u = lapack.dpttrs(*self.m_u, r_u.reshape(k, -1).T)[0]
        z_w = lapack.dpttrs(*self.m_w, r_w.transpose(0, 2, 1).reshape(k, -1).T)[0]
        return (
            z_u.T.reshape(k, rows, cols),
            z_w.T.reshape(k, cols, rows).transpose(0, 2, 1),
        )

    def precondition(self, r_u: np.ndarray, r_w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        z_u, z_w = self.chains(r_u, r_w)
        if self.strong is None:
            return z_u, z_w
        return self.strong.correct(self, z_u, z_w)


class _StrongDevices:
    """The strong devices of a shared conductance matrix, carried exactly by the
    preconditioner: P = M0 + V G V^T, with M0 the chains holding only the weak devices on their
    diagonals, V one column e_u - e_w per strong device and G their conductances; by Woodbury,
    P^-1 r = z - M0^-1 V S^-1 V^T z with z = M0^-1 r and S = G^-1 + V^T M0^-1 V."""

    def __init__(self, rows_at: np.ndarray, cols_at: np.ndarray, factor) -> None:
        self.i, self.j = rows_at, cols_at
        self.factor = factor

    @classmethod
    def build(cls, system: _System, g: np.ndarray) -> _StrongDevices | None:
        """Factor M0 and S onto ``system`` (its m_u, m_w), or None to leave the chains as
        they are (no strong device, too many, or M0 not positive definite)."""
        threshold = STRONG_FRACTION * min(system.g_row, system.g_col)
        strong = g >= threshold
        count = int(strong.sum())
        if count == 0 or count > MAX_STRONG:
            return None
        rows, cols = system.rows, system.cols
        weak = np.where(strong, 0.0, g)
        try:
            m_u = _chain_factor(system.diag_u[0] - g + weak, system.g_row, cols)
            m_w = _chain_factor((system.diag_w[0] - g + weak).T, system.g_col, rows)
        except NotPositiveDefiniteError:
            return None  # a line held up by its strong devices alone
        i, j = np.nonzero(strong)
        s = np.diag(1.0 / g[i, j])
        # V^T M0^-1 V: two strong devices meet on a row chain if they share the row, on a
        # column chain if they share the column (M0 has no row-to-column coupling).
        for (d, e), length, line, place in ((m_u, cols, i, j), (m_w, rows, j, i)):
            for n in np.unique(line):
                members = np.flatnonzero(line == n)
                unit = np.zeros((length, members.size))
                unit[place[members], np.arange(members.size)] = 1.0
                part = slice(n * length, (n + 1) * length)
                inverse = lapack.dpttrs(d[part], e[part][: length - 1], unit)[0]
                s[np.ix_(members, members)] += inverse[place[members], :]
        try:
            factor = scipy.linalg.cho_factor(s, lower=True, check_finite=False)
        except np.linalg.LinAlgError:
            return None
        system.m_u, system.m_w = m_u, m_w
        return cls(i, j, factor)

    def correct(
        self, system: _System, z_u: np.ndarray, z_w: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        i, j = self.i, self.j
        y = z_u[:, i, j] - z_w[:, i, j]  # V^T z, shape (k, strong)
        x = scipy.linalg.cho_solve(self.factor, y.T, check_finite=False).T
        t_u = np.zeros_like(z_u)
        t_w = np.zeros_like(z_w)
        t_u[:, i, j] = x
        t_w[:, i, j] = -x
        c_u, c_w = system.chains(t_u, t_w)
        return z_u - c_u, z_w - c_w


def _dot(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Per-vector inner product of two (u, w) node-array pairs: shape (k,)."""
    return np.einsum("kij,kij->k", a[0], b[0]) + np.einsum("kij,kij->k", a[1], b[1])


def solve_pcg(
    conductance_s: np.ndarray,
    g_row: float,
    g_col: float,
    ends: Ends,
    current_a: np.ndarray | None = None,
    start: tuple[np.ndarray, np.ndarray] | None = None,
    rtol: float = RTOL,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Node voltages by preconditioned conjugate gradients.

    Parameters
    ----------
    conductance_s : ndarray, shape (K, rows, cols)
        Device conductances, K = 1 (shared) or k (one per vector, as in a Newton step); every
        chain must be positive definite (`structure_eligible` of the block path).
    g_row, g_col : float
        Finite segment conductances.
    ends : Ends
        Terminal voltages.
    current_a : ndarray, shape (k, rows, cols), optional
        Current sources in parallel with the devices, from row node to column node.
    start : (row_node_v, column_node_v), optional
        Starting point (a Newton step starts from the last iterate).
    rtol : float
        Stop when every vector's residual norm is below ``rtol`` times its right-hand side's.

    Returns
    -------
    row_node_v, column_node_v : ndarray, shape (k, rows, cols)
    iterations : int

    Raises
    ------
    NotPositiveDefiniteError
        If a line chain is not positive definite.
    IterationLimitError
        If the tolerance is not met within MAX_ITERATIONS.
    """
    system = _System(conductance_s, g_row, g_col, ends, current_a)
    k, rows, cols = system.k, system.rows, system.cols
    if start is None:
        x = (np.zeros((k, rows, cols)), np.zeros((k, rows, cols)))
        r = (system.b[0].copy(), system.b[1].copy())
    else:
        x = (np.array(start[0], dtype=float), np.array(start[1], dtype=float))
        ax = system.apply(*x)
        r = (system.b[0] - ax[0], system.b[1] - ax[1])
    target = rtol * np.sqrt(_dot(system.b, system.b))
    active = np.sqrt(_dot(r, r)) > target
    z = system.precondition(*r)
    p = (z[0].copy(), z[1].copy())
    rz = _dot(r, z)
    iterations = 0
    while active.any():
        if iterations == MAX_ITERATIONS:
            raise IterationLimitError(
                f"conjugate gradients did not reach rtol={rtol:g} in {MAX_ITERATIONS} iterations"
            )
        iterations += 1
        ap = system.apply(*p)
        p_ap = _dot(p, ap)
        alpha = np.divide(rz, p_ap, out=np.zeros(k), where=active & (p_ap > 0))[:, None, None]
        for xi, pi, ri, api in zip(x, p, r, ap, strict=True):
            xi += alpha * pi
            ri -= alpha * api
        active &= np.sqrt(_dot(r, r)) > target
        z = system.precondition(*r)
        rz_new = _dot(r, z)
        beta = np.divide(rz_new, rz, out=np.zeros(k), where=active & (rz > 0))[:, None, None]
        for pi, zi in zip(p, z, strict=True):
            pi *= beta
            pi += zi
        rz = rz_new
    return x[0], x[1], iterations
