"""The reference experiment's own setup as options of `mtjlab reproduce`: unsigned inputs
(each feature scaled into 0..1) and a 148/30 split, beside the default signed inputs and 124/54."""

import contextlib
import io
import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mtjlab.analysis.network import wine_split
from mtjlab.cli.app import main
from mtjlab.core.limits import LimitError
from mtjlab.runs.experiments.wine import split_of
from mtjlab.runs.registry import experiment
from mtjlab.runs.store import RunStore
from mtjlab.runs.values import WINE_SPLIT, OptionError
from mtjlab.sim.chip import PRESET_RAMPS_V


def test_the_default_split_is_the_one_runs_were_always_given():
    # 54 test wines named outright is the 30 % split every stored run was made with
    for seed in (0, 11, 777):
        old, new = wine_split(seed), wine_split(seed, test_samples=54)
        np.testing.assert_array_equal(old.x_train, new.x_train)
        np.testing.assert_array_equal(old.y_test, new.y_test)
    # ... and a run stored before the options existed gets that split back
    old_params = {"split_seed": 11}
    np.testing.assert_array_equal(split_of(old_params).x_test, wine_split(11).x_test)


def test_the_reference_split_and_unsigned_inputs():
    s = wine_split(0, test_samples=30, inputs="unsigned")
    assert (len(s.y_train), len(s.y_test)) == (148, 30)
    # stratified: each class about its share of Wine's 59/71/48
    assert np.bincount(s.y_test).tolist() == [10, 12, 8]
    # every training feature spans exactly 0..1; test inputs are clipped into it
    np.testing.assert_allclose(s.x_train.min(axis=0), 0.0)
    np.testing.assert_allclose(s.x_train.max(axis=0), 1.0)
    assert s.x_test.min() >= 0.0 and s.x_test.max() <= 1.0
    assert s.inputs == "unsigned"
    # the same wines as the signed split of that size: only the scaling differs
    signed = wine_split(0, test_samples=30)
    np.testing.assert_array_equal(signed.y_test, s.y_test)
    assert signed.x_train.min() < 0.0


@pytest.mark.parametrize("bad", ["150/30", "148", "148/30/0", "a/b", "175/3x", "176/2", "-1/179"])
def test_a_bad_split_is_one_line_naming_what_is_expected(bad):
    with pytest.raises(OptionError, match=r"TRAIN/TEST wines adding up to Wine's 178"):
        WINE_SPLIT.take(bad)


@given(st.integers(-500, 500), st.integers(-500, 500))
def test_a_split_is_taken_exactly_when_it_divides_the_178_wines(train, test):
    ok = train + test == 178 and 3 <= test <= 175
    if ok:
        assert WINE_SPLIT.take((train, test)) == (train, test)
        assert WINE_SPLIT.take(f"{train}/{test}") == (train, test)
    else:
        with pytest.raises(OptionError, match="TRAIN/TEST"):
            WINE_SPLIT.take((train, test))


def test_wine_split_refuses_bad_values_naming_them():
    with pytest.raises(ValueError, match=r"inputs='binary' is not allowed; allowed: signed"):
        wine_split(0, inputs="binary")
    with pytest.raises(ValueError, match=r"test_samples=2 is out of range; allowed: 3 to 175"):
        wine_split(0, test_samples=2)


def test_reproduce_runs_the_reference_setup_end_to_end(tmp_path):
    out = tmp_path / "o"
    argv = ["reproduce", "--solutions", "3", "--workers", "1", "--inputs", "unsigned"]
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        assert main([*argv, "--split", "148/30", "--out", str(out)]) == 0
    with RunStore(out / "runs.db") as store:
        params = store.run(1).parameters
    assert params["inputs"] == "unsigned" and params["test_samples"] == 30
    summary = json.loads((out / "summary.json").read_text())
    for sol in summary["solutions"]:
        for key in ("software_accuracy", "untuned_accuracy", "tuned_accuracy"):
            # scored on 30 test wines: every accuracy a whole number of them
            assert sol[key] * 30 == pytest.approx(round(sol[key] * 30), abs=1e-9)


def _prepared(**given):
    exp = experiment("reproduce")
    return exp.prepare({o.name: o.take(given.get(o.name, o.default)) for o in exp.options})


def test_a_preset_is_written_with_its_own_ramps_unless_told_otherwise():
    # the default die takes the default ramps
    write = _prepared()["write"]
    assert write == {"ramp_p_to_ap": [0.55, 0.02, 0.59], "ramp_ap_to_p": [0.40, 0.015, 0.43]}
    # the reference die's window is above them: its own ramps, once going outside is asked for
    ref = _prepared(chip="reference", allow_disturb=True)["write"]
    assert [tuple(ref["ramp_p_to_ap"]), tuple(ref["ramp_ap_to_p"])] == list(
        PRESET_RAMPS_V["reference"]
    )
    # a ramp given wins, the other stays the preset's
    mixed = _prepared(chip="reference", allow_disturb=True, ap_to_p_ramp_v="0.5,0.02,0.6")
    assert mixed["write"]["ramp_ap_to_p"] == [0.5, 0.02, 0.6]
    assert tuple(mixed["write"]["ramp_p_to_ap"]) == PRESET_RAMPS_V["reference"][0]


def test_the_reference_die_is_not_written_outside_its_envelope_unless_asked(capsys):
    with pytest.raises(LimitError, match=r"^a 0\.75 V pulse .* or --allow-disturb$"):
        _prepared(chip="reference")
    assert main(["reproduce", "--chip", "reference", "--solutions", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--allow-disturb" in err[0]
