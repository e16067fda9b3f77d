"""A safe state runs to its end whatever Ctrl-C or SIGTERM arrives while it runs: signals sent at
the instrument I/O, at every command of the safe state in turn, never leave an output on or a
relay closed, and the signal still stops the program once the bench is safe."""

import os
import signal
import subprocess
import sys

import pytest

from mtjlab.bench.emulated import EmulatedBench
from mtjlab.bench.file import builtin_bench_path, load_bench
from mtjlab.instruments._errors import try_every

BENCH = load_bench(builtin_bench_path())


def live_bench() -> tuple[EmulatedBench, object]:
    """The built-in emulated bench after a V/2 pulse: pulse outputs on and armed, both SMU
    channels on, relays closed. The pulse is inside chip 0's disturb envelope (0.62 V P -> AP
    at 100 ns); its commands are those of any amplitude, so it arms the outputs as any does."""
    emulated = EmulatedBench(BENCH)
    array = emulated.backend(1)
    array.read_cell(0, 0)
    array.write_pulse(3, 4, amplitude_v=0.6, width_s=1e-7, polarity=1)
    array.read_cell(3, 4)  # a read leaves the SMU channels on and relays closed
    assert emulated.circuit.closed and emulated.circuit.live() == ()
    return emulated, array


def commands_of_a_safe_state() -> int:
    emulated, array = live_bench()
    before = sum(len(e.received()) for e in emulated.emulators.values())
    array.safe_state()
    return sum(len(e.received()) for e in emulated.emulators.values()) - before


def interrupt_at(emulated: EmulatedBench, n: int, signum: int) -> None:
    """Send ``signum`` to this process when the n-th command from now reaches an instrument."""
    count = [0]
    for emulator in emulated.emulators.values():
        write = emulator.write

        def counted(line, write=write):
            count[0] += 1
            if count[0] == n:
                os.kill(os.getpid(), signum)
            return write(line)

        emulator.write = counted


def safe(emulated: EmulatedBench) -> bool:
    smu = emulated.emulator("smu_a").received()
    pulser = emulated.emulator("pulser_1").received()
    return (
        emulated.circuit.closed == set()
        and emulated.circuit.live() == ()
        and all(v in (None, 0.0) for v in emulated.circuit.levels.values())
        and smu.count("smua.source.output=0") >= 1
        and smu.count("smub.source.output=0") >= 1
        and pulser[-1] != "OUTP1 1"
        and "OUTP1 0" in pulser
        and "OUTP2 0" in pulser
    )


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_at_any_command_of_the_safe_state_waits_for_its_end(signum, capfd):
    n_commands = commands_of_a_safe_state()
    assert n_commands > 10
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)  # as the CLI does
    try:
        for n in range(1, n_commands + 1):
            emulated, array = live_bench()
            interrupt_at(emulated, n, signum)
            with pytest.raises(KeyboardInterrupt):
                array.safe_state()
            assert safe(emulated), n
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert "wait for it to finish" in capfd.readouterr().err


def test_two_signals_in_a_row_still_end_safe():
    emulated, array = live_bench()
    count = [0]
    for emulator in emulated.emulators.values():
        write = emulator.write

        def twice(line, write=write):
            count[0] += 1
            if count[0] in (2, 3):
                os.kill(os.getpid(), signal.SIGINT)
            return write(line)

        emulator.write = twice
    with pytest.raises(KeyboardInterrupt):
        array.safe_state()
    assert safe(emulated)


def test_try_every_runs_every_step_even_when_one_is_interrupted():
    done = []

    def interrupted():
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        try_every(
            [("a", lambda: done.append("a")), ("b", interrupted), ("c", lambda: done.append("c"))]
        )
    assert done == ["a", "c"]


def test_sigterm_during_a_safe_state_ends_the_process_with_143_after_it():
    code = (
        "import os, signal\n"
        "from mtjlab.core.signals import signals_held\n"
        "with signals_held():\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    print('safe state finished', flush=True)\n"
        "print('not reached', flush=True)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == -signal.SIGTERM
    assert done.stdout == "safe state finished\n"
    assert "SIGTERM received while making the bench safe" in done.stderr
