"""The single-pulse sequence shared by the pulse-generator drivers: validate everything, set the
output load and read it back, then timing and levels, then read the error queue; arm the single
shot, read it back, and only then turn the output on."""

from __future__ import annotations

import logging
import math
import time
from typing import Any

from pymeasure.instruments import Instrument
from pymeasure.instruments.validators import strict_discrete_set

from mtjlab.core.checks import check_choice, check_scalar

from ._errors import ScpiErrorQueue
from ._grammar import ascii_pattern, check_name, grammar_validator
from .roles import LOAD_50_OHM, LOAD_HIGH_Z, ChannelSpecError, PulseGenerator

log = logging.getLogger(__name__)

#: Waveform names on the 33500 and 81160 families: a letter, then letters, digits or "_".
WAVEFORM_NAME = ascii_pattern(r"[A-Za-z][A-Za-z0-9_]{0,11}")
WAVEFORM_FORM = "a letter then up to 11 letters, digits or _"
#: Front-panel text: quoted by the command, so no quote, and nothing that ends a command.
DISPLAY_TEXT = ascii_pattern(r"[A-Za-z0-9 _.,:+\-]{0,40}")
DISPLAY_FORM = "up to 40 letters, digits, spaces or _.,:+-"

POLARITIES = ("positive", "negative")
LOADS = (LOAD_50_OHM, LOAD_HIGH_Z)


def check_output_channel(channel: object, channels: tuple[int, ...]) -> int:
    """Return ``channel`` if it is one of the model's output numbers, else raise."""
    if isinstance(channel, bool) or channel not in channels:
        allowed = " or ".join(str(c) for c in channels)
        raise ChannelSpecError(f"output channel {channel!r} is not of the form {allowed}")
    return int(channel)


def check_arb(arb_name: object, data_points, data_format: object) -> list:
    """Check what pymeasure's ``data_arb`` splices into its command: the name against the
    waveform grammar, each point as a DAC integer (-32767 to 32767) or a float (-1 to 1)."""
    check_name(arb_name, WAVEFORM_NAME, WAVEFORM_FORM, "waveform name")
    data_format = check_choice("data_format", data_format, ("DAC", "float"))
    points = list(data_points)
    for i, point in enumerate(points):
        if data_format == "DAC":
            name, unit = f"data_points[{i}]", "DAC counts"
            check_scalar(point, name, kind=int, low=-32767, high=32767, unit=unit)
        else:
            check_scalar(point, f"data_points[{i}]", low=-1.0, high=1.0, unit="of full scale")
    return points


class GuardedWaveformNames:
    """Checks the waveform names pymeasure's 33500-family channel splices into commands
    unchecked (``arb_file``, ``data_arb``)."""

    arb_file_validator = staticmethod(
        grammar_validator(WAVEFORM_NAME, WAVEFORM_FORM, "waveform name")
    )

    def data_arb(self, arb_name, data_points, data_format="DAC"):
        points = check_arb(arb_name, data_points, data_format)
        super().data_arb(arb_name, points, data_format)  # type: ignore[misc]


class BusTriggeredPulser(ScpiErrorQueue, PulseGenerator):
    """Role implementation over a pymeasure channel ``self.output_channel`` that has the
    properties ``output``, ``shape``, ``output_load_ohm``, ``amplitude_unit``, ``pulse_hold``,
    ``pulse_period``, ``pulse_width``, ``offset``, ``amplitude`` and ``polarity``, and the
    properties named in :attr:`single_shot_settings`."""

    output_channel: Any

    # pymeasure's instrument-level defaults (first output) splice these unchecked
    arb_file_validator = staticmethod(
        grammar_validator(WAVEFORM_NAME, WAVEFORM_FORM, "waveform name")
    )
    output_load_validator = staticmethod(strict_discrete_set)
    output_load_values = (50, "INF")

    display = Instrument.setting(
        "DISP:TEXT '%s'",
        """Set the text shown on the front panel (up to 40 letters, digits, spaces or _.,:+-).""",
        validator=grammar_validator(DISPLAY_TEXT, DISPLAY_FORM, "display text"),
    )

    def data_arb(self, arb_name, data_points, data_format="DAC"):
        points = check_arb(arb_name, data_points, data_format)
        super().data_arb(arb_name, points, data_format)  # type: ignore[misc]

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
    #: Read the width and the amplitude back right after setting them, and stop (output off)
    #: if the instrument holds another value: for a model whose limits mtjlab could not confirm
    #: from its manual, so that a value the instrument clamped is never taken as set.
    read_back_timing_and_level = False
    #: (output-channel property, value) pairs that make one bus trigger fire exactly one pulse,
    #: written in this order by :meth:`arm` and each read back before the output goes on.
    single_shot_settings: tuple[tuple[str, object], ...]
    #: Whether the model's manual says that ``*OPC?`` after ``*TRG`` answers only once the
    #: triggered burst is complete. Where it does not, :meth:`fire` also waits until the
    #: programmed width has passed since the trigger was sent.
    opc_waits_for_burst = False
    #: The longest width the instrument may hold (s), or None before the first configure_pulse.
    _pulse_width_s: float | None = None

    def configure_pulse(
        self,
        amplitude_v: float,
        width_s: float,
        polarity: str = "positive",
        load: str = LOAD_50_OHM,
    ) -> None:
        load = check_choice("load", load, LOADS)
        polarity = check_choice("polarity", polarity, POLARITIES)
        low, high = self.amplitude_limits_v[load]
        amplitude = check_scalar(
            amplitude_v, f"amplitude_v (load {load})", low=low, high=high, unit="V"
        )
        low, high = self.width_limits_s
        width = check_scalar(width_s, "width_s", low=low, high=high, unit="s")
        period = max(2.0 * width, self.min_period_s)
        # until the setup completes the instrument may hold the old width or the new one
        self._pulse_width_s = max(width, self._pulse_width_s or 0.0)
        ch = self.output_channel
        ch.output = False
        self._before_settings()
        ch.shape = "PULS"
        wanted = self.load_setting_ohm[load]
        ch.output_load_ohm = wanted
        self._confirm(
            "output load", ch.output_load_ohm, wanted, "Ohm", 1e-6,
            "the pulse amplitude at the device would be wrong, nothing else was set",
        )  # fmt: skip
        # levels are peak to peak only in Vpp; a unit left at VRMS or DBM gives another height
        ch.amplitude_unit = "VPP"
        self._confirm_setting("amplitude_unit", "VPP", "no level was set")
        ch.pulse_hold = "WIDT"
        self._before_timing()
        # a long period first, so that the new width fits whatever the old period was
        ch.pulse_period = self.max_period_s
        ch.pulse_width = width
        if self.read_back_timing_and_level:
            self._confirm("pulse width", ch.pulse_width, width, "s", self.read_back_rel_tol)
        ch.pulse_period = period
        # offset 0 first, so that the new amplitude fits whatever the old offset was
        ch.offset = 0.0
        ch.amplitude = amplitude
        if self.read_back_timing_and_level:
            self._confirm("amplitude", ch.amplitude, amplitude, "Vpp", self.read_back_rel_tol)
        if polarity == "positive":
            ch.offset = amplitude / 2  # from 0 V up to +amplitude
            ch.polarity = "normal"
        else:
            # from -amplitude to 0 V, inverted about the offset: rests at 0 V, pulses to -amplitude
            ch.offset = -amplitude / 2
            ch.polarity = "inverted"
        self.check_errors()
        self._pulse_width_s = width

    def _confirm(
        self,
        what: str,
        held: object,
        wanted: float,
        unit: str,
        rel_tol: float,
        consequence: str = "the output stays off and the pulse is not armed",
    ) -> None:
        """Raise unless the value read back (``held``) is ``wanted`` within ``rel_tol``."""
        if isinstance(held, float) and math.isclose(held, wanted, rel_tol=rel_tol):
            return
        shown = f"{held:g} {unit}" if isinstance(held, float) else repr(held)
        raise self._failure(
            f"{what} reads back as {shown} after setting {wanted:g} {unit}; {consequence}"
        )

    def safe_state(self) -> None:
        """Turn the output off. Entries an earlier failure left in the error queue are drained
        first; every failure of the safe state itself is raised as one InstrumentError."""
        self.run_every_step([("output off", self._write_output_off)])

    def shutdown(self) -> None:
        """Go to the safe state (also on leaving a ``with`` block)."""
        self.safe_state()
        Instrument.shutdown(self)

    def _before_settings(self) -> None:
        """Hook for settings that must precede every other one (channel coupling), run with
        the output off."""

    def _before_timing(self) -> None:
        """Hook for settings that must precede the pulse timing (edge times)."""

    def arm(self) -> None:
        """Write the single-shot settings, read the error queue, read every setting back, and
        only then turn the output on. A refused setting, or one the instrument holds at another
        value, raises with the output off: it would otherwise run free, a pulse train into the
        device. If the error queue holds anything after the output went on, the output is
        turned off again before the error is raised."""
        ch = self.output_channel
        try:
            for name, value in self.single_shot_settings:
                setattr(ch, name, value)
            self.check_errors()
            for name, value in self.single_shot_settings:
                self._confirm_setting(name, value)
        except Exception:
            self._output_off_after_failure()
            raise
        ch.output = True
        try:
            self.check_errors()
        except Exception:
            self._output_off_after_failure()
            raise

    def _confirm_setting(
        self,
        name: str,
        wanted: object,
        consequence: str = "the pulse is not armed",
        channel: Any = None,
    ) -> None:
        """Raise unless the property ``name`` of ``channel`` (default: the output channel)
        reads back as ``wanted``."""
        try:
            held = getattr(self.output_channel if channel is None else channel, name)
        except (ValueError, KeyError) as exc:  # a reply outside the property's mapped values
            raise self._failure(
                f"{name} unreadable after setting {wanted!r} ({exc}); the output stays off "
                f"and {consequence}"
            ) from exc
        if not _held_as_set(held, wanted):
            raise self._failure(
                f"{name} reads back as {held!r} after setting {wanted!r}; the output stays off "
                f"and {consequence}"
            )

    def _output_off_after_failure(self) -> None:
        # best effort: the failure being raised says more than one in turning the output off
        try:
            self._write_output_off()
        except Exception:  # noqa: BLE001
            log.exception("%s: could not turn the output off after a failure", self.name)

    def _write_output_off(self) -> None:
        self.output_channel.output = False

    def output_off(self) -> None:
        self._write_output_off()
        self.check_errors()

    def fire(self) -> None:
        """Send the bus trigger and return only once the pulse has ended: ``*OPC?`` after
        ``*TRG`` must answer 1 (on a model whose manual does not say that it waits for the
        burst, the programmed width is also waited out), then the error queue is read."""
        sent = time.monotonic()
        self.write("*TRG")
        reply = self.ask("*OPC?").strip()
        if reply not in ("1", "+1"):
            raise self._failure(
                f"*OPC? after *TRG answered {reply!r}, not 1; the pulse may not have ended"
            )
        self.check_errors()
        if not self.opc_waits_for_burst and self._pulse_width_s is not None:
            left_s = self._pulse_width_s - (time.monotonic() - sent)
            if left_s > 0:
                time.sleep(left_s)


def _held_as_set(held: object, wanted: object) -> bool:
    """Whether a value read back (pymeasure's cast: bool, float or str) is the value set."""
    if isinstance(wanted, bool):
        return held is wanted
    if isinstance(wanted, str):
        return isinstance(held, str) and held.strip().upper() == wanted.upper()
    return isinstance(held, (int, float)) and not isinstance(held, bool) and held == wanted
