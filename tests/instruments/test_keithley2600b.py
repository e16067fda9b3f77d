"""Keithley 2600B driver (TSP) pinned byte for byte."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pymeasure.test import expected_protocol

from mtjlab.instruments.keithley2600b import Keithley2600B
from mtjlab.instruments.roles import ChannelSpecError, InstrumentError

NO_ERROR = ("print(errorqueue.next())", "0.00000e+00\tQueue Is Empty\t0.00000e+00\t0.00000e+00")


def test_nplc_1_sends_exactly_1():
    # pymeasure 0.16.0's Keithley2600 maps this value through a list and sends something else
    with expected_protocol(Keithley2600B, [("smua.measure.nplc=1", None)]) as smu:
        smu.smu.measure_nplc = 1


def test_channel_properties_on_channel_b():
    with expected_protocol(
        Keithley2600B,
        [
            ("smub.measure.nplc=0.01", None),
            ("print(smub.measure.nplc)", "1.00000e-02"),
            ("smub.source.levelv=-1.25", None),
            ("print(smub.source.func)", "1.00000e+00"),
            ("print(smub.source.output)", "0.00000e+00"),
        ],
        channel="b",
    ) as smu:
        smu.smu.measure_nplc = 0.01
        assert smu.smu.measure_nplc == 0.01
        smu.smu.source_voltage = -1.25
        assert smu.smu.source_function == "voltage"
        assert smu.smu.output_enabled is False


def test_configure_voltage_source_and_measure():
    with expected_protocol(
        Keithley2600B,
        [
            ("smua.source.func=1", None),
            ("smua.source.autorangev=1", None),
            ("smua.source.limiti=0.0001", None),
            ("smua.measure.autorangei=1", None),
            ("smua.measure.nplc=1", None),
            NO_ERROR,
            ("smua.source.levelv=0.05", None),
            NO_ERROR,
            ("print(smua.measure.iv())", "1.00000e-05\t5.00000e-02"),
        ],
    ) as smu:
        smu.configure_voltage_source(compliance_current_a=1e-4, nplc=1)
        smu.set_voltage(0.05)
        assert smu.measure() == (0.05, 1e-5)


def test_list_sweep_is_one_trigger_sequence_and_one_buffer_print():
    with expected_protocol(
        Keithley2600B,
        [
            ("smua.source.levelv=0", None),
            ("smua.nvbuffer1.clear()", None),
            ("smua.trigger.source.listv({0.1,-0.2,0.3})", None),
            ("smua.trigger.source.action=smua.ENABLE", None),
            ("smua.trigger.measure.i(smua.nvbuffer1)", None),
            ("smua.trigger.measure.action=smua.ENABLE", None),
            ("smua.trigger.endsweep.action=smua.SOURCE_IDLE", None),
            ("smua.trigger.arm.count=1", None),
            ("smua.trigger.count=3", None),
            NO_ERROR,
            ("smua.trigger.initiate()", None),
            ("waitcomplete()", None),
            ("printbuffer(1,3,smua.nvbuffer1.readings)", "1.00000e-05, -2.00000e-05, 3.00000e-05"),
            ("smua.trigger.source.action=smua.DISABLE", None),
            ("smua.trigger.measure.action=smua.DISABLE", None),
            NO_ERROR,
        ],
    ) as smu:
        currents = smu.sweep_voltage_list([0.1, -0.2, 0.3])
    np.testing.assert_array_equal(currents, [1e-5, -2e-5, 3e-5])


def test_tsp_error_queue_entry_becomes_an_exception_naming_the_command():
    with (
        expected_protocol(
            Keithley2600B,
            [
                ("smua.source.output=1", None),
                ("print(errorqueue.next())", "8.02000e+02\tOUTPUT blocked by interlock\t2\t0"),
                NO_ERROR,
            ],
        ) as smu,
        pytest.raises(InstrumentError) as info,
    ):
        smu.enable_output()
    assert info.value.errors == ((802, "OUTPUT blocked by interlock"),)
    assert info.value.commands == ("smua.source.output=1",)
    assert "Keithley 2600B SourceMeter" in str(info.value)


def test_garbled_measure_reply_raises():
    with (
        expected_protocol(Keithley2600B, [("print(smua.measure.iv())", "nil")]) as smu,
        pytest.raises(InstrumentError, match="expected current<TAB>voltage, got 'nil'"),
    ):
        smu.measure()


def test_output_off_and_safe_state():
    with expected_protocol(
        Keithley2600B,
        [
            ("smub.source.output=0", None),
            NO_ERROR,
            ("smub.abort()", None),
            ("smub.source.func=1", None),
            ("smub.source.levelv=0", None),
            ("smub.source.output=0", None),
            NO_ERROR,
        ],
        channel="b",
    ) as smu:
        smu.disable_output()
        smu.safe_state()


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s: s.set_voltage(200.1), r"voltage_v=200\.1 is out of range; allowed: -200 to 200"),
        (lambda s: s.configure_voltage_source(1e-3, 30), r"nplc=30 is out of range"),
        (lambda s: s.configure_voltage_source(2, 1), r"compliance_current_a=2 is out of range"),
        (lambda s: s.sweep_voltage_list([0.1] * 101), r"101 points; allowed: 1 to 100"),
        (lambda s: setattr(s.smu, "measure_nplc", 0.0001), r"0\.0001 is not in range"),
    ],
)
def test_refused_values_send_no_byte(call, message):
    with expected_protocol(Keithley2600B, []) as smu, pytest.raises(ValueError, match=message):
        call(smu)


@given(st.text(min_size=0, max_size=12).filter(lambda s: s not in ("a", "b")))
def test_any_channel_name_but_a_or_b_is_refused_before_connecting(name):
    with (
        pytest.raises(ChannelSpecError, match="is not of the form 'a' or 'b'"),
        expected_protocol(Keithley2600B, [], channel=name),
    ):
        pass


@pytest.mark.parametrize("name", ["a\n", "a;reset()", "a.source.output=1 --", "A", "ａ", "c"])
def test_hostile_channel_names_are_refused(name):
    with pytest.raises(ChannelSpecError) as info:
        Keithley2600B(None, channel=name)
    assert repr(name) in str(info.value)


@pytest.mark.parametrize(
    ("prop", "value", "set_command", "reply"),
    [
        ("source_function", "current", "smua.source.func=0", "0.00000e+00"),
        ("source_voltage", 12.5, "smua.source.levelv=12.5", "1.25000e+01"),
        ("source_autorange_v_enabled", False, "smua.source.autorangev=0", "0.00000e+00"),
        ("current_limit", 1e-6, "smua.source.limiti=1e-06", "1.00000e-06"),
        ("measure_autorange_i_enabled", True, "smua.measure.autorangei=1", "1.00000e+00"),
        ("measure_nplc", 25, "smua.measure.nplc=25", "2.50000e+01"),
        ("measure_nplc", 0.001, "smua.measure.nplc=0.001", "1.00000e-03"),
        ("output_enabled", True, "smua.source.output=1", "1.00000e+00"),
    ],
)
def test_every_channel_property_sets_and_reads_back(prop, value, set_command, reply):
    attribute = set_command.split("=")[0]
    with expected_protocol(
        Keithley2600B, [(set_command, None), (f"print({attribute})", reply)]
    ) as smu:
        setattr(smu.smu, prop, value)
        assert getattr(smu.smu, prop) == value


def test_leaving_a_with_block_goes_to_the_safe_state():
    with expected_protocol(
        Keithley2600B,
        [
            ("smua.abort()", None),
            ("smua.source.func=1", None),
            ("smua.source.levelv=0", None),
            ("smua.source.output=0", None),
            NO_ERROR,
        ],
    ) as smu:
        with smu:
            pass
        assert smu.isShutdown
