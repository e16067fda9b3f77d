"""The safety envelope: the read voltage, write pulses and current a backend accepts.

Every backend checks each request against its :class:`Limits` before anything reaches the array, so
a bug in a protocol cannot exceed them; widening them is an explicit call, never a side effect.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace

import numpy as np

from mtjlab.core.schemes import unselected_voltages


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
    max_unselected_v : tuple of (width_s, positive_v, negative_v)
        The disturb envelope: what a write pulse may put on the devices it does not select.
        Each row bounds pulses up to ``width_s`` long (rows in rising width; a pulse takes the
        first row at least as long as itself, whose bound is the lower since disturb grows with
        the width) by the largest positive voltage and the largest negative one (a magnitude)
        its scheme puts on an unselected device. Empty: no bound is stated and no write is
        accepted. :meth:`allowing_disturb` lifts it to the write limit.
    reasons : dict
        Why each limit has its value (where it was derived from, or who set it).
    """

    max_read_v: float
    max_write_v: float
    min_width_s: float
    max_width_s: float
    compliance_a: float
    max_device_v: float
    max_unselected_v: tuple[tuple[float, float, float], ...] = ()
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
        object.__setattr__(self, "max_unselected_v", self._checked_envelope())
        for name in ("max_read_v", "max_write_v"):
            if getattr(self, name) > self.max_device_v:
                raise ValueError(
                    f"Limits.{name} ({getattr(self, name):g} V) is above max_device_v "
                    f"({self.max_device_v:g} V): no scheme may put more than that on a device"
                )

    def _checked_envelope(self) -> tuple[tuple[float, float, float], ...]:
        try:
            rows = [tuple(row) for row in self.max_unselected_v]
        except TypeError:
            rows = [()]
        if any(len(row) != 3 for row in rows):
            raise TypeError(
                "Limits.max_unselected_v must be rows of (width_s, positive_v, negative_v), "
                f"got {str(self.max_unselected_v)[:80]}"
            )
        out = []
        for row in rows:
            for value in row:
                if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
                    raise TypeError(f"Limits.max_unselected_v holds {value!r}, not a number")
                if not (math.isfinite(value) and value > 0):
                    raise ValueError(
                        f"Limits.max_unselected_v holds {value!r}; expected finite numbers > 0"
                    )
            width, positive, negative = (float(v) for v in row)
            if max(positive, negative) > self.max_device_v:
                raise ValueError(
                    f"Limits.max_unselected_v lets {max(positive, negative):g} V onto an "
                    f"unselected device, above max_device_v ({self.max_device_v:g} V)"
                )
            if out and width <= out[-1][0]:
                raise ValueError("Limits.max_unselected_v rows must be in rising pulse width")
            out.append((width, positive, negative))
        return tuple(out)

    def widened(self, reason: str = "set explicitly by the user", **values) -> Limits:
        """A copy with some limits changed (wider or narrower), each marked with ``reason``."""
        known = (*LIMIT_NAMES, "max_unselected_v")
        unknown = set(values) - set(known)
        if unknown:
            raise TypeError(f"unknown limit(s) {sorted(unknown)}; known: {list(known)}")
        reasons = {**self.reasons, **{name: reason for name in values}}
        return replace(self, reasons=reasons, **values)

    def allowing_disturb(self, reason: str) -> Limits:
        """A copy whose disturb envelope is lifted to the write limit: a pulse may then put up to
        ``max_write_v`` on devices it does not select, for any width the limits allow."""
        lifted = ((self.max_width_s, self.max_write_v, self.max_write_v),)
        return self.widened(reason, max_unselected_v=lifted)

    def as_dict(self) -> dict:
        """The limits and their reasons, JSON-friendly."""
        out: dict = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "reasons"}
        out["max_unselected_v"] = [list(row) for row in self.max_unselected_v]
        out["reasons"] = dict(self.reasons)
        return out

    def describe(self) -> list[str]:
        """The limits as a person reads them, a few lines."""
        envelope = ", ".join(
            f"{_seconds(width)} {positive:g}/{negative:g}"
            for width, positive, negative in self.max_unselected_v
        )
        return [
            f"reads up to {self.max_read_v:g} V; pulses up to {self.max_write_v:g} V, "
            f"{_seconds(self.min_width_s)} to {_seconds(self.max_width_s)}; no device above "
            f"{self.max_device_v:g} V; compliance {self.compliance_a * 1e3:g} mA",
            "disturb envelope (+/- V on unselected devices, pulses up to): "
            + (envelope or "none stated, no pulse accepted"),
        ]

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

    def envelope_row(self, width_s: float) -> tuple[float, float, float] | None:
        """The row of ``max_unselected_v`` that bounds a pulse of ``width_s``: the first at least
        as long (the lower bound, as disturb grows with the width); None past the last row."""
        return next((row for row in self.max_unselected_v if width_s <= row[0] * (1 + 1e-9)), None)

    def largest_write_v(self, scheme: str, width_s: float, polarity: int) -> float:
        """The largest pulse amplitude of ``polarity`` and ``width_s`` under ``scheme`` that
        ``max_write_v`` and the disturb envelope both allow (LimitError if the envelope bounds
        no pulse that long)."""
        bound = self.envelope_row(width_s)
        if bound is None:
            self.check_unselected(scheme, self.max_write_v, width_s, polarity)  # says why
        assert bound is not None
        on_positive, on_negative = unselected_voltages(scheme, float(polarity))
        largest = self.max_write_v
        if on_positive > 0:
            largest = min(largest, bound[1] / on_positive)
        if on_negative > 0:
            largest = min(largest, bound[2] / on_negative)
        return math.floor(largest * 1e6) / 1e6

    def check_write(self, scheme: str, amplitude_v: float, width_s: float, polarity: int) -> None:
        """Refuse a write pulse outside the envelope: :meth:`check_pulse` (amplitude, width),
        then :meth:`check_unselected` (what it puts on the devices it does not select)."""
        self.check_pulse(amplitude_v, width_s)
        self.check_unselected(scheme, amplitude_v, width_s, polarity)

    def check_unselected(
        self, scheme: str, amplitude_v: float, width_s: float, polarity: int
    ) -> None:
        """Refuse a write pulse whose ``scheme`` puts more on a device it does not select than
        ``max_unselected_v`` allows for a pulse of ``width_s``."""
        why = self.reasons.get("max_unselected_v")
        because = f" ({why})" if why else ""
        rows = self.max_unselected_v
        bound = self.envelope_row(width_s)
        if bound is None:
            if not rows:
                raise LimitError(
                    "no write is accepted: the safety limit max_unselected_v (what a pulse may "
                    "put on the devices it does not select) is not stated" + because
                )
            raise LimitError(
                f"pulse width {width_s:g} s is outside the safety limit max_unselected_v, which "
                f"bounds pulses up to {rows[-1][0]:g} s" + because
            )
        width, positive, negative = bound
        on_positive, on_negative = unselected_voltages(scheme, polarity * amplitude_v)
        if on_positive > positive * (1 + 1e-9) or on_negative > negative * (1 + 1e-9):
            raise LimitError(
                f"a {amplitude_v:g} V pulse of {width_s:g} s ({'+' if polarity > 0 else '-'} "
                f"polarity, {scheme}) puts up to +{on_positive:.3g} / -{on_negative:.3g} V on "
                f"devices it does not select, outside the safety limit max_unselected_v = "
                f"+{positive:g} / -{negative:g} V for pulses up to {width:g} s"
                + because
                + "; going outside it is Limits.allowing_disturb() or --allow-disturb"
            )


def _seconds(value: float) -> str:
    """A time as it is said: 100 ns, 1 us, 1 ms, 2 s."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9)):
        if value >= scale * (1 - 1e-9) or unit == "ns":
            return f"{value / scale:.4g} {unit}"
    raise AssertionError("unreachable")
