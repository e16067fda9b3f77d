"""Keysight 81150A pulse function arbitrary noise generator, two outputs, as a
:class:`~mtjlab.instruments.roles.PulseGenerator` firing single bus-triggered pulses.

The 81150A shares its user guide and its command set with the 81160A, so the driver is the
81160A's with the 81150A's timing limits (the commands, and where each comes from, are listed
in :mod:`mtjlab.instruments.keysight81160a`). What differs, and where each bound comes from:

- pulse period 8.33 ns to 1e6 s and pulse frequency up to 120 MHz: the shared user guide's
  pulse-period characteristics, which give both models' limits side by side;
- shortest pulse width: the guide requires period >= width + 1.6 x edge time, so at the
  shortest period every settable width is under 8.33 ns. mtjlab takes 8.33 ns as its floor: a
  width the 81150A certainly makes, though not the shortest it can;
- edge time: both edges are programmed to 2.5 ns, the 81150A's shortest transition time in
  its data sheet (not confirmed from the user guide); the edges are read back, and the pulse is
  not set up if the instrument holds another value;
- amplitude: bounded as on the 81160A (50 mV to 5 V at 50 Ohm, twice that into high
  impedance). The 81150A's own amplitude range, which may also depend on its output amplifier,
  could not be confirmed from a primary source, so the driver reads the width and the amplitude
  back right after setting them and stops, with the output still off, if the instrument holds
  another value. A clamped level is therefore never taken as set.
"""

from __future__ import annotations

from pymeasure.instruments import Instrument

from .keysight81160a import Keysight81160A, Keysight81160AOutput

#: Shortest pulse period and highest pulse frequency of the 81150A (user guide).
MIN_PERIOD_S = 8.33e-9
MAX_FREQUENCY_HZ = 120e6
#: Floor on the pulse width mtjlab programs (see the module docstring).
MIN_WIDTH_S = MIN_PERIOD_S
#: Edge time programmed on both edges (see the module docstring).
EDGE_TIME_S = 2.5e-9


class Keysight81150AOutput(Keysight81160AOutput):
    """One output of the 81150A: the 81160A's properties with the 81150A's timing limits."""

    max_frequency_hz = MAX_FREQUENCY_HZ
    frequency_values = (1e-6, MAX_FREQUENCY_HZ)
    pulse_period_values = (MIN_PERIOD_S, 1e6)
    pulse_width_values = (MIN_WIDTH_S, 1e6)
    leading_edge_s_values = (EDGE_TIME_S, 1e3)
    trailing_edge_s_values = (EDGE_TIME_S, 1e3)


class Keysight81150A(Keysight81160A):
    """Keysight 81150A (one or two outputs); the role acts on output ``channel``."""

    ch_1 = Instrument.ChannelCreator(Keysight81150AOutput, 1)
    ch_2 = Instrument.ChannelCreator(Keysight81150AOutput, 2)

    # instrument-level pymeasure properties act on output 1: the same timing limits
    frequency_values = Keysight81150AOutput.frequency_values
    pulse_period_values = Keysight81150AOutput.pulse_period_values
    pulse_width_values = Keysight81150AOutput.pulse_width_values

    width_limits_s = (MIN_WIDTH_S, 1.0)
    edge_time_s = EDGE_TIME_S
    read_back_timing_and_level = True

    def __init__(
        self, adapter, name: str = "Keysight 81150A Pulse Generator", channel: int = 1, **kwargs
    ):
        super().__init__(adapter, name, channel=channel, **kwargs)
