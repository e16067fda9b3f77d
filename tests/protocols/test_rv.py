"""R-V loop on the simulated bench: switching voltages where the device's own Vc0 puts them, none
for a stuck or open device, and the loop's threshold taken from its own readings."""

import math

import numpy as np
import pytest

from mtjlab.core.events import Progress
from mtjlab.core.states import AP, P
from mtjlab.core.states import OPEN as OPEN_STATE
from mtjlab.protocols.rv import UNDETERMINED, classify, rv_loop, two_level_threshold
from mtjlab.sim.backend import SimulatedBackend
from mtjlab.sim.chip import OK, OPEN, STUCK_P, Chip
from mtjlab.sim.device import resistance_ohm

#: Tops of the working loop, P->AP and AP->P: inside the default chip's disturb envelope under V/2
#: at 100 ns (+0.31 / -0.222 V on the half-selected devices allows 0.62 V and 0.444 V), above
#: the device's own critical voltages (0.566 V and 0.405 V), and multiples of the step.
TOPS = (0.575, 0.425)
STEP = 0.025


@pytest.fixture(scope="module")
def working_loop():
    """Two cycles on a working 50 nm device in the middle of the default array."""
    chip = Chip.from_seed(0)
    backend = SimulatedBackend(chip, 1)
    row, col = 7, 7
    assert chip.array(1).defect[row, col] == OK
    records, events = [], []
    loop = rv_loop(
        backend,
        row,
        col,
        max_amplitude_v=TOPS,
        step_v=STEP,
        cycles=2,
        progress=events.append,
        record=records.append,
    )
    return chip, backend, loop, records, events


def test_working_device_switches_both_ways_near_its_critical_voltages(working_loop):
    chip, _, loop, _, _ = working_loop
    params = chip.array(1).params
    vc0_p_to_ap = params.vc0_p_to_ap_v[loop.row, loop.col]
    vc0_ap_to_p = params.vc0_ap_to_p_v[loop.row, loop.col]
    # The second cycle starts in P (the first one's negative branch left it there), so it
    # shows both switches whatever state the device started in.
    assert loop.v_switch_p_to_ap_v[1] > 0 and loop.v_switch_ap_to_p_v[1] < 0
    # A 100 ns pulse switches a Delta = 50 device at about 0.9 Vc0 (the thermal tail); the line
    # drop and the step size put the measured voltage a little above, never far.
    for v, vc0 in ((loop.v_switch_p_to_ap_v, vc0_p_to_ap), (loop.v_switch_ap_to_p_v, vc0_ap_to_p)):
        switched = v[np.isfinite(v)]
        assert switched.size >= 1
        assert np.all((0.8 * vc0 <= np.abs(switched)) & (np.abs(switched) <= 1.3 * vc0)), (
            switched,
            vc0,
        )
    assert loop.v_switch_p_to_ap_mean_v == pytest.approx(np.nanmean(loop.v_switch_p_to_ap_v))
    assert loop.v_switch_ap_to_p_mean_v < 0
    # P -> AP needs more than AP -> P, as the device's critical voltages say.
    assert loop.v_switch_p_to_ap_mean_v > -loop.v_switch_ap_to_p_mean_v


def test_loop_threshold_and_states_match_the_device(working_loop):
    chip, _, loop, _, _ = working_loop
    a = chip.array(1)
    sub = (loop.row, loop.col)
    r_p = float(resistance_ohm(np.array(P), 0.1, a.params)[sub])
    r_ap = float(resistance_ohm(np.array(AP), 0.1, a.params)[sub])
    assert r_p < loop.threshold_ohm < r_ap
    assert set(np.unique(loop.state)) == {P, AP}
    # After the positive peak the device is AP, after the negative peak P: both tops are above
    # the device's critical voltages, so each peak switches it.
    peaks = np.flatnonzero(
        np.isclose(loop.amplitude_v, TOPS[0]) | np.isclose(loop.amplitude_v, -TOPS[1])
    )
    assert peaks.size == 4  # one of each polarity per cycle
    for n in peaks:
        assert loop.state[n] == (AP if loop.amplitude_v[n] > 0 else P)
    assert loop.state[-1] == P


def test_sweep_goes_up_down_and_through_both_polarities(working_loop):
    _, _, loop, _, _ = working_loop
    # Each polarity ramps to its own top: 23 levels of 25 mV up to 0.575 V, 17 to 0.425 V.
    up = STEP * np.arange(1, 24)
    down = STEP * np.arange(1, 18)
    assert up[-1] == pytest.approx(TOPS[0]) and down[-1] == pytest.approx(TOPS[1])
    positive = np.concatenate([up, up[-2::-1]])
    negative = np.concatenate([down, down[-2::-1]])
    one = np.concatenate([positive, -negative])
    np.testing.assert_allclose(loop.amplitude_v, np.tile(one, 2))
    np.testing.assert_array_equal(loop.cycle, np.repeat([0, 1], one.size))
    assert loop.resistance_ohm.shape == loop.state.shape == loop.amplitude_v.shape
    assert loop.v_switch_p_to_ap_v.shape == loop.v_switch_ap_to_p_v.shape == (2,)


def test_records_and_progress_events(working_loop):
    _, backend, loop, records, events = working_loop
    n = loop.amplitude_v.size
    assert len(records) == n + 1  # the read before the first pulse, then one per pulse
    assert records[0]["amplitude_v"] == 0.0
    assert [r["step"] for r in records] == list(range(n + 1))
    for r in records:
        assert set(r) == {
            "record", "row", "col", "cycle", "amplitude_v", "width_s", "resistance_ohm", "step",
        }  # fmt: skip
        assert r["record"] == "point"
        assert all(isinstance(v, str | int | float | bool) for v in r.values())
        assert not any(isinstance(v, np.generic) for v in r.values())
    np.testing.assert_array_equal([r["resistance_ohm"] for r in records[1:]], loop.resistance_ohm)
    np.testing.assert_array_equal([r["amplitude_v"] for r in records[1:]], loop.amplitude_v)
    assert all(isinstance(e, Progress) and e.task == "rv-loop" for e in events)
    assert [e.done for e in events] == list(range(n + 1))
    assert events[-1].total == n
    assert backend.counts["pulses"] == n and backend.counts["reads"] == n + 1
    assert backend.counts["safe_state"] == 1


@pytest.mark.parametrize("defect", [STUCK_P, OPEN], ids=["stuck-P", "open"])
def test_stuck_or_open_device_shows_no_switching(defect):
    chip = Chip.from_seed(0)
    cell = tuple(int(x) for x in np.argwhere(chip.array(0).defect == defect)[0])
    loop = rv_loop(SimulatedBackend(chip, 0), *cell, max_amplitude_v=TOPS, step_v=0.05)
    assert math.isnan(loop.threshold_ohm)
    assert np.all(np.isnan(loop.v_switch_p_to_ap_v)) and np.all(np.isnan(loop.v_switch_ap_to_p_v))
    assert math.isnan(loop.v_switch_p_to_ap_mean_v) and math.isnan(loop.v_switch_ap_to_p_mean_v)
    assert set(np.unique(loop.state)) <= {UNDETERMINED, OPEN_STATE}


def test_a_step_that_does_not_divide_the_maximum_ends_the_ramp_at_the_maximum():
    chip = Chip.from_seed(0)
    loop = rv_loop(SimulatedBackend(chip, 1), 2, 2, max_amplitude_v=0.1, step_v=0.03)
    np.testing.assert_allclose(loop.amplitude_v[:7], [0.03, 0.06, 0.09, 0.1, 0.09, 0.06, 0.03])
    assert loop.amplitude_v.size == 14


@pytest.mark.parametrize(
    "change, name",
    [
        ({"row": 15}, "row"),
        ({"col": -1}, "col"),
        ({"row": 1.0}, "row"),
        ({"max_amplitude_v": 1.5}, "max_amplitude_v"),
        ({"max_amplitude_v": 0.0}, "max_amplitude_v"),
        ({"max_amplitude_v": (0.58, 0.42, 0.3)}, "max_amplitude_v"),
        # Inside max_write_v, outside the disturb envelope under V/2 (0.62 V P->AP, 0.444 V
        # AP->P at 100 ns): one amplitude for both, or the AP->P top of a pair.
        ({"max_amplitude_v": 0.7}, "max_unselected_v"),
        ({"max_amplitude_v": (0.58, 0.5)}, "max_unselected_v"),
        ({"scheme": "floating"}, "max_unselected_v"),
        ({"step_v": 0.0}, "step_v"),
        ({"step_v": 0.5}, "step_v"),  # above the smaller top
        ({"step_v": 0.9}, "step_v"),
        ({"step_v": 1e-5}, "step_v"),
        ({"step_v": "0.1"}, "step_v"),
        ({"width_s": 1e-12}, "width_s"),
        ({"width_s": 1.0}, "width_s"),
        ({"scheme": "grounded"}, "scheme"),
        ({"v_read_v": 0.5}, "v_read_v"),
        ({"cycles": 0}, "cycles"),
        ({"cycles": 2.0}, "cycles"),
    ],
)
def test_bad_parameters_are_refused_before_any_pulse(change, name):
    backend = SimulatedBackend(Chip.from_seed(0), 1)
    kwargs = {"row": 1, "col": 1, "max_amplitude_v": (0.58, 0.42), "step_v": 0.05, **change}
    row, col = kwargs.pop("row"), kwargs.pop("col")
    with pytest.raises(ValueError, match=name) as err:
        rv_loop(backend, row, col, **kwargs)
    assert "\n" not in str(err.value)
    assert backend.counts["pulses"] == 0 and backend.counts["reads"] == 0


def test_two_level_threshold_splits_at_the_clear_gap_only():
    rng = np.random.default_rng(0)
    p, ap = 5e3 * (1 + 0.003 * rng.normal(size=20)), 12e3 * (1 + 0.003 * rng.normal(size=20))
    threshold = two_level_threshold(np.concatenate([p, ap]))
    assert p.max() < threshold < ap.min()
    assert threshold == pytest.approx(math.sqrt(p.max() * ap.min()))
    # One level with noise, a TMR below the 1.2 floor, and the noise floor of an open cell.
    assert math.isnan(two_level_threshold(p))
    assert math.isnan(two_level_threshold(np.concatenate([p, 1.1 * p])))
    assert math.isnan(two_level_threshold(np.abs(rng.normal(size=60)) * 1e9))
    assert math.isnan(two_level_threshold([5e3]))
    states = classify(np.array([5e3, 12e3, -1e9, np.inf]), threshold)
    np.testing.assert_array_equal(states, [P, AP, OPEN_STATE, OPEN_STATE])
    np.testing.assert_array_equal(
        classify(np.array([5e3, -1.0]), math.nan), [UNDETERMINED, OPEN_STATE]
    )
