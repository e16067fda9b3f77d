"""Sweeps on a Dask cluster (a LocalCluster of two worker processes on 127.0.0.1, started and
stopped by the tests): the results of one process, a worker killed in the middle costing only
its points, an unreachable scheduler refused in one line before any work."""

import os
import signal

import pytest

import mtjlab
from mtjlab.runs.store import RunStore
from mtjlab.runs.values import OptionError

distributed = pytest.importorskip("distributed")

GRID = {"vary": [("r_row_ohm", [0, 6])], "seeds": 2, "solutions": 2}


@pytest.fixture(scope="module")
def cluster():
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as local,
        distributed.Client(local, timeout=30) as client,
    ):
        yield local, client


@pytest.fixture(scope="module")
def in_one_process():
    return mtjlab.sweep("reproduce", workers=1, **GRID)


def test_a_dask_cluster_gives_the_results_of_one_process(cluster, in_one_process):
    local, client = cluster
    on_dask = mtjlab.sweep("reproduce", client=client, **GRID)
    assert on_dask.summary["points"] == in_one_process.summary["points"]
    by_address = mtjlab.sweep("reproduce", scheduler=local.scheduler_address, **GRID)
    assert by_address.summary["points"] == in_one_process.summary["points"]


def test_a_worker_killed_mid_sweep_costs_only_its_points(cluster, in_one_process, tmp_path):
    local, client = cluster
    pids = list(client.run(os.getpid).values())
    killed = []

    def kill_one_worker(event):
        if event.done == 1 and not killed:
            os.kill(pids[0], signal.SIGKILL)  # the nanny starts another
            killed.append(pids[0])

    store = tmp_path / "runs.db"
    result = mtjlab.sweep("reproduce", client=client, store=store, progress=kill_one_worker, **GRID)
    assert killed
    assert result.summary["points"] == in_one_process.summary["points"]
    with RunStore(store) as s:
        assert len(s.unit_results(result.run_id)) == 4
        assert len(s.records(result.run_id, finished_only=False, with_time=False)) == 4


def test_an_unreachable_scheduler_is_one_line_before_any_work(tmp_path):
    with pytest.raises(OptionError, match=r"--scheduler tcp://127.0.0.1:9: cannot reach") as e:
        mtjlab.sweep("reproduce", scheduler="tcp://127.0.0.1:9", store=tmp_path / "r.db", **GRID)
    assert "\n" not in str(e.value)
    assert not (tmp_path / "r.db").exists()
