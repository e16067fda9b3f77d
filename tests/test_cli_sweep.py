"""`mtjlab sweep EXPERIMENT` on the command line: the sweep's options, then the experiment's own,
the same results as from Python, and bad input one line with exit status 2 before any work."""

import json

import pytest

import mtjlab
from mtjlab.cli.app import main

ARGV = ["sweep", "reproduce", "--vary", "r_row_ohm=0,6", "--seeds", "2", "--solutions", "2"]


def test_the_command_gives_what_python_gives(tmp_path, capsys):
    out = tmp_path / "o"
    assert main([*ARGV, "--workers", "2", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "sweep of reproduce: 4 points" in printed and "figure: " in printed
    summary = json.loads((out / "summary.json").read_text())
    python = mtjlab.sweep("reproduce", vary=["r_row_ohm=0,6"], seeds=2, solutions=2, workers=1)
    assert summary["points"] == python.summary["points"]
    assert (out / "sweep_r_row_ohm.png").is_file()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--vary", "p_short=0,0.01"], "--vary p_short: unknown field; chip fields:"),
        (["--vary", "p_open=0,2"], "ChipSpec.p_open=2.0 is out of range; allowed: 0 to 1"),
        (["--vary", "solutions=3,4"], "solutions: both fixed and varied"),
        (["--vary", "p_open=0:0.01"], "p_open=0:0.01 is a range: draw from it with --sample N"),
        (["--v-in", "0.5"], "input voltage --v-in"),
    ],
)
def test_bad_input_is_one_line_and_status_2_before_any_work(tmp_path, capsys, extra, message):
    out = tmp_path / "o"
    assert main([*ARGV, *extra, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not out.exists()  # nothing started
