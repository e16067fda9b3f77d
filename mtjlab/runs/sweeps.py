"""The points of a sweep: chip fields and experiment options to vary, on a grid or drawn at random
from ranges, times chip seeds; every value checked, and every point's chip built, before any work.

``--vary FIELD=V1,V2,...`` gives a field's grid values, ``--vary FIELD=LOW:HIGH`` its range (for
``--sample N``). A field is either a field of the chip preset (``docs/device-model.md``) or an
option of the experiment swept; a point is the experiment on its own chip seed, with the point's
values (:func:`plan`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from mtjlab.runs.registry import Experiment
from mtjlab.runs.values import OptionError, ValueKind
from mtjlab.sim.chip import chip_spec

#: Options a sweep sets itself, or that belong to the sweep as a whole rather than to a point:
#: the seed (``--seeds``), the bench, the store and output folder, worker processes and the chip
#: preset's changes (each point's changes are its chip fields).
NOT_VARIED = ("seed", "bench", "store", "out", "workers", "chip_set")

#: How many points a sweep may have (a grid's product of its value counts, times its seeds).
MAX_POINTS = 100_000


@dataclass(frozen=True)
class Vary:
    """One field to vary: its grid ``values`` (as given, parsed when the field is known), or the
    range ``low`` to ``high`` that points are drawn from."""

    field: str
    values: tuple[Any, ...] = ()
    low: float | None = None
    high: float | None = None

    @property
    def is_range(self) -> bool:
        return self.low is not None


def _parse_vary(text: str) -> Vary:
    name, sep, rest = text.partition("=")
    name = name.strip()
    if not sep or not name or not rest.strip():
        raise OptionError(
            f"expected FIELD=V1,V2,... or FIELD=LOW:HIGH such as r_row_ohm=0,5,20, got {text!r}"
        )
    if ":" in rest:
        low_text, _, high_text = rest.partition(":")
        try:
            low, high = float(low_text), float(high_text)
        except ValueError:
            raise OptionError(
                f"{name}: a range is LOW:HIGH of two numbers such as 0:0.01, got {rest!r}"
            ) from None
        return _range(name, low, high, text)
    values = tuple(v.strip() for v in rest.split(","))
    if any(v == "" for v in values):
        raise OptionError(f"{name}: an empty value in {rest!r}")
    return Vary(name, values=values)


def _range(name: str, low: float, high: float, shown: object) -> Vary:
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise OptionError(f"{name}: a range needs finite LOW < HIGH, got {shown!r}")
    return Vary(name, low=low, high=high)


def _check_vary(value: Any) -> Vary:
    """From Python: ``("r_row_ohm", [0, 5, 20])`` for a grid, ``("p_open", (0, 0.01))`` is a
    grid of two values too; a range is written as text, ``"p_open=0:0.01"``."""
    if isinstance(value, Vary):
        return value
    try:
        name, values = value
    except (TypeError, ValueError):
        raise OptionError(f"expected (FIELD, [V1, V2, ...]), got {value!r}") from None
    if not isinstance(name, str) or isinstance(values, str) or not isinstance(values, Sequence):
        raise OptionError(f"expected (FIELD, [V1, V2, ...]), got {value!r}")
    if not values:
        raise OptionError(f"{name}: no values to vary it over")
    return Vary(name, values=tuple(values))


#: A ``--vary`` value: FIELD=V1,V2,... or FIELD=LOW:HIGH.
VARY = ValueKind("vary", _parse_vary, _check_vary)


def _parse_seeds(text: str) -> list[int]:
    parts = [p.strip() for p in text.split(",")]
    if not all(p.isdigit() for p in parts):
        raise OptionError(f"expected a count of seeds (3) or seeds (0,11,777), got {text!r}")
    numbers = [int(p) for p in parts]
    return list(range(numbers[0])) if len(numbers) == 1 else numbers


def _check_seeds(value: Any) -> list[int]:
    def whole(v: Any) -> bool:
        return isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 0

    if whole(value):
        return list(range(int(value)))
    if isinstance(value, Sequence) and not isinstance(value, str) and all(map(whole, value)):
        return [int(v) for v in value]
    raise OptionError(f"expected a count of seeds (3) or seeds ([0, 11, 777]), got {value!r}")


#: ``--seeds``: a count (seeds 0 to N-1) or a list of chip seeds.
SEEDS = ValueKind("seeds", _parse_seeds, _check_seeds)


@dataclass(frozen=True)
class SweepPoint:
    """One point: the experiment on chip ``seed`` with the preset's fields ``chip`` changed and
    the experiment's ``options`` set (the point's own values; the sweep's fixed options apart)."""

    index: int
    seed: int
    chip: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)

    def values(self) -> dict[str, Any]:
        """The point's varied values by field, and its seed (the coordinates of its results)."""
        return {**self.chip, **self.options, "seed": self.seed}


def plan(
    experiment: Experiment,
    varies: Sequence[Vary],
    seeds: Sequence[int],
    *,
    preset: str,
    sample: int | None = None,
    sample_seed: int = 0,
) -> list[SweepPoint]:
    """Every point of a sweep, each value checked and each point's chip built.

    Without ``sample`` the points are the grid of the fields' values, the first field varying
    slowest, each point on every seed in turn. With ``sample`` every field is a range and
    ``sample`` points are drawn uniformly from them (``sample_seed`` fixes the draw; a whole-
    number field draws whole numbers), each on every seed. Anything wrong is an OptionError in
    one line naming the field and the value, before any work starts.
    """
    if not varies:
        raise OptionError("nothing to sweep: give at least one --vary FIELD=...")
    if not seeds:
        raise OptionError("no chip seeds to sweep (--seeds)")
    if len(set(seeds)) != len(seeds):
        raise OptionError(f"--seeds {list(seeds)} names a seed twice")
    names = [v.field for v in varies]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise OptionError(f"--vary names {', '.join(twice)} more than once")
    try:
        spec = chip_spec(preset)
    except ValueError as exc:
        raise OptionError(str(exc)) from None
    chip_fields = {f.name: getattr(spec, f.name) for f in fields(spec)}
    options = {o.name: o for o in experiment.options if o.name not in NOT_VARIED}
    for v in varies:
        if v.field in NOT_VARIED:
            raise OptionError(f"--vary {v.field}: set by the sweep itself, it cannot be varied")
        if v.field not in chip_fields and v.field not in options:
            raise OptionError(
                f"--vary {v.field}: unknown field; chip fields: {', '.join(sorted(chip_fields))}; "
                f"{experiment.kind} options: {', '.join(sorted(options))}"
            )
        if isinstance(chip_fields.get(v.field), tuple):
            raise OptionError(f"--vary {v.field}: a list field of the chip cannot be varied")
    ranged = [v for v in varies if v.is_range]
    if sample is None and ranged:
        r = ranged[0]
        raise OptionError(
            f"--vary {r.field}={shown(r.low)}:{shown(r.high)} is a range: draw from it with "
            "--sample N"
        )
    if sample is not None:
        if sample < 1:
            raise OptionError(f"--sample {sample}: expected a count of points >= 1")
        gridded = [v.field for v in varies if not v.is_range]
        if gridded:
            raise OptionError(
                f"--vary {gridded[0]} gives values, not a range: with --sample every field is "
                "LOW:HIGH"
            )

    def checked(name: str, value: Any) -> Any:
        """A value as the field holds it: an option's as the option takes it (text parsed as
        on the command line), a chip field's as a number (or text, for a text field)."""
        if name in options:
            try:
                return options[name].take(value)
            except OptionError as exc:
                raise OptionError(f"--vary {name}={shown(value)}: {exc}") from None
        current = chip_fields[name]
        if isinstance(current, str):
            if not isinstance(value, str):
                raise OptionError(f"--vary {name}={shown(value)}: expected text")
            return value
        number = _as_number(value)
        if number is None:
            raise OptionError(f"--vary {name}={shown(value)}: expected a number")
        if isinstance(current, int):
            if not number.is_integer():
                raise OptionError(f"--vary {name}={shown(value)}: expected a whole number")
            return int(number)
        return number

    if sample is None:
        columns = [[checked(v.field, x) for x in v.values] for v in varies]
        count = math.prod(len(c) for c in columns) * len(seeds)
        if count > MAX_POINTS:
            raise OptionError(f"the sweep has {count} points; at most {MAX_POINTS}")
        combos = list(itertools.product(*columns))
    else:
        if sample * len(seeds) > MAX_POINTS:
            raise OptionError(f"the sweep has {sample * len(seeds)} points; at most {MAX_POINTS}")
        rng = np.random.default_rng([int(sample_seed), 0x5EE9])
        draws = []
        for v in varies:
            assert v.low is not None and v.high is not None
            current = chip_fields.get(v.field)
            if isinstance(current, int) and not isinstance(current, bool):
                column = rng.integers(math.ceil(v.low), math.floor(v.high) + 1, size=sample)
                draws.append([checked(v.field, int(x)) for x in column])
            else:
                column = rng.uniform(v.low, v.high, size=sample)
                draws.append([checked(v.field, float(x)) for x in column])
        combos = list(zip(*draws, strict=True))
    points = []
    for combo in combos:
        values = dict(zip(names, combo, strict=True))
        chip = {k: x for k, x in values.items() if k in chip_fields and k not in options}
        try:
            # a combination the chip cannot be (defect rates adding up to more than 1), on the
            # point's own preset when the experiment's chip option is among the fields varied
            chip_spec(values.get("chip", preset), chip)
        except ValueError as exc:
            raise OptionError(f"--vary at {point_text(values)}: {exc}") from None
        opts = {k: x for k, x in values.items() if k not in chip}
        for seed in seeds:
            points.append(SweepPoint(len(points), int(seed), chip, opts))
    return points


def _as_number(value: Any) -> float | None:
    """A finite number from a number or its text; None for anything else."""
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def shown(value: Any) -> str:
    """A point's value as the command line writes it (numbers without trailing zeros)."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def point_text(values: dict[str, Any]) -> str:
    """A point's values as ``field=value, ...``."""
    return ", ".join(f"{k}={shown(v)}" for k, v in values.items())
