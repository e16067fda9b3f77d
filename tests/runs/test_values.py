"""Option values written on the command line: amplitude grids in the write ramps' order and
form (START,STEP,STOP), the older START:STOP:STEP refused with the new form shown, and bad text
as one line."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mtjlab.runs.values import AMPLITUDE_GRID, RAMP, OptionError


def test_a_grid_is_given_as_the_write_ramps_are_and_the_older_form_shows_it():
    assert AMPLITUDE_GRID.take("0.40,0.05,0.55") == [0.4, 0.45, 0.5, 0.55]
    with pytest.raises(OptionError) as err:
        AMPLITUDE_GRID.take("0.40:0.55:0.05")
    assert str(err.value) == (
        "'0.40:0.55:0.05' is the old START:STOP:STEP form; every command now takes "
        "START,STEP,STOP, as the write ramps do: 0.40,0.05,0.55"
    )
    # the same three numbers as a ramp: the same order, START,STEP,STOP
    assert RAMP.take("0.40,0.05,0.55") == (0.4, 0.05, 0.55)


@given(
    st.integers(1, 80).map(lambda k: k / 100),
    st.integers(1, 10).map(lambda k: k / 100),
    st.integers(0, 20),
)
def test_the_line_that_refuses_the_old_form_gives_the_same_grid(start, step, n):
    stop = round(start + n * step, 9)
    if n == 0:
        with pytest.raises(OptionError, match="START < STOP"):
            AMPLITUDE_GRID.take(f"{start},{step},{stop}")
        return
    grid = AMPLITUDE_GRID.take(f"{start},{step},{stop}")
    with pytest.raises(OptionError) as err:
        AMPLITUDE_GRID.take(f"{start}:{stop}:{step}")
    assert grid == AMPLITUDE_GRID.take(str(err.value).rsplit(": ", 1)[1])
    assert grid[0] == start and len(grid) == n + 1 and abs(grid[-1] - stop) < 1e-9


@pytest.mark.parametrize("text", ["0.4,0.6", "0.4;0.01;0.6", "a,b,c", "0.4:0.6", "0.4,0.01:0.6"])
def test_bad_text_is_one_line_naming_the_form(text):
    with pytest.raises(OptionError) as err:
        AMPLITUDE_GRID.take(text)
    message = str(err.value)
    assert "\n" not in message and "START,STEP,STOP" in message and repr(text) in message
