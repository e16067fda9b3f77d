"""The emulated 2600B against mtjlab's driver on the built-in bench: channel b drives the row,
channel a reads the column, as the built-in bench wires them; the readings are the simulator's,
refusals reach the TSP error queue."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mtjlab.bench.file import builtin_bench_path, load_bench
from mtjlab.instruments.keithley2600b import Keithley2600B
from mtjlab.instruments.roles import InstrumentError
from mtjlab.sim.backend import SimulatedBackend
from mtjlab.sim.chip import SHORTED, Chip
from mtjlab.sim.emulators.base import EmulatorAdapter
from mtjlab.sim.emulators.circuit import BenchCircuit
from mtjlab.sim.emulators.keithley2600b import Keithley2600BEmulator

BENCH = load_bench(builtin_bench_path())
ROWS = {t.name: t.matrix_row for t in BENCH.terminals.values()}
V_READ = 0.1


def expected_current_a(row, col):
    return SimulatedBackend(Chip.from_seed(0), 1).read_cell(row, col, v_read_v=V_READ).current_a


def wired(row, col, model="2636B"):
    """drive (channel b) on the selected row, smu_hi (channel a) on the selected column, every
    other line grounded."""
    circuit = BenchCircuit(BENCH, Chip.from_seed(0))
    wiring = BENCH.arrays[1]
    for i, pad in enumerate(wiring.rows):
        circuit.set_crosspoint(ROWS["drive"] if i == row else ROWS["ground"], pad, True)
    for j, pad in enumerate(wiring.cols):
        circuit.set_crosspoint(ROWS["smu_hi"] if j == col else ROWS["ground"], pad, True)
    terminals = {"a": "smu_hi", "b": "drive"} if "b" in model_channels(model) else {"a": "smu_hi"}
    return circuit, Keithley2600BEmulator(circuit, terminals, model=model)


def model_channels(model):
    return "a" if model in ("2601B", "2611B", "2635B") else "ab"


def ask(emulator, line):
    emulator.write(line)
    return emulator.read()


@pytest.mark.parametrize(("row", "col"), [(3, 4), (10, 2)])
def test_both_channels_run_their_roles_and_read_the_chips_device(row, col):
    circuit, emulator = wired(row, col)
    adapter = EmulatorAdapter(emulator)
    reader = Keithley2600B(adapter, channel="a")
    driver = Keithley2600B(adapter, channel="b")
    for smu, level in ((driver, V_READ), (reader, 0.0)):
        smu.configure_voltage_source(compliance_current_a=1e-4, nplc=1)
        smu.set_voltage(level)
        smu.enable_output()
    assert circuit.levels == {**circuit.levels, "drive": V_READ, "smu_hi": 0.0}
    expected = expected_current_a(row, col)
    voltage, current = reader.measure()
    assert voltage == 0.0
    assert -current == pytest.approx(expected, rel=0.03)
    currents = reader.sweep_voltage_list([0.0, 0.05, 0.0])
    assert -currents[0] == pytest.approx(expected, rel=0.03)
    assert -currents[2] == pytest.approx(expected, rel=0.03)
    assert currents[1] > currents[0] + 0.3 * expected
    assert emulator.channels["a"].buffers["nvbuffer1"].sourcevalues == [0.0, 0.05, 0.0]
    for smu in (reader, driver):
        smu.safe_state()
    received = emulator.received()
    for ch in "ab":
        after = received[received.index(f"smu{ch}.abort()") :]
        assert after[1] == f"smu{ch}.source.output=0"
        assert f"smu{ch}.source.output=1" not in after
        assert emulator.channels[ch].attributes["source.output"] == 0
    # normal output-off state sourcing 0 V (the driver's offfunc): both lines held at 0 V
    assert circuit.levels["drive"] == 0.0 and circuit.levels["smu_hi"] == 0.0
    assert circuit.live() == ()
    assert emulator.clock.now_s >= 4 * 0.02


def test_a_shorted_device_reads_the_current_limit():
    circuit, emulator = wired(3, 4)
    circuit.arrays[1].array.defect[3, 4] = SHORTED  # 100 Ohm at 0.1 V: 1 mA
    adapter = EmulatorAdapter(emulator)
    reader, driver = Keithley2600B(adapter, channel="a"), Keithley2600B(adapter, channel="b")
    for smu, level in ((driver, V_READ), (reader, 0.0)):
        smu.configure_voltage_source(compliance_current_a=1e-4, nplc=0.1)
        smu.set_voltage(level)
        smu.enable_output()
    assert reader.measure() == (0.0, -1e-4)
    # the driving channel is in its limit too, sourcing the short
    assert float(ask(emulator, "print(smub.measure.i())")) == pytest.approx(1e-4)


def test_a_value_beyond_the_model_is_refused_queued_and_raised_by_the_driver():
    # a 2602B sources 40 V at most; the channel property's own check allows the family's 200 V
    _, emulator = wired(3, 4, model="2602B")
    smu = Keithley2600B(EmulatorAdapter(emulator), channel="a")
    smu.smu.source_voltage = 1.5
    smu.smu.source_voltage = 100
    with pytest.raises(InstrumentError, match=r"-222, Parameter data out of range"):
        smu.check_errors()
    assert smu.smu.source_voltage == 1.5
    smu.smu.current_limit = 2.9  # within the 2602B's 3 A
    smu.check_errors()


def test_the_model_is_what_the_driver_reads_and_sets_its_limits():
    _, emulator = wired(3, 4, model="2611B")
    assert ask(emulator, "print(localnode.model)") == "2611B"
    smu = Keithley2600B(EmulatorAdapter(emulator), channel="a")
    assert smu.model == "2611B"
    emulator.write("smub.source.output=0")  # a one-channel model has no smub
    code, message = emulator.error_queue[-1]
    assert code == -286 and "smub" in message


def test_error_queue_entries_print_in_the_2600b_format():
    _, emulator = wired(3, 4)
    emulator.write("smua.source.levelv=")
    emulator.write("smua.source.levelx=1")
    emulator.write("foo()")
    fields = ask(emulator, "print(errorqueue.next())").split("\t")
    assert fields[0] == "-2.85000e+02" and fields[1].startswith("TSP Syntax error")
    assert len(fields) == 4
    assert ask(emulator, "print(errorqueue.count)") == "2.00000e+00"
    assert ask(emulator, "print(errorqueue.next())").split("\t")[0] == "-2.86000e+02"
    assert ask(emulator, "print(errorqueue.next())").split("\t")[0] == "-2.86000e+02"
    assert ask(emulator, "print(errorqueue.next())").split("\t")[:2] == [
        "0.00000e+00",
        "Queue Is Empty",
    ]


def test_constants_and_multiple_values_print_as_the_instrument_does():
    _, emulator = wired(3, 4)
    emulator.write("smua.source.offmode=smua.OUTPUT_HIGH_Z")
    assert ask(emulator, "print(smua.source.offmode)") == "2.00000e+00"
    assert ask(emulator, "print(smua.source.func, undefined_name)") == "1.00000e+00\tnil"
    assert ask(emulator, "*IDN?").startswith("Keithley Instruments Inc., Model 2636B,")


def test_an_output_off_in_high_z_leaves_the_line_floating():
    circuit, emulator = wired(3, 4)
    emulator.write("smub.source.offmode=2")
    assert circuit.levels["drive"] is None
    emulator.write("smub.source.offmode=0")
    emulator.write("smub.source.offfunc=0")  # normal, sourcing 0 A
    assert circuit.levels["drive"] is None
    emulator.write("smub.source.offfunc=1")  # normal, sourcing 0 V
    assert circuit.levels["drive"] == 0.0


_, FUZZED = wired(3, 4)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_any_line_is_answered_or_refused_never_a_crash(line):
    assert all(isinstance(reply, str) for reply in FUZZED.handle(line))
