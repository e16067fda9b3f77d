"""The argument-check vocabulary (mtjlab/core/checks.py), and the modules that refuse with it."""

import math
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from pymeasure.test import expected_protocol

from mtjlab.core.checks import (
    check_amplitudes,
    check_array,
    check_cell,
    check_choice,
    check_read_v,
    check_scalar,
    check_widths,
    describe_range,
    frozen_array,
)
from mtjlab.core.limits import Limits
from mtjlab.instruments.keithley2400 import Keithley2400
from mtjlab.instruments.keysight81160a import Keysight81160A
from mtjlab.protocols.rv import rv_loop
from mtjlab.protocols.switching import switching_probability
from mtjlab.protocols.thermal_fit import fit_thermal_activation
from mtjlab.protocols.write import write_verify
from mtjlab.sim.backend import SimulatedBackend
from mtjlab.sim.chip import Chip, ChipSpec
from mtjlab.sim.solver import solve_crossbar

FINITE = st.floats(allow_nan=False, allow_infinity=False)
NOT_NUMBERS = st.one_of(
    st.booleans(),
    st.just(np.True_),
    st.text(max_size=5),
    st.none(),
    st.lists(FINITE, max_size=2),
    st.just(np.array(1.0)),
    st.just(1 + 2j),
)
NON_FINITE = st.sampled_from([math.nan, math.inf, -math.inf, np.float64("nan"), np.inf])


def refusal(name, value, what, allowed):
    """The one shape of a refusal, as a regular expression."""
    return re.escape(f"{name}={value!r} is {what}; allowed: {allowed}")


# -- check_scalar ----------------------------------------------------------------------------


@given(value=FINITE, bounds=st.tuples(FINITE, FINITE).map(sorted))
def test_a_finite_number_in_range_is_returned_as_a_float(value, bounds):
    low, high = bounds
    if low <= value <= high:
        out = check_scalar(value, "x", low=low, high=high)
        assert type(out) is float and out == value
    else:
        with pytest.raises(ValueError, match=refusal("x", value, "out of range", f"{low:g} to")):
            check_scalar(value, "x", low=low, high=high)


@given(value=st.one_of(st.integers(), st.integers(-(2**63), 2**63 - 1).map(np.int64)))
def test_integers_of_any_size_are_numbers_and_ints(value):
    assert check_scalar(value, "n", kind=int) == value
    assert type(check_scalar(value, "n", kind=int)) is int
    if abs(value) < 2**53:
        assert check_scalar(value, "x") == float(value)


@given(value=NOT_NUMBERS, kind=st.sampled_from([int, float]))
def test_bools_strings_and_other_non_numbers_are_a_type_error(value, kind):
    what = "not an integer" if kind is int else "not a number"
    with pytest.raises(TypeError, match=refusal("x", value, what, "0 to 1 V")):
        check_scalar(value, "x", kind=kind, low=0, high=1, unit="V")


@given(value=FINITE)
def test_a_float_is_not_an_integer_even_when_whole(value):
    with pytest.raises(TypeError, match=refusal("n", value, "not an integer", ">= 1")):
        check_scalar(value, "n", kind=int, low=1)


@given(value=NON_FINITE)
def test_nan_and_inf_are_out_of_range_even_without_bounds(value):
    with pytest.raises(ValueError, match=refusal("x", value, "out of range", "any finite number")):
        check_scalar(value, "x")
    with pytest.raises(ValueError, match=refusal("x", value, "out of range", "> 0 s")):
        check_scalar(value, "x", low=0, low_open=True, unit="s")


@given(edge=FINITE, step=st.floats(min_value=1e-6, max_value=1e6))
def test_edges_are_inclusive_unless_open(edge, step):
    above = edge + step * max(1.0, abs(edge))
    if not math.isfinite(above) or above == edge:
        return
    assert check_scalar(edge, "x", low=edge) == edge
    assert check_scalar(edge, "x", high=edge) == edge
    assert check_scalar(edge, "x", low=edge, high=above) == edge
    assert check_scalar(above, "x", low=edge, high=above) == above
    with pytest.raises(ValueError, match=refusal("x", edge, "out of range", f"> {edge:g}")):
        check_scalar(edge, "x", low=edge, low_open=True)
    with pytest.raises(ValueError, match=refusal("x", edge, "out of range", f"< {edge:g}")):
        check_scalar(edge, "x", high=edge, high_open=True)
    interval = f"({edge:g}, {above:g}]"
    with pytest.raises(ValueError, match=refusal("x", edge, "out of range", interval)):
        check_scalar(edge, "x", low=edge, high=above, low_open=True)
    interval = f"[{edge:g}, {above:g})"
    with pytest.raises(ValueError, match=refusal("x", above, "out of range", interval)):
        check_scalar(above, "x", low=edge, high=above, high_open=True)


@given(value=FINITE)
def test_nonzero_refuses_zero_alone(value):
    if value == 0:
        with pytest.raises(ValueError, match=r"allowed: -1 to 1 V except 0"):
            check_scalar(value, "v", low=-1, high=1, nonzero=True, unit="V")
    else:
        assert check_scalar(value, "v", nonzero=True) == value


def test_the_caller_chooses_the_error_classes():
    with pytest.raises(ValueError, match="row='1' is not an integer"):
        check_scalar("1", "row", kind=int, type_error=ValueError)
    with pytest.raises(IndexError, match="row=15 is out of range; allowed: 0 to 14"):
        check_scalar(15, "row", kind=int, low=0, high=14, range_error=IndexError)
    with pytest.raises(TypeError, match="kind must be int or float"):
        check_scalar(1, "x", kind=complex)  # type: ignore[call-overload]


# -- the shared parameters: a cell, a read voltage, pulse amplitudes and widths -----------------


@pytest.mark.parametrize(
    ("row", "col", "error", "message"),
    [
        (15, 0, IndexError, "row=15 is out of range; allowed: 0 to 14"),
        (0, -1, IndexError, "col=-1 is out of range; allowed: 0 to 9"),
        (0, 1.0, TypeError, "col=1.0 is not an integer; allowed: 0 to 9"),
        (True, 0, TypeError, "row=True is not an integer; allowed: 0 to 14"),
    ],
)
def test_one_cell_check_two_error_conventions_one_message(row, col, error, message):
    assert check_cell(np.int64(14), 9, (15, 10)) == (14, 9)
    with pytest.raises(error, match=re.escape(message)):
        check_cell(row, col, (15, 10))
    # The protocols' promise: a ValueError for both, with the same words.
    with pytest.raises(ValueError, match=re.escape(message)):
        check_cell(row, col, (15, 10), type_error=ValueError, range_error=ValueError)


@pytest.mark.parametrize(
    ("row", "col", "error", "message"),
    [
        (15, 0, IndexError, "row=15 is out of range; allowed: 0 to 14"),
        (0, 1.0, TypeError, "col=1.0 is not an integer; allowed: 0 to 14"),
    ],
)
def test_the_backend_and_a_protocol_refuse_a_cell_in_the_same_words(row, col, error, message):
    b = backend()
    with pytest.raises(error, match=re.escape(message)):
        b.read_cell(row, col)
    with pytest.raises(ValueError, match=re.escape(message)):
        rv_loop(b, row, col, max_amplitude_v=0.5, step_v=0.1)
    with pytest.raises(ValueError, match=re.escape(message)):
        switching_probability(
            b, [(row, col)], direction="P->AP", amplitudes_v=0.5, widths_s=1e-7, trials=1
        )
    assert b.counts["reads"] == 0 and b.counts["pulses"] == 0


LIMITS = Limits(0.2, 1.0, 1e-9, 1e-3, 1e-3, 1.5)


def test_read_v_form_only_or_within_the_limits():
    assert check_read_v(-0.5) == -0.5
    with pytest.raises(TypeError, match=refusal("v_read_v", "0.1", "not a number", "any finite")):
        check_read_v("0.1")
    assert check_read_v(-0.2, LIMITS) == -0.2
    allowed = "-0.2 to 0.2 V (limits.max_read_v) except 0"
    with pytest.raises(ValueError, match=refusal("v_read_v", 0.5, "out of range", allowed)):
        check_read_v(0.5, LIMITS)
    with pytest.raises(ValueError, match=refusal("v_read_v", "0.1", "not a number", allowed)):
        check_read_v("0.1", LIMITS, type_error=ValueError)


def test_pulse_levels_against_the_limits():
    np.testing.assert_array_equal(check_amplitudes("a", 0.5, LIMITS), [0.5])
    np.testing.assert_array_equal(check_widths("w", [1e-9, 1e-3], LIMITS), [1e-9, 1e-3])
    with pytest.raises(ValueError, match=r"a\[1\]=1.5 is out of range; allowed: \(0, 1\] V"):
        check_amplitudes("a", [0.5, 1.5], LIMITS)
    with pytest.raises(ValueError, match="w=.* is not one number or a 1-D list of them"):
        check_widths("w", [[1e-9]], LIMITS)
    with pytest.raises(ValueError, match="is not one number or a 1-D list of them"):
        check_amplitudes("a", "fast", LIMITS)


def test_frozen_array_is_a_read_only_copy():
    x = np.arange(3.0)
    y = frozen_array(x)
    x[0] = 7.0
    assert y[0] == 0.0 and not y.flags.writeable


def test_describe_range_words():
    assert describe_range(1, 4) == "1 to 4"
    assert describe_range(0, 1.2, True, unit="V") == "(0, 1.2] V"
    assert describe_range(0, None, True, unit="s") == "> 0 s"
    assert describe_range(None, 3, False, True) == "< 3"
    assert describe_range(None, None, nonzero=True, unit="V") == "any finite number except 0 (V)"
    assert describe_range(None, None, kind=int) == "any integer"


# -- check_array ------------------------------------------------------------------------------


@given(x=hnp.arrays(float, hnp.array_shapes(min_dims=0, max_dims=3), elements=FINITE))
def test_an_array_in_range_passes_and_the_first_bad_element_is_named(x):
    assert check_array(x, "a") is x
    bad = x < 0
    if not bad.any():
        assert check_array(x, "a", low=0) is x
        return
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    label = f"a[{', '.join(map(str, index))}]" if index else "a"
    with pytest.raises(ValueError, match=refusal(label, float(x[index]), "out of range", ">= 0")):
        check_array(x, "a", low=0)


@given(
    x=hnp.arrays(float, hnp.array_shapes(min_dims=1, max_dims=2), elements=FINITE),
    where=st.integers(min_value=0),
    bad=NON_FINITE,
)
def test_a_non_finite_element_is_refused(x, where, bad):
    x.flat[where % x.size] = bad
    with pytest.raises(ValueError, match=r"is out of range; allowed: any finite number"):
        check_array(x, "a")


# -- check_choice -----------------------------------------------------------------------------


@given(value=st.one_of(st.text(max_size=4), st.integers(), st.none(), st.booleans()))
def test_a_choice_is_one_of_the_allowed_values(value):
    allowed = ("v/2", "v/3", "floating")
    if value in allowed:
        assert check_choice("scheme", value, allowed) == value
    else:
        listed = "v/2, v/3, floating"
        with pytest.raises(ValueError, match=refusal("scheme", value, "not allowed", listed)):
            check_choice("scheme", value, allowed)
    assert check_choice("direction", "P->AP", {"P->AP": 1, "AP->P": -1}) == "P->AP"


# -- the modules that refuse with it ------------------------------------------------------------


def backend():
    return SimulatedBackend(Chip.from_seed(0), 1)


@given(v_read_v=st.one_of(NON_FINITE, st.just(0.0)))
def test_array_backend_read(v_read_v):
    b = backend()
    with pytest.raises(ValueError, match=refusal("v_read_v", v_read_v, "out of range", "any")):
        b.read_cell(0, 0, v_read_v=v_read_v)
    with pytest.raises(TypeError, match=refusal("v_read_v", True, "not a number", "any")):
        b.read_cell(0, 0, v_read_v=True)
    with pytest.raises(IndexError, match=refusal("row", 15, "out of range", "0 to 14")):
        b.read_cell(15, 0)
    assert b.counts["reads"] == 0


def test_simulated_backend_construction():
    with pytest.raises(ValueError, match=refusal("read_time_s", 0.0, "out of range", "> 0 s")):
        SimulatedBackend(Chip.from_seed(0), 1, read_time_s=0.0)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"tol_v": -1.0}, ValueError, refusal("tol_v", -1.0, "out of range", "> 0 V")),
        ({"tol_v": "1e-9"}, TypeError, refusal("tol_v", "1e-9", "not a number", "> 0 V")),
        ({"r_row": math.inf}, ValueError, refusal("r_row", math.inf, "out of range", ">= 0")),
        ({"max_iter": True}, ValueError, refusal("max_iter", True, "not an integer", ">= 1")),
        ({"method": "fast"}, ValueError, refusal("method", "fast", "not allowed", "auto, ")),
        (
            {"conductance_s": [[1e-3, -1.0]]},
            ValueError,
            refusal("conductance_s[0, 1]", -1.0, "out of range", ">= 0 S"),
        ),
    ],
)
def test_solve_crossbar(kwargs, error, message):
    args = {"conductance_s": [[1e-3]], "row_voltages": [1.0], "r_row": 1.0, "r_col": 1.0}
    args.update(kwargs)
    if "conductance_s" in kwargs:
        args["row_voltages"] = [1.0]
    with pytest.raises(error, match=message):
        solve_crossbar(**args)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"tmr0": math.nan}, ValueError, refusal("ChipSpec.tmr0", math.nan, "out of range", "> 0")),
        ({"tmr0": True}, TypeError, refusal("ChipSpec.tmr0", True, "not a number", "> 0")),
        (
            {"r_row_ohm": -2.0},
            ValueError,
            refusal("ChipSpec.r_row_ohm", -2.0, "out of range", ">="),
        ),
        ({"p_open": -0.1}, ValueError, refusal("ChipSpec.p_open", -0.1, "out of range", "0 to 1")),
        (
            {"initial_state": "up"},
            ValueError,
            refusal("ChipSpec.initial_state", "up", "not allowed", "P, AP, random"),
        ),
    ],
)
def test_chip_spec(kwargs, error, message):
    with pytest.raises(error, match=message):
        ChipSpec(**kwargs)


def test_chip_seed_and_array_index():
    with pytest.raises(ValueError, match=refusal("seed", 1.5, "not an integer", ">= 0")):
        Chip.from_seed(1.5)
    with pytest.raises(TypeError, match=refusal("index", "0", "not an integer", "0 to 4")):
        Chip.from_seed(0).array("0")


def test_a_driver_refuses_before_any_byte():
    with expected_protocol(Keithley2400, [INIT_2400]) as smu:
        with pytest.raises(ValueError, match=refusal("voltage_v", math.inf, "out of range", "-2")):
            smu.set_voltage(math.inf)
        with pytest.raises(TypeError, match=refusal("voltage_v", True, "not a number", "-210")):
            smu.set_voltage(True)
        with pytest.raises(ValueError, match=refusal("after", "NOW", "not allowed", "SOUR, DEL")):
            smu.output_trigger_on_external(line=1, after="NOW")
    refused = pytest.raises(ValueError, match=refusal("load", "75ohm", "not allowed", "50ohm"))
    with expected_protocol(Keysight81160A, []) as generator, refused:
        generator.configure_pulse(1.0, 1e-6, load="75ohm")


INIT_2400 = (":FORMAT:ELEMENTS VOLTAGE, CURRENT, RESISTANCE, TIME, STATUS", None)


def test_protocols_refuse_with_a_value_error():
    b = backend()
    cells = {
        "cells": [(1, 1)],
        "direction": "P->AP",
        "amplitudes_v": [0.5],
        "widths_s": [1e-7],
        "trials": 2,
    }
    high = f"{b.limits.max_write_v:g}"
    with pytest.raises(ValueError, match=refusal("amplitudes_v[1]", 9.0, "out of range", "(0, ")):
        switching_probability(b, **{**cells, "amplitudes_v": [0.5, 9.0]})
    with pytest.raises(ValueError, match=rf"allowed: \(0, {high}\] V"):
        switching_probability(b, **{**cells, "amplitudes_v": [9.0]})
    with pytest.raises(ValueError, match=refusal("trials", True, "not an integer", ">= 1")):
        switching_probability(b, **{**cells, "trials": True})
    with pytest.raises(ValueError, match=refusal("cycles", 0, "out of range", "1 to 1000")):
        # Tops inside the disturb envelope under V/2, so that the cycles check is what refuses.
        rv_loop(b, 1, 1, max_amplitude_v=(0.58, 0.42), step_v=0.05, cycles=0)
    with pytest.raises(ValueError, match=refusal("max_passes", 0, "out of range", ">= 1")):
        write_verify(b, np.ones(b.shape, dtype=np.int8), max_passes=0)
    assert b.counts["pulses"] == 0 and b.counts["reads"] == 0
    k, n = np.array([[2, 10, 18]]), np.full((1, 3), 20)
    with pytest.raises(ValueError, match=refusal("tau0_s", -1.0, "out of range", "> 0 s")):
        fit_thermal_activation([0.5, 0.51, 0.52], [1e-7], k, n, tau0_s=-1.0)
