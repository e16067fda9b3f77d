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
    """

    #: Largest number of points :meth:`sweep_voltage_list` takes in one trigger sequence.
    max_list_points: int = 100

    @abstractmethod
    def configure_voltage_source(self, compliance_current_a: float, nplc: float) -> None:
        """Source voltage (auto range), measure current (auto range) with the given current
        compliance and integration time in power-line cycles."""

    @abstractmethod
    def set_voltage(self, voltage_v: float) -> None:
        """Set the source level (the output state is unchanged)."""

    @abstractmethod
    def measure(self) -> tuple[float, float]:
        """Take one reading and return ``(voltage_v, current_a)``."""

    def measure_current_a(self) -> float:
        """Take one reading and return the current in amperes."""
        return self.measure()[1]

    @abstractmethod
    def sweep_voltage_list(self, voltages_v: Sequence[float]) -> np.ndarray:
        """Source each voltage in turn and measure the current at each, in one trigger sequence
        on the instrument, and return the currents (A) as an array of the same length.

        The output must already be on. On return the source level is 0 V.
        """

    @abstractmethod
    def enable_output(self) -> None:
        """Turn the output on."""

    @abstractmethod
    def disable_output(self) -> None:
        """Turn the output off."""

    @abstractmethod
    def safe_state(self) -> None:
        """Abort any sweep, source 0 V and turn the output off."""


class SwitchMatrix(ABC):
    """A crosspoint switch matrix; channels are strings in the model's own grammar."""

    #: Human-readable form of one channel name, for error messages and documentation.
    channel_form: str = ""

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
        """Send the bus trigger."""

    @abstractmethod
    def output_off(self) -> None:
        """Turn the output off."""

    def safe_state(self) -> None:
        """Turn the output off."""
        self.output_off()
