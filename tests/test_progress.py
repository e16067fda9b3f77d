"""Progress drawing: bars with an ETA on a terminal, a line every tenth of the way in a log."""

import io

from mtjlab.cli.app import main
from mtjlab.cli.progress import ProgressView
from mtjlab.core.events import Progress


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
