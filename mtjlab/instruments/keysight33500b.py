"""Keysight (Agilent) 33500B waveform generator, two outputs, as a
:class:`~mtjlab.instruments.roles.PulseGenerator` firing single bus-triggered pulses.

Built on pymeasure's ``Agilent33500`` property table; adds output polarity, trigger source and an
output-load property that refuses anything but 50 Ohm and high impedance (INF).

Where the command facts come from (Agilent/Keysight 33500 Series Operating and Service Guide):

- ``VOLTage:UNIT {VPP|VRMS|DBM}``, set to VPP before any level, and ``OUTPut[1|2]:LOAD``:
  Features and Functions, Output Configuration;
- the pulse commands (``FUNCtion:PULSe:WIDTh``, ``:PERiod``, ``:HOLD``, ``:TRANsition:BOTH``)
  and the levels (``VOLTage``, ``VOLTage:OFFSet``): pymeasure's ``Agilent33500`` table;
- ``BURSt:MODE TRIGgered``, ``BURSt:NCYCles``, ``BURSt:STATe`` (on last, after the burst is
  described): the BURSt subsystem; ``TRIGger[1|2]:SOURce BUS`` (one burst per ``*TRG``): the
  TRIGger subsystem;
- ``*OPC?`` answers 1 when the sweep or burst is complete: the TRIGger subsystem, so
  :meth:`fire` returns only after the pulse.
"""

from __future__ import annotations

import math

from pymeasure.instruments import Instrument
from pymeasure.instruments.agilent.agilent33500 import Agilent33500, Agilent33500Channel
from pymeasure.instruments.validators import strict_discrete_set

from ._pulser import BusTriggeredPulser, GuardedWaveformNames, check_output_channel
from .roles import LOAD_50_OHM, LOAD_HIGH_Z

#: The 33500B answers OUTP:LOAD? with 9.9E+37 for INFinity.
_INFINITE_OHM = 9.9e37


def _load_to_command(ohm: float) -> str:
    return "INF" if math.isinf(ohm) else f"{ohm:g}"


def _load_from_reply(value):
    if isinstance(value, float) and value >= _INFINITE_OHM:
        return math.inf
    return value


class Keysight33500BChannel(GuardedWaveformNames, Agilent33500Channel):
    """One output of the 33500B."""

    # outer envelope (high impedance); the role checks the limits for the configured load
    amplitude_values = (1e-3, 20.0)
    offset_values = (-10.0, 10.0)
    # pymeasure's string-valued load property: only what output_load_ohm would send
    output_load_validator = staticmethod(strict_discrete_set)
    output_load_values = (50, "INF")
    # pymeasure bounds the burst count by range(1, 100000), which its range check scans in full
    # (about 4 ms a setting, once per pulse); the same bounds as a pair check in no time.
    burst_ncycles_values = (1, 99999)

    output_load_ohm = Instrument.control(
        "OUTP{ch}:LOAD?",
        "OUTP{ch}:LOAD %s",
        """Control the load the displayed amplitude refers to, in Ohm: 50 or math.inf
        (high impedance, sent as INF).""",
        validator=strict_discrete_set,
        values=(50.0, math.inf),
        set_process=_load_to_command,
        get_process=_load_from_reply,
    )

    polarity = Instrument.control(
        "OUTP{ch}:POL?",
        "OUTP{ch}:POL %s",
        """Control the output polarity ('normal' or 'inverted' about the offset).""",
        validator=strict_discrete_set,
        values={"normal": "NORM", "inverted": "INV"},
        map_values=True,
        cast=str,
    )

    trigger_source = Instrument.control(
        "TRIG{ch}:SOUR?",
        "TRIG{ch}:SOUR %s",
        """Control the trigger source ('BUS', 'IMM', 'EXT' or 'TIM').""",
        validator=strict_discrete_set,
        values=("BUS", "IMM", "EXT", "TIM"),
        cast=str,
    )


class Keysight33500B(BusTriggeredPulser, Agilent33500):
    """Keysight 33500B series (33511B/12B/21B/22B); the role acts on output ``channel``."""

    ch_1 = Instrument.ChannelCreator(Keysight33500BChannel, 1)
    ch_2 = Instrument.ChannelCreator(Keysight33500BChannel, 2)

    burst_ncycles_values = Keysight33500BChannel.burst_ncycles_values
    amplitude_limits_v = {LOAD_50_OHM: (1e-3, 5.0), LOAD_HIGH_Z: (2e-3, 10.0)}
    width_limits_s = (16e-9, 1.0)
    min_period_s = 1e-6
    max_period_s = 1e6
    #: Shortest edge the 33500B makes; set before the width so that a short pulse fits.
    edge_time_s = 8.4e-9
    #: Triggered burst of one cycle, started by a bus trigger (*TRG); burst state on last, after
    #: the burst is fully described (BURSt subsystem: MODE, NCYCles, STATe; TRIGger:SOURce).
    single_shot_settings = (
        ("burst_mode", "TRIG"),
        ("burst_ncycles", 1),
        ("trigger_source", "BUS"),
        ("burst_state", True),
    )
    opc_waits_for_burst = True

    def __init__(
        self, adapter, name: str = "Keysight 33500B Waveform Generator", channel: int = 1, **kwargs
    ):
        number = check_output_channel(channel, (1, 2))
        super().__init__(adapter, name, **kwargs)
        self.output_channel: Keysight33500BChannel = self.channels[number]

    def _before_timing(self) -> None:
        self.output_channel.pulse_transition = self.edge_time_s
