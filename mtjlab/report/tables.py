"""Plain-text tables for a terminal: the end-of-run tables of every experiment."""

from __future__ import annotations


def format_table(header: list[str], rows: list[list], *, label_column: bool = False) -> str:
    """Columns right-aligned (numbers), the first left-aligned when it holds labels."""
    cells = [header] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]

    def line(r: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if label_column and i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )

    return "\n".join(line(r) for r in cells)
