"""Keysight 81150A pulse generator pinned byte for byte: the 81160A's commands with the
81150A's timing limits, and the width and amplitude read back before they are trusted."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pymeasure.test import expected_protocol

from mtjlab.instruments import PulseGenerator, driver_for
from mtjlab.instruments.keysight81150a import Keysight81150A
from mtjlab.instruments.keysight81160a import Keysight81160A
from mtjlab.instruments.roles import ChannelSpecError, InstrumentError

NO_ERROR = ("SYST:ERR?", '0,"No error"')


def head(ch, load, load_reply):
    return [
        (f"OUTP{ch} 0", None),
        (":TRAC:CHAN1 0", None),
        (":TRAC:CHAN1?", "0"),
        (f":FUNC{ch} PULS", None),
        (f":OUTP{ch}:LOAD {load}", None),
        (f":OUTP{ch}:LOAD?", load_reply),
        (f":VOLT{ch}:UNIT VPP", None),
        (f":VOLT{ch}:UNIT?", "VPP"),
        (f":PULS:HOLD{ch} WIDT", None),
        # the 81150A's edge time, not the 81160A's
        (f":PULS:TRAN{ch} 2.500000e-09", None),
        (f":PULS:TRAN{ch}:TRA 2.500000e-09", None),
        (f":PULS:TRAN{ch}?", "+2.50000000000000E-09"),
        (f":PULS:TRAN{ch}:TRA?", "+2.50000000000000E-09"),
        (f":PULS:PER{ch} 1.000000e+06", None),
    ]


def pulse_setup(ch, load, load_reply, width, width_reply, period, amplitude, amplitude_reply,
                offset, polarity):  # fmt: skip
    return [
        *head(ch, load, load_reply),
        (f":PULS:WIDT{ch} {width}", None),
        (f":PULS:WIDT{ch}?", width_reply),
        (f":PULS:PER{ch} {period}", None),
        (f":VOLT{ch}:OFFS 0.000000", None),
        (f":VOLT{ch} {amplitude}", None),
        (f":VOLT{ch}?", amplitude_reply),
        (f":VOLT{ch}:OFFS {offset}", None),
        (f":OUTP{ch}:POL {polarity}", None),
        NO_ERROR,
    ]


def test_registered_as_a_pulse_generator():
    assert driver_for("keysight81150a") is Keysight81150A
    assert issubclass(Keysight81150A, PulseGenerator)


@pytest.mark.parametrize(
    ("channel", "pulse", "setup"),
    [
        # 50 Ohm, positive, on output 1: width and amplitude read back exactly
        (1, dict(amplitude_v=1.2, width_s=20e-9, polarity="positive", load="50ohm"), (
            "5.000000e+01", "+5.00000000000000E+01",
            "2.000000e-08", "+2.00000000000000E-08", "1.000000e-06",
            "1.200000", "+1.20000000000000E+00", "0.600000", "NORM",
        )),
        # high impedance, negative, on output 2
        (2, dict(amplitude_v=9.0, width_s=1e-3, polarity="negative", load="highz"), (
            "1.000000e+06", "+1.00000000000000E+06",
            "1.000000e-03", "+1.00000000000000E-03", "2.000000e-03",
            "9.000000", "+9.00000000000000E+00", "-4.500000", "INV",
        )),
        # read back rounded to the instrument's resolution: accepted
        (1, dict(amplitude_v=1.234567, width_s=12.34567e-9), (
            "5.000000e+01", "+5.0E+01",
            "1.234567e-08", "+1.235E-08", "1.000000e-06",
            "1.234567", "+1.235E+00", "0.617283", "NORM",
        )),
    ],
)  # fmt: skip
def test_pulse_reads_width_and_amplitude_back(channel, pulse, setup):
    commands = pulse_setup(channel, *setup)
    with expected_protocol(Keysight81150A, commands, channel=channel) as gen:
        gen.configure_pulse(**pulse)


def test_a_clamped_amplitude_stops_with_the_output_off_and_no_offset_or_arm():
    commands = [
        *head(1, "1.000000e+06", "+1.0E+06"),
        (":PULS:WIDT1 1.000000e-07", None),
        (":PULS:WIDT1?", "+1.0E-07"),
        (":PULS:PER1 1.000000e-06", None),
        (":VOLT1:OFFS 0.000000", None),
        (":VOLT1 8.000000", None),
        (":VOLT1?", "+5.0E+00"),
    ]
    with (
        expected_protocol(Keysight81150A, commands) as gen,
        pytest.raises(InstrumentError) as info,
    ):
        gen.configure_pulse(amplitude_v=8.0, width_s=100e-9, load="highz")
    message = str(info.value)
    assert "amplitude reads back as 5 Vpp after setting 8 Vpp" in message
    assert "Keysight 81150A Pulse Generator" in message
    assert "the output stays off" in message


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        ("+1.5E-08", r"pulse width reads back as 1\.5e-08 s after setting 1e-08 s"),
        ("ERR", r"pulse width reads back as 'ERR' after setting"),
    ],
)
def test_a_clamped_or_garbled_width_stops_before_any_level_is_sent(reply, message):
    commands = [
        *head(1, "5.000000e+01", "+5.0E+01"),
        (":PULS:WIDT1 1.000000e-08", None),
        (":PULS:WIDT1?", reply),
    ]
    with (
        expected_protocol(Keysight81150A, commands) as gen,
        pytest.raises(InstrumentError, match=message),
    ):
        gen.configure_pulse(amplitude_v=1.0, width_s=10e-9)


def test_instrument_error_after_setup_names_the_model_and_commands():
    commands = pulse_setup(
        1, "5.000000e+01", "5.0E+01", "1.000000e-06", "1.0E-06", "2.000000e-06",
        "1.000000", "1.0E+00", "0.500000", "NORM",
    )  # fmt: skip
    commands[-1] = ("SYST:ERR?", '-222,"Data out of range"')
    commands.append(NO_ERROR)
    with expected_protocol(Keysight81150A, commands) as gen, pytest.raises(InstrumentError) as info:
        gen.configure_pulse(amplitude_v=1.0, width_s=1e-6)
    assert info.value.errors == ((-222, "Data out of range"),)
    assert ":VOLT1 1.000000" in info.value.commands


@pytest.mark.parametrize(
    ("call", "message"),
    [
        # 5 ns is a width the 81160A takes, but under the 81150A's floor
        (lambda g: g.configure_pulse(1.0, 5e-9), r"width_s=5e-09 is out of range; allowed: 8\.33e"),
        (lambda g: g.configure_pulse(5.5, 1e-6), r"allowed: 0\.05 to 5 V"),
        (lambda g: setattr(g.ch_1, "pulse_width", 5e-9), r"not in range \[8\.33e-09"),
        (lambda g: setattr(g.ch_2, "pulse_period", 5e-9), r"not in range \[8\.33e-09"),
        (lambda g: setattr(g, "pulse_period", 5e-9), r"not in range \[8\.33e-09"),
        (lambda g: setattr(g.ch_1, "frequency", 200e6), r"not in range \[1e-06,1\.2e\+08\]"),
        (lambda g: g.ch_1.apply_sin(200e6, 1.0, 0.0), r"frequency=200000000\.0 is out of range"),
        (lambda g: g.ch_2.apply_pulse(121e6, 1.0, 0.5), r"allowed: 1e-06 to 1\.2e\+08 Hz"),
        (lambda g: g.ch_1.apply_square("1e3;*RST", 1.0, 0.0), r"is not a number"),
        (lambda g: setattr(g.ch_1, "output_load_ohm", 75.0), r"not in the discrete set"),
    ],
)
def test_refused_values_send_no_byte(call, message):
    refused = pytest.raises((ValueError, TypeError), match=message)
    with expected_protocol(Keysight81150A, []) as gen, refused:
        call(gen)


def test_the_81160a_keeps_its_own_shorter_limits():
    assert Keysight81160A.width_limits_s[0] < Keysight81150A.width_limits_s[0]
    with expected_protocol(Keysight81160A, [(":PULS:WIDT1 5.000000e-09", None)]) as gen:
        gen.ch_1.pulse_width = 5e-9


def test_refused_output_channel():
    with pytest.raises(ChannelSpecError, match="output channel 0 is not of the form 1 or 2"):
        Keysight81150A(None, channel=0)


@given(width=st.floats(8.33e-9, 1.0), amplitude=st.floats(0.05, 5.0))
def test_any_pulse_inside_the_limits_is_set_and_read_back(width, amplitude):
    period = max(2 * width, 1e-6)
    commands = pulse_setup(
        1, "5.000000e+01", "+5.0E+01", f"{width:e}", f"{width:e}", f"{period:e}",
        f"{amplitude:f}", f"{amplitude:e}", f"{amplitude / 2:f}", "NORM",
    )  # fmt: skip
    with expected_protocol(Keysight81150A, commands) as gen:
        gen.configure_pulse(amplitude_v=amplitude, width_s=width)
