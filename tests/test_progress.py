"""Progress drawing: bars with an ETA on a terminal, a line every tenth of the way in a log."""

import io

import pytest

from mtjlab.cli.app import main
from mtjlab.cli.progress import ProgressView
from mtjlab.core.events import Progress
from mtjlab.runs import engine
from mtjlab.runs.registry import experiment
from mtjlab.runs.store import RunStore


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def feed(view, task, total, unit="write"):
    for done in range(total + 1):
        view(Progress(task, done, total, unit, f"step {done}"))


def test_log_gets_the_first_step_then_a_line_per_tenth_of_the_outer_task_only():
    log = io.StringIO()
    view = ProgressView(log)
    feed(view, "fidelity", 40)
    feed(view, "write-verify", 100, "pulse")  # inner task: not logged
    lines = log.getvalue().splitlines()
    assert len(lines) == 11  # the first step (an early ETA), then every tenth
    assert lines[0].startswith("fidelity: 1/40 writes,")
    assert lines[1].startswith("fidelity: 4/40 writes,") and "left (step 4)" in lines[1]
    assert lines[-1].startswith("fidelity: 40/40 writes,")


def test_terminal_gets_bars_with_rate_and_remaining_time():
    term = FakeTerminal()
    view = ProgressView(term)
    feed(view, "fidelity", 5)
    view(Progress("write-verify", 0, 3, "pulse"))
    view(Progress("write-verify", 3, 3, "pulse"))
    view.close()
    text = term.getvalue()
    assert "fidelity" in text and "5/5" in text and "write-verify" in text
    assert "<" in text  # tqdm's elapsed<remaining


def test_disabled_view_draws_nothing():
    log = io.StringIO()
    feed(ProgressView(log, enabled=False), "fidelity", 10)
    assert log.getvalue() == ""


def test_a_sweep_logs_its_points_with_the_time_left_whatever_runs_them():
    # the points' progress comes from the parent, however the points are run (pool, Dask)
    log = io.StringIO()
    view = ProgressView(log)
    feed(view, "sweep", 20, "point")
    lines = log.getvalue().splitlines()
    assert len(lines) == 11
    assert lines[-1].startswith("sweep: 20/20 points,") and "s left (step 20)" in lines[-1]


def test_reproduce_solutions_are_the_outer_bar_on_a_terminal():
    # the solutions' bar stays on the top line when done; an inner bar under it goes
    term = FakeTerminal()
    view = ProgressView(term)
    feed(view, "reproduce", 4, "solution")
    feed(view, "write-verify", 3, "pulse")
    bar = view._bars["reproduce"]
    assert bar.leave and bar.pos == 0 and bar.n == 4
    assert "write-verify" not in view._bars
    view.close()


def test_reproduce_logs_a_line_per_tenth_of_its_solutions_with_the_time_left(tmp_path, capsys):
    # stderr captured is not a terminal: what `mtjlab reproduce ... 2>log` writes
    argv = ["reproduce", "--solutions", "20", "--workers", "1", "--out", str(tmp_path)]
    assert main(argv) == 0
    log = capsys.readouterr().err.splitlines()
    lines = [line for line in log if line.startswith("reproduce: ")]
    assert len(lines) == 11  # the first solution (an early ETA), then every tenth
    assert lines[0].startswith("reproduce: 1/20 solutions,")
    assert lines[-1].startswith("reproduce: 20/20 solutions,")
    assert all("s left (tuned " in line for line in lines)


def test_a_resumed_run_measures_its_time_left_from_where_it_resumed(monkeypatch):
    # The first event of a resumed run says what it had stored (done=30 of 40): the time left is
    # measured from there, not as if the 30 had taken no time.
    now = [100.0]
    monkeypatch.setattr("mtjlab.cli.progress.time.monotonic", lambda: now[0])
    log = io.StringIO()
    view = ProgressView(log)
    view(Progress("reproduce", 30, 40, "solution"))
    for done in range(31, 41):
        now[0] += 2.0  # each new solution takes 2 s
        view(Progress("reproduce", done, 40, "solution"))
    lines = log.getvalue().splitlines()
    assert lines[0].startswith("reproduce: 31/40 solutions, 2 s, about 18 s left")
    assert lines[-1].startswith("reproduce: 40/40 solutions, 20 s, about 0 s left")
    # a fresh run of the task (done=0) starts the clock again
    view(Progress("reproduce", 0, 10, "solution"))
    now[0] += 5.0
    view(Progress("reproduce", 1, 10, "solution"))
    assert log.getvalue().splitlines()[-1].startswith("reproduce: 1/10 solutions, 5 s, about 45 s")


def test_a_resumed_bar_starts_at_what_was_stored():
    term = FakeTerminal()
    view = ProgressView(term)
    view(Progress("sweep", 6, 8, "point"))
    assert view._bars["sweep"].n == 6 and view._bars["sweep"].initial == 6
    view(Progress("sweep", 8, 8, "point"))
    view.close()
    assert "8/8" in term.getvalue()


def _resumed_progress(tmp_path, kind: str, given: dict, stop_at: int) -> list[tuple[int, int]]:
    """Run ``kind`` with options ``given``, interrupt it when its outer progress reaches
    ``stop_at``, resume it, and return the resumed run's outer (done, total) events."""
    exp = experiment(kind)
    params = exp.expand(exp.prepare({o.name: o.take(given.get(o.name, o.default))
                                     for o in exp.options}))  # fmt: skip
    params["out"] = str(tmp_path / "out")

    def stop(event):
        if event.task == kind and event.done == stop_at:
            raise KeyboardInterrupt

    with RunStore(tmp_path / "runs.db") as store:
        run_id = engine.create(store, kind, params)
        with pytest.raises(KeyboardInterrupt):
            engine.execute(store, run_id, progress=stop)
        events: list = []
        engine.resume(store, run_id, progress=events.append)
    return [(e.done, e.total) for e in events if e.task == kind]


def test_a_resumed_reproduce_starts_its_progress_at_the_solutions_it_had_stored(tmp_path):
    events = _resumed_progress(tmp_path, "reproduce", {"solutions": 4, "workers": 1}, stop_at=2)
    assert events == [(2, 4), (3, 4), (4, 4)]


def test_a_resumed_characterization_starts_its_progress_at_the_writes_it_had_stored(tmp_path):
    events = _resumed_progress(tmp_path, "fidelity", {"patterns": 1, "arrays": "0,1"}, stop_at=3)
    # 3 writes stored (the third's unit finished before its progress event stopped the run)
    assert events == [(3, 6), (4, 6), (5, 6), (6, 6)]
