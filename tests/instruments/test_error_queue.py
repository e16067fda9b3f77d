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
        smu.enable_output()
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
