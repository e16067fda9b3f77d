"""What other software may send to the emulated instruments beyond what mtjlab's drivers send:
the IEEE 488.2 common commands and status registers, each model's forms of the error queue,
several values in one TSP ``print``, and the refusals each model gives, with its error code.

Expected values are the manuals' (bit weights, error codes, queue sizes), not the emulators'
own constants: a test that read them from the class under test could not fail."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mtjlab.bench.emulated import EmulatedBench
from mtjlab.bench.file import builtin_bench_path, load_bench
from mtjlab.sim.chip import Chip
from mtjlab.sim.emulators.circuit import BenchCircuit
from mtjlab.sim.emulators.keithley707b import Keithley707BEmulator
from mtjlab.sim.emulators.keithley2400 import Keithley2400Emulator
from mtjlab.sim.emulators.keithley2450 import Keithley2450Emulator
from mtjlab.sim.emulators.keithley2600b import Keithley2600BEmulator
from mtjlab.sim.emulators.keysight33500b import Keysight33500BEmulator
from mtjlab.sim.emulators.keysight81160a import Keysight81150AEmulator, Keysight81160AEmulator

BENCH = load_bench(builtin_bench_path())

# IEEE 488.2 bit weights, as the 2450 and 2600B manuals tabulate them
OPC, QYE, DDE, EXE, CME, PON = 1, 4, 8, 16, 32, 128
EAV, MAV, ESB, MSS = 4, 16, 32, 64


def circuit():
    return BenchCircuit(BENCH, Chip.from_seed(0))


#: model -> (a new emulator, a command that is out of range there (-222), the error queue's
#: size in its manual, or None where the manual at hand gives none)
SCPI = {
    "2400": (
        lambda: Keithley2400Emulator(circuit(), {"smu": "smu_hi"}),
        ":SENS:CURR:NPLC 11",
        10,
    ),
    "2450": (
        lambda: Keithley2450Emulator(circuit(), {"smu": "smu_hi"}),
        ":SENS:CURR:NPLC 11",
        None,
    ),
    "33500B": (
        lambda: Keysight33500BEmulator(circuit(), {1: "pulse"}),
        "SOUR1:FUNC:PULS:WIDT 2E6",
        20,
    ),
    "81160A": (
        lambda: Keysight81160AEmulator(circuit(), {1: "pulse"}),
        ":PULS:WIDT1 2E6",
        30,
    ),
    "81150A": (
        lambda: Keysight81150AEmulator(circuit(), {1: "pulse"}),
        ":PULS:WIDT1 2E6",
        30,
    ),
}


@pytest.fixture(params=SCPI)
def scpi(request):
    make, out_of_range, capacity = SCPI[request.param]
    return request.param, make(), out_of_range, capacity


def ask(emulator, line):
    emulator.write(line)
    return emulator.read()


def next_code(emulator):
    """The code of the oldest error-queue entry, by the model's SYST:ERR? (0 when empty)."""
    return int(ask(emulator, "SYST:ERR?").split(",")[0])


def drain(emulator):
    codes = []
    while (code := next_code(emulator)) != 0:
        codes.append(code)
    return codes


# -- SCPI: the common commands -----------------------------------------------------------------


def test_identification_self_test_and_operation_complete(scpi):
    model, emu, _, _ = scpi
    assert {"33500B": "33522B"}.get(model, model) in ask(emu, "*IDN?").split(",")[1]
    assert ask(emu, "*idn?") == ask(emu, "*IDN?")  # common commands in any case
    assert ask(emu, "*TST?") == "0"
    assert ask(emu, "*OPC?") == "1"
    emu.write("*WAI")
    assert drain(emu) == []


def test_the_event_register_starts_with_power_on_and_reading_clears_it(scpi):
    _, emu, _, _ = scpi
    assert int(ask(emu, "*ESR?")) == PON
    assert int(ask(emu, "*ESR?")) == 0
    emu.write("*OPC")
    assert int(ask(emu, "*ESR?")) == OPC


def test_an_undefined_header_is_a_command_error_summarised_in_the_status_byte(scpi):
    _, emu, _, _ = scpi
    emu.write("*CLS")
    emu.write("*ESE 32")
    emu.write("*SRE 32")
    assert int(ask(emu, "*STB?")) == 0
    emu.write(":ZQX:BOGUS 1")
    # error available, event summary (CME is enabled) and, since ESB is enabled, the master bit
    assert int(ask(emu, "*STB?")) == EAV | ESB | MSS
    assert int(ask(emu, "*ESR?")) == CME
    assert int(ask(emu, "*ESR?")) == 0
    assert int(ask(emu, "*STB?")) == EAV  # the entry is still queued
    assert drain(emu) == [-113]
    assert int(ask(emu, "*STB?")) == 0


def test_each_error_class_sets_its_event_bit(scpi):
    _, emu, out_of_range, _ = scpi
    emu.write("*CLS")
    emu.write(out_of_range)
    assert int(ask(emu, "*ESR?")) == EXE
    emu.write(":ZQX")
    assert int(ask(emu, "*ESR?")) == CME
    emu.faults.errors = [(-310, "System error")]
    emu.write("*WAI")
    assert int(ask(emu, "*ESR?")) == DDE
    emu.faults.errors = [(-410, "Query INTERRUPTED")]
    emu.write("*WAI")
    assert int(ask(emu, "*ESR?")) == QYE
    assert drain(emu) == [-222, -113, -310, -410]


def test_a_reply_waiting_is_message_available(scpi):
    _, emu, _, _ = scpi
    emu.write("*CLS")
    emu.write("*IDN?")
    emu.write("*STB?")
    identity, status = emu.read(), emu.read()
    assert "," in identity
    assert int(status) == MAV


def test_clear_status_keeps_the_enable_registers_and_reset_keeps_the_status(scpi):
    _, emu, _, _ = scpi
    emu.write("*ESE 36;*SRE 255")
    emu.write(":ZQX")
    emu.write("*RST")
    assert int(ask(emu, "*ESR?")) == PON | CME  # *RST leaves the event register
    emu.write(":ZQX")
    emu.write("*CLS")
    assert int(ask(emu, "*ESR?")) == 0
    assert drain(emu) == []
    assert int(ask(emu, "*ESE?")) == 36
    assert int(ask(emu, "*SRE?")) == 255 - MSS  # bit 6 cannot be enabled


@pytest.mark.parametrize(
    ("line", "code"),
    [
        ("*ESE 256", -222),
        ("*ESE -1", -222),
        ("*ESE abc", -104),
        ("*ESE", -109),
        ("*SRE 1,2", -108),
        ("*IDN? 1", -108),
        ("*RST 1", -108),
        ("*ESR", -113),  # a query only
        ("*FOO", -113),
        ("*IDN", -113),
    ],
)
def test_malformed_common_commands_are_refused_with_the_scpi_error(scpi, line, code):
    _, emu, _, _ = scpi
    emu.write(line)
    assert drain(emu) == [code]


def test_a_compound_message_answers_each_query(scpi):
    _, emu, _, _ = scpi
    emu.write("*ESE 16;*ESE?;*OPC?")
    assert (emu.read(), emu.read()) == ("16", "1")


@pytest.mark.parametrize("model", [m for m, (_, _, size) in SCPI.items() if size is not None])
def test_the_error_queue_overflows_as_the_manual_says(model):
    make, _, capacity = SCPI[model]
    emu = make()
    emu.write("*CLS")
    for _ in range(capacity + 3):
        emu.write(":ZQX")
    # the last entry is replaced with -350, the later errors lost until one is read
    assert drain(emu) == [-113] * (capacity - 1) + [-350]
    assert int(ask(emu, "*ESR?")) == CME | DDE


def test_the_long_and_short_forms_of_the_error_query(scpi):
    model, emu, _, _ = scpi
    spellings = [":SYSTem:ERRor:NEXT?", "syst:err:next?", "SYSTEM:ERROR?", ":SYST:ERR?"]
    for spelling in spellings:
        emu.write(":ZQX")
        reply = ask(emu, spelling)
        assert reply.startswith('-113,"Undefined header'), (model, spelling, reply)
    assert drain(emu) == []


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(sorted(SCPI)),
    st.from_regex(r"ZQ[A-Za-z]{0,6}(:[A-Za-z]{1,8}){0,3}\??( [0-9A-Z,.]{0,8})?", fullmatch=True),
)
def test_any_unknown_header_is_refused_with_113_and_never_raises(model, line):
    emu = SCPI[model][0]()
    emu.write("*CLS")
    emu.write(line)
    emu.write(":" + line)
    assert int(ask(emu, "*ESR?")) == CME
    assert drain(emu) == [-113, -113]


# -- SCPI: each model's error-queue forms --------------------------------------------------------


def test_2400_reads_all_counts_and_reads_codes_alone():
    emu = SCPI["2400"][0]()
    emu.write(":ZQX")
    emu.write(":SENS:CURR:NPLC 11")
    emu.write(":READ?")  # output off: +803, no reading
    assert ask(emu, ":SYST:ERR:COUN?") == "3"
    assert ask(emu, ":SYSTem:ERRor:ALL?") == (
        '-113,"Undefined header",-222,"Data out of range",+803,"Not permitted with OUTPUT off"'
    )
    assert ask(emu, ":SYST:ERR:ALL?") == '0,"No error"'
    emu.write(":ZQX;:ZQY;:SENS:CURR:NPLC 11")
    assert ask(emu, ":SYST:ERR:CODE?") == "-113"
    assert ask(emu, ":syst:err:code:next?") == "-113"
    assert ask(emu, ":STATus:QUEue?") == '-222,"Data out of range"'
    assert ask(emu, ":SYST:ERR:CODE:ALL?") == "0"
    emu.write(":ZQX;:ZQY")
    assert ask(emu, ":SYST:ERR:CODE:ALL?") == "-113,-113"
    emu.write(":ZQX")
    emu.write(":SYST:CLE")
    assert ask(emu, ":SYST:ERR:COUN?") == "0"


def test_2400_query_only_error_headers_refuse_the_command_form():
    emu = SCPI["2400"][0]()
    emu.write(":SYST:ERR:COUN")
    emu.write(":SYST:ERR:ALL")
    assert drain(emu) == [-113, -113]


def test_2450_counts_and_reads_codes_and_tells_its_language():
    emu = SCPI["2450"][0]()
    emu.write(":ZQX")
    emu.write(":SENS:CURR:NPLC 11")
    assert ask(emu, ":SYSTem:ERRor:COUNt?") == "2"
    assert ask(emu, ":SYST:ERR:CODE?") == "-113"
    assert ask(emu, ":SYST:ERR?").startswith('-222,"Parameter data out of range;')
    assert ask(emu, ":SYST:ERR:COUN?") == "0"
    assert ask(emu, "*LANG?") == "SCPI"
    emu.write("*ESE 300")
    assert ask(emu, ":SYST:ERR?").startswith("-222,")


def test_a_2450_in_another_language_still_answers_the_common_commands():
    emu = Keithley2450Emulator(circuit(), {"smu": "smu_hi"}, language="TSP")
    assert "2450" in ask(emu, "*IDN?")
    emu.write(":SYST:ERR:COUN?")  # native SCPI is not understood then
    assert int(ask(emu, "*ESR?")) == PON | CME


def test_the_pulse_generators_run_a_bus_trigger_and_refuse_one_with_nothing_armed():
    emu = SCPI["33500B"][0]()
    emu.write("*CLS;*TRG")  # no burst waits for a bus trigger
    assert int(ask(emu, "*ESR?")) == EXE
    assert drain(emu) == [-211]
    assert ask(emu, "*OPT?") == "0"


# -- TSP: the 2600B ---------------------------------------------------------------------------


@pytest.fixture
def smu():
    """The built-in emulated bench's 2636B."""
    return EmulatedBench(BENCH).emulator("smu_a")


def tsp_errors(emulator):
    entries = []
    while True:
        code, message, severity, node = ask(emulator, "print(errorqueue.next())").split("\t")
        if float(code) == 0:
            assert message == "Queue Is Empty"
            return entries
        entries.append((int(float(code)), message))


def test_2600b_common_commands(smu):
    assert ask(smu, "*IDN?") == "Keithley Instruments Inc., Model 2636B, 4000001, 4.0.4"
    assert ask(smu, "print(localnode.model, localnode.serialno, localnode.revision)") == (
        "2636B\t4000001\t4.0.4"
    )
    assert ask(smu, "*TST?") == "0"
    assert ask(smu, "*OPC?") == "1"
    assert int(ask(smu, "*ESR?")) == PON
    smu.write("smua.source.levelv = 0.1")
    smu.write("smua.source.output = 1")
    smu.write("*RST")
    assert ask(smu, "print(smua.source.output, smua.source.levelv)") == ("0.00000e+00\t0.00000e+00")
    smu.write("smua.source.levelv = 0.2")
    smu.write("reset()")
    assert ask(smu, "print(smua.source.levelv)") == "0.00000e+00"


def test_2600b_errors_reach_the_status_byte_and_status_condition(smu):
    smu.write("*CLS")
    smu.write("*ESE 16")
    assert ask(smu, "print(status.condition)") == "0.00000e+00"
    smu.write("undefined_function()")  # -286, an execution error
    assert ask(smu, "print(status.condition)") == f"{EAV | ESB:.5e}"
    assert int(ask(smu, "*STB?")) == EAV | ESB
    assert int(ask(smu, "*ESR?")) == EXE
    [(code, message)] = tsp_errors(smu)
    assert code == -286 and message.startswith("TSP Runtime error at line 1:")
    assert "undefined_function" in message


def test_2600b_error_queue_forms(smu):
    smu.write("x = = 1")
    smu.write("smua.source.levelv = 500")
    assert ask(smu, "print(errorqueue.count)") == "2.00000e+00"
    assert ask(smu, "print(errorqueue.count, errorqueue.next())").split("\t")[:3] == [
        "2.00000e+00",
        "-2.85000e+02",
        "TSP Syntax error at line 1: unexpected symbol near '='",
    ]
    smu.write("errorqueue.clear()")
    assert ask(smu, "print(errorqueue.count)") == "0.00000e+00"
    assert tsp_errors(smu) == []
    smu.write("smua.source.levelv = 500")
    smu.write("*CLS")
    assert tsp_errors(smu) == []


def test_2600b_prints_several_values_tab_separated(smu):
    assert ask(smu, 'print(1, "two", nil, true, 2.5e-3)') == (
        "1.00000e+00\ttwo\tnil\ttrue\t2.50000e-03"
    )
    assert ask(smu, "print()") == ""
    smu.write("smua.source.levelv = 0.25")
    assert ask(smu, "print(smua.source.levelv, smua.source.limiti)") == ("2.50000e-01\t1.00000e-01")


def test_2600b_runs_any_lua_statement(smu):
    smu.write("x = 4")
    assert ask(smu, "print(x * 2, x .. 'a')") == "8.00000e+00\t4a"
    smu.write("for i = 1, 3 do smua.source.levelv = i / 10 end")
    assert ask(smu, "print(smua.source.levelv)") == "3.00000e-01"
    assert ask(smu, "print(undefined_name)") == "nil"
    smu.write("if errorqueue.count == 0 then print(localnode.model) end")
    assert smu.read() == "2636B"
    assert tsp_errors(smu) == []


@pytest.mark.parametrize(
    ("statement", "code"),
    [
        ("x = = 1", -285),
        ("smua.source.levelv =", -285),
        ("print(1", -285),
        ("*FOO", -285),  # not a common command: Lua, which does not parse it
        ("nothing_here()", -286),
        ("nothing.here = 1", -286),
        ("smua.source.levelx = 1", -286),
        ("smua.source.levelv = 500", -222),
    ],
)
def test_2600b_refusals(smu, statement, code):
    smu.write("*CLS")
    smu.write(statement)
    assert [c for c, _ in tsp_errors(smu)] == [code]


def test_a_one_channel_2600b_names_its_model_and_has_no_smub():
    smu = Keithley2600BEmulator(circuit(), {"a": "smu_hi"}, model="2601B")
    assert ask(smu, "*IDN?").split(", ")[1] == "Model 2601B"
    assert ask(smu, "print(localnode.model)") == "2601B"
    smu.write("print(smub.source.levelv)")
    smu.write("smub.source.levelv = 1")
    assert [c for c, _ in tsp_errors(smu)] == [-286, -286]


# -- TSP: the 707B ----------------------------------------------------------------------------


@pytest.fixture
def matrix():
    return Keithley707BEmulator(circuit())


def test_707b_common_commands_and_status(matrix):
    assert ask(matrix, "*IDN?").startswith("KEITHLEY INSTRUMENTS INC.,MODEL 707B,")
    assert ask(matrix, "*OPC?") == "1"
    assert int(ask(matrix, "*ESR?")) == PON
    matrix.write("*ESE 24")
    matrix.write('channel.close("1A01")')
    matrix.write("*RST")  # opens every channel
    assert ask(matrix, 'print(channel.getclose("allslots"))') == "nil"
    matrix.write("garbage here")  # -285: an execution error
    matrix.write('channel.close("1A13")')  # 1115, the model's own: device-dependent
    assert int(ask(matrix, "*STB?")) == EAV | ESB
    assert int(ask(matrix, "*ESR?")) == EXE | DDE
    assert [c for c, _ in tsp_errors(matrix)] == [-285, 1115]
    matrix.write("garbage here")
    matrix.write("*CLS")
    assert ask(matrix, "print(errorqueue.count, status.condition)") == ("0.00000e+00\t0.00000e+00")


def test_707b_prints_several_values_tab_separated(matrix):
    matrix.write('channel.close("1A01,2B03")')
    assert ask(matrix, 'print(localnode.model, channel.getclose("allslots"), 7, "x", nil)') == (
        "707B\t1A01;2B03\t7.00000e+00\tx\tnil"
    )
    assert ask(matrix, "print(undefined_name, errorqueue.count)") == "nil\t0.00000e+00"
    matrix.write("garbage here")
    fields = ask(matrix, "print(errorqueue.count, errorqueue.next())").split("\t")
    assert fields[:2] == ["1.00000e+00", "-2.85000e+02"]


@pytest.mark.parametrize(
    ("statement", "code"),
    [
        ("print(nothing.here)", -286),
        ("print(1,", -285),
        ("*FOO", -285),
        ('print(channel.getclose("1Z01"))', 1115),
    ],
)
def test_707b_refusals(matrix, statement, code):
    matrix.write(statement)
    assert [c for c, _ in tsp_errors(matrix)] == [code]
