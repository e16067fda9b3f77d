"""The bench's wiring as data: its instruments, the matrix rows their terminals enter on, the
matrix columns each array's pads leave on, and what each read and write scheme needs of them.

A bench file (``mtjlab.bench.file``) is checked into a :class:`Bench`; the bench layer connects it,
the simulator's emulated circuit follows it. What each scheme needs is in ``docs/bench.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mtjlab.core.limits import Limits

#: Where each instrument terminal enters the matrix, by what the bench uses it for.
TERMINALS = {
    "smu_hi": "the read source-measure channel's HI: drives the selected line, measures",
    "smu_lo": "its LO: the selected column of a floating read",
    "drive": "a second source that drives the selected row of a grounded read at the read bias, "
    "so that smu_hi can hold the selected column at 0 V as its ammeter",
    "pulse": "the pulse generator output that writes the selected line",
    "hold": "a second pulse output, fired with pulse, that holds the unselected lines at V/2",
    "ground": "the bench ground, for the unselected lines of grounded reads and the selected "
    "column of a write",
}
#: The role each terminal's instrument must have (ground has none).
TERMINAL_ROLES = {
    "smu_hi": "source meter",
    "smu_lo": "source meter",
    "drive": "source meter",
    "pulse": "pulse generator",
    "hold": "pulse generator",
}
#: What each scheme needs (terminals), as ``docs/bench.md`` explains.
#: The names are ArrayBackend's read biases and write schemes (mtjlab.core.schemes).
READ_SCHEME_TERMINALS = {
    "grounded": ("drive", "smu_hi", "ground"),
    "floating": ("smu_hi", "smu_lo"),
}
WRITE_SCHEME_TERMINALS = {"v/2": ("pulse", "hold", "ground"), "floating": ("pulse", "ground")}


@dataclass(frozen=True)
class InstrumentEntry:
    """One instrument: its driver model, where to reach it, and driver options."""

    name: str
    model: str
    resource: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Terminal:
    """Where an instrument terminal (or the bench ground) enters the switch matrix."""

    name: str
    instrument: str | None
    matrix_row: str


@dataclass(frozen=True)
class ArrayWiring:
    """The matrix column each row pad and each column pad of one array leaves on."""

    index: int
    rows: tuple[str, ...]
    cols: tuple[str, ...]


@dataclass(frozen=True)
class Bench:
    """A checked bench: its instruments, how they reach the arrays, its limits and timing."""

    source: str
    name: str
    kind: str
    instruments: dict[str, InstrumentEntry]
    matrix: str
    terminals: dict[str, Terminal]
    arrays: dict[int, ArrayWiring]
    limits: Limits | None
    timing: dict[str, float]
    chip: dict[str, Any] | None = None
    #: The switch matrix's node on the TSP-Link of the read source-meter (a 2600B), or None:
    #: with it, a whole map is one script on the source-meter (``docs/bench.md``).
    tsp_link_node: int | None = None

    @property
    def read_schemes(self) -> list[str]:
        """The read schemes this bench's wiring can do."""
        return [
            s
            for s, needs in READ_SCHEME_TERMINALS.items()
            if all(t in self.terminals for t in needs)
        ]

    @property
    def write_schemes(self) -> list[str]:
        """The write schemes this bench's wiring can do. V/2 also needs its hold on another
        output of the pulse's own generator (one resource), so one bus trigger fires both."""
        out = []
        for scheme, needs in WRITE_SCHEME_TERMINALS.items():
            if not all(t in self.terminals for t in needs):
                continue
            if scheme == "v/2" and self._resource("hold") != self._resource("pulse"):
                continue
            out.append(scheme)
        return out

    def _resource(self, terminal: str) -> str:
        return self.instruments[str(self.terminals[terminal].instrument)].resource
