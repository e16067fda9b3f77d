"""arm() on every pulse generator: the single-shot settings are written, the error queue is read
and every setting is read back before the output goes on. A refused or different setting leaves
the output off, so the generator never runs free into the device; an error after the output went
on turns it off again."""

import pytest
from pymeasure.test import expected_protocol

from mtjlab.instruments.keysight33500b import Keysight33500B
from mtjlab.instruments.keysight81150a import Keysight81150A
from mtjlab.instruments.keysight81160a import Keysight81160A
from mtjlab.instruments.roles import InstrumentError

NO_ERROR_33500B = ("SYST:ERR?", '+0,"No error"')
NO_ERROR_81160A = ("SYST:ERR?", '0,"No error"')

# What each model is told, and the replies that say it holds it (33500 Series Operating and
# Service Guide, BURSt and TRIGger subsystems; 81150A and 81160A User's Guide, :ARM and :TRIGger).
SET_33500B = [
    ("SOUR1:BURS:MODE TRIG", None),
    ("SOUR1:BURS:NCYC 1", None),
    ("TRIG1:SOUR BUS", None),
    ("SOUR1:BURS:STAT 1", None),
]
HELD_33500B = {
    "SOUR1:BURS:MODE?": "TRIG",
    "SOUR1:BURS:NCYC?": "+1.000000000000000E+00",
    "TRIG1:SOUR?": "BUS",
    "SOUR1:BURS:STAT?": "1",
}
SET_81160A = [(":ARM:SOUR1 MAN", None), (":TRIG1:COUN 1", None)]
HELD_81160A = {":ARM:SOUR1?": "MAN", ":TRIG1:COUN?": "1"}

MODELS = {
    "33500B": (Keysight33500B, SET_33500B, HELD_33500B, NO_ERROR_33500B, "OUTP1"),
    "81160A": (Keysight81160A, SET_81160A, HELD_81160A, NO_ERROR_81160A, "OUTP1"),
    "81150A": (Keysight81150A, SET_81160A, HELD_81160A, NO_ERROR_81160A, "OUTP1"),
}


def read_back(held, **changed):
    """The read-back queries in order, with the replies in ``changed`` (query: reply) swapped in."""
    return [(query, changed.get(query, reply)) for query, reply in held.items()]


def assert_output_never_on(protocol, output):
    on = [cmd for cmd, _ in protocol if cmd.startswith(output) and cmd.split()[-1] in ("1", "ON")]
    assert on == []


@pytest.mark.parametrize("model", MODELS)
def test_arm_reads_every_setting_back_before_the_output_goes_on(model):
    driver, written, held, no_error, output = MODELS[model]
    protocol = [*written, no_error, *read_back(held), (f"{output} 1", None), no_error]
    with expected_protocol(driver, protocol) as gen:
        gen.arm()


@pytest.mark.parametrize("model", MODELS)
def test_a_refused_single_shot_setting_never_turns_the_output_on(model):
    driver, written, _, no_error, output = MODELS[model]
    protocol = [
        *written,
        ("SYST:ERR?", '-221,"Settings conflict"'),
        no_error,
        (f"{output} 0", None),  # off, in case an earlier arm left it on
    ]
    with expected_protocol(driver, protocol) as gen, pytest.raises(InstrumentError) as info:
        gen.arm()
    assert info.value.errors == ((-221, "Settings conflict"),)
    assert written[0][0] in info.value.commands
    assert_output_never_on(protocol, output)


@pytest.mark.parametrize(
    ("model", "query", "reply", "message"),
    [
        ("33500B", "SOUR1:BURS:MODE?", "GAT", r"burst_mode reads back as 'GAT' after setting 'TR"),
        ("33500B", "SOUR1:BURS:NCYC?", "+2.0E+00", r"burst_ncycles reads back as 2\.0"),
        ("33500B", "TRIG1:SOUR?", "IMM", r"trigger_source reads back as 'IMM' after setting 'BUS'"),
        ("33500B", "SOUR1:BURS:STAT?", "0", r"burst_state reads back as False after setting True"),
        ("33500B", "SOUR1:BURS:STAT?", "ON?", r"burst_state unreadable after setting True"),
        ("81160A", ":ARM:SOUR1?", "IMM", r"trigger_mode reads back as 'IMM' after setting 'MAN'"),
        ("81160A", ":TRIG1:COUN?", "2", r"trigger_count reads back as 2\.0 after setting 1"),
        ("81150A", ":ARM:SOUR1?", "EXT", r"trigger_mode reads back as 'EXT' after setting 'MAN'"),
    ],
)  # fmt: skip
def test_a_single_shot_setting_held_at_another_value_never_turns_the_output_on(
    model, query, reply, message
):
    driver, written, held, no_error, output = MODELS[model]
    replies = read_back(held, **{query: reply})
    # the read-back stops at the first setting that differs
    replies = replies[: [q for q, _ in replies].index(query) + 1]
    protocol = [*written, no_error, *replies, (f"{output} 0", None)]
    with (
        expected_protocol(driver, protocol) as gen,
        pytest.raises(InstrumentError, match=message) as info,
    ):
        gen.arm()
    assert "the output stays off" in str(info.value)
    assert_output_never_on(protocol, output)


@pytest.mark.parametrize("model", MODELS)
def test_an_error_after_the_output_went_on_turns_it_off_before_raising(model):
    driver, written, held, no_error, output = MODELS[model]
    protocol = [
        *written,
        no_error,
        *read_back(held),
        (f"{output} 1", None),
        ("SYST:ERR?", '-350,"Queue overflow"'),
        no_error,
        (f"{output} 0", None),
    ]
    with expected_protocol(driver, protocol) as gen, pytest.raises(InstrumentError) as info:
        gen.arm()
    assert info.value.errors == ((-350, "Queue overflow"),)
    assert f"{output} 1" in info.value.commands
