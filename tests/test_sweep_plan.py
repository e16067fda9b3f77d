"""The points of a sweep (runs/sweeps.py): a grid or a random sample over chip fields and
experiment options, times chip seeds; every value checked and every point's chip built before
any work, bad input one line naming the field."""

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

import mtjlab.runs.experiments  # noqa: F401  (the experiments, in the registry)
from mtjlab.runs.registry import experiment
from mtjlab.runs.sweeps import SEEDS, VARY, Vary, plan
from mtjlab.runs.values import OptionError
from mtjlab.sim.chip import chip_spec

REPRODUCE = experiment("reproduce")


def _plan(varies, seeds=(0,), **kw):
    return plan(REPRODUCE, [VARY.take(v) for v in varies], list(seeds), preset="sized", **kw)


def test_a_grid_is_every_combination_on_every_seed_first_field_slowest():
    points = _plan(["r_row_ohm=0,5,20", "p_shorted=0,0.01", "solutions=5"], seeds=(0, 1, 2))
    assert len(points) == 3 * 2 * 1 * 3
    assert [p.index for p in points] == list(range(18))
    expected = itertools.product([0.0, 5.0, 20.0], [0.0, 0.01], [0, 1, 2])
    got = [(p.chip["r_row_ohm"], p.chip["p_shorted"], p.seed) for p in points]
    assert got == list(expected)
    # chip fields go to the point's chip, options to the experiment, parsed as the CLI parses
    assert points[0].chip == {"r_row_ohm": 0.0, "p_shorted": 0.0}
    assert points[0].options == {"solutions": 5}
    assert points[-1].values() == {"r_row_ohm": 20.0, "p_shorted": 0.01, "solutions": 5, "seed": 2}


def test_seeds_are_a_count_or_a_list():
    assert SEEDS.take("3") == [0, 1, 2] and SEEDS.take("0,11,777") == [0, 11, 777]
    assert SEEDS.take(2) == [0, 1] and SEEDS.take([5, 9]) == [5, 9]
    for bad in ("", "a", "1,-2", "1.5", -1, [1, True], "x,1"):
        with pytest.raises(OptionError, match="seeds"):
            SEEDS.take(bad)


def test_a_sample_is_drawn_inside_its_ranges_and_fixed_by_its_seed():
    varies = ["r_row_ohm=0:20", "p_open=0:0.01", "rows=10:15"]
    points = _plan(varies, seeds=(0, 1), sample=25)
    assert len(points) == 50
    for p in points:
        assert 0 <= p.chip["r_row_ohm"] <= 20 and 0 <= p.chip["p_open"] <= 0.01
        assert isinstance(p.chip["rows"], int) and 10 <= p.chip["rows"] <= 15  # a whole field
    assert points[0].chip == points[1].chip and (points[0].seed, points[1].seed) == (0, 1)
    assert [p.values() for p in _plan(varies, seeds=(0, 1), sample=25)] == [
        p.values() for p in points
    ]
    other = _plan(varies, seeds=(0, 1), sample=25, sample_seed=1)
    assert [p.chip for p in other] != [p.chip for p in points]


@pytest.mark.parametrize(
    ("varies", "sample", "message"),
    [
        (["p_short=0,1"], None, r"--vary p_short: unknown field; chip fields: .*p_shorted.*"),
        (["p_open=0,2"], None, r"--vary at p_open=2: ChipSpec\.p_open=2\.0 is out of range"),
        (["seed=1,2"], None, "--vary seed: set by the sweep itself"),
        (["r_row_ohm=0:5"], None, r"--vary r_row_ohm=0:5 is a range: draw from it with --sample"),
        (["r_row_ohm=0,5"], 3, r"--vary r_row_ohm gives values, not a range"),
        (["solutions=0"], None, r"--vary solutions=0: expected a whole number >= 1"),
        (["v_in_v=0.1,abc"], None, r"--vary v_in_v=abc: expected a voltage in volts"),
        (["rows=15.5"], None, r"--vary rows=15.5: expected a whole number"),
        (["r_row_ohm=x"], None, r"--vary r_row_ohm=x: expected a number"),
        (["diameters_nm=40,50"], None, r"--vary diameters_nm: a list field of the chip"),
        (["p_open=0.5", "p_shorted=0.6"], None, r"at p_open=0\.5, p_shorted=0\.6: .*more than 1"),
        (["chip=kind,golden"], None, r"at chip=golden: unknown chip preset 'golden'"),
        (["r_row_ohm=0", "r_row_ohm=1"], None, r"--vary names r_row_ohm more than once"),
        ([], None, r"nothing to sweep"),
        (["r_row_ohm=0:1"], 0, r"--sample 0: expected a count of points >= 1"),
    ],
)
def test_bad_input_is_one_line_naming_the_field_before_any_work(varies, sample, message):
    with pytest.raises(OptionError, match=message) as caught:
        _plan(varies, sample=sample)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    "text", ["r_row_ohm", "=1", "r_row_ohm=", "r_row_ohm=1,,2", "p=1:x", "p=2:1", "p=0:inf"]
)
def test_a_vary_that_is_not_field_equals_values_is_refused(text):
    with pytest.raises(OptionError):
        VARY.take(text)


@given(
    st.lists(st.floats(0, 1000, allow_nan=False), min_size=1, max_size=4, unique=True),
    st.lists(st.integers(0, 10_000), min_size=1, max_size=3, unique=True),
)
def test_any_grid_of_valid_values_gives_each_value_on_each_seed_once(values, seeds):
    text = "r_row_ohm=" + ",".join(repr(v) for v in values)
    points = _plan([text], seeds=seeds)
    assert [(p.chip["r_row_ohm"], p.seed) for p in points] == [
        (float(repr(v)), s) for v in values for s in seeds
    ]
    for p in points:  # every point's chip can be built
        chip_spec("sized", p.chip)


def test_a_grid_from_python_is_the_same_as_from_text():
    from_text = _plan(["r_row_ohm=0,5", "solutions=3,4"])
    from_python = plan(
        REPRODUCE,
        [VARY.take(("r_row_ohm", [0, 5])), VARY.take(("solutions", [3, 4]))],
        [0],
        preset="sized",
    )
    assert [p.values() for p in from_text] == [p.values() for p in from_python]
    assert VARY.take(Vary("x", values=("1",))) == Vary("x", values=("1",))
    with pytest.raises(OptionError, match="expected"):
        VARY.take(("r_row_ohm", "0,5"))
