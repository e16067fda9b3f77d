"""An emulated bench: every instrument of a bench file as an emulator on its wire protocol, all
acting on the bench's simulated chip through its matrix, on one virtual clock.

``EmulatedBench(bench).adapter(name)`` is a pymeasure Adapter for a VISA instrument, so any driver
(mtjlab's or pymeasure's own) works unchanged; the serial matrix is reached at its pyserial URL
``emulated://<name>``. ``drivers()`` connects mtjlab's drivers, and ``backend(array)`` is the
InstrumentBackend a protocol runs on, byte for byte the code path of a real bench.
"""

from __future__ import annotations

import struct
from collections import defaultdict
from typing import Any

from mtjlab.bench.drivers import build_drivers
from mtjlab.bench.instrument_backend import BenchInstruments, InstrumentBackend
from mtjlab.core.limits import Limits
from mtjlab.core.wiring import Bench, InstrumentEntry
from mtjlab.sim.chip import Chip, chip_spec
from mtjlab.sim.emulators.base import EmulatedInstrument, EmulatorAdapter, VirtualClock
from mtjlab.sim.emulators.circuit import SMU_LO, BenchCircuit
from mtjlab.sim.emulators.keithley707b import Keithley707BEmulator, Keithley708BEmulator
from mtjlab.sim.emulators.keithley2400 import Keithley2400Emulator
from mtjlab.sim.emulators.keithley2450 import Keithley2450Emulator
from mtjlab.sim.emulators.keithley2600b import Keithley2600BEmulator
from mtjlab.sim.emulators.keysight33500b import Keysight33500BEmulator
from mtjlab.sim.emulators.keysight81160a import Keysight81150AEmulator, Keysight81160AEmulator
from mtjlab.sim.emulators.protocol_emulated import enable_emulated_urls, register
from mtjlab.sim.emulators.serial_matrix import SerialMatrixEmulator
from mtjlab.sim.limits import chip_limits

#: The emulator of each driver model.
EMULATORS: dict[str, type[EmulatedInstrument]] = {
    "keithley2400": Keithley2400Emulator,
    "keithley2450": Keithley2450Emulator,
    "keithley2600b": Keithley2600BEmulator,
    "keysight33500b": Keysight33500BEmulator,
    "keysight81160a": Keysight81160AEmulator,
    "keysight81150a": Keysight81150AEmulator,
    "keithley707b": Keithley707BEmulator,
    "keithley708b": Keithley708BEmulator,
    "serial_matrix": SerialMatrixEmulator,
}
SOURCE_METERS = ("keithley2400", "keithley2450", "keithley2600b")
PULSE_GENERATORS = ("keysight33500b", "keysight81160a", "keysight81150a")


class ClockedState:
    """An emulated array's state for a run that resumes, with the bench time and the commands so
    far.

    A resumed dry run starts a new emulated bench, whose clock starts at 0 and whose instruments
    have received nothing: its bench time and command count would cover only the units measured
    after the resume. The state a unit commits therefore carries the clock's time and the
    commands sent, and putting it back moves the clock and the count on to the latest such
    values (several arrays put back their states in turn). A state stored with the time alone,
    or with neither (a run stored before), is put back with what it has.
    """

    _TAG = b"mtjlab bench time\x00"  # the time alone
    _TAG_COUNTED = b"mtjlab bench time+commands\x00"  # the time and the commands sent

    def __init__(self, array: Any, clock: VirtualClock, bench: EmulatedBench | None = None) -> None:
        self.array = array
        self.clock = clock
        self.bench = bench

    def snapshot_state(self) -> bytes:
        if self.bench is None:
            return self._TAG + struct.pack("<d", self.clock.now_s) + self.array.snapshot_state()
        counted = struct.pack("<dq", self.clock.now_s, self.bench.round_trips())
        return self._TAG_COUNTED + counted + self.array.snapshot_state()

    def restore_state(self, blob: bytes) -> None:
        bench_time_s, commands, blob = self.unpack(blob)
        if bench_time_s is not None:
            self.clock.now_s = max(self.clock.now_s, bench_time_s)
        if commands is not None and self.bench is not None:
            self.bench.commands_before = max(self.bench.commands_before, commands)
        self.array.restore_state(blob)

    @classmethod
    def unpack(cls, blob: bytes) -> tuple[float | None, int | None, bytes]:
        """The bench time and the commands sent that a stored state carries (None for what it
        was stored without), and the array's own state."""
        if blob.startswith(cls._TAG_COUNTED):
            bench_time_s, commands = struct.unpack_from("<dq", blob, len(cls._TAG_COUNTED))
            return bench_time_s, commands, blob[len(cls._TAG_COUNTED) + 16 :]
        if blob.startswith(cls._TAG):
            (bench_time_s,) = struct.unpack_from("<d", blob, len(cls._TAG))
            return bench_time_s, None, blob[len(cls._TAG) + 8 :]
        return None, None, blob

    @classmethod
    def split(cls, blob: bytes) -> tuple[float | None, bytes]:
        """The bench time a stored state carries (None for one stored without it) and the
        array's own state."""
        bench_time_s, _, rest = cls.unpack(blob)
        return bench_time_s, rest


class EmulatedBench:
    """The emulators, circuit and clock of an emulated bench file."""

    def __init__(self, bench: Bench) -> None:
        if bench.kind != "emulated" or bench.chip is None:
            raise ValueError(f"bench {bench.name!r} is a {bench.kind} bench, not an emulated one")
        self.bench = bench
        chip = bench.chip
        self.chip = Chip.from_seed(chip["seed"], chip_spec(chip["preset"], chip["changes"]))
        self.clock = VirtualClock()
        self.circuit = BenchCircuit(bench, self.chip, self.clock)
        by_resource: dict[str, list[InstrumentEntry]] = defaultdict(list)
        for entry in bench.instruments.values():
            by_resource[entry.resource].append(entry)
        #: One emulator per resource (the two channels of a 2636B are one instrument).
        self.emulators: dict[str, EmulatedInstrument] = {}
        for resource, entries in by_resource.items():
            models = {e.model for e in entries}
            if len(models) != 1:
                raise ValueError(
                    f"bench {bench.name!r}: resource {resource!r} is given as {sorted(models)}"
                )
            self.emulators[resource] = self._emulator(entries[0].model, resource, entries)
        if bench.tsp_link_node is not None:
            # the matrix as a node of the read source-meter's TSP-Link (a 2600B)
            reader = self.emulator(str(bench.terminals["smu_hi"].instrument))
            reader.link(  # type: ignore[attr-defined]
                bench.tsp_link_node,
                self.emulator(bench.matrix),
                bench.timing["tsp_link_latency_s"],
            )
        self._adapters: dict[str, EmulatorAdapter] = {}
        #: Commands a resumed run's earlier sessions sent (:class:`ClockedState`).
        self.commands_before = 0
        self._instruments: BenchInstruments | None = None  # what the backends share

    def _emulator(self, model: str, resource: str, entries: list[InstrumentEntry]):
        cls: Any = EMULATORS[model]
        timing = self.bench.timing
        if model in SOURCE_METERS or model in PULSE_GENERATORS:
            terminals = {}
            for e in entries:
                channel = e.options.get("channel", "smu" if model != "keithley2600b" else "a")
                if model in PULSE_GENERATORS:
                    channel = int(e.options.get("channel", 1))
                sources = [
                    t.name
                    for t in self.bench.terminals.values()
                    if t.instrument == e.name and t.name != SMU_LO
                ]
                if sources:
                    terminals[channel] = sources[0]
            kwargs: dict = {"name": resource, "clock": self.clock}
            if model in SOURCE_METERS:
                kwargs["line_frequency_hz"] = timing["line_frequency_hz"]
            emulator = cls(self.circuit, terminals, **kwargs)
        else:
            emulator = cls(
                self.circuit,
                name=resource,
                clock=self.clock,
                relay_settle_s=timing["relay_settle_s"],
                **{k: v for k, v in entries[0].options.items() if k in ("rows", "columns")},
            )
        emulator.command_latency_s = timing["command_latency_s"]
        return emulator

    # -- reaching the instruments ---------------------------------------------------------------

    def emulator(self, name: str) -> EmulatedInstrument:
        """The emulator behind the bench file's instrument ``name``."""
        return self.emulators[self.bench.instruments[name].resource]

    def adapter(self, name: str) -> EmulatorAdapter:
        """A pymeasure Adapter to instrument ``name``; instruments at one resource share it."""
        resource = self.bench.instruments[name].resource
        if resource not in self._adapters:
            self._adapters[resource] = EmulatorAdapter(self.emulators[resource])
        return self._adapters[resource]

    def serial_url(self, name: str) -> str:
        """The pyserial URL of a serial instrument, registered so ``serial_for_url`` finds it."""
        resource = self.bench.instruments[name].resource
        enable_emulated_urls()
        register(resource.split("://", 1)[-1], self.emulators[resource])
        return resource

    def drivers(self) -> dict[str, object]:
        """mtjlab's driver of every instrument, connected to its emulator (built as a real
        bench's are, on the emulators' adapters and serial URLs)."""
        return build_drivers(
            self.bench,
            lambda entry, timeout_ms: self.adapter(entry.name),
            lambda entry: self.serial_url(entry.name),
        )

    def backend(self, array: int, limits: Limits | None = None, **kwargs):
        """The InstrumentBackend of ``array`` on this bench's emulated instruments (the arrays
        of one bench share its drivers and what is known of their state); limits are the bench
        file's, or else the chip's own. Its state (for a run that resumes) is the emulated
        array's."""
        if self._instruments is None:
            self._instruments = BenchInstruments(self.drivers())
        limits = limits or self.bench.limits or chip_limits(self.chip)
        backend = InstrumentBackend(
            self.bench, array, self._instruments, limits=limits,
            state=ClockedState(self.circuit.arrays[array], self.clock, self), **kwargs,
        )  # fmt: skip
        backend.emulated = self
        return backend

    def transcripts(self) -> dict[str, list]:
        """What each emulator received and sent, by resource."""
        return {resource: e.transcript for resource, e in self.emulators.items()}

    def round_trips(self) -> int:
        """Commands sent to all instruments so far, those of the sessions before a resume
        included (``commands_before``, from the states put back)."""
        return self.commands_before + sum(len(e.received()) for e in self.emulators.values())
