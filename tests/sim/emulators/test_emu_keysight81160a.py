"""The emulated 81160A and 81150A: mtjlab's drivers write a V/2 pulse through them onto the chip,
a refused setting keeps the output off, an output left running free switches devices, and the
SCPI they speak is the 81150A and 81160A User's Guide's (limits below are the guide's, or
pymeasure's table for the 81160A where the guide's page was not at hand)."""

import pytest
from test_emu_keysight33500b import (
    SELECTED,
    WIDTH_S,
    ask,
    changed_cells,
    errors,
    output_commands,
    time_of,
    v_half_circuit,
    write_v_half,
)

from mtjlab.instruments.keysight81150a import Keysight81150A
from mtjlab.instruments.keysight81160a import Keysight81160A
from mtjlab.instruments.roles import InstrumentError
from mtjlab.sim.emulators.base import EmulatorAdapter
from mtjlab.sim.emulators.keysight81160a import Keysight81150AEmulator, Keysight81160AEmulator

MODELS = {
    "81160A": (Keysight81160AEmulator, Keysight81160A),
    "81150A": (Keysight81150AEmulator, Keysight81150A),
}


@pytest.fixture(params=MODELS)
def model(request):
    return MODELS[request.param]


# -- the driver on the emulator ----------------------------------------------------------------


def test_a_v_half_write_through_the_driver_switches_the_selected_cell_only(model):
    emulator, driver = model
    c = v_half_circuit()
    emu = emulator(c, {1: "pulse", 2: "hold"})
    before = c.arrays[1].array.state.copy()
    pulse, hold = write_v_half(emu, driver)

    assert changed_cells(c, before) == [list(SELECTED)]
    assert c.pulses == 1
    assert emu.triggered_pulses == {1: 1, 2: 1}
    assert emu.free_running == set()
    took = time_of(emu, "*OPC?") - time_of(emu, "*TRG")
    assert took >= emu.command_latency_s + WIDTH_S
    assert ask(emu, ":TRAC:CHAN1?") == "0"  # the driver forced coupling off

    pulse.safe_state()
    hold.safe_state()
    assert output_commands(emu, on=False)[-2:] == ["OUTP1 0", "OUTP2 0"]
    assert c.levels["pulse"] is None and c.levels["hold"] is None
    assert list(emu.error_queue) == []


def test_a_raw_amplitude_above_the_limit_is_refused_and_the_driver_never_turns_the_output_on(
    model,
):
    emulator, driver = model
    c = v_half_circuit()
    emu = emulator(c, {1: "pulse", 2: "hold"})
    pulse = driver(EmulatorAdapter(emu), channel=1)
    pulse.configure_pulse(amplitude_v=0.65, width_s=WIDTH_S)
    emu.write(":VOLT1 5.5")  # above 5 Vpp into 50 Ohm
    with pytest.raises(InstrumentError, match=r"-222, Data out of range"):
        pulse.arm()
    assert ask(emu, ":VOLT1?") == "+6.50000000000000E-01"
    assert output_commands(emu, on=True) == []
    assert c.levels["pulse"] is None


def test_an_injected_error_makes_arm_raise_with_the_output_off(model):
    emulator, driver = model
    c = v_half_circuit()
    emu = emulator(c, {1: "pulse", 2: "hold"})
    hold = driver(EmulatorAdapter(emu), channel=2)
    hold.configure_pulse(amplitude_v=0.325, width_s=WIDTH_S)
    emu.faults.errors = [(-221, "Settings conflict")]
    with pytest.raises(InstrumentError, match=r"-221, Settings conflict"):
        hold.arm()
    assert output_commands(emu, on=True) == []
    assert c.levels["hold"] is None


def test_coupling_left_on_would_copy_output_1_to_output_2(model):
    emulator, _ = model
    emu = emulator(v_half_circuit(), {1: "pulse", 2: "hold"})
    emu.write(":TRAC:CHAN1 ON")
    emu.write(":VOLT1 1.2;:PULS:WIDT1 20E-9;:OUTP1 ON")
    assert ask(emu, ":VOLT2?") == "+1.20000000000000E+00"
    assert ask(emu, ":PULS:WIDT2?") == "+2.00000000000000E-08"
    assert ask(emu, "OUTP2?") == "0"  # the on/off state is each output's own
    emu.write(":TRAC:CHAN1 OFF;:VOLT1 2")
    assert ask(emu, ":VOLT2?") == "+1.20000000000000E+00"


# -- free running ------------------------------------------------------------------------------


def test_an_output_left_on_with_immediate_arming_runs_free_and_switches_the_device(model):
    emulator, _ = model
    c = v_half_circuit()
    emu = emulator(c, {1: "pulse", 2: "hold"})
    before = c.arrays[1].array.state.copy()
    for line in [
        ":FUNC1 PULS",
        ":PULS:WIDT1 100E-9",
        ":PULS:PER1 1E-6",
        ":VOLT1 0.65",
        ":VOLT1:OFFS 0.325",
        ":ARM:SOUR1 IMM",
        "OUTP1 1",
    ]:
        emu.write(line)
    assert emu.free_running == {1}
    emu.write("*CLS")  # 1 ms of bench time: a thousand periods
    assert emu.free_running_pulses[1] >= 1000
    assert list(SELECTED) in changed_cells(c, before)
    emu.write(":ARM:SOUR1 MAN")  # waits for *TRG: the train stops
    assert emu.free_running == set()
    emu.write(":ARM:SOUR1 INT2")  # the internal PLL triggers it again
    assert emu.free_running == {1}


def test_a_trigger_count_fires_that_many_pulses(model):
    emulator, _ = model
    c = v_half_circuit()
    emu = emulator(c, {1: "pulse"})
    emu.write(":FUNC1 PULS;:ARM:SOUR1 MAN;:TRIG1:COUN 3;:OUTP1 ON")
    start = emu.clock.now_s
    emu.write("*TRG")
    assert emu.triggered_pulses[1] == 3
    assert c.pulses == 3
    # two periods and a width after the latency (defaults: 1 us period, 100 ns width)
    assert emu.clock.now_s - start >= emu.command_latency_s + 2 * 1e-6 + 100e-9


# -- SCPI --------------------------------------------------------------------------------------


@pytest.fixture
def emu(model):
    return model[0](v_half_circuit(), {1: "pulse", 2: "hold"})


@pytest.mark.parametrize(
    ("command", "query", "reply"),
    [
        (":OUTP2:LOAD 1E6", ":OUTP2:LOAD?", "+1.00000000000000E+06"),
        (":outp1:load 50", ":OUTPut1:LOAD?", "+5.00000000000000E+01"),
        (":SOURce:FUNCtion2:SHAPe PULSe", ":FUNC2?", "PULS"),
        (":VOLTage2:UNIT VPP", ":VOLT2:UNIT?", "VPP"),
        (":PULSe:HOLD1 WIDTh", ":PULS:HOLD1?", "WIDT"),
        (":PULS:TRANsition1:LEADing 3E-9", ":PULS:TRAN1?", "+3.00000000000000E-09"),
        (":PULS:TRAN1:TRAiling 4 NS", ":PULS:TRAN1:TRA?", "+4.00000000000000E-09"),
        (":pulse:width2 50e-9", ":PULS:WIDT2?", "+5.00000000000000E-08"),
        (":VOLT1:OFFS -0.5", ":VOLT1:OFFSet?", "-5.00000000000000E-01"),
        (":OUTPut2:POLarity INV", ":OUTP2:POL?", "INV"),
        (":ARM:SOURce2 MANual", ":ARM:SOUR2?", "MAN"),
        (":TRIGger1:COUNt 5", ":TRIG1:COUN?", "5"),
        (":TRACk:CHANnel1 1", ":TRAC:CHAN1?", "1"),
        ("OUTP2 ON", "OUTP2?", "1"),
    ],
)
def test_short_and_long_forms_in_any_case(emu, command, query, reply):
    emu.write(command)
    assert ask(emu, query) == reply
    assert errors(emu) == []


@pytest.mark.parametrize(
    ("command", "error"),
    [
        (":PULS:WOBBLE1 1", '-113,"Undefined header"'),
        (":SOUR1:FUNC PULS", '-113,"Undefined header"'),  # the suffix goes on FUNC here
        (":VOLT3 1", '-114,"Header suffix out of range"'),
        (":ARM:SOUR1 NEVER", '-224,"Illegal parameter value"'),
        (":TRIG1:COUN 0", '-222,"Data out of range"'),
        ("*TRG", '-211,"Trigger ignored"'),  # no output armed manually
    ],
)
def test_malformed_or_unknown_commands_push_their_error(emu, command, error):
    emu.write(command)
    assert errors(emu) == [error]


@pytest.mark.parametrize(
    ("model_name", "edge", "too_short_period"),
    [("81160A", 1e-9, "3.0E-9"), ("81150A", 2.5e-9, "8.3E-9")],
)
def test_each_models_shortest_period(model_name, edge, too_short_period):
    # guide 3.4.1: from 3.03 ns (81160A) or 8.33 ns (81150A), and period >= width + 1.6 x edge
    emu = MODELS[model_name][0](v_half_circuit(), {1: "pulse"})
    emu.write(f":PULS:TRAN1 {edge:e};:PULS:TRAN1:TRA {edge:e};:PULS:WIDT1 5E-9")
    assert errors(emu) == []
    emu.write(f":PULS:PER1 {too_short_period}")
    assert errors(emu) == ['-222,"Data out of range"']
    tightest = 5e-9 + 1.6 * edge
    emu.write(f":PULS:PER1 {tightest * 0.999:e}")
    assert errors(emu) == ['-221,"Settings conflict"']
    emu.write(f":PULS:PER1 {tightest * 1.001:e}")
    assert errors(emu) == []


def test_a_period_shorter_than_width_and_edges_is_a_settings_conflict(emu):
    emu.write(":PULS:WIDT1 500E-9")
    emu.write(":PULS:PER1 501E-9")  # 500 ns + 1.6 x the edge does not fit
    assert errors(emu) == ['-221,"Settings conflict"']
    assert ask(emu, ":PULS:PER1?") == "+1.00000000000000E-06"
    emu.write(":PULS:WIDT1 1E-6")  # no room for the edges in the 1 us period
    assert errors(emu) == ['-221,"Settings conflict"']
    assert ask(emu, ":PULS:WIDT1?") == "+5.00000000000000E-07"


def test_amplitude_limits_at_50_ohm_and_1_mohm(emu):
    # 81160A: 50 mVpp to 5 Vpp into 50 Ohm (pymeasure's table); levels within +-5 V
    emu.write(":VOLT1 5")
    assert errors(emu) == []
    emu.write(":VOLT1 0.04")
    assert errors(emu) == ['-222,"Data out of range"']
    emu.write(":VOLT1:OFFS 2.6")  # a 5.1 V high level
    assert errors(emu) == ['-222,"Data out of range"']
    emu.write(":VOLT1:OFFS 2.5")
    assert errors(emu) == []
    emu.write(":OUTP1:LOAD 1E6;:VOLT1 9")  # twice as much into a high impedance
    assert errors(emu) == []


def test_common_commands(emu):
    assert ask(emu, "*IDN?").split(",")[1] in ("81160A", "81150A")
    assert ask(emu, "SYST:ERR?") == '0,"No error"'
    emu.write(":BOGUS")
    emu.write("*CLS")
    assert errors(emu) == []
    emu.write("OUTP1 ON;*RST")
    assert ask(emu, "OUTP1?") == "0"
