"""Keysight 33500B pulse generator driver pinned byte for byte, at 50 Ohm and high impedance."""

import math

import pytest
from pymeasure.test import expected_protocol

from mtjlab.instruments.keysight33500b import Keysight33500B
from mtjlab.instruments.roles import ChannelSpecError, InstrumentError

NO_ERROR = ("SYST:ERR?", '+0,"No error"')


def pulse_setup(ch, load_command, load_reply, width, period, amplitude, offset, polarity):
    return [
        (f"OUTP{ch} 0", None),
        (f"SOUR{ch}:FUNC PULS", None),
        (f"OUTP{ch}:LOAD {load_command}", None),
        (f"OUTP{ch}:LOAD?", load_reply),
        (f"SOUR{ch}:VOLT:UNIT VPP", None),
        (f"SOUR{ch}:VOLT:UNIT?", "VPP"),
        (f"SOUR{ch}:FUNC:PULS:HOLD WIDT", None),
        (f"SOUR{ch}:FUNC:PULS:TRAN:BOTH 8.400000e-09", None),
        (f"SOUR{ch}:FUNC:PULS:PER 1.000000e+06", None),
        (f"SOUR{ch}:FUNC:PULS:WIDT {width}", None),
        (f"SOUR{ch}:FUNC:PULS:PER {period}", None),
        (f"SOUR{ch}:VOLT:OFFS 0.000000", None),
        (f"SOUR{ch}:VOLT {amplitude}", None),
        (f"SOUR{ch}:VOLT:OFFS {offset}", None),
        (f"OUTP{ch}:POL {polarity}", None),
        NO_ERROR,
    ]


def test_pulse_at_50_ohm_programs_the_device_amplitude_for_a_50_ohm_load():
    with expected_protocol(
        Keysight33500B,
        pulse_setup(
            1, "50", "+5.000000000000000E+01", "2.000000e-08", "1.000000e-06",
            "0.800000", "0.400000", "NORM",
        ),
    ) as gen:  # fmt: skip
        gen.configure_pulse(amplitude_v=0.8, width_s=20e-9, polarity="positive", load="50ohm")


def test_pulse_at_high_impedance_sets_inf_and_programs_the_open_circuit_amplitude():
    with expected_protocol(
        Keysight33500B,
        pulse_setup(
            2, "INF", "+9.900000000000000E+37", "2.000000e-06", "4.000000e-06",
            "8.000000", "-4.000000", "INV",
        ),
        channel=2,
    ) as gen:  # fmt: skip
        gen.configure_pulse(amplitude_v=8.0, width_s=2e-6, polarity="negative", load="highz")


def test_8_v_is_refused_at_50_ohm_before_any_byte():
    refused = pytest.raises(
        ValueError, match=r"amplitude_v \(load 50ohm\)=8\.0 is out of range; allowed: 0\.001 to 5 V"
    )
    with expected_protocol(Keysight33500B, []) as gen, refused:
        gen.configure_pulse(amplitude_v=8.0, width_s=1e-6, load="50ohm")


def test_a_load_that_does_not_read_back_stops_before_any_level_is_sent():
    with (
        expected_protocol(
            Keysight33500B,
            [
                ("OUTP1 0", None),
                ("SOUR1:FUNC PULS", None),
                ("OUTP1:LOAD INF", None),
                ("OUTP1:LOAD?", "+5.000000000000000E+01"),
            ],
        ) as gen,
        pytest.raises(InstrumentError, match="reads back as 50 Ohm after setting inf Ohm"),
    ):
        gen.configure_pulse(amplitude_v=1.0, width_s=1e-6, load="highz")


def test_arm_fire_and_output_off():
    with expected_protocol(
        Keysight33500B,
        [
            ("SOUR1:BURS:MODE TRIG", None),
            ("SOUR1:BURS:NCYC 1", None),
            ("TRIG1:SOUR BUS", None),
            ("SOUR1:BURS:STAT 1", None),
            NO_ERROR,
            # read back before the output goes on (see test_pulser_arm.py for refusals)
            ("SOUR1:BURS:MODE?", "TRIG"),
            ("SOUR1:BURS:NCYC?", "+1.000000000000000E+00"),
            ("TRIG1:SOUR?", "BUS"),
            ("SOUR1:BURS:STAT?", "1"),
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


def test_trigger_ignored_becomes_an_exception_naming_trg():
    with (
        expected_protocol(
            Keysight33500B,
            [
                ("*TRG", None),
                ("*OPC?", "1"),
                ("SYST:ERR?", '-211,"Trigger ignored"'),
                NO_ERROR,
            ],
        ) as gen,
        pytest.raises(InstrumentError, match=r"-211, Trigger ignored \(after '\*TRG' \| '\*OPC"),
    ):
        gen.fire()


def test_properties_read_back():
    with expected_protocol(
        Keysight33500B,
        [
            ("OUTP1:LOAD?", "+9.900000000000000E+37"),
            ("OUTP1:POL?", "INV"),
            ("TRIG1:SOUR?", "BUS"),
            ("OUTP2:LOAD 50", None),
        ],
    ) as gen:
        assert gen.ch_1.output_load_ohm == math.inf
        assert gen.ch_1.polarity == "inverted"
        assert gen.ch_1.trigger_source == "BUS"
        gen.ch_2.output_load_ohm = 50


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda g: g.configure_pulse(1.0, 1e-6, load="75ohm"),
            r"load='75ohm' is not allowed; allowed: 50ohm, highz",
        ),
        (lambda g: g.configure_pulse(1.0, 1e-6, polarity="+"), r"polarity='\+' is not allowed"),
        (lambda g: g.configure_pulse(10.5, 1e-6, load="highz"), r"allowed: 0\.002 to 10 V"),
        (lambda g: g.configure_pulse(0.0, 1e-6), r"amplitude_v \(load 50ohm\)=0\.0 is out of"),
        (lambda g: g.configure_pulse(-1.0, 1e-6), r"=-1\.0 is out of range"),
        (
            lambda g: g.configure_pulse(1.0, 1e-9),
            r"width_s=1e-09 is out of range; allowed: 1\.6e-08 to 1 s",
        ),
        (lambda g: g.configure_pulse(1.0, 2.0), r"width_s=2\.0 is out of range"),
        (lambda g: setattr(g.ch_1, "output_load_ohm", 75), r"75 is not in the discrete set"),
        (lambda g: setattr(g.ch_1, "output_load_ohm", "INF;*RST"), r"not in the discrete set"),
        (lambda g: setattr(g.ch_1, "trigger_source", "BUS;*TRG"), r"not in the discrete set"),
        # pymeasure's bounds of the burst count, range(1, 100000), kept as a pair
        (lambda g: setattr(g.ch_1, "burst_ncycles", 0), r"not in range"),
        (lambda g: setattr(g.ch_1, "burst_ncycles", 100000), r"not in range"),
        (lambda g: setattr(g, "burst_ncycles", 100000), r"not in range"),
    ],
)  # fmt: skip
def test_refused_values_send_no_byte(call, message):
    with expected_protocol(Keysight33500B, []) as gen, pytest.raises(ValueError, match=message):
        call(gen)


@pytest.mark.parametrize("channel", [0, 3, "1", True, 1.5, "1;*RST"])
def test_refused_output_channels(channel):
    with pytest.raises(ChannelSpecError, match=r"is not of the form 1 or 2"):
        Keysight33500B(None, channel=channel)


@pytest.mark.parametrize(
    ("prop", "value", "set_command", "reply"),
    [
        ("shape", "PULS", "SOUR1:FUNC PULS", "PULS"),
        ("pulse_width", 1e-7, "SOUR1:FUNC:PULS:WIDT 1.000000e-07", "+1.0E-07"),
        ("pulse_period", 1e-6, "SOUR1:FUNC:PULS:PER 1.000000e-06", "+1.0E-06"),
        ("amplitude", 2.0, "SOUR1:VOLT 2.000000", "+2.0E+00"),
        ("offset", -1.0, "SOUR1:VOLT:OFFS -1.000000", "-1.0E+00"),
        ("output_load_ohm", 50, "OUTP1:LOAD 50", "+5.0E+01"),
        ("polarity", "normal", "OUTP1:POL NORM", "NORM"),
        ("trigger_source", "BUS", "TRIG1:SOUR BUS", "BUS"),
        ("burst_ncycles", 1, "SOUR1:BURS:NCYC 1", "+1"),
        ("burst_ncycles", 99999, "SOUR1:BURS:NCYC 99999", "+99999"),
        ("burst_state", True, "SOUR1:BURS:STAT 1", "1"),
        ("output", False, "OUTP1 0", "0"),
    ],
)
def test_channel_properties_set_and_read_back(prop, value, set_command, reply):
    with expected_protocol(
        Keysight33500B, [(set_command, None), (set_command.split(" ")[0] + "?", reply)]
    ) as gen:
        setattr(gen.ch_1, prop, value)
        assert getattr(gen.ch_1, prop) == value


def test_an_unreadable_load_reply_stops_before_any_level_is_sent():
    with (
        expected_protocol(
            Keysight33500B,
            [
                ("OUTP1 0", None),
                ("SOUR1:FUNC PULS", None),
                ("OUTP1:LOAD 50", None),
                ("OUTP1:LOAD?", "HIGHZ"),
            ],
        ) as gen,
        pytest.raises(InstrumentError, match="reads back as 'HIGHZ' after setting 50 Ohm"),
    ):
        gen.configure_pulse(amplitude_v=1.0, width_s=1e-6, load="50ohm")


@pytest.mark.parametrize("held", ["VRMS", "DBM", "ERR"])
def test_an_amplitude_unit_other_than_vpp_stops_before_any_level_is_sent(held):
    # 33500 Series Operating and Service Guide: VOLTage:UNIT {VPP|VRMS|DBM}; a pulse height
    # programmed in Vrms or dBm would not be the height asked for
    with (
        expected_protocol(
            Keysight33500B,
            [
                ("OUTP1 0", None),
                ("SOUR1:FUNC PULS", None),
                ("OUTP1:LOAD 50", None),
                ("OUTP1:LOAD?", "+5.000000000000000E+01"),
                ("SOUR1:VOLT:UNIT VPP", None),
                ("SOUR1:VOLT:UNIT?", held),
            ],
        ) as gen,
        pytest.raises(InstrumentError, match=f"amplitude_unit reads back as '{held}' after"),
    ):
        gen.configure_pulse(amplitude_v=1.0, width_s=1e-6, load="50ohm")


def test_leaving_a_with_block_turns_the_output_off():
    with expected_protocol(
        Keysight33500B, [NO_ERROR, ("OUTP2 0", None), NO_ERROR], channel=2
    ) as gen:
        with gen:
            pass
        assert gen.isShutdown
