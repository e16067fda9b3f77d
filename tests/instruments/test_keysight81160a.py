"""Keysight 81160A pulse generator driver pinned byte for byte, at 50 Ohm and high impedance."""

import pytest
from pymeasure.test import expected_protocol

from mtjlab.instruments.keysight81150a import Keysight81150A
from mtjlab.instruments.keysight81160a import Keysight81160A
from mtjlab.instruments.roles import ChannelSpecError, InstrumentError

NO_ERROR = ("SYST:ERR?", '0,"No error"')


def pulse_setup(ch, load, load_reply, width, period, amplitude, offset, polarity):
    return [
        (f"OUTP{ch} 0", None),
        # channel coupling off first, so that no setting is copied to the other output
        (":TRAC:CHAN1 0", None),
        (":TRAC:CHAN1?", "0"),
        (f":FUNC{ch} PULS", None),
        (f":OUTP{ch}:LOAD {load}", None),
        (f":OUTP{ch}:LOAD?", load_reply),
        (f":VOLT{ch}:UNIT VPP", None),
        (f":VOLT{ch}:UNIT?", "VPP"),
        (f":PULS:HOLD{ch} WIDT", None),
        # both edges, read back, before the width
        (f":PULS:TRAN{ch} 1.000000e-09", None),
        (f":PULS:TRAN{ch}:TRA 1.000000e-09", None),
        (f":PULS:TRAN{ch}?", "+1.00000000000000E-09"),
        (f":PULS:TRAN{ch}:TRA?", "+1.00000000000000E-09"),
        (f":PULS:PER{ch} 1.000000e+06", None),
        (f":PULS:WIDT{ch} {width}", None),
        (f":PULS:PER{ch} {period}", None),
        (f":VOLT{ch}:OFFS 0.000000", None),
        (f":VOLT{ch} {amplitude}", None),
        (f":VOLT{ch}:OFFS {offset}", None),
        (f":OUTP{ch}:POL {polarity}", None),
        NO_ERROR,
    ]


def test_pulse_at_50_ohm():
    with expected_protocol(
        Keysight81160A,
        pulse_setup(
            1, "5.000000e+01", "+5.00000000000000E+01", "5.000000e-09", "1.000000e-06",
            "1.200000", "0.600000", "NORM",
        ),
    ) as gen:  # fmt: skip
        gen.configure_pulse(amplitude_v=1.2, width_s=5e-9, polarity="positive", load="50ohm")


def test_pulse_at_high_impedance_and_negative_polarity_on_output_2():
    with expected_protocol(
        Keysight81160A,
        pulse_setup(
            2, "1.000000e+06", "+1.00000000000000E+06", "1.000000e-03", "2.000000e-03",
            "9.000000", "-4.500000", "INV",
        ),
        channel=2,
    ) as gen:  # fmt: skip
        gen.configure_pulse(amplitude_v=9.0, width_s=1e-3, polarity="negative", load="highz")


def test_9_v_is_refused_at_50_ohm_before_any_byte():
    refused = pytest.raises(
        ValueError, match=r"amplitude_v \(load 50ohm\)=9\.0 is out of range; allowed: 0\.05 to 5 V"
    )
    with expected_protocol(Keysight81160A, []) as gen, refused:
        gen.configure_pulse(amplitude_v=9.0, width_s=1e-6, load="50ohm")


def test_a_load_that_does_not_read_back_stops_before_any_level_is_sent():
    with (
        expected_protocol(
            Keysight81160A,
            [
                ("OUTP1 0", None),
                (":TRAC:CHAN1 0", None),
                (":TRAC:CHAN1?", "0"),
                (":FUNC1 PULS", None),
                (":OUTP1:LOAD 5.000000e+01", None),
                (":OUTP1:LOAD?", "+1.00000000000000E+06"),
            ],
        ) as gen,
        pytest.raises(InstrumentError, match="reads back as 1e\\+06 Ohm after setting 50"),
    ):
        gen.configure_pulse(amplitude_v=1.0, width_s=1e-6, load="50ohm")


@pytest.mark.parametrize("driver", [Keysight81160A, Keysight81150A])
def test_an_amplitude_unit_other_than_vpp_stops_before_any_level_is_sent(driver):
    # 81150A and 81160A User's Guide, APPLy commands: amplitudes are read in the unit set by
    # VOLT:UNIT VPP|VRMS|DBM
    with (
        expected_protocol(
            driver,
            [
                ("OUTP2 0", None),
                (":TRAC:CHAN1 0", None),
                (":TRAC:CHAN1?", "0"),
                (":FUNC2 PULS", None),
                (":OUTP2:LOAD 5.000000e+01", None),
                (":OUTP2:LOAD?", "+5.00000000000000E+01"),
                (":VOLT2:UNIT VPP", None),
                (":VOLT2:UNIT?", "DBM"),
            ],
            channel=2,
        ) as gen,
        pytest.raises(InstrumentError, match="amplitude_unit reads back as 'DBM' after"),
    ):
        gen.configure_pulse(amplitude_v=1.0, width_s=1e-6)


@pytest.mark.parametrize("driver", [Keysight81160A, Keysight81150A])
@pytest.mark.parametrize("reply", ["1", "ON"])
def test_channel_coupling_left_on_stops_before_any_other_setting(driver, reply):
    with (
        expected_protocol(
            driver,
            [("OUTP2 0", None), (":TRAC:CHAN1 0", None), (":TRAC:CHAN1?", reply)],
            channel=2,
        ) as gen,
        pytest.raises(InstrumentError, match="coupling_enabled .* after setting False"),
    ):
        gen.configure_pulse(amplitude_v=1.0, width_s=1e-6)


@pytest.mark.parametrize(
    ("edge", "lead_reply", "trail_reply", "message"),
    [
        ("1.000000e-09", "+2.00000000000000E-09", None, r"leading edge reads back as 2e-09 s"),
        ("1.000000e-09", "+1.0E-09", "+5.0E-09", r"trailing edge reads back as 5e-09 s after"),
    ],
)
def test_an_edge_the_instrument_holds_at_another_value_stops_before_the_timing(
    edge, lead_reply, trail_reply, message
):
    commands = pulse_setup(
        1, "5.000000e+01", "5.0E+01", "1.000000e-06", "2.000000e-06", "1.000000", "0.500000", "NORM"
    )
    stop = commands.index((":PULS:TRAN1?", "+1.00000000000000E-09"))
    commands = [*commands[:stop], (":PULS:TRAN1?", lead_reply)]
    if trail_reply is not None:
        commands.append((":PULS:TRAN1:TRA?", trail_reply))
    assert (f":PULS:TRAN1 {edge}", None) in commands
    with (
        expected_protocol(Keysight81160A, commands) as gen,
        pytest.raises(InstrumentError, match=message) as info,
    ):
        gen.configure_pulse(amplitude_v=1.0, width_s=1e-6)
    assert "no timing or level was set" in str(info.value)


@pytest.mark.parametrize("driver", [Keysight81160A, Keysight81150A])
def test_arm_fire_output_off_safe_state(driver):
    with expected_protocol(
        driver,
        [
            (":ARM:SOUR1 MAN", None),
            (":TRIG1:COUN 1", None),
            NO_ERROR,
            # read back before the output goes on (see test_pulser_arm.py for refusals)
            (":ARM:SOUR1?", "MAN"),
            (":TRIG1:COUN?", "1"),
            ("OUTP1 1", None),
            NO_ERROR,
            ("*TRG", None),
            ("*OPC?", "1"),  # the pulse has ended
            NO_ERROR,
            ("OUTP1 0", None),
            NO_ERROR,
            NO_ERROR,  # the safe state drains what an earlier failure left, then
            ("OUTP1 0", None),
            NO_ERROR,
        ],
    ) as gen:
        gen.arm()
        gen.fire()
        gen.output_off()
        gen.safe_state()


def test_error_after_setup_names_the_commands():
    commands = pulse_setup(
        1, "5.000000e+01", "5.0E+01", "1.000000e-06", "2.000000e-06", "1.000000", "0.500000", "NORM"
    )
    commands[-1] = ("SYST:ERR?", '-221,"Settings conflict"')
    commands.append(NO_ERROR)
    with expected_protocol(Keysight81160A, commands) as gen, pytest.raises(InstrumentError) as info:
        gen.configure_pulse(amplitude_v=1.0, width_s=1e-6)
    assert info.value.errors == ((-221, "Settings conflict"),)
    assert ":PULS:WIDT1 1.000000e-06" in info.value.commands
    assert "Keysight 81160A Pulse Generator" in str(info.value)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda g: g.configure_pulse(1.0, 1e-9), r"width_s=1e-09 is out of range"),
        (lambda g: g.configure_pulse(10.5, 1e-6, load="highz"), r"allowed: 0\.1 to 10 V"),
        (lambda g: g.configure_pulse(1.0, 1e-6, load="HIGHZ"), r"load='HIGHZ' is not allowed"),
        (lambda g: setattr(g.ch_1, "output_load_ohm", 1e9), r"1000000000\.0 is not in the"),
        (lambda g: setattr(g.ch_1, "polarity", "INV\n*RST"), r"is not in the discrete set"),
    ],
)
def test_refused_values_send_no_byte(call, message):
    with expected_protocol(Keysight81160A, []) as gen, pytest.raises(ValueError, match=message):
        call(gen)


def test_refused_output_channel():
    with pytest.raises(ChannelSpecError, match="output channel 3 is not of the form 1 or 2"):
        Keysight81160A(None, channel=3)


@pytest.mark.parametrize(
    ("prop", "value", "set_command", "reply"),
    [
        ("shape", "PULS", ":FUNC2 PULS", "PULS"),
        ("pulse_width", 1e-8, ":PULS:WIDT2 1.000000e-08", "+1.0E-08"),
        ("pulse_period", 1e-6, ":PULS:PER2 1.000000e-06", "+1.0E-06"),
        ("amplitude", 2.0, ":VOLT2 2.000000", "+2.0E+00"),
        ("offset", 1.0, ":VOLT2:OFFS 1.000000", "+1.0E+00"),
        ("output_load_ohm", 1e6, ":OUTP2:LOAD 1.000000e+06", "+1.0E+06"),
        ("polarity", "inverted", ":OUTP2:POL INV", "INV"),
        ("trigger_mode", "MAN", ":ARM:SOUR2 MAN", "MAN"),
        ("trigger_count", 1, ":TRIG2:COUN 1", "1"),
        ("output", True, "OUTP2 1", "1"),
    ],
)
def test_channel_properties_set_and_read_back(prop, value, set_command, reply):
    with expected_protocol(
        Keysight81160A, [(set_command, None), (set_command.split(" ")[0] + "?", reply)]
    ) as gen:
        setattr(gen.ch_2, prop, value)
        assert getattr(gen.ch_2, prop) == value


def test_leaving_a_with_block_turns_the_output_off():
    with expected_protocol(Keysight81160A, [NO_ERROR, ("OUTP1 0", None), NO_ERROR]) as gen:
        with gen:
            pass
        assert gen.isShutdown
