"""The chip behind an emulated bench: which pads the switch matrix joins to which instrument
terminal, what each source applies, and what flows, solved on the simulated arrays.

The instrument emulators drive it: a source meter sets its terminal's level and asks for the
current out of it, a pulse generator applies a pulse for its width, the matrix opens and closes
crosspoints. A line no closed crosspoint reaches floats. The circuit also keeps what a test of a
bench's safety needs to see: every relay change, with the terminals live at that moment.
"""

from __future__ import annotations

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
            row_v, col_v, row_term, col_term = lines
            sol = backend.apply_lines(row_v, col_v, duration_s)  # every array feels its levels
            if terminal not in row_term and terminal not in col_term:
                continue
            into = np.sum(np.where(np.array(row_term) == terminal, sol.row_start_current_a, 0.0))
            out_of = np.sum(np.where(np.array(col_term) == terminal, sol.column_end_current_a, 0.0))
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
        """Each line's source voltage (NaN floating) and the terminal reaching it, or None if no
        line of the array is driven or grounded."""
        wiring = self.bench.arrays[index]
        rows, cols = len(wiring.rows), len(wiring.cols)
        row_v, col_v = np.full(rows, np.nan), np.full(cols, np.nan)
        row_term: list[str | None] = [None] * rows
        col_term: list[str | None] = [None] * cols
        for matrix_row, pad in self.closed:
            terminal = self._row_terminal.get(matrix_row)
            line = self._pad_line.get(pad)
            if terminal is None or line is None or line[0] != index:
                continue
            level = override.get(terminal, self._level(terminal))
            if level is None:
                continue  # an output that is off leaves the line floating
            _, side, i = line
            voltages, terms = (row_v, row_term) if side == "row" else (col_v, col_term)
            if terms[i] is not None and terms[i] != terminal:
                raise CircuitError(
                    f"array {index} {side} {i} is joined to {terms[i]} and {terminal} at once: "
                    "two sources shorted through the matrix"
                )
            voltages[i], terms[i] = level, terminal
        if np.all(np.isnan(row_v)) and np.all(np.isnan(col_v)):
            return None
        return row_v, col_v, row_term, col_term

    def _level(self, terminal: str) -> float | None:
        if terminal in (GROUND, SMU_LO):
            return 0.0
        return self.levels[terminal]
