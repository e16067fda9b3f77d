"""Keithley 2600B-family SourceMeter (TSP), channels a and b, as a
:class:`~mtjlab.instruments.roles.SourceMeter`.

Written here rather than reused from pymeasure: pymeasure 0.16.0's ``Keithley2600`` channel maps
``measure_nplc`` through its value list, so setting 1 does not send 1. Every setting below sends the
number it is given.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pymeasure.instruments import Channel, Instrument
from pymeasure.instruments.validators import strict_discrete_set, strict_range

from ._errors import TspErrorQueue
from ._grammar import ascii_pattern, check_name
from ._values import check_number, check_voltage_list
from .roles import SourceMeter

_BOOL = {True: 1, False: 0}
_CHANNEL = ascii_pattern(r"[ab]")


class Keithley2600BChannel(Channel):
    """One SMU channel (``smua`` or ``smub``); every property is one TSP attribute."""

    source_function = Instrument.control(
        "print(smu{ch}.source.func)",
        "smu{ch}.source.func=%d",
        """Control the source function ('voltage' = smuX.OUTPUT_DCVOLTS = 1,
        'current' = smuX.OUTPUT_DCAMPS = 0).""",
        validator=strict_discrete_set,
        values={"voltage": 1, "current": 0},
        map_values=True,
    )

    source_voltage = Instrument.control(
        "print(smu{ch}.source.levelv)",
        "smu{ch}.source.levelv=%g",
        """Control the source voltage level in V (strictly -200 to 200).""",
        validator=strict_range,
        values=(-200.0, 200.0),
    )

    source_autorange_v_enabled = Instrument.control(
        "print(smu{ch}.source.autorangev)",
        "smu{ch}.source.autorangev=%d",
        """Control whether the voltage source auto-ranges (bool).""",
        validator=strict_discrete_set,
        values=_BOOL,
        map_values=True,
    )

    current_limit = Instrument.control(
        "print(smu{ch}.source.limiti)",
        "smu{ch}.source.limiti=%g",
        """Control the current limit (compliance) in A (strictly 1e-9 to 1.5).""",
        validator=strict_range,
        values=(1e-9, 1.5),
    )

    measure_autorange_i_enabled = Instrument.control(
        "print(smu{ch}.measure.autorangei)",
        "smu{ch}.measure.autorangei=%d",
        """Control whether the current measurement auto-ranges (bool).""",
        validator=strict_discrete_set,
        values=_BOOL,
        map_values=True,
    )

    measure_nplc = Instrument.control(
        "print(smu{ch}.measure.nplc)",
        "smu{ch}.measure.nplc=%g",
        """Control the integration time in power-line cycles (strictly 0.001 to 25).""",
        validator=strict_range,
        values=(0.001, 25.0),
    )

    output_enabled = Instrument.control(
        "print(smu{ch}.source.output)",
        "smu{ch}.source.output=%d",
        """Control whether the output is on (bool; smuX.OUTPUT_ON = 1).""",
        validator=strict_discrete_set,
        values=_BOOL,
        map_values=True,
    )


class Keithley2600B(TspErrorQueue, Instrument, SourceMeter):
    """Keithley 2602B / 2612B / 2636B (two channels); the role acts on ``channel``.

    Single-channel models (2601B, 2611B, 2635B) work with ``channel="a"``.
    """

    max_list_points = 100

    ch_a = Instrument.ChannelCreator(Keithley2600BChannel, "a")
    ch_b = Instrument.ChannelCreator(Keithley2600BChannel, "b")

    def __init__(
        self, adapter, name: str = "Keithley 2600B SourceMeter", channel: str = "a", **kwargs
    ):
        self._channel = check_name(channel, _CHANNEL, "'a' or 'b'", "SMU channel")
        super().__init__(adapter, name, includeSCPI=False, **kwargs)
        self.smu: Keithley2600BChannel = self.channels[self._channel]

    def configure_voltage_source(self, compliance_current_a: float, nplc: float) -> None:
        compliance = check_number(compliance_current_a, 1e-9, 1.5, "compliance_current_a", "A")
        nplc = check_number(nplc, 0.001, 25.0, "nplc", "power-line cycles")
        self.smu.source_function = "voltage"
        self.smu.source_autorange_v_enabled = True
        self.smu.current_limit = compliance
        self.smu.measure_autorange_i_enabled = True
        self.smu.measure_nplc = nplc
        self.check_errors()

    def set_voltage(self, voltage_v: float) -> None:
        self.smu.source_voltage = check_number(voltage_v, -200.0, 200.0, "voltage_v", "V")
        self.check_errors()

    def measure(self) -> tuple[float, float]:
        # measure.iv() returns current then voltage, printed tab-separated
        reply = self.ask(f"print(smu{self._channel}.measure.iv())")
        try:
            current, voltage = (float(x) for x in reply.split("\t"))
        except ValueError:
            raise self._failure(f"expected current<TAB>voltage, got {reply!r}") from None
        return voltage, current

    def sweep_voltage_list(self, voltages_v: Sequence[float]) -> np.ndarray:
        voltages = check_voltage_list(voltages_v, 200.0, self.max_list_points)
        smu = f"smu{self._channel}"
        n = len(voltages)
        # levelv is the idle level the source returns to when the sweep ends
        self.write(f"{smu}.source.levelv=0")
        self.write(f"{smu}.nvbuffer1.clear()")
        self.write(f"{smu}.trigger.source.listv({{{','.join(f'{v:g}' for v in voltages)}}})")
        self.write(f"{smu}.trigger.source.action={smu}.ENABLE")
        self.write(f"{smu}.trigger.measure.i({smu}.nvbuffer1)")
        self.write(f"{smu}.trigger.measure.action={smu}.ENABLE")
        self.write(f"{smu}.trigger.endsweep.action={smu}.SOURCE_IDLE")
        self.write(f"{smu}.trigger.arm.count=1")
        self.write(f"{smu}.trigger.count={n}")
        self.check_errors()
        self.write(f"{smu}.trigger.initiate()")
        self.write("waitcomplete()")
        reply = self.ask(f"printbuffer(1,{n},{smu}.nvbuffer1.readings)")
        self.write(f"{smu}.trigger.source.action={smu}.DISABLE")
        self.write(f"{smu}.trigger.measure.action={smu}.DISABLE")
        try:
            currents = np.array([float(x) for x in reply.split(",")], dtype=float)
        except ValueError:
            currents = np.array([])
        if currents.size != n:
            raise self._failure(f"expected {n} readings, got {reply!r}")
        self.check_errors()
        return currents

    def enable_output(self) -> None:
        self.smu.output_enabled = True
        self.check_errors()

    def disable_output(self) -> None:
        self.smu.output_enabled = False
        self.check_errors()

    def safe_state(self) -> None:
        self.write(f"smu{self._channel}.abort()")
        self.smu.source_function = "voltage"
        self.smu.source_voltage = 0.0
        self.smu.output_enabled = False
        self.check_errors()

    def shutdown(self) -> None:
        """Go to the safe state (also on leaving a ``with`` block)."""
        self.safe_state()
        Instrument.shutdown(self)
