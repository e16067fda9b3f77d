"""Write-verify on the simulated bench: fidelity, stuck cells, only wrong cells pulsed, limits."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from mtjlab.core.limits import LimitError
from mtjlab.core.states import AP, P
from mtjlab.core.states import OPEN as OPEN_STATE
from mtjlab.core.states import SHORT as SHORT_STATE
from mtjlab.protocols.write import (
    DEFAULT_RAMP_AP_TO_P,
    DEFAULT_RAMP_P_TO_AP,
    KEEP,
    GiveUp,
    GiveUpKind,
    Ramp,
    place_pattern,
    write_verify,
)
from mtjlab.sim.backend import SimulatedBackend
from mtjlab.sim.chip import OK, OPEN, SHORTED, STUCK_AP, STUCK_P, Chip, ChipSpec
from mtjlab.sim.limits import chip_limits


def random_pattern(seed, shape=(15, 15)):
    return (np.random.default_rng(seed).random(shape) < 0.5).astype(np.int8)


def cannot_reach(array, target) -> np.ndarray:
    """Cells that no write can put in their target: the oracle for given-up cells."""
    d = array.defect
    return (
        (d == OPEN)
        | (d == SHORTED)
        | ((d == STUCK_P) & (target == AP))
        | ((d == STUCK_AP) & (target == P))
    )


@pytest.mark.parametrize("index", range(5))
def test_random_pattern_into_each_array_of_the_default_chip(index):
    chip = Chip.from_seed(0)
    b = SimulatedBackend(chip, index)
    target = random_pattern(index)
    result = write_verify(b, target)
    a = chip.array(index)
    assert result.fidelity >= 0.99
    # The chip's own state says the same as the final read.
    correct = (a.state == target) & ~np.isin(a.defect, (OPEN, SHORTED))
    assert result.fidelity == pytest.approx(correct.mean())
    # Every cell given up is a defect that cannot reach its target, and every such cell is
    # given up, with the reason it deserves.
    unreachable = {tuple(int(x) for x in rc) for rc in np.argwhere(cannot_reach(a, target))}
    assert set(result.given_up) == unreachable
    assert list(result.given_up_kinds) == list(result.given_up)
    for (row, col), why in result.given_up.items():
        defect = a.defect[row, col]
        kind = result.given_up_kinds[(row, col)]
        if defect == OPEN:
            assert (why, kind) == ("reads open", GiveUpKind.READS_OPEN)
        elif defect == SHORTED:
            assert (why, kind) == ("reads short", GiveUpKind.READS_SHORT)
        else:
            assert why.startswith("did not switch to ")
            assert kind is GiveUpKind.DID_NOT_SWITCH
            assert result.attempts[row, col] == 6


def test_each_pass_pulses_only_the_cells_that_read_wrong():
    chip = Chip.from_seed(3)
    b = SimulatedBackend(chip, 1)
    target = random_pattern(7)
    wrong_before = {
        tuple(int(x) for x in rc)
        for rc in np.argwhere((chip.array(1).state != target) & (chip.array(1).defect == OK))
    }
    records = []
    result = write_verify(b, target, record=records.append)
    first_pass = {
        (r["row"], r["col"]) for r in records if r["record"] == "pulse" and r["pass"] == 1
    }
    assert first_pass == wrong_before
    pulses = [r for r in records if r["record"] == "pulse"]
    assert len(pulses) == result.pulses == b.counts["pulses"]
    cells = [r for r in records if r["record"] == "cell"]
    assert len(cells) == 225
    assert all(
        r["direction"] == ("P->AP" if target[r["row"], r["col"]] else "AP->P") for r in pulses
    )


def test_stuck_cell_gets_the_ramp_then_is_given_up():
    chip = Chip.from_seed(0)
    a = chip.array(0)
    row, col = (int(x) for x in np.argwhere(a.defect == STUCK_P)[0])
    target = np.full(a.shape, KEEP, dtype=np.int8)
    target[row, col] = AP
    records = []
    # The ramp stops at 0.6 V, inside the disturb envelope under V/2 (0.62 V at 100 ns), and
    # its fourth step (0.62 V) is cut to the stop.
    result = write_verify(
        SimulatedBackend(chip, 0),
        target,
        ramp_p_to_ap=Ramp(0.5, 0.04, 0.6),
        max_attempts=4,
        threshold_ohm=12.8e3,
        record=records.append,
    )
    amplitudes = [r["amplitude_v"] for r in records if r["record"] == "pulse"]
    assert amplitudes == pytest.approx([0.5, 0.54, 0.58, 0.6])
    assert result.given_up == {(row, col): "did not switch to AP after 4 pulses up to 0.6 V"}
    assert result.given_up_kinds == {(row, col): GiveUpKind.DID_NOT_SWITCH}
    assert result.fidelity == 0.0 and result.errors_p_to_ap == 1


def test_a_block_is_written_and_the_rest_left_alone():
    chip = Chip.from_seed(5)
    a = chip.array(2)
    before = a.state.copy()
    block = random_pattern(1, shape=(4, 6))
    result = write_verify(SimulatedBackend(chip, 2), place_pattern(block, a.shape, (3, 7)))
    ok = a.defect[3:7, 7:13] == OK
    np.testing.assert_array_equal(a.state[3:7, 7:13][ok], block[ok])
    outside = np.ones(a.shape, bool)
    outside[3:7, 7:13] = False
    np.testing.assert_array_equal(a.state[outside], before[outside])
    assert result.attempts[outside].sum() == 0


def test_disturbed_neighbours_count_against_fidelity():
    ideal = dict(
        sigma_r_p_log=0.0,
        sigma_vc0_rel=0.0,
        p_shorted=0.0,
        p_open=0.0,
        p_stuck_p=0.0,
        p_stuck_ap=0.0,
        initial_state="P",
        diameters_nm=(50.0,),
    )
    chip = Chip.from_seed(0, ChipSpec(**ideal))
    a = chip.array(0)
    # A weak P device on row 4: half-selected at +0.325 V when its row neighbour is written AP.
    vc0 = a.params.vc0_p_to_ap_v.copy()
    vc0[4, 0] = 0.3
    a.params = a.params.with_values(vc0_p_to_ap_v=vc0)
    target = np.zeros(a.shape, dtype=np.int8)
    target[::2, 5] = AP  # both states present, so the first read sets the threshold
    target[4, 5] = AP
    # The chip's envelope sees the weak device (it allows +0.211 V on unselected devices) and
    # would refuse the pulse this test is about: the disturb is wanted, so it is allowed
    # explicitly, and the P->AP ramp starts at 0.65 V to put 0.325 V on the weak device.
    limits = chip_limits(chip).allowing_disturb("test: a neighbour is disturbed on purpose")
    result = write_verify(
        SimulatedBackend(chip, 0, limits=limits),
        target,
        ramp_p_to_ap=Ramp(0.65, 0.05, 0.75),
        max_passes=1,
        threshold_ohm=8e3,
    )
    assert a.state[4, 0] == AP  # it was P and verified before the pass, then disturbed
    assert result.disturbed == 1
    assert result.fidelity == pytest.approx(224 / 225)


def test_random_order_is_seeded_and_column_major_goes_down_columns():
    def first_pass(order, rng=0):
        records = []
        write_verify(
            SimulatedBackend(Chip.from_seed(2), 1),
            random_pattern(3),
            order=order,
            rng=rng,
            max_passes=1,
            record=records.append,
        )
        return [(r["row"], r["col"]) for r in records if r["record"] == "pulse"]

    column_major = first_pass("column-major")
    assert column_major == sorted(column_major, key=lambda rc: (rc[1], rc[0]))
    assert first_pass("random", 4) == first_pass("random", 4) != first_pass("random", 5)


def test_the_all_p_array_is_calibrated_before_it_is_written():
    chip = Chip.from_seed(0, ChipSpec(initial_state="P"))
    result = write_verify(SimulatedBackend(chip, 1), np.ones((15, 15), dtype=np.int8))
    assert result.fidelity >= 0.99
    r_p = chip.array(1).params.r_p_ohm
    assert np.median(r_p) * 1.2 < result.threshold_ohm < np.median(r_p) * 2.5


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"ramp_p_to_ap": Ramp(0.65, 0.05, 1.5)}, LimitError, "max_write_v"),
        ({"ramp_ap_to_p": Ramp(0.6, 0.05, 0.5)}, ValueError, "start_v <= stop_v"),
        ({"width_s": 1e-12}, LimitError, "min_width_s"),
        ({"v_read_v": 0.5}, LimitError, "max_read_v"),
        ({"max_attempts": 0}, ValueError, "max_attempts"),
        ({"scheme": "v/4"}, ValueError, "scheme='v/4' is not allowed; allowed: "),
        ({"order": "spiral"}, ValueError, "order='spiral' is not allowed; allowed: "),
    ],
)
def test_bad_parameters_are_refused_before_any_pulse(kwargs, error, message):
    b = SimulatedBackend(Chip.from_seed(0), 1)
    with pytest.raises(error, match=message):
        write_verify(b, random_pattern(0), **kwargs)
    assert b.counts["pulses"] == 0 and b.counts["reads"] == 0


@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    target=hnp.arrays(
        np.int64,
        hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=16),
        elements=st.integers(-3, 3),
    )
)
def test_any_target_that_is_not_a_pattern_of_the_array_is_refused(target):
    b = SimulatedBackend(Chip.from_seed(0), 1)
    usable = target.shape == (15, 15) and np.isin(target, (-1, 0, 1)).all() and (target != -1).any()
    if usable:
        return
    with pytest.raises(ValueError, match="target"):
        write_verify(b, target)
    assert b.counts["pulses"] == 0


def test_a_give_up_is_a_kind_and_the_words_shown_for_it():
    stuck = GiveUp.did_not_switch(AP, 6, 0.75)
    assert stuck.kind is GiveUpKind.DID_NOT_SWITCH
    assert str(stuck) == stuck.message == "did not switch to AP after 6 pulses up to 0.75 V"
    assert str(GiveUp.reads(OPEN_STATE)) == "reads open"
    assert GiveUp.reads(SHORT_STATE).kind is GiveUpKind.READS_SHORT


# -- the disturb envelope ---------------------------------------------------------------------

BLOCK_AT = (6, 6)


def outside_block(shape, size=3, at=BLOCK_AT):
    out = np.ones(shape, dtype=bool)
    out[at[0] : at[0] + size, at[1] : at[1] + size] = False
    return out


def inverted_block(array, size=3, at=BLOCK_AT):
    """The block at ``at`` flipped from the array's true states: every cell of it is pulsed."""
    return (1 - array.state[at[0] : at[0] + size, at[1] : at[1] + size]).astype(np.int8)


@pytest.mark.parametrize(
    "kwargs",
    [
        # AP->P at 0.8 V puts -0.4 V on the half-selected devices (allowed: -0.222 V).
        {"ramp_ap_to_p": Ramp(0.8, 0.0, 0.8)},
        # The old default P->AP ramp: +0.375 V at its top (allowed: +0.31 V).
        {"ramp_p_to_ap": Ramp(0.65, 0.05, 0.75)},
        # The default ramps are inside for 100 ns under V/2 only: a floating line may put the
        # full amplitude on a device, and a 1 us pulse has a lower bound (+0.286 / -0.204 V).
        {"scheme": "floating"},
        {"width_s": 1e-6},
    ],
)
def test_a_write_outside_the_disturb_envelope_is_refused_before_any_pulse(kwargs):
    chip = Chip.from_seed(0)
    b = SimulatedBackend(chip, 1)
    block = place_pattern(inverted_block(chip.array(1)), b.shape, BLOCK_AT)
    with pytest.raises(LimitError, match="max_unselected_v") as err:
        write_verify(b, block, **kwargs)
    assert "allowing_disturb" in str(err.value)
    assert b.counts["pulses"] == 0 and b.counts["reads"] == 0


@pytest.mark.parametrize("repair", [False, True], ids=["counted", "repaired"])
def test_a_write_allowed_outside_the_envelope_reports_and_repairs_what_it_disturbed(repair):
    chip = Chip.from_seed(0)
    a = chip.array(1)
    limits = chip_limits(chip).allowing_disturb("test: an AP->P ramp far outside the envelope")
    b = SimulatedBackend(chip, 1, limits=limits)
    before = a.state.copy()
    block = inverted_block(a)
    assert np.any(block == P)  # so the block gets the 0.8 V AP->P pulses
    result = write_verify(
        b,
        place_pattern(block, a.shape, BLOCK_AT),
        ramp_ap_to_p=Ramp(0.8, 0.0, 0.8),
        repair_disturbed=repair,
    )
    assert result.fidelity == 1.0
    outside = outside_block(a.shape)
    if not repair:
        # -0.4 V on the half-selected devices switches AP ones to P: the verify reads, which
        # cover the whole array, see every one of them, as the chip's true states say.
        changed = outside & (a.defect == OK) & (a.state != before)
        assert result.disturbed_outside == int(changed.sum()) > 0
        assert result.repaired == 0
        np.testing.assert_array_equal(result.final.states[changed], a.state[changed])
        assert result.attempts[outside].sum() == 0  # counted, left alone
        return
    # Written back: every disturbed cell ends in its first state, save those given up.
    assert result.disturbed_outside > 0
    assert result.repaired == result.disturbed_outside
    kept = outside.copy()
    for row, col in result.given_up:
        kept[row, col] = False
    np.testing.assert_array_equal(a.state[kept], before[kept])
    assert result.attempts[outside].sum() > 0  # the repairs are pulses outside the block


@pytest.mark.parametrize("index", range(5))
def test_the_default_ramps_disturb_no_cell_outside_what_they_write(index):
    chip = Chip.from_seed(0)
    a = chip.array(index)
    b = SimulatedBackend(chip, index)
    full = write_verify(b, random_pattern(index))
    assert full.disturbed == 0  # no cell of the pattern left its target once it read right
    before = a.state.copy()
    block = write_verify(b, place_pattern(inverted_block(a), a.shape, BLOCK_AT))
    outside = outside_block(a.shape)
    assert block.disturbed_outside == 0 and block.repaired == 0
    np.testing.assert_array_equal(a.state[outside], before[outside])
    # Every working cell of the block was pulsed: the write had something to disturb with.
    assert np.all(block.attempts[~outside & (a.defect == OK)] >= 1)


def test_the_default_ramps_are_inside_the_default_chips_envelope():
    limits = SimulatedBackend(Chip.from_seed(0), 1).limits
    limits.check_unselected("v/2", DEFAULT_RAMP_P_TO_AP.stop_v, 100e-9, 1)
    limits.check_unselected("v/2", DEFAULT_RAMP_AP_TO_P.stop_v, 100e-9, -1)
