"""General path of the crossbar solver: one sparse nodal matrix, factored once, any terminals.

The reference every faster path is checked against; also the Newton step for nonlinear devices.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix, csgraph
from scipy.sparse.linalg import splu

from mtjlab.sim._solver_common import Ends


def _line_fixed_voltage(start_v: np.ndarray, end_v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Zero-resistance lines tied to a source: fixed mask (lines,) and volts (lines, k)."""
    start_on = ~np.isnan(start_v[:, 0])
    end_on = ~np.isnan(end_v[:, 0])
    volts = np.where(start_on[:, None], start_v, end_v)
    return start_on | end_on, np.nan_to_num(volts)


def solve_nodes(
    conductance_s: np.ndarray,
    g_row: float,
    g_col: float,
    ends: Ends,
    current_a: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Node voltages of the crossbar by sparse LU on the nodal matrix of the unknown nodes.

    Parameters
    ----------
    conductance_s : ndarray, shape (K, rows, cols)
        Device conductances; K is 1 (one matrix shared by all k vectors) or k (one per vector,
        as in a Newton step, solved as one block-diagonal system).
    g_row, g_col : float
        Segment conductances; ``inf`` marks a zero-resistance line, collapsed to one node.
    ends : Ends
        Terminal voltages.
    current_a : ndarray, shape (k, rows, cols), optional
        Current sources in parallel with the devices, flowing from row node to column node.

    Returns
    -------
    row_node_v, column_node_v : ndarray, shape (k, rows, cols)

    Notes
    -----
    A part of the circuit that no source reaches has no defined potential; one node of each such
    island is pinned at 0 V, which leaves every current unchanged.
    """
    n_blocks, rows, cols = conductance_s.shape
    k = ends.k
    n_rhs = k if n_blocks == 1 else 1
    row_lumped = np.isinf(g_row)
    col_lumped = np.isinf(g_col)

    cells = np.arange(rows * cols).reshape(rows, cols)
    n_u = rows if row_lumped else rows * cols
    u_idx = np.repeat(np.arange(rows)[:, None], cols, axis=1) if row_lumped else cells
    n_w = cols if col_lumped else rows * cols
    w_idx = n_u + (np.repeat(np.arange(cols)[None, :], rows, axis=0) if col_lumped else cells)
    n_nodes = n_u + n_w

    # Fixed (Dirichlet) nodes: zero-resistance lines tied to a source, values per vector.
    fixed = np.zeros(n_nodes, dtype=bool)
    fixed_v = np.zeros((n_nodes, k))
    if row_lumped:
        on, volts = _line_fixed_voltage(ends.row_start_v, ends.row_end_v)
        fixed[:rows] = on
        fixed_v[:rows] = volts
    if col_lumped:
        on, volts = _line_fixed_voltage(ends.column_start_v, ends.column_end_v)
        fixed[n_u:] = on
        fixed_v[n_u:] = volts

    # Conductance to sources through terminal segments, and the current they inject.
    tie_s = np.zeros(n_nodes)
    inject_a = np.zeros((n_nodes, k))
    if not row_lumped:
        for on, volts, j in (
            (ends.row_start_on, ends.row_start_v, 0),
            (ends.row_end_on, ends.row_end_v, cols - 1),
        ):
            np.add.at(tie_s, cells[on, j], g_row)
            np.add.at(inject_a, cells[on, j], g_row * volts[on])
    if not col_lumped:
        for on, volts, i in (
            (ends.col_start_on, ends.column_start_v, 0),
            (ends.col_end_on, ends.column_end_v, rows - 1),
        ):
            np.add.at(tie_s, n_u + cells[i, on], g_col)
            np.add.at(inject_a, n_u + cells[i, on], g_col * volts[on])

    # Edges of one block: segments (shared) then devices (per block).
    parts_a, parts_b, parts_g = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.int64)], []
    if not row_lumped and cols > 1:
        parts_a.append(cells[:, :-1].ravel())
        parts_b.append(cells[:, 1:].ravel())
        parts_g.append(np.full(rows * (cols - 1), g_row))
    if not col_lumped and rows > 1:
        parts_a.append(n_u + cells[:-1, :].ravel())
        parts_b.append(n_u + cells[1:, :].ravel())
        parts_g.append(np.full((rows - 1) * cols, g_col))
    seg_a = np.concatenate(parts_a)
    seg_b = np.concatenate(parts_b)
    seg_g = np.concatenate([np.zeros(0), *parts_g])

    offsets = np.arange(n_blocks)[:, None] * n_nodes
    dev_a = (offsets + u_idx.ravel()).ravel()
    dev_b = (offsets + w_idx.ravel()).ravel()
    dev_g = conductance_s.reshape(-1)
    edge_a = np.concatenate([(offsets + seg_a).ravel(), dev_a])
    edge_b = np.concatenate([(offsets + seg_b).ravel(), dev_b])
    edge_g = np.concatenate([np.tile(seg_g, n_blocks), dev_g])
    keep = edge_g != 0
    edge_a, edge_b, edge_g = edge_a[keep], edge_b[keep], edge_g[keep]

    total = n_blocks * n_nodes
    fixed_all = np.tile(fixed, n_blocks)
    tie_all = np.tile(tie_s, n_blocks)

    # Islands: connected parts of the unknown nodes with no tie to a source or fixed node.
    free_edge = ~fixed_all[edge_a] & ~fixed_all[edge_b]
    graph = coo_matrix(
        (np.ones(free_edge.sum()), (edge_a[free_edge], edge_b[free_edge])), shape=(total, total)
    )
    _, label = csgraph.connected_components(graph, directed=False)
    grounded = np.zeros(label.max() + 1, dtype=bool)
    touches = tie_all != 0
    touches[edge_a[fixed_all[edge_b]]] = True
    touches[edge_b[fixed_all[edge_a]]] = True
    grounded[label[touches & ~fixed_all]] = True
    grounded[label[fixed_all]] = True
    _, first = np.unique(label, return_index=True)
    pinned = first[~grounded[label[first]]]
    fixed_all[pinned] = True

    # Per-vector right-hand side: (blocks, nodes, n_rhs) flattened over blocks and nodes.
    if n_blocks == 1:
        rhs = inject_a[None]
        value = np.where(fixed[:, None], fixed_v, 0.0)[None]
    else:
        rhs = inject_a.T[:, :, None]
        value = np.where(fixed[None, :], fixed_v.T, 0.0)[:, :, None]
    rhs = rhs.reshape(total, n_rhs).copy()
    value = value.reshape(total, n_rhs).copy()
    value[pinned] = 0.0
    if current_a is not None:
        src = current_a.reshape(k, -1)
        np.add.at(rhs, dev_a, -src.reshape(-1, 1))
        np.add.at(rhs, dev_b, src.reshape(-1, 1))

    # Laplacian rows of the unknown nodes; couplings to fixed nodes move to the right-hand side.
    free = ~fixed_all
    free_idx = np.flatnonzero(free)
    if free_idx.size:
        position = np.full(total, -1)
        position[free_idx] = np.arange(free_idx.size)
        diag = tie_all.copy()
        np.add.at(diag, edge_a, edge_g)
        np.add.at(diag, edge_b, edge_g)
        both = free[edge_a] & free[edge_b]
        a_free = free[edge_a] & ~free[edge_b]
        b_free = free[edge_b] & ~free[edge_a]
        np.add.at(rhs, edge_a[a_free], edge_g[a_free, None] * value[edge_b[a_free]])
        np.add.at(rhs, edge_b[b_free], edge_g[b_free, None] * value[edge_a[b_free]])
        pa, pb = position[edge_a[both]], position[edge_b[both]]
        row = np.concatenate([np.arange(free_idx.size), pa, pb])
        col = np.concatenate([np.arange(free_idx.size), pb, pa])
        data = np.concatenate([diag[free_idx], -edge_g[both], -edge_g[both]])
        matrix = coo_matrix((data, (row, col)), shape=(free_idx.size,) * 2).tocsc()
        if (edge_g >= 0).all():  # a symmetric positive definite matrix: no pivoting needed
            lu = splu(
                matrix,
                permc_spec="MMD_AT_PLUS_A",
                diag_pivot_thresh=0.0,
                options={"SymmetricMode": True},
            )
        else:
            lu = splu(matrix)
        solution = lu.solve(np.ascontiguousarray(rhs[free_idx]))
        value[free_idx] = solution.reshape(free_idx.size, n_rhs)

    node_v = value.T if n_blocks == 1 else value.reshape(n_blocks, n_nodes)  # (k, nodes)
    return node_v[:, u_idx], node_v[:, w_idx]
