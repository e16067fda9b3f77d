"""Every run's log file in its output folder (mtjlab.log) and --log-level: what each holds, on a
clean end, an error, an interruption and a resume."""

from __future__ import annotations

import contextlib
import io
import logging

import pytest

from mtjlab.cli import running
from mtjlab.cli.app import main
from mtjlab.runs.store import RunStore

FIDELITY = ["characterize", "fidelity", "--patterns", "1", "--arrays", "0,1"]


def _run(argv: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        status = main(argv)
    return status, err.getvalue()


def _lines(out) -> list[str]:
    return (out / "mtjlab.log").read_text().splitlines()


def test_a_run_logs_its_command_progress_and_end_with_utc_times(tmp_path):
    out = tmp_path / "run"
    status, _ = _run([*FIDELITY, "--out", str(out)])
    assert status == 0
    lines = _lines(out)
    assert lines[0].endswith(f"INFO mtjlab.run: command: mtjlab {' '.join(FIDELITY)} --out {out}")
    assert "run 1 in" in lines[1] and "(fidelity)" in lines[1]
    progress = [line for line in lines if " mtjlab.progress: " in line]
    assert [p.split(": ", 1)[1].split(",")[0] for p in progress] == [
        f"fidelity: {i}/6 writes" for i in range(1, 7)
    ]
    assert lines[-1].endswith("INFO mtjlab.run: run 1 finished")
    assert all(line[23] == "Z" for line in lines)  # 2026-12-05T09:13:43.057Z: UTC
    assert not any("DEBUG" in line for line in lines)
    logging.getLogger("mtjlab.test").warning("after the run")  # handlers were taken off
    assert "after the run" not in (out / "mtjlab.log").read_text()


def test_debug_adds_every_instrument_command_to_the_log_and_the_terminal(tmp_path):
    bench = ["--bench", "examples/emulated-bench.yaml", "--array", "1"]
    quiet, loud = tmp_path / "quiet", tmp_path / "loud"
    assert _run(["read", *bench, "--out", str(quiet)])[0] == 0
    status, err = _run(["read", *bench, "--out", str(loud), "--log-level", "debug"])
    assert status == 0
    assert not any("WRITE:" in line for line in _lines(quiet))
    writes = [line for line in _lines(loud) if "WRITE:" in line]
    assert any("WRITE:print(localnode.model)" in line for line in writes)
    assert len(writes) > 20 and err.count("WRITE:") == len(writes)
    assert "mtjlab.progress" not in err  # progress reaches the terminal once, as itself


def test_an_error_is_one_line_on_the_terminal_and_a_traceback_in_the_log(tmp_path, monkeypatch):
    def broken(store, run_id, progress):
        raise ValueError("the bench answered nonsense")

    monkeypatch.setattr(running.runs, "execute", broken)
    out = tmp_path / "run"
    status, err = _run([*FIDELITY, "--out", str(out)])
    assert status == 2
    assert "mtjlab: error: the bench answered nonsense" in err and "Traceback" not in err
    text = (out / "mtjlab.log").read_text()
    assert "ERROR mtjlab.run: ended by ValueError: the bench answered nonsense" in text
    assert "Traceback (most recent call last)" in text and "in broken" in text


def test_an_interruption_is_logged_and_the_resume_goes_on_in_the_same_file(tmp_path, monkeypatch):
    real = running.runs.execute

    def interrupted(store, run_id, progress):
        raise KeyboardInterrupt

    monkeypatch.setattr(running.runs, "execute", interrupted)
    out, store = tmp_path / "run", tmp_path / "runs.db"
    status, _ = _run([*FIDELITY, "--out", str(out), "--store", str(store)])
    assert status == 130
    monkeypatch.setattr(running.runs, "execute", real)
    assert _run(["runs", "resume", "1", "--store", str(store)])[0] == 0
    lines = _lines(out)
    said = [line.split(": ", 1)[1] for line in lines if " mtjlab.run: " in line]
    assert said[2] == "interrupted (Ctrl-C or SIGTERM): the run is kept to resume"
    assert said[3].startswith("command: mtjlab runs resume 1")
    assert said[4] == f"resuming run 1 in {store}" and said[-1] == "run 1 finished"
    with RunStore(store, read_only=True) as s:
        assert s.run(1).status == "finished"


def test_an_unknown_log_level_is_refused_and_capitals_are_taken(tmp_path, capsys):
    with pytest.raises(SystemExit) as caught:
        main([*FIDELITY, "--out", str(tmp_path / "x"), "--log-level", "loud"])
    assert (
        caught.value.code == 2 and "--log-level: invalid choice: 'loud'" in capsys.readouterr().err
    )
    assert _run([*FIDELITY, "--out", str(tmp_path / "y"), "--log-level", "INFO"])[0] == 0
