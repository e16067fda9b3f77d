"""Keithley 2450 driver (native SCPI) pinned byte for byte."""

import numpy as np
import pytest
from pymeasure.test import expected_protocol

from mtjlab.instruments.keithley2450 import Keithley2450
from mtjlab.instruments.roles import InstrumentError

NO_ERROR = ("SYST:ERR?", '0,"No error;0;0 0"')


def test_properties_read_and_write():
    with expected_protocol(
        Keithley2450,
        [
            (":SOUR:FUNC?", "VOLT"),
            (":SENS:FUNC?", '"CURR:DC"'),
            (":SOUR:VOLT 1.5", None),
            (":SOUR:VOLT?", "1.500000E+00"),
            (":SENS:CURR:NPLC 0.1", None),
            (":OUTP?", "0"),
        ],
    ) as smu:
        assert smu.source_function == "voltage"
        assert smu.sense_function == "current"
        smu.source_voltage = 1.5
        assert smu.source_voltage == 1.5
        smu.current_nplc = 0.1
        assert smu.output_enabled is False


def test_configure_voltage_source():
    with expected_protocol(
        Keithley2450,
        [
            (":SOUR:FUNC VOLT", None),
            (":SOUR:VOLT:RANG:AUTO 1", None),
            (":SOUR:VOLT:ILIM 0.001", None),
            (':SENS:FUNC "CURR:DC"', None),
            (":SENS:CURR:RANG:AUTO 1", None),
            (":SENS:CURR:NPLC 2", None),
            NO_ERROR,
        ],
    ) as smu:
        smu.configure_voltage_source(compliance_current_a=1e-3, nplc=2)


def test_set_voltage_and_measure():
    with expected_protocol(
        Keithley2450,
        [
            (":SOUR:VOLT -0.2", None),
            NO_ERROR,
            (':READ? "defbuffer1",SOUR,READ', "-2.000000E-01,-4.000000E-05"),
        ],
    ) as smu:
        smu.set_voltage(-0.2)
        assert smu.measure() == (-0.2, -4e-5)


def test_list_sweep_is_one_trigger_model_and_one_buffer_read():
    with expected_protocol(
        Keithley2450,
        [
            (':TRAC:CLE "defbuffer1"', None),
            (":SOUR:LIST:VOLT 0.1,0.2", None),
            (":SOUR:SWE:VOLT:LIST 1,0", None),
            NO_ERROR,
            (":INIT", None),
            ("*WAI", None),
            (':TRAC:DATA? 1,2,"defbuffer1",SOUR,READ', "1.0E-01,1.0E-05,2.0E-01,2.5E-05"),
            (":SOUR:VOLT 0", None),
            NO_ERROR,
        ],
    ) as smu:
        currents = smu.sweep_voltage_list(np.array([0.1, 0.2]))
    np.testing.assert_array_equal(currents, [1e-5, 2.5e-5])


def test_garbled_buffer_reply_raises_naming_the_query():
    with (
        expected_protocol(
            Keithley2450,
            [
                (':TRAC:CLE "defbuffer1"', None),
                (":SOUR:LIST:VOLT 0.1", None),
                (":SOUR:SWE:VOLT:LIST 1,0", None),
                NO_ERROR,
                (":INIT", None),
                ("*WAI", None),
                (':TRAC:DATA? 1,1,"defbuffer1",SOUR,READ', "1.0E-01,#$%"),
                (":SOUR:VOLT 0", None),
                NO_ERROR,
            ],
        ) as smu,
        pytest.raises(InstrumentError, match="TRAC:DATA"),
    ):
        smu.sweep_voltage_list([0.1])


def test_error_queue_entries_become_an_exception():
    with (
        expected_protocol(
            Keithley2450,
            [
                (":OUTP 1", None),
                ("SYST:ERR?", '5074,"Output enable not asserted;1;2024/01/01 00:00:00.000"'),
                ("SYST:ERR?", '0,"No error;0;0 0"'),
            ],
        ) as smu,
        pytest.raises(InstrumentError, match=r"5074, Output enable not asserted.*':OUTP 1'"),
    ):
        smu.enable_output()


def test_output_off_and_safe_state():
    with expected_protocol(
        Keithley2450,
        [
            (":OUTP 0", None),
            NO_ERROR,
            (":ABOR", None),
            (":SOUR:FUNC VOLT", None),
            (":SOUR:VOLT 0", None),
            (":OUTP 0", None),
            NO_ERROR,
        ],
    ) as smu:
        smu.disable_output()
        smu.safe_state()


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s: s.set_voltage(-211), r"voltage_v=-211 is out of range; allowed: -210 to 210 V"),
        (lambda s: s.configure_voltage_source(0, 1), r"compliance_current_a=0 is out of range"),
        (lambda s: s.configure_voltage_source(1e-3, 11), r"nplc=11 is out of range"),
        (lambda s: s.sweep_voltage_list([1e3]), r"voltages_v\[0\]=1000\.0 is out of range"),
        (lambda s: setattr(s, "source_voltage", 300), r"300 is not in range"),
        (lambda s: setattr(s, "current_nplc", 0), r"0 is not in range"),
        (lambda s: setattr(s, "sense_function", 'CURR";*RST'), r"not in the discrete set"),
    ],
)
def test_refused_values_send_no_byte(call, message):
    with expected_protocol(Keithley2450, []) as smu, pytest.raises(ValueError, match=message):
        call(smu)


@pytest.mark.parametrize(
    ("prop", "value", "set_command", "reply"),
    [
        ("source_function", "current", ":SOUR:FUNC CURR", "CURR"),
        ("source_voltage", -0.5, ":SOUR:VOLT -0.5", "-5.000000E-01"),
        ("source_voltage_range_auto_enabled", False, ":SOUR:VOLT:RANG:AUTO 0", "0"),
        ("current_limit", 1e-5, ":SOUR:VOLT:ILIM 1e-05", "1.000000E-05"),
        ("sense_function", "voltage", ':SENS:FUNC "VOLT:DC"', '"VOLT:DC"'),
        ("current_range_auto_enabled", True, ":SENS:CURR:RANG:AUTO 1", "1"),
        ("current_nplc", 10, ":SENS:CURR:NPLC 10", "1.000000E+01"),
        ("output_enabled", True, ":OUTP 1", "1"),
    ],
)
def test_every_property_sets_and_reads_back(prop, value, set_command, reply):
    with expected_protocol(
        Keithley2450, [(set_command, None), (set_command.split(" ")[0] + "?", reply)]
    ) as smu:
        setattr(smu, prop, value)
        assert getattr(smu, prop) == value


def test_leaving_a_with_block_goes_to_the_safe_state():
    with expected_protocol(
        Keithley2450,
        [
            (":ABOR", None),
            (":SOUR:FUNC VOLT", None),
            (":SOUR:VOLT 0", None),
            (":OUTP 0", None),
            NO_ERROR,
        ],
    ) as smu:
        with smu:
            pass
        assert smu.isShutdown
