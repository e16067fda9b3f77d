"""The error-queue check shared by the SCPI and TSP drivers."""

import pytest
from pymeasure.test import expected_protocol

from mtjlab.instruments.keithley707b import Keithley707B
from mtjlab.instruments.keithley2450 import Keithley2450
from mtjlab.instruments.roles import InstrumentError

NO_ERROR = ("SYST:ERR?", '0,"No error"')


def test_all_queued_errors_are_reported_and_the_queue_read_until_empty():
    with (
        expected_protocol(
            Keithley2450,
            [
                (":OUTP 1", None),
                ("SYST:ERR?", '-113,"Undefined header"'),
                ("SYST:ERR?", '-222,"Data out of range, with a comma"'),
                NO_ERROR,
            ],
        ) as smu,
        pytest.raises(InstrumentError) as info,
    ):
        smu.output_enabled = True
        smu.check_errors()
    assert info.value.errors == (
        (-113, "Undefined header"),
        (-222, "Data out of range, with a comma"),
    )


def test_the_commands_named_are_those_since_the_last_check_and_at_most_32():
    with expected_protocol(
        Keithley2450,
        [(":OUTP 0", None), NO_ERROR]
        + [(f":SOUR:VOLT {v}", None) for v in range(40)]
        + [("SYST:ERR?", '-221,"Settings conflict"'), NO_ERROR],
    ) as smu:
        smu.disable_output()
        for v in range(40):
            smu.source_voltage = v
        with pytest.raises(InstrumentError) as info:
            smu.check_errors()
    assert info.value.commands == tuple(f":SOUR:VOLT {v}" for v in range(8, 40))


def test_an_unreadable_error_reply_is_itself_an_error():
    with (
        expected_protocol(Keithley2450, [(":OUTP 0", None), ("SYST:ERR?", "garbage")]) as smu,
        pytest.raises(InstrumentError, match="unreadable error-queue reply 'garbage'"),
    ):
        smu.disable_output()


def test_an_endless_error_queue_is_cut_off():
    entry = ("print(errorqueue.next())", "-2.85000e+02\tTSP Syntax error\t2\t0")
    with (
        expected_protocol(
            Keithley707B, [('channel.open("allslots")', None)] + [entry] * 64
        ) as matrix,
        pytest.raises(InstrumentError) as info,
    ):
        matrix.open_all()
    assert len(info.value.errors) == 64
    assert info.value.errors[0] == (-285, "TSP Syntax error")


def test_drain_returns_old_entries_without_raising():
    with expected_protocol(
        Keithley2450,
        [("SYST:ERR?", '-363,"Input buffer overrun"'), NO_ERROR],
    ) as smu:
        assert smu.drain_errors() == [(-363, "Input buffer overrun")]


def test_every_step_runs_after_a_failure_and_all_failures_are_reported():
    def refused():
        smu.write(":SOUR:VOLT 0")
        raise InstrumentError(smu.name, [":SOUR:VOLT 0"], [(-221, "Settings conflict")])

    def dead_link():
        raise TimeoutError("VI_ERROR_TMO")

    with (
        expected_protocol(
            Keithley2450,
            [
                # an entry an earlier failure left is drained first, not blamed on the safe state
                ("SYST:ERR?", '-410,"Query INTERRUPTED"'),
                NO_ERROR,
                (":ABOR", None),
                (":SOUR:VOLT 0", None),
                (":OUTP 0", None),
                ("SYST:ERR?", '-200,"Execution error"'),
                NO_ERROR,
            ],
        ) as smu,
        pytest.raises(InstrumentError) as info,
    ):
        smu.run_every_step(
            [
                ("abort", lambda: smu.write(":ABOR")),
                ("source 0 V", refused),
                ("link", dead_link),
                ("output off", lambda: setattr(smu, "output_enabled", False)),
            ]
        )
    codes = [code for code, _ in info.value.errors]
    assert codes == [-221, 0, -200]
    assert "source 0 V: Settings conflict" in str(info.value)
    assert "link: TimeoutError: VI_ERROR_TMO" in str(info.value)
    assert -410 not in codes


def test_every_step_done_without_error_raises_nothing():
    with expected_protocol(Keithley2450, [NO_ERROR, (":OUTP 0", None), NO_ERROR]) as smu:
        smu.run_every_step([("output off", lambda: setattr(smu, "output_enabled", False))])
