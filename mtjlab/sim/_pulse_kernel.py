"""The write pulse's kernel (`mtjlab.sim._pulse_compiled` says what it is for and when it runs).

Newton's method on the array's MTJ law from the lines' source voltages, every step in loops that
numba compiles: the device law, the elimination of each column chain onto its row nodes, the
banded Cholesky factorization of the row nodes' system and the column nodes from them.

The elimination is the banded path's (`mtjlab.sim._solver_block.BandedSystem`): chain j, T_j,
leaves the block S_j = diag(row segments and ties + G_j) - G_j T_j^-1 G_j on the row nodes of
column j, coupled to the next column's by -g_row, and T_j^-1 below its diagonal is
semiseparable, so each block costs two tridiagonal solves (a solve per device where its entries
span too many decades for that product, as the banded path does). Its arithmetic is not
LAPACK's, so the voltages agree with the numpy path to rounding, not bit for bit.

Imported only where a pulse first takes the kernel: numba's import costs about 0.15 s and
55 MB, which no other process pays. Without numba this module is the same code as Python (slow;
the tests run it on small arrays).
"""

from __future__ import annotations

import math

import numpy as np

from mtjlab.sim._pulse_codes import (
    CONVERGED,
    KIND_AP,
    KIND_P,
    KIND_SHORTED,
    NOT_CONVERGED,
    NOT_POSITIVE_DEFINITE,
)

try:
    import numba
except ImportError:  # the fast extra is not installed: the functions stay Python
    numba = None  # type: ignore[assignment]


def _jit(function):
    """``function`` compiled on its first call, or as it is without numba.

    The machine code is cached beside this file, or where the package folder is not writable in
    numba's cache folder for the user (numba's own choice), so a process loads it in about 0.2 s
    instead of compiling it in about 3 s; with neither writable, numba refuses to cache and each
    process compiles. Numpy's error model: a division by zero gives inf, as numpy's does, rather
    than a check on every division.
    """
    if numba is None:
        return function
    try:
        return numba.njit(cache=True, error_model="numpy")(function)
    except RuntimeError:  # "cannot cache function ...: no locator available"
        return numba.njit(error_model="numpy")(function)


@_jit
def _law(kind, r_p, tmr0, v_half, g_short, v):
    """Current and dI/dV of one device at voltage v: `mtjlab.sim.device.current_and_slope`
    written per device, in the same operations."""
    if kind == KIND_AP:
        x = v / v_half
        one_x2 = 1.0 + x * x
        r_ap = r_p * (1.0 + tmr0 / one_x2)
        slope = 1.0 / r_ap + 2.0 * r_p * tmr0 * x * x / (one_x2 * one_x2 * (r_ap * r_ap))
        return v / r_ap, slope
    if kind == KIND_P:
        return v / r_p, 1.0 / r_p
    if kind == KIND_SHORTED:
        return v * g_short, g_short
    return 0.0, 0.0


@_jit
def _chain_factor(diag, off, d, lo):
    """LDL^T of a tridiagonal matrix with diagonal `diag` and constant off-diagonal `off`:
    pivots into d, multipliers into lo. False if a pivot is not positive."""
    n = diag.shape[0]
    piv = diag[0]
    if not piv > 0.0:
        return False
    d[0] = piv
    for i in range(1, n):
        m = off / d[i - 1]
        lo[i - 1] = m
        piv = diag[i] - m * off
        if not piv > 0.0:
            return False
        d[i] = piv
    return True


@_jit
def _chain_solve(d, lo, x, first):
    """Solve L D L^T y = x in place for x zero above index `first`; y is right from `first`
    on (above it, where the caller needs none, it is left partly solved)."""
    n = d.shape[0]
    for i in range(first + 1, n):
        x[i] -= lo[i - 1] * x[i - 1]
    for i in range(first, n):
        x[i] /= d[i]
    for i in range(n - 2, first - 1, -1):
        x[i] -= lo[i] * x[i + 1]


@_jit
def _step(g, src, chain_own, row_own, row_tie, col_tie, g_row, g_col, work):
    """One Newton step: node voltages (u, w) of the circuit whose devices are conductances
    g (rows, cols) in parallel with current sources src from row node to column node.

    Column j's chain T_j is eliminated onto its row nodes, leaving the block
    S_j = diag(row segments and ties + G_j) - G_j T_j^-1 G_j coupled to the next column's by
    -g_row; the row nodes, numbered column by column, form a band as wide as a column, factored
    by Cholesky. Returns False if a chain or the band is not positive definite.
    """
    rows, cols = g.shape
    n = rows * cols
    d, lo, col, band, x, u, w, taus = work
    # Chains: factor, solve for the ties and sources, and their blocks into the band.
    for j in range(cols):
        diag = col  # the chain's diagonal, then reused as a solve's vector
        for i in range(rows):
            diag[i] = chain_own[j, i] + g[i, j]
        if not _chain_factor(diag, -g_col, d[j], lo[j]):
            return False
        for i in range(rows):
            col[i] = src[i, j]
        col[0] += col_tie[0, j]
        col[rows - 1] += col_tie[1, j]
        _chain_solve(d[j], lo[j], col, 0)
        base = j * rows
        for i in range(rows):
            x[base + i] = g[i, j] * col[i] - src[i, j] + row_tie[j, i]
        # Below the diagonal T_j^-1 is semiseparable: entry (a, b), a >= b, is
        # tau0_a tauL_b / tau0_last with tau0 = T^-1 e_0 and tauL = T^-1 e_last, two solves
        # for the whole block; where its entries span too many decades for that product, a
        # solve per device column.
        tau0, tau_last = taus[0], taus[1]
        for i in range(rows):
            tau0[i] = 0.0
            tau_last[i] = 0.0
        tau0[0] = 1.0
        tau_last[rows - 1] = 1.0
        _chain_solve(d[j], lo[j], tau0, 0)
        _chain_solve(d[j], lo[j], tau_last, 0)
        corner = tau0[rows - 1]
        product = corner > 1e-100 * max(tau0[0], tau_last[rows - 1])
        for b in range(rows):
            g_b = g[b, j]
            if product:
                scale = g_b * tau_last[b] / corner
                for i in range(b, rows):
                    col[i] = tau0[i] * scale
            else:
                for i in range(rows):
                    col[i] = 0.0
                col[b] = g_b
                _chain_solve(d[j], lo[j], col, b)
            at = base + b
            band[at, 0] = row_own[j, b] + g_b - g_b * col[b]
            for a in range(b + 1, rows):
                band[at, a - b] = -g[a, j] * col[a]
            for dd in range(rows - b, rows):
                band[at, dd] = 0.0
            band[at, rows] = -g_row if j < cols - 1 else 0.0
    # Banded Cholesky, lower, bandwidth rows, in place; then the two triangular solves.
    for i in range(n):
        piv = band[i, 0]
        if not piv > 0.0:
            return False
        piv = math.sqrt(piv)
        band[i, 0] = piv
        kn = min(rows, n - 1 - i)
        for dd in range(1, kn + 1):
            band[i, dd] /= piv
        for c in range(1, kn + 1):
            lc = band[i, c]
            if lc != 0.0:
                for r in range(c, kn + 1):
                    band[i + c, r - c] -= band[i, r] * lc
    for i in range(n):
        x[i] /= band[i, 0]
        xi = x[i]
        kn = min(rows, n - 1 - i)
        for dd in range(1, kn + 1):
            x[i + dd] -= band[i, dd] * xi
    for i in range(n - 1, -1, -1):
        kn = min(rows, n - 1 - i)
        acc = x[i]
        for dd in range(1, kn + 1):
            acc -= band[i, dd] * x[i + dd]
        x[i] = acc / band[i, 0]
    # Row nodes, then each column's nodes from them: w_j = T_j^-1 (G_j u_j + ties + sources).
    for j in range(cols):
        base = j * rows
        for i in range(rows):
            u[i, j] = x[base + i]
            col[i] = g[i, j] * x[base + i] + src[i, j]
        col[0] += col_tie[0, j]
        col[rows - 1] += col_tie[1, j]
        _chain_solve(d[j], lo[j], col, 0)
        for i in range(rows):
            w[i, j] = col[i]
    return True


@_jit
def pulse_voltages(
    kind, r_p, tmr0, v_half, g_short, row_src, col_src, row_ends, col_ends, g_row, g_col,
    tol_v, max_iter,
):  # fmt: skip
    """Newton's method from the lines' source voltages, every line tied at one end or both.

    ``kind`` (`device_kinds`), ``r_p``, ``tmr0`` and ``v_half`` are (rows, cols); ``row_src``
    and ``col_src`` each line's source voltage; ``row_ends`` (2, rows) and ``col_ends``
    (2, cols) the voltages at each line's start and end, NaN where open. Stops when the largest
    node-voltage update is below ``tol_v``, as `mtjlab.sim.solver` does.

    Returns (outcome, device voltages (rows, cols), iterations), outcome one of CONVERGED,
    NOT_CONVERGED and NOT_POSITIVE_DEFINITE.
    """
    rows, cols = kind.shape
    # Each chain's own diagonal (its segments and ties) and each block's (row segments, ties).
    chain_own = np.empty((cols, rows))
    row_own = np.empty((cols, rows))
    col_tie = np.zeros((2, cols))  # current the column ties inject at node 0 and node rows-1
    row_tie = np.zeros((cols, rows))  # ... and the row ties at blocks 0 and cols-1
    for j in range(cols):
        for i in range(rows):
            chain_own[j, i] = 2.0 * g_col
            row_own[j, i] = 2.0 * g_row
    for j in range(cols):
        for e in range(2):
            at = 0 if e == 0 else rows - 1
            if math.isnan(col_ends[e, j]):
                chain_own[j, at] -= g_col
            else:
                col_tie[e, j] = g_col * col_ends[e, j]
    for i in range(rows):
        for e in range(2):
            at = 0 if e == 0 else cols - 1
            if math.isnan(row_ends[e, i]):
                row_own[at, i] -= g_row
            else:
                row_tie[at, i] += g_row * row_ends[e, i]
    work = (
        np.empty((cols, rows)),
        np.empty((cols, rows)),
        np.empty(rows),
        np.empty((rows * cols, rows + 1)),
        np.empty(rows * cols),
        np.empty((rows, cols)),
        np.empty((rows, cols)),
        np.empty((2, rows)),
    )
    u_new, w_new = work[5], work[6]
    u = np.empty((rows, cols))
    w = np.empty((rows, cols))
    for i in range(rows):
        for j in range(cols):
            u[i, j] = row_src[i]
            w[i, j] = col_src[j]
    g = np.empty((rows, cols))
    src = np.empty((rows, cols))
    for iteration in range(1, max_iter + 1):
        for i in range(rows):
            for j in range(cols):
                v = u[i, j] - w[i, j]
                current, slope = _law(kind[i, j], r_p[i, j], tmr0[i, j], v_half[i, j], g_short, v)
                g[i, j] = slope
                src[i, j] = current - slope * v
        if not _step(g, src, chain_own, row_own, row_tie, col_tie, g_row, g_col, work):
            return NOT_POSITIVE_DEFINITE, u - w, iteration
        update = 0.0
        for i in range(rows):
            for j in range(cols):
                update = max(update, max(abs(u_new[i, j] - u[i, j]), abs(w_new[i, j] - w[i, j])))
                u[i, j] = u_new[i, j]
                w[i, j] = w_new[i, j]
        if update < tol_v:
            return CONVERGED, u - w, iteration
    return NOT_CONVERGED, u - w, max_iter


#: The kernel as Python, whether or not numba is installed (the tests run it both ways).
pulse_voltages_py = getattr(pulse_voltages, "py_func", pulse_voltages)
