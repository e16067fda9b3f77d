"""The circuit behind the emulated bench: what the matrix joins, the sources drive and the arrays
carry, against the simulator's own reads and hand-solved cases."""

import numpy as np
import pytest

from mtjlab.bench.file import builtin_bench_path, load_bench
from mtjlab.sim.backend import SimulatedBackend
from mtjlab.sim.chip import Chip
from mtjlab.sim.emulators.base import VirtualClock
from mtjlab.sim.emulators.circuit import BenchCircuit, CircuitError

BENCH = load_bench(builtin_bench_path())


def circuit(spec=None):
    chip = Chip.from_seed(0) if spec is None else Chip.from_seed(0, spec)
    return BenchCircuit(BENCH, chip, VirtualClock())


def connect_grounded_read(c, array, row, col):
    """drive on the selected row, smu_hi on the selected column, every other line grounded."""
    wiring = BENCH.arrays[array]
    rows = {t.name: t.matrix_row for t in BENCH.terminals.values()}
    for i, pad in enumerate(wiring.rows):
        c.set_crosspoint(rows["drive"] if i == row else rows["ground"], pad, True)
    for j, pad in enumerate(wiring.cols):
        c.set_crosspoint(rows["smu_hi"] if j == col else rows["ground"], pad, True)


@pytest.mark.parametrize(("row", "col"), [(0, 0), (3, 4), (14, 9)])
def test_a_grounded_read_through_the_matrix_is_the_simulators_read(row, col):
    c = circuit()
    connect_grounded_read(c, 1, row, col)
    c.set_level("drive", 0.1)
    c.set_level("smu_hi", 0.0)
    current = c.measure_current_a("smu_hi", 1e-3)
    # current flows from the driven row through the device into smu_hi: out of the terminal < 0
    expected = SimulatedBackend(Chip.from_seed(0), 1).read_cell(row, col, v_read_v=0.1).current_a
    assert -current == pytest.approx(expected, rel=0.02)


def test_an_output_that_is_off_leaves_its_lines_floating():
    c = circuit()
    connect_grounded_read(c, 1, 3, 4)
    c.set_level("smu_hi", 0.0)  # drive stays off
    assert c.measure_current_a("smu_hi", 1e-3) == pytest.approx(0.0, abs=1e-9)


def test_two_sources_on_one_line_are_refused():
    c = circuit()
    pad = BENCH.arrays[1].rows[0]
    c.set_crosspoint("C", pad, True)  # drive
    c.set_crosspoint("A", pad, True)  # smu_hi
    c.set_level("drive", 0.1)
    c.set_level("smu_hi", 0.0)
    with pytest.raises(CircuitError, match="two sources shorted"):
        c.measure_current_a("smu_hi", 1e-3)


def test_relay_changes_record_the_live_terminals():
    c = circuit()
    pad = BENCH.arrays[1].rows[0]
    c.set_crosspoint("C", pad, True)
    c.set_level("drive", 0.1)
    c.set_crosspoint("C", pad, False)
    c.set_level("drive", 0.0)
    c.set_crosspoint("C", pad, True)
    assert [(ch.closed, ch.live) for ch in c.relay_changes] == [
        (True, ()),
        (False, ("drive",)),
        (True, ()),
    ]


def test_a_v_half_pulse_switches_the_selected_cell_only():
    """pulse on the selected row, ground on the selected column, hold (V/2) on the rest."""
    c = circuit()
    a = c.arrays[1].array
    a.state[...] = 0  # all P
    wiring = BENCH.arrays[1]
    for i, pad in enumerate(wiring.rows):
        c.set_crosspoint("D" if i == 7 else "E", pad, True)
    for j, pad in enumerate(wiring.cols):
        c.set_crosspoint("F" if j == 7 else "E", pad, True)
    before = a.state.copy()
    c.pulse({"pulse": 0.65, "hold": 0.325}, 100e-9)
    changed = np.argwhere(a.state != before)
    assert changed.tolist() == [[7, 7]]
    assert c.pulses == 1


def test_a_pulse_train_is_live_and_caught_up_before_a_relay_moves():
    c = circuit()
    runs = []
    c.before_change.append(lambda: runs.append(c.clock.now_s))
    c.set_train("pulse", True)
    c.set_crosspoint("D", BENCH.arrays[1].rows[0], True)
    assert runs == [0.0]
    assert c.relay_changes[-1].live == ("pulse",)
    c.set_train("pulse", False)
    c.set_crosspoint("D", BENCH.arrays[1].rows[0], False)
    assert c.relay_changes[-1].live == ()


def test_a_scan_that_comes_back_to_a_read_reads_it_as_before():
    # the circuit keeps what each set of closed crosspoints and levels routes; a scan that moves
    # on and comes back reads each cell as a circuit that never saw the others does
    c, fresh = circuit(), {}
    for row, col in [(3, 4), (5, 6), (3, 4), (5, 6), (3, 4)]:
        c.open_all()
        connect_grounded_read(c, 1, row, col)
        c.set_level("drive", 0.1)
        c.set_level("smu_hi", 0.0)
        key = (row, col)
        if key not in fresh:
            alone = circuit()
            connect_grounded_read(alone, 1, row, col)
            alone.set_level("drive", 0.1)
            alone.set_level("smu_hi", 0.0)
            fresh[key] = alone._line_voltages(1, {})
        lines = c._line_voltages(1, {})
        np.testing.assert_array_equal(lines[0], fresh[key][0])
        np.testing.assert_array_equal(lines[1], fresh[key][1])
        assert lines[2].keys() == fresh[key][2].keys() == {"drive", "smu_hi", "ground"}
        assert not lines[0].flags.writeable  # kept, so nobody may change it
        assert c.measure_current_a("smu_hi", 1e-3) < 0.0
    # a level change is a new circuit: the drive's row follows it
    c.set_level("drive", 0.05)
    assert c._line_voltages(1, {})[0][3] == 0.05
