"""fire() on every pulse generator returns only once the pulse has ended: *OPC? after *TRG must
answer 1 before the error queue is read, and on a model whose manual does not say that *OPC?
waits for the burst (81160A, 81150A) the programmed width is also waited out."""

import pytest
from pymeasure.test import expected_protocol
from test_keysight33500b import pulse_setup as pulse_setup_33500b
from test_keysight81160a import pulse_setup

from mtjlab.instruments import _pulser
from mtjlab.instruments.keysight33500b import Keysight33500B
from mtjlab.instruments.keysight81150a import Keysight81150A
from mtjlab.instruments.keysight81160a import Keysight81160A
from mtjlab.instruments.roles import InstrumentError

MODELS = {
    "33500B": (Keysight33500B, ("SYST:ERR?", '+0,"No error"')),
    "81160A": (Keysight81160A, ("SYST:ERR?", '0,"No error"')),
    "81150A": (Keysight81150A, ("SYST:ERR?", '0,"No error"')),
}


class Clock:
    """A stand-in for time.monotonic and time.sleep: time passes only when slept."""

    def __init__(self):
        self.now = 100.0
        self.slept = []

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(_pulser.time, "monotonic", clock.monotonic)
    monkeypatch.setattr(_pulser.time, "sleep", clock.sleep)
    return clock


@pytest.mark.parametrize("model", MODELS)
def test_fire_waits_for_operation_complete_before_reading_the_queue(model, clock):
    driver, no_error = MODELS[model]
    with expected_protocol(driver, [("*TRG", None), ("*OPC?", "1"), no_error]) as gen:
        gen.fire()
    assert clock.slept == []  # no width programmed by this session: nothing more to wait out


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("reply", ["0", "", "1;1"])
def test_an_operation_complete_reply_other_than_1_raises(model, reply, clock):
    driver, _ = MODELS[model]
    with (
        expected_protocol(driver, [("*TRG", None), ("*OPC?", reply)]) as gen,
        pytest.raises(InstrumentError, match=r"\*OPC\? after \*TRG answered .*, not 1"),
    ):
        gen.fire()


def test_the_81160a_also_waits_out_the_programmed_width(clock):
    width_s = 1e-3
    setup = pulse_setup(
        1, "5.000000e+01", "+5.0E+01", "1.000000e-03", "2.000000e-03", "1.000000", "0.500000",
        "NORM",
    )  # fmt: skip
    no_error = MODELS["81160A"][1]
    with expected_protocol(
        Keysight81160A, [*setup, ("*TRG", None), ("*OPC?", "1"), no_error]
    ) as gen:
        gen.configure_pulse(amplitude_v=1.0, width_s=width_s)
        gen.fire()
    assert clock.slept == [pytest.approx(width_s)]


def test_the_33500b_relies_on_its_documented_operation_complete(clock):
    # 33500 Series Operating and Service Guide, TRIGger subsystem: *OPC? returns 1 when the
    # burst is complete, so nothing more is waited for
    setup = pulse_setup_33500b(
        1, "50", "+5.0E+01", "1.000000e-03", "2.000000e-03", "1.000000", "0.500000", "NORM"
    )
    no_error = MODELS["33500B"][1]
    with expected_protocol(
        Keysight33500B, [*setup, ("*TRG", None), ("*OPC?", "1"), no_error]
    ) as gen:
        gen.configure_pulse(amplitude_v=1.0, width_s=1e-3)
        gen.fire()
    assert clock.slept == []
