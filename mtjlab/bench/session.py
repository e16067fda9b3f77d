"""A bench in a script's hands: a bench file's instruments connected (mtjlab's drivers on the
real instruments' VISA sessions, or on the emulators of an emulated bench), or the built-in
simulated bench, each handing out the ArrayBackend of an array and making it safe on exit.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import pyvisa
from pymeasure.adapters import VISAAdapter

from mtjlab.bench.drivers import build_drivers, build_reachable_drivers
from mtjlab.bench.emulated import EmulatedBench
from mtjlab.bench.file import load_bench
from mtjlab.bench.instrument_backend import BenchInstruments, InstrumentBackend
from mtjlab.core.wiring import Bench, InstrumentEntry
from mtjlab.sim.backend import SimulatedBackend
from mtjlab.sim.chip import BUILT_IN_PRESET, Chip, chip_spec
from mtjlab.sim.limits import chip_limits

#: The message terminator set on a raw socket (``TCPIP0::host::port::SOCKET``), which, unlike
#: GPIB, USB and VXI-11 (``::INSTR``), has no end-of-message signal of its own: every model
#: mtjlab drives ends a message with LF there (docs/bench-serve.md).
SOCKET_TERMINATION = "\n"


def is_visa_socket(resource: str) -> bool:
    """Whether ``resource`` is a VISA raw-socket resource, ``TCPIP[n]::host::port::SOCKET``."""
    return resource.strip().upper().endswith("::SOCKET")


class VISASession(VISAAdapter):
    """A VISA session whose transport failures end in one line naming the resource: a timeout
    as a TimeoutError, a lost connection as a ConnectionError. A write to a socket the
    instrument closed raises BrokenPipeError in pyvisa-py, which a command line would take for
    its own closed output; a VisaIOError is no OSError, so it would end in a traceback."""

    def _write(self, command: str, **kwargs) -> None:
        try:
            super()._write(command, **kwargs)
        except (pyvisa.errors.VisaIOError, OSError) as exc:
            raise self._transport_error(exc, f"sending {command[:40]!r}") from exc

    def _read(self, **kwargs) -> str:
        try:
            return super()._read(**kwargs)
        except (pyvisa.errors.VisaIOError, OSError) as exc:
            raise self._transport_error(exc, "reading a reply") from exc

    def _transport_error(self, exc: Exception, doing: str) -> OSError:
        where = f"{self.resource_name}: {doing}"
        code = getattr(exc, "error_code", None)
        if code == pyvisa.constants.StatusCode.error_timeout:
            return TimeoutError(f"{where}: no reply within the {self.connection.timeout:g} ms "
                                "timeout (VI_ERROR_TMO)")  # fmt: skip
        return ConnectionError(f"{where}: connection lost ({type(exc).__name__}: {exc})")


def _visa_sessions() -> Callable[[InstrumentEntry, int | None], VISAAdapter]:
    """A VISA session for each instrument, opened once per resource (instruments at one resource
    share it); a resource that could not be opened is not tried again for the next instrument
    at it, whose connection would fail the same way after the same wait."""
    adapters: dict[str, VISAAdapter] = {}
    failures: dict[str, Exception] = {}

    def session(entry: InstrumentEntry, timeout_ms: int | None) -> VISAAdapter:
        if entry.resource in failures:
            raise failures[entry.resource]
        if entry.resource not in adapters:
            try:
                terminations = (
                    {"read_termination": SOCKET_TERMINATION,
                     "write_termination": SOCKET_TERMINATION}
                    if is_visa_socket(entry.resource) else {}
                )  # fmt: skip
                adapters[entry.resource] = VISASession(
                    entry.resource, timeout=timeout_ms or 10_000, **terminations
                )
            except Exception as exc:
                failures[entry.resource] = exc
                raise
        return adapters[entry.resource]

    return session


def connect(bench: Bench):
    """The drivers of ``bench`` by instrument name, and the EmulatedBench behind them (None on a
    real bench). Instruments at one VISA resource share one session. The first instrument that
    cannot be connected stops it, with a one-line ConnectionError on a real bench."""
    if bench.kind == "emulated":
        emulated = EmulatedBench(bench)
        return emulated.drivers(), emulated
    drivers = build_drivers(
        bench, _visa_sessions(), lambda entry: entry.resource, named_errors=True
    )
    return drivers, None


def connect_reachable(
    bench: Bench,
) -> tuple[dict[str, object], dict[str, str], EmulatedBench | None]:
    """As :func:`connect`, for ``mtjlab bench check``, which reports every instrument it cannot
    reach rather than stopping at the first: the drivers of the instruments that could be
    connected, the one-line reason of each that could not (by name), and the EmulatedBench
    (None on a real bench)."""
    if bench.kind == "emulated":
        emulated = EmulatedBench(bench)
        drivers, unreachable = build_reachable_drivers(
            bench,  # the emulators' adapters and URLs, as EmulatedBench.drivers() uses them
            lambda entry, timeout_ms: emulated.adapter(entry.name),
            lambda entry: emulated.serial_url(entry.name),
        )
        return drivers, unreachable, emulated
    drivers, unreachable = build_reachable_drivers(
        bench, _visa_sessions(), lambda entry: entry.resource
    )
    return drivers, unreachable, None


class OpenBench:
    """A bench file's instruments connected, for a script: ``bench.array(i)`` is the
    ArrayBackend of wired array ``i`` with the file's limits (an emulated bench's chip's if the
    file states none). Every array handed out goes to its safe state when the ``with`` block
    ends, however it ends (outputs off, relays open)."""

    def __init__(self, bench: Bench) -> None:
        self.bench = bench
        self.emulated: EmulatedBench | None = None
        self._instruments: BenchInstruments | None = None
        if bench.kind == "emulated":
            self.emulated = EmulatedBench(bench)  # its backends share its own drivers
        else:
            drivers, _ = connect(bench)
            self._instruments = BenchInstruments(drivers)
        self._arrays: dict[int, InstrumentBackend] = {}

    @property
    def arrays(self) -> list[int]:
        """The arrays the bench file wires."""
        return sorted(self.bench.arrays)

    def array(self, index: int) -> InstrumentBackend:
        """The ArrayBackend of wired array ``index`` (the same object each time)."""
        if index not in self.bench.arrays:
            raise ValueError(
                f"array {index!r} is not wired on bench {self.bench.source}; wired: {self.arrays}"
            )
        if index not in self._arrays:
            if self.emulated is not None:
                backend = self.emulated.backend(index)
            else:
                # a real bench file states every limit, and its drivers are connected
                assert self.bench.limits is not None and self._instruments is not None
                backend = InstrumentBackend(
                    self.bench, index, self._instruments, limits=self.bench.limits
                )
            self._arrays[index] = backend
        return self._arrays[index]

    def safe_state(self) -> None:
        """Every array handed out to its safe state; the first failure is raised after all
        were tried."""
        errors = []
        for backend in self._arrays.values():
            try:
                backend.safe_state()
            except Exception as exc:  # the others still go safe
                errors.append(exc)
        if errors:
            raise errors[0]

    def __enter__(self) -> OpenBench:
        return self

    def __exit__(self, *exc: object) -> None:
        self.safe_state()


def open_bench(path: str | os.PathLike) -> OpenBench:
    """Connect the instruments of the bench file at ``path`` (real or emulated).

    Use it as ``with mtjlab.open_bench("my-bench.yaml") as bench: bench.array(0)``; an error in
    the file names the file, the key and the value before anything is connected.
    """
    return OpenBench(load_bench(path))


class SimulatedBench:
    """The built-in simulated bench, as :class:`OpenBench` is a bench file's: ``array(i)`` is
    a SimulatedBackend of array ``i`` of chip ``seed`` of ``preset`` (fields ``changes``d), all
    sharing the chip and its limits, each made safe when the ``with`` block ends."""

    def __init__(self, seed: int = 0, preset: str = BUILT_IN_PRESET, **changes: float) -> None:
        self.chip = Chip.from_seed(seed, chip_spec(preset, changes))
        self.limits = chip_limits(self.chip)
        self._arrays: dict[int, SimulatedBackend] = {}

    @property
    def arrays(self) -> list[int]:
        return list(range(len(self.chip.arrays)))

    def array(self, index: int) -> SimulatedBackend:
        if index not in self.arrays:
            raise ValueError(f"array {index!r} is not on the simulated chip; it has {self.arrays}")
        if index not in self._arrays:
            self._arrays[index] = SimulatedBackend(self.chip, index, limits=self.limits)
        return self._arrays[index]

    def safe_state(self) -> None:
        for backend in self._arrays.values():
            backend.safe_state()

    def __enter__(self) -> SimulatedBench:
        return self

    def __exit__(self, *exc: object) -> None:
        self.safe_state()


def simulated_bench(
    seed: int = 0, preset: str = BUILT_IN_PRESET, **changes: float
) -> SimulatedBench:
    """The built-in simulated bench: chip ``seed`` of ``preset`` with some fields changed
    (``r_row_ohm=0``); an unknown preset or field is a ValueError naming the known ones."""
    return SimulatedBench(seed, preset, **changes)
