"""User scripts on the emulated 2600B: loaded with loadscript/endscript, run in Lua, acting on
the channels exactly as the same statements sent one by one; a TSP-Link node takes its own
commands; errors reach the queue and stop the script where they happen."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mtjlab.bench.file import builtin_bench_path, load_bench
from mtjlab.sim.chip import Chip
from mtjlab.sim.emulators.circuit import BenchCircuit
from mtjlab.sim.emulators.keithley707b import Keithley707BEmulator
from mtjlab.sim.emulators.keithley2600b import Keithley2600BEmulator

BENCH = load_bench(builtin_bench_path())


@pytest.fixture
def linked():
    circuit = BenchCircuit(BENCH, Chip.from_seed(0))
    smu = Keithley2600BEmulator(circuit, {"a": "smu_hi", "b": "drive"})
    matrix = Keithley707BEmulator(circuit, relay_settle_s=3e-3)
    smu.link(2, matrix, latency_s=1e-3)
    return circuit, smu, matrix


def send(emulator, *lines):
    out = []
    for line in lines:
        emulator.write(line)
        out.extend(emulator._replies)
        emulator._replies.clear()
    return out


def errors(emulator):
    return list(emulator.error_queue)


def test_a_loaded_script_runs_by_name_and_sets_what_the_same_statements_would(linked):
    _, smu, _ = linked
    send(smu, "loadscript setup", "smub.source.levelv = 0.25", "smub.source.limiti = 1e-3",
         "endscript")  # fmt: skip
    assert smu.channels["b"].attributes["source.levelv"] == 0.0  # loading runs nothing
    send(smu, "setup()")
    assert smu.channels["b"].attributes["source.levelv"] == 0.25
    assert smu.channels["b"].attributes["source.limiti"] == 1e-3
    assert errors(smu) == []


def test_a_function_a_script_defines_is_called_with_arguments_and_prints(linked):
    _, smu, _ = linked
    send(smu, "loadscript lib", "function twice(x) print(2 * x) end", "endscript", "lib()")
    assert send(smu, "twice(21)") == ["4.20000e+01"]


def test_a_refused_value_in_a_script_is_queued_and_stops_the_script_there(linked):
    _, smu, _ = linked
    send(smu, "loadscript bad", "smub.source.levelv = 0.5", "smub.source.levelv = 500",
         "smub.source.levelv = 0.7", "endscript", "bad()")  # fmt: skip
    assert [code for code, _ in errors(smu)] == [-222]
    assert smu.channels["b"].attributes["source.levelv"] == 0.5


def test_a_script_that_does_not_parse_is_a_syntax_error_at_endscript(linked):
    _, smu, _ = linked
    send(smu, "loadscript broken", "smub.source.levelv = = 1", "endscript")
    assert [code for code, _ in errors(smu)] == [-285]
    smu.error_queue.clear()
    send(smu, "broken()")  # never defined: an unknown global
    assert [code for code, _ in errors(smu)] == [-286]


@pytest.mark.parametrize(
    "name", ["os", "io", "require", "dofile", "loadfile", "load", "debug", "python"]
)
def test_a_script_gets_no_file_process_or_host_access(linked, name):
    _, smu, _ = linked
    send(smu, "loadscript peek", f"print(type({name}))", "endscript")
    assert send(smu, "peek()") == ["nil"]


def test_a_linked_matrix_switches_on_the_circuit_and_costs_its_settling_and_the_link(linked):
    circuit, smu, matrix = linked
    start = smu.clock.now_s
    send(smu, "loadscript connect", 'node[2].channel.exclusiveclose("1C01,1A04")', "endscript")
    after_load = smu.clock.now_s
    send(smu, "connect()")
    assert matrix.closed == {"1C01", "1A04"}
    assert circuit.closed == {("C", "101"), ("A", "104")}
    took = smu.clock.now_s - after_load
    # one command latency for connect(), one link latency, the relays' settling
    assert took >= smu.command_latency_s + 1e-3 + 3e-3
    assert after_load - start == pytest.approx(3 * smu.command_latency_s)
    assert matrix.received() == []  # nothing came over the matrix's own interface


def test_a_linked_matrix_refusal_stops_the_script_with_the_nodes_error(linked):
    _, smu, matrix = linked
    send(smu, "loadscript connect", 'node[2].channel.exclusiveclose("7A01")',
         "smub.source.levelv = 0.3", "endscript", "connect()")  # fmt: skip
    ((code, message),) = errors(smu)
    assert "node[2]" in message
    assert smu.channels["b"].attributes["source.levelv"] == 0.0  # not reached
    assert errors(matrix) == []  # reported once, on the node that ran the script


def test_a_script_reads_what_the_same_statements_sent_one_by_one_read():
    wiring = BENCH.arrays[1]
    close = f"{wiring.rows[2][0]}C{wiring.rows[2][1:]},{wiring.cols[5][0]}A{wiring.cols[5][1:]}"
    on = ["smua.source.output = 1", "smub.source.output = 1"]
    steps = ["smub.source.levelv = 0.1", "smua.measure.i(smua.nvbuffer1)", "smub.source.levelv = 0"]
    readings = []
    for scripted in (True, False):
        circuit = BenchCircuit(BENCH, Chip.from_seed(0))
        smu = Keithley2600BEmulator(circuit, {"a": "smu_hi", "b": "drive"})
        matrix = Keithley707BEmulator(circuit)
        smu.link(2, matrix, latency_s=1e-3)
        if scripted:
            switch = f'node[2].channel.exclusiveclose("{close}")'
            send(smu, *on, "loadscript one", switch, *steps, "endscript", "one()")
        else:
            send(matrix, f'channel.exclusiveclose("{close}")')
            send(smu, *on, *steps)
        assert errors(smu) == [] and errors(matrix) == []
        readings.append(smu.channels["a"].buffers["nvbuffer1"].readings)
    assert len(readings[0]) == 1 and readings[0][0] < 0  # into the ammeter's HI
    assert readings[0] == readings[1]


def test_a_model_without_tsp_link_cannot_be_linked():
    circuit = BenchCircuit(BENCH, Chip.from_seed(0))
    smu = Keithley2600BEmulator(circuit, {"a": "smu_hi", "b": "drive"}, model="2634B")
    with pytest.raises(ValueError, match="no TSP-Link"):
        smu.link(2, Keithley707BEmulator(circuit), latency_s=1e-3)


def test_a_runaway_script_is_stopped_with_an_error(linked, monkeypatch):
    from mtjlab.sim.emulators import _tsp_script

    _, smu, _ = linked
    monkeypatch.setattr(_tsp_script, "MAX_INSTRUCTIONS", 100_000)
    send(smu, "loadscript spin", "while true do end", "endscript", "spin()")
    ((code, message),) = errors(smu)
    assert code == -286 and "instruction limit" in message
    smu.error_queue.clear()
    send(smu, "loadscript short", "local x = 0", "for i = 1, 100 do x = x + i end",
         "print(x)", "endscript")  # fmt: skip
    assert send(smu, "short()") == ["5.05000e+03"]  # the limit counts per command


@settings(max_examples=120, deadline=None)
@given(st.lists(st.text(max_size=40), min_size=1, max_size=4))
def test_no_line_makes_the_emulator_raise_only_the_error_queue_grows(lines):
    circuit = BenchCircuit(BENCH, Chip.from_seed(0))
    smu = Keithley2600BEmulator(circuit, {"a": "smu_hi", "b": "drive"})
    smu.link(2, Keithley707BEmulator(circuit), latency_s=1e-3)
    for line in ["loadscript fuzz", *lines, "endscript", "fuzz()", *lines]:
        if "\n" in line or "\r" in line:
            continue  # one command per line on the wire
        smu.write(line)
        smu.discard_replies()
    assert all(isinstance(code, int) for code, _ in smu.error_queue)
