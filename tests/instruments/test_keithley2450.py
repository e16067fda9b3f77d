"""Keithley 2450 driver (native SCPI) pinned byte for byte."""

import numpy as np
import pytest
from pymeasure.test import expected_protocol

from mtjlab.instruments.keithley2450 import Keithley2450
from mtjlab.instruments.roles import InstrumentError

NO_ERROR = ("SYST:ERR?", '0,"No error;0;0 0"')
REFUSED = [("SYST:ERR?", '-222,"Parameter data out of range;1;2024/01/01"'), NO_ERROR]


def configure_bytes(compliance="0.001", nplc="2", protection="NONE"):
    """The command-set check and the setup writes of configure_voltage_source, before its
    error check."""
    return [
        ("*LANG?", "SCPI"),
        (":OUTP 0", None),
        # the output-off state and the protection are kept per source function: set after it
        (":SOUR:FUNC VOLT", None),
        (f":SOUR:VOLT:PROT {protection}", None),
        (":OUTP:VOLT:SMOD NORM", None),
        (":SOUR:VOLT:RANG:AUTO 1", None),
        (f":SOUR:VOLT:ILIM {compliance}", None),
        (':SENS:FUNC "CURR:DC"', None),
        (":SENS:CURR:RSEN 0", None),
        (":SENS:CURR:RANG:AUTO 1", None),
        (f":SENS:CURR:NPLC {nplc}", None),
    ]


def read_backs(compliance="1.000000E-03", protection="NONE"):
    return [
        (":SOUR:FUNC?", "VOLT"),
        (":SOUR:VOLT:ILIM?", compliance),
        (":SOUR:VOLT:PROT?", protection),
    ]


#: configure_voltage_source(1e-3, 2) and set_voltage(-0.2), both confirmed.
CONFIRMED = [
    *configure_bytes(),
    NO_ERROR,
    *read_backs(),
    (":SOUR:VOLT -0.2", None),
    NO_ERROR,
    (":SOUR:VOLT?", "-2.000000E-01"),
]
OUTPUT_ON = (":OUTP 1", None)
IS_ON = (":OUTP?", "1")


def confirm(smu):
    smu.configure_voltage_source(compliance_current_a=1e-3, nplc=2)
    smu.set_voltage(-0.2)


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


def test_configure_checks_the_command_set_sets_what_a_last_user_may_have_left_and_reads_back():
    with expected_protocol(Keithley2450, [*configure_bytes(), NO_ERROR, *read_backs()]) as smu:
        smu.configure_voltage_source(compliance_current_a=1e-3, nplc=2)


@pytest.mark.parametrize("language", ["TSP", "SCPI2400"])
def test_configure_refuses_an_instrument_in_another_command_set_and_sends_nothing_else(language):
    with (
        expected_protocol(Keithley2450, [("*LANG?", language)]) as smu,
        pytest.raises(InstrumentError, match=rf"obeys the '{language}' command set"),
    ):
        smu.configure_voltage_source(1e-3, 2)


@pytest.mark.parametrize(
    ("limit", "protection"),
    [(1.5, "PROT2"), (2, "PROT2"), (2.01, "PROT5"), (9, "PROT10"), (100, "PROT100"),
     (179, "PROT180"), (180.5, "NONE"), (210, "NONE")],
)  # fmt: skip
def test_overvoltage_protection_is_the_lowest_setting_covering_the_limit(limit, protection):
    # 2450 Reference Manual, smu.source.protect.level: 2, 5, 10, 20, 40, ... 180 V or NONE
    with expected_protocol(
        Keithley2450,
        [*configure_bytes(protection=protection), NO_ERROR, *read_backs(protection=protection)],
    ) as smu:
        smu.configure_voltage_source(1e-3, 2, voltage_limit_v=limit)


def test_a_voltage_limit_bounds_later_levels_and_lists_before_any_byte():
    with expected_protocol(
        Keithley2450,
        [*configure_bytes(protection="PROT5"), NO_ERROR, *read_backs(protection="PROT5")],
    ) as smu:
        smu.configure_voltage_source(1e-3, 2, voltage_limit_v=3)
        with pytest.raises(ValueError, match=r"voltage_v=3\.5 is out of range; allowed: -3 to 3"):
            smu.set_voltage(3.5)
        with pytest.raises(ValueError, match=r"voltages_v\[0\]=-4 is out of range"):
            smu.sweep_voltage_list([-4])


def test_set_voltage_reads_the_level_back_and_measure():
    with expected_protocol(
        Keithley2450,
        [
            (":SOUR:VOLT -0.2", None),
            NO_ERROR,
            (":SOUR:VOLT?", "-2.000000E-01"),
            (':READ? "defbuffer1",SOUR,READ', "-2.000000E-01,-4.000000E-05"),
        ],
    ) as smu:
        smu.set_voltage(-0.2)
        assert smu.measure() == (-0.2, -4e-5)


def sweep_setup(listed, points):
    return [
        IS_ON,
        (':TRAC:CLE "defbuffer1"', None),
        (f":SOUR:LIST:VOLT {listed}", None),
        # one pass, abort at the first point over the current limit
        (":SOUR:SWE:VOLT:LIST 1,0,1,ON", None),
        NO_ERROR,
        (":INIT", None),
        ("*WAI", None),
    ]


def test_list_sweep_is_one_trigger_model_and_one_buffer_read():
    with expected_protocol(
        Keithley2450,
        [
            *sweep_setup("0.1,0.2", 2),
            (':TRAC:ACT? "defbuffer1"', "2"),
            (':TRAC:DATA? 1,2,"defbuffer1",SOUR,READ', "1.0E-01,1.0E-05,2.0E-01,2.5E-05"),
            (":SOUR:VOLT 0", None),
            NO_ERROR,
        ],
    ) as smu:
        currents = smu.sweep_voltage_list(np.array([0.1, 0.2]))
    np.testing.assert_array_equal(currents, [1e-5, 2.5e-5])


def test_a_sweep_stopped_by_compliance_says_so_instead_of_waiting_for_missing_readings():
    with expected_protocol(
        Keithley2450,
        [
            *configure_bytes(),
            NO_ERROR,
            *read_backs(),
            *sweep_setup("0.1,0.2,0.3", 3),
            (':TRAC:ACT? "defbuffer1"', "1"),
            (":SOUR:VOLT 0", None),
            NO_ERROR,
        ],
    ) as smu:
        smu.configure_voltage_source(1e-3, 2)
        with pytest.raises(InstrumentError) as info:
            smu.sweep_voltage_list([0.1, 0.2, 0.3])
    message = str(info.value)
    assert "compliance: the current limit of 0.001 A was reached by point 2 of 3 (0.2 V)" in message
    assert "1 reading(s) stored" in message


def test_list_sweep_with_the_output_off_is_refused():
    # the sweep's trigger model drives the output itself, so it must not start from off
    with (
        expected_protocol(Keithley2450, [(":OUTP?", "0")]) as smu,
        pytest.raises(InstrumentError, match=r"sweep_voltage_list\(\) refused: the output is off"),
    ):
        smu.sweep_voltage_list([0.1])


def test_garbled_buffer_reply_raises_naming_the_query():
    with (
        expected_protocol(
            Keithley2450,
            [
                *sweep_setup("0.1", 1),
                (':TRAC:ACT? "defbuffer1"', "1"),
                (':TRAC:DATA? 1,1,"defbuffer1",SOUR,READ', "1.0E-01,#$%"),
                (":SOUR:VOLT 0", None),
                NO_ERROR,
            ],
        ) as smu,
        pytest.raises(InstrumentError, match="TRAC:DATA"),
    ):
        smu.sweep_voltage_list([0.1])


def test_enable_output_after_a_confirmed_setup_and_level():
    with expected_protocol(Keithley2450, [*CONFIRMED, OUTPUT_ON, NO_ERROR]) as smu:
        confirm(smu)
        smu.enable_output()


def test_error_queue_entries_become_an_exception():
    with (
        expected_protocol(
            Keithley2450,
            [
                *CONFIRMED,
                OUTPUT_ON,
                ("SYST:ERR?", '5074,"Output enable not asserted;1;2024/01/01 00:00:00.000"'),
                ("SYST:ERR?", '0,"No error;0;0 0"'),
            ],
        ) as smu,
        pytest.raises(InstrumentError, match=r"5074, Output enable not asserted.*':OUTP 1'"),
    ):
        confirm(smu)
        smu.enable_output()


def test_enable_output_without_a_confirmed_setup_sends_nothing():
    with (
        expected_protocol(Keithley2450, []) as smu,
        pytest.raises(InstrumentError, match=r"output not turned on; it needs configure_volt"),
    ):
        smu.enable_output()


def test_a_refused_configuration_is_never_followed_by_output_on():
    with expected_protocol(
        Keithley2450,
        [*configure_bytes(), *REFUSED, (":SOUR:VOLT -0.2", None), NO_ERROR,
         (":SOUR:VOLT?", "-2.000000E-01")],
    ) as smu:  # fmt: skip
        with pytest.raises(InstrumentError, match="Parameter data out of range"):
            smu.configure_voltage_source(1e-3, 2)
        smu.set_voltage(-0.2)
        with pytest.raises(InstrumentError, match="it needs configure_voltage_source"):
            smu.enable_output()


def test_a_protection_read_back_other_than_set_is_not_confirmed():
    with expected_protocol(
        Keithley2450,
        [*configure_bytes(protection="PROT20"), NO_ERROR, *read_backs(protection="NONE")],
    ) as smu:
        with pytest.raises(InstrumentError, match=r"overvoltage protection reads back as 'NONE'"):
            smu.configure_voltage_source(1e-3, 2, voltage_limit_v=20)
        with pytest.raises(InstrumentError, match="output not turned on"):
            smu.enable_output()


def test_a_refused_level_withdraws_the_confirmation():
    with expected_protocol(Keithley2450, [*CONFIRMED, (":SOUR:VOLT 0.5", None), *REFUSED]) as smu:
        confirm(smu)
        with pytest.raises(InstrumentError, match="Parameter data out of range"):
            smu.set_voltage(0.5)
        with pytest.raises(InstrumentError, match="output not turned on"):
            smu.enable_output()


SAFE_STATE = [
    NO_ERROR,  # drained first: an earlier failure's entries are not blamed on the safe state
    (":ABOR", None),
    (":OUTP 0", None),
    (":SOUR:FUNC VOLT", None),
    (":SOUR:VOLT 0", None),
    NO_ERROR,
]


def test_output_off_and_safe_state():
    with expected_protocol(Keithley2450, [(":OUTP 0", None), NO_ERROR, *SAFE_STATE]) as smu:
        smu.disable_output()
        smu.safe_state()


def test_safe_state_withdraws_the_confirmation_and_ignores_old_queue_entries():
    with expected_protocol(
        Keithley2450,
        [*CONFIRMED, ("SYST:ERR?", '-410,"Query INTERRUPTED;1;2024/01/01"'), *SAFE_STATE],
    ) as smu:
        confirm(smu)
        smu.safe_state()
        with pytest.raises(InstrumentError, match="output not turned on"):
            smu.enable_output()


def test_safe_state_tries_every_step_and_reports_every_failure():
    with expected_protocol(
        Keithley2450, [*SAFE_STATE[:-1], ("SYST:ERR?", '-200,"Execution error;1;x"'), NO_ERROR]
    ) as smu:
        write = smu.write

        def dead_on_abort(command, **kwargs):
            write(command, **kwargs)
            if command == ":ABOR":
                raise TimeoutError("VI_ERROR_TMO")

        smu.write = dead_on_abort
        with pytest.raises(InstrumentError) as info:
            smu.safe_state()
    assert [code for code, _ in info.value.errors] == [0, -200]
    assert "abort: TimeoutError: VI_ERROR_TMO" in str(info.value)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s: s.set_voltage(-211), r"voltage_v=-211 is out of range; allowed: -210 to 210 V"),
        (lambda s: s.configure_voltage_source(0, 1), r"compliance_current_a=0 is out of range"),
        (lambda s: s.configure_voltage_source(1e-3, 11), r"nplc=11 is out of range"),
        (
            lambda s: s.configure_voltage_source(1e-3, 1, voltage_limit_v=-1),
            r"voltage_limit_v=-1 is out of range; allowed: 0 to 210 V",
        ),
        (lambda s: s.sweep_voltage_list([1e3]), r"voltages_v\[0\]=1000\.0 is out of range"),
        (lambda s: setattr(s, "source_voltage", 300), r"300 is not in range"),
        (lambda s: setattr(s, "current_nplc", 0), r"0 is not in range"),
        (lambda s: setattr(s, "sense_function", 'CURR";*RST'), r"not in the discrete set"),
        (lambda s: setattr(s, "voltage_protection", "PROT3"), r"not in the discrete set"),
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
        ("voltage_protection", "PROT40", ":SOUR:VOLT:PROT PROT40", "PROT40"),
        ("voltage_output_off_mode", "NORM", ":OUTP:VOLT:SMOD NORM", "NORM"),
        ("current_remote_sense_enabled", False, ":SENS:CURR:RSEN 0", "0"),
    ],
)
def test_every_property_sets_and_reads_back(prop, value, set_command, reply):
    with expected_protocol(
        Keithley2450, [(set_command, None), (set_command.split(" ")[0] + "?", reply)]
    ) as smu:
        setattr(smu, prop, value)
        assert getattr(smu, prop) == value


def test_leaving_a_with_block_goes_to_the_safe_state():
    with expected_protocol(Keithley2450, SAFE_STATE) as smu:
        with smu:
            pass
        assert smu.isShutdown
