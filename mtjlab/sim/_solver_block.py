"""Block-tridiagonal path of the crossbar solver, for arrays whose every line is resistive and tied.

Each column line's chain is eliminated onto the row nodes at its crosspoints (a dense block per
column); the row nodes then form a block-tridiagonal system solved by a block-Thomas sweep with
dense Cholesky factorizations (LAPACK), so the work is about cols * rows**3 whatever the number of
input vectors adds (rows**2 per vector and column).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.linalg import blas, lapack

from mtjlab.sim._solver_nodal import Ends, resistive_split


class NotPositiveDefiniteError(ArithmeticError):
    """A block lost positive definiteness: the circuit has a part no source reaches."""


# Smallest segment resistance times a line's total device conductance for which terminal
# currents from the terminal segment's voltage drop keep about 1e-12 relative accuracy.
MIN_SEGMENT_TO_LINE_RATIO = 1e-4


def eligible(conductance_s: np.ndarray, g_row: float, g_col: float, ends: Ends) -> bool:
    """Whether the block path applies: at least 2x2, every line resistive and tied to a source.

    The block path takes row terminal currents from the terminal segments' voltage drops, so it
    also asks that each segment be not too small against its line's devices.
    """
    if min(conductance_s.shape) < 2 or not (np.isfinite(g_row) and np.isfinite(g_col)):
        return False
    if not (
        np.all(ends.row_start_on | ends.row_end_on) and np.all(ends.col_start_on | ends.col_end_on)
    ):
        return False
    row_ratio = conductance_s.sum(axis=1).min() / g_row
    col_ratio = conductance_s.sum(axis=0).min() / g_col
    return bool(min(row_ratio, col_ratio) >= MIN_SEGMENT_TO_LINE_RATIO)


def solve_block(
    conductance_s: np.ndarray, g_row: float, g_col: float, ends: Ends
) -> tuple[np.ndarray, Callable[[], np.ndarray], dict[str, np.ndarray]]:
    """Row node voltages, column node voltages on demand, and per-end terminal currents.

    Returns
    -------
    row_node_v : ndarray, shape (k, rows, cols)
    col_node_v : callable
        Computes the column node voltages, shape (k, rows, cols), when called.
    currents : dict of ndarray, shape (k, lines)
        "row_start", "row_end" (into the array), "col_start", "col_end" (out of it).

    Notes
    -----
    The unknowns are the row nodes u[:, j] (block j) and column nodes w[:, j]. Column line j is
    the tridiagonal chain T_j (segments, terminal ties and its devices), so
    w_j = T_j^-1 (G_j u_j + b_j) and block j of the row system is
    S_j = diag(row segments and ties + G_j) - G_j T_j^-1 G_j, coupled to its neighbours by
    -g_row * I. T_j^-1 is semiseparable (its upper triangle is x_i y_j), so S_j costs one outer
    product. The sweep runs from the last column to the first, keeping H_j, the inverse of the
    Schur complement of blocks j..cols-1; the row voltages are then recovered from the first
    column on, and each column's terminal currents are linear functionals of its row voltages.
    """
    g = conductance_s
    rows, cols = g.shape
    k = ends.k
    rs_on, re_on = ends.row_start_on, ends.row_end_on
    cs_on, ce_on = ends.col_start_on, ends.col_end_on
    row_start = np.where(rs_on[:, None], ends.row_start_v, 0.0)
    row_end = np.where(re_on[:, None], ends.row_end_v, 0.0)
    # Current the column ties inject at the first and last node of each column, (cols, k).
    inject_first = g_col * np.where(cs_on[:, None], ends.col_start_v, 0.0)
    inject_last = g_col * np.where(ce_on[:, None], ends.col_end_v, 0.0)
    col_sources = bool(inject_first.any() or inject_last.any())

    # Column chains: diagonal of T_j for all columns (cols, rows), off-diagonal -g_col.
    chain = np.full(rows, 2.0 * g_col)
    chain[0] -= g_col
    chain[-1] -= g_col
    col_diag = chain[None, :] + g.T
    col_diag[:, 0] += g_col * cs_on
    col_diag[:, -1] += g_col * ce_on
    col_off = np.full(rows - 1, -g_col)

    # Row-node diagonal from row segments and row ties, per column block.
    row_diag = np.full((cols, rows), 2.0 * g_row)
    row_diag[0] -= g_row
    row_diag[-1] -= g_row
    row_diag[0] += g_row * rs_on
    row_diag[-1] += g_row * re_on

    factors_d = np.empty((cols, rows))
    factors_e = np.empty((cols, rows - 1))
    inverses = np.empty((cols, rows, rows))
    # Per column: T_j^-1 applied to G_j, to the first and to the last unit vector.
    responses = np.empty((cols, rows, 3))
    rhs_hat: list[np.ndarray | None] = [None] * cols
    unit_ends = np.zeros((rows, 3), order="F")
    unit_ends[0, 1] = unit_ends[-1, 2] = 1.0
    diag = np.diag_indices(rows)
    g_row2 = g_row * g_row
    h_next = None
    for j in range(cols - 1, -1, -1):
        gj = g[:, j]
        a = col_diag[j]
        d_up, e_up, info = lapack.dpttrf(a, col_off)
        if info != 0:
            raise NotPositiveDefiniteError(f"column {j} chain is not positive definite")
        factors_d[j], factors_e[j] = d_up, e_up
        unit_ends[:, 0] = gj
        resp, _ = lapack.dpttrs(d_up, e_up, unit_ends)
        responses[j] = resp
        # Lower triangle of G_j T_j^-1 G_j from the two one-sided LDL^T pivots of T_j.
        d_down = lapack.dpttrf(a[::-1], col_off)[0][::-1]
        t_diag = 1.0 / (d_up + d_down - a)
        ratio = np.empty(rows)
        ratio[0] = 1.0
        np.cumprod(g_col / d_up[:-1], out=ratio[1:])
        if ratio[-1] > 1e-150:
            schur = np.multiply.outer(gj * t_diag * ratio, gj / ratio)
            schur *= -1.0
        else:  # ratios too small for the product form: solve the chain column by column
            schur = lapack.dpttrs(d_up, e_up, np.diag(gj))[0] * -gj[:, None]
        schur[diag] += row_diag[j] + gj
        rhs = None
        if j == 0 and rs_on.any():
            rhs = g_row * row_start
        if j == cols - 1 and re_on.any():
            rhs = g_row * row_end if rhs is None else rhs + g_row * row_end
        if col_sources:
            t_w = np.multiply.outer(resp[:, 1], inject_first[j])
            t_w += np.multiply.outer(resp[:, 2], inject_last[j])
            rhs = gj[:, None] * t_w if rhs is None else rhs + gj[:, None] * t_w
        if h_next is not None:
            schur -= g_row2 * h_next
            if rhs_hat[j + 1] is not None:
                carried = blas.dsymm(g_row, h_next, rhs_hat[j + 1], lower=1)
                rhs = carried if rhs is None else rhs + carried
        rhs_hat[j] = rhs
        chol, info = lapack.dpotrf(schur, lower=1, overwrite_a=1, clean=0)
        if info != 0:
            raise NotPositiveDefiniteError(f"block {j} is not positive definite")
        h_next, _ = lapack.dpotri(chol, lower=1, overwrite_c=1)
        inverses[j] = h_next.T  # C-order copy of the Fortran array: same lower triangle

    # Row voltages block by block from the first column; column currents as functionals of them.
    u_nodes = np.empty((cols, rows, k))
    col_out = np.empty((cols, 3, k))
    u_prev = None
    for j in range(cols):
        h = inverses[j].T
        if u_prev is None:
            u = blas.dsymm(1.0, h, rhs_hat[0], lower=1)
        elif rhs_hat[j] is None:
            u = blas.dsymm(g_row, h, u_prev, lower=1)
        else:
            u = blas.dsymm(1.0, h, rhs_hat[j] + g_row * u_prev, lower=1)
        u_nodes[j] = u
        u_prev = u
    # Functionals (cols, 3, rows): net device current of the column, then w at its two ends.
    gt = g.T
    resp = responses
    functionals = np.stack(
        [gt * (1.0 - resp[:, :, 0]), gt * resp[:, :, 1], gt * resp[:, :, 2]], axis=1
    )
    col_out = np.matmul(functionals, u_nodes)  # (cols, 3, k)
    # Column-tie terms: -q^T b for the net current, tau^T b for the end voltages.
    col_out[:, 0] -= resp[:, 0, 0, None] * inject_first + resp[:, -1, 0, None] * inject_last
    col_out[:, 1] += resp[:, 0, 1, None] * inject_first + resp[:, -1, 1, None] * inject_last
    col_out[:, 2] += resp[:, 0, 2, None] * inject_first + resp[:, -1, 2, None] * inject_last

    row_v = u_nodes.transpose(2, 1, 0)
    currents = {}
    currents["row_start"] = np.where(rs_on, (ends.row_start_v.T - row_v[:, :, 0]) * g_row, 0.0)
    currents["row_end"] = np.where(re_on, (ends.row_end_v.T - row_v[:, :, -1]) * g_row, 0.0)
    currents["col_start"], currents["col_end"] = resistive_split(
        (col_out[:, 1] - ends.col_start_v).T * g_col,
        (col_out[:, 2] - ends.col_end_v).T * g_col,
        (cs_on, ce_on),
        col_out[:, 0].T,
    )

    def col_node_v() -> np.ndarray:
        w_nodes = np.empty((cols, rows, k))
        for j in range(cols):
            b = g[:, j, None] * u_nodes[j]
            b[0] += inject_first[j]
            b[-1] += inject_last[j]
            w_nodes[j] = lapack.dpttrs(factors_d[j], factors_e[j], b)[0]
        return w_nodes.transpose(2, 1, 0)

    return row_v, col_node_v, currents
