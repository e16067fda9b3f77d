"""Keysight 81160A pulse function arbitrary noise generator, two outputs, as a
:class:`~mtjlab.instruments.roles.PulseGenerator` firing single bus-triggered pulses.

Built on pymeasure's ``Keysight81160A`` property table; adds output polarity, the two edge times,
and an output-load property restricted to 50 Ohm and 1 MOhm (the top of the model's load range,
standing for high impedance: into 1 MOhm the level differs from the open-circuit one by 5e-5).

Where the command facts come from. The 81150A and 81160A User's Guide covers both models:

- the channel suffix on the first node of a command (``:PULSe:PERiod[1|2]``) and the rule
  period >= width + 1.6 x edge time: section 3.4.1, Pulse Period;
- amplitudes are read in the unit set by ``VOLT:UNIT VPP|VRMS|DBM``: section 4.5.1, APPLy
  Commands;
- ``:VOLT<n>:UNIT``, ``:ARM:SOUR<n> MAN`` (the arm event is ``*TRG`` or the MAN key),
  ``:TRIG<n>:COUN`` and ``:TRAC:CHAN<n>`` (channel coupling, output 2 following output 1):
  pymeasure's ``Keysight81160A`` property table, whose commands follow the guide;
- the edges, ``:PULS:TRAN<n>`` (leading) and ``:PULS:TRAN<n>:TRA`` (trailing), in the guide's
  form ``:PULSe:TRANsition[1|2][:LEADing]`` / ``:TRAiling``: the guide's entries for these two
  were not among the pages at hand, so the driver reads both edges back and stops, output off,
  if the instrument holds another value; the 1 ns edge is the bottom of pymeasure's
  transition range for the model.

Every setting ``arm`` makes is read back before the output goes on, and channel coupling is
forced off and read back before any other setting. Whether ``*OPC?`` after ``*TRG`` waits for
the pulse could not be confirmed from the guide, so ``fire`` asks it and also waits out the
programmed width from the moment the trigger was sent.
"""

from __future__ import annotations

from pymeasure.instruments import Instrument
from pymeasure.instruments.keysight.keysight81160A import Keysight81160A as _Pymeasure81160A
from pymeasure.instruments.keysight.keysight81160A import Keysight81160AChannel
from pymeasure.instruments.validators import strict_discrete_set, strict_range

from mtjlab.core.checks import check_scalar

from ._grammar import check_name
from ._pulser import (
    WAVEFORM_FORM,
    WAVEFORM_NAME,
    BusTriggeredPulser,
    GuardedWaveformNames,
    check_output_channel,
)
from .roles import LOAD_50_OHM, LOAD_HIGH_Z

HIGH_Z_OHM = 1e6
#: Edge times the 81160A accepts (pymeasure's transition range for the model).
EDGE_RANGE_S = (1e-9, 1e3)


def _levels(amplitude: object, offset: object) -> tuple[float, float]:
    return (
        check_scalar(amplitude, "amplitude", low=0.05, high=10.0, unit="Vpp"),
        check_scalar(offset, "offset", low=-10.0, high=10.0, unit="V"),
    )


class Keysight81160AOutput(GuardedWaveformNames, Keysight81160AChannel):
    """One output of the 81160A."""

    #: Highest frequency the ``apply_*`` methods accept; a model with a lower one sets it
    #: together with ``frequency_values``.
    max_frequency_hz = 500e6

    # outer envelope (high impedance); the role checks the limits for the configured load
    amplitude_values = (0.05, 10.0)
    offset_values = (-10.0, 10.0)
    # pymeasure declares the range of its load property but checks nothing
    output_load_validator = staticmethod(strict_range)

    # pymeasure's apply_* methods splice their arguments as given: numbers only, in the
    # outer envelope (high impedance), before any byte
    def apply_dc(self, voltage):
        super().apply_dc(check_scalar(voltage, "voltage", low=-10.0, high=10.0, unit="V"))

    def _frequency(self, value: object) -> float:
        return check_scalar(value, "frequency", low=1e-6, high=self.max_frequency_hz, unit="Hz")

    def apply_noise(self, amplitude, offset):
        super().apply_noise(*_levels(amplitude, offset))

    def apply_pulse(self, frequency, amplitude, offset):
        super().apply_pulse(self._frequency(frequency), *_levels(amplitude, offset))

    def apply_sin(self, frequency, amplitude, offset):
        super().apply_sin(self._frequency(frequency), *_levels(amplitude, offset))

    def apply_square(self, frequency, amplitude, offset):
        super().apply_square(self._frequency(frequency), *_levels(amplitude, offset))

    def apply_user_waveform(self, frequency, amplitude, offset):
        super().apply_user_waveform(self._frequency(frequency), *_levels(amplitude, offset))

    def save_waveform(self, waveform, name):
        check_name(name, WAVEFORM_NAME, WAVEFORM_FORM, "waveform name")
        super().save_waveform(waveform, name)

    def delete_waveform(self, name):
        check_name(name, WAVEFORM_NAME, WAVEFORM_FORM, "waveform name")
        super().delete_waveform(name)

    output_load_ohm = Instrument.control(
        ":OUTP{ch}:LOAD?",
        ":OUTP{ch}:LOAD %e",
        """Control the load the displayed amplitude refers to, in Ohm: 50 or 1e6
        (standing for high impedance).""",
        validator=strict_discrete_set,
        values=(50.0, HIGH_Z_OHM),
    )

    leading_edge_s = Instrument.control(
        ":PULS:TRAN{ch}?",
        ":PULS:TRAN{ch} %e",
        """Control the pulse's leading-edge transition time in s.""",
        validator=strict_range,
        values=EDGE_RANGE_S,
        dynamic=True,
    )

    trailing_edge_s = Instrument.control(
        ":PULS:TRAN{ch}:TRA?",
        ":PULS:TRAN{ch}:TRA %e",
        """Control the pulse's trailing-edge transition time in s.""",
        validator=strict_range,
        values=EDGE_RANGE_S,
        dynamic=True,
    )

    polarity = Instrument.control(
        ":OUTP{ch}:POL?",
        ":OUTP{ch}:POL %s",
        """Control the output polarity ('normal' or 'inverted' about the offset).""",
        validator=strict_discrete_set,
        values={"normal": "NORM", "inverted": "INV"},
        map_values=True,
        cast=str,
    )


class Keysight81160A(BusTriggeredPulser, _Pymeasure81160A):
    """Keysight 81160A (one or two outputs); the role acts on output ``channel``."""

    ch_1 = Instrument.ChannelCreator(Keysight81160AOutput, 1)
    ch_2 = Instrument.ChannelCreator(Keysight81160AOutput, 2)

    amplitude_limits_v = {LOAD_50_OHM: (0.05, 5.0), LOAD_HIGH_Z: (0.1, 10.0)}
    width_limits_s = (1.5e-9, 1.0)
    min_period_s = 1e-6
    max_period_s = 1e6
    load_setting_ohm = {LOAD_50_OHM: 50.0, LOAD_HIGH_Z: HIGH_Z_OHM}
    #: Leading and trailing edge programmed before the width (the 81160A's shortest).
    edge_time_s = 1e-9
    #: The arm event is a bus trigger (*TRG) or the MAN key (:ARM:SOURce MANual), and each
    #: arm event gives one period, i.e. one pulse (:TRIGger:COUNt 1).
    single_shot_settings = (("trigger_mode", "MAN"), ("trigger_count", 1))

    def __init__(
        self, adapter, name: str = "Keysight 81160A Pulse Generator", channel: int = 1, **kwargs
    ):
        number = check_output_channel(channel, (1, 2))
        super().__init__(adapter, name, **kwargs)
        self.output_channel: Keysight81160AOutput = self.channels[number]

    def _before_settings(self) -> None:
        # with channel coupling on, output 2 follows output 1: a setting made on one would
        # also change the other output, which may be wired to the device too
        self.ch_1.coupling_enabled = False
        self._confirm_setting("coupling_enabled", False, "nothing else was set", channel=self.ch_1)

    def _before_timing(self) -> None:
        # both edges, and read back: the instrument keeps its own (possibly slow) edges if not
        # told, and an edge it clamped would change the pulse's shape
        ch = self.output_channel
        ch.leading_edge_s = self.edge_time_s
        ch.trailing_edge_s = self.edge_time_s
        for edge in ("leading", "trailing"):
            self._confirm(
                f"{edge} edge", getattr(ch, f"{edge}_edge_s"), self.edge_time_s, "s",
                self.read_back_rel_tol,
                "the output stays off and no timing or level was set",
            )  # fmt: skip
