"""The bench file: the built-in and example benches load, every bad entry is refused with the
file, the key and the value named, and what each bench's wiring allows is derived from it."""

import copy
import pickle
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mtjlab.bench.file import (
    BenchFileError,
    builtin_bench_path,
    crosspoint,
    load_bench,
    parse_bench,
)
from mtjlab.cli.app import main
from mtjlab.core.limits import LIMIT_NAMES
from mtjlab.sim.chip import Chip
from mtjlab.sim.limits import chip_limits

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def builtin() -> dict:
    return yaml.safe_load(builtin_bench_path().read_text())


def real() -> dict:
    return yaml.safe_load((EXAMPLES / "real-bench.yaml").read_text())


def test_the_example_emulated_bench_is_the_built_in_one():
    assert (EXAMPLES / "emulated-bench.yaml").read_text() == builtin_bench_path().read_text()


def test_the_built_in_bench_wires_two_arrays_of_chip_0_through_a_707b():
    bench = load_bench(builtin_bench_path())
    assert bench.kind == "emulated" and bench.chip == {
        "seed": 0,
        "preset": "kind",
        "changes": {},
    }
    assert bench.matrix == "matrix" and sorted(bench.arrays) == [1, 2]
    assert all(len(w.rows) == len(w.cols) == 15 for w in bench.arrays.values())
    assert bench.read_schemes == ["grounded", "floating"]
    assert bench.write_schemes == ["v/2", "floating"]
    # row pad 0 of array 1 leaves on slot 1 column 01; the drive terminal enters on row C
    assert crosspoint(bench, "drive", bench.arrays[1].rows[0]) == "1C01"
    assert crosspoint(bench, "ground", bench.arrays[2].cols[14]) == "5F12"
    assert bench.limits is None  # an emulated bench takes its limits from its chip


def test_the_real_example_states_its_limits_and_where_they_come_from():
    bench = load_bench(EXAMPLES / "real-bench.yaml")
    assert bench.kind == "real" and bench.chip is None and list(bench.arrays) == [0]
    assert (bench.limits.max_read_v, bench.limits.max_write_v) == (0.1, 1.0)
    assert bench.limits.reasons["compliance_a"].startswith("bench file ")
    assert bench.timing["line_frequency_hz"] == 50.0


@pytest.mark.parametrize(
    ("drop", "reads", "writes"),
    [
        ("drive", ["floating"], ["v/2", "floating"]),
        ("hold", ["grounded", "floating"], ["floating"]),
        ("ground", ["floating"], []),
    ],
)
def test_schemes_follow_from_the_terminals(drop, reads, writes):
    data = builtin()
    del data["terminals"][drop]
    bench = parse_bench(data, "b.yaml")
    assert (bench.read_schemes, bench.write_schemes) == (reads, writes)


def test_a_708b_bench_takes_row_letters_and_its_one_slots_columns():
    data = real()
    data["instruments"]["matrix"]["model"] = "keithley708b"
    data["arrays"] = {0: {"rows": ["101", "102", "103"], "cols": ["110", "111", "112"]}}
    bench = parse_bench(data, "b.yaml")
    assert crosspoint(bench, "smu_hi", "112") == "1A12"
    data["arrays"][0]["cols"][0] = "201"  # the 708B has slot 1 only
    with pytest.raises(BenchFileError, match=r"arrays.0.cols\[0\] = '201': expected 1<column"):
        parse_bench(data, "b.yaml")


def test_v_half_needs_the_hold_on_the_pulse_generator_itself():
    data = builtin()
    data["instruments"]["pulser_2"]["resource"] = "emulated://another-pulser"
    assert parse_bench(data, "b.yaml").write_schemes == ["floating"]


def _set(data, path, value):
    *parents, last = path
    node = data
    for key in parents:
        node = node[key]
    if value is _DELETE:
        del node[last]
    else:
        node[last] = value
    return data


_DELETE = object()


@pytest.mark.parametrize(
    ("base", "path", "value", "message"),
    [
        (builtin, ("instruments", "smu_a", "model"), "keithley2401",
         "b.yaml: instruments.smu_a.model = 'keithley2401': expected one of keithley2400, "),
        (builtin, ("instruments", "smu_a", "resource"), "",
         "instruments.smu_a.resource = '': expected a non-empty line of text"),
        (builtin, ("instruments", "smu_a", "colour"), "red",
         "instruments.smu_a.colour: unknown key; expected only the keys model, resource, options"),
        (builtin, ("instruments", "smu_a", "options", "chanel"), "a",
         "instruments.smu_a.options = 'chanel': expected options of keithley2600b: channel, "
         "timeout"),
        (builtin, ("instruments", "smu_a", "model"), _DELETE,
         "instruments.smu_a.model is missing: instruments.smu_a needs model, resource"),
        (builtin, ("terminals", "pulse", "instrument"), "smu_b",
         "terminals.pulse.instrument = 'smu_b': expected a pulse generator "
         "(smu_b is a source meter)"),
        (builtin, ("terminals", "pulse", "instrument"), "nowhere",
         "terminals.pulse.instrument = 'nowhere': expected one of smu_a, smu_b, "),
        (builtin, ("terminals", "pulse", "matrix_row"), "J",
         "terminals.pulse.matrix_row = 'J': expected a row letter A-H"),
        (builtin, ("terminals", "pulse", "matrix_row"), "A",
         "terminals.pulse.matrix_row = 'A': expected a row of its own (smu_hi is on it)"),
        (builtin, ("terminals", "laser"), {"matrix_row": "G"},
         "terminals.laser: unknown terminal (did you mean pulse?); expected terminal names among "
         "smu_hi, "),
        (builtin, ("terminals", "hold", "instrument"), "pulser_1",
         "terminals.hold.instrument = 'pulser_1': expected another instrument (channel) "
         "than pulse's"),
        (builtin, ("terminals", "smu_lo", "instrument"), "smu_b",
         "terminals.smu_lo.instrument = 'smu_b': expected smu_hi's instrument 'smu_a'"),
        (builtin, ("arrays", 1, "rows", 3), "113",
         "arrays.1.rows[3] = '113': expected <slot 1-6><column 01-12>"),
        (builtin, ("arrays", 1, "rows", 3), "101",
         "arrays.1.rows[3] = '101': expected a matrix column of its own "
         "(arrays.1.rows[0] is on it)"),
        (builtin, ("arrays", 1, "rows"), ["101"],
         "arrays.1 = '1 rows x 15 cols': expected the chip's 15 row pads and 15 column pads"),
        (builtin, ("arrays", 7), {"rows": ["601"], "cols": ["602"]},
         "arrays = 7: expected array indices of the chip, 0 to 4"),
        (builtin, ("arrays", "one"), {"rows": ["601"], "cols": ["602"]},
         "arrays = 'one': expected array indices as keys: whole numbers >= 0"),
        (builtin, ("chip", "preset"), "golden", "b.yaml: chip: unknown chip preset 'golden'"),
        (builtin, ("chip", "seed"), -1, "chip.seed = -1: expected a whole number >= 0"),
        (builtin, ("chip",), _DELETE,
         "b.yaml: chip is missing: an emulated bench needs the simulated chip"),
        (builtin, ("chip", "changes"), {"r_row_ohm": -2},
         "b.yaml: chip: ChipSpec.r_row_ohm=-2 is out of range; allowed: >= 0"),
        (builtin, ("timing", "line_frequency_hz"), 55,
         "timing.line_frequency_hz = 55: expected 50 or 60"),
        (builtin, ("timing", "relay_settle_s"), float("nan"),
         "timing.relay_settle_s = nan: expected a finite number >= 0"),
        (builtin, ("tsp_link", "matrix_node"), 0,
         "tsp_link.matrix_node = 0: expected a TSP-Link node number, 1 to 64"),
        (builtin, ("tsp_link", "matrix_node"), "2",
         "tsp_link.matrix_node = '2': expected a TSP-Link node number, 1 to 64"),
        (builtin, ("tsp_link", "master"), 1,
         "tsp_link.master: unknown key; expected only the keys matrix_node"),
        (builtin, ("tsp_link",), {},
         "tsp_link = {}: expected a non-empty mapping"),
        (builtin, ("instruments", "smu_b", "resource"), "emulated://smu2",
         "terminals.drive.instrument = 'smu_b': expected with tsp_link, the other channel of "
         "smu_hi's instrument (emulated://smu)"),
        (builtin, ("instruments", "smu_a"), {"model": "keithley2400", "resource": "emulated://k"},
         "instruments.smu_a.model = 'keithley2400': expected with tsp_link, keithley2600b"),
        (builtin, ("kind",), "virtual", "kind = 'virtual': expected one of emulated, real"),
        (builtin, ("version",), 2, "version = 2: expected 1"),
        (real, ("limits",), _DELETE, "b.yaml: limits is missing: a real bench states every limit"),
        (real, ("limits", "compliance_a"), _DELETE,
         "limits.compliance_a is missing: limits needs max_read_v, max_write_v, "),
        (real, ("limits", "max_write_v"), "1 V",
         "limits.max_write_v = '1 V': expected a finite number > 0"),
        (real, ("limits", "max_read_v"), 2,
         "b.yaml: limits: Limits.max_read_v (2 V) is above max_device_v (1 V)"),
        (real, ("limits", "min_width_s"), 1.0,
         "limits.min_width_s = 1.0: expected at most limits.max_width_s"),
        (real, ("chip",), {"seed": 0}, "chip = {'seed': 0}: expected no chip section on a real"),
        (real, ("instruments", "matrix"), _DELETE,
         "instruments = ['pulser_1', 'pulser_2', 'smu_a', 'smu_b']: expected exactly one switch"),
    ],
)  # fmt: skip
def test_a_bad_entry_is_refused_naming_file_key_and_value(base, path, value, message):
    data = _set(copy.deepcopy(base()), path, value)
    with pytest.raises(BenchFileError) as info:
        parse_bench(data, "b.yaml")
    assert message in str(info.value)
    assert str(info.value).startswith("b.yaml: ")


def test_a_file_that_is_not_yaml_or_not_there_is_refused(tmp_path):
    bad = tmp_path / "bench.yaml"
    bad.write_text("kind: emulated\ninstruments: [\n")
    with pytest.raises(BenchFileError, match=r"bench.yaml: not valid YAML at line 3, column 1"):
        load_bench(bad)
    with pytest.raises(BenchFileError, match="cannot read the bench file"):
        load_bench(tmp_path / "missing.yaml")
    binary = tmp_path / "b.yaml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(BenchFileError, match="not a text file"):
        load_bench(binary)
    with pytest.raises(BenchFileError, match=r"\(top level\) = \[1, 2\]: expected a"):
        parse_bench([1, 2], "b.yaml")


def _leaves(node, prefix=()):
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _leaves(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _leaves(v, (*prefix, i))
    yield prefix


JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 200),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=6),
    st.lists(st.integers(0, 3), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_damaged_entry_is_a_bench_file_error_or_still_a_bench(data):
    bench = builtin() if data.draw(st.booleans()) else real()
    paths = [p for p in _leaves(bench) if p]
    path = data.draw(st.sampled_from(paths))
    _set(bench, path, data.draw(st.one_of(JUNK, st.just(_DELETE))))
    try:
        parsed = parse_bench(bench, "b.yaml")
    except BenchFileError as exc:
        assert str(exc).startswith("b.yaml: ")
    else:
        assert parsed.terminals and parsed.arrays


# -- every mistake of a file in one error, one line each -----------------------------------------


def _three_mistakes() -> dict:
    """The built-in bench with three mistakes in three independent entries."""
    data = builtin()
    data["instruments"]["smu_a"]["colour"] = "red"  # a key no instrument has
    data["instruments"]["pulser_2"]["resource"] = 5  # a resource is a line of text
    data["arrays"][2]["cols"][3] = "101"  # array 1's row pad 0 is on column 101 already
    return data


THREE_MISTAKES = [
    "b.yaml: instruments.smu_a.colour: unknown key; expected only the keys model, resource, "
    "options",
    "b.yaml: instruments.pulser_2.resource = 5: expected a non-empty line of text",
    "b.yaml: arrays.2.cols[3] = '101': expected a matrix column of its own "
    "(arrays.1.rows[0] is on it)",
]


def test_every_independent_mistake_is_reported_on_a_line_of_its_own(tmp_path):
    path = tmp_path / "b.yaml"
    path.write_text(yaml.safe_dump(_three_mistakes(), sort_keys=False))
    with pytest.raises(BenchFileError) as info:
        load_bench(path)
    assert info.value.problems == [line.replace("b.yaml", str(path), 1) for line in THREE_MISTAKES]
    assert str(info.value) == "\n".join(info.value.problems)
    again = pickle.loads(pickle.dumps(info.value))  # (a worker process hands it back whole)
    assert again.problems == info.value.problems


def test_the_command_line_prints_every_mistake_and_exits_2(tmp_path, capsys):
    path = tmp_path / "b.yaml"
    path.write_text(yaml.safe_dump(_three_mistakes(), sort_keys=False))
    assert main(["bench", "check", "--bench", str(path)]) == 2
    captured = capsys.readouterr()
    lines = [line.replace("b.yaml", str(path), 1) for line in THREE_MISTAKES]
    assert captured.err == "mtjlab: error: " + "\n".join(lines) + "\n"
    assert captured.out == ""


def test_a_key_typo_is_one_line_with_the_key_meant_and_not_the_mapping():
    data = builtin()
    entry = data["instruments"]["smu_a"]
    entry["resourse"] = entry.pop("resource")
    with pytest.raises(BenchFileError) as info:
        parse_bench(data, "b.yaml")
    # not "resource is missing" as well, nor the terminals on smu_a, whose entry was refused
    assert str(info.value) == (
        "b.yaml: instruments.smu_a.resourse: unknown key (did you mean resource?); expected only "
        "the keys model, resource, options"
    )


def test_a_section_typo_names_the_section_meant():
    data = builtin()
    data["instrumnets"] = data.pop("instruments")
    with pytest.raises(BenchFileError) as info:
        parse_bench(data, "b.yaml")
    assert str(info.value).startswith(
        "b.yaml: instrumnets: unknown key (did you mean instruments?)"
    )
    assert "\n" not in str(info.value) and "emulated://" not in str(info.value)


NOT_TEXT = st.one_of(st.none(), st.integers(), st.just(""), st.just(" "), st.lists(st.text()))


@settings(max_examples=50, deadline=None)
@given(
    names=st.lists(st.sampled_from(sorted(builtin()["instruments"])), min_size=1, unique=True),
    data=st.data(),
)
def test_each_instrument_refused_is_one_line_of_the_error(names, data):
    """One instrument's mistake stops neither the others' checks nor adds a line of its own
    to what depends on it (the terminals on it, the wiring through the matrix)."""
    bench = builtin()
    for name in names:
        bench["instruments"][name]["resource"] = data.draw(NOT_TEXT)
    with pytest.raises(BenchFileError) as info:
        parse_bench(bench, "b.yaml")
    in_file_order = [n for n in bench["instruments"] if n in names]
    keys = [line.split(" = ")[0] for line in info.value.problems]
    assert keys == [f"b.yaml: instruments.{name}.resource" for name in in_file_order]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_damaged_entries_are_refused_a_line_each_or_still_a_bench(data):
    bench = builtin() if data.draw(st.booleans()) else real()
    for _ in range(data.draw(st.integers(2, 5))):
        paths = [p for p in _leaves(bench) if p]
        _set(bench, data.draw(st.sampled_from(paths)), data.draw(st.one_of(JUNK, st.just(_DELETE))))
    try:
        parsed = parse_bench(bench, "b.yaml")
    except BenchFileError as exc:
        assert exc.problems and all(line.startswith("b.yaml: ") for line in exc.problems)
        assert str(exc).split("\n") == exc.problems
    else:
        assert parsed.terminals and parsed.arrays


# -- what 0a933d7 accepted or answered with a traceback (issue 23, failures 6 and 7) --------------


def _chip_limits() -> dict:
    own = chip_limits(Chip.from_seed(0)).as_dict()
    return {name: own[name] for name in (*LIMIT_NAMES, "max_unselected_v")}


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("instruments", "smu_a", "options"), {"channel": {}},
         "instruments.smu_a.options.channel = {}: expected a number or a name"),
        (("instruments", "smu_a", "options"), {"channel": "a", "timeout": -5},
         "instruments.smu_a.options.timeout = -5: expected a whole number of ms"),
        (("timing",), {"command_latency_s": 1e308}, "command_latency_s = 1e+308: expected at most"),
        (("timing",), {"relay_settle_s": 120}, "timing.relay_settle_s = 120: expected at most 60"),
    ],
)  # fmt: skip
def test_values_that_make_no_physical_sense_are_refused(path, value, message):
    data = _set(copy.deepcopy(builtin()), path, value)
    with pytest.raises(BenchFileError) as info:
        parse_bench(data, "b.yaml")
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("name", "factor", "bound"),
    [("max_device_v", 3.0, "at most"), ("max_width_s", 1e6, "at most"),
     ("min_width_s", 1e-3, "at least"), ("max_read_v", 2.0, "at most")],
)  # fmt: skip
def test_an_emulated_benchs_limits_are_never_wider_than_its_chips(name, factor, bound):
    limits = _chip_limits()
    data = builtin()
    data["limits"] = {**limits, name: limits[name] * factor}
    with pytest.raises(BenchFileError, match=f"limits.{name} = .*: expected {bound} the emulated"):
        parse_bench(data, "b.yaml")
    data["limits"] = limits  # the chip's own, or narrower, are taken
    assert parse_bench(data, "b.yaml").limits.max_write_v == limits["max_write_v"]


def test_a_yaml_alias_bomb_is_refused_before_it_expands(tmp_path):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 15)]
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(BenchFileError, match="more than 100 YAML aliases"):
        load_bench(path)


def test_deep_nesting_is_refused_before_it_recurses(tmp_path):
    path = tmp_path / "deep.yaml"
    path.write_text("a: " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(BenchFileError, match="nested deeper than 20 levels at line 1"):
        load_bench(path)


def test_a_huge_value_is_quoted_by_an_excerpt(tmp_path):
    data = _set(copy.deepcopy(builtin()), ("name",), {"x" * 10: ["y" * 100_000] * 1000})
    with pytest.raises(BenchFileError) as info:
        parse_bench(data, "b.yaml")
    assert len(str(info.value)) < 400


# -- the disturb envelope a bench file states (issue 23, failure 1) ------------------------------


def test_an_emulated_benchs_disturb_envelope_is_never_wider_than_its_chips():
    limits = _chip_limits()
    rows = limits["max_unselected_v"]
    data = builtin()
    wider = [list(row) for row in rows]
    wider[2][1] += 0.05  # 100 ns, positive
    data["limits"] = {**limits, "max_unselected_v": wider}
    with pytest.raises(
        BenchFileError, match=r"limits.max_unselected_v\[2\] = .*: expected at most"
    ):
        parse_bench(data, "b.yaml")
    longer = [[1e-2, 0.1, 0.1]]  # a width the chip's envelope does not reach
    data["limits"] = {**limits, "max_unselected_v": longer}
    with pytest.raises(BenchFileError, match="no longer than the emulated chip's envelope"):
        parse_bench(data, "b.yaml")
    narrower = [[1e-7, 0.2, 0.15]]  # narrower is taken, and is what a pulse is checked against
    data["limits"] = {**limits, "max_unselected_v": narrower}
    assert parse_bench(data, "b.yaml").limits.max_unselected_v == ((1e-7, 0.2, 0.15),)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0.3", "max_unselected_v = '0.3': expected a list of [width_s, positive_v, negative_v]"),
        ([], "max_unselected_v = []: expected a list of"),
        ([[1e-7, 0.3]], "max_unselected_v[0] = [1e-07, 0.3]: expected [width_s, positive_v"),
        ([[1e-7, 0.3, "x"]], "max_unselected_v[0][2] = 'x': expected a finite number > 0"),
        ([[1e-7, 0.3, -0.2]], "max_unselected_v[0][2] = -0.2: expected a finite number > 0"),
        ([[1e-6, 0.3, 0.2], [1e-7, 0.3, 0.2]], "max_unselected_v[1][0] = 1e-07: expected a width"),
        ([[1e-7, 2.0, 0.2]], "lets 2 V onto an unselected device, above max_device_v"),
    ],
)
def test_a_malformed_disturb_envelope_is_one_line(value, message):
    data = real()
    data["limits"]["max_unselected_v"] = value
    with pytest.raises(BenchFileError) as info:
        parse_bench(data, "b.yaml")
    assert message in str(info.value) and "\n" not in str(info.value)


def test_a_real_bench_must_state_its_disturb_envelope():
    data = real()
    del data["limits"]["max_unselected_v"]
    with pytest.raises(BenchFileError, match="limits.max_unselected_v is missing"):
        parse_bench(data, "b.yaml")
