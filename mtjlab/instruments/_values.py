"""Checks for the numbers and choices drivers send: refused before any byte, with a message that
names the parameter, the value and what is allowed."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def check_number(value: object, low: float, high: float, name: str, unit: str) -> float:
    """Return ``value`` as a float if it is a finite real number in [low, high], else raise a
    ValueError naming the parameter, the value and the allowed range."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name}={value!r} is not a number; allowed: {low:g} to {high:g} {unit}")
    number = float(value)
    if not (math.isfinite(number) and low <= number <= high):
        raise ValueError(f"{name}={value!r} is out of range; allowed: {low:g} to {high:g} {unit}")
    return number


def check_choice(value: object, allowed: Sequence[str], name: str) -> str:
    """Return ``value`` if it is one of ``allowed``, else raise a ValueError listing them."""
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{name}={value!r} is not allowed; allowed: {', '.join(allowed)}")
    return value


def check_voltage_list(
    voltages_v: Sequence[float], limit_v: float, max_points: int, name: str = "voltages_v"
) -> list[float]:
    """Return the voltages as floats if there are 1 to ``max_points`` of them, each within
    ±``limit_v``; else raise naming the count or the offending element."""
    values = list(voltages_v)
    if not 1 <= len(values) <= max_points:
        raise ValueError(f"{name} has {len(values)} points; allowed: 1 to {max_points}")
    return [check_number(v, -limit_v, limit_v, f"{name}[{i}]", "V") for i, v in enumerate(values)]
