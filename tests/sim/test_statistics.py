"""Statistics-aware training's view of a weight: the pair's devices drawn from the chip model."""

from dataclasses import replace

import numpy as np
import pytest

from mtjlab.sim.chip import chip_spec
from mtjlab.sim.statistics import pair_weight_sampler

IDEAL = chip_spec("ideal")
V_READ = 0.1


def _tmr(spec):
    x = V_READ / spec.v_half_v
    return spec.tmr0 / (1 + x * x)


def test_a_nominal_pair_holds_its_weight_exactly():
    w = np.array([[1, -1, 1], [-1, -1, 1]], dtype=float)
    out = pair_weight_sampler(IDEAL, V_READ)(np.random.default_rng(0), w)
    np.testing.assert_allclose(out, w, rtol=1e-12)


def test_open_devices_give_the_hand_solved_weights_at_their_rates():
    """With only opens (rate q per device): (P, AP) holds 1; P side open leaves -G_AP, i.e.
    -1/TMR of the nominal difference; AP side open leaves G_P, (1 + TMR)/TMR; both open 0."""
    q = 0.3
    spec = replace(IDEAL, p_open=q)
    t = _tmr(spec)
    out = pair_weight_sampler(spec, V_READ)(np.random.default_rng(1), np.ones(200_000))
    for value, rate in [(1.0, (1 - q) ** 2), (-1 / t, q * (1 - q)), ((1 + t) / t, q * (1 - q)),
                        (0.0, q * q)]:  # fmt: skip
        seen = np.mean(np.isclose(out, value, rtol=1e-9, atol=1e-12))
        assert seen == pytest.approx(rate, abs=0.005), value


@pytest.mark.parametrize(("field", "weight"), [("p_stuck_ap", 1.0), ("p_stuck_p", -1.0)])
def test_a_device_stuck_in_the_other_state_loses_the_weight(field, weight):
    """Every device stuck in one state: a pair that needs the other state on one side holds
    two alike devices, so nothing; the weight's sign does not matter."""
    spec = replace(IDEAL, **{field: 1.0})
    out = pair_weight_sampler(spec, V_READ)(np.random.default_rng(2), np.full(1000, weight))
    np.testing.assert_allclose(out, 0.0, atol=1e-12)


def test_resistance_spread_scatters_weights_about_their_sign():
    spec = replace(IDEAL, sigma_r_p_log=0.05, sigma_tmr0_rel=0.05)
    w = np.where(np.arange(100_000) % 2 == 0, 1.0, -1.0)
    out = pair_weight_sampler(spec, V_READ)(np.random.default_rng(3), w)
    m = out * w
    assert np.all(m > 0)
    assert 0.05 < np.std(m) < 0.2
    assert np.mean(m) == pytest.approx(1.0, abs=0.02)


def test_the_default_chip_loses_about_its_defect_rate_of_weights():
    spec = chip_spec("default")
    m = pair_weight_sampler(spec, V_READ)(np.random.default_rng(4), np.ones(400_000))
    # stuck in the wrong state: one rate per side; open: one rate per side (shorts left out)
    off = np.mean(np.abs(m - 1) > 0.5)
    expected = spec.p_stuck_ap + spec.p_stuck_p + 2 * spec.p_open
    assert off == pytest.approx(expected, rel=0.1)
