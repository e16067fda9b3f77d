"""Across the source-meter drivers: the output never goes on after a refused setting, nor before
the configuration and the level were set and read back.

The drivers talk to a fake instrument that keeps what it is told, answers a query with the value
last set, and refuses (queues an error for, and does not keep) the commands a test names.
"""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pymeasure.adapters import Adapter

from mtjlab.instruments.keithley2400 import Keithley2400
from mtjlab.instruments.keithley2450 import Keithley2450
from mtjlab.instruments.keithley2600b import Keithley2600B
from mtjlab.instruments.roles import InstrumentError

SCPI_EMPTY = '0,"No error"'
TSP_EMPTY = "0\tQueue Is Empty\t0\t0"


class FakeSmu(Adapter):
    """Keeps settings; answers ``X?`` / ``print(X)`` with the value last set for ``X``."""

    def __init__(self, dialect, answers, refused=()):
        super().__init__()
        self.dialect = dialect
        self.settings = dict(answers)
        self.refused = tuple(refused)
        self.queue: list[str] = []
        self.sent: list[str] = []
        self.reply = ""

    def _write(self, command, **kwargs):
        self.sent.append(command)
        if self.dialect == "tsp":
            if command == "print(errorqueue.next())":
                self.reply = self.queue.pop(0) if self.queue else TSP_EMPTY
            elif command.startswith("print(") and command.endswith(")"):
                self.reply = self.settings.get(command[6:-1], "nil")
            elif "=" in command:
                self._set(command, *command.split("=", 1))
            return
        if command == "SYST:ERR?":
            self.reply = self.queue.pop(0) if self.queue else SCPI_EMPTY
        elif command.endswith("?"):
            self.reply = self.settings.get(command[:-1], "")
        elif " " in command:
            self._set(command, *command.split(" ", 1))

    def _set(self, command, key, value):
        if any(command.startswith(r) for r in self.refused):
            self.queue.append(
                '-222,"Data out of range"' if self.dialect == "scpi" else "-222\tRefused\t2\t0"
            )
        else:
            self.settings[key] = value

    def _read(self, **kwargs):
        reply, self.reply = self.reply, ""
        return reply


class Bench:
    """One driver on a fake instrument, and how its output-on command is spelled."""

    def __init__(self, driver, dialect, answers, output_on):
        self.driver = driver
        self.dialect = dialect
        self.answers = answers
        self.output_on = output_on

    def connect(self, refused=()):
        fake = FakeSmu(self.dialect, self.answers, refused)
        return self.driver(fake), fake


BENCHES = {
    "2400": Bench(
        Keithley2400,
        "scpi",
        {":SOURCE:FUNCTION": "VOLT", "OUTPUT": "0", ":SOUR:VOLT:PROT": "210"},
        "OUTPUT 1",
    ),
    "2450": Bench(
        Keithley2450, "scpi", {"*LANG": "SCPI", ":SOUR:FUNC": "VOLT", ":OUTP": "0"}, ":OUTP 1"
    ),
    "2600B": Bench(
        Keithley2600B,
        "tsp",
        {"localnode.model": "2636B", "smua.source.output": "0"},
        "smua.source.output=1",
    ),
}


def configure_writes(name):
    """The setting commands configure_voltage_source sends on this driver."""
    smu, fake = BENCHES[name].connect()
    fake.sent.clear()
    smu.configure_voltage_source(1e-4, 1)
    return [c for c in fake.sent if not (c.endswith("?") or c.startswith("print("))]


@pytest.mark.parametrize("name", BENCHES)
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_a_refused_configuration_setting_is_never_followed_by_output_on(name, data):
    refused = data.draw(st.sampled_from(configure_writes(name)), label="refused command")
    smu, fake = BENCHES[name].connect(refused=[refused])
    with pytest.raises(InstrumentError):
        smu.configure_voltage_source(1e-4, 1)
    # a level that holds does not make up for the refused setting
    smu.set_voltage(0.1)
    with pytest.raises(InstrumentError, match="output not turned on"):
        smu.enable_output()
    assert BENCHES[name].output_on not in fake.sent


@pytest.mark.parametrize("name", BENCHES)
def test_output_on_only_after_configuration_and_level_both_held(name):
    smu, fake = BENCHES[name].connect()
    for step in (lambda: None, lambda: smu.configure_voltage_source(1e-4, 1)):
        step()
        with pytest.raises(InstrumentError, match="output not turned on"):
            smu.enable_output()
    smu.set_voltage(0.1)
    smu.enable_output()
    assert fake.sent.count(BENCHES[name].output_on) == 1


@pytest.mark.parametrize("name", BENCHES)
def test_a_later_refused_level_or_configuration_withdraws_an_earlier_confirmation(name):
    level = {"2400": ":SOURCE:VOLTAGE", "2450": ":SOUR:VOLT", "2600B": "smua.source.levelv"}[name]
    smu, fake = BENCHES[name].connect()
    smu.configure_voltage_source(1e-4, 1)
    smu.set_voltage(0.1)
    fake.refused = (f"{level} 0.2", f"{level}=0.2")
    with pytest.raises(InstrumentError):
        smu.set_voltage(0.2)
    with pytest.raises(InstrumentError, match="output not turned on"):
        smu.enable_output()
    smu.configure_voltage_source(1e-4, 1)
    smu.set_voltage(0.1)
    fake.refused = tuple(configure_writes(name)[-1:])
    with pytest.raises(InstrumentError):
        smu.configure_voltage_source(1e-4, 1)
    with pytest.raises(InstrumentError, match="output not turned on"):
        smu.enable_output()
    assert BENCHES[name].output_on not in fake.sent


@pytest.mark.parametrize("name", BENCHES)
def test_safe_state_withdraws_the_confirmation(name):
    smu, fake = BENCHES[name].connect()
    smu.configure_voltage_source(1e-4, 1)
    smu.set_voltage(0.1)
    smu.safe_state()
    with pytest.raises(InstrumentError, match="output not turned on"):
        smu.enable_output()
    assert BENCHES[name].output_on not in fake.sent
