"""Keithley 2600B driver (TSP) pinned byte for byte."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pymeasure.adapters import ProtocolAdapter
from pymeasure.test import expected_protocol

from mtjlab.instruments.keithley2600b import Keithley2600B
from mtjlab.instruments.roles import ChannelSpecError, InstrumentError

NO_ERROR = ("print(errorqueue.next())", "0.00000e+00\tQueue Is Empty\t0.00000e+00\t0.00000e+00")
REFUSED = [("print(errorqueue.next())", "-2.22000e+02\tParameter out of range\t2\t0"), NO_ERROR]


def model(name="2636B"):
    """What the driver reads at connection to pick the model's limits."""
    return ("print(localnode.model)", name)


def configure_bytes(ch="a", compliance="0.0001", nplc="1"):
    """The setup writes of configure_voltage_source, before its error check."""
    return [
        (f"smu{ch}.source.output=0", None),
        (f"smu{ch}.sense=0", None),
        (f"smu{ch}.source.func=1", None),
        (f"smu{ch}.source.offmode=0", None),
        (f"smu{ch}.source.offfunc=1", None),
        (f"smu{ch}.source.offlimiti={compliance}", None),
        (f"smu{ch}.source.autorangev=1", None),
        (f"smu{ch}.source.limiti={compliance}", None),
        (f"smu{ch}.measure.autorangei=1", None),
        (f"smu{ch}.measure.nplc={nplc}", None),
    ]


def read_backs(ch="a", compliance="1.00000e-04"):
    return [
        (f"print(smu{ch}.source.func)", "1.00000e+00"),
        (f"print(smu{ch}.source.limiti)", compliance),
    ]


#: configure_voltage_source(1e-4, 1) and set_voltage(0.05), both confirmed.
CONFIRMED = [
    *configure_bytes(),
    NO_ERROR,
    *read_backs(),
    ("smua.source.levelv=0.05", None),
    NO_ERROR,
    ("print(smua.source.levelv)", "5.00000e-02"),
]
OUTPUT_ON = ("smua.source.output=1", None)
IS_ON = ("print(smua.source.output)", "1.00000e+00")


def confirm(smu):
    smu.configure_voltage_source(compliance_current_a=1e-4, nplc=1)
    smu.set_voltage(0.05)


def test_nplc_1_sends_exactly_1():
    # pymeasure 0.16.0's Keithley2600 maps this value through a list and sends something else
    with expected_protocol(Keithley2600B, [model(), ("smua.measure.nplc=1", None)]) as smu:
        smu.smu.measure_nplc = 1


def test_channel_properties_on_channel_b():
    with expected_protocol(
        Keithley2600B,
        [
            model(),
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


def test_configure_sets_what_a_last_user_may_have_left_and_reads_back_then_measure():
    with expected_protocol(
        Keithley2600B,
        [model(), *CONFIRMED, ("print(smua.measure.iv())", "1.00000e-05\t5.00000e-02")],
    ) as smu:
        confirm(smu)
        assert smu.measure() == (0.05, 1e-5)


SWEEP_SETUP = [
    IS_ON,
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
]
SWEEP_END = [
    ("smua.trigger.source.action=smua.DISABLE", None),
    ("smua.trigger.measure.action=smua.DISABLE", None),
    ("smua.source.levelv=0", None),
]


def test_list_sweep_is_one_trigger_sequence_and_one_buffer_print():
    with expected_protocol(
        Keithley2600B,
        [
            model(),
            *SWEEP_SETUP,
            ("printbuffer(1,3,smua.nvbuffer1.readings)", "1.00000e-05, -2.00000e-05, 3.00000e-05"),
            *SWEEP_END,
            NO_ERROR,
        ],
    ) as smu:
        currents = smu.sweep_voltage_list([0.1, -0.2, 0.3])
    np.testing.assert_array_equal(currents, [1e-5, -2e-5, 3e-5])


def test_a_failed_buffer_read_still_disables_the_trigger_actions_and_returns_to_0_v():
    with (
        expected_protocol(
            Keithley2600B,
            [
                model(),
                *SWEEP_SETUP,
                ("printbuffer(1,3,smua.nvbuffer1.readings)", "1.00000e-05, nil"),
                *SWEEP_END,
                NO_ERROR,  # drained: the error raised is the garbled reply
            ],
        ) as smu,
        pytest.raises(InstrumentError, match="expected 3 readings"),
    ):
        smu.sweep_voltage_list([0.1, -0.2, 0.3])


def test_a_dead_link_during_the_sweep_still_disables_the_trigger_actions():
    with expected_protocol(Keithley2600B, [model(), *SWEEP_SETUP, *SWEEP_END, NO_ERROR]) as smu:
        ask = smu.ask

        def timeout_on_printbuffer(command, **kwargs):
            if command.startswith("printbuffer"):
                raise TimeoutError("VI_ERROR_TMO")
            return ask(command, **kwargs)

        smu.ask = timeout_on_printbuffer
        with pytest.raises(TimeoutError):
            smu.sweep_voltage_list([0.1, -0.2, 0.3])


def test_list_sweep_with_the_output_off_is_refused():
    with (
        expected_protocol(
            Keithley2600B, [model(), ("print(smua.source.output)", "0.00000e+00")]
        ) as smu,
        pytest.raises(InstrumentError, match=r"sweep_voltage_list\(\) refused: the output is off"),
    ):
        smu.sweep_voltage_list([0.1])


def test_enable_output_after_a_confirmed_setup_and_level():
    with expected_protocol(Keithley2600B, [model(), *CONFIRMED, OUTPUT_ON, NO_ERROR]) as smu:
        confirm(smu)
        smu.enable_output()


def test_tsp_error_queue_entry_becomes_an_exception_naming_the_command():
    with (
        expected_protocol(
            Keithley2600B,
            [
                model(),
                *CONFIRMED,
                OUTPUT_ON,
                ("print(errorqueue.next())", "8.02000e+02\tOUTPUT blocked by interlock\t2\t0"),
                NO_ERROR,
            ],
        ) as smu,
        pytest.raises(InstrumentError) as info,
    ):
        confirm(smu)
        smu.enable_output()
    assert info.value.errors == ((802, "OUTPUT blocked by interlock"),)
    # the commands since the last check: the level's read-back, then the one that failed
    assert info.value.commands == ("print(smua.source.levelv)", "smua.source.output=1")
    assert "Keithley 2600B SourceMeter" in str(info.value)


def test_enable_output_without_a_confirmed_setup_sends_nothing():
    with (
        expected_protocol(Keithley2600B, [model()]) as smu,
        pytest.raises(InstrumentError, match=r"output not turned on; it needs configure_volt"),
    ):
        smu.enable_output()


def test_a_refused_configuration_is_never_followed_by_output_on():
    with expected_protocol(
        Keithley2600B,
        [model(), *configure_bytes(), *REFUSED, ("smua.source.levelv=0.05", None), NO_ERROR,
         ("print(smua.source.levelv)", "5.00000e-02")],
    ) as smu:  # fmt: skip
        with pytest.raises(InstrumentError, match="Parameter out of range"):
            smu.configure_voltage_source(1e-4, 1)
        smu.set_voltage(0.05)
        with pytest.raises(InstrumentError, match="it needs configure_voltage_source"):
            smu.enable_output()


def test_a_compliance_read_back_other_than_set_is_not_confirmed():
    with expected_protocol(
        Keithley2600B,
        [model(), *configure_bytes(), NO_ERROR, *read_backs(compliance="1.00000e-03")],
    ) as smu:
        with pytest.raises(InstrumentError, match=r"current limit reads back as 0\.001 A"):
            smu.configure_voltage_source(1e-4, 1)
        with pytest.raises(InstrumentError, match="output not turned on"):
            smu.enable_output()


def test_garbled_measure_reply_raises():
    with (
        expected_protocol(Keithley2600B, [model(), ("print(smua.measure.iv())", "nil")]) as smu,
        pytest.raises(InstrumentError, match="expected current<TAB>voltage, got 'nil'"),
    ):
        smu.measure()


def safe_state(ch):
    return [
        NO_ERROR,  # drained first: an earlier failure's entries are not blamed on the safe state
        (f"smu{ch}.abort()", None),
        (f"smu{ch}.source.output=0", None),
        (f"smu{ch}.source.func=1", None),
        (f"smu{ch}.source.levelv=0", None),
        NO_ERROR,
    ]


def test_output_off_and_safe_state():
    with expected_protocol(
        Keithley2600B,
        [model(), ("smub.source.output=0", None), NO_ERROR, *safe_state("b")],
        channel="b",
    ) as smu:
        smu.disable_output()
        smu.safe_state()


def test_safe_state_withdraws_the_confirmation_and_ignores_old_queue_entries():
    old = ("print(errorqueue.next())", "-2.85000e+02\tTSP Syntax error\t2\t0")
    with expected_protocol(Keithley2600B, [model(), *CONFIRMED, old, *safe_state("a")]) as smu:
        confirm(smu)
        smu.safe_state()
        with pytest.raises(InstrumentError, match="output not turned on"):
            smu.enable_output()


# Limits per model, from the Series 2600B Reference Manual (smuX.source.limitY and the ranges)
# rather than from the driver: (model, volts, lowest current limit, highest current limit)
LIMITS = [
    ("2601B", 40, 10e-9, 3.0),
    ("2602B", 40, 10e-9, 3.0),
    ("2604B", 40, 10e-9, 3.0),
    ("2611B", 200, 10e-9, 1.5),
    ("2612B", 200, 10e-9, 1.5),
    ("2614B", 200, 10e-9, 1.5),
    ("2634B", 200, 100e-12, 1.5),
    ("2635B", 200, 100e-12, 1.5),
    ("2636B", 200, 100e-12, 1.5),
]


@pytest.mark.parametrize(("name", "volts", "low_a", "high_a"), LIMITS)
def test_each_models_limits_refuse_before_any_byte(name, volts, low_a, high_a):
    with expected_protocol(Keithley2600B, [model(name)]) as smu:
        with pytest.raises(ValueError, match=rf"allowed: -{volts:g} to {volts:g} V on the {name}"):
            smu.set_voltage(volts * 1.001)
        with pytest.raises(ValueError, match=rf"voltages_v\[1\]={-volts * 1.01:g}"):
            smu.sweep_voltage_list([0.1, -volts * 1.01])
        for compliance in (low_a * 0.99, high_a * 1.01):
            with pytest.raises(ValueError, match=rf"allowed: {low_a:g} to {high_a:g} A on the"):
                smu.configure_voltage_source(compliance, 1)


@pytest.mark.parametrize(("name", "volts", "low_a", "high_a"), LIMITS)
def test_each_models_extremes_are_sent(name, volts, low_a, high_a):
    with expected_protocol(
        Keithley2600B,
        [
            model(name),
            *configure_bytes(compliance=f"{low_a:g}"),
            NO_ERROR,
            *read_backs(compliance=f"{low_a:.5e}"),
            (f"smua.source.levelv={-volts:g}", None),
            NO_ERROR,
            ("print(smua.source.levelv)", f"{-volts:.5e}"),
        ],
    ) as smu:
        smu.configure_voltage_source(low_a, 1)
        smu.set_voltage(-volts)


def test_a_voltage_limit_bounds_later_levels_before_any_byte():
    with expected_protocol(
        Keithley2600B, [model("2602B"), *configure_bytes(), NO_ERROR, *read_backs()]
    ) as smu:
        smu.configure_voltage_source(1e-4, 1, voltage_limit_v=1.5)
        with pytest.raises(ValueError, match=r"allowed: -1\.5 to 1\.5 V \(voltage_limit_v\)"):
            smu.set_voltage(2)
    with (
        expected_protocol(Keithley2600B, [model("2602B")]) as smu,
        pytest.raises(ValueError, match=r"voltage_limit_v=41 is out of range"),
    ):
        smu.configure_voltage_source(1e-4, 1, voltage_limit_v=41)


@pytest.mark.parametrize("name", ["2601B", "2611B", "2635B"])
def test_channel_b_on_a_one_channel_model_is_refused_at_connection(name):
    adapter = ProtocolAdapter([model(name)])
    with pytest.raises(ChannelSpecError, match=rf"'b' does not exist on the {name}"):
        Keithley2600B(adapter, channel="b")
    assert adapter._index == 1


@pytest.mark.parametrize("reply", ["2450", "2636A", "nil", ""])
def test_an_unknown_model_is_refused_at_connection(reply):
    adapter = ProtocolAdapter([model(reply)])
    with pytest.raises(InstrumentError, match=rf"unknown model {reply!r}; this driver knows 2601B"):
        Keithley2600B(adapter)
    assert adapter._index == 1


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda s: s.set_voltage(200.1),
            r"voltage_v=200\.1 is out of range; allowed: -200 to 200 V on the 2636B",
        ),
        (lambda s: s.configure_voltage_source(1e-3, 30), r"nplc=30 is out of range"),
        (lambda s: s.configure_voltage_source(2, 1), r"compliance_current_a=2 is out of range"),
        (lambda s: s.sweep_voltage_list([0.1] * 101), r"101 points; allowed: 1 to 100"),
        (lambda s: setattr(s.smu, "measure_nplc", 0.0001), r"0\.0001 is not in range"),
        (lambda s: setattr(s.smu, "off_mode", 3), r"not in the discrete set"),
    ],
)
def test_refused_values_send_no_byte(call, message):
    with (
        expected_protocol(Keithley2600B, [model()]) as smu,
        pytest.raises(ValueError, match=message),
    ):
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
        ("sense_mode", "local", "smua.sense=0", "0.00000e+00"),
        ("off_mode", "normal", "smua.source.offmode=0", "0.00000e+00"),
        ("off_mode", "high_z", "smua.source.offmode=2", "2.00000e+00"),
        ("off_function", "voltage", "smua.source.offfunc=1", "1.00000e+00"),
        ("off_current_limit", 1e-3, "smua.source.offlimiti=0.001", "1.00000e-03"),
    ],
)
def test_every_channel_property_sets_and_reads_back(prop, value, set_command, reply):
    attribute = set_command.split("=")[0]
    with expected_protocol(
        Keithley2600B, [model(), (set_command, None), (f"print({attribute})", reply)]
    ) as smu:
        setattr(smu.smu, prop, value)
        assert getattr(smu.smu, prop) == value


def test_leaving_a_with_block_goes_to_the_safe_state():
    with expected_protocol(Keithley2600B, [model(), *safe_state("a")]) as smu:
        with smu:
            pass
        assert smu.isShutdown
