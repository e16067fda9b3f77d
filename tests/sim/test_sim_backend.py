"""SimulatedBackend end to end: reads against hand-solved circuits, writes, half-select disturb."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mtjlab.core.backend import ArrayBackend
from mtjlab.core.limits import LimitError
from mtjlab.core.schemes import line_voltages
from mtjlab.core.states import AP, P
from mtjlab.sim.backend import SimulatedBackend
from mtjlab.sim.chip import OK, SHORTED, Chip, ChipSpec
from mtjlab.sim.device import resistance_ohm
from mtjlab.sim.limits import chip_limits

IDEAL = {
    "sigma_r_p_log": 0.0,
    "sigma_tmr0_rel": 0.0,
    "sigma_vc0_rel": 0.0,
    "sigma_delta_rel": 0.0,
    "sigma_v_breakdown_rel": 0.0,
    "p_shorted": 0.0,
    "p_open": 0.0,
    "p_stuck_p": 0.0,
    "p_stuck_ap": 0.0,
    "read_noise_rel": 0.0,
    "read_noise_floor_a": 0.0,
    "diameters_nm": (50.0,),
}


def ideal_backend(seed=0, limits=None, **overrides) -> SimulatedBackend:
    spec = ChipSpec(**{**IDEAL, **overrides})
    return SimulatedBackend(Chip.from_seed(seed, spec), 0, limits=limits)


def widened(**values):
    """The ideal chip's own limits, explicitly widened to probe the physics beyond them."""
    return chip_limits(Chip.from_seed(0, ChipSpec(**IDEAL))).widened("test", **values)


def test_is_an_array_backend():
    assert isinstance(ideal_backend(), ArrayBackend)


def test_grounded_read_without_line_resistance_is_each_devices_resistance_at_v_read():
    b = ideal_backend(r_row_ohm=0.0, r_col_ohm=0.0)
    a = b.array
    state = a.state.copy()
    rmap = b.read_map(v_read_v=0.1, bias="grounded")
    np.testing.assert_allclose(rmap.resistance_ohm, resistance_ohm(state, 0.1, a.params), rtol=1e-9)
    np.testing.assert_array_equal(a.state, state)


def test_floating_read_of_a_2x2_array_includes_the_sneak_path():
    # Hand-solved: with ideal lines, reading (0, 0) with lines 1 floating puts R00 in parallel
    # with the sneak path R01 + R11 + R10 in series.
    b = ideal_backend(rows=2, cols=2, r_row_ohm=0.0, r_col_ohm=0.0, initial_state="P")
    b.array.state[:] = [[AP, P], [P, P]]
    b.nonlinear = False  # zero-bias resistances, so the expected value is exact
    r = resistance_ohm(b.array.state, 0.0, b.array.params)
    sneak = r[0, 1] + r[1, 1] + r[1, 0]
    expected = 1.0 / (1.0 / r[0, 0] + 1.0 / sneak)
    reading = b.read_cell(0, 0, v_read_v=0.1, bias="floating")
    assert reading.resistance_ohm == pytest.approx(expected, rel=1e-12)
    # Grounding the other lines removes the sneak path entirely.
    assert b.read_cell(0, 0, v_read_v=0.1, bias="grounded").resistance_ohm == pytest.approx(
        r[0, 0], rel=1e-12
    )


def test_line_resistance_raises_the_measured_resistance_far_from_the_terminals():
    b = ideal_backend(initial_state="P", r_row_ohm=20.0, r_col_ohm=20.0)
    rmap = b.read_map(v_read_v=0.1).resistance_ohm
    r_p = b.array.params.r_p_ohm[0, 0]
    assert np.all(rmap > r_p)
    # Cell (0, cols-1) is farthest from both its row driver and its column's ammeter.
    assert rmap[0, -1] > rmap[-1, 0]


def test_write_pulses_switch_the_selected_cell_both_ways():
    # Inside the ideal chip's disturb envelope at 100 ns (+0.33 / -0.24 V): V/2 at 0.65 V puts
    # 0.325 V on the half-selected neighbours, V/3 at 0.7 V puts +-0.233 V on every unselected
    # device; both are well above the nominal critical voltages (0.55 V and 0.40 V).
    b = ideal_backend(initial_state="P")
    b.write_pulse(3, 4, amplitude_v=0.65, width_s=100e-9, polarity=+1, scheme="v/2")
    assert b.array.state[3, 4] == AP
    assert np.sum(b.array.state == AP) == 1
    rmap = b.read_map().resistance_ohm
    assert rmap[3, 4] > 2 * np.median(rmap)
    b.write_pulse(3, 4, amplitude_v=0.7, width_s=100e-9, polarity=-1, scheme="v/3")
    assert np.all(b.array.state == P)


def _disturb_setup(weak_vc0_v: float) -> SimulatedBackend:
    b = ideal_backend(initial_state="P", vc0_p_to_ap_v=0.9, vc0_ap_to_p_v=0.9, delta=50.0)
    vc0 = b.array.params.vc0_p_to_ap_v.copy()
    vc0[5, 9] = weak_vc0_v  # half-selected: on the selected row 5
    vc0[8, 2] = weak_vc0_v  # half-selected: on the selected column 2
    vc0[11, 11] = weak_vc0_v  # unselected: sees no bias under V/2
    b.array.params = b.array.params.with_values(vc0_p_to_ap_v=vc0)
    # The selected cell itself must not switch, so that its neighbours stay half-selected.
    b.array.params.vc0_p_to_ap_v[5, 2] = 5.0
    return b


def test_half_select_disturb_appears_when_a_neighbours_threshold_is_below_v_half():
    b = _disturb_setup(weak_vc0_v=0.35)
    for _ in range(10):
        b.write_pulse(5, 2, amplitude_v=0.8, width_s=100e-9, polarity=+1, scheme="v/2")
    switched = np.argwhere(b.array.state == AP).tolist()
    assert switched == [[5, 9], [8, 2]]


def test_no_half_select_disturb_when_every_threshold_is_above_v_half():
    b = _disturb_setup(weak_vc0_v=0.6)
    for _ in range(10):
        b.write_pulse(5, 2, amplitude_v=0.8, width_s=100e-9, polarity=+1, scheme="v/2")
    assert np.all(b.array.state == P)


def test_v_third_spares_a_neighbour_that_v_half_disturbs():
    b = _disturb_setup(weak_vc0_v=0.35)
    for _ in range(10):
        b.write_pulse(5, 2, amplitude_v=0.8, width_s=100e-9, polarity=+1, scheme="v/3")
    assert np.all(b.array.state == P)


def test_a_pulse_above_breakdown_is_refused_by_default_and_shorts_the_device_if_allowed():
    refusing = ideal_backend(initial_state="P")
    with pytest.raises(LimitError, match="max_write_v = 1.21 V"):
        refusing.write_pulse(0, 0, amplitude_v=1.6, width_s=100e-9, polarity=+1)
    assert np.all(refusing.array.defect == OK) and refusing.counts["pulses"] == 0
    # Past breakdown V/2 puts 0.8 V on the half-selected neighbours: the disturb envelope is
    # lifted explicitly along with the write limit.
    limits = widened(max_write_v=2.0, max_device_v=2.0).allowing_disturb(
        "test: a 1.6 V pulse that breaks a device down puts 0.8 V on its neighbours"
    )
    b = ideal_backend(initial_state="P", limits=limits)
    b.write_pulse(0, 0, amplitude_v=1.6, width_s=100e-9, polarity=+1)
    assert b.array.defect[0, 0] == SHORTED
    assert np.sum(b.array.defect != OK) == 1
    assert b.read_cell(0, 0).resistance_ohm < 200.0
    b.write_pulse(0, 0, amplitude_v=0.9, width_s=100e-9, polarity=-1)
    assert b.array.defect[0, 0] == SHORTED


def test_column_currents_without_line_resistance_are_v_times_g():
    b = ideal_backend(r_row_ohm=0.0, r_col_ohm=0.0)
    b.nonlinear = False
    g = b.array.linear_conductance_s()
    v = np.random.default_rng(1).uniform(-0.13, 0.13, size=(6, 15))
    np.testing.assert_allclose(b.column_currents_a(v), v @ g, rtol=1e-12)
    np.testing.assert_allclose(b.column_currents_a(v[0]), v[0] @ g, rtol=1e-12)


def test_nonlinear_ap_draws_more_current_than_its_zero_bias_resistance():
    b = ideal_backend(
        r_row_ohm=0.0, r_col_ohm=0.0, initial_state="AP", limits=widened(max_read_v=0.5)
    )
    v = np.full(15, 0.5)
    i_nl = b.column_currents_a(v)
    g0 = b.array.linear_conductance_s(0.0)
    g_half = b.array.linear_conductance_s(0.5)
    np.testing.assert_allclose(i_nl, v @ g_half, rtol=1e-9)
    assert np.all(i_nl > v @ g0)


def test_same_seed_same_run():
    def run():
        b = SimulatedBackend(Chip.from_seed(11), 2)
        for k in range(15):
            b.write_pulse(k, (3 * k) % 15, amplitude_v=0.6, width_s=20e-9, polarity=+1)
        return b.read_map(bias="v/3").resistance_ohm, b.array.state.copy()

    (r1, s1), (r2, s2) = run(), run()
    np.testing.assert_array_equal(r1, r2)
    np.testing.assert_array_equal(s1, s2)


def test_context_manager_reaches_safe_state_on_error():
    b = ideal_backend()
    with pytest.raises(RuntimeError), b:
        raise RuntimeError("interrupted")
    assert b.counts["safe_state"] == 1


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda b: b.read_cell(15, 0), IndexError, "row=15 is out of range; allowed: 0 to 14"),
        (lambda b: b.read_cell(0, -1), IndexError, "col=-1"),
        (lambda b: b.read_cell(0, 1.0), TypeError, "col=1.0 is not an integer"),
        (lambda b: b.read_map(v_read_v=2.0), LimitError, "read voltage 2 V .* max_read_v"),
        (lambda b: b.read_cell(0, 0, v_read_v=-0.2), LimitError, "max_read_v = 0.135 V"),
        (
            lambda b: b.read_map(v_read_v=0.0),
            ValueError,
            r"v_read_v=0.0 is out of range; allowed: any finite number except 0 \(V\)",
        ),
        (lambda b: b.read_map(bias="v/4"), ValueError, "bias='v/4' is not allowed; allowed: "),
        (
            lambda b: b.write_pulse(0, 0, amplitude_v=-0.5, width_s=1e-7, polarity=1),
            ValueError,
            "amplitude_v=-0.5 is out of range; allowed: > 0 V",
        ),
        (
            lambda b: b.write_pulse(0, 0, amplitude_v=0.5, width_s=0.0, polarity=1),
            ValueError,
            "width_s",
        ),
        (
            lambda b: b.write_pulse(0, 0, amplitude_v=0.5, width_s=1e-7, polarity=0),
            ValueError,
            "polarity=0 is not allowed; allowed: \\+1, -1",
        ),
        (
            lambda b: b.write_pulse(
                0, 0, amplitude_v=0.5, width_s=1e-7, polarity=1, scheme="grounded"
            ),
            ValueError,
            "scheme='grounded' is not allowed; allowed: ",
        ),
        (lambda b: b.column_currents_a(np.zeros(14)), ValueError, r"shape \(15,\) or \(k, 15\)"),
        (lambda b: b.column_currents_a(np.full(15, 3.0)), LimitError, "input voltage 3 V"),
        (
            lambda b: b.write_pulse(0, 0, amplitude_v=0.5, width_s=1e-10, polarity=1),
            LimitError,
            "pulse width 1e-10 s .* min_width_s",
        ),
        (
            lambda b: b.write_pulse(0, 0, amplitude_v=0.5, width_s=1e-2, polarity=1),
            LimitError,
            "max_width_s",
        ),
    ],
)
def test_bad_arguments_are_refused_with_what_was_expected(call, error, message):
    b = ideal_backend()
    before = b.array.state.copy()
    with pytest.raises(error, match=message):
        call(b)
    np.testing.assert_array_equal(b.array.state, before)


BAD = st.one_of(
    st.floats(max_value=0.0), st.just(float("nan")), st.just(float("inf")), st.just(-float("inf"))
)


@given(bad=BAD, other=st.floats(min_value=1e-12, max_value=1.0))
def test_any_non_positive_or_non_finite_pulse_is_refused(bad, other):
    b = ideal_backend(rows=2, cols=2)
    with pytest.raises(ValueError, match="amplitude_v"):
        b.write_pulse(0, 0, amplitude_v=bad, width_s=other * 1e-6, polarity=1)
    with pytest.raises(ValueError, match="width_s"):
        b.write_pulse(0, 0, amplitude_v=other, width_s=bad, polarity=1)
    assert b.counts["pulses"] == 0


class OneReadAtATime(SimulatedBackend):
    """The reference for the batched stress: every operation stressed alone, in order."""

    def _stress_in_turn(self, v_circuits, order, duration_s):
        for n, circuit in enumerate(order):
            if self._stress(v_circuits[circuit], duration_s).any():
                return n
        return None


@pytest.mark.parametrize("seed", [0, 7])
def test_disturbing_reads_batched_are_the_reads_one_at_a_time(seed):
    # Reads far outside the read limit flip devices (and inputs past breakdown short some)
    # partway through a batch: the batched stress must replay the random stream to the read
    # that changed the array and carry on from there exactly as one read at a time does.
    spec = ChipSpec(rows=6, cols=8)

    def run(cls):
        chip = Chip.from_seed(seed, spec)
        limits = chip_limits(chip).widened("test", max_read_v=1.6, max_device_v=2.0)
        b = cls(chip, 1, limits=limits)
        out = [b.read_map(v_read_v=-0.3).current_a, b.read_map(v_read_v=0.45, bias="v/2").current_a]
        v = np.random.default_rng(seed).uniform(-1.5, 1.5, size=(12, 6))
        out.append(b.column_currents_a(v))
        return out, b.array.state.copy(), b.array.defect.copy(), b.rng.random(4)

    (batched, state, defect, after), (reference, state_ref, defect_ref, after_ref) = (
        run(SimulatedBackend),
        run(OneReadAtATime),
    )
    fresh = Chip.from_seed(seed, spec).array(1)
    assert np.sum(state != fresh.state) > 3  # the reads did disturb
    assert np.any(defect != fresh.defect)  # and broke devices down
    for x, y in zip(batched, reference, strict=True):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(state, state_ref)
    np.testing.assert_array_equal(defect, defect_ref)
    np.testing.assert_array_equal(after, after_ref)  # the same draws consumed


def test_operations_solve_by_the_banded_path():
    b = SimulatedBackend(Chip.from_seed(0), 2)
    for scheme in ("v/2", "v/3", "floating"):
        row_v, col_v = line_voltages(scheme, b.shape, 3, 9, 0.6)
        assert b._solve(row_v[:, None], col_v[:, None]).method == "banded"
    assert b._solve(np.full((15, 4), 0.1), np.zeros((15, 4))).method == "banded"
