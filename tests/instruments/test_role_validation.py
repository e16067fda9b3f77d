"""Across every source-meter and pulse-generator driver: values outside the model's range never
reach the wire, values inside reach it as written (and a level is read back)."""

import math

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from pymeasure.test import expected_protocol

from mtjlab.instruments.keithley2400 import Keithley2400
from mtjlab.instruments.keithley2450 import Keithley2450
from mtjlab.instruments.keithley2600b import Keithley2600B
from mtjlab.instruments.keysight33500b import Keysight33500B
from mtjlab.instruments.keysight81150a import Keysight81150A
from mtjlab.instruments.keysight81160a import Keysight81160A

INIT_2400 = [(":FORMAT:ELEMENTS VOLTAGE, CURRENT, RESISTANCE, TIME, STATUS", None)]

TSP_NO_ERROR = ("print(errorqueue.next())", "0\tQueue Is Empty\t0\t0")

# driver, bytes sent on connection, voltage limit (from each model's manual, not from the
# driver), command for a level, error query and reply, query reading the level back
SMUS = [
    (
        Keithley2400,
        INIT_2400,
        210.0,
        ":SOURCE:VOLTAGE {}",
        ("SYST:ERR?", '0,"No error"'),
        ":SOURCE:VOLTAGE?",
    ),
    (Keithley2450, [], 210.0, ":SOUR:VOLT {}", ("SYST:ERR?", '0,"No error"'), ":SOUR:VOLT?"),
    # the 2600B's limits depend on the model it reports at connection
    (
        Keithley2600B,
        [("print(localnode.model)", "2612B")],
        200.0,
        "smua.source.levelv={}",
        TSP_NO_ERROR,
        "print(smua.source.levelv)",
    ),
    (
        Keithley2600B,
        [("print(localnode.model)", "2602B")],
        40.0,
        "smua.source.levelv={}",
        TSP_NO_ERROR,
        "print(smua.source.levelv)",
    ),
]

finite = st.floats(allow_nan=False, allow_infinity=False)
anything = st.one_of(st.floats(), st.integers(-(10**6), 10**6))


@pytest.mark.parametrize(("driver", "init", "limit", "command", "no_error", "read_back"), SMUS)
@given(value=anything)
def test_set_voltage_outside_the_range_sends_no_byte(
    driver, init, limit, command, no_error, read_back, value
):
    assume(not (math.isfinite(value) and abs(value) <= limit))  # inside: the next test
    with expected_protocol(driver, init) as smu, pytest.raises(ValueError) as info:
        smu.set_voltage(value)
    assert repr(value) in str(info.value)
    assert f"allowed: {-limit:g} to {limit:g} V" in str(info.value)


@pytest.mark.parametrize(("driver", "init", "limit", "command", "no_error", "read_back"), SMUS)
@given(fraction=st.floats(-1.0, 1.0))
def test_set_voltage_inside_the_range_sends_it_as_g(
    driver, init, limit, command, no_error, read_back, fraction
):
    value = fraction * limit
    sent = [(command.format(f"{value:g}"), None), no_error, (read_back, f"{value:.6E}")]
    with expected_protocol(driver, [*init, *sent]) as smu:
        smu.set_voltage(value)


@pytest.mark.parametrize("driver", [Keysight33500B, Keysight81160A, Keysight81150A])
@given(
    amplitude=st.one_of(st.floats(), st.integers(-100, 100)),
    width=st.one_of(st.floats(), st.integers(-5, 5)),
    load=st.sampled_from(["50ohm", "highz"]),
)
def test_pulse_outside_the_model_limits_sends_no_byte(driver, amplitude, width, load):
    low, high = driver.amplitude_limits_v[load]
    shortest, longest = driver.width_limits_s
    amplitude_ok = math.isfinite(amplitude) and low <= amplitude <= high
    width_ok = math.isfinite(width) and shortest <= width <= longest
    assume(not (amplitude_ok and width_ok))
    with expected_protocol(driver, []) as gen, pytest.raises(ValueError):
        gen.configure_pulse(amplitude, width, load=load)
