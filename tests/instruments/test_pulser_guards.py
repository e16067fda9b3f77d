"""The strings pymeasure's 33500-family drivers splice into commands unchecked (waveform names,
front-panel text, the load) are checked by mtjlab's subclasses before any byte is sent."""

import pytest
from hostile_strings import HOSTILE
from hypothesis import assume, given
from pymeasure.test import expected_protocol

from mtjlab.instruments.keysight33500b import Keysight33500B
from mtjlab.instruments.keysight81150a import Keysight81150A
from mtjlab.instruments.keysight81160a import Keysight81160A
from mtjlab.instruments.roles import ChannelSpecError

PULSERS = [Keysight33500B, Keysight81160A, Keysight81150A]


def test_valid_names_and_text_are_sent():
    with expected_protocol(
        Keysight33500B,
        [
            ("SOUR1:FUNC:ARB MY_WAVE1", None),
            ("FUNC:ARB RAMP2", None),
            ("DISP:TEXT 'MTJ bench: 3,12 +1.5 V'", None),
            ("OUTP1:LOAD INF", None),
            ("SOUR2:DATA:ARB:DAC W1, -32767, 0, 32767", None),
            ("SOUR2:DATA:ARB W2, -1.0, 0.5, 1", None),
        ],
    ) as gen:
        gen.ch_1.arb_file = "MY_WAVE1"
        gen.arb_file = "RAMP2"
        gen.display = "MTJ bench: 3,12 +1.5 V"
        gen.ch_1.output_load = "INF"
        gen.ch_2.data_arb("W1", [-32767, 0, 32767], data_format="DAC")
        gen.ch_2.data_arb("W2", [-1.0, 0.5, 1], data_format="float")


@pytest.mark.parametrize("driver", PULSERS)
@given(payload=HOSTILE)
def test_hostile_waveform_names_are_refused_everywhere(driver, payload):
    name = "W" + payload
    # "end" is a word like any other in a SCPI name; only payloads that break the grammar count
    assume(not all(c.isascii() and (c.isalnum() or c == "_") for c in name) or len(name) > 12)
    with expected_protocol(driver, []) as gen:
        for attempt in (
            lambda: setattr(gen.ch_1, "arb_file", name),
            lambda: setattr(gen, "arb_file", name),
            lambda: gen.ch_1.data_arb(name, [0, 1]),
            lambda: gen.data_arb(name, [0, 1]),
        ):
            with pytest.raises(ChannelSpecError) as info:
                attempt()
            assert repr(name) in str(info.value)
            assert "a letter then up to 11 letters, digits or _" in str(info.value)


@pytest.mark.parametrize("driver", PULSERS)
@given(payload=HOSTILE)
def test_hostile_display_text_is_refused(driver, payload):
    text = "OK" + payload
    if all(c.isascii() and (c.isalnum() or c in " _.,:+-") for c in text):
        text += "'"  # a payload made only of allowed characters still gets a quote
    with expected_protocol(driver, []) as gen, pytest.raises(ChannelSpecError) as info:
        gen.display = text
    assert repr(text) in str(info.value)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda g: setattr(g.ch_1, "output_load", "INF;*RST"), ValueError, "discrete set"),
        (lambda g: setattr(g.ch_1, "output_load", 75), ValueError, "discrete set"),
        (lambda g: setattr(g, "output_load", "9.9E37"), ValueError, "discrete set"),
        (lambda g: g.ch_1.data_arb("W", [0, 40000]), ValueError, r"data_points\[1\]=40000"),
        (
            lambda g: g.ch_1.data_arb("W", [0, "1;*RST"]),
            TypeError,
            r"data_points\[1\]='1;\*RST' is not an integer",
        ),
        (lambda g: g.ch_1.data_arb("W", [0.5], data_format="float;"), ValueError, "data_format"),
        (lambda g: g.ch_1.data_arb("W", [1.5], data_format="float"), ValueError, "=1.5 is out"),
    ],
)
def test_33500b_refuses_before_any_byte(call, error, message):
    with expected_protocol(Keysight33500B, []) as gen, pytest.raises(error, match=message):
        call(gen)


def test_81160a_load_range_and_waveform_memory_names():
    with expected_protocol(
        Keysight81160A, [(":OUTP1:LOAD 7.500000e+01", None), (":DATA1:DEL OLD_ONE", None)]
    ) as gen:
        gen.ch_1.output_load = 75
        gen.ch_1.delete_waveform("old_one")
        with pytest.raises(ValueError, match="not in range"):
            gen.ch_1.output_load = 2e6
        with pytest.raises(ChannelSpecError, match="'X, VOLATILE;\\*RST'"):
            gen.ch_1.save_waveform([0.0, 1.0], "X, VOLATILE;*RST")
        with pytest.raises(ChannelSpecError):
            gen.ch_1.delete_waveform("A B")


def test_81160a_apply_methods_send_numbers_only():
    with expected_protocol(
        Keysight81160A,
        [(":APPL1:PULS 1000.0, 1.0, 0.5", None), (":APPL2:DC DEF, DEF, -2.5", None)],
    ) as gen:
        gen.ch_1.apply_pulse(1e3, 1.0, 0.5)
        gen.ch_2.apply_dc(-2.5)
        with pytest.raises(TypeError, match=r"voltage='0; \*RST' is not a number"):
            gen.ch_1.apply_dc("0; *RST")
        with pytest.raises(TypeError, match=r"frequency='1e3;\*RST' is not a number"):
            gen.ch_1.apply_sin("1e3;*RST", 1.0, 0.0)
        with pytest.raises(ValueError, match=r"frequency=1000000000.0 is out of range"):
            gen.ch_1.apply_square(1e9, 1.0, 0.0)
        with pytest.raises(ValueError, match=r"offset=11 is out of range; allowed: -10 to 10 V"):
            gen.ch_1.apply_user_waveform(1e3, 1.0, 11)
        with pytest.raises(ValueError, match=r"amplitude=0.01 is out of range"):
            gen.ch_1.apply_noise(0.01, 0.0)
