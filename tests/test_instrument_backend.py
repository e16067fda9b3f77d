"""InstrumentBackend on the emulated bench: the bench's code path, byte for byte, against the
simulator built from the same chip seed, and the bench's safety read from the transcripts."""

import numpy as np
import pytest

from mtjlab.bench.emulated import EmulatedBench
from mtjlab.bench.file import builtin_bench_path, crosspoint, load_bench
from mtjlab.core.limits import LimitError
from mtjlab.sim.backend import SimulatedBackend
from mtjlab.sim.chip import Chip

BENCH = load_bench(builtin_bench_path())


@pytest.fixture
def emulated():
    return EmulatedBench(BENCH)


def test_a_grounded_map_is_the_simulators_within_read_noise(emulated):
    with emulated.backend(1) as bench_array:
        got = bench_array.read_map(v_read_v=0.1)
    want = SimulatedBackend(Chip.from_seed(0), 1).read_map(v_read_v=0.1)
    finite = np.isfinite(want.resistance_ohm) & (want.resistance_ohm < 1e6)
    assert finite.sum() > 200
    np.testing.assert_allclose(got.resistance_ohm[finite], want.resistance_ohm[finite], rtol=0.02)


def test_the_same_pulses_switch_the_same_cells(emulated):
    sim = SimulatedBackend(Chip.from_seed(0), 1)
    # V/2 inside chip 0's disturb envelope at 100 ns (+0.31 / -0.222 V): up to 0.62 V P -> AP
    # and 0.444 V AP -> P.
    pulses = [(3, 4, 0.6, +1), (3, 4, 0.44, -1), (7, 7, 0.6, +1), (10, 2, 0.44, -1)]
    with emulated.backend(1) as bench_array:
        for row, col, amplitude, polarity in pulses:
            kw = dict(amplitude_v=amplitude, width_s=100e-9, polarity=polarity, scheme="v/2")
            bench_array.write_pulse(row, col, **kw)
            sim.write_pulse(row, col, **kw)
    np.testing.assert_array_equal(emulated.circuit.arrays[1].array.state, sim.array.state)
    assert np.any(sim.array.state != Chip.from_seed(0).array(1).state)  # the pulses switched


def test_no_relay_moves_while_a_source_is_live_over_a_write_verify(emulated):
    from mtjlab.protocols.write import write_verify

    target = np.full((15, 15), -1, dtype=np.int8)  # KEEP
    target[2:5, 3:6] = [[0, 1, 0], [1, 0, 1], [0, 1, 0]]
    with emulated.backend(1) as bench_array:
        result = write_verify(bench_array, target, rng=np.random.default_rng(0))
    assert result.fidelity == 1.0
    changes = emulated.circuit.relay_changes
    assert len(changes) > 50
    assert [c for c in changes if c.live] == []
    assert emulated.circuit.pulses == result.pulses


def test_the_transcripts_end_with_outputs_off_and_relays_open(emulated):
    with emulated.backend(1) as bench_array:
        bench_array.read_cell(3, 4)
        bench_array.write_pulse(3, 4, amplitude_v=0.6, width_s=1e-7, polarity=1)
    assert emulated.circuit.closed == set() and emulated.circuit.live() == ()
    received = {r: e.received() for r, e in emulated.emulators.items()}

    def last(lines, command):
        return max((i for i, line in enumerate(lines) if line == command), default=-1)

    for resource, on, off in [
        ("emulated://smu", "smua.source.output=1", "smua.source.output=0"),
        ("emulated://smu", "smub.source.output=1", "smub.source.output=0"),
        ("emulated://pulser", "OUTP1 1", "OUTP1 0"),
        ("emulated://pulser", "OUTP2 1", "OUTP2 0"),
    ]:
        lines = received[resource]
        assert 0 <= last(lines, on) < last(lines, off), (resource, on)
    assert received["emulated://matrix"][-2] == 'channel.open("allslots")'


def test_a_request_over_a_limit_sends_no_byte(emulated):
    with emulated.backend(1) as bench_array:
        bench_array.read_cell(0, 0)
        before = emulated.round_trips()
        with pytest.raises(LimitError):
            bench_array.write_pulse(0, 0, amplitude_v=5.0, width_s=1e-7, polarity=1)
        with pytest.raises(LimitError):
            bench_array.read_cell(0, 0, v_read_v=0.5)
        assert emulated.round_trips() == before


def test_pymeasures_own_2400_driver_reads_a_device_the_matrix_connects():
    """A bench whose read channel is a 2400: pymeasure's driver, given the emulated bench's
    adapter, sources 0 V on the selected column and measures the device's current while the
    2636B's channel b drives the row."""
    import copy

    import yaml
    from pymeasure.instruments.keithley import Keithley2400

    from mtjlab.bench.file import parse_bench
    from mtjlab.instruments.keithley707b import Keithley707B
    from mtjlab.instruments.keithley2600b import Keithley2600B

    data = copy.deepcopy(yaml.safe_load(builtin_bench_path().read_text()))
    data["instruments"]["smu_a"] = {"model": "keithley2400", "resource": "emulated://smu2400"}
    del data["tsp_link"]  # a 2400 runs no scripts
    bench = parse_bench(data, "bench-2400.yaml")
    emulated = EmulatedBench(bench)
    row, col = 3, 4
    wiring = bench.arrays[1]
    closed = [
        crosspoint(bench, "drive", wiring.rows[row]),
        crosspoint(bench, "smu_hi", wiring.cols[col]),
    ]
    closed += [crosspoint(bench, "ground", p) for i, p in enumerate(wiring.rows) if i != row]
    closed += [crosspoint(bench, "ground", p) for j, p in enumerate(wiring.cols) if j != col]
    Keithley707B(emulated.adapter("matrix")).exclusive_close(closed)
    drive = Keithley2600B(emulated.adapter("smu_b"), channel="b")
    drive.configure_voltage_source(1e-3, 1.0, voltage_limit_v=0.2)
    drive.set_voltage(0.1)
    drive.enable_output()

    smu = Keithley2400(emulated.adapter("smu_a"))
    smu.source_mode = "voltage"
    smu.compliance_current = 1e-3
    smu.source_voltage = 0.0
    smu.current_nplc = 1
    smu.enable_source()
    current = smu.current
    want = SimulatedBackend(Chip.from_seed(0), 1).read_cell(row, col, v_read_v=0.1)
    assert 0.1 / -current == pytest.approx(want.resistance_ohm, rel=0.03)


def test_a_dry_run_map_takes_at_least_the_physical_floor_of_bench_time(emulated):
    with emulated.backend(1) as bench_array:
        bench_array.read_cell(0, 0)
        start = emulated.clock.now_s
        bench_array.read_map()
        took = emulated.clock.now_s - start
    per_cell = 1 / BENCH.timing["line_frequency_hz"] + BENCH.timing["relay_settle_s"]
    assert took >= 225 * per_cell
    assert bench_array.counts["connections"] >= 225


def test_inference_by_superposition_matches_the_simulators_column_currents(emulated):
    """One drive source: each row's share of the column currents is measured alone and summed.
    At 0.1 V the devices are nearly linear and the lines' drops small, so the sum is the
    simulator's all-rows-at-once currents within a percent of the largest."""
    rng = np.random.default_rng(3)
    v = np.zeros((2, 15))
    v[:, :13] = 0.1 * rng.uniform(-1, 1, (2, 13))
    with emulated.backend(1) as bench_array:
        got = bench_array.column_currents_a(v)
    want = SimulatedBackend(Chip.from_seed(0), 1).column_currents_a(v)
    scale = np.abs(want).max()
    np.testing.assert_allclose(got, want, atol=0.01 * scale)


def cell_by_cell_bench():
    """The built-in bench with its matrix off the TSP-Link: every cell switched from here."""
    import copy

    import yaml

    from mtjlab.bench.file import parse_bench

    data = copy.deepcopy(yaml.safe_load(builtin_bench_path().read_text()))
    del data["tsp_link"]
    return EmulatedBench(parse_bench(data, "cell-by-cell.yaml"))


@pytest.mark.parametrize("bias", ["grounded", "floating"])
def test_a_map_in_one_script_reads_what_cell_by_cell_reads_in_a_few_dozen_commands(bias):
    maps, trips = [], []
    for emulated in (EmulatedBench(BENCH), cell_by_cell_bench()):
        with emulated.backend(1) as bench_array:
            bench_array.read_cell(0, 0)  # sources configured and on
            before = emulated.round_trips()
            maps.append(bench_array.read_map(v_read_v=0.1, bias=bias))
            trips.append(emulated.round_trips() - before)
        assert [c for c in emulated.circuit.relay_changes if c.live] == []
        assert bench_array.counts["reads"] == 226
    scripted, cell_by_cell = maps
    finite = np.isfinite(cell_by_cell.resistance_ohm) & (cell_by_cell.resistance_ohm < 1e6)
    assert finite.sum() > 200
    np.testing.assert_allclose(
        scripted.resistance_ohm[finite], cell_by_cell.resistance_ohm[finite], rtol=0.02
    )
    assert trips[0] < 50 < 225 * 5 < trips[1]


def test_a_matrix_refusal_inside_the_script_ends_in_an_error_with_outputs_off_and_relays_open():
    from mtjlab.instruments.roles import InstrumentError

    emulated = EmulatedBench(BENCH)
    matrix = emulated.emulator("matrix")
    matrix.slots = frozenset(matrix.slots - {3})  # a card gone: array 1's columns 301-306
    with pytest.raises(InstrumentError, match=r"node\[2\]"), emulated.backend(1) as bench_array:
        bench_array.read_map(v_read_v=0.1)
    assert emulated.circuit.closed == set() and emulated.circuit.live() == ()
    smu = emulated.emulator("smu_a")
    assert [c.attributes["source.output"] for c in smu.channels.values()] == [0, 0]
    assert [c for c in emulated.circuit.relay_changes if c.live] == []


def test_two_arrays_of_one_bench_see_each_others_relays_and_safe_state():
    """The arrays share the matrix and the sources: after array 1 was read, array 2 is
    connected again; after array 1's safe state turned the sources off, array 2 sets them
    up again; and a safe state with nothing done since the last sends nothing."""
    emulated = EmulatedBench(BENCH)
    one, two = emulated.backend(1), emulated.backend(2)
    want = {
        a: SimulatedBackend(Chip.from_seed(0), a).read_cell(3, 3).resistance_ohm for a in (1, 2)
    }
    assert abs(want[1] / want[2] - 1) > 0.1  # the two arrays' cells differ
    got = []
    with emulated.backend(1), emulated.backend(2):  # the shared safe state at the end, once
        got.append(two.read_cell(3, 3).resistance_ohm)
        got.append(one.read_cell(3, 3).resistance_ohm)
        got.append(two.read_cell(3, 3).resistance_ohm)
        one.safe_state()
        before = emulated.round_trips()
        two.safe_state()
        assert emulated.round_trips() == before
        got.append(two.read_cell(3, 3).resistance_ohm)
    np.testing.assert_allclose(got, [want[2], want[1], want[2], want[2]], rtol=0.02)
    assert emulated.circuit.closed == set() and emulated.circuit.live() == ()


def test_inference_in_one_script_takes_the_same_shares_as_cell_by_cell():
    """Each row's levels are one list the script sources in turn on each connection; rows
    with no input are not connected at all."""
    rng = np.random.default_rng(4)
    v = np.zeros((5, 15))
    v[:, :13] = 0.1 * rng.uniform(-1, 1, (5, 13))
    v[2, 4] = 0.0  # a zero input is not sourced
    got, trips = [], []
    for emulated in (EmulatedBench(BENCH), cell_by_cell_bench()):
        with emulated.backend(1) as bench_array:
            bench_array.read_cell(0, 0)
            before = emulated.round_trips()
            got.append(bench_array.column_currents_a(v))
            trips.append(emulated.round_trips() - before)
            assert bench_array.counts["reads"] == 1 + np.count_nonzero(v) * 15
        assert [c for c in emulated.circuit.relay_changes if c.live] == []
    scale = np.abs(got[1]).max()
    np.testing.assert_allclose(got[0], got[1], atol=0.005 * scale)
    assert trips[0] < 50 < 13 * 15 * 5 < trips[1]  # the script, loaded once, and one call


def test_inference_with_no_input_measures_nothing_and_gives_zeros():
    emulated = EmulatedBench(BENCH)
    with emulated.backend(1) as bench_array:
        before = emulated.round_trips()
        got = bench_array.column_currents_a(np.zeros((3, 15)))
        assert emulated.round_trips() == before
    np.testing.assert_array_equal(got, np.zeros((3, 15)))


def test_a_stored_state_carries_the_bench_time_and_commands_and_older_ones_still_restore():
    import struct

    from mtjlab.bench.emulated import ClockedState

    array_state = b"\x01\x02\x03"
    counted = ClockedState._TAG_COUNTED + struct.pack("<dq", 12.5, 3456) + array_state
    timed = ClockedState._TAG + struct.pack("<d", 7.0) + array_state
    assert ClockedState.unpack(counted) == (12.5, 3456, array_state)
    assert ClockedState.unpack(timed) == (7.0, None, array_state)
    assert ClockedState.unpack(array_state) == (None, None, array_state)
    assert ClockedState.split(counted) == (12.5, array_state)
