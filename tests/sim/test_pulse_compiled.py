"""The write pulse's compiled kernel (`mtjlab.sim._pulse_kernel`, behind
`mtjlab.sim._pulse_compiled`): its Python and, where numba is installed, its compiled form
against the solver's sparse nodal path, and the backend's pulses with the kernel and without it."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import numpy as np
import pytest

from mtjlab.core.schemes import line_voltages
from mtjlab.core.states import AP, P
from mtjlab.sim import _pulse_compiled as gate
from mtjlab.sim import _pulse_kernel as kernel
from mtjlab.sim._solver_common import Ends
from mtjlab.sim.backend import SimulatedBackend
from mtjlab.sim.chip import OK, OPEN, SHORTED, Chip, ChipSpec, chip_spec
from mtjlab.sim.limits import chip_limits
from mtjlab.sim.solver import solve_ends

NAN = np.nan

# The kernel's Python always; compiled where numba is installed (the fast extra, in the test
# extras), so both run wherever the tests do.
FORMS = [
    pytest.param(kernel.pulse_voltages_py, id="python"),
    pytest.param(
        kernel.pulse_voltages,
        id="compiled",
        marks=pytest.mark.skipif(not gate.NUMBA_INSTALLED, reason="numba is not installed"),
    ),
]


def kernel_args(array, row_ends, col_ends, tol_v=1e-9, max_iter=50):
    """The kernel's arguments for a chip array with lines tied as ``row_ends`` (2, rows) and
    ``col_ends`` (2, cols): start and end voltages, NaN where open."""
    return gate.array_arguments(array, row_ends, col_ends, tol_v, max_iter)


def nodal_reference(array, row_ends, col_ends):
    """The same circuit by the solver's sparse nodal path, Newton from the sources."""
    ends = Ends(
        row_start_v=row_ends[0][:, None].copy(),
        row_end_v=row_ends[1][:, None].copy(),
        column_start_v=col_ends[0][:, None].copy(),
        column_end_v=col_ends[1][:, None].copy(),
    )
    return solve_ends(
        array.linear_conductance_s(),
        float(array.r_row_ohm),
        float(array.r_col_ohm),
        ends,
        device_iv=array.current_and_slope,
        method="nodal",
        start="sources",
    )


def pulse_ends(scheme, shape, cell, v):
    """The simulated bench's pulse: rows driven at their start, columns at their end."""
    row_v, col_v = line_voltages(scheme, shape, *cell, v)
    return (
        np.stack([row_v, np.full_like(row_v, NAN)]),
        np.stack([np.full_like(col_v, NAN), col_v]),
    )


def with_defects(array):
    """The array with one device of each defect kind among its P and AP devices."""
    array.defect[0, 1], array.defect[2, 0], array.defect[3, 3] = SHORTED, OPEN, SHORTED
    array.state[1, 1], array.state[1, 2] = AP, P
    return array


def small_array(rows, cols, seed):
    spec = dataclasses.replace(chip_spec("sized"), rows=rows, cols=cols)
    return with_defects(Chip.from_seed(seed, spec).array(1))


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize(
    ("shape", "scheme", "cell", "v"),
    [
        ((6, 8), "v/2", (2, 5), 0.6),
        ((8, 6), "v/3", (7, 0), -0.55),
        ((5, 5), "v/2", (4, 4), -0.45),
    ],
)
def test_kernel_matches_the_nodal_path_on_small_arrays(form, shape, scheme, cell, v):
    array = small_array(*shape, seed=shape[0] * 10 + shape[1])
    row_ends, col_ends = pulse_ends(scheme, shape, cell, v)
    outcome, v_device, iterations = form(*kernel_args(array, row_ends, col_ends))
    reference = nodal_reference(array, row_ends, col_ends)
    assert outcome == gate.CONVERGED
    assert iterations == reference.iterations
    assert v_device.shape == shape
    np.testing.assert_allclose(v_device, reference.device_voltages_v[0], rtol=0, atol=1e-13)
    # the selected device sees most of the pulse; shorted and open ones follow their own law
    assert abs(v_device[cell]) > 0.8 * abs(v)


@pytest.mark.parametrize("form", FORMS)
def test_kernel_with_lines_tied_at_both_ends_matches_the_nodal_path(form):
    array = small_array(6, 7, seed=3)
    rng = np.random.default_rng(8)
    row_ends = rng.uniform(-0.4, 0.4, size=(2, 6))
    col_ends = rng.uniform(-0.4, 0.4, size=(2, 7))
    row_ends[1, ::2] = NAN  # some lines tied at one end only
    col_ends[0, 1::3] = NAN
    outcome, v_device, iterations = form(*kernel_args(array, row_ends, col_ends))
    reference = nodal_reference(array, row_ends, col_ends)
    assert outcome == gate.CONVERGED
    assert iterations == reference.iterations
    np.testing.assert_allclose(v_device, reference.device_voltages_v[0], rtol=0, atol=1e-13)


@pytest.mark.skipif(not gate.NUMBA_INSTALLED, reason="numba is not installed")
@pytest.mark.parametrize("array_index", range(5))
def test_compiled_kernel_matches_the_nodal_path_on_every_array_of_the_die(array_index):
    array = with_defects(Chip.from_seed(11, chip_spec("sized")).array(array_index))
    for scheme, cell, v in (("v/2", (4, 11), 0.59), ("v/3", (14, 0), -0.43), ("v/2", (0, 0), 0.8)):
        row_ends, col_ends = pulse_ends(scheme, array.shape, cell, v)
        outcome, v_device, iterations = kernel.pulse_voltages(
            *kernel_args(array, row_ends, col_ends)
        )
        reference = nodal_reference(array, row_ends, col_ends)
        assert outcome == gate.CONVERGED
        assert iterations == reference.iterations
        np.testing.assert_allclose(v_device, reference.device_voltages_v[0], rtol=0, atol=1e-13)


@pytest.mark.parametrize("form", FORMS)
def test_kernel_with_a_column_of_near_shorts_solves_its_chain_device_by_device(form):
    # 1e-3 ohm devices all along a 32-device column: the product form of the chain's inverse
    # spans more decades than a double holds (about 1e-102 from one end to the other), and the
    # kernel solves the chain for each device instead, as the banded path does.
    array = small_array(32, 6, seed=6)
    array.defect[:, 4] = 0
    array.state[:, 4] = P
    r_p = np.array(array.params.r_p_ohm, dtype=float)
    r_p[:, 4] = 1e-3
    array.params = dataclasses.replace(array.params, r_p_ohm=r_p)
    row_ends, col_ends = pulse_ends("v/2", (32, 6), (3, 1), 0.5)
    outcome, v_device, iterations = form(*kernel_args(array, row_ends, col_ends))
    reference = nodal_reference(array, row_ends, col_ends)
    assert outcome == gate.CONVERGED
    assert iterations == reference.iterations
    np.testing.assert_allclose(v_device, reference.device_voltages_v[0], rtol=0, atol=1e-12)


@pytest.mark.parametrize("form", FORMS)
def test_kernel_reports_what_it_did_not_solve(form):
    array = small_array(5, 6, seed=4)
    row_ends, col_ends = pulse_ends("v/2", (5, 6), (1, 1), 0.6)
    # one Newton step is not enough from the sources
    outcome, _, iterations = form(*kernel_args(array, row_ends, col_ends, max_iter=1))
    assert (outcome, iterations) == (gate.NOT_CONVERGED, 1)
    # a negative resistance makes a chain that is not positive definite
    args = list(kernel_args(array, row_ends, col_ends))
    args[1] = np.full((5, 6), -1.0)
    args[0] = np.full((5, 6), gate.KIND_P, dtype=np.int8)
    outcome, _, iterations = form(*args)
    assert (outcome, iterations) == (gate.NOT_POSITIVE_DEFINITE, 1)


def test_device_kinds_follow_the_defects_then_the_state():
    state = np.array([[P, AP, AP], [AP, P, AP]], dtype=np.int8)
    defect = np.array([[OK, OK, SHORTED], [OPEN, SHORTED, 3]], dtype=np.int8)  # 3: stuck
    kinds = gate.device_kinds(state, defect, AP, SHORTED, OPEN)
    expected = [
        [gate.KIND_P, gate.KIND_AP, gate.KIND_SHORTED],
        [gate.KIND_OPEN, gate.KIND_SHORTED, gate.KIND_AP],
    ]
    np.testing.assert_array_equal(kinds, expected)


def test_enabled_follows_numba_and_the_environment(monkeypatch):
    monkeypatch.delenv("MTJLAB_NUMBA", raising=False)
    assert gate.enabled() == (kernel.numba is not None) == gate.NUMBA_INSTALLED
    monkeypatch.setenv("MTJLAB_NUMBA", "0")
    assert not gate.enabled()


def test_the_gate_imports_neither_the_kernel_nor_numba():
    # a process that never pulses pays neither numba's import nor its memory
    code = (
        "import sys, mtjlab.cli.app, mtjlab.sim.backend; "
        "print('mtjlab.sim._pulse_kernel' in sys.modules, 'numba' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


# -- the backend's pulses with the kernel and without it ------------------------------------------


@pytest.fixture(params=["python", "compiled"])
def kernel_on(request, monkeypatch):
    """The backend's pulses through the kernel: compiled where numba is installed, and its
    Python otherwise (on small arrays, where it is quick enough)."""
    if request.param == "compiled":
        if not gate.NUMBA_INSTALLED:
            pytest.skip("numba is not installed")
        monkeypatch.setenv("MTJLAB_NUMBA", "1")
    else:
        monkeypatch.setattr(gate, "enabled", lambda: True)
        monkeypatch.setattr(gate, "pulse_voltages", kernel.pulse_voltages_py)
    return request.param


def pulse_sequence(monkeypatch, numba_env, shape=(6, 7), schemes=("v/2", "v/3")):
    """A chip array after a seeded sequence of pulses under each scheme, and every pulse's
    device voltages as the backend found them."""
    monkeypatch.setenv("MTJLAB_NUMBA", numba_env)
    spec = dataclasses.replace(chip_spec("sized"), rows=shape[0], cols=shape[1])
    b = SimulatedBackend(Chip.from_seed(21, spec), 2)
    with_defects(b.array)
    seen = []
    stress = b._stress

    def record(v_device, width_s):
        seen.append(v_device.copy())
        return stress(v_device, width_s)

    monkeypatch.setattr(b, "_stress", record)
    rng = np.random.default_rng(5)
    for n in range(40):
        row, col = int(rng.integers(shape[0])), int(rng.integers(shape[1]))
        polarity = 1 if n % 2 else -1
        amplitude = 0.59 if polarity > 0 else 0.43  # the sized die's largest ramp steps
        b.write_pulse(
            row,
            col,
            amplitude_v=amplitude,
            width_s=100e-9,
            polarity=polarity,
            scheme=schemes[n % len(schemes)],
        )
    return b, seen


def test_backend_pulses_are_the_same_with_the_kernel_and_without(kernel_on, monkeypatch):
    fast, fast_v = pulse_sequence(monkeypatch, "1")
    monkeypatch.setattr(gate, "enabled", lambda: False)
    slow, slow_v = pulse_sequence(monkeypatch, "0")
    assert len(fast_v) == len(slow_v) == 40
    np.testing.assert_allclose(np.array(fast_v), np.array(slow_v), rtol=0, atol=1e-13)
    # the same switching, draw for draw
    np.testing.assert_array_equal(fast.array.state, slow.array.state)
    np.testing.assert_array_equal(fast.array.defect, slow.array.defect)
    assert fast.rng.bit_generator.state == slow.rng.bit_generator.state
    assert fast.counts == slow.counts


def test_backend_leaves_floating_lines_and_ideal_lines_to_the_solver(kernel_on, monkeypatch):
    calls = []
    solve = gate.pulse_voltages
    monkeypatch.setattr(gate, "pulse_voltages", lambda *a: calls.append(1) or solve(*a))
    spec = ChipSpec(rows=5, cols=6, diameters_nm=(60.0,))
    chip = Chip.from_seed(2, spec)
    # floating lines can see the whole pulse: outside the disturb envelope, allowed here
    b = SimulatedBackend(chip, 0, limits=chip_limits(chip).allowing_disturb("test"))
    pulse = {"amplitude_v": 0.5, "width_s": 100e-9, "polarity": 1}
    b.write_pulse(1, 2, **pulse, scheme="v/2")
    assert len(calls) == 1
    b.write_pulse(1, 2, **pulse, scheme="floating")  # floating lines: Newton from linear
    assert len(calls) == 1
    ideal = SimulatedBackend(Chip.from_seed(2, dataclasses.replace(spec, r_row_ohm=0.0)), 0)
    ideal.write_pulse(1, 2, **pulse, scheme="v/2")
    assert len(calls) == 1
    assert b.counts["pulses"] == 2 and ideal.counts["pulses"] == 1


def test_backend_pulse_the_kernel_does_not_converge_is_solved_by_the_solver(kernel_on, monkeypatch):
    monkeypatch.setattr("mtjlab.sim.backend._PULSE_MAX_ITER", 1)
    fast, fast_v = pulse_sequence(monkeypatch, "1", schemes=("v/2",))
    monkeypatch.setattr(gate, "enabled", lambda: False)
    slow, slow_v = pulse_sequence(monkeypatch, "0", schemes=("v/2",))
    # every pulse went back to the solver's path: bit for bit the same
    np.testing.assert_array_equal(np.array(fast_v), np.array(slow_v))
    np.testing.assert_array_equal(fast.array.state, slow.array.state)


def test_an_interruption_inside_the_compiled_call_stays_an_interruption(monkeypatch):
    # A signal handler that raises inside numba's dispatcher surfaces as a SystemError caused
    # by it (seen on CI: SIGTERM while the kernel was loaded from its cache); the run must end
    # as interrupted, not failed.
    import types

    from mtjlab.sim import _pulse_compiled

    class Terminated(KeyboardInterrupt):
        pass

    def dispatcher(*args):
        try:
            raise Terminated
        except Terminated as cause:
            raise SystemError("CPUDispatcher returned a result with an exception set") from cause

    monkeypatch.setattr(
        _pulse_compiled, "kernel", lambda: types.SimpleNamespace(pulse_voltages=dispatcher)
    )
    with pytest.raises(Terminated):
        _pulse_compiled.pulse_voltages()

    def broken(*args):
        raise SystemError("something else")

    monkeypatch.setattr(
        _pulse_compiled, "kernel", lambda: types.SimpleNamespace(pulse_voltages=broken)
    )
    with pytest.raises(SystemError, match="something else"):
        _pulse_compiled.pulse_voltages()
