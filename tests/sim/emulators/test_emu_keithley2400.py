"""The emulated 2400 against mtjlab's driver and pymeasure's own, on the built-in bench's chip:
the readings are the simulator's, refusals reach the error queue, limits come from the 2400
manual."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pymeasure.instruments.keithley import Keithley2400 as PymeasureKeithley2400

from mtjlab.bench.file import builtin_bench_path, load_bench
from mtjlab.instruments.keithley2400 import Keithley2400
from mtjlab.instruments.roles import InstrumentError
from mtjlab.sim.backend import SimulatedBackend
from mtjlab.sim.chip import SHORTED, Chip
from mtjlab.sim.emulators.base import EmulatorAdapter, EmulatorTimeout
from mtjlab.sim.emulators.circuit import BenchCircuit
from mtjlab.sim.emulators.keithley2400 import Keithley2400Emulator

BENCH = load_bench(builtin_bench_path())
ROWS = {t.name: t.matrix_row for t in BENCH.terminals.values()}
V_READ = 0.1


def expected_current_a(row, col):
    """The simulator's grounded read of the same chip (an independent path to the device)."""
    return SimulatedBackend(Chip.from_seed(0), 1).read_cell(row, col, v_read_v=V_READ).current_a


def grounded_read(row, col, model="2400"):
    """drive on the selected row at the read bias, smu_hi (the 2400) on the selected column,
    every other line grounded."""
    circuit = BenchCircuit(BENCH, Chip.from_seed(0))
    wiring = BENCH.arrays[1]
    for i, pad in enumerate(wiring.rows):
        circuit.set_crosspoint(ROWS["drive"] if i == row else ROWS["ground"], pad, True)
    for j, pad in enumerate(wiring.cols):
        circuit.set_crosspoint(ROWS["smu_hi"] if j == col else ROWS["ground"], pad, True)
    circuit.set_level("drive", V_READ)
    emulator = Keithley2400Emulator(circuit, {"smu": "smu_hi"}, model=model)
    return circuit, emulator


def ask(emulator, line):
    emulator.write(line)
    return emulator.read()


@pytest.mark.parametrize(("row", "col"), [(3, 4), (14, 9)])
def test_the_driver_runs_its_role_and_reads_the_chips_device(row, col):
    circuit, emulator = grounded_read(row, col)
    smu = Keithley2400(EmulatorAdapter(emulator))
    smu.configure_voltage_source(compliance_current_a=1e-4, nplc=1)
    smu.set_voltage(0.0)  # the ammeter holds the column at 0 V
    smu.enable_output()
    assert circuit.levels["smu_hi"] == 0.0
    voltage, current = smu.measure()
    expected = expected_current_a(row, col)
    assert voltage == 0.0
    # the current flows from the driven row into the ammeter: out of HI is negative
    assert -current == pytest.approx(expected, rel=0.03)
    currents = smu.sweep_voltage_list([0.0, 0.05, 0.0])
    # the list is sourced point by point: at 0.05 V the device sees half the bias, so less flows
    # into the ammeter (and the column's other devices push some out of it)
    assert -currents[0] == pytest.approx(expected, rel=0.03)
    assert -currents[2] == pytest.approx(expected, rel=0.03)
    assert currents[1] > currents[0] + 0.3 * expected
    assert emulator.voltage_mode == "FIX" and emulator.trigger_count == 1
    smu.safe_state()
    received = emulator.received()
    assert received[received.index(":ABORT") + 1] == "OUTPUT 0"
    assert "OUTPUT 1" not in received[received.index(":ABORT") :]
    assert emulator.output_on is False
    assert circuit.levels["smu_hi"] is None  # NORMal off state: not driving the line
    # one reading and three list points, 1 NPLC at 50 Hz each
    assert emulator.clock.now_s >= 4 * 0.02


def test_pymeasures_driver_sources_a_voltage_and_measures_the_chips_device():
    """Acceptance: pymeasure's own Keithley2400, unchanged, on the emulator. The device's row
    is grounded, and the 2400 sources -0.1 V on its column with every other line held at
    -0.1 V too: the grounded read shifted by -0.1 V, so the same device current flows."""
    row, col = 3, 4
    circuit = BenchCircuit(BENCH, Chip.from_seed(0))
    wiring = BENCH.arrays[1]
    for i, pad in enumerate(wiring.rows):
        circuit.set_crosspoint(ROWS["ground"] if i == row else ROWS["drive"], pad, True)
    for j, pad in enumerate(wiring.cols):
        circuit.set_crosspoint(ROWS["smu_hi"] if j == col else ROWS["drive"], pad, True)
    circuit.set_level("drive", -V_READ)
    emulator = Keithley2400Emulator(circuit, {"smu": "smu_hi"})
    smu = PymeasureKeithley2400(EmulatorAdapter(emulator))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # pymeasure's deprecated helpers
        smu.apply_voltage(compliance_current=1e-3)
        smu.measure_current(nplc=1)
    smu.source_voltage = -V_READ
    smu.enable_source()
    current = smu.current
    assert smu.check_errors() == []
    resistance_ohm = -V_READ / current
    expected_ohm = V_READ / expected_current_a(row, col)
    assert resistance_ohm == pytest.approx(expected_ohm, rel=0.03)
    assert circuit.levels["smu_hi"] == -V_READ
    smu.disable_source()
    assert circuit.levels["smu_hi"] is None


def test_a_shorted_device_reads_the_compliance_with_the_compliance_bit():
    circuit, emulator = grounded_read(3, 4)
    circuit.arrays[1].array.defect[3, 4] = SHORTED  # 100 Ohm at 0.1 V: 1 mA, over 100 uA
    smu = Keithley2400(EmulatorAdapter(emulator))
    smu.configure_voltage_source(compliance_current_a=1e-4, nplc=0.1)
    smu.set_voltage(0.0)
    smu.enable_output()
    assert smu.measure() == (0.0, -1e-4)
    # the status element (manual: bit 3, Compliance) says so
    ask(emulator, ":READ?")
    status = int(float(emulator.transcript[-1].text.split(",")[-1]))
    assert status & (1 << 3)


def test_a_setting_the_model_refuses_reaches_the_queue_and_the_driver_raises():
    # a 2401 (21 V at most) on the 2400 driver: the protection level 210 V is out of its range
    circuit, emulator = grounded_read(3, 4, model="2401")
    smu = Keithley2400(EmulatorAdapter(emulator))
    with pytest.raises(InstrumentError, match=r"-222, Data out of range.*':SOUR:VOLT:PROT 210'"):
        smu.configure_voltage_source(1e-4, 1)
    smu.set_voltage(0.0)
    with pytest.raises(InstrumentError, match="output not turned on"):
        smu.enable_output()
    assert emulator.output_on is False
    # within its range it obeys: 20 V is one of its protection levels
    smu.configure_voltage_source(1e-4, 1, voltage_limit_v=20)
    assert ask(emulator, ":SOUR:VOLT:PROT?") == "2.000000E+01"


def test_a_level_beyond_the_range_is_refused_and_the_old_level_kept():
    _, emulator = grounded_read(3, 4)
    emulator.write(":SOUR:VOLT 1.5")
    emulator.write(":SOUR:VOLT 210.5")  # 2400: -210 V to 210 V
    assert ask(emulator, ":SOUR:VOLT?") == "1.500000E+00"
    assert ask(emulator, "SYST:ERR?") == '-222,"Data out of range"'
    assert ask(emulator, "SYST:ERR?") == '0,"No error"'


def test_a_reading_with_the_output_off_is_an_error_and_no_reply():
    # manual: "Measurements cannot be made while the source is off"
    circuit, emulator = grounded_read(3, 4)
    emulator.write(":READ?")
    with pytest.raises(EmulatorTimeout):
        emulator.read()
    assert ask(emulator, ":SYST:ERR?") == '+803,"Not permitted with OUTPUT off"'
    smu = Keithley2400(EmulatorAdapter(emulator))
    with pytest.raises(InstrumentError, match=r"measure\(\) refused: the output is off"):
        smu.measure()


def test_auto_output_off_turns_the_output_on_for_the_reading_only():
    circuit, emulator = grounded_read(3, 4)
    emulator.write(":SOUR:CLE:AUTO ON")
    reply = ask(emulator, ":READ?").split(",")
    assert len(reply) == 5
    assert -float(reply[1]) == pytest.approx(expected_current_a(3, 4), rel=0.03)
    assert ask(emulator, "OUTPUT?") == "0"
    assert circuit.levels["smu_hi"] is None


def test_measure_query_turns_the_output_on_and_leaves_it_on():
    # manual: :MEASure? is :CONFigure then :READ?; with auto output-off disabled the output stays
    circuit, emulator = grounded_read(3, 4)
    assert len(ask(emulator, ":MEAS:CURR?").split(",")) == 5
    assert ask(emulator, ":OUTP?") == "1"
    assert circuit.levels["smu_hi"] == 0.0


@pytest.mark.parametrize(
    ("sent", "held"),
    [("5", 20.0), ("20", 20.0), ("110", 100.0), ("-45", 40.0), ("160", 160.0), ("161", 210.0)],
)
def test_protection_levels_follow_the_manuals_selection(sent, held):
    # 2400 manual 18-81: between two levels the lower is selected, below the lowest the lowest,
    # above 160 V NONE (the full 210 V)
    _, emulator = grounded_read(3, 4)
    emulator.write(f":SOURCE:VOLTAGE:PROTECTION {sent}")
    assert float(ask(emulator, ":SOUR:VOLT:PROT:LEV?")) == held


def test_the_output_never_exceeds_the_protection_level():
    circuit, emulator = grounded_read(3, 4)
    for line in (":SOUR:VOLT:PROT 20", ":SOUR:VOLT 30", "OUTP ON"):
        emulator.write(line)
    assert circuit.levels["smu_hi"] == 20.0
    assert emulator.error_queue == type(emulator.error_queue)()


@pytest.mark.parametrize(
    "spelling",
    [":SOURce:VOLTage:LEVel 0.25", "sour:volt 0.25", ":SOURCE1:VOLTAGE:LEV:IMM:AMPL 0.25",
     "SOUR:VOLT:LEVEL 0.25"],
)  # fmt: skip
def test_long_and_short_forms_in_any_case(spelling):
    _, emulator = grounded_read(3, 4)
    emulator.write(spelling)
    assert float(ask(emulator, ":sour:volt?")) == 0.25
    assert not emulator.error_queue


@pytest.mark.parametrize(
    ("line", "code"),
    [
        (":SOUR:VOLTS 1", -113),  # neither the long nor the short form
        (":SOURC:VOLT 1", -113),
        (":SOUR:VOLT abc", -104),
        (":SOUR:VOLT", -109),
        (":OUTP:SMOD SOMETIMES", -141),
        (":SENS:CURR:NPLC 11", -222),
        (":SENS:CURR:PROT 2", -222),
        ("*IDN", -113),
    ],
)
def test_malformed_commands_queue_the_scpi_error(line, code):
    _, emulator = grounded_read(3, 4)
    emulator.write(line)
    assert emulator.error_queue[0][0] == code
    assert ask(emulator, "*IDN?").startswith("KEITHLEY INSTRUMENTS INC.,MODEL 2400,")


_, FUZZED = grounded_read(3, 4)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_any_line_is_answered_or_refused_never_a_crash(line):
    replies = FUZZED.handle(line)
    assert all(isinstance(reply, str) for reply in replies)


def test_pymeasure_element_format_is_kept_and_changed():
    _, emulator = grounded_read(3, 4)
    emulator.write(":FORM:ELEM CURR, TIME")
    emulator.write("OUTPUT 1")
    values = ask(emulator, ":READ?").split(",")
    assert len(values) == 2
    assert float(values[1]) == pytest.approx(emulator.clock.now_s)
    assert ask(emulator, ":FORM:ELEM?") == "CURR,TIME"


def test_an_instrument_without_a_terminal_drives_nothing():
    circuit = BenchCircuit(BENCH, Chip.from_seed(0))
    emulator = Keithley2400Emulator(circuit, {})
    emulator.write("OUTP 1")
    assert float(ask(emulator, ":READ?").split(",")[1]) == 0.0
    assert all(level is None for level in circuit.levels.values())
    assert emulator.clock is circuit.clock


def test_a_trigger_count_list_cycles_through_the_list():
    circuit, emulator = grounded_read(3, 4)
    for line in ("OUTP 1", ":SOUR:VOLT:MODE LIST", ":SOUR:LIST:VOLT 0,0.05", ":TRIG:COUN 4"):
        emulator.write(line)
    values = np.array(ask(emulator, ":READ?").split(","), dtype=float).reshape(4, 5)
    np.testing.assert_array_equal(values[:, 0], [0.0, 0.05, 0.0, 0.05])
    assert circuit.levels["smu_hi"] == 0.0  # back at the fixed level
