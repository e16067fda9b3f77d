"""Binary patterns to write (P = 0, AP = 1): the generated kinds (random, checkerboards, all-P,
all-AP) and pattern files, checked where they come in.

A pattern file is a CSV of 0/1 (or P/AP), one array row per line; ``#`` starts a comment line.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from mtjlab.core.states import AP, P

PATTERN_KINDS = ("random", "checkerboard", "checkerboard-inverse", "all-P", "all-AP")

_CELL_VALUES = {"0": P, "1": AP, "p": P, "ap": AP}


class PatternError(ValueError):
    """A pattern that cannot be written: wrong shape, a value other than 0/1 (P/AP), no file."""


def make_pattern(
    kind: str,
    shape: tuple[int, int],
    *,
    ap_fraction: float = 0.5,
    rng: np.random.Generator | int | None = None,
) -> np.ndarray:
    """A generated pattern of ``shape``.

    ``random`` sets each cell AP with probability ``ap_fraction`` (seeded by ``rng``); the
    checkerboards start with P (or AP, inverse) at (0, 0).
    """
    if kind not in PATTERN_KINDS:
        raise PatternError(f"unknown pattern kind {kind!r}; expected one of {PATTERN_KINDS}")
    rows, cols = shape
    if kind == "random":
        if not 0.0 <= ap_fraction <= 1.0:
            raise PatternError(f"ap_fraction must be within 0 to 1, got {ap_fraction!r}")
        rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        return (rng.random(shape) < ap_fraction).astype(np.int8)
    if kind in ("all-P", "all-AP"):
        return np.full(shape, AP if kind == "all-AP" else P, dtype=np.int8)
    board = (np.add.outer(np.arange(rows), np.arange(cols)) % 2).astype(np.int8)
    return board if kind == "checkerboard" else (1 - board).astype(np.int8)


#: The largest pattern file read: a 1024x1024 array written as "AP," is 3 MB.
MAX_PATTERN_BYTES = 4 * 1024 * 1024


def _excerpt(text: str, limit: int = 40) -> str:
    """A value as an error quotes it: stripped, and cut short past ``limit`` characters."""
    text = text.strip()
    return repr(text) if len(text) <= limit else repr(text[:limit]) + f"... ({len(text)} chars)"


def load_pattern(path: str | Path, shape: tuple[int, int] | None = None) -> np.ndarray:
    """Read a pattern file; with ``shape``, the pattern must have that shape exactly.

    Raises
    ------
    PatternError
        One line naming the file and, where it applies, the line, the column and the value.
    """
    path = Path(path)
    if not path.is_file():
        raise PatternError(f"{path}: no such pattern file")
    size = path.stat().st_size
    if size > MAX_PATTERN_BYTES:
        raise PatternError(
            f"{path}: {size} bytes; a pattern file is at most {MAX_PATTERN_BYTES} "
            "(a 1024x1024 array of P/AP)"
        )
    rows: list[list[int]] = []
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            for line_no, fields in enumerate(csv.reader(handle), start=1):
                if not fields or fields[0].lstrip().startswith("#"):
                    continue
                if all(not f.strip() for f in fields):
                    continue
                row = []
                for col, text in enumerate(fields):
                    value = _CELL_VALUES.get(text.strip().lower())
                    if value is None:
                        raise PatternError(
                            f"{path}, line {line_no}, column {col + 1}: {_excerpt(text)} is not "
                            "a cell state (expected 0 or 1, or P or AP)"
                        )
                    row.append(value)
                if rows and len(row) != len(rows[0]):
                    raise PatternError(
                        f"{path}, line {line_no}: {len(row)} cells, the first row has "
                        f"{len(rows[0])}"
                    )
                rows.append(row)
    except UnicodeDecodeError:
        raise PatternError(f"{path}: not a text file (expected a CSV of 0/1 or P/AP)") from None
    except csv.Error as exc:  # a field past the csv module's limit, a stray NUL, ...
        raise PatternError(f"{path}: not a CSV of 0/1 or P/AP ({exc})") from None
    if not rows:
        raise PatternError(f"{path}: no pattern rows (expected a CSV of 0/1 or P/AP)")
    pattern = np.array(rows, dtype=np.int8)
    if shape is not None and pattern.shape != tuple(shape):
        raise PatternError(
            f"{path}: pattern is {pattern.shape[0]}x{pattern.shape[1]}, "
            f"the array is {shape[0]}x{shape[1]}"
        )
    return pattern


def save_pattern(pattern: np.ndarray, path: str | Path) -> Path:
    """Write a pattern as a CSV of 0/1 that :func:`load_pattern` reads back."""
    path = Path(path)
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(np.asarray(pattern, dtype=int).tolist())
    return path
