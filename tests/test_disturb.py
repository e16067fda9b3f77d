"""What issue 23's first failure did on 0a933d7, on the command line: a block written with an AP->P
ramp inside the write limit changed 36 cells outside it while the command said "0 disturbed", and
`characterize rv` with its defaults flipped 17 of the 28 half-selected neighbours of its cell.
Now the pulse is refused before any byte, going outside is said and recorded, what a write
changes outside its pattern is reported, and rv's defaults leave the neighbours alone."""

import json

import numpy as np

from mtjlab.cli.app import main
from mtjlab.core.patterns import save_pattern
from mtjlab.protocols.rv import rv_loop
from mtjlab.runs.experiments import rv as rv_experiment
from mtjlab.runs.store import RunStore
from mtjlab.sim.backend import SimulatedBackend
from mtjlab.sim.chip import Chip

BLOCK = ["--offset", "6,6", "--ap-to-p", "0.8,0,0.8", "--array", "1"]


def _block(tmp_path):
    return str(save_pattern(np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1]]), tmp_path / "b.csv"))


def test_a_disturbing_write_is_refused_in_one_line_before_anything_is_made(tmp_path, capsys):
    out = tmp_path / "refused"
    assert main(["write", _block(tmp_path), *BLOCK, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mtjlab: error: a 0.8 V pulse of 1e-07 s (- polarity, v/2)")
    assert "max_unselected_v = +0.31 / -0.222 V" in err and "--allow-disturb" in err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_going_outside_is_recorded_and_what_it_changed_outside_the_pattern_reported(
    tmp_path, capsys
):
    pattern = _block(tmp_path)
    out = tmp_path / "outside"
    assert main(["write", pattern, *BLOCK, "--allow-disturb", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    assert summary["disturbed_outside"] > 10 and summary["repaired"] == 0
    assert f"outside the pattern: {summary['disturbed_outside']} cells changed" in text
    with RunStore(out / "runs.db") as store:
        assert store.run(1).parameters["allow_disturb"] is True
    repaired = tmp_path / "repaired"
    argv = ["write", pattern, *BLOCK, "--allow-disturb", "--repair-disturbed"]
    assert main([*argv, "--out", str(repaired)]) == 0
    again = json.loads((repaired / "summary.json").read_text())
    assert again["repaired"] == again["disturbed_outside"] > 10


def test_the_default_write_of_a_block_changes_nothing_outside_it(tmp_path, capsys):
    out = tmp_path / "inside"
    argv = ["write", _block(tmp_path), "--offset", "6,6", "--array", "1"]
    assert main([*argv, "--out", str(out)]) == 0
    assert json.loads((out / "summary.json").read_text())["disturbed_outside"] == 0
    assert "outside the pattern: 0 cells changed" in capsys.readouterr().out


def test_rv_with_its_defaults_leaves_the_half_selected_neighbours_alone():
    defaults = {o.name: o.default for o in rv_experiment.OPTIONS}
    chip = Chip.from_seed(0)
    a = chip.array(defaults["array"])
    before = a.state.copy()
    (row, col) = defaults["cells"][0]
    loop = rv_loop(
        SimulatedBackend(chip, defaults["array"]),
        row,
        col,
        max_amplitude_v=defaults["max_amplitude_v"],
        step_v=defaults["step_v"],
        width_s=defaults["width_s"],
        scheme=defaults["scheme"],
        cycles=defaults["cycles"],
    )
    assert np.isfinite(loop.v_switch_p_to_ap_mean_v) and np.isfinite(loop.v_switch_ap_to_p_mean_v)
    others = np.ones(a.shape, dtype=bool)
    others[row, col] = False
    assert np.count_nonzero(a.state[others] != before[others]) == 0
