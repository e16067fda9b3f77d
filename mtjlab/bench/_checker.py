"""The checks a bench file's values go through, collecting every problem as one line that names
the file, the key path and the value (``mtjlab.bench.file`` reads the file with them).

A failed check records its problem and abandons only the part of the file it is in, so that one
mistake does not hide the others; a key typo is named with the closest allowed key.
"""

from __future__ import annotations

import difflib
import math
import reprlib
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import NoReturn


class Abandon(Exception):
    """Ends the check of one part of a bench file once its problem is recorded."""


class Checker:
    """Checks a bench description's values and collects every problem, one line each.

    A failed check records its problem and abandons the part it is in (``with c.part():``), so
    the next part is still checked. A part that builds on another one checks with ``mark()``
    and ``settled()`` that nothing it needs was refused, or asks ``refused(key)``.
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[str] = []
        self._refused: list[str] = []  # the key path of each problem

    @contextmanager
    def part(self) -> Iterator[None]:
        """Check one part of the file: a problem in it ends this part, not the ones after."""
        with suppress(Abandon):
            yield

    def mark(self) -> int:
        return len(self._refused)

    def settled(self, mark: int) -> None:
        """Abandon the part if anything was refused since ``mark``: what it would build from
        that is not there."""
        if len(self._refused) > mark:
            raise Abandon

    def refused(self, key: str) -> bool:
        """Whether ``key``, or a key inside it, was refused (or may be an unknown key's)."""
        return any(k == key or k.startswith((f"{key}.", f"{key}[")) for k in self._refused)

    def skip(self, key: str) -> NoReturn:
        """Abandon the check of ``key``, whose input was refused already: what builds on
        ``key`` is not checked either."""
        assert self.problems, "a check is skipped only when the file is refused anyway"
        self._refused.append(key)
        raise Abandon

    def refuse(self, key: str, problem: str) -> NoReturn:
        self._refused.append(key)
        self.problems.append(f"{self.source}: {problem}")
        raise Abandon

    def fail(self, key: str, value: object, allowed: str) -> NoReturn:
        where = key or "(top level)"
        self.refuse(key, f"{where} = {_excerpt(value)}: expected {allowed}")

    def missing(self, key: str, allowed: str) -> NoReturn:
        self.refuse(key, f"{key} is missing: {allowed}")

    def unknown(
        self, key: str, name: object, allowed: tuple[str, ...], expected: str, what: str = "key"
    ) -> None:
        """Record ``name``, not among ``allowed`` in ``key``: the name and the closest allowed
        one, never its value (which can be a whole section)."""
        self.problems.append(f"{self.source}: {key_path(key, name)}: unknown {what}"
                             f"{did_you_mean(name, allowed)}; expected {expected}")  # fmt: skip
        meant = _closest(name, allowed)
        if meant is not None:  # what was meant is not there: not checked, nor reported missing
            self._refused.append(key_path(key, meant))

    def mapping(self, value: object, key: str, *, nonempty: bool = False) -> dict:
        if value is None and not nonempty:
            return {}
        if not isinstance(value, dict) or (nonempty and not value):
            self.fail(key, value, "a non-empty mapping" if nonempty else "a mapping")
        return value  # type: ignore[return-value]

    def keys(self, d: dict, key: str, *, required: tuple, optional: tuple) -> None:
        """Record every key of ``d`` not allowed, and every required one missing; abandon the
        part if one is missing."""
        known = (*required, *optional)
        for k in d:
            if k not in known:
                self.unknown(key, k, known, "only the keys " + ", ".join(known))
        missing = [k for k in required if k not in d]
        for k in missing:
            if not self.refused(key_path(key, k)):  # else an unknown key's line names it
                with self.part():
                    needs = f"{key or 'a bench'} needs " + ", ".join(required)
                    self.missing(key_path(key, k), needs)
        if missing:
            raise Abandon

    def text(self, value: object, key: str) -> str:
        if not isinstance(value, str) or not value.strip() or not value.isprintable():
            self.fail(key, value, "a non-empty line of text")
        return value  # type: ignore[return-value]

    def identifier(self, value: object, key: str) -> None:
        if not (isinstance(value, str) and value.isidentifier() and value.isascii()):
            self.fail(key, value, "a name of letters, digits and _")

    def choice(self, value: object, key: str, allowed: tuple) -> str:
        if not isinstance(value, str) or value not in allowed:
            self.fail(key, value, "one of " + ", ".join(str(a) for a in allowed))
        return value  # type: ignore[return-value]

    def positive(self, value: object, key: str, *, allow_zero: bool = False) -> float:
        ok = (
            not isinstance(value, bool)
            and isinstance(value, (int, float))
            and math.isfinite(value)
            and (value >= 0 if allow_zero else value > 0)
        )
        if not ok:
            self.fail(key, value, "a finite number " + (">= 0" if allow_zero else "> 0"))
        return float(value)  # type: ignore[arg-type]


def _closest(name: object, allowed: tuple[str, ...]) -> str | None:
    """The allowed name closest to ``name`` (a typo of it), if one is close."""
    close = difflib.get_close_matches(str(name), allowed, n=1)
    return close[0] if close else None


def did_you_mean(name: object, allowed: tuple[str, ...]) -> str:
    meant = _closest(name, allowed)
    return "" if meant is None else f" (did you mean {meant}?)"


def _excerpt(value: object, limit: int = 80) -> str:
    """A value as an error quotes it, cut short: the repr of a whole mapping can be megabytes."""
    short = reprlib.Repr()  # (keyword arguments only from Python 3.12)
    short.maxlevel, short.maxdict, short.maxlist = 2, 4, 4
    short.maxstring = short.maxother = limit
    return short.repr(value)


def key_path(key: str, sub: object) -> str:
    """The path of ``sub`` in ``key``; a name that is not one short line is quoted, cut short."""
    name = str(sub)
    if not name.isprintable() or len(name) > 80:
        name = _excerpt(sub)
    return f"{key}.{name}" if key else name
