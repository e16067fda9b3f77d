"""The MTJ device model against its formulas, worked by hand."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mtjlab.sim.device import (
    AP,
    MTJParams,
    P,
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
