"""The bench file's ``limits`` section: every limit a real bench states, the disturb envelope's
rows, and, on an emulated bench, stated limits no wider than its chip's own."""

from __future__ import annotations

import math

from mtjlab.bench._checker import Checker
from mtjlab.core.limits import LIMIT_NAMES, Limits
from mtjlab.sim.chip import Chip
from mtjlab.sim.limits import chip_limits


def limits_section(c: Checker, value: object, *, required: bool) -> Limits | None:
    """A real bench states every limit; an emulated one derives them from its chip unless the
    file states them (all of them: a limit is never half taken from the file)."""
    if value is None:
        if required:
            c.missing("limits", "a real bench states every limit: " + ", ".join(LIMIT_NAMES))
        return None
    section = c.mapping(value, "limits")
    c.keys(section, "limits", required=(*LIMIT_NAMES, "max_unselected_v"), optional=())
    before = c.mark()
    values: dict = {}
    for name in LIMIT_NAMES:
        with c.part():
            values[name] = c.positive(section[name], f"limits.{name}")
    if values.get("min_width_s", 0.0) > values.get("max_width_s", math.inf):
        with c.part():
            c.fail("limits.min_width_s", values["min_width_s"], "at most limits.max_width_s")
    with c.part():
        values["max_unselected_v"] = _envelope(c, section["max_unselected_v"])
    c.settled(before)
    try:
        return Limits(**values, reasons={name: f"bench file {c.source}" for name in values})
    except ValueError as exc:  # the limits' own consistency (reads and writes within a device's)
        c.refuse("limits", f"limits: {exc}")


#: How the disturb envelope is written in a bench file.
_ENVELOPE_FORM = "a list of [width_s, positive_v, negative_v] rows in rising width"


def _envelope(c: Checker, value: object) -> tuple[tuple[float, float, float], ...]:
    """``limits.max_unselected_v``: per pulse width, the largest positive and negative voltage
    (a magnitude) a write may put on a device it does not select."""
    key = "limits.max_unselected_v"
    if not isinstance(value, list) or not value or len(value) > 100:
        c.fail(key, value, _ENVELOPE_FORM + " (1 to 100 rows)")
    rows = []
    for n, row in enumerate(value):
        if not isinstance(row, list) or len(row) != 3:
            c.fail(f"{key}[{n}]", row, "[width_s, positive_v, negative_v]")
        width, positive, negative = (c.positive(v, f"{key}[{n}][{i}]") for i, v in enumerate(row))
        if rows and width <= rows[-1][0]:
            c.fail(f"{key}[{n}][0]", width, "a width above the row before's: rows in rising width")
        rows.append((width, positive, negative))
    return tuple(rows)


def within_the_chips(c: Checker, limits: Limits, chip: Chip) -> None:
    """An emulated bench's stated limits may be narrower than its chip's own, never wider:
    wider, the dry run would accept pulses that break the emulated devices down."""
    own = chip_limits(chip)
    for name in LIMIT_NAMES:
        stated, allowed = getattr(limits, name), getattr(own, name)
        wider = stated < allowed if name == "min_width_s" else stated > allowed
        if wider:
            bound = "at least" if name == "min_width_s" else "at most"
            with c.part():
                c.fail(
                    f"limits.{name}",
                    stated,
                    f"{bound} the emulated chip's own {allowed:g} ({own.reasons.get(name, '')})",
                )
    for n, (width, positive, negative) in enumerate(limits.max_unselected_v):
        chips = own.envelope_row(width)
        if chips is None or positive > chips[1] or negative > chips[2]:
            allowed = (
                "pulses no longer than the emulated chip's envelope bounds"
                if chips is None
                else f"at most the emulated chip's own [{chips[1]:g}, {chips[2]:g}] V for "
                f"pulses up to {chips[0]:g} s ({own.reasons['max_unselected_v']})"
            )
            with c.part():
                c.fail(f"limits.max_unselected_v[{n}]", [width, positive, negative], allowed)
