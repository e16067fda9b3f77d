"""The chip behind an emulated bench: which pads the switch matrix joins to which instrument
terminal, what each source applies, and what flows, solved on the simulated arrays.

The instrument emulators drive it: a source meter sets its terminal's level and asks for the
current out of it, a pulse generator applies a pulse for its width, the matrix opens and closes
crosspoints. A line no closed crosspoint reaches floats. The circuit also keeps what a test of a
bench's safety needs to see: every relay change, with the terminals live at that moment.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mtjlab.core.wiring import Bench
from mtjlab.sim.backend import SimulatedBackend
from mtjlab.sim.chip import Chip
from mtjlab.sim.emulators.base import VirtualClock

#: The terminal that is the bench ground: always at 0 V.
GROUND = "ground"
#: The LO of the read channel: the source's reference, at 0 V whether the output is on or off.
SMU_LO = "smu_lo"


@dataclass(frozen=True)
class RelayChange:
    """A crosspoint that opened or closed, when, and which terminals were live (driving a
    non-zero level, or pulsing) at that moment."""

    time_s: float
    matrix_row: str
    matrix_column: str
    closed: bool
    live: tuple[str, ...]


#: What a cache holds for a key it has not seen (None is a valid answer).
_UNKNOWN = object()
#: How many entries each of the circuit's caches keeps (the oldest go first).
_CACHED = 4096


def _keep(cache: dict, key: object, value: object) -> None:
    """``cache[key] = value``, dropping the oldest entry when the cache is full."""
    if len(cache) >= _CACHED:
        cache.pop(next(iter(cache)))
    cache[key] = value


class CircuitError(RuntimeError):
    """Something a bench must never do happened in the circuit (two sources joined)."""


class BenchCircuit:
    """The wired arrays of a bench's chip and the state of every terminal and crosspoint.

    Parameters
    ----------
    bench : Bench
        The bench file: terminals (matrix rows) and each array's pads (matrix columns).
    chip : Chip
        The simulated chip; each wired array is a :class:`SimulatedBackend` over it, so its
        devices switch, break down and read with noise as the simulator's do.
    clock : VirtualClock
        Bench time, shared with the instruments.
    """

    def __init__(self, bench: Bench, chip: Chip, clock: VirtualClock | None = None) -> None:
        self.bench = bench
        self.chip = chip
        self.clock = clock or VirtualClock()
        self.arrays = {index: SimulatedBackend(chip, index) for index in bench.arrays}
        self._row_terminal = {t.matrix_row: name for name, t in bench.terminals.items()}
        # pad (matrix column) -> (array, "row" or "col", line index)
        self._pad_line: dict[str, tuple[int, str, int]] = {}
        for index, wiring in bench.arrays.items():
            for i, pad in enumerate(wiring.rows):
                self._pad_line[pad] = (index, "row", i)
            for j, pad in enumerate(wiring.cols):
                self._pad_line[pad] = (index, "col", j)
        self.closed: set[tuple[str, str]] = set()
        # The closed crosspoints as a key, and by it and the array, the lines each terminal
        # reaches (see _routes) and _line_voltages' answers by the routed terminals' levels: a
        # scan closes and opens the same few sets of crosspoints over and over.
        self._closed_key: frozenset = frozenset()
        self._routes_of: dict[tuple, dict[str, tuple[tuple[int, ...], tuple[int, ...]]]] = {}
        self._lines_of: dict[tuple, tuple | None] = {}
        #: Level each source terminal drives, V; None while its output is off (the line floats).
        self.levels: dict[str, float | None] = {
            name: None for name in bench.terminals if name not in (GROUND, SMU_LO)
        }
        self.relay_changes: list[RelayChange] = []
        self.pulses = 0
        #: Terminals an output drives with a free-running pulse train: live though at rest at 0 V.
        self.trains: set[str] = set()
        #: Called before every relay change, read and pulse, so that an instrument whose output
        #: runs by itself (a pulse train) applies what it put out up to the present bench time.
        self.before_change: list = []

    # -- the matrix -------------------------------------------------------------------------------

    def set_crosspoint(self, matrix_row: str, matrix_column: str, closed: bool) -> None:
        """Close or open one crosspoint; a crosspoint nothing is wired to is accepted and
        joins nothing (a real matrix has them too)."""
        key = (matrix_row, matrix_column)
        if (key in self.closed) == closed:
            return
        self._catch_up()
        self.relay_changes.append(
            RelayChange(self.clock.now_s, matrix_row, matrix_column, closed, self.live())
        )
        if closed:
            self.closed.add(key)
        else:
            self.closed.discard(key)
        self._closed_key = frozenset(self.closed)

    def open_all(self) -> None:
        for row, column in sorted(self.closed):
            self.set_crosspoint(row, column, False)

    # -- the sources ------------------------------------------------------------------------------

    def set_level(self, terminal: str, level_v: float | None) -> None:
        """What a source terminal drives: a level in volts, or None with its output off."""
        if terminal not in self.levels:
            raise KeyError(f"no source terminal {terminal!r} on this bench")
        self.levels[terminal] = None if level_v is None else float(level_v)

    def set_train(self, terminal: str, running: bool) -> None:
        """Record that ``terminal``'s output puts out a free-running pulse train (or stopped)."""
        if terminal not in self.levels:
            raise KeyError(f"no source terminal {terminal!r} on this bench")
        (self.trains.add if running else self.trains.discard)(terminal)

    def live(self) -> tuple[str, ...]:
        """The terminals driving a level other than 0 V, or a pulse train, right now."""
        driven = {t for t, v in self.levels.items() if v is not None and v != 0.0}
        return tuple(sorted(driven | self.trains))

    def _catch_up(self) -> None:
        for hook in self.before_change:
            hook()

    def measure_current_a(self, terminal: str, duration_s: float) -> float:
        """The current out of ``terminal`` into the arrays (A), as a reading of it, with the
        present levels held for ``duration_s`` (the integration time)."""
        self._catch_up()
        current = 0.0
        for index, backend in self.arrays.items():
            lines = self._line_voltages(index, {})
            if lines is None:
                continue
            row_v, col_v, reached = lines
            sol = backend.apply_lines(row_v, col_v, duration_s)  # every array feels its levels
            if terminal not in reached:
                continue
            on_rows, on_cols = reached[terminal]
            into = np.where(on_rows, sol.row_start_current_a, 0.0).sum()
            out_of = np.where(on_cols, sol.column_end_current_a, 0.0).sum()
            current += float(backend.read_noise_a(np.array(into - out_of)))
        return current

    def pulse(self, levels_v: dict[str, float], width_s: float) -> None:
        """Drive ``levels_v`` (terminal -> V) for ``width_s`` on top of the present levels, as
        pulse outputs fired together do; then back to the present levels."""
        unknown = set(levels_v) - set(self.levels)
        if unknown:
            raise KeyError(f"no source terminal(s) {sorted(unknown)} on this bench")
        for index, backend in self.arrays.items():
            lines = self._line_voltages(index, levels_v)
            if lines is not None:
                backend.apply_lines(lines[0], lines[1], width_s)
        self.pulses += 1

    # -- lines ------------------------------------------------------------------------------------

    def _line_voltages(self, index: int, override: dict[str, float]):
        """Each line's source voltage (NaN floating), and by terminal the rows and columns it
        drives (two masks), or None if no line of the array is driven or grounded.

        Worked out once per set of closed crosspoints and levels of the terminals they route
        (a map's thousands of readings meet a few), as read-only arrays."""
        routes = self._routes(index)
        if not routes:
            return None  # nothing reaches the array: every line floats
        key = (index, self._closed_key, tuple(override.get(t, self._level(t)) for t in routes))
        known = self._lines_of.get(key, _UNKNOWN)
        if known is not _UNKNOWN:
            return known
        lines = self._lines_worked_out(index, override)
        if lines is not None:
            for a in (lines[0], lines[1], *(m for masks in lines[2].values() for m in masks)):
                a.flags.writeable = False
        _keep(self._lines_of, key, lines)
        return lines

    def _lines_worked_out(self, index: int, override: dict[str, float]):
        # In plain lists: a scan meets thousands of sets of closed crosspoints once each, and
        # on lines of 15 numpy's per-call cost is most of the work.
        wiring = self.bench.arrays[index]
        voltages = ([math.nan] * len(wiring.rows), [math.nan] * len(wiring.cols))
        reaching: tuple[list[str | None], list[str | None]] = (
            [None] * len(wiring.rows),
            [None] * len(wiring.cols),
        )
        for terminal, lines in self._routes(index).items():
            level = override.get(terminal, self._level(terminal))
            if level is None:
                continue  # an output that is off leaves the line floating
            for side, (on, by) in enumerate(zip(voltages, reaching, strict=True)):
                for i in lines[side]:
                    if by[i] is not None and by[i] != terminal:
                        raise CircuitError(
                            f"array {index} {('row', 'col')[side]} {i} is joined to {by[i]} and "
                            f"{terminal} at once: two sources shorted through the matrix"
                        )
                    on[i], by[i] = level, terminal
        terminals = {t for by in reaching for t in by if t is not None}
        if not terminals:
            return None
        masks = {
            t: (np.array([r == t for r in reaching[0]]), np.array([c == t for c in reaching[1]]))
            for t in terminals
        }
        return np.array(voltages[0]), np.array(voltages[1]), masks

    def _routes(self, index: int) -> dict[str, tuple[tuple[int, ...], tuple[int, ...]]]:
        """The row and column lines of array ``index`` each terminal reaches through the
        closed crosspoints, worked out once per set of closed crosspoints."""
        routes = self._routes_of.get((index, self._closed_key))
        if routes is None:
            reached: dict[str, tuple[set[int], set[int]]] = {}
            for matrix_row, pad in self.closed:
                terminal = self._row_terminal.get(matrix_row)
                line = self._pad_line.get(pad)
                if terminal is None or line is None or line[0] != index:
                    continue
                _, side, i = line
                reached.setdefault(terminal, (set(), set()))[side == "col"].add(i)
            routes = {t: (tuple(sorted(r)), tuple(sorted(c))) for t, (r, c) in reached.items()}
            _keep(self._routes_of, (index, self._closed_key), routes)
        return routes

    def _level(self, terminal: str) -> float | None:
        if terminal in (GROUND, SMU_LO):
            return 0.0
        return self.levels[terminal]
