"""safe_state on every pulse generator: output off, with entries an earlier failure left in the
error queue drained (not blamed on the safe state) and the safe state's own failures raised."""

import pytest
from pymeasure.test import expected_protocol

from mtjlab.instruments.keysight33500b import Keysight33500B
from mtjlab.instruments.keysight81150a import Keysight81150A
from mtjlab.instruments.keysight81160a import Keysight81160A
from mtjlab.instruments.roles import InstrumentError

MODELS = {
    "33500B": (Keysight33500B, ("SYST:ERR?", '+0,"No error"')),
    "81160A": (Keysight81160A, ("SYST:ERR?", '0,"No error"')),
    "81150A": (Keysight81150A, ("SYST:ERR?", '0,"No error"')),
}


@pytest.mark.parametrize("model", MODELS)
def test_an_entry_left_by_an_earlier_failure_is_drained_not_raised(model):
    driver, no_error = MODELS[model]
    left = ("SYST:ERR?", '-221,"Settings conflict"')
    with expected_protocol(driver, [left, no_error, ("OUTP2 0", None), no_error], channel=2) as g:
        g.safe_state()


@pytest.mark.parametrize("model", MODELS)
def test_an_error_after_the_output_off_is_raised_naming_the_command(model):
    driver, no_error = MODELS[model]
    own = ("SYST:ERR?", '-310,"System error"')
    with (
        expected_protocol(driver, [no_error, ("OUTP1 0", None), own, no_error]) as gen,
        pytest.raises(InstrumentError) as info,
    ):
        gen.safe_state()
    assert info.value.errors == ((-310, "System error"),)
    assert info.value.commands == ("OUTP1 0",)


@pytest.mark.parametrize("model", MODELS)
def test_a_dead_link_is_reported_with_its_step_and_the_queue_still_read(model, monkeypatch):
    driver, no_error = MODELS[model]
    with expected_protocol(driver, [no_error, no_error]) as gen:

        def dead_link():
            raise TimeoutError("VI_ERROR_TMO")

        monkeypatch.setattr(gen, "_write_output_off", dead_link)
        with pytest.raises(InstrumentError, match="output off: TimeoutError: VI_ERROR_TMO"):
            gen.safe_state()
