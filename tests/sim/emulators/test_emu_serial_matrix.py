"""mtjlab's serial relay matrix driver, unchanged, against the emulated controller at
``emulated://matrix``: the circuit's crosspoints, the documented line protocol (the example of
docs/instruments.md replayed byte for byte), error replies, and injected faults."""

import copy
from functools import reduce

import pytest
import serial
import yaml

from mtjlab.bench.file import builtin_bench_path, crosspoint, parse_bench
from mtjlab.instruments.roles import InstrumentError
from mtjlab.instruments.serial_matrix import SerialRelayMatrix
from mtjlab.sim.chip import Chip
from mtjlab.sim.emulators.circuit import BenchCircuit
from mtjlab.sim.emulators.protocol_emulated import (
    HANDLER_PACKAGE,
    enable_emulated_urls,
    register,
    unregister,
)
from mtjlab.sim.emulators.serial_matrix import SerialMatrixEmulator

SETTLE_S = 3e-3
TERMINAL_ROWS = {
    "smu_hi": "1",
    "smu_lo": "2",
    "drive": "3",
    "pulse": "4",
    "hold": "5",
    "ground": "6",
}


def serial_bench():
    """The built-in bench with a 8 x 90 serial matrix: terminals on rows 1-6, pads 1-60."""
    data = copy.deepcopy(yaml.safe_load(builtin_bench_path().read_text(encoding="utf-8")))
    data["instruments"]["matrix"] = {
        "model": "serial_matrix",
        "resource": "emulated://matrix",
        "options": {"rows": 8, "columns": 90},
    }
    del data["tsp_link"]  # a serial matrix is on no TSP-Link; every cell is switched from here
    for terminal, row in TERMINAL_ROWS.items():
        data["terminals"][terminal]["matrix_row"] = row
    pads = iter(range(1, 61))
    for wiring in data["arrays"].values():
        wiring["rows"] = [str(next(pads)) for _ in wiring["rows"]]
        wiring["cols"] = [str(next(pads)) for _ in wiring["cols"]]
    return parse_bench(data, "serial-bench")


BENCH = serial_bench()


def nmea(body: str) -> str:
    """Frame a body with its checksum: XOR of its bytes, two upper-case hex digits."""
    return f"{body}*{reduce(lambda a, b: a ^ b, body.encode('ascii'), 0):02X}"


@pytest.fixture
def bench():
    enable_emulated_urls()
    circuit = BenchCircuit(BENCH, Chip.from_seed(0))
    emulator = SerialMatrixEmulator(circuit, rows=8, columns=90, relay_settle_s=SETTLE_S)
    emulator.command_latency_s = 0.0  # the clock then counts settling and timeouts only
    register("matrix", emulator)
    yield circuit, emulator
    unregister("matrix")


@pytest.fixture
def matrix(bench):
    driver = SerialRelayMatrix("emulated://matrix", rows=8, columns=90, timeout_s=0.5)
    yield driver
    driver.adapter.connection.close()


def changes(circuit, since=0):
    return [(c.matrix_row, c.matrix_column, c.closed) for c in circuit.relay_changes[since:]]


def test_the_bench_file_takes_a_serial_matrix():
    assert BENCH.instruments["matrix"].model == "serial_matrix"
    assert crosspoint(BENCH, "drive", BENCH.arrays[1].rows[2]) == "3,3"


def test_close_open_and_exclusive_close_move_exactly_those_crosspoints(bench, matrix):
    circuit, emulator = bench
    matrix.close(["3,12", "1,1"])
    assert circuit.closed == {("3", "12"), ("1", "1")}
    assert changes(circuit) == [("1", "1", True), ("3", "12", True)]
    assert matrix.closed() == ["1,1", "3,12"]

    matrix.open("1,1")
    assert circuit.closed == {("3", "12")}
    assert changes(circuit, 2) == [("1", "1", False)]

    matrix.exclusive_close(["6,60", "2,5"])
    # break before make: 3,12 opens, then the listed ones close
    assert changes(circuit, 3) == [("3", "12", False), ("2", "5", True), ("6", "60", True)]
    assert circuit.relay_changes[4].time_s - circuit.relay_changes[3].time_s == pytest.approx(
        SETTLE_S
    )
    assert matrix.closed() == ["2,5", "6,60"]

    matrix.safe_state()
    assert circuit.closed == set()
    assert matrix.closed() == []
    assert matrix.id.startswith("mtjlab emulated relay matrix")


def test_the_clock_advances_by_the_settle_time_of_each_switching_phase(bench, matrix):
    _, emulator = bench
    matrix.close(["1,1", "2,2"])
    assert emulator.clock.now_s == pytest.approx(SETTLE_S)
    matrix.close("1,1")  # nothing moves
    matrix.closed()
    assert emulator.clock.now_s == pytest.approx(SETTLE_S)
    matrix.exclusive_close("3,3")  # open phase, then close phase
    assert emulator.clock.now_s == pytest.approx(3 * SETTLE_S)


def test_the_documented_example_byte_for_byte(bench):
    circuit, _ = bench
    emulator = SerialMatrixEmulator(circuit, rows=16, columns=16)
    register("example", emulator)
    try:
        port = serial.serial_for_url("emulated://example", timeout=0.1)
        # docs/instruments.md, "Serial relay matrix", example (16 x 16)
        example = [
            ("1 CLOSE 3,12*7B", "1 OK CLOSE 3,12*5F"),
            ("2 CLOSE 1,1 16,16*44", "2 OK CLOSE 1,1 16,16*60"),
            ("3 OPEN 1,1*0B", "3 OK OPEN 1,1*2F"),
            ("4 XCLOSE 2,5 9,9*1D", "4 OK XCLOSE 2,5 9,9*39"),
            ("5 CLOSED?*38", "5 OK CLOSED? 2,5 9,9*1B"),
            ("6 OPENALL*43", "6 OK OPENALL*67"),
            ("7 CLOSED?*3A", "7 OK CLOSED?*1E"),
            ("8 CLOSE 3,12*72", "8 ERR 5 relay 3,12 did not close*7D"),
        ]
        for sent, expected in example:
            if sent.startswith("8 "):
                emulator.stuck = {"3,12"}  # the relay that fails in the example
            port.write(sent.encode("ascii") + b"\n")
            assert port.read_until(b"\n") == expected.encode("ascii") + b"\n"
        assert ("3", "12") not in circuit.closed
    finally:
        unregister("example")


@pytest.mark.parametrize(
    ("line", "reply"),
    [
        ("1 CLOSE 3,12*7C", "1 ERR 1"),  # checksum off by one
        ("1 CLOSE 3,12", "1 ERR 1"),  # no checksum
        ("1 CLOSE 3,12*7b", "1 ERR 1"),  # lower-case hex
        (nmea("1 CLOSE 3,12\r"), "1 ERR 1"),  # a CR is a byte of the line
        ("x CLOSE 3,12*00", "0 ERR 1"),  # too damaged to read the sequence number
        (nmea("2 SHUT 3,12"), "2 ERR 2"),
        (nmea("3 CLOSE"), "3 ERR 3"),
        (nmea("4 CLOSE 03,12"), "4 ERR 3"),
        (nmea("5 CLOSE 3,12  4,4"), "5 ERR 3"),
        (nmea("6 OPENALL 1,1"), "6 ERR 3"),
        (nmea("07 OPENALL"), "0 ERR 3"),
        (nmea("8 CLOSE 9,1"), "8 ERR 4"),  # row 9 of 8
        (nmea("9 XCLOSE 1,1 1,91"), "9 ERR 4"),  # column 91 of 90: nothing moves at all
        (nmea("10 CLOSE " + " ".join(["1,1"] * 400)), "10 ERR 6"),
    ],
)
def test_refused_lines_get_an_error_reply_and_move_nothing(bench, line, reply):
    circuit, _ = bench
    port = serial.serial_for_url("emulated://matrix", timeout=0.1)
    port.write(nmea("1 CLOSE 2,2").encode() + b"\n")
    port.read_until(b"\n")
    port.write(line.encode("ascii") + b"\n")
    answer = port.read_until(b"\n").decode("ascii")
    assert answer.endswith("\n")
    body = answer[:-1].rsplit("*", 1)[0]
    assert answer[:-1] == nmea(body)  # every reply is framed
    assert body.startswith(reply + " ")
    assert "*" not in body
    assert circuit.closed == {("2", "2")}
    assert len(circuit.relay_changes) == 1


def test_a_relay_fault_is_the_drivers_error_and_closed_reports_the_relays(bench, matrix):
    circuit, emulator = bench
    emulator.stuck = {"4,7"}
    with pytest.raises(InstrumentError) as info:
        matrix.close(["4,6", "4,7"])
    assert info.value.errors[0][0] == 5
    assert "4,7" in info.value.errors[0][1]
    assert matrix.closed() == ["4,6"]
    assert circuit.closed == {("4", "6")}


def test_a_garbled_reply_is_the_drivers_error_and_the_next_command_works(bench, matrix):
    circuit, emulator = bench
    emulator.faults.garble = 1
    with pytest.raises(InstrumentError, match="garbled acknowledgement"):
        matrix.close("1,1")
    matrix.open_all()
    assert circuit.closed == set()
    assert matrix.closed() == []


def test_a_timeout_is_the_drivers_error_after_the_port_timeout_not_a_hang(bench, matrix):
    circuit, emulator = bench
    emulator.faults.timeouts = 1
    before = emulator.clock.now_s
    with pytest.raises(InstrumentError, match="no acknowledgement before the timeout"):
        matrix.close("5,9")
    waited = emulator.clock.now_s - before - SETTLE_S
    assert waited == pytest.approx(0.5)  # the driver's timeout_s, in bench time
    assert circuit.closed == {("5", "9")}  # the command arrived; its reply was lost
    matrix.open_all()  # the lost reply never turns up late
    assert matrix.closed() == []


def test_a_disconnect_mid_run_raises_and_stays_disconnected(bench, matrix):
    _, emulator = bench
    matrix.close("1,1")
    emulator.faults.disconnect_after = 1
    matrix.open("1,1")
    with pytest.raises(serial.SerialException, match="stopped answering"):
        matrix.close("1,1")
    with pytest.raises(serial.SerialException):
        matrix.closed()


def test_urls_reach_only_registered_emulators():
    enable_emulated_urls()
    enable_emulated_urls()
    assert serial.protocol_handler_packages.count(HANDLER_PACKAGE) == 1
    with pytest.raises(serial.SerialException, match="no emulator is registered"):
        serial.serial_for_url("emulated://nobody")
    with pytest.raises(serial.SerialException, match="emulated://<name>"):
        serial.serial_for_url("emulated://")


def test_a_read_with_nothing_due_returns_nothing_after_the_timeout(bench):
    _, emulator = bench
    port = serial.serial_for_url("emulated://matrix", timeout=0.25)
    assert port.read(10) == b""
    assert emulator.clock.now_s == pytest.approx(0.25)
    line = nmea("1 IDN?").encode("ascii")
    port.write(line[:4])  # no LF yet: not a command
    assert port.read(10) == b""
    port.write(line[4:] + b"\n")
    assert port.read_until(b"\n").startswith(b"1 OK IDN? ")
