"""A process forked while the run's lease heartbeat is inside SQLite (a sweep's pool, reproduce's
workers) can open a store: the heartbeat is kept out of SQLite at the moment of a fork."""

import os
import threading
import time

from mtjlab.runs import store as store_module
from mtjlab.runs.store import RunStore

FORKS = 300


def test_workers_forked_as_the_heartbeat_starts_open_their_stores(tmp_path, monkeypatch):
    # As a run does: its heartbeat thread starts (and connects) as the experiment forks its
    # workers; each worker then opens a store of its own, as a sweep's point does.
    monkeypatch.setattr(store_module, "HEARTBEAT_S", 0.0005)
    hung = 0
    with RunStore(tmp_path / "runs.db") as store:
        run_id = store.create_run("read", {}, seed=0, snapshot={})
        token = store.take_lease(run_id)
        try:
            for k in range(FORKS):
                stop = threading.Event()
                beat = threading.Thread(
                    target=store.heartbeat, args=(run_id, token, stop), daemon=True
                )
                beat.start()
                pid = os.fork()
                if pid == 0:
                    try:
                        RunStore(tmp_path / f"point-{k}.db").close()
                    finally:
                        os._exit(0)
                deadline = time.monotonic() + 5.0
                while not os.waitpid(pid, os.WNOHANG)[0]:
                    if time.monotonic() > deadline:
                        hung += 1
                        os.kill(pid, 9)
                        os.waitpid(pid, 0)
                        break
                    time.sleep(0.001)
                stop.set()
                beat.join(5.0)
        finally:
            store.drop_lease(run_id, token)
    assert hung == 0, f"{hung} of {FORKS} forked workers hung opening their store"
