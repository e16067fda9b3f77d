"""Block-tridiagonal path of the crossbar solver: resistive lines, every node reaching a source.

Each column line's chain is eliminated onto the row nodes at its crosspoints (a dense block per
column); the row nodes then form a block-tridiagonal system solved by a block-Thomas sweep with
dense Cholesky factorizations (LAPACK). Work: about cols * rows**3 for the sweep plus
cols * rows**2 per input vector.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np
from scipy.linalg import blas, lapack

from mtjlab.sim._solver_common import (
    MIN_SEGMENT_TO_LINE_RATIO,
    Ends,
    NotPositiveDefiniteError,
    resistive_split,
    structure_eligible,
)

# Chains up to this many rows are inverted densely in one batched call; longer ones use the
# semiseparable form of their inverse, one column at a time.
DENSE_CHAIN_MAX = 32

# The block path keeps one inverse per block, short**2 * long numbers (256 MB at this limit;
# 256x256 needs 134 MB, 512x512 would need 1 GB and goes to the general path).
BLOCK_MAX_ENTRIES = 2**25

# From this block size on, Cholesky factorizations are blocked once by hand (`_cholesky`), and
# up to BLOCKED_INVERSE_MAX so are the block inverses (`_inverse_from_cholesky`). Smaller blocks
# are inverted by two triangular solves against the identity, larger ones by potri: each the
# fastest measured at its sizes on 2 cores, shared or not.
BLOCKED_CHOLESKY_MIN = 96
BLOCKED_INVERSE_MAX = 160


def eligible(conductance_s: np.ndarray, g_row: float, g_col: float, ends: Ends) -> bool:
    """Whether the block path applies to this circuit.

    It needs an array of at least 2x2, not so large that the block inverses outgrow
    BLOCK_MAX_ENTRIES, with resistive lines, every node reaching a source (each
    line tied at one end or both, or floating with a conducting device onto a tied line), so
    that every block is positive definite. It takes row terminal currents from the terminal
    segments' voltage drops, so it also asks that each tied line's segment be not too small
    against the line's devices. `conductance_s` is (rows, cols), or (k, rows, cols) to ask for
    every one of k matrices.
    """
    short, long = sorted(conductance_s.shape[-2:])
    if short * short * long > BLOCK_MAX_ENTRIES:
        return False
    return structure_eligible(conductance_s, g_row, g_col, ends)


def solve_block(
    conductance_s: np.ndarray, g_row: float, g_col: float, ends: Ends
) -> tuple[np.ndarray, Callable[[], np.ndarray], dict[str, np.ndarray]]:
    """Row node voltages, column node voltages on demand, and per-end terminal currents.

    Returns
    -------
    row_node_v : ndarray, shape (k, rows, cols)
    column_node_v : callable
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
    # Current the column ties inject at the first and last node of each column, (cols, k).
    inject_first = g_col * np.where(cs_on[:, None], ends.column_start_v, 0.0)
    inject_last = g_col * np.where(ce_on[:, None], ends.column_end_v, 0.0)
    col_sources = bool(inject_first.any() or inject_last.any())

    # Column chains: diagonal of T_j for all columns (cols, rows), off-diagonal -g_col.
    chain = np.full(rows, 2.0 * g_col)
    chain[0] -= g_col
    chain[-1] -= g_col
    col_diag = chain[None, :] + g.T
    col_diag[:, 0] += g_col * cs_on
    col_diag[:, -1] += g_col * ce_on
    col_off = np.full(rows - 1, -g_col)

    # Diagonal of each block: row segments, row ties and the devices, (cols, rows).
    block_diag = np.full((cols, rows), 2.0 * g_row) + g.T
    block_diag[0] -= g_row
    block_diag[-1] -= g_row
    block_diag[0] += g_row * rs_on
    block_diag[-1] += g_row * re_on

    diag = np.diag_indices(rows)
    if rows <= DENSE_CHAIN_MAX:
        coupling, responses = _chains_dense(g, col_diag, g_col)
        blocks = -coupling  # S_j for every column at once
        blocks[:, diag[0], diag[1]] += block_diag
    else:
        blocks, responses = None, np.empty((cols, rows, 3))
    rs_any, re_any = bool(rs_on.any()), bool(re_on.any())

    # Right-hand side of each block from the ties: rows at the first and last block, columns
    # through their chains (G_j T_j^-1 b_j); None where it is zero.
    def tie_rhs(j: int) -> np.ndarray | None:
        rhs = None
        if not (col_sources or j == 0 or j == cols - 1):
            return rhs
        if j == 0 and rs_any:
            rhs = g_row * np.where(rs_on[:, None], ends.row_start_v, 0.0)
        if j == cols - 1 and re_any:
            end = g_row * np.where(re_on[:, None], ends.row_end_v, 0.0)
            rhs = end if rhs is None else rhs + end
        if col_sources:
            resp = responses[j]
            t_w = np.multiply.outer(resp[:, 1], inject_first[j])
            t_w += np.multiply.outer(resp[:, 2], inject_last[j])
            t_w *= g[:, j, None]
            rhs = t_w if rhs is None else rhs + t_w
        return rhs

    # Buffers allocated once per solve: per-step arrays of this size would each be a fresh
    # memory mapping, and their page faults cost as much as the factorizations.
    inverses = np.empty((cols, rows, rows))  # inverses[j].T: H_j in Fortran order, lower valid
    rhs_hat: list[np.ndarray | None] = [None] * cols
    g_row2 = g_row * g_row
    eye = np.eye(rows)
    work = np.empty((rows, rows), order="F")
    for j in range(cols - 1, -1, -1):
        # Schur complement of block j: S_j - g_row**2 H_{j+1}.
        if j == cols - 1:
            work.fill(0.0)
        else:
            np.multiply(inverses[j + 1].T, -g_row2, out=work)
        if blocks is not None:
            work += blocks[j].T  # symmetric: its transpose is the Fortran-order view
        else:
            _subtract_coupling(work, g[:, j], col_diag[j], col_off, responses[j])
            work[diag] += block_diag[j]
        rhs = tie_rhs(j)
        if j + 1 < cols and rhs_hat[j + 1] is not None:
            carried = blas.dsymm(g_row, inverses[j + 1].T, rhs_hat[j + 1], lower=1)
            rhs = carried if rhs is None else rhs + carried
        rhs_hat[j] = rhs
        chol = _cholesky(work)
        if chol is None:
            raise NotPositiveDefiniteError(f"block {j} is not positive definite")
        target = inverses[j].T
        if BLOCKED_CHOLESKY_MIN <= rows <= BLOCKED_INVERSE_MAX:
            _inverse_from_cholesky(chol, target)
        else:
            if rows < BLOCKED_CHOLESKY_MIN:
                target[...] = eye
                inverse, _ = lapack.dpotrs(chol, target, lower=1, overwrite_b=1)
            else:
                inverse, _ = lapack.dpotri(chol, lower=1, overwrite_c=1)
            if not np.shares_memory(inverse, target):
                target[...] = inverse

    # Row voltages block by block from the first column: u_j = H_j (rhs_j + g_row u_{j-1}).
    u_nodes = np.empty((cols, k, rows))
    u = None
    for j in range(cols):
        h = inverses[j].T
        if u is None:
            u = blas.dsymm(1.0, h, rhs_hat[0], lower=1)
        elif rhs_hat[j] is None:
            u = blas.dsymm(g_row, h, u, lower=1)
        else:
            u = blas.dsymm(1.0, h, rhs_hat[j] + g_row * u, lower=1)
        u_nodes[j] = u.T

    # Column currents as functionals of the row voltages, (cols, k, 3): net device current of
    # the column (sum G (u - w) = (G - G q) . u - q . b with q = T^-1 G), then w at both ends.
    gt = g.T
    functionals = np.stack(
        [gt * (1.0 - responses[:, :, 0]), gt * responses[:, :, 1], gt * responses[:, :, 2]],
        axis=2,
    )
    col_out = np.matmul(u_nodes, functionals)
    if col_sources:
        first, last = responses[:, 0, :], responses[:, -1, :]  # (cols, 3)
        tie = (
            first[:, None, :] * inject_first[:, :, None]
            + last[:, None, :] * inject_last[:, :, None]
        )
        tie[:, :, 0] *= -1.0
        col_out += tie

    row_v = u_nodes.transpose(1, 2, 0)
    currents = {}
    currents["row_start"] = np.where(rs_on, (ends.row_start_v.T - row_v[:, :, 0]) * g_row, 0.0)
    currents["row_end"] = np.where(re_on, (ends.row_end_v.T - row_v[:, :, -1]) * g_row, 0.0)
    currents["col_start"], currents["col_end"] = resistive_split(
        (col_out[:, :, 1].T - ends.column_start_v.T) * g_col,
        (col_out[:, :, 2].T - ends.column_end_v.T) * g_col,
        (cs_on, ce_on),
        col_out[:, :, 0].T,
    )

    def column_node_v() -> np.ndarray:
        w_nodes = np.empty((cols, rows, k))
        for j in range(cols):
            b = g[:, j, None] * u_nodes[j].T
            b[0] += inject_first[j]
            b[-1] += inject_last[j]
            d_f, e_f, _ = lapack.dpttrf(col_diag[j], col_off)
            w_nodes[j] = lapack.dpttrs(d_f, e_f, b)[0]
        return w_nodes.transpose(2, 1, 0)

    return row_v, column_node_v, currents


def _cholesky(a: np.ndarray) -> np.ndarray | None:
    """Lower Cholesky factor of `a` (Fortran order, lower triangle read), in place; None if
    `a` is not positive definite.

    From BLOCKED_CHOLESKY_MIN rows on, one level of 2x2 blocking (two half-size factorizations,
    a triangular solve and a symmetric rank-k update) measured about twice as fast as a single
    potrf call of OpenBLAS at these sizes.
    """
    rows = a.shape[0]
    if rows < BLOCKED_CHOLESKY_MIN:
        chol, info = lapack.dpotrf(a, lower=1, overwrite_a=1, clean=1)
        return chol if info == 0 else None
    half = rows // 2
    l11, info = lapack.dpotrf(a[:half, :half], lower=1, clean=1)
    if info != 0:
        return None
    l21 = blas.dtrsm(1.0, l11, a[half:, :half], side=1, lower=1, trans_a=1)
    a22 = blas.dsyrk(-1.0, l21, beta=1.0, c=a[half:, half:], lower=1)
    l22, info = lapack.dpotrf(a22, lower=1, clean=1)
    if info != 0:
        return None
    a[:half, :half] = l11
    a[half:, :half] = l21
    a[half:, half:] = l22
    a[:half, half:] = 0.0
    return a


def _inverse_from_cholesky(chol: np.ndarray, out: np.ndarray) -> None:
    """Lower triangle of (L L^T)^-1 into `out` (upper set to 0), from the lower factor L.

    One level of 2x2 blocking: with L = [[A, 0], [B, C]], L^-1 = W = [[A^-1, 0], [X, C^-1]]
    with X = -C^-1 B A^-1, and the inverse is W^T W. Measured steadier than potri and than two
    triangular solves against the identity, whether OpenBLAS has one core or two.
    """
    half = chol.shape[0] // 2
    a_inv, _ = lapack.dtrtri(chol[:half, :half], lower=1)
    c_inv, _ = lapack.dtrtri(chol[half:, half:], lower=1)
    x = blas.dtrmm(-1.0, c_inv, chol[half:, :half], lower=1)
    x = blas.dtrmm(1.0, a_inv, x, side=1, lower=1)
    out[:half, :half] = blas.dsyrk(1.0, x, trans=1, lower=1)
    out[:half, :half] += blas.dsyrk(1.0, a_inv, trans=1, lower=1)
    out[half:, :half] = blas.dtrmm(1.0, c_inv, x, lower=1, trans_a=1)
    out[half:, half:] = blas.dsyrk(1.0, c_inv, trans=1, lower=1)
    out[:half, half:] = 0.0


def _chains_dense(g, col_diag, g_col):
    """All column chains at once by dense batched inversion (short chains).

    Returns G_j T_j^-1 G_j, shape (cols, rows, rows), and the responses T_j^-1 [G_j, e_0, e_last],
    shape (cols, rows, 3).
    """
    cols, rows = col_diag.shape
    t = np.zeros((cols, rows, rows))
    idx = np.arange(rows)
    t[:, idx, idx] = col_diag
    t[:, idx[1:], idx[:-1]] = -g_col
    t[:, idx[:-1], idx[1:]] = -g_col
    t_inv = np.linalg.inv(t)
    gt = g.T
    coupling = t_inv * gt[:, :, None] * gt[:, None, :]
    responses = np.stack(
        [np.matmul(t_inv, gt[:, :, None])[:, :, 0], t_inv[:, :, 0], t_inv[:, :, -1]], axis=2
    )
    return coupling, responses


def _subtract_coupling(work, gj, diag_j, off, response):
    """work -= G_j T_j^-1 G_j (lower triangle), and fill this column's responses.

    T_j^-1 is semiseparable: with tau0 = T^-1 e_0 and tauL = T^-1 e_last, its entry (i, j) for
    i >= j is tau0_i tauL_j / tau0_last, so the lower triangle is one rank-1 update. (The chain
    is an M-matrix: the tridiagonal solve gives every entry to high relative accuracy.)
    """
    d_up, e_up, info = lapack.dpttrf(diag_j, off)
    if info != 0:
        raise NotPositiveDefiniteError("a column chain is not positive definite")
    rhs = np.zeros((gj.size, 3), order="F")
    rhs[:, 0] = gj
    rhs[0, 1] = rhs[-1, 2] = 1.0
    response[:] = lapack.dpttrs(d_up, e_up, rhs)[0]
    tau0, tau_last = response[:, 1], response[:, 2]
    corner = tau0[-1]
    if corner > 1e-100 * max(tau0[0], tau_last[-1]):
        blas.dger(-1.0 / corner, gj * tau0, gj * tau_last, a=work, overwrite_a=1)
    else:  # the entries span too many decades for the product form: solve per device
        work -= lapack.dpttrs(d_up, e_up, np.diag(gj))[0] * gj[:, None]


# Batched block path (one Jacobian per vector) is used up to this many matrix entries in the
# per-vector chain inverses, k * cols * rows**2.
BATCHED_MAX_ENTRIES = 8_000_000


def batched_eligible(slope_s: np.ndarray, g_row: float, g_col: float, ends: Ends) -> bool:
    """Whether `solve_block_batched` applies to a Newton step with these slopes (k, rows, cols)."""
    k, rows, cols = slope_s.shape
    return (
        min(rows, cols) <= DENSE_CHAIN_MAX
        and k * rows * cols * min(rows, cols) <= BATCHED_MAX_ENTRIES
        and bool((slope_s >= 0).all())
        and eligible(slope_s, g_row, g_col, ends)
    )


def solve_block_batched(
    slope_s: np.ndarray, g_row: float, g_col: float, ends: Ends, source_a: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Node voltages (k, rows, cols) with a different device conductance matrix per vector.

    The same elimination as `solve_block`, with each device a conductance in parallel with a
    current source `source_a` from row node to column node (a Newton step), done for all k
    vectors at once with numpy's batched dense inverses; chains and blocks must be short.
    """
    if slope_s.shape[1] > slope_s.shape[2]:
        swapped = Ends(
            row_start_v=ends.column_start_v,
            row_end_v=ends.column_end_v,
            column_start_v=ends.row_start_v,
            column_end_v=ends.row_end_v,
        )
        # Transposed, the sources flow from the new row nodes (old column nodes) the other way.
        col_v, row_v = solve_block_batched(
            slope_s.transpose(0, 2, 1), g_col, g_row, swapped, -source_a.transpose(0, 2, 1)
        )
        return row_v.transpose(0, 2, 1), col_v.transpose(0, 2, 1)

    k, rows, cols = slope_s.shape
    rs_on, re_on = ends.row_start_on, ends.row_end_on
    cs_on, ce_on = ends.col_start_on, ends.col_end_on
    gt = slope_s.transpose(0, 2, 1)  # (k, cols, rows): block j holds column j
    jt = source_a.transpose(0, 2, 1)
    idx = np.arange(rows)

    chain = np.full(rows, 2.0 * g_col)
    chain[0] -= g_col
    chain[-1] -= g_col
    chain = chain + np.zeros(cols)[:, None]
    chain[:, 0] += g_col * cs_on
    chain[:, -1] += g_col * ce_on
    t = np.zeros((k, cols, rows, rows))
    t[:, :, idx, idx] = chain + gt
    t[:, :, idx[1:], idx[:-1]] = -g_col
    t[:, :, idx[:-1], idx[1:]] = -g_col
    t_inv = np.linalg.inv(t)

    # Column-node right-hand side: ties at the chain ends plus the device sources.
    b_w = jt.copy()
    b_w[:, :, 0] += (g_col * np.where(cs_on[:, None], ends.column_start_v, 0.0)).T
    b_w[:, :, -1] += (g_col * np.where(ce_on[:, None], ends.column_end_v, 0.0)).T

    block_diag = np.full((cols, rows), 2.0 * g_row)
    block_diag[0] -= g_row
    block_diag[-1] -= g_row
    block_diag[0] += g_row * rs_on
    block_diag[-1] += g_row * re_on
    blocks = -(t_inv * gt[..., :, None] * gt[..., None, :])
    blocks[:, :, idx, idx] += block_diag + gt
    rhs = gt * np.matmul(t_inv, b_w[..., None])[..., 0] - jt
    rhs[:, 0] += (g_row * np.where(rs_on[:, None], ends.row_start_v, 0.0)).T
    rhs[:, -1] += (g_row * np.where(re_on[:, None], ends.row_end_v, 0.0)).T

    inverses = np.empty((k, cols, rows, rows))
    rhs_hat = np.empty((k, cols, rows))
    g_row2 = g_row * g_row
    for j in range(cols - 1, -1, -1):
        if j == cols - 1:
            schur, carried = blocks[:, j], rhs[:, j]
        else:
            schur = blocks[:, j] - g_row2 * inverses[:, j + 1]
            carried = (
                rhs[:, j]
                + g_row * np.matmul(inverses[:, j + 1], rhs_hat[:, j + 1, :, None])[..., 0]
            )
        inverses[:, j] = np.linalg.inv(schur)
        rhs_hat[:, j] = carried

    u = np.empty((k, cols, rows))
    previous = np.zeros((k, rows))
    for j in range(cols):
        u[:, j] = np.matmul(inverses[:, j], (rhs_hat[:, j] + g_row * previous)[..., None])[..., 0]
        previous = u[:, j]
    w = np.matmul(t_inv, (gt * u + b_w)[..., None])[..., 0]
    return u.transpose(0, 2, 1), w.transpose(0, 2, 1)


# The banded path (`BandedSystem`) is for the small arrays of the simulated bench, where call
# overhead, not arithmetic, sets the time; its band is as wide as the shorter side.
BANDED_MAX_LINES = DENSE_CHAIN_MAX

# Its band holds K * cols * rows * (rows + 1) numbers for K matrices (a Newton step of K
# vectors): up to 256 MB, as the block path's inverses; larger batches go the automatic way.
BANDED_MAX_ENTRIES = BLOCK_MAX_ENTRIES


@functools.lru_cache(maxsize=32)
def _band_layout(rows: int, blocks: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lower triangle of each rows x rows block in LAPACK lower band storage (bandwidth rows).

    Returns the entries (a, b), a >= b, of one block and, for `blocks` blocks one after the
    other on the diagonal, where each entry lands in the band held as a C-order
    (blocks * rows, rows + 1) array (the transpose of LAPACK's Fortran-order one): row
    block * rows + b, column a - b. Cached: a simulated bench asks for the same few shapes.
    """
    a, b = np.tril_indices(rows)
    where = (b + rows * np.arange(blocks)[:, None]) * (rows + 1) + (a - b)
    return a, b, where.ravel()


class _Topology:
    """What the banded path needs of a circuit that depends on its shape, lines and which ends
    are tied, not on the devices or the voltages: made once per topology (`_topology`) and kept,
    since a simulated bench solves the same few topologies over and over."""

    def __init__(self, rows: int, cols: int, g_row: float, g_col: float, tied: bytes) -> None:
        self.rows, self.cols, self.g_row, self.g_col = rows, cols, g_row, g_col
        self.suits = 2 <= rows <= BANDED_MAX_LINES and math.isfinite(g_row) and math.isfinite(g_col)
        on = np.frombuffer(tied, dtype=bool)
        rs_on, re_on = on[:rows], on[rows : 2 * rows]
        cs_on, ce_on = on[2 * rows : 2 * rows + cols], on[2 * rows + cols :]
        self.row_tied = rs_on | re_on
        self.col_tied = cs_on | ce_on
        #: The last device pattern found to reach a source everywhere (see `accepts`).
        self.reaches = b""
        self._layouts: dict[tuple[int, int], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        if not self.suits:
            return
        chain = np.full((cols, rows), 2.0 * g_col)  # column chains' own diagonal (cols, rows)
        chain[:, 0] += g_col * (cs_on - 1.0)
        chain[:, -1] += g_col * (ce_on - 1.0)
        self.chain_diag = chain
        row_diag = np.full((cols, rows), 2.0 * g_row)  # row segments and ties, per block
        row_diag[0] += g_row * (rs_on - 1.0)
        row_diag[-1] += g_row * (re_on - 1.0)
        self.row_diag = row_diag

    def layout(self, n_g: int, n_rhs: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For n_g matrices and n_rhs right-hand sides each: the chains' off-diagonal (-g_col,
        0 across a chain boundary), their right-hand sides e_0 and e_last with n_rhs zero
        columns after them, and the last band row, the -g_row from each row node to the next
        column's (n_g * cols, rows). Shapes as in `solve`."""
        layout = self._layouts.get((n_g, n_rhs))
        if layout is not None:
            return layout
        rows, cols = self.rows, self.cols
        off = np.full((n_g, cols, rows), -self.g_col)
        off[:, :, -1] = 0.0
        chain_rhs = np.zeros((n_g, cols, rows, 2 + n_rhs))
        chain_rhs[:, :, 0, 0] = 1.0
        chain_rhs[:, :, -1, 1] = 1.0
        coupling = np.full((n_g * cols, rows), -self.g_row)
        coupling[cols - 1 :: cols] = 0.0  # a matrix's last column couples to nothing
        layout = self._layouts[(n_g, n_rhs)] = (off.ravel()[:-1], chain_rhs, coupling)
        return layout


@functools.lru_cache(maxsize=64)
def _topology(rows: int, cols: int, g_row: float, g_col: float, tied: bytes) -> _Topology:
    return _Topology(rows, cols, g_row, g_col, tied)


class BandedSystem:
    """The banded path: one circuit's terminals, prepared once for all the solves of a call
    (the linear start and every Newton step), solved with any device conductances.

    The elimination of `solve_block`: column line j's chain T_j leaves the block
    S_j = diag(row segments and ties + G_j) - G_j T_j^-1 G_j on the row nodes of column j,
    coupled to the next column's by -g_row. Numbered column by column, the row nodes form one
    symmetric matrix with a band as wide as a column, so one LAPACK call (``pbsv``) factors and
    solves it where the block sweep takes an inverse per column; the K matrices of a Newton step
    sit one after the other in the same band, coupled to nothing. Every chain, laid end to end,
    is factored and solved by one ``ptsv`` for T^-1 e_0 and T^-1 e_last (the semiseparable form
    of its inverse, as in `_subtract_coupling`) and its right-hand side. About twenty LAPACK and
    numpy calls per solve whatever K, where the block sweep of a 15x15 array makes 15 inverse
    calls that cost more in call overhead than in arithmetic. Work about K * cols * rows**3, so
    the array is transposed first when it has more rows than columns.
    """

    def __init__(self, shape: tuple[int, int], g_row: float, g_col: float, ends: Ends) -> None:
        rows, cols = shape
        self.transposed = rows > cols
        if self.transposed:  # chains along the shorter side keep the band narrow
            rows, cols, g_row, g_col = cols, rows, g_col, g_row
            ends = Ends(
                row_start_v=ends.column_start_v,
                row_end_v=ends.column_end_v,
                column_start_v=ends.row_start_v,
                column_end_v=ends.row_end_v,
            )
        self.rows, self.cols, self.k = rows, cols, ends.k
        self.g_row, self.g_col = g_row, g_col
        volts = (ends.row_start_v, ends.row_end_v, ends.column_start_v, ends.column_end_v)
        tied = np.concatenate([v[:, 0] for v in volts])
        self.topology = _topology(rows, cols, g_row, g_col, (~np.isnan(tied)).tobytes())
        if not self.topology.suits:
            return
        # Current the ties inject at the ends of each line (lines, k); 0 at an open end (NaN).
        row_first, row_last, col_first, col_last = (np.where(v == v, v, 0.0) for v in volts)
        self.row_first, self.row_last = g_row * row_first, g_row * row_last
        self.col_first, self.col_last = g_col * col_first, g_col * col_last
        self._rhs: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._work: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def accepts(self, conductance_s: np.ndarray) -> bool:
        """Whether (K, rows, cols) conductances suit this path: none negative, at most
        BANDED_MAX_LINES lines on the shorter side and BANDED_MAX_ENTRIES in the band, every
        node reaching a source and no tied line's segment too small against its devices (the
        conditions of `structure_eligible`)."""
        topology = self.topology
        if not topology.suits:
            return False
        if conductance_s.size * (self.rows + 1) > BANDED_MAX_ENTRIES:
            return False
        g = conductance_s.transpose(0, 2, 1) if self.transposed else conductance_s
        weakest = g[0] if g.shape[0] == 1 else g.min(axis=0)
        if weakest.min() < 0:
            return False
        conducts = weakest > 0
        # Solve after solve, the devices mostly conduct where they did: check a pattern once.
        pattern = conducts.tobytes()
        if pattern != topology.reaches:
            row_tied, col_tied = topology.row_tied, topology.col_tied
            if not conducts[~row_tied][:, col_tied].any(axis=1).all():
                return False
            if not conducts[row_tied][:, ~col_tied].any(axis=0).all():
                return False
            topology.reaches = pattern
        row_sum = g.sum(axis=-1)
        col_sum = g.sum(axis=-2)
        ratio = MIN_SEGMENT_TO_LINE_RATIO
        if row_sum.min() >= ratio * self.g_row and col_sum.min() >= ratio * self.g_col:
            return True  # every line passes, tied or not
        row_sum = row_sum[:, topology.row_tied].min(initial=np.inf)
        col_sum = col_sum[:, topology.col_tied].min(initial=np.inf)
        return bool(min(row_sum / self.g_row, col_sum / self.g_col) >= ratio)

    def _ties(self, n_g: int) -> tuple[np.ndarray, np.ndarray]:
        """Right-hand sides of the ties for n_g matrices, made once per n_g: the chains' (e_0,
        e_last, then the column ties) and the row nodes' (the row ties)."""
        ties = self._rhs.get(n_g)
        if ties is not None:
            return ties
        per_vector = n_g > 1
        n_rhs = 1 if per_vector else self.k
        _, chain_rhs, _ = self.topology.layout(n_g, n_rhs)
        chain_rhs = chain_rhs.copy()
        row_rhs = np.zeros((n_g, self.cols, self.rows, n_rhs))
        for target, volts in (
            (chain_rhs[..., 0, 2:], self.col_first),
            (chain_rhs[..., -1, 2:], self.col_last),
            (row_rhs[:, 0], self.row_first),
            (row_rhs[:, -1], self.row_last),
        ):  # (K, lines, n_rhs) from (lines, k)
            target[...] = volts.T[..., None] if per_vector else volts
        ties = self._rhs[n_g] = (chain_rhs, row_rhs)
        return ties

    def _buffers(self, n_g: int) -> tuple[np.ndarray, np.ndarray]:
        """Work arrays for n_g matrices, kept for the Newton steps of this call: a fresh array
        of this size per step is a fresh memory mapping, whose page faults cost as much as the
        factorization. The band, in the layout LAPACK factors in place (see `_band_layout`),
        and x of the product form with zeros after it (see `solve`)."""
        work = self._work.get(n_g)
        if work is None:
            size = n_g * self.cols
            band = np.empty((size * self.rows, self.rows + 1))
            padded = np.zeros((size, 2 * self.rows + 1))
            work = self._work[n_g] = (band, padded)
        return work

    def solve(
        self, conductance_s: np.ndarray, current_a: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Node voltages (k, rows, cols) with devices `conductance_s` (K, rows, cols), K = 1
        (shared by all k vectors) or k (one per vector), and current sources `current_a`
        (k, rows, cols) in parallel with them, from row node to column node.

        Raises NotPositiveDefiniteError if a chain or the reduced system is not positive
        definite (a part no source reaches).
        """
        if self.transposed:
            conductance_s = conductance_s.transpose(0, 2, 1)
            if current_a is not None:  # transposed, a source flows the other way
                current_a = -current_a.transpose(0, 2, 1)
        rows, topology = self.rows, self.topology
        n_g = conductance_s.shape[0]
        per_vector = n_g > 1  # then n_g == k: one matrix and one right-hand side per vector
        n_rhs = 1 if per_vector else self.k
        off, _, coupling = topology.layout(n_g, n_rhs)
        chain_rhs, row_rhs = self._ties(n_g)
        gt = conductance_s.transpose(0, 2, 1)  # (K, cols, rows): chain j holds column j
        # Sources as right-hand sides, (K, cols, rows, n_rhs): k of one matrix, or one each.
        if current_a is None:
            sources = None
        elif per_vector:
            sources = current_a.transpose(0, 2, 1)[..., None]
        else:
            sources = current_a.transpose(2, 1, 0)[None]

        # Every chain, laid end to end and cut at the chain boundaries, factored and solved in
        # one call for T^-1 e_0, T^-1 e_last and T^-1 b, b the column ties and device sources.
        if sources is not None:
            chain_rhs = chain_rhs.copy()
            chain_rhs[..., 2:] += sources
        d_f, e_f, solved, info = lapack.dptsv(
            (gt + topology.chain_diag).ravel(), off, chain_rhs.reshape(-1, 2 + n_rhs)
        )
        if info != 0:
            raise NotPositiveDefiniteError("a column chain is not positive definite")
        solved = solved.reshape(n_g, self.cols, rows, 2 + n_rhs)
        tau0, tau_last, t_b = solved[..., 0], solved[..., 1], solved[..., 2:]

        # The blocks S_j into the band: blocks[m, b, d] is entry (b + d, b) of block m (the
        # matrix's column m * rows + b, LAPACK's band row d), and blocks[m, b, rows] the
        # coupling to the next column. Below the diagonal G T^-1 G is semiseparable: entry
        # (a, b), a >= b, is x_a y_b with x = G tau0 / tau0_last and y = G tauL, so blocks[m, b,
        # d] = x[m, b + d] y[m, b], x read through a strided view of it padded with zeros (which
        # also clears the entries past the end of a block). The whole band is written in one
        # pass in memory order, the couplings after it.
        band, padded = self._buffers(n_g)
        blocks = band.reshape(-1, rows, rows + 1)
        corner = tau0[..., -1:]
        if corner.min() > 1e-100 * max(tau0[..., 0].max(), tau_last[..., -1].max()):
            x = padded[:, :rows].reshape(n_g, self.cols, rows)
            np.multiply(gt, tau0, out=x)
            x /= corner
            # shifted[m, b, d] = padded[m, b + d], a view (np.ndarray on padded's buffer is
            # as_strided without its Python layers, a few microseconds less on every solve).
            step = padded.strides[1]
            shifted = np.ndarray(
                blocks.shape, buffer=padded, strides=(padded.strides[0], step, step)
            )
            y = -gt * tau_last
            np.multiply(shifted, y.reshape(-1, rows, 1), out=blocks)
        else:  # entries spanning too many decades for the product form: invert the chains
            entry_a, entry_b, band_at = _band_layout(rows, n_g * self.cols)
            eye = np.zeros((n_g, self.cols, rows, rows))
            eye[..., np.arange(rows), np.arange(rows)] = 1.0
            inverse, _ = lapack.dpttrs(d_f, e_f, eye.reshape(-1, rows), overwrite_b=1)
            inverse = inverse.reshape(n_g, self.cols, rows, rows)[..., entry_a, entry_b]
            band.fill(0.0)
            band.reshape(-1)[band_at] = (-gt[..., entry_a] * inverse * gt[..., entry_b]).ravel()
        blocks[:, :, rows] = coupling
        # On the diagonal, the devices and the row segments and ties.
        blocks[:, :, 0] += (topology.row_diag + gt).reshape(-1, rows)
        # Right-hand side: G T^-1 b minus the device sources, plus the row ties.
        rhs = gt[..., None] * t_b
        rhs += row_rhs
        if sources is not None:
            rhs -= sources
        _, u, info = lapack.dpbsv(band.T, rhs.reshape(-1, n_rhs), lower=1, overwrite_ab=1)
        if info != 0:
            raise NotPositiveDefiniteError("the row-node system is not positive definite")
        u = u.reshape(n_g, self.cols, rows, n_rhs)
        # Column nodes from the row nodes: w_j = T_j^-1 (G_j u_j + b_j).
        b_w = gt[..., None] * u
        b_w += chain_rhs[..., 2:]
        w, _ = lapack.dpttrs(d_f, e_f, b_w.reshape(-1, n_rhs), overwrite_b=1)
        w = w.reshape(n_g, self.cols, rows, n_rhs)
        # Back to (k, rows, cols), and to the caller's orientation.
        if per_vector:
            u, w = u[..., 0], w[..., 0]
        else:
            u, w = u[0].transpose(2, 0, 1), w[0].transpose(2, 0, 1)
        if self.transposed:
            return w, u
        return u.transpose(0, 2, 1), w.transpose(0, 2, 1)
