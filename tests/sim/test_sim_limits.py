"""The safety envelope on the simulated bench: derived from the chip, enforced below protocols."""

import numpy as np
import pytest

from mtjlab.core.limits import LimitError
from mtjlab.core.schemes import READ_BIASES
from mtjlab.sim import backend as sim_backend
from mtjlab.sim.backend import SimulatedBackend
from mtjlab.sim.chip import OK, Chip
from mtjlab.sim.limits import READ_DISTURB_PER_READ, chip_limits, read_disturb_per_read


@pytest.fixture(scope="module")
def chip0():
    return Chip.from_seed(0)


def test_default_chip_limits_sit_between_reading_and_writing(chip0):
    limits = chip_limits(chip0)
    # Issue figures for Chip.from_seed(0): grounded maps at -0.3 V and +0.4 V flipped half the
    # array; writes need 0.5 to 0.65 V; the weakest device breaks down at 1.229 V.
    assert 0.1 <= limits.max_read_v < 0.2
    assert 0.65 < limits.max_write_v < 1.229
    assert limits.max_device_v == limits.max_write_v
    assert set(limits.reasons) == {
        "max_read_v",
        "max_write_v",
        "min_width_s",
        "max_width_s",
        "compliance_a",
        "max_device_v",
    }


def test_the_read_limit_is_where_disturb_reaches_its_budget(chip0):
    limits = chip_limits(chip0)
    at_limit = max(read_disturb_per_read(chip0, s * limits.max_read_v, 1e-3) for s in (1, -1))
    above = max(read_disturb_per_read(chip0, s * (limits.max_read_v + 2e-3), 1e-3) for s in (1, -1))
    assert at_limit <= READ_DISTURB_PER_READ < above
    # A longer read disturbs more, so it gets a lower limit.
    assert chip_limits(chip0, read_time_s=1e-1).max_read_v < limits.max_read_v


@pytest.mark.parametrize("array_index", range(5))
def test_no_accepted_read_changes_a_device(array_index):
    chip = Chip.from_seed(0)
    b = SimulatedBackend(chip, array_index)
    state, defect = b.array.state.copy(), b.array.defect.copy()
    v = b.limits.max_read_v
    for sign in (1, -1):
        for bias in READ_BIASES:
            b.read_map(v_read_v=sign * v, bias=bias)
        # Inference batches at the limit, every row driven, both polarities and mixed signs.
        rng = np.random.default_rng(array_index)
        b.column_currents_a(sign * v * np.sign(rng.standard_normal((200, 15))))
        b.column_currents_a(np.full((50, 15), sign * v))
    np.testing.assert_array_equal(b.array.state, state)
    np.testing.assert_array_equal(b.array.defect, defect)


@pytest.mark.parametrize("v_read_v", [-0.3, 0.4, -0.5])
def test_the_reads_that_rewrote_the_array_are_refused(chip0, v_read_v):
    b = SimulatedBackend(Chip.from_seed(0), 1)
    state = b.array.state.copy()
    with pytest.raises(LimitError, match="max_read_v"):
        b.read_map(v_read_v=v_read_v)
    with pytest.raises(LimitError, match="max_read_v"):
        b.column_currents_a(np.full(15, v_read_v))
    np.testing.assert_array_equal(b.array.state, state)
    assert b.counts["reads"] == 0 and b.counts["vectors"] == 0


def test_limits_are_widened_only_explicitly():
    chip = Chip.from_seed(0)
    wide = chip_limits(chip).widened("bench operator", max_read_v=0.4)
    b = SimulatedBackend(chip, 1, limits=wide)
    assert b.limits.max_read_v == 0.4
    assert b.limits.reasons["max_read_v"] == "bench operator"
    # And a read at the widened limit is exactly the disturbing read the default refuses.
    before = b.array.state.copy()
    b.read_map(v_read_v=-0.3)
    assert np.sum(b.array.state != before) > 10
    with pytest.raises(AttributeError):
        b.limits = chip_limits(chip)  # type: ignore[misc]


def test_device_voltage_is_checked_below_the_scheme(monkeypatch):
    # A scheme bug that doubles the selected row's voltage passes the public amplitude check;
    # the solved device voltage is refused before any device feels it.
    b = SimulatedBackend(Chip.from_seed(0), 1)
    real = sim_backend.line_voltages

    def buggy(scheme, shape, row, col, v):
        row_v, col_v = real(scheme, shape, row, col, v)
        row_v[row] *= 2
        return row_v, col_v

    monkeypatch.setattr(sim_backend, "line_voltages", buggy)
    state, defect = b.array.state.copy(), b.array.defect.copy()
    with pytest.raises(LimitError, match="device voltage of 1.[0-9]+ V .* max_device_v"):
        b.write_pulse(2, 3, amplitude_v=0.9, width_s=1e-7, polarity=1)
    np.testing.assert_array_equal(b.array.state, state)
    np.testing.assert_array_equal(b.array.defect, defect)


def test_readings_are_clipped_at_compliance():
    chip = Chip.from_seed(0)
    limits = chip_limits(chip).widened("test", compliance_a=1e-6)
    b = SimulatedBackend(chip, 1, limits=limits)
    currents = b.column_currents_a(np.full(15, 0.1))
    np.testing.assert_array_equal(np.abs(currents), 1e-6)


def test_snapshot_and_restore_continue_the_same_run():
    chip = Chip.from_seed(4)
    b = SimulatedBackend(chip, 2)
    b.write_pulse(1, 1, amplitude_v=0.7, width_s=1e-7, polarity=1)
    saved = b.snapshot_state()

    def go_on():
        for k in range(10):
            b.write_pulse(k, 14 - k, amplitude_v=0.7, width_s=1e-7, polarity=-1 if k % 2 else 1)
        return b.read_map().resistance_ohm, b.array.state.copy()

    first = go_on()
    b.restore_state(saved)
    second = go_on()
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    assert np.all(b.array.defect[b.array.defect != OK] != OK)
