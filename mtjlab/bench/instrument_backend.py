"""InstrumentBackend: the ArrayBackend of a bench, made of its instruments' roles and its wiring.

Every operation is a connection of the array's pads to the bench's terminals through the switch
matrix, then sources set and read. Below the protocols, and whatever they ask, it keeps the bench
safe: no relay moves while a source is away from 0 V or a pulse is on the line (sources go to
0 V first, and ``fire`` returns only when the pulse has ended), and the safe state tries every
instrument before it reports what failed. Which scheme needs which terminals: ``docs/bench.md``.

A map is read cell by cell, a few commands each, unless the bench file puts the matrix on the
read source-meter's TSP-Link: then the whole map is one script on the source-meter, which
switches the matrix itself, and the computer sends a few dozen commands in all
(:meth:`~mtjlab.instruments.roles.LinkedMatrixScanner.scan_linked_matrix`).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType

import numpy as np

from mtjlab.bench.file import crosspoint
from mtjlab.core.backend import ArrayBackend, CellReading, ResistanceMap, Stateful
from mtjlab.core.limits import Limits
from mtjlab.core.wiring import Bench
from mtjlab.instruments._errors import try_every
from mtjlab.instruments.roles import (
    LOAD_HIGH_Z,
    InstrumentError,
    LinkedMatrixScanner,
    LinkNodeMatrix,
    PulseGenerator,
    SourceMeter,
    SwitchMatrix,
)


class SchemeUnavailable(ValueError):
    """The bench's terminals cannot make the scheme asked for."""


class SafeStateFailed(InstrumentError):
    """The safe state failed on some instruments: ``unreached`` names their parts of the bench
    (``"read source-meter"``, ``"switch matrix"``, ...), ``reached`` the parts made safe."""

    def __init__(
        self, bench: str, failures: list[tuple[str, Exception]], reached: list[str]
    ) -> None:
        super().__init__(bench, [], [(0, f"{label}: {exc}") for label, exc in failures])
        self.unreached = [label for label, _ in failures]
        self.reached = reached


class BenchNotSafe(OSError):
    """An instrument's connection failed (a timeout, a lost link), and the safe state that
    followed could not reach every instrument either: one line that says what failed, which
    parts were made safe and which may still be live. Its ``__cause__`` is the
    :class:`SafeStateFailed` with every step's failure."""

    def __init__(self, failure: BaseException, safe_state: SafeStateFailed) -> None:
        reached = ", ".join(safe_state.reached) or "nothing"
        unreached = ", ".join(safe_state.unreached)
        first = " ".join(str(failure).split()) or type(failure).__name__
        super().__init__(
            f"{first}; then the safe state reached {reached} but not {unreached}: check "
            f"{'them' if len(safe_state.unreached) > 1 else 'it'} (an output may still be on, "
            "or a relay closed)"
        )


class BenchInstruments:
    """The connected drivers of one bench, by instrument name, and what is known of the
    instruments' state: which crosspoints are closed, each source's confirmed level, whether
    the sources are configured and on, each pulse output's setting and arming.

    The backends of a bench's arrays share one: what one array's backend does to the matrix
    or a source is then known to the others, instead of each trusting a stale copy (the other
    array's connection, a source a safe state turned off).
    """

    def __init__(self, drivers: Mapping[str, object]) -> None:
        self.drivers = dict(drivers)
        self.forget()
        #: True from a safe state that succeeded until the next operation: nothing to undo.
        self.settled = False

    def forget(self) -> None:
        """Know nothing of the instruments' state (after a safe state, or a failure)."""
        self.connected: frozenset[str] | None = None
        self.levels: dict[int, float] = {}
        self.sources_ready = False
        self.pulse_setting: dict[int, tuple] = {}
        self.armed: set[int] = set()


class InstrumentBackend(ArrayBackend):
    """One array of a bench, driven through its instruments.

    Parameters
    ----------
    bench : Bench
        The checked bench file: terminals, and the pads of ``array``.
    array : int
        Which of the bench's wired arrays.
    drivers : BenchInstruments or mapping of str to driver
        The connected drivers, by the instrument names of the bench file; the arrays of one
        bench share one :class:`BenchInstruments` (a mapping gets one of its own).
    limits : Limits
        The safety envelope; a real bench's own file states it, an emulated one's comes from
        its chip.
    nplc : float
        Integration time of each reading, in power-line cycles.
    load : str
        What the device presents to the pulse generator (see
        :class:`~mtjlab.instruments.roles.PulseGenerator`); a junction of kilo-ohms is high
        impedance next to 50 Ohm.
    """

    def __init__(
        self,
        bench: Bench,
        array: int,
        drivers: BenchInstruments | Mapping[str, object],
        *,
        limits: Limits,
        nplc: float = 1.0,
        load: str = LOAD_HIGH_Z,
        state: Stateful | None = None,
    ) -> None:
        if array not in bench.arrays:
            raise ValueError(
                f"array {array!r} is not wired on bench {bench.name!r}; "
                f"wired: {sorted(bench.arrays)}"
            )
        if not isinstance(limits, Limits):
            raise TypeError(f"limits must be a mtjlab.core.limits.Limits, got {limits!r}")
        self.bench = bench
        self.array_index = array
        self._wiring = bench.arrays[array]
        self._limits = limits
        self.nplc = float(nplc)
        self.load = load
        self._shared = (
            drivers if isinstance(drivers, BenchInstruments) else BenchInstruments(drivers)
        )
        drivers = self._shared.drivers
        missing = sorted(set(bench.instruments) - set(drivers))
        if missing:
            raise ValueError(f"no driver for the bench's instrument(s) {missing}")
        self._matrix = _role(drivers[bench.matrix], SwitchMatrix, bench.matrix)

        def by_terminal(name: str, role: type):
            t = bench.terminals.get(name)
            return (
                None
                if t is None or t.instrument is None
                else _role(drivers[t.instrument], role, t.instrument)
            )

        self._smu: SourceMeter | None = by_terminal("smu_hi", SourceMeter)
        self._drive: SourceMeter | None = by_terminal("drive", SourceMeter)
        self._pulse: PulseGenerator | None = by_terminal("pulse", PulseGenerator)
        self._hold: PulseGenerator | None = by_terminal("hold", PulseGenerator)
        self._write_schemes = bench.write_schemes
        self._state = state
        #: The emulated bench behind this backend, if it is one (set by EmulatedBench).
        self.emulated: object | None = None
        #: Operations done, for a dry run's account (reads, pulses, relay connections).
        self.counts = {"reads": 0, "pulses": 0, "connections": 0, "safe_state": 0}

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self._wiring.rows), len(self._wiring.cols))

    def snapshot_state(self) -> bytes | None:
        """None on a real bench (the chip keeps its state); an emulated array's state."""
        return None if self._state is None else self._state.snapshot_state()

    def restore_state(self, blob: bytes) -> None:
        if self._state is None:
            raise NotImplementedError("a real bench's array keeps its own state")
        self._state.restore_state(blob)

    @property
    def limits(self) -> Limits:
        return self._limits

    # -- reads -----------------------------------------------------------------------------------

    def _read_cell(self, row: int, col: int, v_read_v: float, bias: str) -> CellReading:
        self._need(bias, self.bench.read_schemes, "read bias")
        self.counts["reads"] += 1
        if bias == "grounded":
            assert self._drive is not None and self._smu is not None
            self._connect({("row", row): "drive", ("col", col): "smu_hi"}, others="ground")
            self._set(self._drive, v_read_v)
            # the ammeter holds the column at 0 V; the current into it is negative out of HI
            current = -self._smu.measure_current_a()
            self._set(self._drive, 0.0)
        else:  # floating: HI on the row, LO on the column, every other line open
            assert self._smu is not None
            self._connect({("row", row): "smu_hi", ("col", col): "smu_lo"}, others=None)
            self._set(self._smu, v_read_v)
            current = self._smu.measure_current_a()
            self._set(self._smu, 0.0)
        resistance = v_read_v / current if current != 0 else float("inf")
        return CellReading(
            resistance_ohm=float(resistance), current_a=float(current), v_read_v=v_read_v,
            bias=bias,
        )  # fmt: skip

    def _read_map(self, v_read_v: float, bias: str) -> ResistanceMap:
        if self.bench.tsp_link_node is None:
            return super()._read_map(v_read_v, bias)
        self._need(bias, self.bench.read_schemes, "read bias")
        rows = self.shape[0]
        current = np.stack([c[:, 0] for c in self._scan([[v_read_v]] * rows, bias)])
        self.counts["reads"] += current.size
        with np.errstate(divide="ignore"):
            resistance = np.where(current != 0, v_read_v / current, np.inf)
        return ResistanceMap(
            resistance_ohm=resistance, current_a=current, v_read_v=v_read_v, bias=bias
        )

    def _column_currents_a(self, row_voltages_v: np.ndarray) -> np.ndarray:
        """Superposition, one driven row at a time: the bench has one drive source, so each
        row's share of each column current is measured with the other rows grounded and the
        shares summed. Exact for linear devices and ideal lines; the devices' bias dependence
        and the lines' drops make it an approximation (``docs/bench.md``). On a TSP-Link bench
        the instrument's script takes every share; otherwise each is a few commands."""
        self._need("grounded", self.bench.read_schemes, "read bias")
        k, rows = row_voltages_v.shape
        cols = self.shape[1]
        out = np.zeros((k, cols))
        used = [np.flatnonzero(row_voltages_v[:, i]) for i in range(rows)]
        self.counts["reads"] += int(np.count_nonzero(row_voltages_v)) * cols
        if not any(u.size for u in used):
            return out  # no input drives any row: nothing flows, nothing to measure
        if self.bench.tsp_link_node is not None:
            levels = [row_voltages_v[used[i], i].tolist() for i in range(rows)]
            for i, shares in enumerate(self._scan(levels, "grounded")):
                out[used[i], :] += shares.T
            return out
        assert self._drive is not None and self._smu is not None
        for i in range(rows):
            if used[i].size == 0:
                continue
            for j in range(cols):
                self._connect({("row", i): "drive", ("col", j): "smu_hi"}, others="ground")
                for n in used[i]:
                    self._set(self._drive, float(row_voltages_v[n, i]))
                    out[n, j] -= self._smu.measure_current_a()
                self._set(self._drive, 0.0)
        return out

    def _scan(self, levels: list[list[float]], bias: str) -> list[np.ndarray]:
        """For each row, its currents into the selected column (A, positive into the column),
        shape (cols, len(levels[row])): one script on the read source-meter, which switches
        the matrix over TSP-Link (see the module docstring)."""
        node = self.bench.tsp_link_node
        assert node is not None
        reader: LinkedMatrixScanner = _role(
            self._smu, LinkedMatrixScanner, str(self.bench.terminals["smu_hi"].instrument)
        )

        def xp(terminal: str, pad: str) -> str:
            return crosspoint(self.bench, terminal, pad)

        rows, cols = self._wiring.rows, self._wiring.cols
        drive: SourceMeter
        if bias == "grounded":
            assert self._drive is not None
            drive, sign = self._drive, -1.0  # the ammeter's HI takes the current in
            select = ([xp("drive", p) for p in rows], [xp("smu_hi", p) for p in cols])
            rest = ([xp("ground", p) for p in rows], [xp("ground", p) for p in cols])
        else:  # floating: HI on the row, LO on the column, every other line open
            assert self._smu is not None  # the reader
            drive, sign = self._smu, 1.0
            select = ([xp("smu_hi", p) for p in rows], [xp("smu_lo", p) for p in cols])
            rest = ([], [])
        self._ready_sources()
        for source in (self._drive, self._smu):
            if source is not None:
                self._set(source, 0.0)
        _role(self._matrix, LinkNodeMatrix, self.bench.matrix).require_break_before_make()
        # the script leaves the last cell connected and the drive at 0 V, unconfirmed
        self._shared.connected = None
        self._shared.levels.pop(id(drive), None)
        currents = reader.scan_linked_matrix(
            drive, levels, node, type(self._matrix), *select, *rest
        )
        self.counts["connections"] += len(cols) * sum(1 for row in levels if row)
        return [sign * c for c in currents]

    # -- writes ----------------------------------------------------------------------------------

    def _write_pulse(
        self, row: int, col: int, amplitude_v: float, width_s: float, polarity: int, scheme: str
    ) -> None:
        self._need(scheme, self._write_schemes, "write scheme")
        assert self._pulse is not None
        polarity_name = "positive" if polarity > 0 else "negative"
        lines = {("row", row): "pulse", ("col", col): "ground"}
        if scheme == "v/2":
            assert self._hold is not None
            self._connect(lines, others="hold")
            self._ready_pulse(self._hold, amplitude_v / 2, width_s, polarity_name)
        else:
            self._connect(lines, others=None)
        self._ready_pulse(self._pulse, amplitude_v, width_s, polarity_name)
        # One bus trigger fires every armed output of the generator, hold included; fire
        # returns once the pulse has ended, so the next relay change finds the line quiet.
        self._pulse.fire()
        self.counts["pulses"] += 1

    def _ready_pulse(
        self, generator: PulseGenerator, amplitude_v: float, width_s: float, polarity: str
    ) -> None:
        setting = (round(amplitude_v, 9), width_s, polarity, self.load)
        if self._shared.pulse_setting.get(id(generator)) != setting:
            self._shared.armed.discard(id(generator))
            self._shared.pulse_setting.pop(id(generator), None)
            generator.configure_pulse(amplitude_v, width_s, polarity, self.load)
            self._shared.pulse_setting[id(generator)] = setting
        if id(generator) not in self._shared.armed:
            generator.arm()
            self._shared.armed.add(id(generator))

    # -- the safe state --------------------------------------------------------------------------

    def _safe_state(self) -> None:
        """Every source off at 0 V, then every relay open; each step tried whatever failed
        before it, and one error naming every failure. Nothing is sent if the bench is still
        in the safe state another array's backend left it in.

        A source that does not answer (a lost connection) may still be on, and the relays are
        opened anyway: the one case where a relay moves under a source that may be live. Taking
        the chip off a source whose state is unknown comes first; the relay's contacts pay for
        it (at most the read bias or a pulse's amplitude, both inside the limits, switched at
        the compliance current), and the error says which source did not answer."""
        self.counts["safe_state"] += 1
        if self._shared.settled:
            return
        steps = [
            ("pulse generator", self._pulse),
            ("hold output", self._hold),
            ("drive source", self._drive),
            ("read source-meter", self._smu),
            ("switch matrix", self._matrix),
        ]
        unique = {id(d): (label, d.safe_state) for label, d in steps if d is not None}
        failures = try_every(unique.values())
        self._shared.forget()
        if failures:
            failed = {label for label, _ in failures}
            reached = [label for label, _ in unique.values() if label not in failed]
            raise SafeStateFailed(f"bench {self.bench.name}", failures, reached)
        self._shared.settled = True

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """The safe state, however the block ends. When the block ended with a failed
        connection (an OSError: a timeout, a lost link) and the safe state failed too, the two
        become one :class:`BenchNotSafe` line; a second array's backend at the same bench then
        leaves that error as it is."""
        try:
            self.safe_state()
        except SafeStateFailed as failed:
            if isinstance(exc, BenchNotSafe):
                return
            if isinstance(exc, OSError):
                raise BenchNotSafe(exc, failed) from failed
            raise

    # -- connections and levels ------------------------------------------------------------------

    def _need(self, scheme: str, available: list[str], what: str) -> None:
        if scheme not in available:
            raise SchemeUnavailable(
                f"{what} {scheme!r} needs terminals bench {self.bench.name!r} does not have "
                f"(it can do: {', '.join(available) or 'none'}; see docs/bench.md)"
            )

    def _connect(self, selected: dict[tuple[str, int], str], others: str | None) -> None:
        """Join the selected lines to their terminals and every other line to ``others`` (or
        leave them open), with every source at 0 V and no pulse on while the relays move."""
        crosspoints = []
        for side, pads in (("row", self._wiring.rows), ("col", self._wiring.cols)):
            for i, pad in enumerate(pads):
                terminal = selected.get((side, i), others)
                if terminal is not None:
                    crosspoints.append(crosspoint(self.bench, terminal, pad))
        wanted = frozenset(crosspoints)
        if wanted == self._shared.connected:
            return
        self._ready_sources()
        for source in (self._drive, self._smu):
            if source is not None:
                self._set(source, 0.0)
        self._shared.connected = None  # until the matrix confirms the new connection
        self._matrix.exclusive_close(sorted(wanted))
        self._shared.connected = wanted
        self.counts["connections"] += 1

    def _ready_sources(self) -> None:
        """Configure the source meters once, at 0 V with the output on: from then on a read is
        a level change, and the output never goes on with a level nobody set. After a safe state
        no connection is known and the sources are not ready, so the next operation comes here
        before it sends anything: this is where the bench stops being settled."""
        self._shared.settled = False
        if self._shared.sources_ready:
            return
        for source in (self._smu, self._drive):
            if source is None:
                continue
            source.configure_voltage_source(
                self._limits.compliance_a, self.nplc, voltage_limit_v=self._limits.max_read_v
            )
            source.set_voltage(0.0)
            source.enable_output()
            self._shared.levels[id(source)] = 0.0
        self._shared.sources_ready = True

    def _set(self, source: SourceMeter, level_v: float) -> None:
        self._ready_sources()
        if self._shared.levels.get(id(source)) != level_v:
            self._shared.levels.pop(id(source), None)  # unknown until the driver confirms it
            source.set_voltage(level_v)
            self._shared.levels[id(source)] = level_v


def _role(driver: object, role: type, name: str):
    if not isinstance(driver, role):
        raise TypeError(f"instrument {name!r} is a {type(driver).__name__}, not a {role.__name__}")
    return driver
