"""The single-pulse sequence shared by the pulse-generator drivers: validate everything, set the
output load and read it back, then timing and levels, then read the error queue."""

from __future__ import annotations

import math
from typing import Any

from pymeasure.instruments import Instrument

from ._errors import ScpiErrorQueue
from ._values import check_choice, check_number
from .roles import LOAD_50_OHM, LOAD_HIGH_Z, ChannelSpecError, PulseGenerator

POLARITIES = ("positive", "negative")
LOADS = (LOAD_50_OHM, LOAD_HIGH_Z)


def check_output_channel(channel: object, channels: tuple[int, ...]) -> int:
    """Return ``channel`` if it is one of the model's output numbers, else raise."""
    if isinstance(channel, bool) or channel not in channels:
        allowed = " or ".join(str(c) for c in channels)
        raise ChannelSpecError(f"output channel {channel!r} is not of the form {allowed}")
    return int(channel)


class BusTriggeredPulser(ScpiErrorQueue, PulseGenerator):
    """Role implementation over a pymeasure channel ``self.output_channel`` that has the
    properties ``output``, ``shape``, ``output_load_ohm``, ``pulse_hold``, ``pulse_period``,
    ``pulse_width``, ``offset``, ``amplitude`` and ``polarity``."""

    output_channel: Any

    #: (lowest, highest) pulse height at the device in V, per load.
    amplitude_limits_v: dict[str, tuple[float, float]]
    #: (shortest, longest) pulse width in s.
    width_limits_s: tuple[float, float]
    #: Shortest period the driver programs; the period is max(2 x width, this).
    min_period_s: float
    #: Longest period the model accepts; set first so that any new width fits.
    max_period_s: float
    #: The output-load setting (Ohm) written for each role load.
    load_setting_ohm = {LOAD_50_OHM: 50.0, LOAD_HIGH_Z: math.inf}

    def configure_pulse(
        self,
        amplitude_v: float,
        width_s: float,
        polarity: str = "positive",
        load: str = LOAD_50_OHM,
    ) -> None:
        load = check_choice(load, LOADS, "load")
        polarity = check_choice(polarity, POLARITIES, "polarity")
        low, high = self.amplitude_limits_v[load]
        amplitude = check_number(amplitude_v, low, high, f"amplitude_v (load {load})", "V")
        width = check_number(width_s, *self.width_limits_s, "width_s", "s")
        period = max(2.0 * width, self.min_period_s)
        ch = self.output_channel
        ch.output = False
        ch.shape = "PULS"
        wanted = self.load_setting_ohm[load]
        ch.output_load_ohm = wanted
        held = ch.output_load_ohm
        if not isinstance(held, float) or not math.isclose(held, wanted, rel_tol=1e-6):
            shown = f"{held:g} Ohm" if isinstance(held, float) else repr(held)
            raise self._failure(
                f"output load reads back as {shown} after setting {wanted:g} Ohm; "
                "the pulse amplitude at the device would be wrong, nothing else was set"
            )
        ch.pulse_hold = "WIDT"
        self._before_timing()
        # a long period first, so that the new width fits whatever the old period was
        ch.pulse_period = self.max_period_s
        ch.pulse_width = width
        ch.pulse_period = period
        # offset 0 first, so that the new amplitude fits whatever the old offset was
        ch.offset = 0.0
        ch.amplitude = amplitude
        if polarity == "positive":
            ch.offset = amplitude / 2  # from 0 V up to +amplitude
            ch.polarity = "normal"
        else:
            # from -amplitude to 0 V, inverted about the offset: rests at 0 V, pulses to -amplitude
            ch.offset = -amplitude / 2
            ch.polarity = "inverted"
        self.check_errors()

    def shutdown(self) -> None:
        """Go to the safe state (also on leaving a ``with`` block)."""
        self.safe_state()
        Instrument.shutdown(self)

    def _before_timing(self) -> None:
        """Hook for settings that must precede the pulse timing (edge times)."""

    def output_off(self) -> None:
        self.output_channel.output = False
        self.check_errors()

    def fire(self) -> None:
        self.write("*TRG")
        self.check_errors()
