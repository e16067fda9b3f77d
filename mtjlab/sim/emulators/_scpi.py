"""The SCPI every emulated SCPI instrument shares: the error a refused command queues, command
headers in short and long form, program messages split into units, and numeric and character
parameters.

Headers are written as in the manuals: upper-case letters are the short form, the whole word the
long form; ``[...]`` marks an optional node (with its colon inside or outside:
``[:SOURce#]:VOLTage[:LEVel]``, ``[SOURce#]:VOLTage:[LEVel]``); ``#`` a numeric suffix.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# The SCPI standard error list (IEEE 488.2 / SCPI 1999, chapter 21): (code, message).
SYNTAX_ERROR = (-102, "Syntax error")
DATA_TYPE_ERROR = (-104, "Data type error")
PARAMETER_NOT_ALLOWED = (-108, "Parameter not allowed")
MISSING_PARAMETER = (-109, "Missing parameter")
UNDEFINED_HEADER = (-113, "Undefined header")
SUFFIX_OUT_OF_RANGE = (-114, "Header suffix out of range")
INVALID_CHARACTER_DATA = (-141, "Invalid character data")
TRIGGER_IGNORED = (-211, "Trigger ignored")
SETTINGS_CONFLICT = (-221, "Settings conflict")
DATA_OUT_OF_RANGE = (-222, "Data out of range")
ILLEGAL_PARAMETER = (-224, "Illegal parameter value")
DATA_STALE = (-230, "Data corrupt or stale")


class ScpiError(Exception):
    """A command the instrument refuses: the (code, message) it queues."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message


# -- headers -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    """One node of a command header: its short and long form, whether it may be left out, and
    whether it takes a numeric suffix (``OUTPut2``)."""

    short: str
    long: str
    optional: bool
    numbered: bool


def short_form(word: str) -> str:
    """The short form of a keyword written as in the manuals: its upper-case letters and digits
    (``NORMal`` -> ``NORM``, ``INTernal2`` -> ``INT2``)."""
    return "".join(c for c in word if c.isupper() or c.isdigit())


_SPEC_NODE = re.compile(r":?(\[?):?([A-Za-z]+)(#?)\]?")


def header(spec: str) -> tuple[Node, ...]:
    """The nodes of a header written as in the manuals (see the module docstring)."""
    nodes = []
    end = 0
    for m in _SPEC_NODE.finditer(spec):
        if m.start() != end:
            break
        optional, word, suffix = m.groups()
        nodes.append(Node(short_form(word), word.upper(), bool(optional), bool(suffix)))
        end = m.end()
    if end != len(spec) or not nodes:
        raise ValueError(f"header {spec!r} is not written as in the manuals")
    return tuple(nodes)


_TOKEN = re.compile(r"([A-Za-z][A-Za-z_]*?)(\d*)")

#: A received header's node: (name in upper case, numeric suffix or "").
Token = tuple[str, str]


def tokens(text: str) -> list[Token] | None:
    """A received header (nodes joined by ``:``, no leading colon, no ``?``) as its nodes; None
    if it is malformed."""
    found = []
    for part in text.split(":"):
        m = _TOKEN.fullmatch(part)
        if m is None:
            return None
        found.append((m.group(1).upper(), m.group(2)))
    return found


def match(nodes: Sequence[Node], received: Sequence[Token]) -> list[str] | None:
    """The numeric suffixes given, in order, if ``received`` spells ``nodes``; None if not."""
    if not nodes:
        return [] if not received else None
    node, rest = nodes[0], nodes[1:]
    if received:
        name, suffix = received[0]
        if name in (node.short, node.long) and (not suffix or node.numbered):
            found = match(rest, received[1:])
            if found is not None:
                return [suffix, *found] if suffix else found
    return match(rest, received) if node.optional else None


# -- program messages --------------------------------------------------------------------------


def split_outside_quotes(text: str, separator: str) -> list[str]:
    """``text`` split at ``separator`` outside quotes, each part stripped."""
    parts: list[str] = []
    current: list[str] = []
    quote = ""
    for c in text:
        if quote:
            quote = "" if c == quote else quote
        elif c in "'\"":
            quote = c
        elif c == separator:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(c)
    parts.append("".join(current).strip())
    return parts


def split_units(line: str) -> list[str]:
    """A program message's units (split at ``;`` outside quotes), blanks dropped."""
    return [unit for unit in split_outside_quotes(line, ";") if unit]


def split_parameters(text: str) -> list[str]:
    """Parameters separated by commas, outside quotes; an empty text has none."""
    return split_outside_quotes(text, ",") if text.strip() else []


def split_program_message(line: str) -> list[tuple[str, str, bool]]:
    """A program message as its units: (header with a leading colon and no ``?``, parameters,
    is a query). Every unit is taken from the root, as the drivers write them, and split at
    every ``;`` (the source meters' emulators do not look for quotes)."""
    units = []
    for unit in line.split(";"):
        unit = unit.strip()
        if not unit:
            continue
        head, _, args = unit.partition(" ")
        query = head.endswith("?")
        head = head.rstrip("?")
        if not head.startswith(("*", ":")):
            head = ":" + head
        units.append((head, args.strip(), query))
    return units


# -- parameters --------------------------------------------------------------------------------

#: SCPI's decimal numeric form, and the unit suffix after it.
DECIMAL = re.compile(r"([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*([A-Za-z]*)")


def number(
    text: str,
    low: float,
    high: float,
    *,
    default: float | None = None,
    specials: Mapping[str, float] | None = None,
    units: Mapping[str, float] | None = None,
) -> float:
    """A numeric parameter within ``low`` to ``high``: MINimum, MAXimum, DEFault (if there is a
    ``default``), one of ``specials``, or a number. With ``units`` (suffix in upper case ->
    multiplier) the number is in SCPI's decimal form with an optional unit suffix; without, it
    is any text ``float`` reads. One beyond the range is refused with "Data out of range"."""
    key = text.strip().upper()
    if not key:
        raise ScpiError(*MISSING_PARAMETER)
    named = {"MIN": low, "MINIMUM": low, "MAX": high, "MAXIMUM": high}
    if default is not None:
        named.update(DEF=default, DEFAULT=default)
    named.update(specials or {})
    if key in named:
        return named[key]
    if units is None:
        try:
            value = float(key)
        except ValueError:
            raise ScpiError(*DATA_TYPE_ERROR) from None
    else:
        m = DECIMAL.fullmatch(key)
        if m is None or m.group(2) not in units:
            raise ScpiError(*DATA_TYPE_ERROR)
        value = float(m.group(1)) * units[m.group(2)]
    if not math.isfinite(value) or not low <= value <= high:
        raise ScpiError(*DATA_OUT_OF_RANGE)
    return value


def character(text: str, words: Sequence[str], *, unknown: tuple[int, str]) -> str:
    """A character parameter: the word of ``words`` (written as in the manual, ``NORMal``) that
    ``text`` spells in long or short form and any case, as its short form; ``unknown`` (the
    model's error) if none does."""
    key = text.strip().upper()
    if not key:
        raise ScpiError(*MISSING_PARAMETER)
    for word in words:
        if key in (word.upper(), short_form(word)):
            return short_form(word)
    raise ScpiError(*unknown)
