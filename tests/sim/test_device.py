"""The MTJ device model against its formulas, worked by hand."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mtjlab.core.states import AP, P
from mtjlab.sim.device import (
    MTJParams,
    current_and_slope,
    resistance_ohm,
    switching_probability,
    switching_time_s,
)

PARAMS = MTJParams.uniform(
    (1,),
    r_p_ohm=5e3,
    tmr0=1.5,
    v_half_v=0.5,
    delta=50.0,
    tau0_s=1e-9,
    vc0_p_to_ap_v=0.55,
    vc0_ap_to_p_v=0.40,
    v_breakdown_v=1.35,
)


def test_resistance_at_zero_bias_and_at_v_half():
    assert resistance_ohm(np.array([P]), 0.0, PARAMS)[0] == 5e3
    assert resistance_ohm(np.array([AP]), 0.0, PARAMS)[0] == pytest.approx(5e3 * 2.5)
    # At V_half the TMR has halved: 150 % -> 75 %.
    assert resistance_ohm(np.array([AP]), 0.5, PARAMS)[0] == pytest.approx(5e3 * 1.75)
    assert resistance_ohm(np.array([AP]), -0.5, PARAMS)[0] == pytest.approx(5e3 * 1.75)
    # The P state does not depend on bias in this model.
    assert resistance_ohm(np.array([P]), 0.7, PARAMS)[0] == 5e3


@pytest.mark.parametrize("v", [-0.9, -0.3, 0.0, 0.05, 0.4, 1.2])
@pytest.mark.parametrize("state", [P, AP])
def test_slope_is_the_derivative_of_the_current(state, v):
    s = np.array([state])
    h = 1e-6
    i_plus, _ = current_and_slope(s, np.array([v + h]), PARAMS)
    i_minus, _ = current_and_slope(s, np.array([v - h]), PARAMS)
    i, slope = current_and_slope(s, np.array([v]), PARAMS)
    assert slope[0] == pytest.approx((i_plus[0] - i_minus[0]) / (2 * h), rel=1e-6)
    assert i[0] == pytest.approx(v / resistance_ohm(s, v, PARAMS)[0], abs=1e-18)
    # The slope is never below the chord conductance, so Newton's matrix stays positive definite.
    assert slope[0] >= 1.0 / resistance_ohm(s, v, PARAMS)[0] * (1 - 1e-12)


@pytest.mark.parametrize(
    ("state", "v", "width_s"),
    [(P, 0.30, 100e-9), (P, 0.50, 10e-9), (P, 0.52, 1e-6), (AP, -0.30, 100e-9), (AP, -0.38, 50e-9)],
)
def test_switching_probability_matches_the_formula(state, v, width_s):
    vc0 = 0.55 if state == P else 0.40
    tau = 1e-9 * math.exp(50.0 * (1 - abs(v) / vc0))
    expected = -math.expm1(-width_s / tau)
    got = switching_probability(np.array([state]), np.array([v]), width_s, PARAMS)[0]
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-300)


def test_wrong_polarity_and_zero_bias_never_switch():
    assert switching_probability(np.array([P]), np.array([-1.0]), 1.0, PARAMS)[0] == 0.0
    assert switching_probability(np.array([AP]), np.array([+1.0]), 1.0, PARAMS)[0] == 0.0
    assert switching_probability(np.array([P]), np.array([0.0]), 1.0, PARAMS)[0] == 0.0


def test_barrier_is_floored_at_zero_above_the_critical_voltage():
    # Above Vc0, tau stays tau0: a pulse of 2 tau0 switches with 1 - e^-2 whatever the excess.
    for v in (0.56, 0.8, 1.1):
        assert switching_time_s(np.array([v]), 0.55, 50.0, 1e-9)[0] == pytest.approx(1e-9)
        p = switching_probability(np.array([P]), np.array([v]), 2e-9, PARAMS)[0]
        assert p == pytest.approx(1 - math.exp(-2.0))


def test_asymmetric_thresholds():
    # The same magnitude switches AP -> P far more readily than P -> AP.
    p_pap = switching_probability(np.array([P]), np.array([0.35]), 100e-9, PARAMS)[0]
    p_app = switching_probability(np.array([AP]), np.array([-0.35]), 100e-9, PARAMS)[0]
    assert p_app > 1e3 * p_pap


@given(
    v1=st.floats(0.0, 2.0),
    v2=st.floats(0.0, 2.0),
    t1=st.floats(1e-12, 1.0),
    t2=st.floats(1e-12, 1.0),
)
def test_probability_is_bounded_and_monotone(v1, v2, t1, t2):
    lo_v, hi_v = sorted((v1, v2))
    lo_t, hi_t = sorted((t1, t2))
    s = np.array([P])
    p_low = switching_probability(s, np.array([lo_v]), lo_t, PARAMS)[0]
    p_high = switching_probability(s, np.array([hi_v]), hi_t, PARAMS)[0]
    assert 0.0 <= p_low <= p_high <= 1.0


def test_uniform_rejects_unknown_parameter_names():
    with pytest.raises(TypeError, match="unknown MTJ parameter"):
        MTJParams.uniform((2, 2), r_p=5e3)


# -- barrier exponent and precessional regime ----------------------------------------------------


def _linear_law_probability(state, v, width_s, params):
    """The switching probability exactly as the model computed it before the barrier exponent and
    the precessional regime existed: the reference the defaults must reproduce bit for bit."""
    v = np.asarray(v, dtype=float)
    is_ap = np.asarray(state) == AP
    vc0 = np.where(is_ap, params.vc0_ap_to_p_v, params.vc0_p_to_ap_v)
    barrier = np.maximum(params.delta * (1.0 - np.abs(v) / vc0), 0.0)
    tau = params.tau0_s * np.exp(barrier)
    p = -np.expm1(-np.asarray(width_s, dtype=float) / tau)
    return np.where(np.where(is_ap, v < 0.0, v > 0.0), p, 0.0)


def test_defaults_reproduce_the_linear_law_bit_for_bit():
    # Per-device parameters as a chip draws them (every one different), both states, voltages
    # from far below to far above both critical voltages, widths from 1 ns to 1 s.
    rng = np.random.default_rng(5)
    shape = (40, 40)
    params = MTJParams(
        r_p_ohm=np.full(shape, 5e3),
        tmr0=np.full(shape, 1.5),
        v_half_v=np.full(shape, 0.5),
        delta=rng.normal(50.0, 5.0, shape),
        tau0_s=np.full(shape, 1e-9),
        vc0_p_to_ap_v=rng.normal(0.55, 0.05, shape),
        vc0_ap_to_p_v=rng.normal(0.40, 0.04, shape),
        v_breakdown_v=np.full(shape, 1.35),
    )
    np.testing.assert_array_equal(params.barrier_exponent, np.ones(shape))
    np.testing.assert_array_equal(params.tau0_prec_s, np.zeros(shape))
    for _ in range(20):
        state = rng.integers(0, 2, shape)
        v = rng.uniform(-1.5, 1.5, shape)
        width_s = 10 ** rng.uniform(-9, 0)
        np.testing.assert_array_equal(
            switching_probability(state, v, width_s, params),
            _linear_law_probability(state, v, width_s, params),
        )


def test_barrier_exponent_law_by_hand():
    # n = 2, Delta = 50, Vc0 = 0.55 V: at V = 0.275 V (half of Vc0) the barrier is
    # 50 * 0.5^2 = 12.5 (n = 1 gives 25), so tau = 1 ns * e^12.5 = 268 us.
    params = PARAMS.with_values(barrier_exponent=np.array([2.0]))
    tau = switching_time_s(np.array([0.275]), 0.55, 50.0, 1e-9, barrier_exponent=2.0)[0]
    assert tau == pytest.approx(1e-9 * math.exp(12.5), rel=1e-12)
    p = switching_probability(np.array([P]), np.array([0.275]), 100e-9, params)[0]
    assert p == pytest.approx(-math.expm1(-100.0 * math.exp(-12.5)), rel=1e-12)
    assert p == pytest.approx(3.726e-4, rel=1e-3)
    # n = 1.5 on the AP -> P side: V = -0.1 V, Vc0 = 0.4 V: barrier 50 * 0.75^1.5.
    params = PARAMS.with_values(barrier_exponent=np.array([1.5]))
    p = switching_probability(np.array([AP]), np.array([-0.1]), 1e-3, params)[0]
    expected = -math.expm1(-1e-3 / (1e-9 * math.exp(50.0 * 0.75**1.5)))
    assert p == pytest.approx(expected, rel=1e-12)
    # Below Vc0 the bracket is below 1, so a larger exponent lowers the barrier: at 0.3 V
    # (0.545 Vc0) n = 2 switches a 100 ns pulse some 1e4 times more often than n = 1.
    p1, p2 = (
        switching_probability(
            np.array([P]),
            np.array([0.3]),
            100e-9,
            PARAMS.with_values(barrier_exponent=np.array([n])),
        )[0]
        for n in (1.0, 2.0)
    )
    assert p2 > 1e3 * p1


def test_barrier_exponent_does_not_change_anything_above_the_critical_voltage():
    # The bracket is floored at 0 before the power, so above Vc0 tau is tau0 whatever n is.
    for n in (1.0, 1.7, 2.0):
        assert switching_time_s(np.array([0.7]), 0.55, 50.0, 1e-9, barrier_exponent=n)[0] == 1e-9


def test_precessional_law_by_hand():
    # tau0_prec = 2 ns: above Vc0 the rates add, 1/tau = 1/tau0 + (V/Vc0 - 1)/tau0_prec.
    vc0, tau0, tau0_prec = 0.55, 1e-9, 2e-9
    for ratio in (1.1, 1.5, 2.0):
        v = ratio * vc0
        expected = 1.0 / (1.0 / tau0 + (ratio - 1.0) / tau0_prec)
        got = switching_time_s(np.array([v]), vc0, 50.0, tau0, tau0_prec_s=tau0_prec)[0]
        assert got == pytest.approx(expected, rel=1e-12)
    # At 2 Vc0 the two channels are equally fast: tau = tau0 tau0_prec / (tau0 + tau0_prec).
    got = switching_time_s(np.array([1.1]), vc0, 50.0, tau0, tau0_prec_s=tau0_prec)[0]
    assert got == pytest.approx(2e-9 / 3, rel=1e-12)
    # Where precession is much faster than tau0, tau follows the macrospin law tau0_prec/(x - 1).
    got = switching_time_s(np.array([3 * vc0]), vc0, 50.0, tau0, tau0_prec_s=1e-12)[0]
    assert got == pytest.approx(1e-12 / 2, rel=1e-2)
    # A 1 ns pulse at 2 Vc0 switches with 1 - e^-1.5 with precession, 1 - e^-1 without.
    params = PARAMS.with_values(tau0_prec_s=np.array([tau0_prec]))
    p = switching_probability(np.array([P]), np.array([1.1]), 1e-9, params)[0]
    assert p == pytest.approx(1 - math.exp(-1.5), rel=1e-12)
    p = switching_probability(np.array([AP]), np.array([-0.8]), 1e-9, params)[0]
    assert p == pytest.approx(1 - math.exp(-(1 + (0.8 / 0.4 - 1) / 2)), rel=1e-12)


def test_precession_changes_nothing_below_the_critical_voltage():
    params = PARAMS.with_values(tau0_prec_s=np.array([2e-9]), barrier_exponent=np.array([1.8]))
    reference = PARAMS.with_values(barrier_exponent=np.array([1.8]))
    v = np.linspace(-0.4, 0.55, 97)
    state = np.where(v < 0, AP, P)
    np.testing.assert_array_equal(
        switching_probability(state, v, 100e-9, params),
        switching_probability(state, v, 100e-9, reference),
    )


@pytest.mark.parametrize("n", [1.0, 1.5, 2.0])
@pytest.mark.parametrize("tau0_prec_s", [0.0, 1e-9, 3e-9, 1e-11])
@pytest.mark.parametrize("width_s", [1e-9, 100e-9])
def test_probability_is_continuous_at_the_critical_voltage(n, tau0_prec_s, width_s):
    params = PARAMS.with_values(barrier_exponent=np.array([n]), tau0_prec_s=np.array([tau0_prec_s]))
    at = -math.expm1(-width_s / 1e-9)  # tau = tau0 at Vc0 from either side
    for state, vc0, sign in ((P, 0.55, 1.0), (AP, 0.40, -1.0)):
        s = np.array([state])
        for eps in (1e-6, 1e-9):
            below = switching_probability(s, np.array([sign * vc0 * (1 - eps)]), width_s, params)
            above = switching_probability(s, np.array([sign * vc0 * (1 + eps)]), width_s, params)
            exact = switching_probability(s, np.array([sign * vc0]), width_s, params)
            assert exact[0] == pytest.approx(at, rel=1e-12)
            assert abs(above[0] - below[0]) < 100 * eps


@given(
    v1=st.floats(-2.0, 2.0),
    v2=st.floats(-2.0, 2.0),
    t=st.floats(1e-12, 1.0),
    n=st.floats(1.0, 2.5),
    tau0_prec_s=st.sampled_from([0.0, 1e-12, 1e-9, 3e-9, 1e-6]),
)
def test_new_laws_keep_the_probability_bounded_monotone_and_one_sided(v1, v2, t, n, tau0_prec_s):
    params = PARAMS.with_values(barrier_exponent=np.array([n]), tau0_prec_s=np.array([tau0_prec_s]))
    lo, hi = sorted((abs(v1), abs(v2)))
    for state, sign in ((P, 1.0), (AP, -1.0)):
        s = np.array([state])
        p_lo = switching_probability(s, np.array([sign * lo]), t, params)[0]
        p_hi = switching_probability(s, np.array([sign * hi]), t, params)[0]
        assert 0.0 <= p_lo <= p_hi <= 1.0
        # The polarity that pushes the device further into its state never switches it.
        assert switching_probability(s, np.array([-sign * hi]), t, params)[0] == 0.0


def test_new_parameters_given_as_numbers_take_the_shape_of_the_array():
    params = MTJParams.uniform((3, 4), barrier_exponent=2.0, tau0_prec_s=3e-9)
    assert params.barrier_exponent.shape == (3, 4)
    assert np.all(params.tau0_prec_s == 3e-9)
    built = MTJParams(
        **{
            f: np.full((2, 2), 1.0)
            for f in (
                "r_p_ohm",
                "tmr0",
                "v_half_v",
                "delta",
                "tau0_s",
                "vc0_p_to_ap_v",
                "vc0_ap_to_p_v",
                "v_breakdown_v",
            )
        }
    )
    assert built.barrier_exponent.shape == (2, 2) and np.all(built.barrier_exponent == 1.0)
    assert built.tau0_prec_s.shape == (2, 2) and np.all(built.tau0_prec_s == 0.0)
