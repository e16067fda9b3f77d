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


# -- the disturb envelope (issue 23, failure 1) ---------------------------------------------------

ENVELOPE = ((1e-8, 0.35, 0.25), (1e-7, 0.3, 0.2), (1e-6, 0.28, 0.18))


@pytest.mark.parametrize(
    ("scheme", "amplitude", "polarity", "width", "ok"),
    [
        ("v/2", 0.6, 1, 1e-7, True),  # 0.3 V on the half-selected devices, the row's bound
        ("v/2", 0.61, 1, 1e-7, False),
        ("v/2", 0.4, -1, 1e-7, True),
        ("v/2", 0.41, -1, 1e-7, False),
        ("v/2", 0.41, -1, 5e-9, True),  # a shorter pulse takes the 10 ns row
        ("v/2", 0.6, 1, 2e-7, False),  # between rows: the longer row's bound, 0.28 V
        ("v/3", 0.6, 1, 1e-7, True),  # +-0.2 V: each polarity's bound holds
        ("v/3", 0.63, 1, 1e-7, False),  # -0.21 V on the devices off the selected lines
        ("floating", 0.2, 1, 1e-7, True),  # a floating line may reach the full amplitude
        ("floating", 0.21, -1, 1e-7, False),
        ("v/2", 0.3, 1, 2e-6, False),  # longer than the envelope's last row
    ],
)
def test_a_pulse_is_checked_against_what_its_scheme_puts_on_unselected_devices(
    scheme, amplitude, polarity, width, ok
):
    limits = Limits(**GOOD, max_unselected_v=ENVELOPE)
    if ok:
        limits.check_unselected(scheme, amplitude, width, polarity)
    else:
        with pytest.raises(LimitError, match="max_unselected_v"):
            limits.check_unselected(scheme, amplitude, width, polarity)


def test_no_envelope_means_no_write_and_lifting_it_is_explicit_and_recorded():
    with pytest.raises(LimitError, match="no write is accepted"):
        Limits(**GOOD).check_unselected("v/2", 0.1, 1e-7, 1)
    lifted = Limits(**GOOD, max_unselected_v=ENVELOPE).allowing_disturb("operator, run 7")
    assert lifted.max_unselected_v == ((1e-3, 1.0, 1.0),)
    assert lifted.reasons["max_unselected_v"] == "operator, run 7"
    lifted.check_unselected("v/2", 1.0, 1e-3, -1)
    assert lifted.as_dict()["max_unselected_v"] == [[1e-3, 1.0, 1.0]]


@pytest.mark.parametrize(
    ("table", "error"),
    [
        (0.3, TypeError),
        (((1e-7, 0.3),), TypeError),
        (((1e-7, 0.3, "x"),), TypeError),
        (((1e-7, 0.3, math.nan),), ValueError),
        (((1e-7, 0.3, -0.1),), ValueError),
        (((1e-6, 0.3, 0.2), (1e-7, 0.3, 0.2)), ValueError),
        (((1e-7, 1.2, 0.2),), ValueError),  # above max_device_v
    ],
)
def test_a_malformed_envelope_is_refused(table, error):
    with pytest.raises(error, match="max_unselected_v"):
        Limits(**GOOD, max_unselected_v=table)
