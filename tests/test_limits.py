"""Limits: the envelope's own checks and messages."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mtjlab.core.limits import LimitError, Limits

GOOD = dict(
    max_read_v=0.1,
    max_write_v=1.0,
    min_width_s=1e-9,
    max_width_s=1e-3,
    compliance_a=1e-3,
    max_device_v=1.1,
)


@pytest.mark.parametrize("name", list(GOOD))
@pytest.mark.parametrize("bad", [0.0, -1.0, math.nan, math.inf, True, "1"])
def test_every_limit_must_be_a_finite_positive_number(name, bad):
    with pytest.raises((ValueError, TypeError), match=f"Limits.{name}"):
        Limits(**{**GOOD, name: bad})


def test_inconsistent_limits_are_refused():
    with pytest.raises(ValueError, match="min_width_s .* is above max_width_s"):
        Limits(**{**GOOD, "min_width_s": 1e-2})
    with pytest.raises(ValueError, match="max_write_v .* is above max_device_v"):
        Limits(**{**GOOD, "max_write_v": 2.0})


def test_refusals_name_the_limit_its_value_and_its_reason():
    limits = Limits(**GOOD, reasons={"max_write_v": "half the breakdown voltage"})
    with pytest.raises(LimitError) as exc:
        limits.check_pulse(1.5, 1e-7)
    assert str(exc.value) == (
        "pulse amplitude 1.5 V is outside the safety limit max_write_v = 1 V "
        "(half the breakdown voltage)"
    )
    assert "\n" not in str(exc.value)


def test_widened_marks_what_changed():
    limits = Limits(**GOOD, reasons={"max_read_v": "derived"})
    wide = limits.widened("operator", max_read_v=0.3)
    assert wide.max_read_v == 0.3 and limits.max_read_v == 0.1
    assert wide.reasons["max_read_v"] == "operator"
    with pytest.raises(TypeError, match="unknown limit"):
        limits.widened(max_read=0.3)
    assert wide.as_dict()["reasons"] == {"max_read_v": "operator"}


@given(v=st.floats(allow_nan=False, allow_infinity=False, min_value=-10, max_value=10))
def test_read_check_is_symmetric_in_polarity(v):
    limits = Limits(**GOOD)
    if abs(v) <= 0.1:
        limits.check_read(v)
    else:
        with pytest.raises(LimitError):
            limits.check_read(v)
        with pytest.raises(LimitError):
            limits.check_device_voltages(np.array([[0.0, v * 11.1]]))
