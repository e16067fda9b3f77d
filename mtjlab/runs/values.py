"""The kinds of value an option takes (volts, seconds, cells, ramps, array lists, ...): each read
from command-line text and checked from Python, with one-line errors that say what was expected.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mtjlab.protocols.write import Ramp


class OptionError(ValueError, argparse.ArgumentTypeError):
    """A value an option cannot take; one line saying what was expected and what came (on the
    command line argparse shows it as it is, in Python it is a ValueError)."""


# -- kinds of value: from text (the command line) and from Python --------------------------------


@dataclass(frozen=True)
class ValueKind:
    """A kind of option value: ``parse`` reads it from command-line text, ``check`` takes it from
    Python (where text is parsed too, so ``widths="100ns,1us"`` works as on the command line)."""

    name: str
    parse: Callable[[str], Any]
    check: Callable[[Any], Any]

    def __call__(self, text: str) -> Any:  # argparse calls the type with the text
        return self.parse(text)

    def take(self, value: Any) -> Any:
        """A value from Python: text parsed as on the command line, anything else checked."""
        return self.parse(value) if isinstance(value, str) else self.check(value)


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise OptionError(f"expected {what}, got {value!r}")
    return float(value)


def _whole(value: Any, low: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise OptionError(f"expected {what}, got {value!r}")
    return int(value)


def _parse_non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise OptionError(f"expected a whole number >= 0, got {text!r}") from None
    if value < 0:
        raise OptionError(f"expected a whole number >= 0, got {value}")
    return value


def _parse_positive_int(text: str) -> int:
    value = _parse_non_negative_int(text)
    if value == 0:
        raise OptionError("expected a whole number >= 1, got 0")
    return value


#: The most of each repeated thing a run may ask for: far more than a bench does in a week, few
#: enough that checking and storing what is asked costs no more than a few hundred megabytes
#: (reproduce trains its networks in one batch: 10,000 of them are about 70 MB).
MAX_AMPLITUDES = 200
MAX_COUNT = 10_000


def bounded(kind: ValueKind, high: int = MAX_COUNT) -> ValueKind:
    """``kind`` (a whole number) at most ``high``: a count of patterns, solutions, trials, ..."""

    def at_most(value: int) -> int:
        if value > high:
            raise OptionError(f"expected at most {high}, got {value}")
        return value

    return ValueKind(
        f"{kind.name} <= {high}",
        lambda text: at_most(kind.parse(text)),
        lambda value: at_most(kind.check(value)),
    )


NON_NEGATIVE_INT = ValueKind(
    "non_negative_int", _parse_non_negative_int, lambda v: _whole(v, 0, "a whole number >= 0")
)
POSITIVE_INT = ValueKind(
    "positive_int", _parse_positive_int, lambda v: _whole(v, 1, "a whole number >= 1")
)


def _number_kind(
    name: str,
    what: str,
    ok: Callable[[float], bool],
    expected: str,
    read: Callable[[str], str] = str.strip,
) -> ValueKind:
    """A kind of number: ``what`` it is (said when text is no number) and the values ``ok``
    allows (``expected`` says which); ``read`` takes what is not the number off the text."""

    def parse(text: str) -> float:
        try:
            value = float(read(text))
        except ValueError:
            raise OptionError(f"expected {what}, got {text!r}") from None
        if not ok(value):
            raise OptionError(f"expected {expected}, got {text!r}")
        return value

    def check(value: Any) -> float:
        number = _number(value, what)
        if not ok(number):
            raise OptionError(f"expected {expected}, got {value!r}")
        return number

    return ValueKind(name, parse, check)


VOLTS = _number_kind(
    "volts",
    "a voltage in volts",
    lambda v: math.isfinite(v) and v != 0,
    "a finite, non-zero voltage",
    lambda text: text.strip().removesuffix("V").removesuffix("v"),
)


def _amplitude_pair(values: list[float], shown: object) -> tuple[float, float]:
    if len(values) not in (1, 2) or not all(math.isfinite(v) and v > 0 for v in values):
        raise OptionError(
            f"expected one positive amplitude in volts, or two (P->AP,AP->P) such as 0.58,0.42; "
            f"got {shown!r}"
        )
    return values[0], values[-1]


def _parse_amplitude_pair(text: str) -> tuple[float, float]:
    try:
        values = [float(p.strip().removesuffix("V").removesuffix("v")) for p in text.split(",")]
    except ValueError:
        values = []
    return _amplitude_pair(values, text)


def _check_amplitude_pair(value: Any) -> tuple[float, float]:
    try:
        values = [_number(v, "volts") for v in (value if np.ndim(value) else [value])]
    except (TypeError, ValueError, OptionError):
        values = []
    return _amplitude_pair(values, value)


#: One pulse amplitude for both polarities, or P->AP,AP->P.
AMPLITUDE_PAIR = ValueKind("amplitude_pair", _parse_amplitude_pair, _check_amplitude_pair)

#: Samples of scikit-learn's Wine data, which a train/test split divides.
WINE_SAMPLES = 178
#: Test wines of reproduce's default split (30 %, as every run stored before ``--split`` had).
DEFAULT_TEST_WINES = 54


def _wine_split(train: int, test: int, shown: object) -> tuple[int, int]:
    if train + test != WINE_SAMPLES or not (3 <= test <= WINE_SAMPLES - 3):
        raise OptionError(
            f"a split is TRAIN/TEST wines adding up to Wine's {WINE_SAMPLES}, each part at "
            f"least 3, such as 124/54 or 148/30; got {shown!r}"
        )
    return train, test


def _parse_wine_split(text: str) -> tuple[int, int]:
    parts = text.split("/")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        return _wine_split(0, 0, text)
    return _wine_split(int(parts[0]), int(parts[1]), text)


def _check_wine_split(value: Any) -> tuple[int, int]:
    if (
        isinstance(value, (tuple, list))
        and len(value) == 2
        and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value)
    ):
        return _wine_split(int(value[0]), int(value[1]), value)
    return _wine_split(0, 0, value)


#: A train/test split of the Wine data, TRAIN/TEST (124/54).
WINE_SPLIT = ValueKind("wine_split", _parse_wine_split, _check_wine_split)

_TIME_UNITS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def _parse_seconds(text: str) -> float:
    """A duration: a number of seconds, or with a unit (100ns, 1us, 2ms)."""
    t = text.strip()
    scale = 1.0
    for unit in ("ns", "us", "ms", "s"):
        if t.endswith(unit):
            t, scale = t[: -len(unit)], _TIME_UNITS[unit]
            break
    try:
        value = float(t) * scale
    except ValueError:
        raise OptionError(f"expected a duration such as 100e-9 or 100ns, got {text!r}") from None
    if not (np.isfinite(value) and value > 0):
        raise OptionError(f"expected a duration > 0, got {text!r}")
    return value


def _check_seconds(value: Any) -> float:
    s = _number(value, "a duration in seconds")
    if not (math.isfinite(s) and s > 0):
        raise OptionError(f"expected a duration > 0, got {value!r}")
    return s


SECONDS = ValueKind("seconds", _parse_seconds, _check_seconds)


FRACTION = _number_kind(
    "fraction", "a number from 0 to 1", lambda f: 0.0 <= f <= 1.0, "a number from 0 to 1"
)


RESISTANCE = _number_kind(
    "resistance",
    "a resistance in ohms",
    lambda r: math.isfinite(r) and r > 0,
    "a resistance > 0 ohms",
)


def _parse_cell(text: str) -> tuple[int, int]:
    parts = text.split(",")
    try:
        row, col = (int(p) for p in parts)
    except ValueError:
        raise OptionError(f"expected ROW,COL such as 3,4, got {text!r}") from None
    if row < 0 or col < 0:
        raise OptionError(f"expected ROW,COL >= 0, got {text!r}")
    return row, col


def _check_cell(value: Any) -> tuple[int, int]:
    try:
        row, col = value
    except (TypeError, ValueError):
        raise OptionError(f"expected a cell (row, col) such as (3, 4), got {value!r}") from None
    return _whole(row, 0, "ROW,COL >= 0"), _whole(col, 0, "ROW,COL >= 0")


CELL = ValueKind("cell", _parse_cell, _check_cell)


def _ramp_from(start: float, step: float, stop: float, shown: object) -> tuple[float, float, float]:
    if not (0 < start <= stop and step >= 0 and np.isfinite([start, step, stop]).all()):
        raise OptionError(f"expected 0 < START <= STOP and STEP >= 0, got {shown!r}")
    return start, step, stop


def _parse_ramp(text: str) -> tuple[float, float, float]:
    try:
        start, step, stop = (float(p) for p in text.split(","))
    except ValueError:
        raise OptionError(
            f"expected START,STEP,STOP in volts such as 0.65,0.05,0.75, got {text!r}"
        ) from None
    return _ramp_from(start, step, stop, text)


def _check_ramp(value: Any) -> tuple[float, float, float]:
    if isinstance(value, Ramp):
        value = (value.start_v, value.step_v, value.stop_v)
    try:
        start, step, stop = (_number(v, "volts") for v in value)
    except (TypeError, ValueError):
        raise OptionError(
            f"expected (START, STEP, STOP) in volts such as (0.65, 0.05, 0.75), got {value!r}"
        ) from None
    return _ramp_from(start, step, stop, value)


RAMP = ValueKind("ramp", _parse_ramp, _check_ramp)


def _parse_array_list(text: str) -> list[int] | None:
    """Array indices such as 0,2,4; None for 'all' (every array the bench reaches). Which
    indices exist is the bench's to say (a bench file wires its own), checked once it is read."""
    if text == "all":
        return None
    try:
        arrays = sorted({int(p) for p in text.split(",")})
    except ValueError:
        raise OptionError(f"expected array indices such as 0,2,4 or 'all', got {text!r}") from None
    if arrays[0] < 0:
        raise OptionError(f"array {arrays[0]} is out of range: indices are >= 0")
    return arrays


def _check_array_list(value: Any) -> list[int] | None:
    if value is None:
        return None
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = [value]
    try:
        arrays = sorted({_whole(a, 0, "array indices >= 0") for a in value})
    except TypeError:
        raise OptionError(f"expected array indices such as [0, 2, 4], got {value!r}") from None
    if not arrays:
        raise OptionError("expected at least one array index, got none")
    return arrays


ARRAY_LIST = ValueKind("array_list", _parse_array_list, _check_array_list)


def _parse_array_index(text: str) -> int:
    """One array index (>= 0); whether the bench has it is checked once it is read."""
    arrays = _parse_array_list(text)
    if arrays is None or len(arrays) != 1:
        raise OptionError(f"expected one array index such as 1, got {text!r}")
    return arrays[0]


ARRAY_INDEX = ValueKind(
    "array_index", _parse_array_index, lambda v: _whole(v, 0, "one array index such as 1")
)


def _grid(start: float, stop: float, step: float, shown: object) -> list[float]:
    if not (0 < start < stop and step > 0 and np.isfinite([start, stop, step]).all()):
        raise OptionError(f"expected 0 < START < STOP and STEP > 0, got {shown!r}")
    steps = (stop - start) / step  # may be inf (0.4:1e308:0.01): compared before int()
    if not steps < MAX_AMPLITUDES:
        raise OptionError(f"{shown!r} makes more than {MAX_AMPLITUDES} amplitudes")
    n = int(np.floor(steps + 1e-9)) + 1
    if n > MAX_AMPLITUDES:
        raise OptionError(f"{shown!r} makes {n} amplitudes; at most {MAX_AMPLITUDES}")
    return [round(start + k * step, 9) for k in range(n)]


def _parse_amplitude_grid(text: str) -> list[float]:
    """START,STEP,STOP in volts, both ends included, in the order and form the write ramps are
    given in. START:STOP:STEP, the form the switching amplitudes were first given in, is
    refused with the same grid written the one way every command takes."""
    if ":" in text:
        parts = text.split(":")
        shown = ",".join((parts[0], parts[2], parts[1])) if len(parts) == 3 else "START,STEP,STOP"
        raise OptionError(
            f"{text!r} is the old START:STOP:STEP form; every command now takes "
            f"START,STEP,STOP, as the write ramps do: {shown}"
        )
    try:
        start, step, stop = (float(p) for p in text.split(","))
    except ValueError:
        raise OptionError(
            f"expected START,STEP,STOP in volts such as 0.40,0.01,0.60, got {text!r}"
        ) from None
    return _grid(start, stop, step, text)


def _check_amplitudes(value: Any) -> list[float]:
    try:
        amplitudes = [_number(v, "amplitudes in volts") for v in value]
    except TypeError:
        raise OptionError(f"expected amplitudes in volts, got {value!r}") from None
    if not amplitudes or len(amplitudes) > MAX_AMPLITUDES:
        raise OptionError(f"expected 1 to {MAX_AMPLITUDES} amplitudes, got {len(amplitudes)}")
    if not all(math.isfinite(a) and a > 0 for a in amplitudes):
        raise OptionError(f"expected amplitudes > 0 V, got {value!r}")
    return sorted(set(amplitudes))


AMPLITUDE_GRID = ValueKind("amplitude_grid", _parse_amplitude_grid, _check_amplitudes)


def _check_widths(value: Any) -> list[float]:
    if isinstance(value, (int, float)):
        value = [value]
    try:
        widths = [_check_seconds(w) for w in value]
    except TypeError:
        raise OptionError(f"expected pulse widths in seconds, got {value!r}") from None
    if not widths:
        raise OptionError("expected at least one pulse width, got none")
    return sorted(set(widths))


WIDTH_LIST = ValueKind(
    "width_list", lambda text: sorted({_parse_seconds(p) for p in text.split(",")}), _check_widths
)


def _parse_chip_change(text: str) -> tuple[str, float]:
    """FIELD=VALUE for a numeric ChipSpec field."""
    name, sep, value = text.partition("=")
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not sep or not name.strip() or not np.isfinite(number):
        raise OptionError(f"expected FIELD=NUMBER such as r_row_ohm=0, got {text!r}")
    return name.strip(), number


def _check_chip_change(value: Any) -> tuple[str, float]:
    try:
        name, number = value
    except (TypeError, ValueError):
        raise OptionError(
            f"expected (FIELD, NUMBER) such as ('r_row_ohm', 0), got {value!r}"
        ) from None
    if not isinstance(name, str) or not math.isfinite(_number(number, "a number")):
        raise OptionError(f"expected (FIELD, NUMBER) such as ('r_row_ohm', 0), got {value!r}")
    return name, float(number)


CHIP_CHANGE = ValueKind("chip_change", _parse_chip_change, _check_chip_change)


def _check_path(value: Any) -> Path:
    if not isinstance(value, (str, Path)):
        raise OptionError(f"expected a file path, got {value!r}")
    return Path(value)


PATH = ValueKind("path", Path, _check_path)


def _check_text(value: Any) -> str:
    if not isinstance(value, str):
        raise OptionError(f"expected text, got {value!r}")
    return value


TEXT = ValueKind("text", str, _check_text)


NUMBER = _number_kind("number", "a number", lambda x: True, "a number")


def _check_flag(value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise OptionError(f"expected True or False, got {value!r}")
    return bool(value)


FLAG = ValueKind("flag", lambda text: text.lower() in ("1", "true", "yes"), _check_flag)
