"""One owner per run: a run being measured holds a lease in its store, a second resume is refused
naming the holder, and a run whose holder died shows as interrupted and resumes."""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import pytest

from mtjlab.cli.app import main
from mtjlab.runs.leases import STALE_S
from mtjlab.runs.store import RunBusyError, RunStore


def _units_done(path) -> int:
    if not path.exists():
        return 0
    with RunStore(path) as s:
        return s.run(1).units_done if s.runs() else 0


def test_a_run_being_measured_is_refused_to_a_second_process_and_resumes_once_it_died(
    tmp_path, capsys
):
    store = tmp_path / "runs.db"
    argv = ["characterize", "fidelity", "--arrays", "1", "--patterns", "30", "--fixed", "none"]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mtjlab",
            *argv,
            "--store",
            str(store),
            "--out",
            str(tmp_path / "o"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and _units_done(store) < 1:
            time.sleep(0.05)
        assert _units_done(store) >= 1
        assert main(["runs", "resume", "1", "--store", str(store)]) == 2
        err = capsys.readouterr().err
        assert f"run 1 is being measured by process {proc.pid} on " in err
        (line,) = [x for x in err.splitlines() if x.startswith("mtjlab: error:")]
        assert "let it finish or stop it, then resume" in line and "Traceback" not in err
        main(["runs", "list", "--store", str(store)])
        assert capsys.readouterr().out.splitlines()[1].split()[2] == "running"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    # its process is gone: the run reads as interrupted, and resumes to its end
    main(["runs", "list", "--store", str(store)])
    assert capsys.readouterr().out.splitlines()[1].split()[2] == "interrupted"
    assert main(["runs", "resume", "1", "--store", str(store)]) == 0
    with RunStore(store) as s:
        assert s.run(1).status == "finished" and s.run(1).units_done == 30
        assert s.holder(1) is None


def test_a_lease_is_held_until_dropped_and_refused_meanwhile(tmp_path):
    with RunStore(tmp_path / "runs.db") as a, RunStore(tmp_path / "runs.db") as b:
        run = a.create_run("read", {}, seed=0, snapshot={})
        token = a.take_lease(run)
        pid, host, _ = b.holder(run)
        assert pid == os.getpid()
        with pytest.raises(
            RunBusyError, match=f"being measured by process {os.getpid()} on {host}"
        ):
            b.take_lease(run)
        a.drop_lease(run, "not the token")  # another's token drops nothing
        assert b.holder(run) is not None
        a.drop_lease(run, token)
        assert b.holder(run) is None
        b.drop_lease(run, b.take_lease(run))


def test_a_lease_another_host_stopped_beating_is_taken_over(tmp_path):
    path = tmp_path / "runs.db"
    with RunStore(path) as s:
        run = s.create_run("read", {}, seed=0, snapshot={})
    old = (datetime.now(timezone.utc) - timedelta(seconds=STALE_S + 5)).isoformat()
    fresh = datetime.now(timezone.utc).isoformat()
    db = sqlite3.connect(path)
    db.execute("INSERT INTO leases VALUES (?, 4242, 'elsewhere', 't', ?, ?)", (run, old, fresh))
    db.commit()
    with RunStore(path) as s, pytest.raises(RunBusyError, match="process 4242 on elsewhere"):
        s.take_lease(run)
    db.execute("UPDATE leases SET heartbeat=?", (old,))
    db.commit()
    db.close()
    with RunStore(path) as s:
        assert s.holder(run) is None
        s.drop_lease(run, s.take_lease(run))
