"""Device size as physics: each device's own diameter sets its R_P, small free layers lose
thermal stability below the nucleation diameter, and shorts come from pinholes (area) and edges
(perimeter)."""

import math

import numpy as np
import pytest

from mtjlab.sim.chip import SHORTED, Chip, ChipSpec, chip_spec
from mtjlab.sim.statistics import pair_weight_sampler


def _fields(chip):
    for a in chip.arrays:
        yield a.state
        yield a.defect
        yield from (getattr(a.params, name) for name in a.params.__dataclass_fields__)


def test_size_fields_at_their_defaults_draw_the_chip_drawn_before_them():
    # Zero densities and spreads are not just small: they draw nothing and change nothing.
    spec = ChipSpec(
        sigma_diameter_nm=0.0, delta_nucleation_nm=0.0, pinholes_per_um2=0.0, edge_shorts_per_um=0
    )
    for x, y in zip(_fields(Chip.from_seed(3, spec)), _fields(Chip.from_seed(3)), strict=True):
        np.testing.assert_array_equal(x, y)


def test_diameter_spread_gives_r_p_a_relative_spread_of_twice_sigma_d_over_d():
    # R_P = RA / (pi d^2 / 4): ln R_P = const - 2 ln d, so for sigma_d << d the spread of ln R_P
    # is 2 sigma_d / d, larger on the small devices than on the large ones.
    spec = ChipSpec(
        rows=120, cols=120, diameters_nm=(30.0, 90.0), sigma_r_p_log=0.0, sigma_diameter_nm=1.5
    )
    chip = Chip.from_seed(5, spec)
    small, large = (np.std(np.log(a.params.r_p_ohm)) for a in chip.arrays)
    assert small == pytest.approx(2 * 1.5 / 30, rel=0.05)
    assert large == pytest.approx(2 * 1.5 / 90, rel=0.05)
    # ... about the array's nominal R_P (the mean diameter is the array's)
    r0 = spec.nominal_r_p_ohm(90.0)
    assert np.median(chip.arrays[1].params.r_p_ohm) == pytest.approx(r0, rel=0.01)


def test_delta_keeps_its_value_above_the_nucleation_diameter_and_falls_as_area_below():
    spec = ChipSpec(
        diameters_nm=(20.0, 30.0, 60.0), sigma_delta_rel=0.0, delta_nucleation_nm=30.0, delta=50
    )
    chip = Chip.from_seed(1, spec)
    deltas = [float(np.unique(a.params.delta)[0]) for a in chip.arrays]
    assert deltas == pytest.approx([50 * (20 / 30) ** 2, 50.0, 50.0], rel=1e-12)


def test_shorts_grow_with_area_by_pinholes_and_with_perimeter_at_the_edge():
    pin = ChipSpec(p_shorted=0.0, pinholes_per_um2=2.0)
    edge = ChipSpec(p_shorted=0.0, edge_shorts_per_um=0.05)
    # Poisson: P(short) = 1 - exp(-density * area) or 1 - exp(-density * perimeter)
    for d in (40.0, 80.0):
        a_um2, p_um = math.pi * (d * 1e-3) ** 2 / 4, math.pi * d * 1e-3
        assert pin.defect_rates(d)[0] == pytest.approx(1 - math.exp(-2.0 * a_um2), rel=1e-12)
        assert edge.defect_rates(d)[0] == pytest.approx(1 - math.exp(-0.05 * p_um), rel=1e-12)
    # doubling d: four times the pinhole shorts (area), twice the edge shorts (perimeter)
    assert pin.defect_rates(80.0)[0] / pin.defect_rates(40.0)[0] == pytest.approx(4, rel=0.01)
    assert edge.defect_rates(80.0)[0] / edge.defect_rates(40.0)[0] == pytest.approx(2, rel=0.01)
    # the other defects keep their rates among the devices left unshorted, and all add up below 1
    both = ChipSpec(p_shorted=0.01, pinholes_per_um2=2.0, edge_shorts_per_um=0.05)
    rates = both.defect_rates(60.0)
    assert rates[0] > 0.01
    assert rates[1] == pytest.approx(0.002 * (1 - rates[0]) / (1 - 0.01), rel=1e-12)
    assert sum(rates) < 1
    # ... and the drawn chip follows them
    big = ChipSpec(rows=200, cols=200, diameters_nm=(40.0, 80.0), p_shorted=0.0)
    big = chip_spec("default", {**vars_of(big), "edge_shorts_per_um": 0.5})
    chip = Chip.from_seed(2, big)
    for a in chip.arrays:
        expected = big.defect_rates(a.diameter_nm)[0]
        assert np.mean(a.defect == SHORTED) == pytest.approx(expected, rel=0.1)


def vars_of(spec):
    return {k: getattr(spec, k) for k in ("rows", "cols", "diameters_nm", "p_shorted")}


@pytest.mark.parametrize(
    "field", ["sigma_diameter_nm", "delta_nucleation_nm", "pinholes_per_um2", "edge_shorts_per_um"]
)
def test_size_fields_refuse_negative_values_naming_the_field(field):
    with pytest.raises(ValueError, match=rf"ChipSpec\.{field}=-1(\.0)? is out of range"):
        ChipSpec(**{field: -1.0})


def test_statistics_aware_sampler_draws_the_diameter_spread_of_the_size_it_is_given():
    spec = ChipSpec(
        sigma_r_p_log=0.0,
        sigma_tmr0_rel=0.0,
        sigma_diameter_nm=2.0,
        p_shorted=0,
        p_open=0,
        p_stuck_p=0,
        p_stuck_ap=0,
    )
    rng = np.random.default_rng(0)
    w = np.ones(20000)
    small = pair_weight_sampler(spec, 0.1, diameter_nm=40.0)(rng, w)
    large = pair_weight_sampler(spec, 0.1, diameter_nm=80.0)(rng, w)
    assert np.std(small) > 1.7 * np.std(large)
    assert np.mean(small) == pytest.approx(1.0, abs=0.02)
