"""The safety envelope: the read voltage, write pulses and current a backend accepts.

Every backend checks each request against its :class:`Limits` before anything reaches the array, so
a bug in a protocol cannot exceed them; widening them is an explicit call, never a side effect.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace

import numpy as np


class LimitError(ValueError):
    """A request outside the safety envelope; it was refused before it reached the array."""


#: The numeric fields of :class:`Limits`, in the order they are shown.
LIMIT_NAMES = (
    "max_read_v",
    "max_write_v",
    "min_width_s",
    "max_width_s",
    "compliance_a",
    "max_device_v",
)


@dataclass(frozen=True)
class Limits:
    """What a backend lets through.

    Attributes
    ----------
    max_read_v : float
        Largest magnitude of any voltage applied to read (a cell, a map, inference inputs).
    max_write_v : float
        Largest write-pulse amplitude.
    min_width_s, max_width_s : float
        Range of write-pulse widths.
    compliance_a : float
        Current compliance of every measurement: no source delivers more.
    max_device_v : float
        Largest voltage any single device may see, whatever the scheme.
    reasons : dict
        Why each limit has its value (where it was derived from, or who set it).
    """

    max_read_v: float
    max_write_v: float
    min_width_s: float
    max_width_s: float
    compliance_a: float
    max_device_v: float
    reasons: dict[str, str] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        for name in LIMIT_NAMES:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
                raise TypeError(f"Limits.{name} must be a number, got {value!r}")
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"Limits.{name} must be a finite number > 0, got {value!r}")
            object.__setattr__(self, name, float(value))
        if self.min_width_s > self.max_width_s:
            raise ValueError(
                f"Limits.min_width_s ({self.min_width_s:g} s) is above "
                f"max_width_s ({self.max_width_s:g} s)"
            )
        for name in ("max_read_v", "max_write_v"):
            if getattr(self, name) > self.max_device_v:
                raise ValueError(
                    f"Limits.{name} ({getattr(self, name):g} V) is above max_device_v "
                    f"({self.max_device_v:g} V): no scheme may put more than that on a device"
                )

    def widened(self, reason: str = "set explicitly by the user", **values: float) -> Limits:
        """A copy with some limits changed (wider or narrower), each marked with ``reason``."""
        unknown = set(values) - set(LIMIT_NAMES)
        if unknown:
            raise TypeError(f"unknown limit(s) {sorted(unknown)}; known: {list(LIMIT_NAMES)}")
        reasons = {**self.reasons, **{name: reason for name in values}}
        return replace(self, reasons=reasons, **values)

    def as_dict(self) -> dict:
        """The limits and their reasons, JSON-friendly."""
        out: dict = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "reasons"}
        out["reasons"] = dict(self.reasons)
        return out

    # -- checks: each raises LimitError naming the limit, its value and why -------------------

    def _refuse(self, what: str, name: str, unit: str) -> LimitError:
        why = self.reasons.get(name)
        value = getattr(self, name)
        return LimitError(
            f"{what} is outside the safety limit {name} = {value:g} {unit}"
            + (f" ({why})" if why else "")
        )

    def check_read(self, v_read_v: float, what: str = "read voltage") -> None:
        """Refuse a read voltage (or the largest input of a batch) above ``max_read_v``."""
        if abs(v_read_v) > self.max_read_v:
            raise self._refuse(f"{what} {v_read_v:g} V", "max_read_v", "V")

    def check_pulse(self, amplitude_v: float, width_s: float) -> None:
        """Refuse a write pulse above ``max_write_v`` or outside the width range."""
        if amplitude_v > self.max_write_v:
            raise self._refuse(f"pulse amplitude {amplitude_v:g} V", "max_write_v", "V")
        if width_s < self.min_width_s:
            raise self._refuse(f"pulse width {width_s:g} s", "min_width_s", "s")
        if width_s > self.max_width_s:
            raise self._refuse(f"pulse width {width_s:g} s", "max_width_s", "s")

    def check_device_voltages(self, v_device: np.ndarray) -> None:
        """Refuse a solved or planned circuit that puts more than ``max_device_v`` on a device."""
        peak = float(np.max(np.abs(v_device))) if np.size(v_device) else 0.0
        if peak > self.max_device_v:
            raise self._refuse(f"a device voltage of {peak:g} V", "max_device_v", "V")
