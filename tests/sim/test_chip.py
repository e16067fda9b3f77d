"""The simulated chip: one seed, one chip; sizes, variation and defects as specified."""

import numpy as np
import pytest

from mtjlab.core.states import AP, P
from mtjlab.sim.chip import (
    OK,
    OPEN,
    SHORTED,
    STUCK_AP,
    STUCK_P,
    Chip,
    ChipSpec,
    chip_spec,
)


def _fields(chip):
    for a in chip.arrays:
        yield a.state
        yield a.defect
        yield from (getattr(a.params, name) for name in a.params.__dataclass_fields__)


def test_same_seed_same_chip_and_other_seed_other_chip():
    a, b, c = Chip.from_seed(7), Chip.from_seed(7), Chip.from_seed(8)
    for x, y in zip(_fields(a), _fields(b), strict=True):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a.arrays[0].params.r_p_ohm, c.arrays[0].params.r_p_ohm)


def test_seed_zero_is_the_same_chip_on_every_machine():
    # Pinned values: numpy's PCG64 and its lognormal draw are specified bit for bit, so a change
    # here means the chip a seed stands for has changed and every stored run would disagree.
    chip = Chip.from_seed(0)
    r = chip.arrays[1].params.r_p_ohm
    np.testing.assert_allclose([r[0, 0], r[7, 7], r[14, 14]], PINNED_SEED0_R_P, rtol=1e-12)


PINNED_SEED0_R_P = [5470.354358203441, 4604.0667997227665, 5194.876741350118]


def test_device_size_sets_r_p_through_ra():
    spec = ChipSpec(sigma_r_p_log=0.0, diameters_nm=(50.0, 100.0))
    chip = Chip.from_seed(1, spec)
    r50 = chip.arrays[0].params.r_p_ohm
    r100 = chip.arrays[1].params.r_p_ohm
    area_um2 = np.pi * 0.025**2
    np.testing.assert_allclose(r50, 10.0 / area_um2)
    np.testing.assert_allclose(r100, r50 / 4)


def test_variation_has_the_requested_spread():
    spec = ChipSpec(
        rows=200,
        cols=200,
        diameters_nm=(50.0,),
        sigma_r_p_log=0.1,
        sigma_tmr0_rel=0.05,
        p_shorted=0,
        p_open=0,
        p_stuck_p=0,
        p_stuck_ap=0,
    )
    a = Chip.from_seed(3, spec).arrays[0]
    assert np.std(np.log(a.params.r_p_ohm)) == pytest.approx(0.1, rel=0.05)
    assert np.std(a.params.tmr0) / np.mean(a.params.tmr0) == pytest.approx(0.05, rel=0.05)


def test_defect_rates_and_stuck_states():
    spec = ChipSpec(
        rows=300,
        cols=300,
        diameters_nm=(50.0,),
        p_shorted=0.02,
        p_open=0.03,
        p_stuck_p=0.04,
        p_stuck_ap=0.05,
    )
    a = Chip.from_seed(4, spec).arrays[0]
    n = a.defect.size
    for code, rate in ((SHORTED, 0.02), (OPEN, 0.03), (STUCK_P, 0.04), (STUCK_AP, 0.05)):
        assert np.sum(a.defect == code) / n == pytest.approx(rate, rel=0.1)
    assert np.all(a.state[a.defect == STUCK_P] == P)
    assert np.all(a.state[a.defect == STUCK_AP] == AP)
    g = a.linear_conductance_s()
    assert np.all(g[a.defect == OPEN] == 0.0)
    np.testing.assert_allclose(g[a.defect == SHORTED], 1.0 / spec.r_short_ohm)
    assert np.all(a.can_switch() == (a.defect == OK))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rows": 0}, r"ChipSpec\.rows=0 is out of range; allowed: > 0"),
        ({"ra_ohm_um2": -1.0}, "ChipSpec.ra_ohm_um2"),
        ({"p_open": 1.5}, r"p_open=1\.5 is out of range; allowed: 0 to 1 \(a probability\)"),
        ({"p_open": 0.6, "p_shorted": 0.6}, "add up to"),
        ({"diameters_nm": ()}, "diameters_nm"),
        ({"initial_state": "up"}, "initial_state"),
        ({"r_row_ohm": float("nan")}, "r_row_ohm"),
    ],
)
def test_spec_rejects_bad_values_with_the_field_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ChipSpec(**kwargs)


def test_bad_seed_and_array_index():
    with pytest.raises(ValueError, match="seed"):
        Chip.from_seed(-1)
    with pytest.raises(IndexError, match=r"index=5 is out of range; allowed: 0 to 4 \(this chip"):
        Chip.from_seed(0).array(5)


def test_seed_zero_draws_what_it_drew_before_the_barrier_exponent_existed():
    # Values of Chip.from_seed(0) computed with the chip code as it was before the barrier
    # exponent and the precessional time were added: new parameters must not shift the stream.
    chip = Chip.from_seed(0)
    a0, a4 = chip.arrays[0], chip.arrays[4]
    np.testing.assert_allclose(
        [a0.params.vc0_p_to_ap_v[3, 11], a0.params.vc0_ap_to_p_v[3, 11], a0.params.delta[12, 2]],
        [0.5311503447052544, 0.3816305036515448, 53.10004528827266],
        rtol=1e-12,
    )
    np.testing.assert_allclose(
        [a4.params.vc0_p_to_ap_v[3, 11], a4.params.v_breakdown_v[7, 7], a4.params.delta[12, 2]],
        [0.5469104822753282, 1.3962476441898277, 48.805105090433884],
        rtol=1e-12,
    )
    assert [int(a0.state.sum()), int(a4.state.sum())] == [127, 95]
    counts = [int(np.sum(a0.defect == d)) for d in (OK, SHORTED, OPEN, STUCK_P, STUCK_AP)]
    assert counts == [223, 0, 1, 1, 0]
    # ... and its devices follow the linear law without a precessional channel, as they did.
    for a in chip.arrays:
        assert np.all(a.params.barrier_exponent == 1.0)
        assert np.all(a.params.tau0_prec_s == 0.0)


def test_barrier_exponent_spread_changes_the_exponents_alone():
    spec = ChipSpec(barrier_exponent=1.8, tau0_prec_s=3e-9)
    varied = ChipSpec(barrier_exponent=1.8, tau0_prec_s=3e-9, sigma_barrier_exponent_rel=0.1)
    a, b = Chip.from_seed(11, spec), Chip.from_seed(11, varied)
    for x, y in zip(a.arrays, b.arrays, strict=True):
        np.testing.assert_array_equal(x.state, y.state)
        np.testing.assert_array_equal(x.defect, y.defect)
        for name in x.params.__dataclass_fields__:
            if name != "barrier_exponent":
                np.testing.assert_array_equal(getattr(x.params, name), getattr(y.params, name))
        assert np.all(x.params.barrier_exponent == 1.8)
        assert np.all(x.params.tau0_prec_s == 3e-9)
        assert not np.all(y.params.barrier_exponent == 1.8)
    # The same seed and spec give the same exponents.
    np.testing.assert_array_equal(
        Chip.from_seed(11, varied).arrays[3].params.barrier_exponent,
        b.arrays[3].params.barrier_exponent,
    )


def test_barrier_exponent_spread_has_the_requested_size():
    spec = ChipSpec(
        rows=200,
        cols=200,
        diameters_nm=(50.0,),
        barrier_exponent=2.0,
        sigma_barrier_exponent_rel=0.1,
    )
    n = Chip.from_seed(2, spec).arrays[0].params.barrier_exponent
    assert np.mean(n) == pytest.approx(2.0, rel=0.01)
    assert np.std(n) / np.mean(n) == pytest.approx(0.1, rel=0.05)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"barrier_exponent": 0.0},
            r"ChipSpec\.barrier_exponent=0\.0 is out of range; allowed: > 0",
        ),
        ({"tau0_prec_s": -1e-9}, r"ChipSpec\.tau0_prec_s=-1e-09 is out of range; allowed: >= 0"),
        ({"sigma_barrier_exponent_rel": -0.1}, "ChipSpec.sigma_barrier_exponent_rel"),
    ],
)
def test_spec_rejects_bad_new_device_values(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ChipSpec(**kwargs)


def test_repr_of_a_chip_fits_on_a_few_lines_and_says_which_chip_it_is():
    chip = Chip.from_seed(0)
    text = repr(chip)
    lines = text.splitlines()
    assert len(lines) <= 10
    assert lines[0].startswith("Chip(seed=0, preset='kind', 5 arrays of 15x15")
    for k, d in enumerate(chip.spec.diameters_nm):
        assert lines[1 + k].startswith(f"  array {k}: {d:g} nm,")
    first = chip.arrays[0]
    n_open, n_ap = int(np.sum(first.defect == OPEN)), int(np.sum(first.state == AP))
    assert f"{n_open} open" in lines[1] and f"{n_ap} AP / {first.state.size - n_ap} P" in lines[1]


def test_repr_of_a_chip_of_a_changed_spec_names_the_changed_field():
    text = repr(Chip.from_seed(0, chip_spec("kind", {"r_row_ohm": 0.0})))
    assert "custom spec: 'kind' with r_row_ohm=0.0" in text.splitlines()[0]


def test_repr_of_an_array_is_one_line():
    text = repr(Chip.from_seed(0).arrays[2])
    assert "\n" not in text and text.startswith("MTJArray(60 nm, 15x15,")
