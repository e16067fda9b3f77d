"""A circuit the emulated instruments apply again, while the devices are unchanged, is the same
solution and the same switching probabilities: SimulatedBackend keeps them, and what it gives is
what solving again gives, random draws included; any change of a device forgets them."""

import numpy as np

from mtjlab.sim.backend import SimulatedBackend
from mtjlab.sim.chip import Chip


def _circuits(shape, rng):
    """Line voltages as an instrument applies them: a few reads and pulses, each many times."""
    rows, cols = shape
    reads = []
    for _ in range(4):
        row_v = np.full(rows, np.nan)
        col_v = np.full(cols, np.nan)
        row_v[rng.integers(rows)], col_v[:] = 0.1, 0.0
        reads.append((row_v, col_v, 1e-3))
    pulse_row, pulse_col = np.zeros(rows), np.zeros(cols)
    pulse_row[3], pulse_col[4] = 0.9, -0.45  # a write across device (3, 4): it switches
    pulse = (pulse_row, pulse_col, 1e-7)
    order = [reads[k] for k in rng.integers(0, 4, size=40)]
    return order[:20] + [pulse] + order[20:] + [pulse] + order[:5]


def _without_repeats(backend, row_v, col_v, duration_s):
    """What apply_lines did before it kept circuits: solve, then stress."""
    sol = backend._solve(row_v[:, None], col_v[:, None])
    backend._stress(np.reshape(sol.device_voltages_v, backend.shape), duration_s)
    return sol


def test_repeated_circuits_give_what_solving_again_gives():
    chip_a, chip_b = Chip.from_seed(3), Chip.from_seed(3)
    kept, solved = SimulatedBackend(chip_a, 4), SimulatedBackend(chip_b, 4)
    states = []
    for row_v, col_v, duration in _circuits(kept.shape, np.random.default_rng(0)):
        a = kept.apply_lines(row_v, col_v, duration)
        b = _without_repeats(solved, row_v, col_v, duration)
        np.testing.assert_array_equal(a.column_end_current_a, b.column_end_current_a)
        np.testing.assert_array_equal(a.device_voltages_v, b.device_voltages_v)
        np.testing.assert_array_equal(kept.array.state, solved.array.state)
        np.testing.assert_array_equal(kept.array.defect, solved.array.defect)
        assert kept.rng.bit_generator.state == solved.rng.bit_generator.state
        states.append(kept.array.state.copy())
    # the pulses switched a device, so the circuits after them were solved anew
    assert any((s != states[0]).any() for s in states)
    assert len(kept._solved) <= 5


def test_a_device_changed_from_outside_is_seen():
    backend = SimulatedBackend(Chip.from_seed(0), 1)
    rows, cols = backend.shape
    row_v, col_v = np.full(rows, np.nan), np.zeros(cols)
    row_v[2] = 0.1
    before = backend.apply_lines(row_v, col_v, 1e-3).row_start_current_a[0, 2]
    backend.array.state[2, :] ^= 1  # every device of the read row flipped (a test, a restore)
    after = backend.apply_lines(row_v, col_v, 1e-3).row_start_current_a[0, 2]
    assert after != before
    again = SimulatedBackend(Chip.from_seed(0), 1)
    again.array.state[2, :] ^= 1
    fresh = again._solve(row_v[:, None], col_v[:, None]).row_start_current_a[0, 2]
    assert after == fresh
