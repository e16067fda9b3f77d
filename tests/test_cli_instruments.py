"""``mtjlab bench instruments``: every model of the driver registry, one line each, and nothing
else."""

from mtjlab.cli.app import main
from mtjlab.instruments.registry import DRIVERS


def test_bench_instruments_lists_every_model_of_the_registry_and_nothing_else(capsys):
    assert main(["bench", "instruments"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    table, checks = captured.out.split("\n\nwhat each driver checks:\n")
    header, *lines = table.splitlines()
    assert header.split() == ["model", "instrument", "role", "connects", "through", "emulator"]
    assert [line.split()[0] for line in lines] == list(DRIVERS)
    by_model = {line.split()[0]: line for line in lines}
    # what the manuals and the bench files say, not what the command derives it from: the
    # 2636B is a source meter on VISA, the 707B a matrix, the 33522B a pulse generator, and
    # the serial matrix opens a pyserial port itself
    assert "source meter" in by_model["keithley2600b"]
    assert "VISA resource" in by_model["keithley2600b"]
    assert "switch matrix" in by_model["keithley707b"]
    assert "pulse generator" in by_model["keysight33500b"]
    assert "serial port or URL" in by_model["serial_matrix"]
    assert "VISA" not in by_model["serial_matrix"]
    # every driver has an emulator (the built-in emulated bench relies on it)
    assert all(line.split()[-1] == "yes" for line in lines)
    # the columns line up: every line as long as the header
    assert {len(line) for line in lines} == {len(header)}


def test_it_says_what_each_driver_checks(capsys):
    assert main(["instruments"]) == 0  # the same as bench instruments, at the top level
    out = capsys.readouterr().out
    checks = dict(
        line.strip().split(": ", 1)
        for line in out.split("what each driver checks:\n")[1].splitlines()
    )
    assert list(checks) == list(DRIVERS)
    assert "output on only once its settings and level are read back" in checks["keithley2400"]
    assert "sources up to 210 V" in checks["keithley2400"]
    assert "SYST:ERR?" in checks["keysight33500b"] and "16 ns to 1 s" in checks["keysight33500b"]
    assert "1 mV to 5 V into 50 Ohm" in checks["keysight33500b"]
    assert "errorqueue.next" in checks["keithley2600b"]
    assert "break-before-make" in checks["keithley707b"]
    assert "checksum" in checks["serial_matrix"]
    capsys.readouterr()
    assert main(["bench", "instruments"]) == 0
    assert capsys.readouterr().out == out
