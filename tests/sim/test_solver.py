"""The crossbar solver against hand-solved circuits, Kirchhoff's laws and a dense direct solve."""

from __future__ import annotations

import dataclasses
import functools
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mtjlab.core.schemes import line_voltages
from mtjlab.sim._solver_common import Ends
from mtjlab.sim.chip import Chip
from mtjlab.sim.solver import METHODS, ConvergenceError, Terminals, solve_crossbar, solve_ends

NAN = np.nan


def random_array(rng, rows, cols):
    return rng.choice([1 / 5e3, 1 / 12e3], size=(rows, cols))


def random_terminals(rng, rows, cols, k):
    """Every end independently open, grounded, biased or driven; some lines float."""

    def ends(lines):
        kind = rng.integers(0, 4, size=lines)  # 0 open, 1 ground, 2 bias, 3 drive
        volts = rng.uniform(-1, 1, size=(lines, k))
        volts[kind == 0] = NAN
        volts[kind == 1] = 0.0
        volts[kind == 2] = rng.uniform(-0.5, 0.5, size=(kind == 2).sum())[:, None]
        return volts

    t = Terminals(ends(rows), ends(rows), ends(cols), ends(cols))
    # Make sure at least one source exists, and one floating row and column when there is room.
    t.row_start_v[0] = rng.uniform(-1, 1, size=k)
    if rows > 2:
        t.row_start_v[-1] = t.row_end_v[-1] = NAN
    if cols > 2:
        t.column_start_v[-1] = t.column_end_v[-1] = NAN
    return t


def dense_reference(g, r_row, r_col, t):
    """Node voltages by numpy.linalg.solve on the full nodal matrix, built node by node."""
    rows, cols = g.shape
    k = t.row_start_v.shape[1]
    n = rows * cols

    def u(i, j):
        return i * cols + j

    def w(i, j):
        return n + i * cols + j

    a = np.zeros((2 * n, 2 * n))
    b = np.zeros((2 * n, k))

    def connect(p, q, gpq):
        a[p, p] += gpq
        a[q, q] += gpq
        a[p, q] -= gpq
        a[q, p] -= gpq

    def tie(p, gp, volts):
        if not np.isnan(volts[0]):
            a[p, p] += gp
            b[p] += gp * volts

    for i in range(rows):
        for j in range(cols):
            connect(u(i, j), w(i, j), g[i, j])
            if j + 1 < cols:
                connect(u(i, j), u(i, j + 1), 1 / r_row)
            if i + 1 < rows:
                connect(w(i, j), w(i + 1, j), 1 / r_col)
        tie(u(i, 0), 1 / r_row, t.row_start_v[i])
        tie(u(i, cols - 1), 1 / r_row, t.row_end_v[i])
    for j in range(cols):
        tie(w(0, j), 1 / r_col, t.column_start_v[j])
        tie(w(rows - 1, j), 1 / r_col, t.column_end_v[j])
    v = np.linalg.solve(a, b)
    return v[:n].T.reshape(k, rows, cols), v[n:].T.reshape(k, rows, cols)


def kcl_residuals(g, r_row, r_col, t, sol, device_a=None):
    """Net current leaving every row and column node (k, rows, cols), from voltages alone."""
    u, w = sol.row_node_v, sol.column_node_v
    dev = g * (u - w) if device_a is None else device_a
    res_u = dev.copy()
    res_w = -dev.copy()
    res_u[:, :, :-1] += (u[:, :, :-1] - u[:, :, 1:]) / r_row
    res_u[:, :, 1:] += (u[:, :, 1:] - u[:, :, :-1]) / r_row
    res_w[:, :-1, :] += (w[:, :-1, :] - w[:, 1:, :]) / r_col
    res_w[:, 1:, :] += (w[:, 1:, :] - w[:, :-1, :]) / r_col
    res_u[:, :, 0] += np.nan_to_num((u[:, :, 0] - t.row_start_v.T) / r_row)
    res_u[:, :, -1] += np.nan_to_num((u[:, :, -1] - t.row_end_v.T) / r_row)
    res_w[:, 0, :] += np.nan_to_num((w[:, 0, :] - t.column_start_v.T) / r_col)
    res_w[:, -1, :] += np.nan_to_num((w[:, -1, :] - t.column_end_v.T) / r_col)
    return res_u, res_w


# ---------------------------------------------------------------------------------------------
# Hand-solved circuits


def test_one_cell_is_three_resistors_in_series():
    r_dev, r_row, r_col, v = 5e3, 7.0, 3.0, 0.8
    sol = solve_crossbar([[1 / r_dev]], [v], r_row, r_col)
    current = v / (r_row + r_dev + r_col)
    assert sol.column_currents_a == pytest.approx([current], rel=1e-12)
    assert sol.row_currents_a == pytest.approx([current], rel=1e-12)
    assert sol.row_node_v[0, 0] == pytest.approx(v - current * r_row, rel=1e-12)
    assert sol.column_node_v[0, 0] == pytest.approx(current * r_col, rel=1e-12)
    assert sol.device_currents_a[0, 0] == pytest.approx(current, rel=1e-12)
    assert sol.iterations == 0


def test_one_cell_driven_from_both_ends_of_both_lines():
    # Row tied at both ends to v through r_row each: r_row/2 to the node; column to 0 V likewise.
    r_dev, r_row, r_col, v = 1e3, 10.0, 30.0, 1.0
    t = Terminals([v], [v], [0.0], [0.0])
    sol = solve_crossbar([[1 / r_dev]], r_row=r_row, r_col=r_col, terminals=t)
    current = v / (r_row / 2 + r_dev + r_col / 2)
    assert sol.row_start_current_a == pytest.approx([current / 2], rel=1e-12)
    assert sol.row_end_current_a == pytest.approx([current / 2], rel=1e-12)
    assert sol.column_start_current_a == pytest.approx([current / 2], rel=1e-12)
    assert sol.column_end_current_a == pytest.approx([current / 2], rel=1e-12)
    assert sol.column_currents_a == pytest.approx([current], rel=1e-12)


def test_two_by_two_with_row_resistance_is_two_ladders():
    # r_col = 0: columns are ideal 0 V nodes, so each row is a ladder:
    # source - r - node0 (R_i0 to ground) - r - node1 (R_i1 to ground).
    r = 50.0
    res = np.array([[1e3, 2e3], [3e3, 4e3]])
    v = np.array([1.0, 0.5])
    sol = solve_crossbar(1 / res, v, r_row=r, r_col=0.0)
    dev = np.zeros((2, 2))
    for i in range(2):
        far = r + res[i, 1]
        near = res[i, 0] * far / (res[i, 0] + far)
        i_row = v[i] / (r + near)
        node0 = v[i] - i_row * r
        dev[i, 0] = node0 / res[i, 0]
        dev[i, 1] = node0 / far
        assert sol.row_currents_a[i] == pytest.approx(i_row, rel=1e-12)
        assert sol.row_node_v[i, 1] == pytest.approx(dev[i, 1] * res[i, 1], rel=1e-12)
    assert sol.column_currents_a == pytest.approx(dev.sum(axis=0), rel=1e-12)
    assert sol.device_currents_a == pytest.approx(dev, rel=1e-12)
    assert np.all(sol.column_node_v == 0.0)


def test_two_by_two_with_column_resistance_by_cramers_rule():
    # r_row = 0: rows are ideal nodes at v0, v1. Column j: w0 - r - w1 - r - ground, device
    # conductances g0 (from v0 into w0) and g1 (from v1 into w1). Nodal equations:
    #   (g0 + 1/r) w0 - w1/r = g0 v0
    #   -w0/r + (g1 + 2/r) w1 = g1 v1
    r = 20.0
    g = np.array([[1e-3, 2e-4], [5e-4, 1e-4]])
    v = np.array([0.7, -0.3])
    sol = solve_crossbar(g, v, r_row=0.0, r_col=r)
    for j in range(2):
        g0, g1 = g[0, j], g[1, j]
        a11, a12, a22 = g0 + 1 / r, -1 / r, g1 + 2 / r
        b1, b2 = g0 * v[0], g1 * v[1]
        det = a11 * a22 - a12 * a12
        w0 = (b1 * a22 - a12 * b2) / det
        w1 = (a11 * b2 - a12 * b1) / det
        assert sol.column_node_v[:, j] == pytest.approx([w0, w1], rel=1e-12)
        assert sol.column_currents_a[j] == pytest.approx(w1 / r, rel=1e-12)
        assert sol.column_end_current_a[j] == pytest.approx(w1 / r, rel=1e-12)
    assert np.all(sol.column_start_current_a == 0.0)
    assert np.all(sol.row_node_v == v[:, None])


# ---------------------------------------------------------------------------------------------
# Ideal lines


@pytest.mark.parametrize("shape", [(15, 15), (3, 7), (1, 1)])
@pytest.mark.parametrize("k", [None, 1, 5])
def test_zero_line_resistance_is_exactly_the_matrix_product(shape, k):
    rng = np.random.default_rng(1)
    g = random_array(rng, *shape)
    v = rng.uniform(-1, 1, size=shape[:1] if k is None else (shape[0], k))
    sol = solve_crossbar(g, v, 0.0, 0.0)
    assert np.array_equal(sol.column_currents_a, v.T @ g)
    assert sol.method == "ideal"


def test_zero_resistance_line_tied_at_both_ends_splits_like_the_limit():
    rng = np.random.default_rng(2)
    g = random_array(rng, 4, 5)
    t = Terminals(
        row_start_v=rng.uniform(0, 1, 4),
        row_end_v=np.full(4, NAN),
        column_start_v=np.zeros(5),
        column_end_v=np.zeros(5),
    )
    ideal = solve_crossbar(g, r_row=1e-3, r_col=0.0, terminals=t)
    tiny = solve_crossbar(g, r_row=1e-3, r_col=1e-9, terminals=t)
    for name in ("column_start_current_a", "column_end_current_a", "column_currents_a"):
        np.testing.assert_allclose(getattr(ideal, name), getattr(tiny, name), rtol=1e-6)


def test_zero_resistance_line_tied_to_two_voltages_is_refused():
    t = Terminals([1.0], [0.5], [0.0], [NAN])
    with pytest.raises(ValueError, match="row line 0 has zero resistance"):
        solve_crossbar([[1e-3]], r_row=0.0, r_col=1.0, terminals=t)


# ---------------------------------------------------------------------------------------------
# Kirchhoff's laws and an independent solve


@pytest.mark.parametrize("seed", range(6))
def test_random_terminals_match_dense_solve_and_kirchhoff(seed):
    rng = np.random.default_rng(seed)
    rows, cols, k = rng.integers(1, 7, size=2).tolist() + [3]
    g = random_array(rng, rows, cols)
    r_row, r_col = rng.uniform(0.5, 20, size=2)
    t = random_terminals(rng, rows, cols, k)
    sol = solve_crossbar(g, r_row=r_row, r_col=r_col, terminals=t)
    u_ref, w_ref = dense_reference(g, r_row, r_col, t)
    np.testing.assert_allclose(sol.row_node_v, u_ref, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(sol.column_node_v, w_ref, rtol=1e-9, atol=1e-12)

    res_u, res_w = kcl_residuals(g, r_row, r_col, t, sol)
    scale = np.abs(sol.device_currents_a).max() + np.abs(sol.row_currents_a).max()
    assert np.abs(res_u).max() < 1e-10 * scale
    assert np.abs(res_w).max() < 1e-10 * scale

    # Terminal currents follow from the end node voltages; open ends carry nothing.
    start = np.nan_to_num((t.row_start_v.T - sol.row_node_v[:, :, 0]) / r_row)
    np.testing.assert_allclose(sol.row_start_current_a, start, rtol=1e-9, atol=1e-15)
    end = np.nan_to_num((sol.column_node_v[:, -1, :] - t.column_end_v.T) / r_col)
    np.testing.assert_allclose(sol.column_end_current_a, end, rtol=1e-9, atol=1e-15)
    # Global conservation: all that enters by the rows leaves by the columns.
    np.testing.assert_allclose(
        sol.row_currents_a.sum(axis=1), sol.column_currents_a.sum(axis=1), rtol=1e-9, atol=1e-15
    )


def test_default_termination_conserves_current_and_obeys_kcl():
    rng = np.random.default_rng(3)
    g = random_array(rng, 15, 15)
    v = rng.uniform(0, 1, size=(15, 20))
    sol = solve_crossbar(g, v, 2.0, 2.0)
    t = Terminals.default(v, 15, 15)
    res_u, res_w = kcl_residuals(g, 2.0, 2.0, t, sol)
    assert max(np.abs(res_u).max(), np.abs(res_w).max()) < 1e-12 * np.abs(sol.row_currents_a).max()
    np.testing.assert_allclose(sol.row_currents_a.sum(1), sol.column_currents_a.sum(1), rtol=1e-12)
    assert np.all(sol.row_end_current_a == 0) and np.all(sol.column_start_current_a == 0)
    # Line resistance only loses current relative to the ideal product.
    assert np.all(sol.column_currents_a < v.T @ g)


def test_batch_equals_separate_solves():
    rng = np.random.default_rng(4)
    g = random_array(rng, 5, 6)
    t = random_terminals(rng, 5, 6, 4)
    batch = solve_crossbar(g, r_row=3.0, r_col=4.0, terminals=t)
    for q in range(4):
        one = Terminals(*(a[:, q] for a in dataclasses.astuple(t)))
        single = solve_crossbar(g, r_row=3.0, r_col=4.0, terminals=one)
        assert single.column_currents_a.shape == (6,)
        assert single.device_voltages_v.shape == (5, 6)
        np.testing.assert_allclose(batch.column_currents_a[q], single.column_currents_a, rtol=1e-12)
        np.testing.assert_allclose(batch.device_voltages_v[q], single.device_voltages_v, rtol=1e-12)


def test_island_with_no_source_sits_at_zero_and_carries_nothing():
    # Row 1 floats and all its devices are open: no defined potential, no current.
    g = np.array([[1e-3, 1e-3], [0.0, 0.0]])
    t = Terminals([1.0, NAN], [NAN, NAN], [NAN, NAN], [0.0, 0.0])
    sol = solve_crossbar(g, r_row=1.0, r_col=1.0, terminals=t)
    assert np.all(sol.row_node_v[1] == 0.0)
    assert np.all(sol.device_currents_a[1] == 0.0)
    assert np.all(np.isfinite(sol.column_currents_a))
    assert sol.column_currents_a.sum() == pytest.approx(sol.row_currents_a.sum(), rel=1e-12)


def test_shorted_and_open_devices():
    g = np.full((3, 3), 1e-4)
    g[1, 1] = 1e3  # shorted
    g[0, 2] = 0.0  # open
    v = np.array([0.2, 0.3, 0.1])
    sol = solve_crossbar(g, v, 2.0, 2.0)
    assert sol.device_currents_a[0, 2] == 0.0
    t = Terminals.default(v, 3, 3)
    res_u, res_w = kcl_residuals(g, 2.0, 2.0, t, _batched(sol))
    assert max(np.abs(res_u).max(), np.abs(res_w).max()) < 1e-12 * np.abs(sol.row_currents_a).max()


def _batched(sol):
    return SimpleNamespace(row_node_v=sol.row_node_v[None], column_node_v=sol.column_node_v[None])


# ---------------------------------------------------------------------------------------------
# Nonlinear devices


def cubic_device(g0, beta):
    def device_iv(v):
        return g0 * v + beta * v**3, g0 + 3 * beta * v**2

    return device_iv


def test_newton_satisfies_kcl_with_the_nonlinear_law():
    rng = np.random.default_rng(5)
    g = random_array(rng, 6, 5)
    t = random_terminals(rng, 6, 5, 3)
    law = cubic_device(g, 4e-4)
    sol = solve_crossbar(g, r_row=5.0, r_col=5.0, terminals=t, device_iv=law, tol_v=1e-12)
    assert sol.iterations >= 2
    device_a = law(sol.device_voltages_v)[0]
    np.testing.assert_allclose(sol.device_currents_a, device_a, rtol=1e-12)
    res_u, res_w = kcl_residuals(g, 5.0, 5.0, t, sol, device_a=device_a)
    assert max(np.abs(res_u).max(), np.abs(res_w).max()) < 1e-9 * np.abs(device_a).max()
    # And the law matters: the linear answer differs.
    linear = solve_crossbar(g, r_row=5.0, r_col=5.0, terminals=t)
    assert np.abs(linear.column_currents_a - sol.column_currents_a).max() > 1e-6


def test_linear_device_law_reproduces_the_linear_solution():
    rng = np.random.default_rng(6)
    g = random_array(rng, 4, 4)
    v = rng.uniform(0, 1, size=(4, 3))
    linear = solve_crossbar(g, v, 2.0, 2.0)
    newton = solve_crossbar(
        g, v, 2.0, 2.0, device_iv=lambda x: (g * x, np.broadcast_to(g, x.shape))
    )
    assert newton.iterations == 1
    np.testing.assert_allclose(newton.column_currents_a, linear.column_currents_a, rtol=1e-12)


def test_newton_with_ideal_lines():
    g = np.array([[1e-3, 2e-3]])
    law = cubic_device(g, 1e-3)
    sol = solve_crossbar(g, [0.5], 0.0, 0.0, device_iv=law)
    np.testing.assert_allclose(sol.column_currents_a, law(np.array([[[0.5, 0.5]]]))[0][0, 0])


def test_newton_that_cannot_converge_raises():
    g = np.full((2, 2), 1e-3)

    def unstable(v):  # slope of the wrong sign: each step overshoots further
        return 1e-3 * np.sign(v) * np.abs(v) ** 0.3, np.full(v.shape, 1e-3)

    with pytest.raises(ConvergenceError, match=r"did not converge in 3 iterations.*update"):
        solve_crossbar(g, [1.0, 0.5], 100.0, 100.0, device_iv=unstable, max_iter=3)


def test_device_iv_returning_wrong_shape_is_refused():
    with pytest.raises(ValueError, match=r"device_iv returned current_a of shape \(2, 2\)"):
        solve_crossbar(np.full((2, 2), 1e-3), [1.0, 0.5], 1.0, 1.0, device_iv=lambda v: (v[0], v))


# ---------------------------------------------------------------------------------------------
# Validation at the edge


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (
            {"conductance_s": [[-1e-3]]},
            r"conductance_s\[0, 0\]=-0.001 is out of range; allowed: >= 0 S",
        ),
        ({"conductance_s": [[NAN]]}, r"conductance_s\[0, 0\]=nan is out of range; allowed: >= 0"),
        ({"conductance_s": [1e-3]}, r"conductance_s must be a non-empty 2-D.*\(1,\)"),
        ({"row_voltages": [1.0, 2.0]}, r"row_voltages must have shape \(1,\).*got \(2,\)"),
        ({"row_voltages": [NAN]}, r"row_voltages\[0\]=nan is out of range; allowed: any finite"),
        ({"r_row": -1.0}, r"r_row=-1.0 is out of range; allowed: >= 0 ohm per segment"),
        ({"r_col": [1.0, 2.0]}, r"r_col must be a scalar"),
        ({"row_voltages": None}, r"exactly one of row_voltages .* got neither"),
        ({"tol_v": 0.0}, r"tol_v=0.0 is out of range; allowed: > 0 V"),
        ({"max_iter": 0}, r"max_iter=0 is out of range; allowed: >= 1"),
        ({"max_iter": 2.5}, r"max_iter=2.5 is not an integer; allowed: >= 1"),
    ],
)
def test_invalid_arguments_are_named(kwargs, match):
    args = {"conductance_s": [[1e-3]], "row_voltages": [1.0], "r_row": 1.0, "r_col": 1.0}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        solve_crossbar(**args)


def test_terminals_and_row_voltages_together_are_refused():
    with pytest.raises(ValueError, match="got both"):
        solve_crossbar([[1e-3]], [1.0], terminals=Terminals.default([1.0], 1, 1))


def test_inconsistent_open_pattern_across_vectors_is_refused():
    t = Terminals.default(np.ones((2, 3)), 2, 2)
    t.column_end_v[1, 2] = NAN
    with pytest.raises(ValueError, match=r"column_end_v: line 1 is open \(NaN\) for some"):
        solve_crossbar(np.full((2, 2), 1e-3), r_row=1.0, r_col=1.0, terminals=t)


def test_terminal_arrays_disagreeing_on_k_are_refused():
    t = Terminals(np.ones((2, 3)), np.ones((2, 4)), np.ones(2), np.ones(2))
    with pytest.raises(ValueError, match="disagree on the number of vectors"):
        solve_crossbar(np.full((2, 2), 1e-3), r_row=1.0, r_col=1.0, terminals=t)


@settings(max_examples=40, deadline=None)
@given(
    rows=st.integers(1, 4),
    cols=st.integers(1, 4),
    wrong=st.integers(1, 5),
    k=st.one_of(st.none(), st.integers(1, 3)),
)
def test_row_voltage_shape_must_match_rows(rows, cols, wrong, k):
    g = np.full((rows, cols), 1e-3)
    shape = (wrong,) if k is None else (wrong, k)
    if wrong == rows:
        sol = solve_crossbar(g, np.ones(shape), 1.0, 1.0)
        expected = (cols,) if k is None else (k, cols)
        assert sol.column_currents_a.shape == expected
    else:
        with pytest.raises(ValueError, match=rf"row_voltages must have shape \({rows},\)"):
            solve_crossbar(g, np.ones(shape), 1.0, 1.0)


@settings(max_examples=30, deadline=None)
@given(
    rows=st.integers(1, 5),
    cols=st.integers(1, 5),
    r=st.floats(0.0, 100.0),
    scale=st.floats(1e-6, 1e3),
)
def test_conservation_for_any_size_and_resistance(rows, cols, r, scale):
    rng = np.random.default_rng(rows * 10 + cols)
    g = random_array(rng, rows, cols)
    v = rng.uniform(-scale, scale, size=(rows, 2))
    sol = solve_crossbar(g, v, r, r)
    np.testing.assert_allclose(
        sol.row_currents_a.sum(1), sol.column_currents_a.sum(1), rtol=1e-9, atol=1e-18 * scale
    )


# ---------------------------------------------------------------------------------------------
# The block path against the general path


def tied_terminals(rng, rows, cols, k):
    """Every line tied at its start, its end or both, to random voltages."""

    def ends(lines):
        kind = rng.integers(1, 4, size=lines)  # 1 start, 2 end, 3 both
        start = rng.uniform(-1, 1, size=(lines, k))
        end = rng.uniform(-1, 1, size=(lines, k))
        start[kind == 2] = NAN
        end[kind == 1] = NAN
        return start, end

    row_start, row_end = ends(rows)
    col_start, col_end = ends(cols)
    return Terminals(row_start, row_end, col_start, col_end)


@pytest.fixture
def general_path():
    """Solve with the general sparse path only."""
    return functools.partial(solve_crossbar, method="nodal")


FIELDS = (
    "column_currents_a",
    "row_currents_a",
    "row_start_current_a",
    "row_end_current_a",
    "column_start_current_a",
    "column_end_current_a",
    "row_node_v",
    "column_node_v",
    "device_voltages_v",
    "device_currents_a",
)


def assert_same_solution(a, b, rtol=1e-9):
    for name in FIELDS:
        x, y = getattr(a, name), getattr(b, name)
        assert x.shape == y.shape, name
        np.testing.assert_allclose(x, y, rtol=rtol, atol=rtol * np.abs(y).max(), err_msg=name)


@pytest.mark.parametrize("shape", [(2, 2), (5, 9), (9, 5), (16, 16), (3, 30), (40, 45), (45, 40)])
def test_block_path_matches_general_path(shape, general_path):
    rng = np.random.default_rng(shape[0] * 100 + shape[1])
    g = rng.choice([1 / 5e3, 1 / 12e3, 1e3, 0.0], p=[0.45, 0.45, 0.05, 0.05], size=shape)
    t = tied_terminals(rng, *shape, 3)
    fast = solve_crossbar(g, r_row=2.0, r_col=3.0, terminals=t)
    assert fast.method == "block"
    reference = general_path(g, r_row=2.0, r_col=3.0, terminals=t)
    assert reference.method == "nodal"
    assert_same_solution(fast, reference)


@pytest.mark.parametrize("shape", [(15, 15), (20, 12)])
def test_block_path_default_termination_matches_dense_solve(shape):
    rng = np.random.default_rng(7)
    g = random_array(rng, *shape)
    v = rng.uniform(0, 0.3, size=(shape[0], 4))
    sol = solve_crossbar(g, v, 2.0, 2.0)
    assert sol.method == "block"
    u_ref, w_ref = dense_reference(g, 2.0, 2.0, Terminals.default(v, *shape))
    np.testing.assert_allclose(sol.row_node_v, u_ref, rtol=1e-10)
    np.testing.assert_allclose(sol.column_node_v, w_ref, rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(sol.column_currents_a, w_ref[:, -1, :] / 2.0, rtol=1e-9)


def test_block_path_with_a_fully_shorted_column(general_path):
    # 60 shorted devices on one column chain: the product form of its inverse underflows and
    # the block path falls back to solving the chain directly.
    rng = np.random.default_rng(8)
    g = random_array(rng, 60, 60)
    g[:, 3] = 1e3
    v = rng.uniform(0, 0.3, size=60)
    fast = solve_crossbar(g, v, 2.0, 2.0)
    assert fast.method == "block"
    assert_same_solution(fast, general_path(g, v, 2.0, 2.0))


def test_floating_lines_and_tiny_segments_choose_the_path():
    rng = np.random.default_rng(9)
    g = random_array(rng, 4, 4)
    t = tied_terminals(rng, 4, 4, 2)
    assert solve_crossbar(g, r_row=2.0, r_col=2.0, terminals=t).method == "block"
    assert solve_crossbar(g, r_row=1e-6, r_col=2.0, terminals=t).method == "nodal"
    # A floating row whose devices reach tied columns still suits the block path ...
    t.row_start_v[1] = t.row_end_v[1] = NAN
    assert solve_crossbar(g, r_row=2.0, r_col=2.0, terminals=t).method == "block"
    # ... one whose devices are all open is an island for the general path.
    g[1] = 0.0
    assert solve_crossbar(g, r_row=2.0, r_col=2.0, terminals=t).method == "nodal"
    # So is a floating column that only meets floating rows.
    g = random_array(rng, 4, 4)
    t.column_start_v[2] = t.column_end_v[2] = NAN
    g[[0, 2, 3], 2] = 0.0
    assert solve_crossbar(g, r_row=2.0, r_col=2.0, terminals=t).method == "nodal"


@pytest.mark.parametrize("shape", [(6, 8), (8, 6), (40, 36), (97, 98)])
def test_block_path_with_floating_lines_matches_general_path(shape, general_path):
    rng = np.random.default_rng(shape[0] + 7 * shape[1])
    g = random_array(rng, *shape)
    t = tied_terminals(rng, *shape, 2)
    for lines in (t.row_start_v, t.row_end_v):
        lines[1::3] = NAN  # every third row floats
    for lines in (t.column_start_v, t.column_end_v):
        lines[2::4] = NAN  # every fourth column floats
    # asked for: two vectors on 97x98 would go to conjugate gradients first (PCG_FIRST_DEVICES)
    fast = solve_crossbar(g, r_row=2.0, r_col=3.0, terminals=t, method="block")
    assert fast.method == "block" and fast.fallbacks == ()
    assert np.all(fast.row_currents_a[:, 1::3] == 0.0)
    assert np.all(fast.column_currents_a[:, 2::4] == 0.0)
    assert_same_solution(fast, general_path(g, r_row=2.0, r_col=3.0, terminals=t))


def test_single_vector_block_solution_is_unbatched():
    rng = np.random.default_rng(10)
    g = random_array(rng, 6, 4)
    v = rng.uniform(0, 0.3, size=6)
    sol = solve_crossbar(g, v, 2.0, 2.0)
    batch = solve_crossbar(g, v[:, None], 2.0, 2.0)
    assert sol.method == batch.method == "block"
    for name in FIELDS:
        assert getattr(sol, name).shape == getattr(batch, name).shape[1:], name
        np.testing.assert_allclose(getattr(sol, name), getattr(batch, name)[0], rtol=1e-14)


@pytest.mark.parametrize("shape", [(6, 9), (9, 6)])
def test_batched_newton_matches_general_newton_and_kirchhoff(shape):
    rng = np.random.default_rng(11)
    g = random_array(rng, *shape)
    t = tied_terminals(rng, *shape, 4)
    law = cubic_device(g, 4e-4)
    fast = solve_crossbar(g, r_row=5.0, r_col=3.0, terminals=t, device_iv=law, tol_v=1e-12)
    assert fast.method == "block"
    device_a = law(fast.device_voltages_v)[0]
    res_u, res_w = kcl_residuals(g, 5.0, 3.0, t, fast, device_a=device_a)
    assert max(np.abs(res_u).max(), np.abs(res_w).max()) < 1e-9 * np.abs(device_a).max()

    reference = solve_crossbar(
        g, r_row=5.0, r_col=3.0, terminals=t, device_iv=law, tol_v=1e-12, method="nodal"
    )
    assert reference.method == "nodal" and reference.fallbacks == ()
    assert fast.iterations == reference.iterations
    assert_same_solution(fast, reference)


# ---------------------------------------------------------------------------------------------
# Write and read schemes through Terminals


def v_half_scheme(rows, cols, row, col, v_write):
    """Selected row at V, selected column at 0 V, every other line at V/2, driven at its start."""
    row_v = np.full(rows, v_write / 2)
    row_v[row] = v_write
    col_v = np.full(cols, v_write / 2)
    col_v[col] = 0.0
    return dataclasses.replace(Terminals.open(rows, cols), row_start_v=row_v, column_start_v=col_v)


def test_v_half_scheme_with_ideal_lines_is_exact():
    g = random_array(np.random.default_rng(12), 4, 5)
    sol = solve_crossbar(g, r_row=0.0, r_col=0.0, terminals=v_half_scheme(4, 5, 1, 2, 1.2))
    expected = np.zeros((4, 5))
    expected[1, :] = 0.6
    expected[:, 2] = 0.6
    expected[1, 2] = 1.2
    assert np.array_equal(sol.device_voltages_v, expected)
    # Every line is a source here; what the rows deliver the columns take.
    np.testing.assert_allclose(
        sol.column_start_current_a.sum(), sol.row_currents_a.sum(), rtol=1e-12
    )


def test_v_half_scheme_with_line_resistance_loses_a_little_on_the_selected_device():
    g = random_array(np.random.default_rng(13), 15, 15)
    sol = solve_crossbar(g, r_row=2.0, r_col=2.0, terminals=v_half_scheme(15, 15, 7, 7, 1.0))
    assert sol.method == "block"
    assert 0.95 < sol.device_voltages_v[7, 7] < 1.0
    half = np.delete(sol.device_voltages_v[7, :], 7)
    assert np.all((half > 0.45) & (half < 0.5))


def test_row_voltages_and_default_terminals_give_the_same_solution():
    rng = np.random.default_rng(14)
    g = random_array(rng, 5, 4)
    v = rng.uniform(0, 0.3, size=(5, 3))
    a = solve_crossbar(g, v, 2.0, 2.0)
    b = solve_crossbar(g, r_row=2.0, r_col=2.0, terminals=Terminals.default(v, 5, 4))
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


def test_device_iv_returning_nan_or_a_non_tuple_is_refused():
    g = np.full((2, 2), 1e-3)
    with pytest.raises(ValueError, match="non-finite current_a"):
        solve_crossbar(g, [1.0, 0.5], 1.0, 1.0, device_iv=lambda v: (v * np.nan, v))
    with pytest.raises(TypeError, match="must return \\(current_a, conductance_s\\)"):
        solve_crossbar(g, [1.0, 0.5], 1.0, 1.0, device_iv=lambda v: v)


def test_lazy_fields_do_not_see_later_changes_to_the_inputs():
    rng = np.random.default_rng(15)
    g = random_array(rng, 6, 6)
    v = rng.uniform(0, 0.3, size=6)
    sol = solve_crossbar(g, v, 2.0, 2.0)
    expected = solve_crossbar(g.copy(), v.copy(), 2.0, 2.0)
    g *= 2.0
    v *= 2.0
    np.testing.assert_array_equal(sol.column_node_v, expected.column_node_v)
    np.testing.assert_array_equal(sol.device_currents_a, expected.device_currents_a)


def test_arrays_too_large_for_the_block_inverses_take_the_general_path(monkeypatch):
    rng = np.random.default_rng(16)
    g = random_array(rng, 8, 12)
    v = rng.uniform(0, 0.3, size=8)
    assert solve_crossbar(g, v, 2.0, 2.0).method == "block"
    monkeypatch.setattr("mtjlab.sim._solver_block.BLOCK_MAX_ENTRIES", 8 * 8 * 12 - 1)
    assert solve_crossbar(g, v, 2.0, 2.0).method == "nodal"


# ---------------------------------------------------------------------------------------------
# Iterative path (conjugate gradients preconditioned by the line chains), for large arrays


@pytest.fixture
def iterative_path():
    """Arrays of any size by the iterative path, where it applies (method="pcg")."""
    return functools.partial(solve_crossbar, method="pcg")


@pytest.mark.parametrize("shape", [(2, 2), (5, 9), (9, 5), (30, 30), (3, 40)])
def test_iterative_path_matches_general_path(shape, iterative_path):
    rng = np.random.default_rng(shape[0] * 1000 + shape[1])
    g = rng.choice([1 / 5e3, 1 / 12e3, 1e3, 0.0], p=[0.45, 0.45, 0.05, 0.05], size=shape)
    t = tied_terminals(rng, *shape, 3)
    fast = iterative_path(g, r_row=2.0, r_col=3.0, terminals=t)
    assert fast.method == "pcg" and fast.fallbacks == ()
    reference = solve_crossbar(g, r_row=2.0, r_col=3.0, terminals=t, method="nodal")
    assert reference.method == "nodal"
    assert_same_solution(fast, reference, rtol=1e-8)
    res_u, res_w = kcl_residuals(g, 2.0, 3.0, t, fast)
    scale = np.abs(fast.device_currents_a).max()
    assert max(np.abs(res_u).max(), np.abs(res_w).max()) < 1e-8 * scale


def test_iterative_path_with_floating_lines_and_the_default_termination(iterative_path):
    rng = np.random.default_rng(31)
    g = random_array(rng, 20, 24)
    # v/2-like: every other row floats, columns tied at both ends
    t = tied_terminals(rng, 20, 24, 2)
    t.row_start_v[::2] = t.row_end_v[::2] = NAN
    sol = iterative_path(g, r_row=2.0, r_col=2.0, terminals=t)
    assert sol.method == "pcg"
    reference = dense_reference(g, 2.0, 2.0, t)
    np.testing.assert_allclose(sol.row_node_v, reference[0], rtol=0, atol=1e-9)
    np.testing.assert_allclose(sol.column_node_v, reference[1], rtol=0, atol=1e-9)
    # default termination: the sum of what enters by the rows leaves by the columns
    v = rng.uniform(0, 0.3, size=(20, 5))
    sol = iterative_path(g, v, 2.0, 2.0)
    assert sol.method == "pcg"
    np.testing.assert_allclose(
        sol.column_currents_a.sum(axis=1), sol.row_currents_a.sum(axis=1), rtol=1e-9
    )


def test_iterative_path_falls_back_to_the_direct_path(iterative_path, monkeypatch):
    rng = np.random.default_rng(32)
    g = random_array(rng, 12, 12)
    v = rng.uniform(0, 0.3, size=12)
    expected = iterative_path(g, v, 2.0, 2.0)
    assert expected.method == "pcg"
    monkeypatch.setattr("mtjlab.sim._solver_iterative.MAX_ITERATIONS", 1)
    fallback = iterative_path(g, v, 2.0, 2.0)
    # the block path is eligible here and solves next; the fallback is reported, not silent
    assert fallback.method == "block"
    assert len(fallback.fallbacks) == 1 and fallback.fallbacks[0].startswith("pcg: failed")
    assert_same_solution(fallback, expected, rtol=1e-8)
    # a floating line whose devices are all open reaches no source: not for the iterative path
    g[:, 3] = 0.0
    t = Terminals.default(v[:, None], 12, 12)
    t.column_end_v[3] = NAN
    sol = iterative_path(g, r_row=2.0, r_col=2.0, terminals=t)
    assert sol.method == "nodal"
    assert sol.fallbacks[0].startswith("pcg: not applicable")


def test_newton_by_the_iterative_path_matches_general_newton(iterative_path):
    rng = np.random.default_rng(33)
    g = random_array(rng, 14, 11)
    t = tied_terminals(rng, 14, 11, 3)
    law = cubic_device(g, 4e-4)
    fast = iterative_path(g, r_row=5.0, r_col=3.0, terminals=t, device_iv=law, tol_v=1e-12)
    assert fast.method == "pcg"
    reference = solve_crossbar(
        g, r_row=5.0, r_col=3.0, terminals=t, device_iv=law, tol_v=1e-12, method="nodal"
    )
    assert reference.method == "nodal"
    assert_same_solution(fast, reference, rtol=1e-8)


def test_newton_with_a_negative_slope_does_not_take_the_iterative_path(iterative_path):
    rng = np.random.default_rng(34)
    g = random_array(rng, 8, 8)
    v = rng.uniform(0, 0.3, size=8)

    def law(volts):  # a slope that turns negative above 0.05 V
        return g * (volts - 10 * volts**2), g * (1 - 20 * volts)

    sol = iterative_path(g, v, 2.0, 2.0, device_iv=law, tol_v=1e-12)
    assert sol.method == "nodal"
    assert any(f.startswith("pcg: not applicable") for f in sol.fallbacks)


def test_a_512x512_array_takes_the_iterative_path_and_conserves_current():
    rng = np.random.default_rng(35)
    g = random_array(rng, 512, 512)
    v = rng.uniform(0, 0.3, size=(512, 1))
    sol = solve_crossbar(g, v, 2.0, 2.0)
    assert sol.method == "pcg"
    assert sol.column_currents_a.sum() == pytest.approx(sol.row_currents_a.sum(), rel=1e-10)
    res_u, res_w = kcl_residuals(g, 2.0, 2.0, Terminals.default(v, 512, 512), sol)
    assert (
        max(np.abs(res_u).max(), np.abs(res_w).max()) < 1e-9 * np.abs(sol.device_currents_a).max()
    )


# ---------------------------------------------------------------------------------------------
# Banded path (method="banded"): the small arrays of the simulated bench


@pytest.fixture
def nodal_path():
    """Solve with the sparse nodal path only, Newton steps included: the reference."""
    return functools.partial(solve_crossbar, method="nodal")


def scheme_terminals(scheme, shape, cell, v):
    """The simulated bench's biasing, as one vector: rows driven at their start, columns at
    their end."""
    row_v, col_v = line_voltages(scheme, shape, *cell, v)
    rows, cols = shape
    return Terminals(
        row_v[:, None], np.full((rows, 1), NAN), np.full((cols, 1), NAN), col_v[:, None]
    )


def banded_and_reference(g, t, nodal_path, r_row=2.0, r_col=3.0, **kwargs):
    fast = solve_crossbar(g, r_row=r_row, r_col=r_col, terminals=t, method="banded", **kwargs)
    reference = nodal_path(g, r_row=r_row, r_col=r_col, terminals=t, **kwargs)
    assert reference.method == "nodal"
    return fast, reference


def assert_voltages_agree(fast, reference, rtol=1e-12):
    for name in ("row_node_v", "column_node_v"):
        a, b = getattr(fast, name), getattr(reference, name)
        np.testing.assert_allclose(a, b, rtol=0, atol=rtol * np.abs(b).max(), err_msg=name)


@pytest.mark.parametrize(
    "shape", [(15, 15), (2, 2), (2, 7), (7, 2), (5, 9), (9, 5), (16, 16), (3, 30), (32, 40)]
)
def test_banded_path_matches_nodal_path_with_shorts_opens_and_floating_lines(shape, nodal_path):
    rng = np.random.default_rng(shape[0] * 100 + shape[1] + 5000)
    # Shorted devices at 100 ohm, open ones at 0 S, among the two states.
    g = rng.choice([1 / 5e3, 1 / 12e3, 1e-2, 0.0], p=[0.45, 0.45, 0.05, 0.05], size=shape)
    t = tied_terminals(rng, *shape, 3)
    if min(shape) > 2:
        for lines in (t.row_start_v, t.row_end_v):
            lines[1::3] = NAN  # every third row floats
        for lines in (t.column_start_v, t.column_end_v):
            lines[2::4] = NAN  # every fourth column floats
    fast, reference = banded_and_reference(g, t, nodal_path)
    assert fast.method == "banded"
    assert_voltages_agree(fast, reference)
    assert_same_solution(fast, reference, rtol=1e-10)
    res_u, res_w = kcl_residuals(g, 2.0, 3.0, t, fast)
    assert max(np.abs(res_u).max(), np.abs(res_w).max()) < 1e-12 * np.abs(fast.row_currents_a).max()


@pytest.mark.parametrize("scheme", ["v/2", "v/3", "floating", "grounded"])
@pytest.mark.parametrize("shape", [(15, 15), (4, 6), (6, 4)])
def test_banded_newton_matches_general_newton_under_each_scheme(scheme, shape, nodal_path):
    rng = np.random.default_rng(40 + shape[0])
    g = rng.choice([1 / 5e3, 1 / 12e3, 1e-2, 0.0], p=[0.46, 0.46, 0.04, 0.04], size=shape)
    g[1, 2] = 1e-2  # the selected cell shorted, its neighbour open
    g[1, 3] = 0.0
    t = scheme_terminals(scheme, shape, (1, 2), 0.9)
    law = cubic_device(g, 4e-4)
    fast, reference = banded_and_reference(g, t, nodal_path, device_iv=law, tol_v=1e-12)
    assert fast.method == "banded"
    assert fast.iterations == reference.iterations
    assert_voltages_agree(fast, reference)
    assert_same_solution(fast, reference, rtol=1e-10)
    device_a = law(fast.device_voltages_v)[0]
    res_u, res_w = kcl_residuals(g, 2.0, 3.0, t, fast, device_a=device_a)
    assert max(np.abs(res_u).max(), np.abs(res_w).max()) < 1e-12 * np.abs(device_a).max()


def test_banded_newton_with_the_simulated_devices_matches_general_newton(nodal_path):
    # A chip's own array: P and AP devices with the AP state's bias-dependent resistance,
    # its shorted and open defects, a V/2 write pulse and a batch of grounded reads.
    array = Chip.from_seed(3).array(2)
    g = array.linear_conductance_s()
    for t in (
        scheme_terminals("v/2", array.shape, (4, 11), 0.7),
        scheme_terminals("v/3", array.shape, (14, 0), -0.6),
        Terminals.default(np.random.default_rng(0).uniform(0, 0.1, size=(15, 6)), 15, 15),
    ):
        fast, reference = banded_and_reference(
            g, t, nodal_path, r_row=2.0, r_col=2.0, device_iv=array.current_and_slope
        )
        assert fast.method == "banded"
        assert fast.iterations == reference.iterations
        assert_voltages_agree(fast, reference)
        assert_same_solution(fast, reference, rtol=1e-10)


def test_banded_path_with_one_vector_and_row_voltages_is_unbatched():
    rng = np.random.default_rng(41)
    g = random_array(rng, 6, 8)
    v = rng.uniform(0, 0.3, size=6)
    sol = solve_crossbar(g, v, 2.0, 2.0, method="banded")
    batch = solve_crossbar(g, v[:, None], 2.0, 2.0, method="banded")
    block = solve_crossbar(g, v, 2.0, 2.0)
    assert sol.method == batch.method == "banded" and block.method == "block"
    for name in FIELDS:
        assert getattr(sol, name).shape == getattr(batch, name).shape[1:], name
        np.testing.assert_allclose(getattr(sol, name), getattr(batch, name)[0], rtol=1e-14)
    assert_same_solution(sol, block, rtol=1e-12)


def test_banded_path_with_a_fully_shorted_column_inverts_its_chains(nodal_path):
    # 1e3 S devices all along a 32-device chain: the product form of the chain inverse spans
    # more decades than a double holds, and the path inverts the chains instead.
    rng = np.random.default_rng(42)
    g = random_array(rng, 32, 32)
    g[:, 5] = 1e3
    t = Terminals.default(rng.uniform(0, 0.3, size=(32, 2)), 32, 32)
    fast, reference = banded_and_reference(g, t, nodal_path, r_row=2.0, r_col=2.0)
    assert fast.method == "banded"
    assert_same_solution(fast, reference, rtol=1e-9)


def test_banded_path_leaves_what_it_cannot_solve_to_the_automatic_choice():
    rng = np.random.default_rng(43)
    g = random_array(rng, 5, 5)
    t = tied_terminals(rng, 5, 5, 2)
    assert solve_crossbar(g, r_row=2.0, r_col=2.0, terminals=t, method="banded").method == "banded"
    # A floating row whose devices are all open is an island: the general path pins it.
    t.row_start_v[1] = t.row_end_v[1] = NAN
    g[1] = 0.0
    sol = solve_crossbar(g, r_row=2.0, r_col=2.0, terminals=t, method="banded")
    assert sol.method == "nodal"
    assert np.all(sol.device_currents_a[:, 1] == 0.0)
    # Ideal lines, and arrays past 32 lines on both sides, take their own paths.
    v = rng.uniform(0, 0.3, size=5)
    assert solve_crossbar(g, v, 0.0, 0.0, method="banded").method == "ideal"
    big = random_array(rng, 33, 34)
    assert solve_crossbar(big, np.ones(33), 2.0, 2.0, method="banded").method == "block"
    # A Newton step with a negative slope is not for the banded path either.
    law = lambda x: (g * (x - 10 * x**2), g * (1 - 20 * x))  # noqa: E731
    sol = solve_crossbar(g, v, 2.0, 2.0, device_iv=law, tol_v=1e-12, method="banded")
    assert sol.method == "nodal"


def test_unknown_method_is_refused():
    allowed = "auto, banded, ideal, block, pcg, nodal"
    with pytest.raises(ValueError, match=r"method='fast' is not allowed; allowed: " + allowed):
        solve_crossbar([[1e-3]], [1.0], 1.0, 1.0, method="fast")


def test_solve_ends_is_solve_crossbar_without_the_checks():
    rng = np.random.default_rng(44)
    g = random_array(rng, 7, 7)
    t = scheme_terminals("v/3", (7, 7), (2, 5), 0.8)
    law = cubic_device(g, 4e-4)
    for method in METHODS:
        checked = solve_crossbar(g, r_row=2.0, r_col=3.0, terminals=t, device_iv=law, method=method)
        ends = Ends(*(np.array(a) for a in dataclasses.astuple(t)))
        fast = solve_ends(g, 2.0, 3.0, ends, device_iv=law, method=method)
        assert fast.method == checked.method
        for name in FIELDS:
            np.testing.assert_array_equal(getattr(fast, name), getattr(checked, name), name)


@pytest.mark.parametrize("scheme", ["v/2", "v/3", "floating"])
def test_newton_from_the_sources_ends_where_newton_from_the_linear_solution_does(scheme):
    array = Chip.from_seed(5).array(0)
    g = array.linear_conductance_s()
    t = scheme_terminals(scheme, array.shape, (6, 3), 0.7)
    ends = Ends(*(np.array(a) for a in dataclasses.astuple(t)))
    law = array.current_and_slope
    for method in METHODS:
        linear = solve_ends(g, 2.0, 2.0, ends, device_iv=law, method=method)
        sources = solve_ends(g, 2.0, 2.0, ends, device_iv=law, method=method, start="sources")
        assert sources.method == linear.method
        # conjugate gradients stop at a residual of 1e-13 of the right-hand side
        loose = 100 if method == "pcg" else 1
        assert_voltages_agree(sources, linear, rtol=loose * 1e-13)
        assert_same_solution(sources, linear, rtol=loose * 1e-12)
        if scheme == "floating":  # lines not all tied: from the linear solution after all
            assert sources.iterations == linear.iterations
            np.testing.assert_array_equal(sources.row_node_v, linear.row_node_v)
    with pytest.raises(ValueError, match="start='ideal' is not allowed; allowed: linear, sources"):
        solve_ends(g, 2.0, 2.0, ends, device_iv=law, start="ideal")


def test_newton_that_does_not_converge_from_the_sources_starts_again_from_the_linear_solution():
    # A linear law: from the linear solution Newton's first step changes nothing, from the
    # sources it takes one step to get there and one to see it, more than max_iter=1 allows.
    rng = np.random.default_rng(45)
    g = random_array(rng, 6, 6)
    t = scheme_terminals("v/2", (6, 6), (2, 2), 0.8)
    ends = Ends(*(np.array(a) for a in dataclasses.astuple(t)))

    def law(v):
        return g * v, np.broadcast_to(g, v.shape)

    sol = solve_ends(g, 2.0, 2.0, ends, device_iv=law, max_iter=1, start="sources")
    linear = solve_ends(g, 2.0, 2.0, ends, device_iv=law, max_iter=1)
    assert sol.iterations == linear.iterations == 1
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(sol, name), getattr(linear, name), name)


def test_a_batch_too_large_for_the_band_goes_the_automatic_way(monkeypatch):
    rng = np.random.default_rng(46)
    g = random_array(rng, 6, 7)
    v = rng.uniform(0, 0.3, size=(6, 4))
    law = cubic_device(g, 4e-4)
    assert solve_crossbar(g, v, 2.0, 2.0, device_iv=law, method="banded").method == "banded"
    # Four Jacobians of 6x7 devices make a band of 4 * 42 * 7 entries.
    monkeypatch.setattr("mtjlab.sim._solver_block.BANDED_MAX_ENTRIES", 4 * 42 * 7 - 1)
    assert solve_crossbar(g, v, 2.0, 2.0, device_iv=law, method="banded").method == "block"


def test_every_method_in_the_table_is_reachable_by_name_and_agrees():
    from mtjlab.sim.solver import METHOD_TABLE

    rng = np.random.default_rng(77)
    g = random_array(rng, 15, 15)
    v = rng.uniform(-0.1, 0.1, size=(15, 4))
    for r in (2.0, 0.0):  # resistive lines, and ideal ones for "ideal"
        names = [m.name for m in METHOD_TABLE if (m.name == "ideal") == (r == 0.0)]
        names += ["nodal"] if r == 0.0 else []
        solutions = {name: solve_crossbar(g, v, r, r, method=name) for name in names}
        assert {name: s.method for name, s in solutions.items()} == {n: n for n in names}
        assert all(s.fallbacks == () for s in solutions.values())
        reference = solutions["nodal"]
        for s in solutions.values():
            np.testing.assert_allclose(
                s.column_currents_a, reference.column_currents_a, rtol=1e-9, atol=1e-15
            )
    # a method asked for where it does not apply hands over, and says so
    asked = solve_crossbar(g, v, 2.0, 2.0, method="ideal")
    assert asked.method == "block" and asked.fallbacks[0].startswith("ideal: not applicable")
    # the automatic choice skips what does not apply without calling it a fallback
    auto = solve_crossbar(g, v, 2.0, 2.0)
    assert auto.method == "block" and auto.fallbacks == ()


def test_the_iterative_path_carries_strong_devices_in_its_preconditioner(monkeypatch):
    """Shorts (1e3 S against 0.5 S segments) couple their row and column chains more than the
    chains hold together; carried exactly by the preconditioner (Woodbury), they cost about
    the iterations of an array without them, and the answer is the direct path's."""
    from mtjlab.sim import _solver_iterative as iterative
    from mtjlab.sim.solver import _as_ends

    rng = np.random.default_rng(40)
    n = 128
    g = 1 / rng.choice([5e3, 12e3], size=(n, n))
    plain = g.copy()
    g[rng.random((n, n)) < 0.005] = 1e3
    v = rng.uniform(0, 0.3, size=(n, 2))
    ends, _ = _as_ends(Terminals.default(v, n, n), n, n)
    *_, without_shorts = iterative.solve_pcg(plain[None], 0.5, 0.5, ends)
    u, w, carried = iterative.solve_pcg(g[None], 0.5, 0.5, ends)
    monkeypatch.setattr(iterative, "MAX_STRONG", 0)  # chains alone
    *_, chains_alone = iterative.solve_pcg(g[None], 0.5, 0.5, ends)
    assert carried <= without_shorts + 10 < 3 * carried < chains_alone
    reference = solve_crossbar(g, v, 2.0, 2.0, method="nodal")
    np.testing.assert_allclose(u, reference.row_node_v, rtol=0, atol=1e-10)
    np.testing.assert_allclose(w, reference.column_node_v, rtol=0, atol=1e-10)


def test_a_floating_line_held_by_strong_devices_alone_leaves_the_chains_as_they_are(
    iterative_path,
):
    rng = np.random.default_rng(41)
    g = random_array(rng, 40, 40)
    g[7, :] = 1e3  # row 7 floats, and reaches the columns only through shorts
    t = tied_terminals(rng, 40, 40, 2)
    t.row_start_v[7] = t.row_end_v[7] = NAN
    sol = iterative_path(g, r_row=2.0, r_col=2.0, terminals=t)
    assert sol.method == "pcg" and sol.fallbacks == ()
    reference = solve_crossbar(g, r_row=2.0, r_col=2.0, terminals=t, method="nodal")
    assert_same_solution(sol, reference, rtol=1e-8)


@pytest.mark.parametrize("shape", [(6, 9), (9, 6)])
def test_more_vectors_than_sources_are_superposed_responses_to_each_source(shape):
    """The block path solves each driving end alone at 1 V and combines the responses when
    that is fewer solves than vectors; every field is the direct solution's."""
    rng = np.random.default_rng(sum(shape))
    rows, cols = shape
    g = random_array(rng, rows, cols)
    t = tied_terminals(rng, rows, cols, 60)  # at most 2 x (6 + 9) = 30 driving ends
    t.column_end_v[~np.isnan(t.column_end_v)] = 0.0  # a grounded end drives nothing
    sol = solve_crossbar(g, r_row=2.0, r_col=3.0, terminals=t)
    assert sol.method == "block"
    assert_same_solution(sol, solve_crossbar(g, r_row=2.0, r_col=3.0, terminals=t,
                                             method="nodal"), rtol=1e-9)  # fmt: skip
    # the default termination: one source per row
    v = rng.uniform(0, 0.3, size=(rows, 40))
    sol = solve_crossbar(g, v, 2.0, 2.0)
    assert_same_solution(sol, solve_crossbar(g, v, 2.0, 2.0, method="nodal"), rtol=1e-9)


@pytest.mark.parametrize("n", [64, 96])
def test_few_vectors_on_a_large_array_go_to_conjugate_gradients_as_exact_as_the_block_path(n):
    # one or two vectors from 64x64 on: the iterative path first, to a residual tight enough that
    # the column currents agree with the sparse direct path as the block path's do
    rng = np.random.default_rng(n)
    g = random_array(rng, n, n)
    one = rng.uniform(0.0, 0.3, size=(n, 1))
    sol = solve_crossbar(g, one, 2.0, 2.0)
    assert sol.method == "pcg" and sol.fallbacks == ()
    block = solve_crossbar(g, one, 2.0, 2.0, method="block")
    nodal = solve_crossbar(g, one, 2.0, 2.0, method="nodal")
    scale = np.abs(nodal.column_currents_a).max()
    for fast in (sol, block):
        assert np.abs(fast.column_currents_a - nodal.column_currents_a).max() < 1e-11 * scale
    # three vectors: the block path, whose elimination they share, is faster
    three = rng.uniform(0.0, 0.3, size=(n, 3))
    assert solve_crossbar(g, three, 2.0, 2.0).method == "block"
    # below 64x64 the block path as before
    small = random_array(rng, 40, 40)
    assert solve_crossbar(small, one[:40], 2.0, 2.0).method == "block"
