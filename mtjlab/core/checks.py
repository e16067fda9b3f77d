"""The package's one vocabulary for checking arguments, as scikit-learn's ``check_scalar``.

Every refusal names the parameter, the value and what is allowed, in one shape::

    amplitude_v=-0.5 is out of range; allowed: > 0 V
    row='1' is not an integer; allowed: 0 to 14
    bias='v/4' is not allowed; allowed: grounded, floating, v/2, v/3
    conductance_s[0, 1]=nan is out of range; allowed: >= 0 S

A value of the wrong type is a TypeError and one out of range a ValueError, unless the caller
asks for other classes: the protocols promise a ValueError for every bad parameter, and an index
out of range is an IndexError.

Besides the general checks (:func:`check_scalar`, :func:`check_array`, :func:`check_choice`),
the parameters several modules take are checked here once: a cell (:func:`check_cell`), a read
voltage (:func:`check_read_v`), and the pulse amplitudes and widths of a protocol's plan
(:func:`check_levels`, :func:`check_amplitudes`, :func:`check_widths`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, overload

import numpy as np
from numpy.typing import ArrayLike

from mtjlab.core.limits import Limits

_INT_TYPES = (int, np.integer)
_REAL_TYPES = (int, float, np.integer, np.floating)


@overload
def check_scalar(
    value: object,
    name: str,
    *,
    kind: type[int],
    low: float | None = ...,
    high: float | None = ...,
    low_open: bool = ...,
    high_open: bool = ...,
    nonzero: bool = ...,
    unit: str = ...,
    type_error: type[Exception] = ...,
    range_error: type[Exception] = ...,
) -> int: ...


@overload
def check_scalar(
    value: object,
    name: str,
    *,
    kind: type[float] = ...,
    low: float | None = ...,
    high: float | None = ...,
    low_open: bool = ...,
    high_open: bool = ...,
    nonzero: bool = ...,
    unit: str = ...,
    type_error: type[Exception] = ...,
    range_error: type[Exception] = ...,
) -> float: ...


def check_scalar(
    value: object,
    name: str,
    *,
    kind: type[int] | type[float] = float,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    nonzero: bool = False,
    unit: str = "",
    type_error: type[Exception] = TypeError,
    range_error: type[Exception] = ValueError,
) -> int | float:
    """Return ``value`` as a ``kind`` (float or int) if it is a finite number in range, else raise.

    Parameters
    ----------
    value : object
        The argument to check. A bool is refused, as are strings and other non-numbers: a float
        accepts Python and numpy integers and floats, an int only Python and numpy integers.
    name : str
        The parameter's name, as the caller knows it (``"v_read_v"``, ``"ChipSpec.rows"``).
    kind : {float, int}
        The type to accept and return.
    low, high : float, optional
        Bounds; None leaves that side open-ended. Inclusive unless ``low_open`` / ``high_open``.
    nonzero : bool
        Refuse 0 as well (a read voltage may have either sign, not none).
    unit : str
        Unit, or other words, shown after the allowed range (``"V"``, ``"V on the 2636B"``).
    type_error, range_error : exception class
        Raised for a value of the wrong type (TypeError) and one out of range (ValueError).

    Raises
    ------
    type_error
        ``name=value is not a number; allowed: ...`` (``not an integer`` for ``kind=int``).
    range_error
        ``name=value is out of range; allowed: ...`` for a value outside the bounds, zero with
        ``nonzero``, or NaN or infinite.
    """
    if kind not in (int, float):
        raise TypeError(f"kind must be int or float, got {kind!r}")
    accepted = _INT_TYPES if kind is int else _REAL_TYPES
    allowed = describe_range(low, high, low_open, high_open, nonzero=nonzero, unit=unit, kind=kind)
    if isinstance(value, bool) or not isinstance(value, accepted):
        what = "an integer" if kind is int else "a number"
        raise type_error(f"{name}={value!r} is not {what}; allowed: {allowed}")
    number = int(value) if kind is int else float(value)  # an int of any size stays exact
    finite = kind is int or math.isfinite(number)
    if not (finite and _in_range(number, low, high, low_open, high_open)) or (
        nonzero and number == 0
    ):
        raise range_error(f"{name}={value!r} is out of range; allowed: {allowed}")
    return number


def check_array(
    values: np.ndarray,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    unit: str = "",
    range_error: type[Exception] = ValueError,
) -> np.ndarray:
    """Return the float array ``values`` if every element is finite and in range, else raise.

    The element named in the message is the first bad one, by its index (``name[0, 1]=nan``),
    or ``name`` alone for a 0-d array. Shape and conversion are the caller's: each knows what
    shapes it takes and words the refusal with the sizes it expects.
    """
    x = np.asarray(values)
    bad = ~np.isfinite(x)
    if low is not None:
        bad |= (x <= low) if low_open else (x < low)
    if high is not None:
        bad |= (x >= high) if high_open else (x > high)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        label = f"{name}[{', '.join(map(str, index))}]" if index else name
        allowed = describe_range(low, high, low_open, high_open, unit=unit)
        raise range_error(f"{label}={float(x[index])!r} is out of range; allowed: {allowed}")
    return x


def check_choice(name: str, value: Any, allowed: Iterable[Any]) -> Any:
    """Return ``value`` if it is one of ``allowed``, else a ValueError naming every choice."""
    choices = tuple(allowed)
    if value not in choices:
        listed = ", ".join(str(choice) for choice in choices)
        raise ValueError(f"{name}={value!r} is not allowed; allowed: {listed}")
    return value


def check_cell(
    row: object,
    col: object,
    shape: tuple[int, int],
    *,
    type_error: type[Exception] = TypeError,
    range_error: type[Exception] = IndexError,
) -> tuple[int, int]:
    """Return (``row``, ``col``) as ints if they name a cell of an array of ``shape``, else raise.

    The one check of a cell: :class:`~mtjlab.core.backend.ArrayBackend` raises its defaults (a
    TypeError for a non-integer, an IndexError off the array), the protocols ask for ValueError
    for both (their promise); the message is the same either way::

        row=15 is out of range; allowed: 0 to 14
        col=1.0 is not an integer; allowed: 0 to 14
    """
    checked = []
    for name, value, size in (("row", row, shape[0]), ("col", col, shape[1])):
        checked.append(
            check_scalar(
                value,
                name,
                kind=int,
                low=0,
                high=size - 1,
                type_error=type_error,
                range_error=range_error,
            )
        )
    return checked[0], checked[1]


def check_read_v(
    v_read_v: object, limits: Limits | None = None, *, type_error: type[Exception] = TypeError
) -> float:
    """Return a read voltage as a float if it is a finite, non-zero number, else raise.

    Without ``limits`` only the form is checked (how large a read may be is then the backend's
    :meth:`~mtjlab.core.limits.Limits.check_read`, a LimitError); with them the magnitude must
    also be at most ``limits.max_read_v``, a ValueError (a protocol's check of its plan).
    """
    if limits is None:
        return check_scalar(v_read_v, "v_read_v", nonzero=True, unit="V", type_error=type_error)
    high, unit = limits.max_read_v, "V (limits.max_read_v)"
    return check_scalar(
        v_read_v, "v_read_v", low=-high, high=high, nonzero=True, unit=unit, type_error=type_error
    )


def check_levels(
    name: str,
    values: ArrayLike,
    *,
    low: float,
    high: float,
    low_open: bool = False,
    unit: str,
) -> np.ndarray:
    """One number or a non-empty 1-D list of them, each finite and in range, as a 1-D float
    array; a ValueError otherwise, whatever is wrong (the protocols' promise)."""
    try:
        x = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        x = None
    if x is None or x.ndim > 1 or x.size == 0:
        allowed = describe_range(low, high, low_open, unit=unit)
        raise ValueError(
            f"{name}={values!r} is not one number or a 1-D list of them; allowed: {allowed}"
        )
    return np.atleast_1d(check_array(x, name, low=low, high=high, low_open=low_open, unit=unit))


def check_amplitudes(name: str, values: ArrayLike, limits: Limits) -> np.ndarray:
    """Pulse amplitudes (:func:`check_levels`): each > 0 and at most ``limits.max_write_v``."""
    high, unit = limits.max_write_v, "V (limits.max_write_v)"
    return check_levels(name, values, low=0.0, low_open=True, high=high, unit=unit)


def check_widths(name: str, values: ArrayLike, limits: Limits) -> np.ndarray:
    """Pulse widths (:func:`check_levels`): each from ``limits.min_width_s`` to ``max_width_s``."""
    low, high = limits.min_width_s, limits.max_width_s
    unit = "s (limits.min_width_s to max_width_s)"
    return check_levels(name, values, low=low, high=high, unit=unit)


def frozen_array(values: ArrayLike) -> np.ndarray:
    """A read-only copy of ``values``: the arrays a frozen result hands out cannot be changed."""
    x = np.array(values)
    x.setflags(write=False)
    return x


def describe_range(
    low: float | None,
    high: float | None,
    low_open: bool = False,
    high_open: bool = False,
    *,
    nonzero: bool = False,
    unit: str = "",
    kind: type[int] | type[float] = float,
) -> str:
    """The words for what a range allows: ``1 to 4``, ``(0, 1.2] V``, ``> 0 s``, ``>= 0``."""
    if low is not None and high is not None:
        if low_open or high_open:
            text = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        else:
            text = f"{low:g} to {high:g}"
    elif low is not None:
        text = f"{'>' if low_open else '>='} {low:g}"
    elif high is not None:
        text = f"{'<' if high_open else '<='} {high:g}"
    else:
        text = "any integer" if kind is int else "any finite number"
        text += " except 0" if nonzero else ""
        return f"{text} ({unit})" if unit else text
    text += f" {unit}" if unit else ""
    return text + (" except 0" if nonzero else "")


def _in_range(
    number: float, low: float | None, high: float | None, low_open: bool, high_open: bool
) -> bool:
    if low is not None and (number <= low if low_open else number < low):
        return False
    return not (high is not None and (number >= high if high_open else number > high))
