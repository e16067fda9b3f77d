"""mtjlab's 707B / 708B driver against the emulated matrix: what the circuit's crosspoints and
relay changes do, the connect rule, the error queue and settle times, each expected value taken
from the reference manual (707B-901-01) or the bench's wiring, not from the emulator."""

import pytest

from mtjlab.bench.file import builtin_bench_path, load_bench
from mtjlab.instruments.keithley707b import Keithley707B, Keithley708B
from mtjlab.instruments.roles import InstrumentError
from mtjlab.sim.chip import Chip
from mtjlab.sim.emulators.base import EmulatorAdapter
from mtjlab.sim.emulators.circuit import BenchCircuit
from mtjlab.sim.emulators.keithley707b import Keithley707BEmulator, Keithley708BEmulator

BENCH = load_bench(builtin_bench_path())
SETTLE_S = 3e-3


def make(emulator_class=Keithley707BEmulator, driver_class=Keithley707B, **kwargs):
    circuit = BenchCircuit(BENCH, Chip.from_seed(0))
    emulator = emulator_class(circuit, relay_settle_s=SETTLE_S, **kwargs)
    emulator.command_latency_s = 0.0  # so that the clock counts relay settling only
    return circuit, emulator, driver_class(EmulatorAdapter(emulator))


def changes(circuit, since=0):
    return [(c.matrix_row, c.matrix_column, c.closed) for c in circuit.relay_changes[since:]]


def test_close_open_and_exclusive_close_move_exactly_those_crosspoints():
    circuit, _, matrix = make()
    # channel <slot><row><column>: matrix row is the row letter, matrix column slot + column
    matrix.close(["1A01", "2C05"])
    assert circuit.closed == {("A", "101"), ("C", "205")}
    assert changes(circuit) == [("A", "101", True), ("C", "205", True)]
    assert matrix.closed() == ["1A01", "2C05"]

    matrix.open("1A01")
    assert circuit.closed == {("C", "205")}
    assert changes(circuit, 2) == [("A", "101", False)]

    matrix.close("2C05")  # already closed: no relay moves
    assert len(circuit.relay_changes) == 3

    matrix.exclusive_close(["1B03", "6H12"])
    assert circuit.closed == {("B", "103"), ("H", "612")}
    # break-before-make: 2C05 opens, then the two close
    assert changes(circuit, 3) == [("C", "205", False), ("B", "103", True), ("H", "612", True)]
    opened, closed = circuit.relay_changes[3], circuit.relay_changes[4]
    assert closed.time_s - opened.time_s == pytest.approx(SETTLE_S)
    assert matrix.closed() == ["1B03", "6H12"]


def test_getclose_lists_slot_by_slot_each_slot_sorted():
    _, emulator, matrix = make()
    matrix.close(["2A01", "1C03", "1A12", "1B01"])
    assert matrix.closed() == ["1A12", "1B01", "1C03", "2A01"]
    emulator.write('print(channel.getclose("slot1"))')
    assert emulator.read() == "1A12;1B01;1C03"
    emulator.write("print(channel.getclose('slot3'))")
    assert emulator.read() == "nil"


def test_the_driver_sets_break_before_make_before_its_first_close():
    # a previous user left the rule off
    circuit, emulator, matrix = make(connect_rule="OFF")
    matrix.close("1A01")
    assert emulator.connect_rule == "BREAK_BEFORE_MAKE"
    assert [rule for _, rule in emulator.connect_rule_settings] == ["BREAK_BEFORE_MAKE"]
    received = emulator.received()
    assert received.index("channel.connectrule = channel.BREAK_BEFORE_MAKE") < received.index(
        'channel.close("1A01")'
    )
    assert emulator.connect_rule_settings[0][0] <= circuit.relay_changes[0].time_s
    matrix.close("1A02")  # once per connection
    assert len(emulator.connect_rule_settings) == 1


@pytest.mark.parametrize(
    ("rule", "order", "settle_s"),
    [
        # section 2, connection methods: open settle + close settle, close first, or at once
        ("BREAK_BEFORE_MAKE", [("A", "101", False), ("B", "101", True)], 2 * SETTLE_S),
        ("MAKE_BEFORE_BREAK", [("B", "101", True), ("A", "101", False)], 2 * SETTLE_S),
        ("OFF", [("A", "101", False), ("B", "101", True)], SETTLE_S),
    ],
)
def test_exclusive_close_follows_the_connect_rule(rule, order, settle_s):
    circuit, emulator, _ = make()
    emulator.write('channel.close("1A01")')
    emulator.write(f"channel.connectrule = channel.{rule}")
    emulator.write("print(channel.connectrule == channel.BREAK_BEFORE_MAKE)")
    assert emulator.read() == ("true" if rule == "BREAK_BEFORE_MAKE" else "false")
    before = emulator.clock.now_s
    emulator.write('channel.exclusiveclose("1B01")')
    assert changes(circuit, 1) == order
    assert emulator.clock.now_s - before == pytest.approx(settle_s)
    assert not emulator.error_queue


def test_the_clock_advances_by_the_settle_time_of_each_operation_that_moves_relays():
    _, emulator, matrix = make()
    matrix.close("1A01")  # the connect rule set and read back, then one close
    assert emulator.clock.now_s == pytest.approx(SETTLE_S)
    matrix.close(["1A02", "1A03", "1A04"])  # relays of one close move together
    assert emulator.clock.now_s == pytest.approx(2 * SETTLE_S)
    matrix.close("1A02")  # nothing moves, nothing to wait for
    matrix.open("1H12")
    assert emulator.clock.now_s == pytest.approx(2 * SETTLE_S)
    matrix.exclusive_close("1A01")  # opens 1A02-1A04, closes nothing
    assert emulator.clock.now_s == pytest.approx(3 * SETTLE_S)


@pytest.mark.parametrize("channels", ["6A01", ["1A01", "6A01"]])
def test_a_channel_on_an_empty_slot_is_the_drivers_error_and_nothing_moves(channels):
    circuit, emulator, matrix = make(slots=(1, 2, 3, 4, 5))
    matrix.close("2B02")
    with pytest.raises(InstrumentError) as info:
        matrix.close(channels)
    assert [code for code, _ in info.value.errors] == [1115]
    assert "empty slot" in info.value.errors[0][1]
    assert circuit.closed == {("B", "202")}
    assert len(circuit.relay_changes) == 1
    assert not emulator.error_queue  # the driver read it all


def test_safe_state_opens_everything():
    circuit, _, matrix = make()
    matrix.close(["1A01", "3D07", "5F12"])
    matrix.safe_state()
    assert circuit.closed == set()
    assert matrix.closed() == []
    assert sorted(changes(circuit, 3)) == [
        ("A", "101", False),
        ("D", "307", False),
        ("F", "512", False),
    ]


@pytest.mark.parametrize(
    ("statement", "code"),
    [
        ("channel.close(", -285),
        ("garbage here", -285),
        ('channel.clsoe("1A01")', -286),
        ("channel.connectrule = channel.SOMETIMES", -286),
        ('channel.close("allslots")', 1115),  # close refuses slot names (section 7)
        ('channel.close("1A13")', 1115),
        ('channel.close("1I01")', 1115),
    ],
)
def test_unknown_or_malformed_tsp_queues_an_error_and_switches_nothing(statement, code):
    circuit, emulator, matrix = make()
    matrix.write(statement)
    with pytest.raises(InstrumentError) as info:
        matrix.check_errors()
    assert [c for c, _ in info.value.errors] == [code]
    assert circuit.relay_changes == []
    assert emulator.connect_rule == "BREAK_BEFORE_MAKE"


def test_error_queue_entries_are_code_message_severity_node_and_zero_when_empty():
    _, emulator, _ = make()
    emulator.write("channel.close(")
    emulator.write("print(errorqueue.next())")
    code, message, severity, node = emulator.read().split("\t")
    assert float(code) == -285
    assert message.startswith("TSP Syntax error")
    assert float(severity) in (0, 10, 20, 30, 40)  # the manual's levels
    assert float(node) == 1
    emulator.write("print(errorqueue.next())")
    assert float(emulator.read().split("\t")[0]) == 0
    emulator.write("channel.close(")
    emulator.write("errorqueue.clear()")
    emulator.write("print(errorqueue.count)")
    assert float(emulator.read()) == 0


def test_an_injected_error_reaches_the_driver():
    _, emulator, matrix = make()
    emulator.faults.errors = [(1115, "Parameter error, injected")]
    with pytest.raises(InstrumentError, match="injected"):
        matrix.open("1A01")


def test_708b_has_one_slot():
    circuit, emulator, matrix = make(Keithley708BEmulator, Keithley708B)
    matrix.close("1H12")
    assert circuit.closed == {("H", "112")}
    emulator.write('channel.close("2A01")')
    emulator.write("print(errorqueue.next())")
    assert float(emulator.read().split("\t")[0]) == 1115
    assert circuit.closed == {("H", "112")}
    emulator.write("*IDN?")
    assert "708B" in emulator.read()


def test_slots_outside_the_model_are_refused():
    circuit = BenchCircuit(BENCH, Chip.from_seed(0))
    with pytest.raises(ValueError, match="slots"):
        Keithley708BEmulator(circuit, slots=(1, 2))
