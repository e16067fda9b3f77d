"""The 2600B's whole-array scan over TSP-Link, pinned byte for byte: one script, loaded once,
one call per map and one buffer print; and every refusal made before a byte is sent."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pymeasure.test import expected_protocol

from mtjlab.instruments.keithley707b import Keithley707B
from mtjlab.instruments.keithley2600b import SCAN_SCRIPT, Keithley2600B
from mtjlab.instruments.roles import ChannelSpecError, InstrumentError

NO_ERROR = ("print(errorqueue.next())", "0.00000e+00\tQueue Is Empty\t0.00000e+00\t0.00000e+00")
IS_ON = ("print(smua.source.output)", "1.00000e+00")
LOAD = [*((line, None) for line in SCAN_SCRIPT), ("mtjlab_scan()", None), NO_ERROR]
ROWS, COLS = ["1A01", "1A02"], ["1B03", "1B04"]
CALL = (
    'mtjlab_scan_run(2, smua, smua, {"1A01","1A02"}, {}, {"1B03","1B04"}, {}, {{0.1},{0.1}})',
    None,
)
READINGS = (
    "printbuffer(1,4,smua.nvbuffer1.readings)",
    "1.00000e-05, 2.00000e-05, 3.00000e-05, 4e-05",
)


def model(name="2636B"):
    return ("print(localnode.model)", name)


def scan(smu, level=0.1, **changes):
    arguments = dict(
        drive=smu,
        levels_v=[[level], [level]],
        node=2,
        matrix=Keithley707B,
        row_select=ROWS,
        col_select=COLS,
    )
    arguments.update(changes)
    return smu.scan_linked_matrix(**arguments)


def test_the_script_is_loaded_once_and_each_map_is_one_call_and_one_buffer_print():
    one_map = [IS_ON, IS_ON]
    after = [READINGS, ("smua.source.levelv=0", None), NO_ERROR]
    with expected_protocol(
        Keithley2600B,
        [model(), *one_map, *LOAD, CALL, NO_ERROR, *after, *one_map, CALL, NO_ERROR, *after],
    ) as smu:
        first = scan(smu)
        second = scan(smu)
    np.testing.assert_array_equal(np.stack(first)[..., 0], [[1e-5, 2e-5], [3e-5, 4e-5]])
    np.testing.assert_array_equal(np.stack(second), np.stack(first))


def test_the_drive_may_be_the_other_channel_and_the_rest_lists_ground_the_other_lines():
    call = (
        'mtjlab_scan_run(3, smub, smua, {"1A01","1A02"}, {"1F01","1F02"}, '
        '{"1B03","1B04"}, {"1F03","1F04"}, {{-0.25},{-0.25}})',
        None,
    )
    with expected_protocol(
        Keithley2600B,
        [
            model(),
            model(),  # the second driver, channel b, on the same session
            IS_ON,
            ("print(smub.source.output)", "1.00000e+00"),
            *LOAD,
            call,
            NO_ERROR,
            READINGS,
            ("smub.source.levelv=0", None),
            NO_ERROR,
        ],
    ) as smu:
        drive = Keithley2600B(smu.adapter, channel="b")
        scan(smu, drive=drive, level=-0.25, node=3, row_rest=["1F01", "1F02"],
             col_rest=["1F03", "1F04"])  # fmt: skip


def test_an_error_in_the_script_still_returns_the_drive_to_0_v_and_reloads_next_time():
    refused = ("print(errorqueue.next())", "-2.86000e+02\tTSP Runtime error: node[2]\t20\t1")
    with (
        expected_protocol(
            Keithley2600B,
            [
                model(),
                IS_ON,
                IS_ON,
                *LOAD,
                CALL,
                refused,
                NO_ERROR,
                ("smua.source.levelv=0", None),
                NO_ERROR,  # drained
            ],
        ) as smu,
        pytest.raises(InstrumentError, match="node"),
    ):
        scan(smu)
    assert smu._scan_script_loaded is False


def test_a_scan_with_an_output_off_is_refused():
    with (
        expected_protocol(
            Keithley2600B, [model(), ("print(smua.source.output)", "0.00000e+00")]
        ) as smu,
        pytest.raises(InstrumentError, match=r"scan_linked_matrix\(\) refused: the output is off"),
    ):
        scan(smu)


@pytest.mark.parametrize("name", ["2604B", "2614B", "2634B"])
def test_a_model_without_tsp_link_sends_nothing(name):
    with (
        expected_protocol(Keithley2600B, [model(name)]) as smu,
        pytest.raises(InstrumentError, match="no TSP-Link"),
    ):
        scan(smu)


@pytest.mark.parametrize(
    "changes, error",
    [
        ({"level": 250.0}, ValueError),
        ({"level": float("nan")}, ValueError),
        ({"node": 0}, ValueError),
        ({"node": 65}, ValueError),
        ({"node": True}, ValueError),
        ({"row_select": ["1A01", '1A02")']}, ChannelSpecError),
        ({"col_select": []}, ChannelSpecError),
        ({"row_rest": ["1F01"]}, ValueError),  # one per row or none
        ({"col_rest": ["1F01", "1F02", "1F03"]}, ValueError),
        ({"drive": object()}, ValueError),
    ],
)
def test_a_bad_request_is_refused_before_any_byte(changes, error):
    with expected_protocol(Keithley2600B, [model()]) as smu, pytest.raises(error):
        scan(smu, **changes)


@given(st.text(min_size=1, max_size=12))
def test_no_string_that_is_not_a_channel_reaches_the_script(text):
    with expected_protocol(Keithley2600B, [model()]) as smu:
        if Keithley707B.channel_pattern.fullmatch(text):
            return
        with pytest.raises(ChannelSpecError):
            scan(smu, col_rest=[text, "1F04"])


def test_each_row_reads_its_own_levels_and_a_row_without_levels_is_not_connected():
    call = (
        'mtjlab_scan_run(2, smua, smua, {"1A01","1A02"}, {}, {"1B03","1B04"}, {}, '
        "{{},{0.1,-0.2,0.05}})",
        None,
    )
    six = ", ".join(f"{k}e-06" for k in range(1, 7))
    with expected_protocol(
        Keithley2600B,
        [
            model(),
            IS_ON,
            IS_ON,
            *LOAD,
            call,
            NO_ERROR,
            ("printbuffer(1,6,smua.nvbuffer1.readings)", six),
            ("smua.source.levelv=0", None),
            NO_ERROR,
        ],
    ) as smu:
        skipped, row = scan(smu, levels_v=[[], [0.1, -0.2, 0.05]])
    assert skipped.shape == (2, 0)
    # column by column, each column's levels in turn
    np.testing.assert_array_equal(row, [[1e-6, 2e-6, 3e-6], [4e-6, 5e-6, 6e-6]])


def test_a_scan_over_the_buffer_cap_runs_in_calls_of_whole_rows(monkeypatch):
    import mtjlab.instruments.keithley2600b as module

    monkeypatch.setattr(module, "MAX_SCAN_READINGS", 4)  # two columns x two levels per call
    calls = [
        'mtjlab_scan_run(2, smua, smua, {"1A01","1A02"}, {}, {"1B03","1B04"}, {}, ' + levels
        for levels in ("{{0.1,0.2},{}})", "{{},{0.3,0.4}})")
    ]
    four = "1e-06, 2e-06, 3e-06, 4e-06"
    with expected_protocol(
        Keithley2600B,
        [
            model(),
            IS_ON,
            IS_ON,
            *LOAD,
            (calls[0], None),
            NO_ERROR,
            ("printbuffer(1,4,smua.nvbuffer1.readings)", four),
            (calls[1], None),
            NO_ERROR,
            ("printbuffer(1,4,smua.nvbuffer1.readings)", four),
            ("smua.source.levelv=0", None),
            NO_ERROR,
        ],
    ) as smu:
        first, second = scan(smu, levels_v=[[0.1, 0.2], [0.3, 0.4]])
    np.testing.assert_array_equal(first, [[1e-6, 2e-6], [3e-6, 4e-6]])
    np.testing.assert_array_equal(second, first)
    with (
        expected_protocol(Keithley2600B, [model()]) as smu,
        pytest.raises(ValueError, match=r"levels_v\[0\] has 3 levels: 6 readings"),
    ):
        scan(smu, levels_v=[[0.1, 0.2, 0.3], []])


@pytest.mark.parametrize(
    "levels, message",
    [
        ([[0.1]], r"levels_v has 1 rows; it needs one per row \(2\)"),
        ([[], []], "no level at all"),
        ([[0.1], [0.1, 250.0]], "voltage_v=250.0 is out of range"),
        ([[0.1], [float("inf")]], "voltage_v=inf is out of range"),
    ],
)
def test_bad_levels_are_refused_before_any_byte(levels, message):
    with (
        expected_protocol(Keithley2600B, [model()]) as smu,
        pytest.raises(ValueError, match=message),
    ):
        scan(smu, levels_v=levels)


@pytest.mark.parametrize("reply, reached", [("true", True), ("false", False)])
def test_whether_a_node_is_on_the_link_is_one_query(reply, reached):
    with expected_protocol(
        Keithley2600B, [model(), ("print(node[2] ~= nil)", reply), NO_ERROR]
    ) as smu:
        assert smu.reaches_node(2) is reached


def test_a_model_without_tsp_link_reaches_no_node_and_asks_nothing():
    with expected_protocol(Keithley2600B, [model("2634B")]) as smu:
        assert smu.reaches_node(2) is False
        with pytest.raises(ValueError, match="allowed: 1 to 64"):
            smu.reaches_node(0)
