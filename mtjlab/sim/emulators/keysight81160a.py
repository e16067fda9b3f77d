"""The Keysight 81160A and 81150A emulated on their SCPI: two pulse outputs on the circuit, each
fired by a bus trigger when armed manually, running free otherwise.

The two share one user's guide and one command set; they differ in timing limits. Where the
facts come from (81150A and 81160A User's Guide, and pymeasure's ``Keysight81160A`` table, whose
commands follow the guide):

- the output number on the first node that takes one (``:PULSe:PERiod[1|2]``,
  ``:OUTPut[1|2]:LOAD``), and period >= width + 1.6 x edge time: guide, 3.4.1 Pulse Period;
- pulse period 3.03 ns (81160A) and 8.33 ns (81150A) to 1,000,000 s: the same section;
- ``:VOLT[1|2]:UNIT VPP|VRMS|DBM``: guide, APPLy commands;
- ``:ARM:SOURce[1|2] IMMediate|INTernal2|EXTernal|MANual``, ``:TRIGger[1|2]:COUNt``,
  ``:TRACk:CHANnel1`` (output 2 follows output 1), the 81160A's ranges of amplitude (50 mVpp to
  5 Vpp into 50 Ohm), high and low level (within +-5 V into 50 Ohm), width (from 1.5 ns), edges
  (1 ns to 1000 s) and load (0.3 Ohm to 1 MOhm): pymeasure's table;
- ``:PULSe:TRANsition[1|2][:LEADing]`` and ``:TRAiling``: the guide's command form.

Not confirmed from a source at hand, and so chosen here: the 81150A's shortest width (4.1 ns)
and edge (2.5 ns) and its amplitude range (taken as the 81160A's); the levels into a load other
than 50 Ohm (scaled behind the 50 Ohm source impedance); the trigger latency; the reset values.
"""

from __future__ import annotations

from mtjlab.sim.emulators._scpi import header
from mtjlab.sim.emulators.keysight33500b import (
    Command,
    PulseGeneratorEmulator,
    PulseOutput,
    boolean,
    choice,
    nr3,
    number,
)


class Keysight81160AEmulator(PulseGeneratorEmulator):
    """A two-output Keysight 81160A: see the module docstring for where each fact comes from.

    An output waits for a trigger while its arm source is MANual (started by ``*TRG``, which
    puts out :attr:`trigger count <PulseOutput.trigger_count>` periods) or EXTernal (nothing is
    wired to the trigger input); with IMMediate or INTernal2 an output that is on runs free at
    its pulse period. With channel coupling on (``:TRACk:CHANnel1 ON``) every setting made on
    output 1, other than its on/off state, is made on output 2 too. Unlike the 33500B, a new
    output load keeps the programmed levels.
    """

    idn = "Agilent Technologies,81160A,EMULATED,1.0.0.0"
    no_error_code = "0"
    #: Guide, ":SYSTem:ERRor?": up to 30 entries.
    error_capacity = 30
    #: Not from the guide: a bus trigger's latency, taken as 1 us.
    trigger_latency_s = 1e-6
    open_circuit_amplitude_vpp = (0.1, 10.0)
    open_circuit_window_v = 10.0
    width_range_s = (1.5e-9, 1e6)
    period_range_s = (3.03e-9, 1e6)
    edge_range_s = (1e-9, 1e3)
    load_range_ohm = (0.3, 1e6)
    functions = ("SINusoid", "SQUare", "RAMP", "PULSe", "NOISe", "DC", "USER")
    #: The guide's rule: period >= width + this x edge time (the longer edge, here).
    edge_factor = 1.6

    def _reset_output(self, terminal: str | None) -> PulseOutput:
        edge = self.edge_range_s[0]
        return PulseOutput(terminal, width_s=100e-9, period_s=1e-6, leading_s=edge, trailing_s=edge)

    def _waits_for_trigger(self, out: PulseOutput) -> bool:
        return out.arm_source in ("MAN", "EXT")

    def _cycles_per_trigger(self, out: PulseOutput) -> int:
        return out.trigger_count if out.arm_source == "MAN" else 0

    def _timing_fits(self, width_s: float, period_s: float, out: PulseOutput) -> bool:
        edge = max(out.leading_s, out.trailing_s)
        return period_s >= width_s + self.edge_factor * edge

    def _format_number(self, value: float) -> str:
        return nr3(value, 14)

    def _set_load(self, n: int, params: list[str]) -> list[str]:
        self._on_load_change(self.outputs[n], number(params, *self.load_range_ohm, 50.0))
        self._refresh(n)
        return []

    def _set_coupling(self, n: int, params: list[str]) -> list[str]:
        coupled = boolean(params)
        if n == 1:  # only output 2 can follow output 1
            self._coupled = coupled
        return []

    def _command_table(self) -> list[Command]:
        volt = "[SOURce]:VOLTage#:[LEVel]:[IMMediate]"
        pulse = "[SOURce]:PULSe:"
        read = self._read
        table = [
            ("OUTPut#:[STATe]", self._set_output, read(lambda o: o.on), False),
            ("OUTPut#:LOAD", self._set_load, read(lambda o: o.load_ohm), True),
            (
                "OUTPut#:POLarity",
                self._set_polarity,
                read(lambda o: "INV" if o.inverted else "NORM"),
                True,
            ),
            ("[SOURce]:FUNCtion#:[SHAPe]", self._set_function, read(lambda o: o.function), True),
            (volt + ":[AMPLitude]", self._set_amplitude, read(lambda o: o.amplitude_vpp), True),
            (volt + ":OFFSet", self._set_offset, read(lambda o: o.offset_v), True),
            ("[SOURce]:VOLTage#:UNIT", self._set_unit, read(lambda o: o.unit), True),
            (pulse + "WIDTh#", self._set_width, read(lambda o: o.width_s), True),
            (pulse + "PERiod#", self._set_period, read(lambda o: o.period_s), True),
            (pulse + "HOLD#", self._set_hold, read(lambda o: o.hold), True),
            (
                pulse + "TRANsition#:[LEADing]",
                self._set_edges("leading"),
                read(lambda o: o.leading_s),
                True,
            ),
            (
                pulse + "TRANsition#:TRAiling",
                self._set_edges("trailing"),
                read(lambda o: o.trailing_s),
                True,
            ),
            (
                "ARM:SOURce#",
                self._trigger_setting(
                    "arm_source",
                    lambda p: choice(p, ("IMMediate", "INTernal2", "EXTernal", "MANual")),
                ),
                read(lambda o: o.arm_source),
                True,
            ),
            (
                "TRIGger#:COUNt",
                self._trigger_setting("trigger_count", lambda p: round(number(p, 1, 2**31 - 1, 1))),
                read(lambda o: o.trigger_count),
                True,
            ),
            (
                "TRACk:CHANnel#:[STATe]",
                self._set_coupling,
                lambda n, p: ["1" if self._coupled and n == 1 else "0"],
                False,
            ),
            ("SYSTem:ERRor:[NEXT]", None, self._system_error, False),
            ("DISPlay:TEXT", self._accept_text, None, False),
        ]
        return [Command(header(h), w, r, follows) for h, w, r, follows in table]


class Keysight81150AEmulator(Keysight81160AEmulator):
    """A two-output Keysight 81150A: the 81160A's commands with the 81150A's timing limits (see
    the module docstring for which of them are confirmed)."""

    idn = "Agilent Technologies,81150A,EMULATED,1.0.0.0"
    width_range_s = (4.1e-9, 1e6)
    period_range_s = (8.33e-9, 1e6)
    edge_range_s = (2.5e-9, 1e3)
