"""The emulated 33500B: mtjlab's driver writes a V/2 pulse through it onto the chip, a refused
setting keeps the output off, an output left running free switches devices, and the SCPI it
speaks is the 33500 Series Operating and Service Guide's (limits below are the guide's)."""

import numpy as np
import pytest

from mtjlab.bench.file import builtin_bench_path, load_bench
from mtjlab.instruments.keysight33500b import Keysight33500B
from mtjlab.instruments.roles import InstrumentError
from mtjlab.sim.chip import Chip
from mtjlab.sim.emulators.base import EmulatorAdapter, VirtualClock
from mtjlab.sim.emulators.circuit import BenchCircuit
from mtjlab.sim.emulators.keysight33500b import Keysight33500BEmulator

BENCH = load_bench(builtin_bench_path())
SELECTED = (7, 7)
WIDTH_S = 100e-9


def v_half_circuit():
    """Array 1 all parallel; pulse on the selected row, ground on the selected column, hold on
    every other line (the crosspoints of test_emu_circuit.py's V/2 test)."""
    c = BenchCircuit(BENCH, Chip.from_seed(0), VirtualClock())
    c.arrays[1].array.state[...] = 0
    wiring = BENCH.arrays[1]
    for i, pad in enumerate(wiring.rows):
        c.set_crosspoint("D" if i == SELECTED[0] else "E", pad, True)
    for j, pad in enumerate(wiring.cols):
        c.set_crosspoint("F" if j == SELECTED[1] else "E", pad, True)
    return c


def changed_cells(c, before):
    return np.argwhere(c.arrays[1].array.state != before).tolist()


def ask(emulator, line):
    emulator.write(line)
    return emulator.read()


def errors(emulator):
    """Read the error queue empty over the wire; the entries it held."""
    found = []
    while (reply := ask(emulator, "SYST:ERR?")) not in ('+0,"No error"', '0,"No error"'):
        found.append(reply)
    return found


def write_v_half(emulator, driver):
    """Both outputs through mtjlab's driver: the V/2 write scheme, armed and fired once."""
    pulse = driver(EmulatorAdapter(emulator), channel=1)
    hold = driver(EmulatorAdapter(emulator), channel=2)
    pulse.configure_pulse(amplitude_v=0.65, width_s=WIDTH_S, polarity="positive")
    hold.configure_pulse(amplitude_v=0.325, width_s=WIDTH_S, polarity="positive")
    pulse.arm()
    hold.arm()
    pulse.fire()
    return pulse, hold


def output_commands(emulator, on):
    """The output-state commands received that turn an output on (``on``) or off."""
    states = ("1", "ON") if on else ("0", "OFF")
    return [
        line
        for line in emulator.received()
        if line.split()[0].upper().lstrip(":") in ("OUTP1", "OUTP2") and line.split()[-1] in states
    ]


def time_of(emulator, text):
    return next(e.time_s for e in emulator.transcript if e.direction == "in" and e.text == text)


# -- the driver on the emulator ----------------------------------------------------------------


def test_a_v_half_write_through_the_driver_switches_the_selected_cell_only():
    c = v_half_circuit()
    emu = Keysight33500BEmulator(c, {1: "pulse", 2: "hold"})
    before = c.arrays[1].array.state.copy()
    pulse, hold = write_v_half(emu, Keysight33500B)

    assert changed_cells(c, before) == [list(SELECTED)]
    assert c.pulses == 1  # both outputs in one circuit pulse
    assert emu.triggered_pulses == {1: 1, 2: 1}
    assert emu.free_running == set()
    # *TRG took at least the width (and the latency) beyond the command's own latency
    took = time_of(emu, "*OPC?") - time_of(emu, "*TRG")
    assert took >= emu.command_latency_s + WIDTH_S

    pulse.safe_state()
    hold.safe_state()
    assert output_commands(emu, on=False)[-2:] == ["OUTP1 0", "OUTP2 0"]
    assert c.levels["pulse"] is None and c.levels["hold"] is None
    assert list(emu.error_queue) == []


def test_outputs_armed_by_the_driver_rest_at_0_v_on_their_terminals():
    c = v_half_circuit()
    emu = Keysight33500BEmulator(c, {1: "pulse", 2: "hold"})
    pulse = Keysight33500B(EmulatorAdapter(emu), channel=1)
    pulse.configure_pulse(amplitude_v=0.65, width_s=WIDTH_S, polarity="negative")
    assert c.levels["pulse"] is None  # off until armed
    pulse.arm()
    assert c.levels["pulse"] == pytest.approx(0.0, abs=1e-12)
    assert emu.outputs[1].peak_level_v == pytest.approx(-0.65)


def test_a_raw_amplitude_above_the_limit_is_refused_and_the_driver_never_turns_the_output_on():
    c = v_half_circuit()
    emu = Keysight33500BEmulator(c, {1: "pulse", 2: "hold"})
    pulse = Keysight33500B(EmulatorAdapter(emu), channel=1)
    pulse.configure_pulse(amplitude_v=0.65, width_s=WIDTH_S)
    emu.write("SOUR1:VOLT 10.5")  # above 10 Vpp into 50 Ohm
    with pytest.raises(InstrumentError, match=r"-222, Data out of range"):
        pulse.arm()
    assert ask(emu, "SOUR1:VOLT?") == "+6.500000000000000E-01"  # the old value kept
    assert output_commands(emu, on=True) == []
    assert c.levels["pulse"] is None


def test_an_injected_error_makes_arm_raise_with_the_output_off():
    c = v_half_circuit()
    emu = Keysight33500BEmulator(c, {1: "pulse", 2: "hold"})
    pulse = Keysight33500B(EmulatorAdapter(emu), channel=1)
    pulse.configure_pulse(amplitude_v=0.65, width_s=WIDTH_S)
    emu.faults.errors = [(-221, "Settings conflict")]
    with pytest.raises(InstrumentError, match=r"-221, Settings conflict"):
        pulse.arm()
    assert output_commands(emu, on=True) == []
    assert c.levels["pulse"] is None


# -- free running ------------------------------------------------------------------------------


def test_an_output_left_on_in_continuous_mode_runs_free_and_switches_the_device():
    c = v_half_circuit()
    emu = Keysight33500BEmulator(c, {1: "pulse", 2: "hold"})
    before = c.arrays[1].array.state.copy()
    for line in [
        "SOUR1:FUNC PULS",
        "SOUR1:FUNC:PULS:WIDT 100E-9",
        "SOUR1:FUNC:PULS:PER 1E-6",
        "SOUR1:VOLT 0.65",
        "SOUR1:VOLT:OFFS 0.325",
        "OUTP1 ON",  # burst off: a pulse train
    ]:
        emu.write(line)
    assert emu.free_running == {1}
    assert c.pulses == 0
    emu.write("*CLS")  # 1 ms of bench time passes: a thousand periods
    assert emu.free_running_pulses[1] >= 1000
    assert c.pulses >= 1
    assert list(SELECTED) in changed_cells(c, before)
    # a triggered burst on BUS stops the train; the burst alone does not
    emu.write("SOUR1:BURS:STAT ON")
    assert emu.free_running == {1}
    emu.write("TRIG1:SOUR BUS")
    assert emu.free_running == set()
    count = emu.free_running_pulses[1]
    emu.write("*CLS")
    assert emu.free_running_pulses[1] == count


def test_a_level_off_0_v_makes_the_terminal_live_for_the_relay_record():
    c = v_half_circuit()
    emu = Keysight33500BEmulator(c, {1: "pulse"})
    emu.write("SOUR1:VOLT 1;VOLT:OFFS 0")  # rests at -0.5 V
    emu.write("OUTP1 ON")
    assert c.levels["pulse"] == pytest.approx(-0.5)
    c.set_crosspoint("D", BENCH.arrays[2].rows[0], True)
    assert c.relay_changes[-1].live == ("pulse",)


# -- SCPI --------------------------------------------------------------------------------------


@pytest.fixture
def emu():
    return Keysight33500BEmulator(v_half_circuit(), {1: "pulse", 2: "hold"})


@pytest.mark.parametrize(
    ("command", "query", "reply"),
    [
        ("OUTP1:LOAD INF", "OUTP1:LOAD?", "+9.900000000000000E+37"),
        ("output2:load infinity", "OUTPut2:LOAD?", "+9.900000000000000E+37"),
        ("OUTPut1:LOAD 50", "outp1:load?", "+5.000000000000000E+01"),
        ("SOURce2:FUNCtion:SHAPe PULSe", None, None),  # the 33500B has no FUNC:SHAPe
        ("SOURce2:FUNCtion PULSe", "SOUR2:FUNC?", "PULS"),
        ("sour1:func:puls:widt 200 ns", "SOUR1:FUNC:PULS:WIDT?", "+2.000000000000000E-07"),
        ("FUNC:PULS:TRAN:BOTH 8.4E-9", "SOUR1:FUNC:PULS:TRAN?", "+8.400000000000000E-09"),
        ("SOUR1:VOLTage:UNIT VPP", "SOUR1:VOLT:UNIT?", "VPP"),
        ("SOUR1:VOLT:LEV:IMM:AMPL 2", "VOLT?", "+2.000000000000000E+00"),
        ("OUTP2:POL INVerted", "OUTP2:POLarity?", "INV"),
        ("SOUR2:BURSt:MODE TRIGgered", "SOUR2:BURS:MODE?", "TRIG"),
        ("SOUR2:BURS:NCYC 3", "SOUR2:BURS:NCYC?", "+3.000000000000000E+00"),
        ("SOUR2:BURS:STATe ON", "SOUR2:BURS:STAT?", "1"),
        ("TRIGger2:SOURce BUS", "TRIG2:SOUR?", "BUS"),
        ("OUTP1 ON", "OUTP1:STATe?", "1"),
        ("SOUR1:FUNC:PULS:HOLD WIDTh", "SOUR1:FUNC:PULS:HOLD?", "WIDT"),
    ],
)
def test_short_and_long_forms_in_any_case(emu, command, query, reply):
    emu.write(command)
    if reply is None:
        assert errors(emu) == ['-113,"Undefined header"']
        return
    assert ask(emu, query) == reply
    assert errors(emu) == []


def test_a_compound_message_continues_the_previous_path(emu):
    emu.write("SOUR1:FUNC PULS;:SOUR1:VOLT 1.5;VOLT:OFFS 0.2;*CLS")
    assert ask(emu, "SOUR1:VOLT:OFFS?") == "+2.000000000000000E-01"
    assert ask(emu, "SOUR1:VOLT?") == "+1.500000000000000E+00"
    assert errors(emu) == []


@pytest.mark.parametrize(
    ("command", "error"),
    [
        ("SOUR1:FOO 1", '-113,"Undefined header"'),
        ("OUTP1:LOADS 50", '-113,"Undefined header"'),
        ("*FOO", '-113,"Undefined header"'),
        ("%$#", '-102,"Syntax error"'),
        ("SOUR3:VOLT 1", '-114,"Header suffix out of range"'),
        ("OUTP1", '-109,"Missing parameter"'),
        ("OUTP1 1,2", '-108,"Parameter not allowed"'),
        ("OUTP1 MAYBE", '-104,"Data type error"'),
        ("OUTP1:POL SIDEWAYS", '-224,"Illegal parameter value"'),
        ("SOUR1:VOLT abc", '-104,"Data type error"'),
        ("*TRG", '-211,"Trigger ignored"'),  # no output in a triggered burst on BUS
    ],
)
def test_malformed_or_unknown_commands_push_their_error(emu, command, error):
    emu.write(command)
    assert errors(emu) == [error]


@pytest.mark.parametrize(
    ("setting", "query", "accepted", "refused", "held"),
    [
        # 10 Vpp into 50 Ohm, 20 Vpp into an open circuit (guide)
        ("SOUR1:VOLT", "SOUR1:VOLT?", "10", "10.01", "+1.000000000000000E-01"),
        # pulse width from 16 ns (guide)
        (
            "SOUR1:FUNC:PULS:WIDT",
            "SOUR1:FUNC:PULS:WIDT?",
            "16E-9",
            "15E-9",
            "+1.000000000000000E-04",
        ),
        # edges from 8.4 ns (guide) to 1 us
        ("SOUR1:FUNC:PULS:TRAN", "SOUR1:FUNC:PULS:TRAN?", "1E-6", "8E-9", "+1.000000000000000E-08"),
        # output termination 1 Ohm to 10 kOhm (guide)
        ("OUTP1:LOAD", "OUTP1:LOAD?", "10000", "20000", "+5.000000000000000E+01"),
    ],
)
def test_out_of_range_values_push_222_and_keep_the_old_value(
    emu, setting, query, accepted, refused, held
):
    emu.write(f"{setting} {refused}")
    assert errors(emu) == ['-222,"Data out of range"']
    assert ask(emu, query) == held
    emu.write(f"{setting} {accepted}")
    assert errors(emu) == []


def test_into_an_open_circuit_the_amplitude_may_reach_20_vpp(emu):
    emu.write("OUTP1:LOAD INF;:SOUR1:VOLT 20")
    assert errors(emu) == []
    emu.write("SOUR1:VOLT 20.5")
    assert errors(emu) == ['-222,"Data out of range"']


def test_a_width_that_does_not_fit_the_period_is_a_settings_conflict(emu):
    emu.write("SOUR1:FUNC:PULS:WIDT 100E-9;PER 1E-6")
    assert errors(emu) == []
    emu.write("SOUR1:FUNC:PULS:WIDT 990E-9")  # must stay 16 ns below the period
    assert errors(emu) == ['-221,"Settings conflict"']
    assert ask(emu, "SOUR1:FUNC:PULS:WIDT?") == "+1.000000000000000E-07"
    emu.write("SOUR1:FUNC:PULS:PER 110E-9")  # too short for the 100 ns width
    assert errors(emu) == ['-221,"Settings conflict"']
    assert ask(emu, "SOUR1:FUNC:PULS:PER?") == "+1.000000000000000E-06"
    emu.write("SOUR1:FUNC:PULS:WIDT 984E-9")
    assert errors(emu) == []


def test_levels_beyond_the_window_are_refused(emu):
    emu.write("SOUR1:VOLT 8")
    emu.write("SOUR1:VOLT:OFFS 1.5")  # 1.5 + 4 > 5 V into 50 Ohm
    assert errors(emu) == ['-222,"Data out of range"']
    emu.write("SOUR1:VOLT:OFFS 1;:SOUR1:VOLT 9")  # 1 + 4.5 > 5 V
    assert errors(emu) == ['-221,"Settings conflict"']
    assert ask(emu, "SOUR1:VOLT?") == "+8.000000000000000E+00"


def test_a_new_load_rescales_the_displayed_levels(emu):
    # guide: 10 Vpp at 50 Ohm reads 20 Vpp after OUTP:LOAD INF, the output unchanged
    emu.write("SOUR1:VOLT 10")
    emu.write("OUTP1:LOAD INF")
    assert ask(emu, "SOUR1:VOLT?") == "+2.000000000000000E+01"
    emu.write("OUTP1:LOAD 50")
    assert ask(emu, "SOUR1:VOLT?") == "+1.000000000000000E+01"


def test_common_commands(emu):
    assert ask(emu, "*IDN?").split(",")[1] == "33522B"
    emu.write("SOUR1:FOO")
    emu.write("*CLS")
    assert ask(emu, "SYST:ERR?") == '+0,"No error"'
    assert ask(emu, "*OPC?") == "1"
    emu.write("OUTP1 ON")
    emu.write("*RST")
    assert ask(emu, "OUTP1?") == "0"
    assert emu.circuit.levels["pulse"] is None


def test_an_output_without_a_terminal_drives_nothing():
    c = v_half_circuit()
    emu = Keysight33500BEmulator(c, {1: "pulse"})
    emu.write("OUTP2 ON")
    emu.write("*CLS")
    assert emu.free_running == {2}
    assert c.levels["hold"] is None
    assert c.pulses == 0


def test_a_terminal_the_bench_does_not_have_is_refused():
    with pytest.raises(ValueError, match="'nowhere', which is not a source terminal"):
        Keysight33500BEmulator(v_half_circuit(), {1: "nowhere"})
