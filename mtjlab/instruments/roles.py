"""Role interfaces a bench needs from its instruments, and the errors drivers raise.

A role is the few operations a bench uses, in SI units with the unit in every name; a model module
implements one role on top of a pymeasure ``Instrument``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence

import numpy as np

__all__ = [
    "ChannelSpecError",
    "InstrumentError",
    "LinkNodeMatrix",
    "LinkedMatrixScanner",
    "PulseGenerator",
    "SourceMeter",
    "SwitchMatrix",
    "LOAD_50_OHM",
    "LOAD_HIGH_Z",
]

LOAD_50_OHM = "50ohm"
LOAD_HIGH_Z = "highz"


class InstrumentError(RuntimeError):
    """An instrument reported an error, or answered in a way that cannot be trusted.

    Parameters
    ----------
    instrument : str
        The instrument's name.
    commands : sequence of str
        The command(s) sent since the instrument was last known to be free of errors.
    errors : sequence of (int, str)
        The (code, message) pairs read from the instrument's error queue, or a single
        (0, explanation) pair for a failure seen by the driver (garbled or missing reply).
    """

    def __init__(self, instrument: str, commands: Sequence[str], errors: Sequence[tuple[int, str]]):
        self.instrument = instrument
        self.commands = tuple(commands)
        self.errors = tuple(errors)
        listed = "; ".join(f"{code}, {message}" for code, message in self.errors)
        sent = " | ".join(repr(c) for c in self.commands) or "(no command)"
        super().__init__(f"{instrument}: {listed} (after {sent})")


class ChannelSpecError(ValueError):
    """A string meant to be spliced into a command does not follow the model's grammar."""


class SourceMeter(ABC):
    """A source-measure unit sourcing voltage and measuring current.

    Every method validates its arguments before a byte is sent and reads the instrument's
    error queue after the commands that can fail, raising :class:`InstrumentError`.

    The output goes on only after this session set it up and saw the setup hold:
    :meth:`enable_output` refuses, sending nothing, unless :meth:`configure_voltage_source`
    and then :meth:`set_voltage` both completed with an empty error queue and read back what
    they set. Any failure in either, and :meth:`safe_state`, withdraw that confirmation.
    """

    #: Largest number of points :meth:`sweep_voltage_list` takes in one trigger sequence.
    max_list_points: int = 100

    @abstractmethod
    def configure_voltage_source(
        self, compliance_current_a: float, nplc: float, voltage_limit_v: float | None = None
    ) -> None:
        """Turn the output off, then source voltage (auto range) and measure current (auto
        range) with the given current compliance and integration time in power-line cycles.

        Settings a previous user may have left are set explicitly: 2-wire (local) sense, the
        output-off state, and the instrument's overvoltage protection where it has one, at
        the lowest setting that covers ``voltage_limit_v`` (the model's maximum if None).
        From then on :meth:`set_voltage` and :meth:`sweep_voltage_list` refuse voltages
        beyond ``voltage_limit_v``. The compliance and the source function are read back.
        """

    @abstractmethod
    def set_voltage(self, voltage_v: float) -> None:
        """Set the source level and read it back (the output state is unchanged)."""

    @abstractmethod
    def measure(self) -> tuple[float, float]:
        """Take one reading and return ``(voltage_v, current_a)``. A model that takes no
        reading with the output off refuses then, instead of waiting for a reply."""

    def measure_current_a(self) -> float:
        """Take one reading and return the current in amperes."""
        return self.measure()[1]

    @abstractmethod
    def sweep_voltage_list(self, voltages_v: Sequence[float]) -> np.ndarray:
        """Source each voltage in turn and measure the current at each, in one trigger sequence
        on the instrument, and return the currents (A) as an array of the same length.

        The output must already be on. On return the source level is 0 V, so a later
        :meth:`enable_output` needs a new :meth:`set_voltage` first.
        """

    @abstractmethod
    def enable_output(self) -> None:
        """Turn the output on, if this session's configuration and level are confirmed (see
        the class docstring); otherwise raise :class:`InstrumentError` without sending."""

    @abstractmethod
    def disable_output(self) -> None:
        """Turn the output off."""

    @abstractmethod
    def safe_state(self) -> None:
        """Abort any sweep, turn the output off and source 0 V.

        Entries an earlier failure left in the error queue are drained first; every step is
        tried even if an earlier one fails, and one :class:`InstrumentError` lists every
        failure. The confirmation :meth:`enable_output` needs is withdrawn.
        """


class SwitchMatrix(ABC):
    """A crosspoint switch matrix; channels are strings in the model's own grammar."""

    #: Human-readable form of one channel name, for error messages and documentation.
    channel_form: str = ""
    #: Human-readable forms of a matrix row and a matrix column, as :meth:`crosspoint` takes them.
    row_form: str = ""
    column_form: str = ""
    #: A column every matrix of the model has, to check a row name on its own.
    first_column: str = ""

    @classmethod
    @abstractmethod
    def crosspoint(cls, row: str, column: str) -> str:
        """The channel name of the crosspoint joining matrix ``row`` (where an instrument
        enters) and matrix ``column`` (where a device pad leaves); raise
        :class:`ChannelSpecError` if either is not of the model's form."""

    @abstractmethod
    def close(self, channels: str | Iterable[str]) -> None:
        """Close the crosspoints, leaving the others as they are."""

    @abstractmethod
    def open(self, channels: str | Iterable[str]) -> None:
        """Open the crosspoints, leaving the others as they are."""

    @abstractmethod
    def exclusive_close(self, channels: str | Iterable[str]) -> None:
        """Close exactly these crosspoints and open every other one."""

    @abstractmethod
    def open_all(self) -> None:
        """Open every crosspoint."""

    @abstractmethod
    def closed(self) -> list[str]:
        """Read back the closed crosspoints, as the instrument reports them."""

    def safe_state(self) -> None:
        """Open every crosspoint."""
        self.open_all()


class LinkNodeMatrix(ABC):
    """A switch matrix that a source-meter's script can switch as a TSP-Link node: a mixin next
    to :class:`SwitchMatrix` for a matrix whose connect rule the script relies on."""

    @abstractmethod
    def require_break_before_make(self) -> None:
        """Set the connect rule to break-before-make and confirm it, once per connection; raise
        :class:`InstrumentError`, with nothing closed, if the matrix refuses it."""


class LinkedMatrixScanner(ABC):
    """A source-meter that reads a whole array in a script of its own, switching a matrix on its
    TSP-Link itself: a few dozen commands from the computer for a map instead of a few per cell.

    A mixin next to :class:`SourceMeter`: a driver that has the capability inherits both, and a
    bench asks for this role only when its bench file puts the matrix on the link.
    """

    @abstractmethod
    def scan_linked_matrix(
        self,
        drive: SourceMeter,
        levels_v: Sequence[Sequence[float]],
        node: int,
        matrix: type[SwitchMatrix],
        row_select: Sequence[str],
        col_select: Sequence[str],
        row_rest: Sequence[str] = (),
        col_rest: Sequence[str] = (),
    ) -> list[np.ndarray]:
        """Read an array's (row, column) connections in one script on the instrument.

        For each row ``i`` with levels and each column ``j``, the matrix at TSP-Link node
        ``node`` closes exactly ``row_select[i]``, ``col_select[j]`` and the rest entries of
        every other line (break-before-make, which the matrix's own driver must have confirmed),
        ``drive`` sources each level of ``levels_v[i]`` in turn and this source-meter measures
        once at each; ``drive`` is at 0 V between connections and at the end.

        Parameters
        ----------
        drive : SourceMeter
            The source that drives the rows: this source-meter or another channel of the same
            instrument; its output must be on, from a confirmed configuration and level.
        levels_v : sequence of sequence of float
            For each selectable row, the drive levels (V) to read it at; an empty sequence
            skips the row. Each level is checked against ``drive``'s voltage limit.
        node : int
            The matrix's TSP-Link node number, 1 to 64.
        matrix : type of SwitchMatrix
            The matrix's driver class, whose channel grammar every crosspoint is checked
            against before anything is sent.
        row_select, col_select : sequence of str
            The crosspoint that joins each row (column) to its read terminal.
        row_rest, col_rest : sequence of str, optional
            The crosspoint each row (column) is joined to while another one is read, one per
            selectable line, or none to leave the others open.

        Returns
        -------
        list of numpy.ndarray
            For each row, this source-meter's currents (A, out of HI), shape
            ``(len(col_select), len(levels_v[i]))``.

        Raises
        ------
        InstrumentError
            The model has no TSP-Link or an output is off (nothing sent), or the instrument
            reported an error (the drive is sent back to 0 V; its level is no longer confirmed).
        ValueError
            An argument that does not fit the instrument or the matrix (nothing sent).
        """

    @abstractmethod
    def reaches_node(self, node: int) -> bool:
        """Whether TSP-Link node ``node`` is on this instrument's link; nothing is set.

        Parameters
        ----------
        node : int
            A TSP-Link node number, 1 to 64.

        Returns
        -------
        bool
            True if the node answers; False on a model without TSP-Link, with nothing sent.
        """


class PulseGenerator(ABC):
    """A pulse generator firing single, bus-triggered rectangular pulses.

    ``amplitude_v`` is the pulse height at the device. ``load`` says what the device presents
    to the generator's 50 Ohm source: :data:`LOAD_50_OHM` (the device line is terminated in
    50 Ohm) or :data:`LOAD_HIGH_Z` (the device is much larger than 50 Ohm, so it sees the
    open-circuit voltage). The driver programs the instrument's output-load setting to match,
    reads it back and refuses to go on if the instrument holds another value; the instrument
    then scales its levels for that load, so the level programmed equals ``amplitude_v``. The
    same programmed level gives twice the voltage into an open circuit as into 50 Ohm, which
    is why a mismatch is an error and not a warning.
    """

    @abstractmethod
    def configure_pulse(
        self, amplitude_v: float, width_s: float, polarity: str = "positive", load: str = "50ohm"
    ) -> None:
        """Set up one rectangular pulse from 0 V to ``+amplitude_v`` (``polarity="positive"``)
        or ``-amplitude_v`` (``"negative"``) lasting ``width_s``; the output is turned off."""

    @abstractmethod
    def arm(self) -> None:
        """Make the next bus trigger fire exactly one pulse, and turn the output on at the
        base level (0 V)."""

    @abstractmethod
    def fire(self) -> None:
        """Send the bus trigger and return only once the pulse has ended (so that nothing, a
        relay least of all, changes while it is on the line)."""

    @abstractmethod
    def output_off(self) -> None:
        """Turn the output off."""

    def safe_state(self) -> None:
        """Turn the output off."""
        self.output_off()
