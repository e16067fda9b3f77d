"""The bench file: one YAML file that names a bench's instruments, how they reach the arrays
through the switch matrix, its safety limits, and for an emulated bench the chip behind it.

Everything is checked on load, and every mistake found is reported at once, one line each naming
the file, the key, the value and what is allowed.
What each read and write scheme needs of the wiring is in ``docs/bench.md``.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from mtjlab.bench._checker import Checker, did_you_mean, key_path
from mtjlab.bench._limits_section import limits_section, within_the_chips
from mtjlab.core.wiring import (
    TERMINAL_ROLES,
    TERMINALS,
    ArrayWiring,
    Bench,
    InstrumentEntry,
    Terminal,
)
from mtjlab.instruments import DRIVERS, SwitchMatrix, driver_for
from mtjlab.instruments.registry import ROLES, role_of
from mtjlab.instruments.roles import ChannelSpecError
from mtjlab.sim.chip import BUILT_IN_PRESET, Chip, chip_spec

KINDS = ("emulated", "real")
#: Bounds of a bench file's text: far above any bench (the built-in one is about 2 KB).
MAX_BENCH_CHARS = 1_000_000
MAX_YAML_ALIASES = 100
MAX_YAML_DEPTH = 20
#: The longest relay settling, latency or VISA timeout a bench file may state: anything longer
#: is a typo in the unit (a latency of 1e308 s stops a dry run for ever).
MAX_TIMING_S = 60.0
MAX_TIMEOUT_MS = 600_000
TIMING_DEFAULTS = {
    "relay_settle_s": 3e-3,
    "line_frequency_hz": 50.0,
    "command_latency_s": 1e-3,
    "tsp_link_latency_s": 1e-3,
}
#: Matrix models a 2600B script can switch over TSP-Link (``node[N].channel``).
TSP_LINK_MATRICES = ("keithley707b", "keithley708b")


class BenchFileError(ValueError):
    """A bench file that cannot be used: ``problems`` holds every mistake found in it, one line
    each naming the file, the key and the value; the message is those lines, one under another.
    """

    def __init__(self, problems: str | Sequence[str]) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))

    def __reduce__(self) -> tuple[type[BenchFileError], tuple[list[str]]]:
        return type(self), (self.problems,)


def crosspoint(bench: Bench, terminal: str, pad: str) -> str:
    """The matrix channel that joins ``terminal`` to matrix column ``pad`` on ``bench``."""
    matrix = _matrix_driver(bench.instruments[bench.matrix].model)
    return matrix.crosspoint(bench.terminals[terminal].matrix_row, pad)


# -- loading --------------------------------------------------------------------------------------


def load_bench(path: str | os.PathLike) -> Bench:
    """Read and check the bench file at ``path``."""
    return parse_bench_text(read_bench_text(path), str(path))


def read_bench_text(path: str | os.PathLike) -> str:
    """The text of the bench file at ``path`` (as a run keeps it)."""
    p = Path(path)
    try:
        return p.read_text(encoding="utf-8")
    except OSError as exc:
        raise BenchFileError(f"{p}: cannot read the bench file: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise BenchFileError(f"{p}: not a text file (UTF-8)") from None


def parse_bench_text(text: str, source: str) -> Bench:
    """Check a bench file's text, read from ``source``."""
    if len(text) > MAX_BENCH_CHARS:
        raise BenchFileError(
            f"{source}: {len(text)} characters; a bench file is at most {MAX_BENCH_CHARS}"
        )
    try:
        _check_yaml_shape(text, source)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at line {where.line + 1}, column {where.column + 1}" if where else ""
        raise BenchFileError(
            f"{source}: not valid YAML{at}: {getattr(exc, 'problem', exc)}"
        ) from None
    return parse_bench(data, source)


def _check_yaml_shape(text: str, source: str) -> None:
    """Refuse, from the parser's events and before any value is built, what no bench needs and
    an attack on the loader would: more than a few aliases (a 2.4 KB alias bomb expands to
    gigabytes), or nesting deeper than a few levels (thousands end in RecursionError)."""
    aliases = depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.AliasEvent):
            aliases += 1
            if aliases > MAX_YAML_ALIASES:
                raise BenchFileError(
                    f"{source}: more than {MAX_YAML_ALIASES} YAML aliases (*name); write the "
                    "values out"
                )
        elif isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_YAML_DEPTH:
                mark = event.start_mark
                raise BenchFileError(
                    f"{source}: nested deeper than {MAX_YAML_DEPTH} levels at line "
                    f"{mark.line + 1}; a bench file has a few"
                )
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1


def builtin_bench_path() -> Path:
    """The built-in emulated bench (also ``examples/emulated-bench.yaml``)."""
    return Path(__file__).with_name("benches") / "emulated.yaml"


def parse_bench(data: object, source: str = "<bench>") -> Bench:
    """Check a bench description (the YAML file's content) and return it as a :class:`Bench`.

    Every mistake found is reported, in one :class:`BenchFileError`: a mistake in one entry
    stops the checks of what depends on that entry, not of the others.
    """
    c = Checker(source)
    bench = None
    with c.part():
        bench = _bench(c, data, source)
    if c.problems:
        raise BenchFileError(c.problems)
    assert bench is not None
    return bench


def _bench(c: Checker, data: object, source: str) -> Bench:
    top = c.mapping(data, "")
    with c.part():
        c.keys(top, "", required=("kind", "instruments", "terminals", "arrays"),
               optional=("version", "name", "chip", "limits", "timing", "tsp_link"))  # fmt: skip
    with c.part():
        version = top.get("version", 1)
        if version != 1:
            c.fail("version", version, "1 (the only version so far)")
    name = kind = None
    with c.part():
        name = c.text(top.get("name", Path(source).stem), "name")
    if "kind" in top:
        with c.part():
            kind = c.choice(top["kind"], "kind", KINDS)
    # The wiring, each section on the one before: a section whose input was refused is skipped.
    instruments = matrix = terminals = arrays = None
    if "instruments" in top:
        with c.part():
            instruments = _instruments(c, top["instruments"])
    if instruments is not None:
        with c.part():
            matrix = _the_matrix(c, instruments)
        if matrix is not None and "terminals" in top:
            with c.part():
                terminals = _terminals(c, top["terminals"], instruments, matrix)
        if matrix is not None and terminals and "arrays" in top:  # (a pad is tried on a row)
            with c.part():
                arrays = _arrays(c, top["arrays"], instruments[matrix], terminals)
    chip = None
    if kind == "emulated":
        with c.part():
            chip = _chip(c, top.get("chip"))
        if chip is not None and arrays is not None:
            _arrays_on_the_chip(c, arrays, chip["spec"])
    elif kind == "real" and "chip" in top:
        with c.part():
            c.fail("chip", top["chip"], "no chip section on a real bench (its chip is real)")
    limits = None
    with c.part():
        limits = limits_section(c, top.get("limits"), required=kind == "real")
    if chip is not None and limits is not None:
        within_the_chips(c, limits, Chip.from_seed(chip["seed"], chip["spec"]))
    timing = None
    with c.part():
        timing = _timing(c, top.get("timing", {}))
    tsp_link_node = None
    if "tsp_link" in top:
        with c.part():
            tsp_link_node = _tsp_link(c, top["tsp_link"], instruments, matrix, terminals)
    if c.problems:
        c.skip("")
    assert name and kind and instruments and matrix and terminals and arrays and timing
    return Bench(
        source=source,
        name=name,
        kind=kind,
        instruments=instruments,
        matrix=matrix,
        terminals=terminals,
        arrays=arrays,
        limits=limits,
        timing=timing,
        chip=None if chip is None else {k: v for k, v in chip.items() if k != "spec"},
        tsp_link_node=tsp_link_node,
    )


# -- the sections ---------------------------------------------------------------------------------


def _matrix_driver(model: str) -> type[SwitchMatrix]:
    driver = driver_for(model)
    assert issubclass(driver, SwitchMatrix)
    return driver


def driver_options(model: str) -> tuple[str, ...]:
    """Keyword arguments a model's driver takes besides its adapter and name, and the VISA
    session's timeout (ms), which every VISA driver passes on."""
    parameters = inspect.signature(driver_for(model)).parameters
    named = [
        n
        for n, p in parameters.items()
        if n not in ("self", "adapter", "name") and p.kind is p.POSITIONAL_OR_KEYWORD
    ]
    return tuple(named) if "timeout_s" in named else (*named, "timeout")


def _role(model: str) -> str:
    return ROLES[role_of(model)]


def _instruments(c: Checker, value: object) -> dict[str, InstrumentEntry]:
    """The instruments the file names, each checked on its own; one refused is left out."""
    section = c.mapping(value, "instruments", nonempty=True)
    out = {}
    for name, entry in section.items():
        with c.part():
            out[name] = _instrument(c, name, entry)
    return out


def _instrument(c: Checker, name: object, entry: object) -> InstrumentEntry:
    key = key_path("instruments", name)
    before = c.mark()
    with c.part():
        c.identifier(name, key)
    e = c.mapping(entry, key)
    c.keys(e, key, required=("model", "resource"), optional=("options",))
    model = resource = None
    with c.part():
        model = c.choice(e["model"], f"{key}.model", tuple(sorted(DRIVERS)))
    with c.part():
        resource = c.text(e["resource"], f"{key}.resource")
    options: dict = {}
    if model is not None:
        with c.part():
            options = _options(c, e.get("options", {}), f"{key}.options", model)
    c.settled(before)
    assert isinstance(name, str) and model is not None and resource is not None
    return InstrumentEntry(name, model, resource, dict(options))


def _options(c: Checker, value: object, key: str, model: str) -> dict:
    options = c.mapping(value, key)
    allowed = driver_options(model)
    for option, v in options.items():
        with c.part():
            if option not in allowed:
                c.fail(key, option, f"options of {model}: " + ", ".join(allowed)
                       + did_you_mean(option, allowed))  # fmt: skip
            if isinstance(v, (dict, list)) or v is None:
                c.fail(key_path(key, option), v, "a number or a name")
    if "timeout" in options and not c.refused(f"{key}.timeout"):
        t = options["timeout"]
        if isinstance(t, bool) or not isinstance(t, int) or not 0 < t <= MAX_TIMEOUT_MS:
            c.fail(f"{key}.timeout", t, f"a whole number of ms, 1 to {MAX_TIMEOUT_MS}")
    return options


def _the_matrix(c: Checker, instruments: dict[str, InstrumentEntry]) -> str:
    matrices = [n for n, e in instruments.items() if _role(e.model) == "switch matrix"]
    if not matrices and c.refused("instruments"):
        c.skip("instruments")  # the matrix may be the instrument refused
    if len(matrices) != 1:
        c.fail("instruments", sorted(instruments), "exactly one switch matrix among them")
    return matrices[0]


def _terminals(
    c: Checker, value: object, instruments: dict[str, InstrumentEntry], matrix: str
) -> dict[str, Terminal]:
    """The terminals, each checked on its own (one refused is left out), then together."""
    matrix_driver = _matrix_driver(instruments[matrix].model)
    section = c.mapping(value, "terminals", nonempty=True)
    out: dict[str, Terminal] = {}
    rows_used: dict[str, str] = {}
    for name, entry in section.items():
        with c.part():
            out[name] = _terminal(c, name, entry, instruments, matrix_driver, rows_used)
    # A terminal refused is absent here, and is not reported absent a second time.
    if "smu_lo" in out and "smu_hi" not in out and not c.refused("terminals.smu_hi"):
        with c.part():
            c.fail("terminals.smu_lo", "without smu_hi", "smu_hi too: both belong to one channel")
    if "smu_lo" in out and "smu_hi" in out and out["smu_lo"].instrument != out["smu_hi"].instrument:
        with c.part():
            c.fail(
                "terminals.smu_lo.instrument",
                out["smu_lo"].instrument,
                f"smu_hi's instrument {out['smu_hi'].instrument!r}: HI and LO of one channel",
            )
    for a, b in (("drive", "smu_hi"), ("hold", "pulse")):
        if a in out and b in out and out[a].instrument == out[b].instrument:
            with c.part():
                c.fail(
                    f"terminals.{a}.instrument",
                    out[a].instrument,
                    f"another instrument (channel) than {b}'s",
                )
    return out


def _terminal(
    c: Checker,
    name: object,
    entry: object,
    instruments: dict[str, InstrumentEntry],
    matrix_driver: type[SwitchMatrix],
    rows_used: dict[str, str],
) -> Terminal:
    key = key_path("terminals", name)
    if name not in TERMINALS:
        c.unknown("terminals", name, tuple(TERMINALS),
                  "terminal names among " + ", ".join(TERMINALS), what="terminal")  # fmt: skip
        c.skip(key)
    before = c.mark()
    t = c.mapping(entry, key)
    if name == "ground":
        c.keys(t, key, required=("matrix_row",), optional=())
    else:
        c.keys(t, key, required=("instrument", "matrix_row"), optional=())
    instrument = row = None
    if name != "ground":
        with c.part():
            instrument = _terminal_instrument(c, str(name), t["instrument"], instruments)
    with c.part():
        row = c.text(t["matrix_row"], f"{key}.matrix_row")
        try:
            matrix_driver.crosspoint(row, matrix_driver.first_column)
        except ChannelSpecError:
            c.fail(f"{key}.matrix_row", row, matrix_driver.row_form)
        if row in rows_used:
            c.fail(f"{key}.matrix_row", row, f"a row of its own ({rows_used[row]} is on it)")
        rows_used[row] = str(name)
    c.settled(before)
    assert row is not None
    return Terminal(str(name), instrument, row)


def _terminal_instrument(
    c: Checker, name: str, value: object, instruments: dict[str, InstrumentEntry]
) -> str:
    key = f"terminals.{name}.instrument"
    if isinstance(value, str) and value not in instruments and c.refused(f"instruments.{value}"):
        c.skip(key)  # its instrument's own entry was refused
    instrument = c.choice(value, key, tuple(instruments))
    role = _role(instruments[instrument].model)
    if role != TERMINAL_ROLES[name]:
        c.fail(key, instrument, f"a {TERMINAL_ROLES[name]} ({instrument} is a {role})")
    return instrument


def _arrays(
    c: Checker, value: object, matrix: InstrumentEntry, terminals: dict[str, Terminal]
) -> dict[int, ArrayWiring]:
    """The arrays' wiring, each array on its own (one refused is left out)."""
    matrix_driver = _matrix_driver(matrix.model)
    section = c.mapping(value, "arrays", nonempty=True)
    out = {}
    pads: dict[str, str] = {}
    some_row = next(iter(terminals.values())).matrix_row
    for index, entry in section.items():
        with c.part():
            out[index] = _array(c, index, entry, matrix_driver, some_row, pads)
    return out


def _array(
    c: Checker,
    index: object,
    entry: object,
    matrix_driver: type[SwitchMatrix],
    some_row: str,
    pads: dict[str, str],
) -> ArrayWiring:
    key = key_path("arrays", index)
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        c.fail("arrays", index, "array indices as keys: whole numbers >= 0")
    before = c.mark()
    w = c.mapping(entry, key)
    c.keys(w, key, required=("rows", "cols"), optional=())
    lines = {}
    for side in ("rows", "cols"):
        with c.part():
            names = w[side]
            if not isinstance(names, list) or not names:
                c.fail(f"{key}.{side}", names, "a non-empty list of matrix columns")
            for i, pad in enumerate(names):
                with c.part():
                    pad_key = f"{key}.{side}[{i}]"
                    pad = c.text(pad if not isinstance(pad, int) else str(pad), pad_key)
                    try:
                        matrix_driver.crosspoint(some_row, pad)
                    except ChannelSpecError:
                        c.fail(pad_key, pad, matrix_driver.column_form)
                    if pad in pads:
                        c.fail(pad_key, pad, f"a matrix column of its own ({pads[pad]} is on it)")
                    pads[pad] = pad_key
            lines[side] = tuple(str(p) for p in names)
    c.settled(before)
    return ArrayWiring(index, lines["rows"], lines["cols"])


def _arrays_on_the_chip(c: Checker, arrays: dict[int, ArrayWiring], spec: Any) -> None:
    """An emulated bench wires arrays its chip has, with the chip's number of pads."""
    n_arrays = len(spec.diameters_nm)
    shape = (spec.rows, spec.cols)
    for index, wiring in arrays.items():
        with c.part():
            if index >= n_arrays:
                c.fail("arrays", index, f"array indices of the chip, 0 to {n_arrays - 1}")
            if (len(wiring.rows), len(wiring.cols)) != shape:
                c.fail(
                    f"arrays.{index}",
                    f"{len(wiring.rows)} rows x {len(wiring.cols)} cols",
                    f"the chip's {shape[0]} row pads and {shape[1]} column pads",
                )


def _chip(c: Checker, value: object) -> dict[str, Any]:
    if value is None:
        c.missing("chip", "an emulated bench needs the simulated chip behind it (seed, preset)")
    chip = c.mapping(value, "chip")
    c.keys(chip, "chip", required=("seed",), optional=("preset", "changes"))
    before = c.mark()
    seed = chip["seed"]
    with c.part():
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            c.fail("chip.seed", seed, "a whole number >= 0")
    preset = changes = None
    with c.part():
        preset = c.text(chip.get("preset", BUILT_IN_PRESET), "chip.preset")
    with c.part():
        changes = c.mapping(chip.get("changes", {}), "chip.changes")
    c.settled(before)
    try:
        spec = chip_spec(preset, changes)
    except (ValueError, TypeError) as exc:
        c.refuse("chip", f"chip: {exc}")
    return {"seed": seed, "preset": preset, "changes": dict(changes or {}), "spec": spec}


def _tsp_link(
    c: Checker,
    value: object,
    instruments: dict[str, InstrumentEntry] | None,
    matrix: str | None,
    terminals: dict[str, Terminal] | None,
) -> int:
    """The matrix's TSP-Link node; the read source-meter must be a 2600B that can reach it,
    with the drive on its other channel (one instrument runs the whole map). What names a
    section that was refused (``None`` here) is not checked."""
    section = c.mapping(value, "tsp_link", nonempty=True)
    c.keys(section, "tsp_link", required=("matrix_node",), optional=())
    node = section["matrix_node"]
    with c.part():
        if isinstance(node, bool) or not isinstance(node, int) or not 1 <= node <= 64:
            c.fail("tsp_link.matrix_node", node, "a TSP-Link node number, 1 to 64")
    if instruments is None or matrix is None:
        return node
    if instruments[matrix].model not in TSP_LINK_MATRICES:
        with c.part():
            c.fail(
                f"instruments.{matrix}.model",
                instruments[matrix].model,
                "with tsp_link, a matrix on TSP-Link: " + ", ".join(TSP_LINK_MATRICES),
            )
    if terminals is None or ("smu_hi" not in terminals and c.refused("terminals.smu_hi")):
        return node
    if "smu_hi" not in terminals:
        c.missing("terminals.smu_hi", "tsp_link needs the read source-meter that runs the map")
    hi = instruments[str(terminals["smu_hi"].instrument)]
    if hi.model != "keithley2600b":
        with c.part():
            c.fail(
                f"instruments.{hi.name}.model", hi.model, "with tsp_link, keithley2600b (smu_hi)"
            )
    if "drive" in terminals:
        drive = instruments[str(terminals["drive"].instrument)]
        if drive.resource != hi.resource:
            c.fail(
                "terminals.drive.instrument",
                drive.name,
                f"with tsp_link, the other channel of smu_hi's instrument ({hi.resource})",
            )
    return node


def _timing(c: Checker, value: object) -> dict[str, float]:
    section = c.mapping(value, "timing")
    c.keys(section, "timing", required=(), optional=tuple(TIMING_DEFAULTS))
    out = dict(TIMING_DEFAULTS)
    for name, v in section.items():
        if name not in TIMING_DEFAULTS:
            continue  # refused by keys()
        with c.part():
            out[name] = c.positive(v, f"timing.{name}", allow_zero=name != "line_frequency_hz")
            if name.endswith("_s") and out[name] > MAX_TIMING_S:
                c.fail(f"timing.{name}", v, f"at most {MAX_TIMING_S:g} s")
    if out["line_frequency_hz"] not in (50.0, 60.0):
        c.fail("timing.line_frequency_hz", section["line_frequency_hz"], "50 or 60")
    return out
