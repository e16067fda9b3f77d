"""Keithley 2400 driver pinned byte for byte with pymeasure's expected_protocol."""

import numpy as np
import pytest
from pymeasure.test import expected_protocol

from mtjlab.instruments.keithley2400 import Keithley2400
from mtjlab.instruments.roles import InstrumentError

INIT = (":FORMAT:ELEMENTS VOLTAGE, CURRENT, RESISTANCE, TIME, STATUS", None)
NO_ERROR = ("SYST:ERR?", '0,"No error"')


def test_configure_voltage_source_sends_the_setup_then_reads_the_error_queue():
    with expected_protocol(
        Keithley2400,
        [
            INIT,
            (":SOURCE:FUNCTION VOLT", None),
            (":SOURCE:VOLTAGE:MODE FIXED", None),
            (":SOURCE:VOLTAGE:RANGE:AUTO 1", None),
            (':SENSE:FUNCTION "CURRENT"', None),
            (":SENSE:CURRENT:PROTECTION 0.0001", None),
            (":SENSE:CURRENT:RANGE:AUTO 1", None),
            (":SENSE:CURRENT:NPLCYCLES 1", None),
            NO_ERROR,
        ],
    ) as smu:
        smu.configure_voltage_source(compliance_current_a=1e-4, nplc=1)


def test_set_voltage_and_measure():
    with expected_protocol(
        Keithley2400,
        [
            INIT,
            (":SOURCE:VOLTAGE 0.1", None),
            NO_ERROR,
            (":READ?", "+1.000000E-01,+2.000000E-05,+9.910000E+37,+1.234000E+03,+2.150800E+04"),
        ],
    ) as smu:
        smu.set_voltage(0.1)
        assert smu.measure() == (0.1, 2e-5)


def test_measure_current_a_returns_the_current_element():
    with expected_protocol(
        Keithley2400,
        [INIT, (":READ?", "1.5E-01,3.0E-05,9.91E+37,1.0E+00,2.15E+04")],
    ) as smu:
        assert smu.measure_current_a() == 3e-5


def test_list_sweep_is_one_trigger_sequence_and_one_read():
    reply = ",".join(
        ["1.0E-01,1.0E-05,9.91E+37,1.0,21508", "2.0E-01,2.0E-05,9.91E+37,1.1,21508",
         "-1.0E-01,-1.0E-05,9.91E+37,1.2,21508"]
    )  # fmt: skip
    with expected_protocol(
        Keithley2400,
        [
            INIT,
            (":SOURCE:VOLTAGE 0", None),
            (":SOURCE:VOLTAGE:MODE LIST", None),
            (":SOURCE:LIST:VOLTAGE 0.1,0.2,-0.1", None),
            (":ARM:COUNT 1", None),
            (":TRIGGER:COUNT 3", None),
            NO_ERROR,
            (":READ?", reply),
            (":SOURCE:VOLTAGE:MODE FIXED", None),
            (":TRIGGER:COUNT 1", None),
            NO_ERROR,
        ],
    ) as smu:
        currents = smu.sweep_voltage_list([0.1, 0.2, -0.1])
    np.testing.assert_array_equal(currents, [1e-5, 2e-5, -1e-5])


def test_list_sweep_with_a_short_reply_raises_and_still_restores_fixed_mode():
    with (
        expected_protocol(
            Keithley2400,
            [
                INIT,
                (":SOURCE:VOLTAGE 0", None),
                (":SOURCE:VOLTAGE:MODE LIST", None),
                (":SOURCE:LIST:VOLTAGE 0.1,0.2", None),
                (":ARM:COUNT 1", None),
                (":TRIGGER:COUNT 2", None),
                NO_ERROR,
                (":READ?", "1.0E-01,1.0E-05,9.91E+37,1.0,21508"),
                (":SOURCE:VOLTAGE:MODE FIXED", None),
                (":TRIGGER:COUNT 1", None),
                NO_ERROR,
            ],
        ) as smu,
        pytest.raises(InstrumentError, match="expected 2 reading"),
    ):
        smu.sweep_voltage_list([0.1, 0.2])


def test_instrument_error_names_instrument_command_and_message():
    with (
        expected_protocol(
            Keithley2400,
            [
                INIT,
                ("OUTPUT 1", None),
                ("SYST:ERR?", '-221,"Settings conflict"'),
                ("SYST:ERR?", '0,"No error"'),
            ],
        ) as smu,
        pytest.raises(InstrumentError) as info,
    ):
        smu.enable_output()
    message = str(info.value)
    assert "Keithley 2400 SourceMeter" in message
    assert "'OUTPUT 1'" in message
    assert "-221, Settings conflict" in message
    assert info.value.errors == ((-221, "Settings conflict"),)


def test_output_off_and_safe_state():
    with expected_protocol(
        Keithley2400,
        [
            INIT,
            ("OUTPUT 0", None),
            NO_ERROR,
            (":ABORT", None),
            (":SOURCE:FUNCTION VOLT", None),
            (":SOURCE:VOLTAGE:MODE FIXED", None),
            (":SOURCE:VOLTAGE 0", None),
            ("OUTPUT 0", None),
            NO_ERROR,
        ],
    ) as smu:
        smu.disable_output()
        smu.safe_state()


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda s: s.set_voltage(210.5),
            r"voltage_v=210\.5 is out of range; allowed: -210 to 210 V",
        ),
        (lambda s: s.set_voltage(float("nan")), r"voltage_v=nan is out of range"),
        (
            lambda s: s.configure_voltage_source(2.0, 1),
            r"compliance_current_a=2\.0 is out of range; allowed: 1e-09 to 1\.05 A",
        ),
        (
            lambda s: s.configure_voltage_source(1e-3, 0.001),
            r"nplc=0\.001 is out of range; allowed: 0\.01 to 10 power-line cycles",
        ),
        (
            lambda s: s.sweep_voltage_list([0.1, 300]),
            r"voltages_v\[1\]=300 is out of range; allowed: -210 to 210 V",
        ),
        (lambda s: s.sweep_voltage_list([]), r"voltages_v has 0 points; allowed: 1 to 100"),
        (lambda s: s.sweep_voltage_list([0.0] * 101), r"voltages_v has 101 points"),
    ],
)
def test_refused_values_send_no_byte(call, message):
    with expected_protocol(Keithley2400, [INIT]) as smu, pytest.raises(ValueError, match=message):
        call(smu)


def test_a_string_voltage_is_refused_before_any_byte():
    refused = pytest.raises(TypeError, match=r"voltage_v='1;\*RST' is not a number")
    with expected_protocol(Keithley2400, [INIT]) as smu, refused:
        smu.set_voltage("1;*RST")


@pytest.mark.parametrize(
    ("prop", "value", "set_command", "reply"),
    [
        ("source_mode", "voltage", ":SOURCE:FUNCTION VOLT", "VOLT"),
        ("source_voltage", 1.5, ":SOURCE:VOLTAGE 1.5", "1.500000E+00"),
        ("compliance_current", 1e-3, ":SENSE:CURRENT:PROTECTION 0.001", "1.000000E-03"),
        ("current_nplc", 0.1, ":SENSE:CURRENT:NPLCYCLES 0.1", "1.000000E-01"),
        ("source_enabled", True, "OUTPUT 1", "1"),
        ("source_voltage_range_auto_enabled", True, ":SOURCE:VOLTAGE:RANGE:AUTO 1", "1"),
        ("current_range_auto_enabled", False, ":SENSE:CURRENT:RANGE:AUTO 0", "0"),
    ],
)
def test_the_reused_pymeasure_properties_set_and_read_back(prop, value, set_command, reply):
    with expected_protocol(
        Keithley2400, [INIT, (set_command, None), (set_command.split(" ")[0] + "?", reply)]
    ) as smu:
        setattr(smu, prop, value)
        assert getattr(smu, prop) == value


def test_leaving_a_with_block_goes_to_the_safe_state_without_pymeasures_slow_ramp():
    with expected_protocol(
        Keithley2400,
        [
            INIT,
            (":ABORT", None),
            (":SOURCE:FUNCTION VOLT", None),
            (":SOURCE:VOLTAGE:MODE FIXED", None),
            (":SOURCE:VOLTAGE 0", None),
            ("OUTPUT 0", None),
            NO_ERROR,
        ],
    ) as smu:
        with smu:
            pass
        assert smu.isShutdown


def test_pymeasures_output_trigger_method_checks_what_it_splices():
    with expected_protocol(Keithley2400, [INIT, (":TRIG:OUTP SENS;:TRIG:OLIN 2;", None)]) as smu:
        with pytest.warns(FutureWarning):
            smu.output_trigger_on_external(line=2, after="SENS")
        with pytest.raises(ValueError, match=r"after='DEL;\*RST' is not allowed"):
            smu.output_trigger_on_external(after="DEL;*RST")
        with pytest.raises(ValueError, match=r"line=5 is out of range; allowed: 1 to 4"):
            smu.output_trigger_on_external(line=5)
