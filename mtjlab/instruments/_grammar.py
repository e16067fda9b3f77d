"""Checks for the strings drivers splice into commands (channel names, channel lists).

A name is accepted only if the whole string, in ASCII, matches the model's pattern; nothing that
could end a string literal or a statement (a quote, a comma, a semicolon, a newline, a space, a
parenthesis, a TSP keyword) can match any pattern here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .roles import ChannelSpecError


def check_name(value: object, pattern: re.Pattern[str], form: str, what: str) -> str:
    """Return ``value`` if it is a str matching ``pattern`` in full, else raise
    :class:`ChannelSpecError` naming the value and the expected form."""
    if not isinstance(value, str) or pattern.fullmatch(value) is None:
        raise ChannelSpecError(f"{what} {value!r} is not of the form {form}")
    return value


def check_names(
    values: str | Iterable[str], pattern: re.Pattern[str], form: str, what: str
) -> list[str]:
    """Check one name or an iterable of names; return them as a non-empty list, in order."""
    items = [values] if isinstance(values, str) else list(values)
    if not items:
        raise ChannelSpecError(f"empty list of {what}s; expected one or more of the form {form}")
    return [check_name(item, pattern, form, what) for item in items]


def ascii_pattern(regex: str) -> re.Pattern[str]:
    """Compile ``regex`` so that character classes match ASCII only."""
    return re.compile(regex, re.ASCII)


def grammar_validator(pattern: re.Pattern[str], form: str, what: str):
    """A pymeasure ``validator`` (``(value, values) -> value``) applying :func:`check_name`."""

    def validate(value, values=None):
        return check_name(value, pattern, form, what)

    return validate
