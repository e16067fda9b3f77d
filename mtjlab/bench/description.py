"""What a run is measured on, as a typed description kept with the run: the built-in simulated
bench (a chip's seed, preset and changed fields) or a bench file (its text, kept whole).

A description gives the run its chip, limits, arrays and one ArrayBackend per array; a resumed run
rebuilds them from the stored form (``as_params``), so it drives the bench it started on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from mtjlab.bench.emulated import EmulatedBench
from mtjlab.bench.file import parse_bench_text, read_bench_text
from mtjlab.bench.instrument_backend import BenchInstruments, InstrumentBackend
from mtjlab.bench.session import connect
from mtjlab.core.backend import ArrayBackend
from mtjlab.core.limits import Limits
from mtjlab.core.wiring import Bench
from mtjlab.sim.backend import SimulatedBackend
from mtjlab.sim.chip import BUILT_IN_PRESET, Chip, ChipSpec, chip_spec
from mtjlab.sim.limits import chip_limits


class BenchDescriptionError(ValueError):
    """A stored bench description that cannot be used (a real bench where a chip is needed, or
    a kind this version does not know)."""


@dataclass(frozen=True)
class SimBench:
    """The built-in simulated bench: chip ``seed`` of ``preset``, some of its fields changed."""

    seed: int
    preset: str = BUILT_IN_PRESET
    changes: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.spec()  # an unknown preset or field is refused here, before a run is recorded

    @property
    def label(self) -> str:
        return bench_label(self.as_params())

    def as_params(self) -> dict:
        return {"kind": "sim", "seed": int(self.seed), "preset": self.preset,
                "changes": dict(self.changes)}  # fmt: skip

    def spec(self) -> ChipSpec:
        return chip_spec(self.preset, self.changes)

    def chip(self) -> Chip:
        return Chip.from_seed(int(self.seed), self.spec())

    def arrays(self) -> list[int]:
        return list(range(len(self.spec().diameters_nm)))

    def shape(self, array: int) -> tuple[int, int]:
        """Rows and columns of ``array`` (every array of a simulated die has the same)."""
        spec = self.spec()
        return spec.rows, spec.cols

    def limits(self) -> Limits:
        return chip_limits(self.chip())

    def backends(self, arrays: list[int], limits: Limits | None = None) -> dict[int, ArrayBackend]:
        """A SimulatedBackend per array, sharing the chip and its limits (``limits``, or else the
        chip's own, derived once: every array of a die has the die's limits)."""
        chip = self.chip()
        limits = limits or chip_limits(chip)
        return {a: SimulatedBackend(chip, a, limits=limits) for a in arrays}

    def snapshot(self) -> dict:
        """What the run store keeps of the bench: the chip and its safety limits."""
        chip = self.chip()
        return {"bench": self.as_params(), "chip": chip.describe(),
                "limits": chip_limits(chip).as_dict()}  # fmt: skip


@dataclass(frozen=True)
class FileBench:
    """A bench file, its text kept so a resumed run drives the bench it started on even if the
    file changed since; ``seed`` is its emulated chip's (None on a real bench)."""

    path: str
    text: str
    seed: int | None = None

    @classmethod
    def read(cls, path: str | Path) -> FileBench:
        text = read_bench_text(path)  # the text checked is the text kept
        loaded = parse_bench_text(text, str(path))  # every error names file, key and value
        bench = cls(str(path), text, loaded.chip["seed"] if loaded.chip else None)
        bench.__dict__["_loaded"] = loaded  # checked already: the cache of loaded()
        return bench

    @property
    def label(self) -> str:
        return bench_label(self.as_params())

    def as_params(self) -> dict:
        return {"kind": "file", "path": self.path, "text": self.text, "seed": self.seed}

    def loaded(self) -> Bench:
        """The checked bench file (checked once: its text is what the description keeps)."""
        return self._loaded

    @cached_property
    def _loaded(self) -> Bench:
        # cached_property writes the instance's __dict__, which a frozen dataclass allows
        return parse_bench_text(self.text, self.path)

    def _emulated_chip(self) -> SimBench:
        chip = self.loaded().chip
        if chip is None:
            raise BenchDescriptionError(
                f"bench file {self.path} is a real bench, with no simulated chip"
            )
        return SimBench(chip["seed"], chip.get("preset", BUILT_IN_PRESET), chip.get("changes", {}))

    def spec(self) -> ChipSpec:
        return self._emulated_chip().spec()

    def chip(self) -> Chip:
        return self._emulated_chip().chip()

    def arrays(self) -> list[int]:
        return sorted(self.loaded().arrays)

    def shape(self, array: int) -> tuple[int, int]:
        """Rows and columns of ``array``: the row and column pads the file wires."""
        wiring = self.loaded().arrays[array]
        return len(wiring.rows), len(wiring.cols)

    def limits(self) -> Limits:
        """The bench file's own limits, or else its emulated chip's."""
        loaded = self.loaded()
        return loaded.limits if loaded.limits is not None else chip_limits(self.chip())

    def backends(self, arrays: list[int], limits: Limits | None = None) -> dict[int, ArrayBackend]:
        """The InstrumentBackend of each array, on the file's emulated or real instruments, under
        ``limits`` (or else the file's own, or its emulated chip's)."""
        loaded = self.loaded()
        unwired = sorted(set(arrays) - set(loaded.arrays))
        if unwired:
            raise ValueError(
                f"array(s) {unwired} are not wired on bench {self.path}; "
                f"wired: {sorted(loaded.arrays)}"
            )
        if loaded.kind == "emulated":
            emulated = EmulatedBench(loaded)
            return {a: emulated.backend(a, limits=limits) for a in arrays}
        drivers, _ = connect(loaded)
        shared = BenchInstruments(drivers)  # one matrix and one set of sources for every array
        assert loaded.limits is not None  # a real bench file states them all
        limits = limits or loaded.limits
        return {a: InstrumentBackend(loaded, a, shared, limits=limits) for a in arrays}

    def snapshot(self) -> dict:
        loaded = self.loaded()
        snapshot: dict = {"bench": {"kind": "file", "path": self.path, "name": loaded.name}}
        chip = None if loaded.chip is None else self.chip()
        if chip is not None:
            snapshot["chip"] = chip.describe()
        if loaded.limits is not None:
            snapshot["limits"] = loaded.limits.as_dict()
        else:  # an emulated bench without its own limits: its chip's (a real one states them)
            assert chip is not None
            snapshot["limits"] = chip_limits(chip).as_dict()
        return snapshot


BenchDescription = SimBench | FileBench


def bench_label(params: dict) -> str:
    """How a stored bench description reads in a title (its kind, file name or chip), from the
    stored form alone: a bench file's text need not be at hand."""
    if params.get("kind") == "file":
        label = f"bench {Path(params['path']).name}"
        seed = params.get("seed")
        return label if seed is None else label + f" (emulated, chip {seed})"
    return f"simulated chip {params['seed']} ({params.get('preset', BUILT_IN_PRESET)})"


def from_params(params: dict) -> BenchDescription:
    """The description a run stored (``as_params``)."""
    kind = params.get("kind")
    if kind == "sim":
        return SimBench(int(params["seed"]), params.get("preset", BUILT_IN_PRESET),
                        dict(params.get("changes", {})))  # fmt: skip
    if kind == "file":
        return FileBench(params["path"], params["text"], params.get("seed"))
    raise BenchDescriptionError(
        f"bench kind {kind!r} is not supported here (only 'sim' and 'file')"
    )
