"""ArrayBackend: the one interface every protocol uses, implemented by the simulator and the bench.

Public methods check their arguments here, once, and hand clean values to the ``_``-prefixed
methods that each backend implements.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol

import numpy as np

from mtjlab.core.checks import check_array, check_cell, check_choice, check_read_v, check_scalar
from mtjlab.core.limits import Limits
from mtjlab.core.schemes import READ_BIASES, WRITE_SCHEMES
from mtjlab.core.signals import signals_held


@dataclass(frozen=True)
class CellReading:
    """One cell read: V_read over the current measured at the selected column."""

    resistance_ohm: float
    current_a: float
    v_read_v: float
    bias: str


@dataclass(frozen=True)
class ResistanceMap:
    """A whole array read cell by cell; arrays have the array's shape (rows, cols)."""

    resistance_ohm: np.ndarray
    current_a: np.ndarray
    v_read_v: float
    bias: str


class Stateful(Protocol):
    """Something whose state can be saved and put back (a simulated array, a run's unit of
    arrays); ``snapshot_state`` gives None for a real array, which keeps its own."""

    def snapshot_state(self) -> bytes | None: ...

    def restore_state(self, blob: bytes) -> None: ...


class ArrayBackend(ABC):
    """A passive MTJ array that can be read, written and run as a vector-matrix multiplier.

    Conventions shared by every backend: rows are driven at their column-0 end and columns are
    measured (held at 0 V by an ammeter) at their last-row end; the device voltage is
    V(row) - V(column); a positive write polarity drives P -> AP, a negative one AP -> P.
    Use as a context manager to be sure the array is left in the safe state.

    Every request is checked against :attr:`limits` here, before the backend's own ``_``-method
    runs, so nothing outside the safety envelope reaches the array whatever the caller does.
    A cell is checked by :func:`~mtjlab.core.checks.check_cell`: a row or column that is no
    integer is a TypeError, one off the array an IndexError.
    """

    @property
    @abstractmethod
    def shape(self) -> tuple[int, int]:
        """(rows, cols) of the array."""

    @property
    @abstractmethod
    def limits(self) -> Limits:
        """The safety envelope this backend enforces (read-only; build a new backend to change)."""

    # -- public, validated --------------------------------------------------------------------

    def read_cell(self, row: int, col: int, *, v_read_v: float = 0.1, bias: str = "grounded"):
        """Read one cell: V_read on its row, its column to the ammeter, the rest per ``bias``.

        Returns
        -------
        CellReading
            ``resistance_ohm`` is ``v_read_v`` over the measured column current, so sneak
            currents under the chosen bias are part of it, as on a real array.
        """
        row, col = check_cell(row, col, self.shape)
        v_read_v = check_read_v(v_read_v)
        check_choice("bias", bias, READ_BIASES)
        self.limits.check_read(v_read_v)
        return self._read_cell(row, col, v_read_v, bias)

    def read_map(self, *, v_read_v: float = 0.1, bias: str = "grounded") -> ResistanceMap:
        """Read every cell, row by row, under ``bias`` (see :meth:`read_cell`)."""
        v_read_v = check_read_v(v_read_v)
        check_choice("bias", bias, READ_BIASES)
        self.limits.check_read(v_read_v)
        return self._read_map(v_read_v, bias)

    def write_pulse(
        self,
        row: int,
        col: int,
        *,
        amplitude_v: float,
        width_s: float,
        polarity: int,
        scheme: str = "v/2",
    ) -> None:
        """Apply one write pulse to cell (``row``, ``col``) under a half-select ``scheme``.

        Parameters
        ----------
        amplitude_v : float
            Pulse amplitude (> 0, at most ``limits.max_write_v``) across the selected cell's lines.
        width_s : float
            Pulse width, within ``limits.min_width_s`` to ``limits.max_width_s``.
        polarity : {+1, -1}
            +1 puts the selected row above its column (drives P -> AP), -1 below (AP -> P).
        scheme : {"v/2", "v/3", "floating"}
            How the unselected lines are biased during the pulse. What the scheme puts on the
            devices it does not select must lie inside ``limits.max_unselected_v`` for the
            pulse's width (the disturb envelope), or the pulse is refused.
        """
        row, col = check_cell(row, col, self.shape)
        amplitude_v = check_scalar(amplitude_v, "amplitude_v", low=0, low_open=True, unit="V")
        width_s = check_scalar(width_s, "width_s", low=0, low_open=True, unit="s")
        if polarity not in (1, -1) or isinstance(polarity, bool):
            raise ValueError(f"polarity={polarity!r} is not allowed; allowed: +1, -1")
        check_choice("scheme", scheme, WRITE_SCHEMES)
        self.limits.check_write(scheme, amplitude_v, width_s, int(polarity))
        self._write_pulse(row, col, amplitude_v, width_s, int(polarity), scheme)

    def column_currents_a(self, row_voltages_v) -> np.ndarray:
        """Drive the rows at ``row_voltages_v`` and measure every column's current.

        Parameters
        ----------
        row_voltages_v : array_like, shape (rows,) or (k, rows)
            One input vector, or k of them applied one after the other.

        Returns
        -------
        ndarray, shape (cols,) or (k, cols)
            Current flowing out of each column into its ammeter, in amps.
        """
        v = np.asarray(row_voltages_v, dtype=float)
        rows = self.shape[0]
        if v.ndim not in (1, 2) or v.shape[-1] != rows:
            raise ValueError(
                f"row_voltages_v must have shape ({rows},) or (k, {rows}), got {v.shape}"
            )
        check_array(v, "row_voltages_v", unit="V")
        if v.size:
            self.limits.check_read(float(v.flat[np.argmax(np.abs(v))]), "input voltage")
        batch = v if v.ndim == 2 else v[None, :]
        out = self._column_currents_a(batch)
        return out if v.ndim == 2 else out[0]

    def safe_state(self) -> None:
        """Sources to 0 V and off, every relay open; run to its end whatever Ctrl-C or SIGTERM
        arrives meanwhile (the signal takes effect once the bench is safe)."""
        with signals_held():
            self._safe_state()

    def snapshot_state(self) -> bytes | None:
        """The backend's own state as bytes, for a run that resumes; None when the array is a real
        one, which keeps its state by itself."""
        return None

    def restore_state(self, blob: bytes) -> None:
        """Put back a state from :meth:`snapshot_state` (only backends that return one)."""
        raise NotImplementedError(f"{type(self).__name__} keeps no state to restore")

    def __enter__(self) -> ArrayBackend:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.safe_state()

    # -- implemented by each backend ----------------------------------------------------------

    @abstractmethod
    def _read_cell(self, row: int, col: int, v_read_v: float, bias: str) -> CellReading: ...

    def _read_map(self, v_read_v: float, bias: str) -> ResistanceMap:
        rows, cols = self.shape
        r = np.empty((rows, cols))
        i = np.empty((rows, cols))
        for row in range(rows):
            for col in range(cols):
                reading = self._read_cell(row, col, v_read_v, bias)
                r[row, col] = reading.resistance_ohm
                i[row, col] = reading.current_a
        return ResistanceMap(resistance_ohm=r, current_a=i, v_read_v=v_read_v, bias=bias)

    @abstractmethod
    def _write_pulse(
        self, row: int, col: int, amplitude_v: float, width_s: float, polarity: int, scheme: str
    ) -> None: ...

    @abstractmethod
    def _column_currents_a(self, row_voltages_v: np.ndarray) -> np.ndarray: ...

    @abstractmethod
    def _safe_state(self) -> None: ...
