"""Faults injected into the emulated bench end in a clear error, and the bench still ends with
every output off and every relay open: the safe state tries each instrument."""

import pytest

from mtjlab.bench.emulated import EmulatedBench
from mtjlab.bench.file import builtin_bench_path, load_bench
from mtjlab.instruments.roles import InstrumentError
from mtjlab.sim.chip import SHORTED
from mtjlab.sim.emulators.base import EmulatorDisconnected, EmulatorTimeout

BENCH = load_bench(builtin_bench_path())

# The pulses are V/2 at 0.6 V, inside chip 0's disturb envelope (0.62 V P -> AP at 100 ns), so
# each reaches the instruments and meets the fault injected for it.


@pytest.fixture
def emulated():
    return EmulatedBench(BENCH)


def last(lines, command):
    return max((i for i, line in enumerate(lines) if line == command), default=-1)


def outputs_off_and_relays_open(emulated):
    smu = emulated.emulator("smu_a").received()
    pulser = emulated.emulator("pulser_1").received()
    matrix = emulated.emulator("matrix").received()
    return (
        emulated.circuit.closed == set()
        and emulated.circuit.live() == ()
        and last(smu, "smua.source.output=1") < last(smu, "smua.source.output=0")
        and last(smu, "smub.source.output=1") < last(smu, "smub.source.output=0")
        and last(pulser, "OUTP1 1") < last(pulser, "OUTP1 0")
        and last(pulser, "OUTP2 1") < last(pulser, "OUTP2 0")
        and matrix[-2] == 'channel.open("allslots")'
    )


def test_a_timeout_is_a_clear_error_and_the_bench_ends_safe(emulated):
    with emulated.backend(1) as array:
        array.read_cell(0, 0)
        emulated.emulator("smu_a").faults.timeouts = 1
        with pytest.raises(EmulatorTimeout, match="emulated://smu: no reply"):
            array.read_cell(1, 1)
        array.write_pulse(1, 1, amplitude_v=0.6, width_s=1e-7, polarity=1)
    assert outputs_off_and_relays_open(emulated)


def test_an_error_queue_entry_is_an_instrument_error_naming_it(emulated):
    with emulated.backend(1) as array:
        array.read_cell(0, 0)
        emulated.emulator("pulser_1").faults.errors = [(-363, "Input buffer overrun")]
        with pytest.raises(InstrumentError, match="-363, Input buffer overrun"):
            array.write_pulse(1, 1, amplitude_v=0.6, width_s=1e-7, polarity=1)
    assert outputs_off_and_relays_open(emulated)


def test_a_garbled_reply_is_an_instrument_error(emulated):
    with emulated.backend(1) as array:
        array.read_cell(0, 0)
        smu = emulated.emulator("smu_a")
        smu.faults.garble = 1
        # the next reply is the reading's level read-back or the reading itself
        with pytest.raises(InstrumentError):
            array.read_cell(2, 2, v_read_v=0.09)
    assert outputs_off_and_relays_open(emulated)


def test_a_disconnect_mid_run_is_reported_and_the_others_are_still_made_safe(emulated):
    backend = emulated.backend(1)
    backend.read_cell(0, 0)
    emulated.emulator("pulser_1").faults.disconnect_after = 0
    with pytest.raises(EmulatorDisconnected):
        backend.write_pulse(1, 1, amplitude_v=0.6, width_s=1e-7, polarity=1)
    with pytest.raises(InstrumentError) as info:
        backend.safe_state()
    assert "pulse generator" in str(info.value) and "disconnected" in str(info.value)
    # the source meters and the matrix were still put in their safe state
    assert emulated.circuit.closed == set()
    assert emulated.emulator("smu_a").received()[-2] == "smua.source.levelv=0"


def test_a_device_that_breaks_down_reads_as_a_short(emulated):
    with emulated.backend(1) as array:
        healthy = array.read_cell(4, 4).resistance_ohm
        emulated.circuit.arrays[1].array.defect[4, 4] = SHORTED
        broken = array.read_cell(4, 4).resistance_ohm
    assert healthy > 3e3 and broken < 500
