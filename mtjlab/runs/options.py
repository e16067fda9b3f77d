"""An experiment's options, declared once: each with its name (the Python keyword and the stored
parameter), its command-line flag and help, its default, and how a value is checked, from the
command line's text or from Python. The command line and the Python API are built from these.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from mtjlab.bench.description import BenchDescription, FileBench, SimBench
from mtjlab.core.limits import Limits
from mtjlab.core.schemes import WRITE_SCHEMES
from mtjlab.protocols.write import DEFAULT_RAMP_AP_TO_P, DEFAULT_RAMP_P_TO_AP, WRITE_ORDERS, Ramp
from mtjlab.runs.values import (
    ARRAY_INDEX,
    ARRAY_LIST,
    CELL,
    CHIP_CHANGE,
    FLAG,
    NON_NEGATIVE_INT,
    PATH,
    POSITIVE_INT,
    RAMP,
    SECONDS,
    TEXT,
    VOLTS,
    OptionError,
    ValueKind,
    bounded,
)
from mtjlab.sim.chip import BUILT_IN_PRESET, PRESET_ALIASES, PRESET_RAMPS_V, PRESETS

#: How many arrays the built-in simulated die has (for help texts; a bench says its own).
N_SIM_ARRAYS = 5


# -- options -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Option:
    """One option of an experiment.

    ``name`` is the Python keyword and the argparse destination; ``flag`` the command-line
    flag (None for a positional argument). ``many`` is ``"+"`` for one or more values after the
    flag, ``"append"`` for a repeatable flag; a ``FLAG`` kind is a switch (store_true).
    """

    name: str
    flag: str | None
    kind: ValueKind
    default: Any = None
    help: str = ""
    metavar: str | None = None
    choices: tuple[str, ...] | None = None
    many: str | None = None
    group: str | None = None

    def take(self, value: Any) -> Any:
        """A value from Python, checked (and text parsed) as the command line would."""
        if value is None and self.default is None:
            return None
        if self.many is not None:
            if isinstance(value, str) or not isinstance(value, Sequence):
                value = [value]
            taken = [self.kind.take(v) for v in value]
        else:
            taken = self.kind.take(value)
        if self.choices is not None and taken not in self.choices:
            raise OptionError(
                f"{self.name}={value!r} is not allowed; allowed: {', '.join(self.choices)}"
            )
        return taken

    def add_to(self, parser: argparse.ArgumentParser | Any) -> None:
        """Add this option to an argparse parser or argument group, as the CLI shows it."""
        kwargs: dict[str, Any] = {"help": self.help}
        if self.kind is FLAG:
            parser.add_argument(self.flag, action="store_true", **kwargs)
            return
        if self.choices is not None:
            kwargs["choices"] = self.choices
        elif self.kind is not TEXT:
            kwargs["type"] = self.kind
        if self.metavar is not None:
            kwargs["metavar"] = self.metavar
        if self.many == "+":
            kwargs["nargs"] = "+"
        elif self.many == "append":
            kwargs["action"] = "append"
        if self.flag is None:
            parser.add_argument(self.name, **kwargs)
            return
        default = self.default
        if self.many == "append" and default is not None:
            default = list(default)
        if default is not None:
            kwargs["default"] = default
        if self.flag.lstrip("-").replace("-", "_") != self.name:
            kwargs["dest"] = self.name
        parser.add_argument(self.flag, **kwargs)


def with_help(option: Option, text: str, **changes: Any) -> Option:
    """``option`` as one experiment words it."""
    return replace(option, help=text, **changes)


BENCH = Option(
    "bench",
    "--bench",
    PATH,
    metavar="FILE",
    help="a bench file (docs/bench.md; examples/ has the emulated and a real one): the run "
    "drives its instruments, and on an emulated bench reports the bench time it would take "
    "(default: the built-in simulated chip)",
)
SEED = Option(
    "seed",
    "--seed",
    NON_NEGATIVE_INT,
    default=0,
    help="seed of the simulated chip: the same seed is the same chip (default 0)",
)
ARRAY = Option(
    "array",
    "--array",
    ARRAY_INDEX,
    default=1,
    help=f"which array: of the simulated die, 0 to {N_SIM_ARRAYS - 1} (default 1, the 50 nm "
    "devices); with --bench, one the file wires",
)
ARRAYS = Option(
    "arrays",
    "--arrays",
    ARRAY_LIST,
    help="arrays to characterize, such as 0,2,4, or 'all' (default all; with --bench, "
    "the wired ones)",
)
#: The cells an experiment on single cells takes (each experiment words its help).
CELLS = Option(
    "cells", "--cells", CELL, default=[(7, 7)], metavar="ROW,COL", many="+", help="cells"
)
#: The bench options of an experiment on one array, and of one on many.
ON_ONE_ARRAY = (BENCH, SEED, ARRAY)
ON_MANY_ARRAYS = (BENCH, SEED, ARRAYS)

#: The built-in simulated chip's preset and changes to its fields, for an experiment a sweep can
#: vary the chip of (each experiment may word them and choose its default preset).
CHIP = Option(
    "chip",
    "--chip",
    TEXT,
    default=BUILT_IN_PRESET,
    metavar="PRESET",
    help=f"simulated chip preset: {', '.join(sorted(PRESETS))} (default {BUILT_IN_PRESET!r}; "
    "'default' is its old name; see docs/device-model.md)",
)
CHIP_SET = Option(
    "chip_set",
    "--chip-set",
    CHIP_CHANGE,
    default=(),
    many="append",
    metavar="FIELD=VALUE",
    help="change one field of the chip preset, such as r_row_ohm=0 or p_open=0.01 "
    "(repeatable; fields in docs/device-model.md)",
)


def chip_bench(options: dict, default_preset: str = BUILT_IN_PRESET) -> BenchDescription:
    """The bench of an experiment with ``chip`` and ``chip_set``: the bench file if one is given
    (and then no chip option, which describe the built-in chip only), else the built-in
    simulated chip ``seed`` of that preset with those changes."""
    if options["bench"] is None:
        return SimBench(options["seed"], options["chip"], dict(options["chip_set"]))
    if options["chip"] != default_preset or options["chip_set"]:
        raise OptionError(
            "--chip and --chip-set describe the built-in simulated chip; with --bench the "
            "bench file says what is behind its matrix"
        )
    return FileBench.read(options["bench"])


def _ramp_default(ramp: Ramp) -> tuple[float, float, float]:
    return ramp.start_v, ramp.step_v, ramp.stop_v


#: Going outside the disturb envelope, said on the command line and recorded with the run.
ALLOW_DISTURB = Option(
    "allow_disturb",
    "--allow-disturb",
    FLAG,
    default=False,
    help="let pulses put up to the write limit on the devices they do not select, outside the "
    "disturb envelope (limits.max_unselected_v); the run records it",
)

#: The reason the limits carry when a run goes outside the disturb envelope.
DISTURB_ALLOWED = "lifted by --allow-disturb (allow_disturb=True) for this run"


def disturb_allowed(limits: Limits, options: dict) -> Limits:
    """The limits a run measures under: the bench's, with the disturb envelope lifted when the
    run's ``allow_disturb`` says so."""
    return limits.allowing_disturb(DISTURB_ALLOWED) if options.get("allow_disturb") else limits


_WV = "write-verify"
SCHEME = Option(
    "scheme",
    "--scheme",
    TEXT,
    default="v/2",
    choices=WRITE_SCHEMES,
    help="half-select scheme (default v/2)",
)
#: The write-verify options, as the write and fidelity commands group them.
WRITE_VERIFY = (
    replace(SCHEME, group=_WV),
    Option(
        "width_s",
        "--width",
        SECONDS,
        default=100e-9,
        help="pulse width: seconds, or with ns/us/ms (default 100ns)",
        group=_WV,
    ),
    Option(
        "p_to_ap_ramp_v",
        "--p-to-ap",
        RAMP,
        default=_ramp_default(DEFAULT_RAMP_P_TO_AP),
        metavar="START,STEP,STOP",
        help="amplitude ramp of P->AP pulses in volts (default "
        + ",".join(f"{v:g}" for v in _ramp_default(DEFAULT_RAMP_P_TO_AP))
        + ")",
        group=_WV,
    ),
    Option(
        "ap_to_p_ramp_v",
        "--ap-to-p",
        RAMP,
        default=_ramp_default(DEFAULT_RAMP_AP_TO_P),
        metavar="START,STEP,STOP",
        help="amplitude ramp of AP->P pulses in volts (default "
        + ",".join(f"{v:g}" for v in _ramp_default(DEFAULT_RAMP_AP_TO_P))
        + ")",
        group=_WV,
    ),
    Option(
        "max_attempts",
        "--max-attempts",
        bounded(POSITIVE_INT, 1000),
        default=6,
        help="pulses a cell may get before it is reported stuck (default 6)",
        group=_WV,
    ),
    Option(
        "max_passes",
        "--max-passes",
        bounded(POSITIVE_INT, 1000),
        default=12,
        help="verify passes at most (default 12)",
        group=_WV,
    ),
    Option(
        "order",
        "--order",
        TEXT,
        default="row-major",
        choices=WRITE_ORDERS,
        help="pulse order (default row-major)",
        group=_WV,
    ),
    Option(
        "v_read_v",
        "--v-read",
        VOLTS,
        default=0.1,
        help="verify read voltage in volts (default 0.1)",
        group=_WV,
    ),
)


#: The ramps of write-verify, which a chip preset may have its own of.
_RAMPS = ("p_to_ap_ramp_v", "ap_to_p_ramp_v")
_DEFAULT_RAMPS = {o.name: o.default for o in WRITE_VERIFY if o.name in _RAMPS}


def _volts(ramp: Sequence[float]) -> str:
    return ",".join(f"{v:g}" for v in ramp)


def _preset_ramp(o: Option) -> Option:
    """A write-verify ramp whose default is the chip preset's."""
    i = _RAMPS.index(o.name)
    others = "; ".join(f"{name}: {_volts(r[i])}" for name, r in sorted(PRESET_RAMPS_V.items()))
    return replace(
        o,
        default=None,
        help=o.help.split(" (default")[0]
        + f" (default: the chip preset's, {_volts(o.default)}; {others})",
    )


#: The write-verify options of an experiment with ``--chip``: its ramps default to the chip
#: preset's (:data:`~mtjlab.sim.chip.PRESET_RAMPS_V`: the reference die's window is above the
#: default ramps).
WRITE_VERIFY_ON_CHIP = tuple(_preset_ramp(o) if o.name in _RAMPS else o for o in WRITE_VERIFY)


def chip_ramps(options: dict, bench: BenchDescription) -> dict[str, list[float]]:
    """The stored ramps of a run: each one given, else the simulated chip preset's, else the
    default ramps (a bench file's chip, or a preset without ramps of its own)."""
    preset = PRESET_ALIASES.get(bench.preset, bench.preset) if isinstance(bench, SimBench) else ""
    own = PRESET_RAMPS_V.get(preset, [_DEFAULT_RAMPS[name] for name in _RAMPS])
    p_to_ap, ap_to_p = (
        options.get(name) if options.get(name) is not None else given
        for name, given in zip(_RAMPS, own, strict=True)
    )
    return {"ramp_p_to_ap": list(p_to_ap), "ramp_ap_to_p": list(ap_to_p)}


# -- what every experiment does with them --------------------------------------------------------


def bench_of(bench: Path | str | None, seed: int) -> BenchDescription:
    """The bench a run is on: a bench file, or else the built-in simulated chip ``seed``."""
    return FileBench.read(bench) if bench is not None else SimBench(seed)


def arrays_on(bench: BenchDescription, asked: list[int] | None) -> list[int]:
    """The arrays asked for (every array the bench reaches if None), each checked to be on
    the bench: a bench file's wired arrays, or the simulated chip's."""
    reachable = bench.arrays()
    if asked is None:
        return reachable
    missing = sorted(set(asked) - set(reachable))
    if missing:
        where = f"bench {bench.path}" if isinstance(bench, FileBench) else "the simulated chip"
        raise OptionError(f"array(s) {missing} are not on {where}; it has {reachable}")
    return asked


def write_params(options: dict, bench: BenchDescription) -> dict:
    """The stored write-verify parameters from the write-verify options on ``bench`` (ramps not
    given are the chip preset's: :func:`chip_ramps`)."""
    return {
        "scheme": options["scheme"],
        "width_s": options["width_s"],
        **chip_ramps(options, bench),
        "max_attempts": options["max_attempts"],
        "max_passes": options["max_passes"],
        "order": options["order"],
        "v_read_v": options["v_read_v"],
    }


def check_write_params(write: dict, limits: Limits) -> None:
    """The verify read and the ramps' tops against the bench's limits, the disturb envelope
    included."""
    limits.check_read(write["v_read_v"])
    for key, polarity in (("ramp_p_to_ap", 1), ("ramp_ap_to_p", -1)):
        limits.check_write(write.get("scheme", "v/2"), write[key][2], write["width_s"], polarity)


def check_cells(cells: list[tuple[int, int]], shape: tuple[int, int]) -> list[list[int]]:
    """The cells asked for, each on the array, repeats dropped, as stored."""
    for row, col in cells:
        if row >= shape[0] or col >= shape[1]:
            raise OptionError(
                f"--cells {row},{col}: out of range; the array has rows and columns 0 to "
                f"{shape[0] - 1}"
            )
    return [list(c) for c in dict.fromkeys(tuple(c) for c in cells)]
