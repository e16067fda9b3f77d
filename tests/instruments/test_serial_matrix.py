"""Serial relay matrix: the line protocol pinned byte for byte, acknowledgement failures, and the
crosspoint grammar tested with hypothesis."""

from pathlib import Path

import pytest
import serial
from hostile_strings import HOSTILE
from hypothesis import given
from hypothesis import strategies as st
from pymeasure.adapters import SerialAdapter
from pymeasure.test import expected_protocol

from mtjlab.instruments.roles import ChannelSpecError, InstrumentError
from mtjlab.instruments.serial_matrix import SerialRelayMatrix, checksum, frame, unframe


def test_checksum_is_the_nmea_xor():
    # a published NMEA 0183 sentence: $GPGLL,5057.970,N,00146.110,E,142451,A*27
    assert checksum("GPGLL,5057.970,N,00146.110,E,142451,A") == 0x27
    assert frame("2 OPENALL") == "2 OPENALL*47"
    assert unframe("2 OPENALL*47") == "2 OPENALL"
    assert unframe("2 OPENALL*46") is None
    assert unframe("2 OPENALL*47\r") is None
    assert unframe("2 OPENALL") is None


def test_every_role_method_byte_for_byte():
    with expected_protocol(
        SerialRelayMatrix,
        [
            ("1 CLOSE 3,12*7B", "1 OK CLOSE 3,12*5F"),
            ("2 CLOSE 1,1 16,16*44", "2 OK CLOSE 1,1 16,16*60"),
            ("3 OPEN 1,1*0B", "3 OK OPEN 1,1*2F"),
            ("4 XCLOSE 2,5 9,9*1D", "4 OK XCLOSE 2,5 9,9*39"),
            ("5 CLOSED?*38", "5 OK CLOSED? 2,5 9,9*1B"),
            ("6 OPENALL*43", "6 OK OPENALL*67"),
            ("7 CLOSED?*3A", "7 OK CLOSED?*1E"),
            ("8 OPENALL*4D", "8 OK OPENALL*69"),
            ("9 IDN?*65", "9 OK IDN? LabMatrix 16x16 fw 1.2*71"),
        ],
    ) as matrix:
        matrix.close("3,12")
        matrix.close(["1,1", "16,16"])
        matrix.open("1,1")
        matrix.exclusive_close(("2,5", "9,9"))
        assert matrix.closed() == ["2,5", "9,9"]
        matrix.open_all()
        assert matrix.closed() == []
        matrix.safe_state()
        assert matrix.id == "LabMatrix 16x16 fw 1.2"


def test_sequence_number_wraps_from_9999_to_1():
    with expected_protocol(
        SerialRelayMatrix,
        [
            (frame("9999 OPENALL"), frame("9999 OK OPENALL")),
            (frame("1 OPENALL"), frame("1 OK OPENALL")),
        ],
    ) as matrix:
        matrix._sequence = 9998
        matrix.open_all()
        matrix.open_all()


def test_error_reply_raises_with_code_text_and_command():
    with (
        expected_protocol(
            SerialRelayMatrix,
            [("1 CLOSE 3,12*7B", frame("1 ERR 5 relay 3,12 did not close"))],
        ) as matrix,
        pytest.raises(InstrumentError) as info,
    ):
        matrix.close("3,12")
    assert info.value.errors == ((5, "relay 3,12 did not close"),)
    assert info.value.commands == ("1 CLOSE 3,12*7B",)
    assert "Serial relay matrix" in str(info.value)


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        ("", "no acknowledgement before the timeout"),
        ("1 OK CLOSE 3,12*5E", "garbled acknowledgement"),  # wrong checksum
        ("1 OK CLOSE 3,13*5F", "garbled acknowledgement"),  # one byte changed in transit
        ("1 OK CLOSE 3,1", "garbled acknowledgement"),  # cut short
        ("1 OK CLOSE 3,12", "garbled acknowledgement"),  # no checksum
        (frame("1 OK CLOSE 3,11"), "does not echo the command"),
        (frame("1 OK OPEN 3,12"), "does not echo the command"),
        (frame("1 ok CLOSE 3,12"), "does not echo the command"),
        (frame("1 CLOSE 3,12"), "does not echo the command"),  # our own line echoed back
        (frame("2 OK CLOSE 3,12"), "is not for this command"),
        (frame("01 OK CLOSE 3,12"), "is not for this command"),
        (frame("1 ERR x bad"), "does not echo the command"),
    ],
)
def test_a_missing_or_garbled_acknowledgement_is_never_success(reply, message):
    with (
        expected_protocol(SerialRelayMatrix, [("1 CLOSE 3,12*7B", reply)]) as matrix,
        pytest.raises(InstrumentError, match=message),
    ):
        matrix.close("3,12")


def test_a_late_reply_to_a_timed_out_command_is_skipped_and_the_next_one_checked():
    with expected_protocol(
        SerialRelayMatrix,
        [
            ("1 CLOSE 3,12*7B", ""),
            ("2 OPENALL*47", "1 OK CLOSE 3,12*5F"),
            (None, "2 OK OPENALL*63"),
        ],
    ) as matrix:
        with pytest.raises(InstrumentError, match="no acknowledgement"):
            matrix.close("3,12")
        matrix.open_all()


def test_a_reply_for_a_command_that_did_not_time_out_is_not_skipped():
    with expected_protocol(
        SerialRelayMatrix,
        [("1 OPENALL*44", "1 OK OPENALL*60"), ("2 OPENALL*47", "1 OK OPENALL*60")],
    ) as matrix:
        matrix.open_all()
        with pytest.raises(InstrumentError, match="is not for this command"):
            matrix.open_all()


def test_garbled_closed_list_raises():
    with (
        expected_protocol(
            SerialRelayMatrix, [("1 CLOSED?*3C", frame("1 OK CLOSED? 3,12 0,4"))]
        ) as matrix,
        pytest.raises(InstrumentError, match="not a list of crosspoints"),
    ):
        matrix.closed()


def test_closed_list_outside_the_matrix_raises():
    with (
        expected_protocol(
            SerialRelayMatrix, [("1 CLOSED?*3C", frame("1 OK CLOSED? 5,5"))], rows=4, columns=4
        ) as matrix,
        pytest.raises(InstrumentError, match="not a list of crosspoints"),
    ):
        matrix.closed()


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "17,1",
            r"crosspoint '17,1' is outside the matrix; allowed: rows 1 to 16, columns 1 to 16",
        ),
        ("1,17", "outside the matrix"),
        ("0,1", r"'0,1' is not of the form <row>,<column>"),
        ("01,1", "is not of the form"),
        ("1, 1", "is not of the form"),
        ("1,1\n", "is not of the form"),
        ("1,1 2,2", "is not of the form"),
        ("1,1*00", "is not of the form"),
        ("", "is not of the form"),
        ("OPENALL", "is not of the form"),
    ],
)
def test_refused_crosspoints_send_no_byte(name, message):
    with (
        expected_protocol(SerialRelayMatrix, []) as matrix,
        pytest.raises(ChannelSpecError, match=message),
    ):
        matrix.close(["1,1", name])


def test_refused_sizes_and_overlong_lines_send_no_byte():
    with pytest.raises(ValueError, match=r"rows=0 is out of range; allowed: 1 to 99"):
        SerialRelayMatrix(None, rows=0)
    with pytest.raises(ValueError, match="whole numbers"):
        SerialRelayMatrix(None, columns=2.5)
    every = [f"{r},{c}" for r in range(1, 17) for c in range(1, 17)]
    with (
        expected_protocol(SerialRelayMatrix, []) as matrix,
        pytest.raises(ValueError, match="256 crosspoints make a 1[0-9]{3}-byte line"),
    ):
        matrix.exclusive_close(every)


@given(
    st.integers(1, 99).map(str), st.integers(1, 99).map(str), HOSTILE, st.sampled_from([0, 1, 2, 3])
)
def test_a_crosspoint_with_anything_spliced_in_is_refused(row, column, payload, where):
    parts = [row, ",", column]
    parts.insert(where, payload)  # before the row, before the comma, or before the column
    name = "".join(parts)
    with (
        expected_protocol(SerialRelayMatrix, [], rows=99, columns=99) as matrix,
        pytest.raises(ChannelSpecError) as info,
    ):
        matrix.open(name)
    assert repr(name) in str(info.value)
    assert "is not of the form <row>,<column>" in str(info.value)


@given(st.integers(1, 16), st.integers(1, 16))
def test_every_crosspoint_of_the_matrix_is_accepted(row, column):
    name = f"{row},{column}"
    with expected_protocol(
        SerialRelayMatrix, [(frame(f"1 CLOSE {name}"), frame(f"1 OK CLOSE {name}"))]
    ) as matrix:
        matrix.close(name)


class ScriptedSerial(serial.SerialBase):
    """A serial port that records what is written and answers from a script (b"" = silence)."""

    def __init__(self, replies):
        super().__init__(timeout=0.01)
        self.written = b""
        self._pending = b""
        self._replies = list(replies)

    def open(self):
        self.is_open = True

    def write(self, data):
        self.written += data
        self._pending += self._replies.pop(0) if self._replies else b""
        return len(data)

    def read(self, size=1):
        chunk, self._pending = self._pending[:size], self._pending[size:]
        return chunk


def test_over_a_serial_port_the_bytes_carry_newlines_and_silence_is_a_missing_ack():
    port = ScriptedSerial([b"1 OK CLOSE 3,12*5F\n", b""])
    adapter = SerialAdapter(port, write_termination="\n", read_termination="\n")
    matrix = SerialRelayMatrix(adapter)
    matrix.close("3,12")
    with pytest.raises(InstrumentError, match="no acknowledgement before the timeout"):
        matrix.open_all()
    assert port.written == b"1 CLOSE 3,12*7B\n2 OPENALL*47\n"


def test_over_a_serial_port_a_reply_cut_short_by_the_timeout_is_garbled():
    port = ScriptedSerial([b"1 OK CLOSE 3,1"])
    matrix = SerialRelayMatrix(SerialAdapter(port, write_termination="\n", read_termination="\n"))
    with pytest.raises(InstrumentError, match="garbled acknowledgement '1 OK CLOSE 3,1'"):
        matrix.close("3,12")


def test_pyserial_loop_url_echo_is_refused_as_an_acknowledgement():
    # loop:// sends every written byte straight back: the matrix must not mistake its own
    # command for an acknowledgement
    matrix = SerialRelayMatrix("loop://", timeout_s=0.05)
    with pytest.raises(InstrumentError, match="does not echo the command"):
        matrix.close("3,12")
    matrix.adapter.connection.close()


def test_the_documented_example_exchange_is_well_formed():
    # docs/instruments.md is what a lab builds its firmware from: its example lines must check
    doc = Path(__file__).resolve().parents[2] / "docs" / "instruments.md"
    lines = [
        line[2:]
        for line in doc.read_text(encoding="utf-8").splitlines()
        if line.startswith(("> ", "< "))
    ]
    assert len(lines) >= 10
    for line in lines:
        assert unframe(line) is not None, line


def test_a_late_reply_across_the_wrap_is_skipped_once_and_forgotten():
    with expected_protocol(
        SerialRelayMatrix,
        [
            (frame("9999 OPENALL"), ""),
            (frame("1 OPENALL"), frame("9999 OK OPENALL")),
            (None, frame("1 OK OPENALL")),
        ],
    ) as matrix:
        matrix._sequence = 9998
        with pytest.raises(InstrumentError, match="no acknowledgement"):
            matrix.open_all()
        matrix.open_all()
        assert matrix._abandoned == set()


def test_leaving_a_with_block_opens_everything():
    with expected_protocol(SerialRelayMatrix, [("1 OPENALL*44", "1 OK OPENALL*60")]) as matrix:
        with matrix:
            pass
        assert matrix.isShutdown


def test_crosspoint_joins_a_row_and_a_column_number():
    assert SerialRelayMatrix.crosspoint("3", "12") == "3,12"
    for row, column in [("0", "1"), ("03", "1"), ("1", "100"), ("1", "1,2"), (1, "2"), ("a", "1")]:
        with pytest.raises(ChannelSpecError):
            SerialRelayMatrix.crosspoint(row, column)
