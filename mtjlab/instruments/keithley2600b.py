"""Keithley 2600B-family SourceMeter (TSP), channels a and b, as a
:class:`~mtjlab.instruments.roles.SourceMeter`.

Written here rather than reused from pymeasure: pymeasure 0.16.0's ``Keithley2600`` channel maps
``measure_nplc`` through its value list, so setting 1 does not send 1. Every setting below sends the
number it is given.

The limits differ by model, so the driver reads ``localnode.model`` at connection and takes them
from :data:`MODELS`; a model it does not know, or channel b on a one-channel model, is refused
before anything else is sent. Reading the model rather than trusting a bench file means a wrong
entry there cannot widen the limits. Sources, Series 2600B Reference Manual (2600BS-901-01 Rev. F):

- voltage: 40 V on the 2601B/2602B/2604B, 200 V on the 2611B/2612B/2614B/2634B/2635B/2636B
  (the voltage ranges and the ``smuX.source.limitv`` range, 10 mV to 40 V and 20 mV to 200 V);
- lowest current limit: 10 nA, except 100 pA on the 2634B/2635B/2636B (``smuX.source.limitY``);
- highest current limit: 3 A on the 2601B/2602B/2604B (3.03 A at up to 6 V); 1.5 A on the
  others, the narrower of the two figures the manual gives for the 2611B/2612B/2614B (the
  ``limitY`` entry says 3 A, the operating boundaries 1.515 A at 20 V);
- channels: a only on the 2601B, 2611B and 2635B.

Settings a previous user may have left, set by :meth:`Keithley2600B.configure_voltage_source`
(same manual, TSP command reference, and the Series 2600B User's Manual, "Output-off states"):
``smuX.sense`` = 0 (``SENSE_LOCAL``, 2-wire); ``smuX.source.offmode`` = 0 (``OUTPUT_NORMAL``)
with ``smuX.source.offfunc`` = 1 (``OUTPUT_DCVOLTS``: 0 V when off) and
``smuX.source.offlimiti`` = the compliance, so that with the output off the junction sits at 0 V
through a source that cannot pass more than it could with the output on (ZERO mode keeps the
full limit; HI-Z leaves the junction floating and wears the relay). The 2600B has no
overvoltage-protection setting (none is listed among the ``smuX.source`` attributes); the driver's
own refusal of levels beyond ``voltage_limit_v`` is the only voltage guard.

:meth:`Keithley2600B.scan_linked_matrix` reads a whole array in one script that runs on the
instrument and switches a matrix on its TSP-Link (``node[N]``, which takes the matrix's own
commands; the 2604B, 2614B and 2634B have no TSP-Link). Scripts are loaded with ``loadscript``
... ``endscript`` and run by their name; the instrument's Lua is 5.0, so the script uses only
``ipairs``, ``table.insert`` and ``table.concat`` (same manual, "Fundamentals of scripting for
TSP", "TSP-Link system expansion interface").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np
from pymeasure.instruments import Channel, Instrument
from pymeasure.instruments.validators import strict_discrete_set, strict_range

from ._errors import TspErrorQueue
from ._grammar import ascii_pattern, check_name, check_names
from ._smu import ConfirmedSource
from .keithley707b import Keithley707B
from .roles import (
    ChannelSpecError,
    InstrumentError,
    LinkedMatrixScanner,
    SourceMeter,
    SwitchMatrix,
)

_BOOL = {True: 1, False: 0}
_CHANNEL = ascii_pattern(r"[ab]")


class ModelLimits(NamedTuple):
    """What one 2600B model can source (see the module docstring for the sources)."""

    max_voltage_v: float
    min_current_limit_a: float
    max_current_limit_a: float
    channels: str


_LOW_V = (40.0, 10e-9, 3.0)
_HIGH_V = (200.0, 10e-9, 1.5)
_HIGH_V_LOW_I = (200.0, 100e-12, 1.5)
#: ``localnode.model`` -> limits.
MODELS: dict[str, ModelLimits] = {
    "2601B": ModelLimits(*_LOW_V, "a"),
    "2602B": ModelLimits(*_LOW_V, "ab"),
    "2604B": ModelLimits(*_LOW_V, "ab"),
    "2611B": ModelLimits(*_HIGH_V, "a"),
    "2612B": ModelLimits(*_HIGH_V, "ab"),
    "2614B": ModelLimits(*_HIGH_V, "ab"),
    "2634B": ModelLimits(*_HIGH_V_LOW_I, "ab"),
    "2635B": ModelLimits(*_HIGH_V_LOW_I, "a"),
    "2636B": ModelLimits(*_HIGH_V_LOW_I, "ab"),
}


#: Models without TSP-Link (Series 2600B Reference Manual, the ``node`` and ``tsplink`` entries).
NO_TSP_LINK = ("2604B", "2614B", "2634B")

#: The script :meth:`Keithley2600B.scan_linked_matrix` loads: for each selected row that has
#: levels, and each selected column, the drive channel at 0 V, exactly that connection closed
#: on the linked matrix, then for each of the row's levels the drive at the level and one
#: reading into the meter channel's buffer, then the drive back at 0 V. A line that is not
#: selected is joined to its entry of the "rest" list (an empty list leaves it open).
SCAN_SCRIPT_NAME = "mtjlab_scan"
SCAN_SCRIPT = (
    f"loadscript {SCAN_SCRIPT_NAME}",
    "function mtjlab_scan_run(n, drive, meter, rsel, rrest, csel, crest, levels)",
    "  local matrix = node[n].channel",
    "  drive.source.levelv = 0",
    "  meter.nvbuffer1.clear()",
    "  for i, rxp in ipairs(rsel) do",
    "    if levels[i][1] ~= nil then",
    "      for j, cxp in ipairs(csel) do",
    "        local close = {rxp, cxp}",
    "        for k, xp in ipairs(rrest) do",
    "          if k ~= i then table.insert(close, xp) end",
    "        end",
    "        for k, xp in ipairs(crest) do",
    "          if k ~= j then table.insert(close, xp) end",
    "        end",
    "        drive.source.levelv = 0",
    '        matrix.exclusiveclose(table.concat(close, ","))',
    "        for m, level in ipairs(levels[i]) do",
    "          drive.source.levelv = level",
    "          meter.measure.i(meter.nvbuffer1)",
    "        end",
    "        drive.source.levelv = 0",
    "      end",
    "    end",
    "  end",
    "end",
    "endscript",
)
#: Most readings one run of the script stores. A dedicated reading buffer holds over 140,000
#: basic readings, fewer with timestamps and source values (Series 2600B Reference Manual,
#: ``bufferVar.capacity``); a scan needing more is run in several calls of whole rows.
MAX_SCAN_READINGS = 20_000


def _check_node(node: object) -> None:
    """Refuse anything but a TSP-Link node number (1 to 64)."""
    if isinstance(node, bool) or not isinstance(node, (int, np.integer)) or not 1 <= node <= 64:
        raise ValueError(f"node={node!r} is not a TSP-Link node number; allowed: 1 to 64")


def _scan_chunks(levels: list[list[float]], cols: int) -> list[list[int]]:
    """The rows with levels, in runs of whole rows of at most MAX_SCAN_READINGS readings."""
    chunks: list[list[int]] = []
    count = 0
    for i, row in enumerate(levels):
        if not row:
            continue
        size = cols * len(row)
        if not chunks or count + size > MAX_SCAN_READINGS:
            chunks.append([])
            count = 0
        chunks[-1].append(i)
        count += size
    return chunks


class Keithley2600BChannel(Channel):
    """One SMU channel (``smua`` or ``smub``); every property is one TSP attribute.

    The ranges are the widest of the family; the role methods check the connected model's.
    """

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
        """Control the current limit (compliance) in A (strictly 100e-12 to 3).""",
        validator=strict_range,
        values=(100e-12, 3.0),
    )

    sense_mode = Instrument.control(
        "print(smu{ch}.sense)",
        "smu{ch}.sense=%d",
        """Control the sense mode ('local' = 2-wire = smuX.SENSE_LOCAL = 0,
        'remote' = 4-wire = smuX.SENSE_REMOTE = 1).""",
        validator=strict_discrete_set,
        values={"local": 0, "remote": 1},
        map_values=True,
    )

    off_mode = Instrument.control(
        "print(smu{ch}.source.offmode)",
        "smu{ch}.source.offmode=%d",
        """Control the output-off mode ('normal' = smuX.OUTPUT_NORMAL = 0,
        'zero' = smuX.OUTPUT_ZERO = 1, 'high_z' = smuX.OUTPUT_HIGH_Z = 2).""",
        validator=strict_discrete_set,
        values={"normal": 0, "zero": 1, "high_z": 2},
        map_values=True,
    )

    off_function = Instrument.control(
        "print(smu{ch}.source.offfunc)",
        "smu{ch}.source.offfunc=%d",
        """Control what the normal output-off mode sources ('voltage' = 0 V =
        smuX.OUTPUT_DCVOLTS = 1, 'current' = 0 A = smuX.OUTPUT_DCAMPS = 0).""",
        validator=strict_discrete_set,
        values={"voltage": 1, "current": 0},
        map_values=True,
    )

    off_current_limit = Instrument.control(
        "print(smu{ch}.source.offlimiti)",
        "smu{ch}.source.offlimiti=%g",
        """Control the current limit of the 0 V output-off source in A (strictly 100e-12 to
        3).""",
        validator=strict_range,
        values=(100e-12, 3.0),
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


class Keithley2600B(TspErrorQueue, ConfirmedSource, LinkedMatrixScanner, Instrument):
    """Keithley 2600B System SourceMeter (any model in :data:`MODELS`); the roles act on
    ``channel``. The model is read at connection (``localnode.model``) and sets the limits.
    A :class:`~mtjlab.instruments.roles.LinkedMatrixScanner` too, for a Keithley 707B/708B
    matrix on its TSP-Link (not on the models of :data:`NO_TSP_LINK`).
    """

    max_list_points = 100
    nplc_range = (0.001, 25.0)

    ch_a = Instrument.ChannelCreator(Keithley2600BChannel, "a")
    ch_b = Instrument.ChannelCreator(Keithley2600BChannel, "b")

    def __init__(
        self, adapter, name: str = "Keithley 2600B SourceMeter", channel: str = "a", **kwargs
    ):
        self._channel = check_name(channel, _CHANNEL, "'a' or 'b'", "SMU channel")
        super().__init__(adapter, name, includeSCPI=False, **kwargs)
        self.smu: Keithley2600BChannel = self.channels[self._channel]
        self.model = self._read_model()
        self.limits = MODELS[self.model]
        if self._channel not in self.limits.channels:
            self.adapter.close()
            raise ChannelSpecError(
                f"SMU channel {channel!r} does not exist on the {self.model}; it has channel a only"
            )
        self.max_voltage_v = self.limits.max_voltage_v
        self.current_limit_range_a = (
            self.limits.min_current_limit_a,
            self.limits.max_current_limit_a,
        )
        self.bounds_origin = f" on the {self.model}"
        self.level_query = f"print(smu{self._channel}.source.levelv)"
        self._scan_script_loaded = False

    def _read_model(self) -> str:
        reply = self.ask("print(localnode.model)").strip()
        if reply not in MODELS:
            self.adapter.close()
            raise InstrumentError(
                self.name,
                self._take_sent(),
                [(0, f"unknown model {reply!r}; this driver knows {', '.join(MODELS)}")],
            )
        self._take_sent()  # a query, nothing to check
        return reply

    def _configure_voltage_source(self, compliance: float, nplc: float, limit_v: float) -> None:
        smu = self.smu
        smu.output_enabled = False
        smu.sense_mode = "local"
        smu.source_function = "voltage"
        smu.off_mode = "normal"
        smu.off_function = "voltage"
        smu.off_current_limit = compliance
        smu.source_autorange_v_enabled = True
        smu.current_limit = compliance
        smu.measure_autorange_i_enabled = True
        smu.measure_nplc = nplc
        self.check_errors()
        function = self._read_number("source function", f"print(smu{self._channel}.source.func)")
        if function != 1.0:
            raise self._failure(
                f"source function reads back as {function:g}, not 1 (smuX.OUTPUT_DCVOLTS)"
            )
        self._confirm_number(
            "current limit", f"print(smu{self._channel}.source.limiti)", compliance, "A"
        )

    def measure(self) -> tuple[float, float]:
        # measure.iv() returns current then voltage, printed tab-separated
        reply = self.ask(f"print(smu{self._channel}.measure.iv())")
        try:
            current, voltage = (float(x) for x in reply.split("\t"))
        except ValueError:
            raise self._failure(f"expected current<TAB>voltage, got {reply!r}") from None
        return voltage, current

    def sweep_voltage_list(self, voltages_v: Sequence[float]) -> np.ndarray:
        voltages = self._check_voltages(voltages_v)
        smu = f"smu{self._channel}"
        n = len(voltages)
        self._require_output_on("sweep_voltage_list()", f"print({smu}.source.output)")
        # the sweep leaves the level at 0 V, not as confirmed
        with self._withdrawing("level"):
            try:
                try:
                    # levelv is the idle level the source returns to when the sweep ends
                    self.write(f"{smu}.source.levelv=0")
                    self.write(f"{smu}.nvbuffer1.clear()")
                    self.write(
                        f"{smu}.trigger.source.listv({{{','.join(f'{v:g}' for v in voltages)}}})"
                    )
                    self.write(f"{smu}.trigger.source.action={smu}.ENABLE")
                    self.write(f"{smu}.trigger.measure.i({smu}.nvbuffer1)")
                    self.write(f"{smu}.trigger.measure.action={smu}.ENABLE")
                    self.write(f"{smu}.trigger.endsweep.action={smu}.SOURCE_IDLE")
                    self.write(f"{smu}.trigger.arm.count=1")
                    self.write(f"{smu}.trigger.count={n}")
                    self.check_errors()
                    self.write(f"{smu}.trigger.initiate()")
                    self.write("waitcomplete()")
                    currents = self._read_buffer(smu, n)
                finally:
                    # whatever happened, the next trigger must not source the list again
                    self.write(f"{smu}.trigger.source.action={smu}.DISABLE")
                    self.write(f"{smu}.trigger.measure.action={smu}.DISABLE")
                    self.write(f"{smu}.source.levelv=0")
            except BaseException:
                self.drain_errors()  # logged; the error raised says what went wrong
                raise
        self.check_errors()
        return currents

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
        """Read an array's (row, column) connections in a script on the instrument, switching
        the matrix at TSP-Link node ``node``. For each row ``i`` with levels and each column
        ``j``: ``drive`` (this channel or the other one of this instrument) at 0 V, the matrix
        closes exactly ``row_select[i]``, ``col_select[j]`` and the ``row_rest`` /
        ``col_rest`` entries of every other line (break-before-make, which the matrix's own
        driver confirms), then for each level of ``levels_v[i]`` in turn ``drive`` sources it
        and this channel measures once; then ``drive`` goes back to 0 V. A map is one level per
        row; inference by superposition is each row's input levels.

        Both outputs must be on, from a confirmed configuration and level; every level is
        checked against ``drive``'s voltage limit, and every crosspoint against ``matrix``'s
        channel grammar, before a byte is sent. The script is loaded once; each call runs
        whole rows, at most :data:`MAX_SCAN_READINGS` readings, and its buffer is read in one
        print. Returns, for each row, this channel's currents (A, out of HI), shape
        ``(len(col_select), len(levels_v[i]))``. The drive is left at 0 V and the last cell
        connected; its level is no longer confirmed.
        """
        if self.model in NO_TSP_LINK:
            raise self._failure(f"the {self.model} has no TSP-Link; nothing was sent")
        if not isinstance(drive, Keithley2600B) or drive.adapter is not self.adapter:
            raise ValueError(
                f"drive must be a channel of this instrument ({self.name}), not {drive!r}"
            )
        if not (isinstance(matrix, type) and issubclass(matrix, Keithley707B)):
            raise ValueError(
                f"matrix must be a TSP-Link matrix driver (707B, 708B), not {matrix!r}"
            )
        _check_node(node)
        lists: list[list[str]] = []
        for name, names, allow_empty in (
            ("row_select", row_select, False),
            ("col_select", col_select, False),
            ("row_rest", row_rest, True),
            ("col_rest", col_rest, True),
        ):
            if allow_empty and not list(names):
                lists.append([])
                continue
            lists.append(check_names(names, matrix.channel_pattern, matrix.channel_form, name))
        rsel, csel, rrest, crest = lists
        for name, rest, select in (("row_rest", rrest, rsel), ("col_rest", crest, csel)):
            if rest and len(rest) != len(select):
                raise ValueError(
                    f"{name} has {len(rest)} entries; it needs one per selectable line "
                    f"({len(select)}) or none"
                )
        levels = self._check_scan_levels(drive, levels_v, len(rsel), len(csel))
        me, other = f"smu{self._channel}", f"smu{drive._channel}"
        for driver, smu in ((self, me), (drive, other)):
            driver._require_output_on("scan_linked_matrix()", f"print({smu}.source.output)")

        def table(items: Sequence[object]) -> str:
            return "{" + ",".join(items) + "}"  # type: ignore[arg-type]

        fixed = ", ".join(table([f'"{x}"' for x in names]) for names in (rsel, rrest, csel, crest))
        out: list[np.ndarray] = [np.empty((len(csel), 0)) for _ in rsel]
        with drive._withdrawing("level"):
            try:
                try:
                    if not self._scan_script_loaded:
                        for line in SCAN_SCRIPT:
                            self.write(line)
                        self.write(f"{SCAN_SCRIPT_NAME}()")
                        self.check_errors()
                        self._scan_script_loaded = True
                    for rows in _scan_chunks(levels, len(csel)):
                        chunk = [
                            table([f"{v:.9g}" for v in levels[i]]) if i in rows else "{}"
                            for i in range(len(rsel))
                        ]
                        self.write(
                            f"mtjlab_scan_run({node}, {other}, {me}, {fixed}, {table(chunk)})"
                        )
                        self.check_errors()
                        n = len(csel) * sum(len(levels[i]) for i in rows)
                        readings = self._read_buffer(me, n)
                        start = 0
                        for i in rows:
                            size = len(csel) * len(levels[i])
                            out[i] = readings[start : start + size].reshape(len(csel), -1)
                            start += size
                finally:
                    # whatever happened in the script, the drive does not stay at a level
                    self.write(f"{other}.source.levelv=0")
            except BaseException:
                self._scan_script_loaded = False  # load it again next time, to be sure
                self.drain_errors()
                raise
        self.check_errors()
        return out

    @staticmethod
    def _check_scan_levels(
        drive: Keithley2600B, levels_v: Sequence[Sequence[float]], rows: int, cols: int
    ) -> list[list[float]]:
        levels = [list(row) for row in levels_v]
        if len(levels) != rows:
            raise ValueError(f"levels_v has {len(levels)} rows; it needs one per row ({rows})")
        checked = [[drive._check_voltage(v) for v in row] for row in levels]
        if not any(checked):
            raise ValueError("levels_v has no level at all; nothing to read")
        for i, row in enumerate(checked):
            if cols * len(row) > MAX_SCAN_READINGS:
                raise ValueError(
                    f"levels_v[{i}] has {len(row)} levels: {cols * len(row)} readings, more "
                    f"than one script run stores ({MAX_SCAN_READINGS}); split the vectors"
                )
        return checked

    def reaches_node(self, node: int) -> bool:
        """Whether TSP-Link node ``node`` is there (``node[N]`` is not nil); nothing is set.
        False on a model without TSP-Link, with nothing sent."""
        _check_node(node)
        if self.model in NO_TSP_LINK:
            return False
        reply = self.ask(f"print(node[{int(node)}] ~= nil)").strip()
        if reply not in ("true", "false"):
            raise self._failure(f"expected true or false for node[{int(node)}], got {reply!r}")
        self.check_errors()
        return reply == "true"

    def _read_buffer(self, smu: str, n: int) -> np.ndarray:
        """The first ``n`` readings of ``smu``'s nvbuffer1, in one print; anything else than
        ``n`` numbers is an error."""
        reply = self.ask(f"printbuffer(1,{n},{smu}.nvbuffer1.readings)")
        try:
            currents = np.array([float(x) for x in reply.split(",")], dtype=float)
        except ValueError:
            currents = np.array([])
        if currents.size != n:
            raise self._failure(f"expected {n} readings, got {reply!r}")
        return currents

    def _set_output(self, on: bool) -> None:
        self.smu.output_enabled = on

    def _set_level(self, voltage_v: float) -> None:
        self.smu.source_voltage = voltage_v

    def _safe_steps(self) -> list[tuple[str, Callable[[], object]]]:
        """Abort, turn the output off (first, so the junction is unpowered as early as
        possible), then leave a 0 V voltage source for whatever comes next."""
        return [
            ("abort", lambda: self.write(f"smu{self._channel}.abort()")),
            ("output off", lambda: setattr(self.smu, "output_enabled", False)),
            ("source voltage", lambda: setattr(self.smu, "source_function", "voltage")),
            ("level 0 V", lambda: setattr(self.smu, "source_voltage", 0.0)),
        ]
