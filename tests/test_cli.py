"""The mtjlab command: sim read prints and plots a map; bad arguments say what is wrong."""

import os
import re
import subprocess
import sys

import numpy as np
import pytest

from mtjlab import __version__
from mtjlab.cli.app import EXIT_BROKEN_PIPE, main
from mtjlab.runs.registry import experiment


def test_sim_read_prints_the_map_and_saves_a_png(tmp_path, capsys):
    out = tmp_path / "map.png"
    assert main(["sim", "read", "--seed", "3", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    rows = [line for line in text.splitlines() if re.match(r"\s+\d+\s", line)]
    assert len(rows) == 15
    values = np.array([[_kohm(x) for x in line.split()[1:]] for line in rows])
    assert values.shape == (15, 15)
    # 50 nm devices of the default chip: P near 5 kOhm, AP near 12.7 kOhm; a rare defect aside.
    in_range = (values > 3.0) & (values < 20.0)
    assert np.mean(in_range) > 0.97
    assert np.any(values < 7.0) and np.any(values > 10.0)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _kohm(cell: str) -> float:
    """A table cell as a number: the legend's markers as values outside any working range."""
    return {"open": np.inf, "<=0": -np.inf, "n/a": np.nan}.get(cell) or float(cell)


def test_an_open_device_keeps_to_its_column(tmp_path, capsys):
    # Chip seed 5, array 1 has an open device at row 10, column 7 (24.8 MOhm off the noise).
    assert main(["sim", "read", "--seed", "5", "--out", str(tmp_path / "m.png")]) == 0
    lines = capsys.readouterr().out.splitlines()
    header, rows = lines[1], lines[2:17]
    assert all(len(row) == len(header) for row in rows)
    assert all(len(row.split()) == 16 for row in rows)
    assert rows[10].split()[1 + 7] == "open"
    assert lines[17].startswith("values in kOhm; open = 1 MOhm or more")


def test_sim_read_is_repeatable_for_a_seed(tmp_path, capsys):
    main(["sim", "read", "--seed", "5", "--out", str(tmp_path / "a.png")])
    first = capsys.readouterr().out
    main(["sim", "read", "--seed", "5", "--out", str(tmp_path / "b.png")])
    second = capsys.readouterr().out
    assert first.replace("a.png", "") == second.replace("b.png", "")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["sim", "read", "--seed", "-2"], "expected a whole number >= 0"),
        (["sim", "read", "--v-read", "abc"], "expected a voltage in volts"),
        (["sim", "read", "--bias", "v/4"], "invalid choice"),
    ],
)
def test_bad_arguments_exit_2_with_a_message(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("v_read", ["5", "-0.5", "0.3"])
def test_reads_that_would_rewrite_the_array_are_refused(tmp_path, v_read, capsys):
    out = tmp_path / "m.png"
    assert main(["sim", "read", "--v-read", v_read, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"mtjlab: error: read voltage {float(v_read):g} V is outside")
    assert "max_read_v = 0.113 V" in err and err.count("\n") == 1
    assert not out.exists()


def test_array_out_of_range_and_missing_folder(tmp_path, capsys):
    assert main(["sim", "read", "--array", "9", "--out", str(tmp_path / "m.png")]) == 2
    assert "--array 9 is out of range" in capsys.readouterr().err
    assert main(["sim", "read", "--out", str(tmp_path / "nope" / "m.png")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_unsupported_out_format_is_refused_before_any_work(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["sim", "read", "--out", "map.txt"]) == 2
    captured = capsys.readouterr()
    assert captured.err == (
        "mtjlab: error: --out map.txt: unsupported figure format '.txt' "
        "(expected .png, .pdf or .svg)\n"
    )
    assert captured.out == ""  # refused before the array was read, so no table either
    assert list(tmp_path.iterdir()) == []


def test_out_folder_saves_resistance_map_png_inside_it_and_says_so(tmp_path, capsys):
    folder = tmp_path / "figures"
    folder.mkdir()
    assert main(["sim", "read", "--out", str(folder)]) == 0
    written = folder / "resistance_map.png"
    assert written.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert capsys.readouterr().out.splitlines()[-1] == f"heat map saved to {written}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["figures"]  # no figures.png beside it


def test_python_m_mtjlab_runs_the_command():
    done = subprocess.run(
        [sys.executable, "-m", "mtjlab", "--version"], capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, f"mtjlab {__version__}\n", "")


@pytest.mark.parametrize(
    ("argv", "unbuffered"),
    [(["sim", "read"], False), (["sim", "read"], True), (["--help"], False)],
)
def test_a_reader_that_stops_early_ends_the_command_quietly(argv, unbuffered, tmp_path):
    # Buffered, the closed pipe surfaces at the final flush; unbuffered, at the first print.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    proc = subprocess.Popen(
        [sys.executable, "-m", "mtjlab", *argv],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    # Closed before the command has written a byte (it is still importing), so its output
    # meets a pipe with no reader, as behind `| head` once head has exited.
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == EXIT_BROKEN_PIPE
    assert stderr == ""  # no traceback, no "Exception ignored" at exit
    if argv[0] == "sim":  # the figure is saved before the table is printed
        assert (tmp_path / "resistance_map.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _switching_prepared(**given):
    exp = experiment("switching")
    return exp.prepare({o.name: o.take(given.get(o.name, o.default)) for o in exp.options})


@pytest.mark.parametrize(
    ("spelling", "directions"),
    [
        ("P->AP", ["P->AP"]),
        ("AP->P", ["AP->P"]),
        ("p-ap", ["P->AP"]),
        ("ap-p", ["AP->P"]),
        ("P-AP", ["P->AP"]),
        ("AP-P", ["AP->P"]),
        ("Ap-P", ["AP->P"]),
        ("both", ["P->AP", "AP->P"]),
    ],
)
def test_switching_directions_that_need_no_quoting_are_stored_as_the_arrow_ones(
    spelling, directions
):
    prepared = _switching_prepared(direction=spelling)
    assert prepared["directions"] == directions
    assert list(prepared["amplitudes_v"]) == directions


@pytest.mark.parametrize("spelling", ["P-", "P>AP", "pap", "AP->"])
def test_a_direction_switching_does_not_know_is_one_line_naming_the_spellings(
    spelling, tmp_path, capsys
):
    # "P-" is what an unquoted --direction P->AP leaves the command once the shell has taken
    # ">AP" as a redirection
    out = tmp_path / "out"
    argv = ["characterize", "switching", "--direction", spelling, "--out", str(out)]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"mtjlab: error: --direction {spelling!r}: expected both, P->AP or AP->P; p-ap and "
        "ap-p (any case) name the same two and need no quoting\n"
    )
    assert not out.exists()
