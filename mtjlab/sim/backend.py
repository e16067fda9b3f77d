"""SimulatedBackend: the ArrayBackend of one simulated array, every operation solved as a circuit.

A pulse's voltage on every device (selected, half-selected, sneak) comes from the crossbar solver
with the devices' bias-dependent resistance, and every device may then switch with its own
probability; reads include sneak currents, line resistance and read noise.
"""

from __future__ import annotations

import io
import json

import numpy as np

from mtjlab.core.backend import ArrayBackend, CellReading, ResistanceMap
from mtjlab.core.checks import check_scalar
from mtjlab.core.limits import Limits
from mtjlab.core.schemes import line_voltages
from mtjlab.sim import _pulse_compiled, device
from mtjlab.sim._solver_common import Ends
from mtjlab.sim.chip import OK, SHORTED, Chip
from mtjlab.sim.limits import chip_limits
from mtjlab.sim.solver import IDEAL_SEGMENT_OHM, CrossbarSolution, solve_ends


class SimulatedBackend(ArrayBackend):
    """One array of a simulated :class:`~mtjlab.sim.chip.Chip`, behind the ArrayBackend interface.

    Parameters
    ----------
    chip : Chip
        The die; the backend changes the selected array's state as pulses switch devices.
    array_index : int
        Which array of the die the probe is on.
    rng : numpy.random.Generator or int, optional
        Source of read noise and switching events. By default it is seeded from the chip's seed
        and ``array_index``, so a run on the same chip is repeatable.
    read_time_s : float
        How long each read holds its bias on the array (the SMU's integration and settling); it
        sets the read-disturb probability of each device at its read voltage.
    nonlinear : bool
        Solve the AP state's bias-dependent resistance self-consistently (Newton). With False,
        every device is its zero-bias resistance: faster, and exact at low bias only.
    limits : Limits, optional
        The safety envelope. By default :func:`mtjlab.sim.limits.chip_limits` derives it from the
        chip's own devices and ``read_time_s``; pass ``chip_limits(...).widened(...)`` to change it.
        Measured currents are clipped at ``limits.compliance_a``, as an SMU in compliance reads.
    """

    def __init__(
        self,
        chip: Chip,
        array_index: int = 0,
        *,
        rng: np.random.Generator | int | None = None,
        read_time_s: float = 1e-3,
        nonlinear: bool = True,
        limits: Limits | None = None,
    ) -> None:
        self.chip = chip
        self.array_index = array_index
        self.array = chip.array(array_index)
        if rng is None:
            rng = np.random.default_rng([chip.seed, array_index, 0x5EED])
        elif not isinstance(rng, np.random.Generator):
            rng = np.random.default_rng(rng)
        self.rng = rng
        self.read_time_s = check_scalar(read_time_s, "read_time_s", low=0, low_open=True, unit="s")
        self.nonlinear = nonlinear
        if limits is not None and not isinstance(limits, Limits):
            raise TypeError(f"limits must be a mtjlab.core.limits.Limits, got {limits!r}")
        self._limits = limits or chip_limits(chip, read_time_s=self.read_time_s)
        #: Counts of operations, for dry-run accounting (reads, pulses, safe-state calls).
        self.counts = {"reads": 0, "pulses": 0, "vectors": 0, "safe_state": 0}
        # apply_lines' circuits solved while the devices stay as they were (see _lines_solved).
        self._solved: dict[bytes, tuple[CrossbarSolution, dict]] = {}
        self._solved_for = b""

    @property
    def shape(self) -> tuple[int, int]:
        return self.array.shape

    @property
    def limits(self) -> Limits:
        return self._limits

    # -- state, for runs that resume ----------------------------------------------------------

    def snapshot_state(self) -> bytes:
        """The array's magnetic state, its defects and the random stream, as bytes."""
        buffer = io.BytesIO()
        rng_state = json.dumps(self.rng.bit_generator.state).encode()
        np.savez(
            buffer,
            state=self.array.state,
            defect=self.array.defect,
            rng=np.frombuffer(rng_state, dtype=np.uint8),
        )
        return buffer.getvalue()

    def restore_state(self, blob: bytes) -> None:
        """Put the array and the random stream back as :meth:`snapshot_state` found them."""
        with np.load(io.BytesIO(blob)) as saved:
            state, defect = saved["state"], saved["defect"]
            if state.shape != self.shape or defect.shape != self.shape:
                raise ValueError(f"saved state has shape {state.shape}, this array is {self.shape}")
            rng_state = json.loads(saved["rng"].tobytes().decode())
        self.array.state[...] = state
        self.array.defect[...] = defect
        self.rng.bit_generator.state = rng_state

    # -- circuit ------------------------------------------------------------------------------

    def _solve(
        self, row_v: np.ndarray, col_v: np.ndarray, start: str = "linear"
    ) -> CrossbarSolution:
        """Solve the array with rows driven at their start and columns at their end.

        ``row_v`` (rows, k) and ``col_v`` (cols, k) hold each line's source voltage, NaN for a
        floating line; the NaN pattern is one circuit for all k columns. ``start`` is where
        Newton starts (see `mtjlab.sim.solver.solve_ends`).
        """
        rows, cols = self.shape
        k = row_v.shape[1]
        # Valid by construction (the scheme's voltages, one NaN pattern, the chip's own lines),
        # so the solver's argument checks are skipped: on a 15x15 array they cost as much as a
        # Newton step. The banded path is the fastest there; the solver falls back to its
        # automatic choice where it does not apply (a floating line whose devices are all open).
        ends = Ends(
            row_start_v=np.ascontiguousarray(row_v, dtype=float),
            row_end_v=np.full((rows, k), np.nan),
            column_start_v=np.full((cols, k), np.nan),
            column_end_v=np.ascontiguousarray(col_v, dtype=float),
        )
        return solve_ends(
            self.array.linear_conductance_s(),
            float(self.array.r_row_ohm),
            float(self.array.r_col_ohm),
            ends,
            device_iv=self.array.current_and_slope if self.nonlinear else None,
            method="banded",
            start=start,
        )

    def _stress(self, v_device: np.ndarray, duration_s: float) -> np.ndarray:
        """Let every device respond to ``v_device`` held for ``duration_s``.

        Breakdown first (a device above its breakdown voltage becomes a permanent short), then
        thermally activated switching of the devices that can switch. Returns the mask of
        devices whose state or defect changed.
        """
        return self._respond(*self._response(v_device, duration_s))

    def _response(self, v_device: np.ndarray, duration_s: float) -> tuple[np.ndarray, np.ndarray]:
        """What ``v_device`` held for ``duration_s`` would do: the devices it breaks down, and
        each device's probability of switching (with its present state)."""
        a = self.array
        broken = (np.abs(v_device) > a.params.v_breakdown_v) & (a.defect != SHORTED)
        return broken, device.switching_probability(a.state, v_device, duration_s, a.params)

    def _respond(self, broken: np.ndarray, p: np.ndarray) -> np.ndarray:
        """`_stress` with its `_response` known: breakdown, then a draw per device."""
        a = self.array
        a.defect[broken] = SHORTED
        flips = (self.rng.random(a.shape) < p) & (a.defect == OK)
        a.state[flips] ^= 1
        return broken | flips

    def _stress_in_turn(
        self, v_circuits: np.ndarray, order: np.ndarray, duration_s: float
    ) -> int | None:
        """`_stress` for operations one after the other until one changes the array: operation
        n applies circuit ``order[n]`` of the device voltages ``v_circuits`` (circuits, rows,
        cols). Returns the index of the operation that changed the array, or None.

        The same as calling `_stress` on each in turn, with the same random numbers, in a few
        array operations: the switching probabilities are computed once per distinct circuit
        (a grounded map applies 15 circuits 15 times each), every operation's draws are taken
        in one call (the generator yields the same stream in one call as in many), and where
        an operation changes the array the generator is put back and replayed up to it, and
        `_stress` applies it. The operations after it draw nothing, as one at a time, where
        they are solved again first.
        """
        a = self.array
        shape = a.shape
        p = device.switching_probability(a.state, v_circuits, duration_s, a.params)
        broken = (np.abs(v_circuits) > a.params.v_breakdown_v) & (a.defect != SHORTED)
        can_flip = a.defect == OK
        done = 0
        while done < len(order):
            rest = order[done:]
            before = self.rng.bit_generator.state
            draws = self.rng.random((len(rest), *shape))
            changes = (broken[rest] | ((draws < p[rest]) & can_flip)).reshape(len(rest), -1)
            hit = changes.any(axis=1)
            if not hit.any():
                return None
            n = done + int(np.argmax(hit))
            self.rng.bit_generator.state = before
            self.rng.random((n - done, *shape))  # the draws of the operations before n
            if self._stress(v_circuits[order[n]], duration_s).any():
                return n
            done = n + 1  # not reproduced alone (a last-bit difference): go on after it
        return None

    def _measure(self, row_v: np.ndarray, col_v: np.ndarray, duration_s: float) -> np.ndarray:
        """Apply k circuits one after the other; measure every column's current in each.

        The k circuits share one topology and are solved as a batch, each distinct circuit once;
        each then stresses the devices in order, and if one of them switched a device the rest
        are solved again, so every measurement sees the state the previous ones left.
        Returns shape (k, cols).
        """
        k = row_v.shape[1]
        cols = self.shape[1]
        current = np.empty((k, cols))
        start = 0
        while start < k:
            # Reads of one row under grounded bias, say, are the same circuit: solve each once.
            lines = np.nan_to_num(np.vstack([row_v[:, start:], col_v[:, start:]]), nan=np.inf)
            _, first, which = np.unique(lines, axis=1, return_index=True, return_inverse=True)
            sol = self._solve(row_v[:, start + first], col_v[:, start + first])
            v_dev = np.reshape(sol.device_voltages_v, (-1, *self.shape))
            i_col = np.reshape(sol.column_end_current_a, (-1, cols))
            order = which.ravel()
            changed = self._stress_in_turn(v_dev, order, duration_s)
            done = len(order) if changed is None else changed + 1
            current[start : start + done] = i_col[order[:done]]
            start += done
        limit = self._limits.compliance_a
        return np.clip(self.read_noise_a(current), -limit, limit)

    def apply_lines(
        self, row_v: np.ndarray, col_v: np.ndarray, duration_s: float
    ) -> CrossbarSolution:
        """Hold line voltages on the array for ``duration_s`` and return the circuit solved.

        For the emulated instruments, which apply what the matrix connects: ``row_v`` (rows,)
        at each row's start and ``col_v`` (cols,) at each column's end, NaN for a floating line.
        The devices respond as to any stress (switching, breakdown); no limit is checked, as a
        chip on a bench checks none.
        """
        sol, responses = self._lines_solved(
            np.asarray(row_v, dtype=float), np.asarray(col_v, dtype=float)
        )
        response = responses.get(duration_s)
        if response is None:
            v_device = np.reshape(sol.device_voltages_v, self.shape)
            response = responses[duration_s] = self._response(v_device, duration_s)
        self._respond(*response)
        return sol

    def _lines_solved(self, row_v: np.ndarray, col_v: np.ndarray) -> tuple[CrossbarSolution, dict]:
        """The circuit of these line voltages, solved once while the devices stay as they were,
        and the devices' response to it by duration (`_response`, filled in by the caller).

        A circuit depends only on the line voltages and on each device's state and defect (its
        parameters and the lines are fixed), so while those are unchanged a circuit met before
        is that solution again, exactly: an emulated instrument applies the same few circuits
        thousands of times (a map's reads, a script's repeated readings), and most solves of a
        dry run are repeats. So are the switching probabilities of a circuit held for a given
        time; the draws against them and the reading's noise are not cached: they take their
        random numbers every time. Any change of a state or defect,
        by a stress, a restored snapshot or a test, empties the cache (it is compared on every
        call, 2 x rows x cols bytes).
        """
        devices = self.array.state.tobytes() + self.array.defect.tobytes()
        if devices != self._solved_for:
            self._solved.clear()
            self._solved_for = devices
        key = row_v.tobytes() + col_v.tobytes()
        known = self._solved.get(key)
        if known is None:
            known = (self._solve(row_v[:, None], col_v[:, None]), {})
            if len(self._solved) >= _SOLVED_CIRCUITS:
                self._solved.pop(next(iter(self._solved)))  # the oldest
            self._solved[key] = known
        return known

    def read_noise_a(self, current_a: np.ndarray) -> np.ndarray:
        """``current_a`` as a reading of it: with the chip's relative and absolute read noise."""
        current = np.asarray(current_a, dtype=float)
        noise = self.rng.normal(size=(2, *current.shape))
        return (
            current * (1.0 + self.array.read_noise_rel * noise[0])
            + self.array.read_noise_floor_a * noise[1]
        )

    # -- ArrayBackend -------------------------------------------------------------------------

    def _read_cell(self, row: int, col: int, v_read_v: float, bias: str) -> CellReading:
        row_v, col_v = line_voltages(bias, self.shape, row, col, v_read_v)
        i = self._measure(row_v[:, None], col_v[:, None], self.read_time_s)[0, col]
        self.counts["reads"] += 1
        return CellReading(
            resistance_ohm=_ratio(v_read_v, i), current_a=float(i), v_read_v=v_read_v, bias=bias
        )

    def _read_map(self, v_read_v: float, bias: str) -> ResistanceMap:
        rows, cols = self.shape
        circuits = [
            line_voltages(bias, self.shape, r, c, v_read_v)
            for r in range(rows)
            for c in range(cols)
        ]
        row_v = np.stack([c[0] for c in circuits], axis=1)
        col_v = np.stack([c[1] for c in circuits], axis=1)
        if bias == "floating":
            # Each cell's read floats different lines: one circuit topology per cell.
            measured = np.concatenate(
                [
                    self._measure(row_v[:, [n]], col_v[:, [n]], self.read_time_s)
                    for n in range(rows * cols)
                ]
            )
        else:
            measured = self._measure(row_v, col_v, self.read_time_s)
        # Read n selected cell (n // cols, n % cols): keep its own column's current.
        current = measured[np.arange(rows * cols), np.tile(np.arange(cols), rows)]
        self.counts["reads"] += rows * cols
        current = current.reshape(rows, cols)
        return ResistanceMap(
            resistance_ohm=_ratio(v_read_v, current),
            current_a=current,
            v_read_v=v_read_v,
            bias=bias,
        )

    def _write_pulse(
        self, row: int, col: int, amplitude_v: float, width_s: float, polarity: int, scheme: str
    ) -> None:
        row_v, col_v = line_voltages(scheme, self.shape, row, col, polarity * amplitude_v)
        v_device = self._compiled_pulse(row_v, col_v)
        if v_device is None:
            # One circuit: Newton from the lines' source voltages saves the linear solve, which
            # costs a Newton step here (a batch of reads shares it, and starts from it).
            sol = self._solve(row_v[:, None], col_v[:, None], start="sources")
            v_device = np.reshape(sol.device_voltages_v, self.shape)
        # Below the public checks: whatever the scheme did, no device sees more than the limit.
        self._limits.check_device_voltages(v_device)
        self._stress(v_device, width_s)
        self.counts["pulses"] += 1

    def _compiled_pulse(self, row_v: np.ndarray, col_v: np.ndarray) -> np.ndarray | None:
        """A pulse's device voltages from the compiled kernel (`mtjlab.sim._pulse_compiled`), or
        None where it does not take the pulse: numba absent or turned off, the nonlinear law
        off, a floating line (Newton starts from the linear solution then), lines without
        resistance, or a kernel that did not converge (the solver's path starts again)."""
        a = self.array
        if not (_pulse_compiled.enabled() and self.nonlinear):
            return None
        if np.isnan(row_v).any() or np.isnan(col_v).any() or min(self.shape) < 2:
            return None
        r_row, r_col = float(a.r_row_ohm), float(a.r_col_ohm)
        if min(r_row, r_col) < IDEAL_SEGMENT_OHM:
            return None
        open_ends = np.full_like(row_v, np.nan), np.full_like(col_v, np.nan)
        outcome, v_device, _ = _pulse_compiled.pulse_voltages(
            *_pulse_compiled.array_arguments(
                a,
                np.stack([row_v, open_ends[0]]),  # rows driven at their start
                np.stack([open_ends[1], col_v]),  # columns at their end
                _PULSE_TOL_V,
                _PULSE_MAX_ITER,
            )
        )
        return v_device if outcome == _pulse_compiled.CONVERGED else None

    def _column_currents_a(self, row_voltages_v: np.ndarray) -> np.ndarray:
        k = row_voltages_v.shape[0]
        # Every column held at 0 V by its own ammeter, all measured at once.
        out = self._measure(row_voltages_v.T, np.zeros((self.shape[1], k)), self.read_time_s)
        self.counts["vectors"] += k
        return out

    def _safe_state(self) -> None:
        # Nothing is driven between operations of the simulator; the count lets tests see that
        # protocols reach the safe state on every exit path.
        self.counts["safe_state"] += 1


# Newton's stopping rule for a pulse, the solver's defaults (`solve_ends`), in the compiled
# kernel as on the numpy path.
_PULSE_TOL_V = 1e-9
_PULSE_MAX_ITER = 50

#: How many circuits `SimulatedBackend._lines_solved` keeps (each about 10 kB on a 15x15 array).
_SOLVED_CIRCUITS = 1024


def _ratio(v: float, i):
    with np.errstate(divide="ignore"):
        return v / i if np.ndim(i) else (float(v / i) if i != 0 else float("inf"))
