"""Keithley 2400 driver pinned byte for byte with pymeasure's expected_protocol."""

import numpy as np
import pytest
from pymeasure.test import expected_protocol

from mtjlab.instruments.keithley2400 import Keithley2400
from mtjlab.instruments.roles import InstrumentError

INIT = (":FORMAT:ELEMENTS VOLTAGE, CURRENT, RESISTANCE, TIME, STATUS", None)
NO_ERROR = ("SYST:ERR?", '0,"No error"')
REFUSED = [("SYST:ERR?", '-222,"Data out of range"'), NO_ERROR]


def configure_bytes(compliance="0.0001", nplc="1", protection="210"):
    """The setup writes of configure_voltage_source, before its error check."""
    return [
        ("OUTPUT 0", None),
        # auto output-off would let :READ? turn the output on by itself (manual 18-72)
        (":SOUR:CLE:AUTO 0", None),
        (f":SOUR:VOLT:PROT {protection}", None),
        (":SYSTEM:RSENSE 0", None),
        (":OUTP:SMOD NORM", None),
        (":SOURCE:FUNCTION VOLT", None),
        (":SOURCE:VOLTAGE:MODE FIXED", None),
        (":SOURCE:VOLTAGE:RANGE:AUTO 1", None),
        (':SENSE:FUNCTION "CURRENT"', None),
        (f":SENSE:CURRENT:PROTECTION {compliance}", None),
        (":SENSE:CURRENT:RANGE:AUTO 1", None),
        (f":SENSE:CURRENT:NPLCYCLES {nplc}", None),
    ]


def read_backs(compliance="1.000000E-04", protection="2.100000E+02"):
    return [
        (":SOURCE:FUNCTION?", "VOLT"),
        (":SENSE:CURRENT:PROTECTION?", compliance),
        (":SOUR:VOLT:PROT?", protection),
    ]


#: configure_voltage_source(1e-4, 1) and set_voltage(0.1), both confirmed.
CONFIRMED = [
    *configure_bytes(),
    NO_ERROR,
    *read_backs(),
    (":SOURCE:VOLTAGE 0.1", None),
    NO_ERROR,
    (":SOURCE:VOLTAGE?", "1.000000E-01"),
]
OUTPUT_ON = ("OUTPUT 1", None)
IS_ON = ("OUTPUT?", "1")


def confirm(smu):
    smu.configure_voltage_source(compliance_current_a=1e-4, nplc=1)
    smu.set_voltage(0.1)


def test_configure_sets_what_a_last_user_may_have_left_then_reads_back():
    with expected_protocol(
        Keithley2400, [INIT, *configure_bytes(), NO_ERROR, *read_backs()]
    ) as smu:
        smu.configure_voltage_source(compliance_current_a=1e-4, nplc=1)


@pytest.mark.parametrize(
    ("limit", "level", "reply"),
    [(2, "20", "2.000000E+01"), (20, "20", "2.000000E+01"), (20.5, "40", "4.000000E+01"),
     (150, "160", "1.600000E+02"), (160.1, "210", "2.100000E+02")],
)  # fmt: skip
def test_overvoltage_protection_is_the_lowest_2400_level_covering_the_limit(limit, level, reply):
    # 2400 manual 18-81: 20, 40, 60, 80, 100, 120, 160 V; 161 to 210 V is NONE
    with expected_protocol(
        Keithley2400,
        [INIT, *configure_bytes(protection=level), NO_ERROR, *read_backs(protection=reply)],
    ) as smu:
        smu.configure_voltage_source(1e-4, 1, voltage_limit_v=limit)


def test_a_voltage_limit_bounds_later_levels_and_lists_before_any_byte():
    with expected_protocol(
        Keithley2400,
        [INIT, *configure_bytes(protection="20"), NO_ERROR,
         *read_backs(protection="2.000000E+01")],
    ) as smu:  # fmt: skip
        smu.configure_voltage_source(1e-4, 1, voltage_limit_v=2.0)
        with pytest.raises(ValueError, match=r"voltage_v=2\.5 is out of range; allowed: -2 to 2"):
            smu.set_voltage(2.5)
        with pytest.raises(ValueError, match=r"voltages_v\[1\]=-3 is out of range"):
            smu.sweep_voltage_list([1, -3])


def test_a_protection_level_read_back_below_the_limit_is_refused():
    # a 2410 on this driver: 60 V is between its 40 and 100 V levels, so it selects 40 V
    with (
        expected_protocol(
            Keithley2400,
            [INIT, *configure_bytes(protection="60"), NO_ERROR,
             *read_backs(protection="4.000000E+01")],
        ) as smu,
        pytest.raises(InstrumentError, match=r"overvoltage protection reads back as 40 V"),
    ):  # fmt: skip
        smu.configure_voltage_source(1e-4, 1, voltage_limit_v=50)
    assert smu._confirmed == set()


def test_set_voltage_reads_the_level_back_and_measure_asks_for_the_output_first():
    with expected_protocol(
        Keithley2400,
        [
            INIT,
            (":SOURCE:VOLTAGE 0.1", None),
            NO_ERROR,
            (":SOURCE:VOLTAGE?", "1.000000E-01"),
            IS_ON,
            (":READ?", "+1.000000E-01,+2.000000E-05,+9.910000E+37,+1.234000E+03,+2.150800E+04"),
        ],
    ) as smu:
        smu.set_voltage(0.1)
        assert smu.measure() == (0.1, 2e-5)


def test_measure_current_a_returns_the_current_element():
    with expected_protocol(
        Keithley2400,
        [INIT, IS_ON, (":READ?", "1.5E-01,3.0E-05,9.91E+37,1.0E+00,2.15E+04")],
    ) as smu:
        assert smu.measure_current_a() == 3e-5


def test_measure_with_the_output_off_is_refused_instead_of_timing_out():
    # 2400 manual 18-55: "Measurements cannot be made while the source is off"; :READ? would
    # never answer, so it must not be sent
    with (
        expected_protocol(Keithley2400, [INIT, ("OUTPUT?", "0")]) as smu,
        pytest.raises(InstrumentError, match=r"measure\(\) refused: the output is off"),
    ):
        smu.measure()


def test_list_sweep_is_one_trigger_sequence_and_one_read():
    reply = ",".join(
        ["1.0E-01,1.0E-05,9.91E+37,1.0,21508", "2.0E-01,2.0E-05,9.91E+37,1.1,21508",
         "-1.0E-01,-1.0E-05,9.91E+37,1.2,21508"]
    )  # fmt: skip
    with expected_protocol(
        Keithley2400,
        [
            INIT,
            IS_ON,
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


def test_list_sweep_with_the_output_off_is_refused():
    with (
        expected_protocol(Keithley2400, [INIT, ("OUTPUT?", "0")]) as smu,
        pytest.raises(InstrumentError, match=r"sweep_voltage_list\(\) refused: the output is off"),
    ):
        smu.sweep_voltage_list([0.1])


def test_list_sweep_with_a_short_reply_raises_and_still_restores_fixed_mode():
    with (
        expected_protocol(
            Keithley2400,
            [
                INIT,
                IS_ON,
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


def test_enable_output_after_a_confirmed_setup_and_level():
    with expected_protocol(Keithley2400, [INIT, *CONFIRMED, OUTPUT_ON, NO_ERROR]) as smu:
        confirm(smu)
        smu.enable_output()


def test_enable_output_without_a_configuration_sends_nothing():
    with (
        expected_protocol(Keithley2400, [INIT]) as smu,
        pytest.raises(InstrumentError, match=r"output not turned on; it needs configure_volt"),
    ):
        smu.enable_output()


def test_enable_output_without_a_level_sends_nothing():
    with expected_protocol(
        Keithley2400, [INIT, *configure_bytes(), NO_ERROR, *read_backs()]
    ) as smu:
        smu.configure_voltage_source(1e-4, 1)
        with pytest.raises(InstrumentError, match=r"it needs set_voltage\(\)"):
            smu.enable_output()


def test_a_refused_configuration_is_never_followed_by_output_on():
    with expected_protocol(
        Keithley2400, [INIT, *configure_bytes(), *REFUSED, (":SOURCE:VOLTAGE 0.1", None),
                       NO_ERROR, (":SOURCE:VOLTAGE?", "1.000000E-01")]
    ) as smu:  # fmt: skip
        with pytest.raises(InstrumentError, match="Data out of range"):
            smu.configure_voltage_source(1e-4, 1)
        smu.set_voltage(0.1)
        with pytest.raises(InstrumentError, match="it needs configure_voltage_source"):
            smu.enable_output()


@pytest.mark.parametrize(
    ("query", "reply", "message"),
    [
        (":SOURCE:FUNCTION?", "CURR", r"source function reads back as 'CURR'"),
        (":SENSE:CURRENT:PROTECTION?", "1.000000E-03", r"compliance reads back as 0\.001 A"),
    ],
)
def test_a_configuration_read_back_wrong_is_not_confirmed(query, reply, message):
    backs = [(q, reply if q == query else r) for q, r in read_backs()]
    backs = backs[: [q for q, _ in backs].index(query) + 1]
    with expected_protocol(Keithley2400, [INIT, *configure_bytes(), NO_ERROR, *backs]) as smu:
        with pytest.raises(InstrumentError, match=message):
            smu.configure_voltage_source(1e-4, 1)
        with pytest.raises(InstrumentError, match="output not turned on"):
            smu.enable_output()


def test_a_refused_level_withdraws_the_confirmation():
    with expected_protocol(
        Keithley2400, [INIT, *CONFIRMED, (":SOURCE:VOLTAGE 0.2", None), *REFUSED]
    ) as smu:
        confirm(smu)
        with pytest.raises(InstrumentError, match="Data out of range"):
            smu.set_voltage(0.2)
        with pytest.raises(InstrumentError, match="output not turned on"):
            smu.enable_output()


def test_a_level_read_back_wrong_is_not_confirmed():
    sent = [INIT, (":SOURCE:VOLTAGE 150", None), NO_ERROR, (":SOURCE:VOLTAGE?", "2.000000E+01")]
    with (
        expected_protocol(Keithley2400, sent) as smu,
        pytest.raises(InstrumentError, match=r"source level reads back as 20 V"),
    ):
        smu.set_voltage(150)


def test_instrument_error_names_instrument_command_and_message():
    with (
        expected_protocol(
            Keithley2400,
            [
                INIT,
                *CONFIRMED,
                OUTPUT_ON,
                ("SYST:ERR?", '-221,"Settings conflict"'),
                ("SYST:ERR?", '0,"No error"'),
            ],
        ) as smu,
        pytest.raises(InstrumentError) as info,
    ):
        confirm(smu)
        smu.enable_output()
    message = str(info.value)
    assert "Keithley 2400 SourceMeter" in message
    assert "'OUTPUT 1'" in message
    assert "-221, Settings conflict" in message
    assert info.value.errors == ((-221, "Settings conflict"),)


SAFE_STATE = [
    NO_ERROR,  # drained first: an earlier failure's entries are not blamed on the safe state
    (":ABORT", None),
    ("OUTPUT 0", None),
    (":SOURCE:FUNCTION VOLT", None),
    (":SOURCE:VOLTAGE:MODE FIXED", None),
    (":SOURCE:VOLTAGE 0", None),
    NO_ERROR,
]


def test_output_off_and_safe_state():
    with expected_protocol(Keithley2400, [INIT, ("OUTPUT 0", None), NO_ERROR, *SAFE_STATE]) as smu:
        smu.disable_output()
        smu.safe_state()


def test_safe_state_withdraws_the_confirmation():
    with expected_protocol(Keithley2400, [INIT, *CONFIRMED, *SAFE_STATE]) as smu:
        confirm(smu)
        smu.safe_state()
        with pytest.raises(InstrumentError, match="output not turned on"):
            smu.enable_output()


def test_safe_state_is_not_blamed_for_entries_an_earlier_failure_left():
    with expected_protocol(
        Keithley2400, [INIT, ("SYST:ERR?", '-410,"Query INTERRUPTED"'), *SAFE_STATE]
    ) as smu:
        smu.safe_state()


def test_safe_state_tries_every_step_after_one_fails():
    with expected_protocol(Keithley2400, [INIT, *SAFE_STATE[:1], *SAFE_STATE[2:]]) as smu:
        write = smu.write

        def dead_on_abort(command, **kwargs):
            if command == ":ABORT":
                raise TimeoutError("VI_ERROR_TMO")
            write(command, **kwargs)

        smu.write = dead_on_abort
        with pytest.raises(InstrumentError, match=r"abort: TimeoutError: VI_ERROR_TMO"):
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
            lambda s: s.configure_voltage_source(1e-3, 1, voltage_limit_v=211),
            r"voltage_limit_v=211 is out of range; allowed: 0 to 210 V",
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
        ("voltage_protection_v", 40, ":SOUR:VOLT:PROT 40", "4.000000E+01"),
        ("output_off_mode", "NORM", ":OUTP:SMOD NORM", "NORM"),
        ("auto_output_off_enabled", False, ":SOUR:CLE:AUTO 0", "0"),
    ],
)
def test_the_properties_set_and_read_back(prop, value, set_command, reply):
    with expected_protocol(
        Keithley2400, [INIT, (set_command, None), (set_command.split(" ")[0] + "?", reply)]
    ) as smu:
        setattr(smu, prop, value)
        assert getattr(smu, prop) == value


def test_a_protection_level_between_the_2400s_levels_is_refused_before_any_byte():
    with expected_protocol(Keithley2400, [INIT]) as smu, pytest.raises(ValueError):
        smu.voltage_protection_v = 50


def test_leaving_a_with_block_goes_to_the_safe_state_without_pymeasures_slow_ramp():
    with expected_protocol(Keithley2400, [INIT, *SAFE_STATE]) as smu:
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
