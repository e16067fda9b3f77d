"""The emulated 2450 against mtjlab's driver on the built-in bench's chip: readings are the
simulator's, a sweep stops at the current limit, refusals reach the error queue."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mtjlab.bench.file import builtin_bench_path, load_bench
from mtjlab.instruments.keithley2450 import Keithley2450
from mtjlab.instruments.roles import InstrumentError
from mtjlab.sim.backend import SimulatedBackend
from mtjlab.sim.chip import SHORTED, Chip
from mtjlab.sim.emulators.base import EmulatorAdapter
from mtjlab.sim.emulators.circuit import BenchCircuit
from mtjlab.sim.emulators.keithley2450 import Keithley2450Emulator

BENCH = load_bench(builtin_bench_path())
ROWS = {t.name: t.matrix_row for t in BENCH.terminals.values()}
V_READ = 0.1


def expected_current_a(row, col):
    return SimulatedBackend(Chip.from_seed(0), 1).read_cell(row, col, v_read_v=V_READ).current_a


def grounded_read(row, col, **kwargs):
    """drive on the selected row at the read bias, smu_hi (the 2450) on the selected column,
    every other line grounded."""
    circuit = BenchCircuit(BENCH, Chip.from_seed(0))
    wiring = BENCH.arrays[1]
    for i, pad in enumerate(wiring.rows):
        circuit.set_crosspoint(ROWS["drive"] if i == row else ROWS["ground"], pad, True)
    for j, pad in enumerate(wiring.cols):
        circuit.set_crosspoint(ROWS["smu_hi"] if j == col else ROWS["ground"], pad, True)
    circuit.set_level("drive", V_READ)
    return circuit, Keithley2450Emulator(circuit, {"smu": "smu_hi"}, **kwargs)


def ask(emulator, line):
    emulator.write(line)
    return emulator.read()


@pytest.mark.parametrize(("row", "col"), [(0, 0), (7, 12)])
def test_the_driver_runs_its_role_and_reads_the_chips_device(row, col):
    circuit, emulator = grounded_read(row, col)
    smu = Keithley2450(EmulatorAdapter(emulator))
    smu.configure_voltage_source(compliance_current_a=1e-4, nplc=2)
    smu.set_voltage(0.0)
    smu.enable_output()
    assert circuit.levels["smu_hi"] == 0.0
    expected = expected_current_a(row, col)
    voltage, current = smu.measure()
    assert voltage == 0.0
    assert -current == pytest.approx(expected, rel=0.03)
    currents = smu.sweep_voltage_list([0.0, 0.05, 0.0])
    assert -currents[0] == pytest.approx(expected, rel=0.03)
    assert -currents[2] == pytest.approx(expected, rel=0.03)
    assert currents[1] > currents[0] + 0.3 * expected  # half the bias across the device
    # the sweep left its source values in the buffer, and the level at 0 V
    assert [s for _, s, _ in emulator.buffers["defbuffer1"]] == [0.0, 0.05, 0.0]
    assert emulator.level_v == 0.0
    smu.safe_state()
    received = emulator.received()
    assert received[received.index(":ABOR") + 1] == ":OUTP 0"
    assert ":OUTP 1" not in received[received.index(":ABOR") :]
    assert circuit.levels["smu_hi"] is None
    # one reading and three sweep points at 2 NPLC, 50 Hz
    assert emulator.clock.now_s >= 4 * 2 / 50


def test_a_sweep_into_a_shorted_device_stops_at_the_limit_as_the_driver_expects():
    circuit, emulator = grounded_read(3, 4)
    circuit.set_level("drive", 0.0)  # the ammeter column is now what drives the device
    circuit.arrays[1].array.defect[3, 4] = SHORTED  # 100 Ohm
    smu = Keithley2450(EmulatorAdapter(emulator))
    smu.configure_voltage_source(compliance_current_a=1e-4, nplc=1)
    smu.set_voltage(0.0)
    smu.enable_output()
    # 1 mV through 100 Ohm is 10 uA; 50 mV is 500 uA, over the 100 uA limit
    with pytest.raises(InstrumentError) as info:
        smu.sweep_voltage_list([0.001, 0.05, 0.001])
    message = str(info.value)
    assert "compliance: the current limit of 0.0001 A was reached by point 2 of 3" in message
    assert "1 reading(s) stored" in message
    assert len(emulator.buffers["defbuffer1"]) == 1
    # a single reading in limit reads the limit
    smu.set_voltage(0.05)
    assert smu.measure() == (0.05, 1e-4)


def test_a_value_out_of_range_is_refused_queued_and_raised_by_the_driver():
    _, emulator = grounded_read(3, 4)
    smu = Keithley2450(EmulatorAdapter(emulator))
    smu.source_voltage = 1.5
    smu.write(":SOUR:VOLT 250")  # past the driver's check: the 2450 sources -210 V to 210 V
    with pytest.raises(InstrumentError, match="-222, Parameter data out of range"):
        smu.check_errors()
    assert smu.source_voltage == 1.5
    smu.write(":SOUR:VOLT:ILIM 2")  # 1.05 A at most
    with pytest.raises(InstrumentError, match="-222"):
        smu.check_errors()


def test_an_instrument_left_in_another_command_set_is_refused_by_the_driver():
    _, emulator = grounded_read(3, 4, language="TSP")
    smu = Keithley2450(EmulatorAdapter(emulator))
    with pytest.raises(InstrumentError, match="obeys the 'TSP' command set"):
        smu.configure_voltage_source(1e-4, 1)
    assert emulator.received() == ["*LANG?"]
    emulator.write(":OUTP 1")
    assert emulator.error_queue[-1][0] == -113
    assert emulator.output_on is False


def test_a_reading_with_the_output_off_is_taken_with_the_off_state():
    # the 2450 measures with the output off; NORMal leaves the column floating, so nothing flows
    circuit, emulator = grounded_read(3, 4)
    current = float(ask(emulator, ':READ? "defbuffer1",READ'))
    assert abs(current) < 1e-3 * expected_current_a(3, 4)
    assert circuit.levels["smu_hi"] is None
    emulator.write(":OUTP:VOLT:SMOD ZERO")  # ZERO holds the column at 0 V: the device reads
    assert -float(ask(emulator, ":MEAS:CURR?")) == pytest.approx(expected_current_a(3, 4), rel=0.03)


@pytest.mark.parametrize(
    ("protection", "level", "held"), [("PROT2", 5.0, 2.0), ("PROT5", -7.0, -5.0), ("NONE", 7, 7)]
)
def test_the_output_never_exceeds_the_protection_level(protection, level, held):
    circuit, emulator = grounded_read(3, 4)
    for line in (f":SOUR:VOLT:PROT {protection}", f":SOUR:VOLT {level}", ":OUTP ON"):
        emulator.write(line)
    assert circuit.levels["smu_hi"] == held
    assert ask(emulator, ":SOUR:VOLT:PROT:TRIP?") == ("1" if held != level else "0")


def test_buffer_queries_give_the_elements_asked_for():
    _, emulator = grounded_read(3, 4)
    for line in (":OUTP 1", ":SOUR:LIST:VOLT 0,0.02", ":SOUR:SWE:VOLT:LIST 1,0,2", ":INIT"):
        emulator.write(line)
    assert ask(emulator, ':TRAC:ACT? "defbuffer1"') == "4"
    values = np.array(ask(emulator, ':TRAC:DATA? 1,4,"defbuffer1",SOUR,READ').split(","))
    np.testing.assert_array_equal(values.astype(float).reshape(4, 2)[:, 0], [0, 0.02, 0, 0.02])
    emulator.write(':TRAC:CLE "defbuffer1"')
    assert ask(emulator, ":TRAC:ACT?") == "0"


@pytest.mark.parametrize(
    ("line", "code"),
    [
        (":SOUR:VOLTAG 1", -113),
        (":SOUR:VOLT:PROT PROT3", -141),
        (":SENS:FUNC CURR", -104),  # a string parameter must be quoted
        (":SENS:CURR:NPLC 0.001", -222),
        (':TRAC:ACT? "mybuffer"', -222),
        (":SOUR:SWE:VOLT:LIST 1,0,1,ON", -221),  # no list to sweep
    ],
)
def test_malformed_commands_queue_the_scpi_error(line, code):
    _, emulator = grounded_read(3, 4)
    emulator.write(line)
    assert emulator.error_queue[0][0] == code
    reply = ask(emulator, "SYST:ERR?")
    assert reply.startswith(f'{code},"') and ";1;2024/01/01 " in reply
    assert ask(emulator, "SYST:ERR?") == '0,"No error;0;0 0"'


def test_long_and_short_forms_in_any_case():
    _, emulator = grounded_read(3, 4)
    emulator.write(":sense:current:nplcycles 0.5;:SOURCE1:VOLTAGE:ILIMIT:LEVEL 0.002")
    assert ask(emulator, ":SENS1:CURR:DC:NPLC?") == "5.000000E-01"
    assert ask(emulator, ":sour:volt:ilim?") == "2.000000E-03"
    assert not emulator.error_queue


_, FUZZED = grounded_read(3, 4)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_any_line_is_answered_or_refused_never_a_crash(line):
    assert all(isinstance(reply, str) for reply in FUZZED.handle(line))
