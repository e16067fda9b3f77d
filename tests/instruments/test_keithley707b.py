"""Keithley 707B / 708B switching matrix driver (TSP) pinned byte for byte; channel grammar
tested with hypothesis."""

import pytest
from hostile_strings import HOSTILE
from hypothesis import given
from hypothesis import strategies as st
from pymeasure.test import expected_protocol

from mtjlab.instruments.keithley707b import Keithley707B, Keithley708B
from mtjlab.instruments.roles import ChannelSpecError, InstrumentError

NO_ERROR = ("print(errorqueue.next())", "0.00000e+00\tQueue Is Empty\t0.00000e+00\t0.00000e+00")
# before the first close: break-before-make, the error queue, and the rule read back
# (707B-901-01, section 7, channel.connectrule)
BREAK_BEFORE_MAKE = [
    ("channel.connectrule = channel.BREAK_BEFORE_MAKE", None),
    NO_ERROR,
    ("print(channel.connectrule == channel.BREAK_BEFORE_MAKE)", "true"),
]
COLUMNS = [f"{c:02d}" for c in range(1, 13)]


def is_707b_channel(name: str) -> bool:
    """Independent statement of the 707B grammar, for comparison with the driver's regex."""
    return len(name) == 4 and name[0] in "123456" and name[1] in "ABCDEFGH" and name[2:] in COLUMNS


def test_close_open_exclusive_close_open_all():
    with expected_protocol(
        Keithley707B,
        [
            *BREAK_BEFORE_MAKE,  # once, before the first close
            ('channel.close("1A01")', None),
            NO_ERROR,
            ('channel.close("1A01,2H12,6C10")', None),
            NO_ERROR,
            ('channel.open("2H12")', None),
            NO_ERROR,
            ('channel.exclusiveclose("1B03,1C04")', None),
            NO_ERROR,
            ('channel.open("allslots")', None),
            NO_ERROR,
        ],
    ) as matrix:
        matrix.close("1A01")
        matrix.close(["1A01", "2H12", "6C10"])
        matrix.open(("2H12",))
        matrix.exclusive_close(iter(["1B03", "1C04"]))
        matrix.open_all()


@pytest.mark.parametrize("close", ["close", "exclusive_close"])
@pytest.mark.parametrize("reply", ["false", "nil", ""])
def test_a_connect_rule_that_does_not_read_back_closes_nothing(close, reply):
    with (
        expected_protocol(
            Keithley707B,
            [*BREAK_BEFORE_MAKE[:2], (BREAK_BEFORE_MAKE[2][0], reply)],
        ) as matrix,
        pytest.raises(InstrumentError, match="not break-before-make .* nothing was closed"),
    ):
        getattr(matrix, close)("1A01")


def test_a_refused_connect_rule_closes_nothing_and_is_tried_again_before_the_next_close():
    refused = ("print(errorqueue.next())", "-2.85000e+02\tTSP Syntax error\t2\t0")
    with expected_protocol(
        Keithley707B,
        [
            ("channel.connectrule = channel.BREAK_BEFORE_MAKE", None),
            refused,
            NO_ERROR,
            *BREAK_BEFORE_MAKE,
            ('channel.exclusiveclose("1A01")', None),
            NO_ERROR,
        ],
    ) as matrix:
        with pytest.raises(InstrumentError, match="TSP Syntax error"):
            matrix.close("1A01")
        matrix.exclusive_close("1A01")


def test_a_bad_channel_name_is_refused_before_the_connect_rule_is_sent():
    with expected_protocol(Keithley707B, []) as matrix, pytest.raises(ChannelSpecError):
        matrix.exclusive_close("1A13")


def test_closed_reads_back_the_semicolon_list_or_nil():
    with expected_protocol(
        Keithley707B,
        [
            ('print(channel.getclose("allslots"))', "1B03;1C04"),
            ('print(channel.getclose("allslots"))', "nil"),
        ],
    ) as matrix:
        assert matrix.closed() == ["1B03", "1C04"]
        assert matrix.closed() == []


def test_garbled_getclose_reply_raises():
    with (
        expected_protocol(
            Keithley707B, [('print(channel.getclose("allslots"))', "1B03;1C0")]
        ) as matrix,
        pytest.raises(InstrumentError, match="unexpected reply to channel.getclose"),
    ):
        matrix.closed()


def test_safe_state_opens_everything():
    with expected_protocol(
        Keithley707B, [NO_ERROR, ('channel.open("allslots")', None), NO_ERROR]
    ) as matrix:
        matrix.safe_state()


def test_safe_state_is_not_blamed_for_an_earlier_failure_and_reports_its_own():
    old_entry = ("print(errorqueue.next())", "1.11500e+03\tParameter error, empty slot\t2\t1")
    own = ("print(errorqueue.next())", "-2.85000e+02\tTSP Syntax error\t2\t0")
    # an entry left by an earlier failure is drained (and logged), not raised
    with expected_protocol(
        Keithley707B, [old_entry, NO_ERROR, ('channel.open("allslots")', None), NO_ERROR]
    ) as matrix:
        matrix.safe_state()
    # an error after the open is raised, naming the command
    with (
        expected_protocol(
            Keithley707B, [NO_ERROR, ('channel.open("allslots")', None), own, NO_ERROR]
        ) as matrix,
        pytest.raises(InstrumentError) as info,
    ):
        matrix.safe_state()
    assert info.value.errors == ((-285, "TSP Syntax error"),)
    assert info.value.commands == ('channel.open("allslots")',)


def test_safe_state_reports_a_dead_link_and_still_reads_the_queue(monkeypatch):
    with expected_protocol(Keithley707B, [NO_ERROR, NO_ERROR]) as matrix:

        def dead_link():
            raise TimeoutError("VI_ERROR_TMO")

        monkeypatch.setattr(matrix, "_write_open_all", dead_link)
        with pytest.raises(InstrumentError, match="open all channels: TimeoutError: VI_ERROR_TMO"):
            matrix.safe_state()


def test_instrument_error_names_the_command():
    with (
        expected_protocol(
            Keithley707B,
            [
                *BREAK_BEFORE_MAKE,
                ('channel.close("6H12")', None),
                ("print(errorqueue.next())", "1.11500e+03\tParameter error, empty slot\t2\t1"),
                NO_ERROR,
            ],
        ) as matrix,
        pytest.raises(InstrumentError) as info,
    ):
        matrix.close("6H12")
    assert info.value.errors == ((1115, "Parameter error, empty slot"),)
    assert 'channel.close("6H12")' in str(info.value)
    assert "Keithley 707B Switching Matrix" in str(info.value)


def test_708b_has_only_slot_1():
    with expected_protocol(
        Keithley708B, [*BREAK_BEFORE_MAKE, ('channel.close("1H12")', None), NO_ERROR]
    ) as matrix:
        matrix.close("1H12")
    refused = pytest.raises(ChannelSpecError, match=r"'2A01' is not of the form 1<row A-H>")
    with expected_protocol(Keithley708B, []) as matrix, refused:
        matrix.close("2A01")


@pytest.mark.parametrize(
    "bad",
    [
        '1A01")',
        '1A01"); channel.close("1A02',
        "1A01\nreset()",
        "1A01;1A02",
        "1A01 ",
        "1A01,1A02",
        "allslots",
        "slot1",
        "1A00",
        "1A13",
        "7A01",
        "1I01",
        "1a01",
        "1A1",
        "１A01",
        "end",
        "",
    ],
)
def test_hostile_or_malformed_names_are_refused_with_no_byte_sent(bad):
    with expected_protocol(Keithley707B, []) as matrix, pytest.raises(ChannelSpecError) as info:
        matrix.close(["1A01", bad])
    assert repr(bad) in str(info.value)
    assert "<slot 1-6><row A-H><column 01-12>" in str(info.value)


def test_non_string_and_empty_lists_are_refused():
    with expected_protocol(Keithley707B, []) as matrix:
        with pytest.raises(ChannelSpecError, match="empty list of channels"):
            matrix.exclusive_close([])
        with pytest.raises(ChannelSpecError, match="11 is not of the form"):
            matrix.open([11])


VALID = st.builds(
    lambda s, r, c: f"{s}{r}{c}",
    st.sampled_from("123456"),
    st.sampled_from("ABCDEFGH"),
    st.sampled_from(COLUMNS),
)


@given(VALID, HOSTILE, st.booleans())
def test_a_valid_name_with_anything_spliced_on_is_refused(valid, payload, before):
    name = payload + valid if before else valid + payload
    with expected_protocol(Keithley707B, []) as matrix, pytest.raises(ChannelSpecError) as info:
        matrix.close(name)
    assert repr(name) in str(info.value)
    assert "is not of the form <slot 1-6><row A-H><column 01-12>" in str(info.value)


@given(st.text(max_size=6))
def test_driver_grammar_agrees_with_the_independent_statement(name):
    if is_707b_channel(name):
        with expected_protocol(Keithley707B, [(f'channel.open("{name}")', None), NO_ERROR]) as m:
            m.open(name)
    else:
        with expected_protocol(Keithley707B, []) as m, pytest.raises(ChannelSpecError):
            m.open(name)


@given(VALID)
def test_every_valid_name_is_accepted(name):
    assert is_707b_channel(name)
    with expected_protocol(
        Keithley707B, [*BREAK_BEFORE_MAKE, (f'channel.exclusiveclose("{name}")', None), NO_ERROR]
    ) as m:
        m.exclusive_close(name)


def test_leaving_a_with_block_opens_everything():
    with expected_protocol(
        Keithley707B, [NO_ERROR, ('channel.open("allslots")', None), NO_ERROR]
    ) as m:
        with m:
            pass
        assert m.isShutdown


@pytest.mark.parametrize(
    ("model", "row", "column", "name"),
    [(Keithley707B, "A", "105", "1A05"), (Keithley707B, "H", "612", "6H12"),
     (Keithley708B, "C", "101", "1C01")],
)  # fmt: skip
def test_crosspoint_joins_a_bus_row_and_a_pad_column(model, row, column, name):
    assert model.crosspoint(row, column) == name


@pytest.mark.parametrize(
    ("model", "row", "column"),
    [(Keithley707B, "I", "105"), (Keithley707B, "A", "705"), (Keithley707B, "A", "113"),
     (Keithley707B, "AB", "105"), (Keithley707B, "A", "1050"), (Keithley707B, 1, "105"),
     (Keithley708B, "A", "205"), (Keithley707B, "A", '1"5')],
)  # fmt: skip
def test_crosspoint_refuses_what_names_no_channel(model, row, column):
    with pytest.raises(ChannelSpecError):
        model.crosspoint(row, column)
