"""Inference mapping: weights as differential column pairs, read back, calibrated, end to end."""

from dataclasses import asdict

import numpy as np
import pytest

from mtjlab.analysis.network import train_binary_networks, wine_split
from mtjlab.core.states import AP, OPEN, P
from mtjlab.protocols.inference import (
    PairMapping,
    fit_calibration,
    nominal_calibration,
)
from mtjlab.protocols.write import KEEP, write_verify
from mtjlab.sim.backend import SimulatedBackend
from mtjlab.sim.chip import PRESETS, Chip, ChipSpec

# No variation, defects, line resistance or read noise; one 50 nm array.
IDEAL = {**asdict(PRESETS["ideal"]), "diameters_nm": (50.0,)}


def random_weights(seed, shape=(13, 7)):
    return np.where(np.random.default_rng(seed).random(shape) < 0.5, -1, 1)


def test_target_and_read_back_are_inverse():
    m = PairMapping.default(13, 7)
    w = random_weights(0)
    target = m.target(w)
    assert np.sum(target != KEEP) == 13 * 14
    assert target[0, 0] == (P if w[0, 0] > 0 else AP) and target[0, 1] == 1 - target[0, 0]
    np.testing.assert_array_equal(m.weights_read(target), w)
    broken = target.copy()
    broken[2, 5] = OPEN
    read = m.weights_read(broken)
    assert read[2, 2] == 0 and np.sum(read != w) == 1
    with pytest.raises(ValueError, match=r"\(13, 7\) array of \+-1"):
        m.target(np.zeros((13, 7)))
    with pytest.raises(ValueError, match="needs 13 rows and 18 columns"):
        PairMapping.default(13, 9)


def test_pair_differences_are_the_weighted_sum_on_a_hand_solvable_array():
    # No line resistance, no noise, linear devices: every column current is exactly V @ G.
    chip = Chip.from_seed(0, ChipSpec(**IDEAL))
    b = SimulatedBackend(chip, 0, nonlinear=False)
    m = PairMapping.default(13, 7)
    w = random_weights(1)
    target = m.target(w)
    a = chip.array(0)
    a.state[target != KEEP] = target[target != KEEP]
    g = a.linear_conductance_s()
    g_p, g_ap = g[a.state == P][0], g[a.state == AP][0]
    x = np.random.default_rng(2).uniform(-1, 1, size=(20, 13))
    diff = m.differences_a(b, x, 0.1)
    np.testing.assert_allclose(diff, 0.1 * (g_p - g_ap) * (x @ w), rtol=1e-9, atol=1e-15)
    rmap = b.read_map()
    states = np.where(rmap.resistance_ohm > np.sqrt(1 / g_p / g_ap), AP, P)
    calib = nominal_calibration(rmap.resistance_ohm, states, m, 0.1)
    np.testing.assert_allclose(calib.apply(diff), x @ w, rtol=1e-9, atol=1e-9)


def test_fitted_calibration_recovers_a_known_gain_and_offset():
    rng = np.random.default_rng(5)
    x = rng.uniform(-1, 1, (124, 13))
    w = random_weights(3)
    gain = rng.uniform(1e-6, 3e-6, 7)
    offset = rng.uniform(-1e-6, 1e-6, 7)
    diff = (x @ w) * gain + offset + rng.normal(0, 1e-9, (124, 7))
    calib = fit_calibration(diff, x, w)
    np.testing.assert_allclose(calib.gain_a, gain, rtol=1e-2)
    np.testing.assert_allclose(calib.offset_a, offset, atol=2e-9)


def test_a_trained_network_on_the_default_chip_scores_as_in_software():
    split = wine_split(0)
    (net,) = train_binary_networks(split, [4])
    m = PairMapping.default(13, 7)
    b = SimulatedBackend(Chip.from_seed(0), 2)
    result = write_verify(b, m.target(net.w_hidden))
    assert np.mean(m.weights_read(result.final.states) == net.w_hidden) >= 0.98
    diff = m.differences_a(b, np.vstack([split.x_train, split.x_test]), 0.1)
    train, test = diff[: len(split.x_train)], diff[len(split.x_train) :]
    untuned = nominal_calibration(result.final.resistance_ohm, result.final.states, m, 0.1)
    tuned = fit_calibration(train, split.x_train, net.w_hidden)
    software = net.accuracy(split.x_test, split.y_test)
    for calib in (untuned, tuned):
        predicted = net.predict_from_preactivation(calib.apply(test) + net.b_hidden)
        # Within one test sample of the software network.
        assert abs(np.mean(predicted == split.y_test) - software) <= 1 / len(split.y_test) + 1e-12


def test_defect_aware_placement_never_costs_more_and_dodges_few_defects():
    from mtjlab.core.states import SHORT
    from mtjlab.protocols.inference import defect_aware_mapping, placement_cost

    default = PairMapping.default(13, 7)
    w = random_weights(7)
    assert defect_aware_mapping(w, {}, (15, 15)) == default
    # One stuck cell in the way: the spare rows always let it be dodged.
    stuck = {(0, 0): AP if w[0, 0] > 0 else P}
    assert placement_cost(w, default, stuck) == 1
    moved = defect_aware_mapping(w, stuck, (15, 15))
    assert placement_cost(w, moved, stuck) == 0
    # A stuck cell that already holds the state its weight needs costs nothing and moves nothing.
    assert defect_aware_mapping(w, {(0, 0): P if w[0, 0] > 0 else AP}, (15, 15)) == default
    rng = np.random.default_rng(11)
    for _ in range(30):
        n = int(rng.integers(1, 25))
        bad = {
            (int(r), int(c)): int(s)
            for r, c, s in zip(
                rng.integers(0, 15, n),
                rng.integers(0, 15, n),
                rng.choice([P, AP, OPEN, SHORT], n),
                strict=True,
            )
        }
        placed = defect_aware_mapping(w, bad, (15, 15))
        assert len(set(placed.rows)) == 13 and len(set(placed.plus_cols)) == 7
        assert placement_cost(w, placed, bad) <= placement_cost(w, default, bad)
        np.testing.assert_array_equal(placed.weights_read(placed.target(w)), w)
