"""A sweep run end to end on the simulated bench: each point the experiment on its own chip
seed, the same results in one process and in a process pool, each point stored once and an
interrupted sweep resumed with only the points it lacked; its dataset and figures."""

import contextlib
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import mtjlab
from mtjlab.cli.app import main
from mtjlab.runs import engine
from mtjlab.runs.experiments.sweep import prepare
from mtjlab.runs.registry import experiment
from mtjlab.runs.store import RunStore
from mtjlab.runs.values import OptionError

GRID = {"vary": [("r_row_ohm", [0, 6])], "seeds": 2, "solutions": 2}


def _figures(result):
    """Each point's values and figures, as the sweep's summary lists them."""
    return result.summary["points"]


@pytest.fixture(scope="module")
def in_one_process():
    return mtjlab.sweep("reproduce", workers=1, **GRID)


def test_a_point_is_the_experiment_on_its_own_chip(in_one_process):
    points = in_one_process.summary["points"]
    assert [(p["r_row_ohm"], p["seed"]) for p in points] == [(0, 0), (0, 1), (6, 0), (6, 1)]
    alone = mtjlab.reproduce(solutions=2, seed=1, chip_set=[("r_row_ohm", 6)], workers=1)
    for key in ("median_untuned_accuracy", "median_tuned_accuracy", "mean_weight_fidelity"):
        assert points[3][key] == alone.summary[key]
    # the line resistance is the point's own: on the same seed the writes need other pulses
    assert points[0]["mean_pulses"] != points[2]["mean_pulses"]


def test_a_process_pool_gives_the_results_of_one_process(in_one_process):
    pooled = mtjlab.sweep("reproduce", workers=2, **GRID)
    assert _figures(pooled) == _figures(in_one_process)


def test_the_dataset_has_a_dimension_per_varied_field_and_seed(in_one_process):
    ds = in_one_process.to_xarray()
    tuned = ds.median_tuned_accuracy
    assert tuned.dims == ("r_row_ohm", "seed")
    assert ds.r_row_ohm.values.tolist() == [0.0, 6.0] and ds.seed.values.tolist() == [0, 1]
    assert tuned.attrs["units"] == "1" and not np.isnan(tuned.values).any()
    for p in in_one_process.summary["points"]:
        at = tuned.sel(r_row_ohm=p["r_row_ohm"], seed=p["seed"])
        assert float(at) == p["median_tuned_accuracy"]


def test_an_interrupted_sweep_resumes_with_only_the_points_it_lacked(tmp_path, in_one_process):
    store_path, out = tmp_path / "runs.db", tmp_path / "out"
    options = {"experiment": "reproduce", "vary": GRID["vary"], "seeds": 2, "sample": None}
    options |= {"sample_seed": 0, "workers": 1, "settings": {"solutions": 2}}
    taken = {o.name: o.take(options.get(o.name, o.default)) for o in experiment("sweep").options}
    params = prepare(taken) | {"out": str(out)}
    seen = []

    def stop_after_two(event):
        seen.append(event.done)
        if event.done == 2:
            raise KeyboardInterrupt

    with RunStore(store_path) as store:
        run_id = engine.create(store, "sweep", params)
        with pytest.raises(KeyboardInterrupt):
            engine.execute(store, run_id, progress=stop_after_two)
        assert store.run(run_id).status == "interrupted"
        assert len(store.unit_results(run_id)) == 2
        resumed: list = []
        summary = engine.resume(store, run_id, progress=resumed.append)
        assert store.run(run_id).status == "finished"
        # the resumed run's progress starts at the two points it had stored
        assert [(e.done, e.total) for e in resumed if e.task == "sweep"] == [(2, 4), (3, 4), (4, 4)]
        results = store.unit_results(run_id)
        records = store.records(run_id, finished_only=True, with_time=False)
    assert len(results) == 4 and len(records) == 4  # every point once
    assert summary["points"] == _figures(in_one_process)
    assert json.loads((out / "summary.json").read_text())["n_points"] == 4
    assert (out / "sweep_r_row_ohm.png").stat().st_size > 10_000


def test_a_sample_runs_along_one_point_dimension():
    r = mtjlab.sweep("reproduce", vary="r_row_ohm=0:8", sample=2, seeds=1, solutions=2, workers=1)
    ds = r.to_xarray()
    assert ds.median_tuned_accuracy.dims == ("point",)
    assert ds.r_row_ohm.dims == ("point",) and 0 <= ds.r_row_ohm.min() <= ds.r_row_ohm.max() <= 8


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"vary": ["r_row_ohm=0,1"], "solutionz": 2}, r"reproduce has no option solutionz"),
        ({"vary": ["solutions=2,3"], "solutions": 2}, r"solutions: both fixed and varied"),
        ({"vary": ["r_row_ohm=0,1"], "workers": 2, "chip_set": []}, r"chip_set: set by the sweep"),
        ({"vary": ["r_row_ohm=0,1"], "v_in_v": 0.5}, r"read limit|max_read_v|input voltage"),
        ({"vary": ["p_shorted=0,2"]}, r"p_shorted=2"),
    ],
)
def test_bad_input_is_refused_before_any_point_runs(kwargs, message):
    options = dict(kwargs)
    vary = options.pop("vary")
    workers = options.pop("workers", 1)
    with pytest.raises((OptionError, ValueError), match=message):
        mtjlab.sweep("reproduce", vary=vary, workers=workers, **options)


def test_only_an_experiment_that_names_its_chip_can_be_swept():
    with pytest.raises(OptionError, match=r"experiment='read' is not allowed; allowed: reproduce"):
        mtjlab.sweep("read", vary=["r_row_ohm=0,1"])


def test_a_pool_worker_killed_mid_sweep_costs_only_its_points(tmp_path, in_one_process):
    killed = []

    def kill_one_worker(event):
        children = multiprocessing.active_children()
        if event.done == 1 and children and not killed:
            os.kill(children[0].pid, signal.SIGKILL)  # the pool breaks; a new one takes over
            killed.append(children[0].pid)

    store = tmp_path / "runs.db"
    result = mtjlab.sweep("reproduce", workers=2, store=store, progress=kill_one_worker, **GRID)
    assert killed
    assert result.summary["points"] == in_one_process.summary["points"]
    with RunStore(store) as s:
        assert len(s.unit_results(result.run_id)) == 4
        assert len(s.records(result.run_id, finished_only=False, with_time=False)) == 4


def test_a_sweep_whose_process_is_killed_resumes_with_the_points_it_lacked(
    tmp_path, in_one_process
):
    out = tmp_path / "o"
    argv = [sys.executable, "-m", "mtjlab", "sweep", "reproduce", "--vary", "r_row_ohm=0,6"]
    argv += ["--seeds", "2", "--solutions", "2", "--workers", "1", "--out", str(out)]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if (out / "runs.db").exists():
                with contextlib.suppress(Exception), RunStore(out / "runs.db", read_only=True) as s:
                    if len(s.unit_results(1)) >= 1:
                        break
            time.sleep(0.2)
        else:
            pytest.fail("the sweep finished no point in 120 s")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    with RunStore(out / "runs.db", read_only=True) as s:
        before = len(s.unit_results(1))
    assert 1 <= before < 4
    assert main(["runs", "resume", "1", "--store", str(out / "runs.db")]) == 0
    with RunStore(out / "runs.db") as s:
        assert s.run(1).status == "finished"
        assert len(s.unit_results(1)) == 4
        assert len(s.records(1, finished_only=False, with_time=False)) == 4  # each point once
    summary = json.loads((out / "summary.json").read_text())
    assert summary["points"] == in_one_process.summary["points"]


def test_a_scheduler_without_dask_installed_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed fails
    with pytest.raises(OptionError, match=r"needs Dask: pip install 'mtjlab\[dask\]'") as e:
        mtjlab.sweep("reproduce", scheduler="tcp://127.0.0.1:8786", **GRID)
    assert "\n" not in str(e.value)


def test_a_point_draws_nothing_but_keeps_every_number(tmp_path):
    # a sweep keeps a point's numbers only: the point's run skips its figures and report, and
    # its numbers are those of the same run drawn in full
    exp = experiment("reproduce")
    options = {"solutions": 1, "workers": 1}
    taken = {o.name: o.take(options.get(o.name, o.default)) for o in exp.options}
    params = exp.expand(exp.prepare(taken))
    summaries = {}
    for draw in (True, False):
        out = tmp_path / f"draw-{draw}"
        p = params | {"out": str(out), "draw_figures": draw}
        with RunStore(tmp_path / f"{draw}.db") as store, contextlib.redirect_stdout(None):
            summaries[draw] = engine.execute(store, engine.create(store, "reproduce", p))
        assert bool(list(out.glob("*.png"))) is draw
        assert (out / "report.html").exists() is draw
    drawn, bare = summaries[True], summaries[False]
    assert bare["figures"] == [] and bare["html"] == "" and drawn["figures"]
    for key in drawn.keys() - {"figures", "html", "store"}:
        assert bare[key] == drawn[key], key


FIDELITY = {"vary": [("r_row_ohm", [0, 6])], "seeds": 2, "patterns": 1, "fixed": "none"}


def test_write_fidelity_sweeps_as_reproduce_does(tmp_path):
    # each point is characterize fidelity on its own chip; a pool gives one process's results
    alone = mtjlab.sweep("fidelity", workers=1, arrays=[4], **FIDELITY)
    pooled = mtjlab.sweep("fidelity", workers=2, arrays=[4], **FIDELITY)
    assert _figures(pooled) == _figures(alone)
    points = alone.summary["points"]
    one = mtjlab.characterize_fidelity(
        seed=1, chip_set=[("r_row_ohm", 6)], arrays=[4], patterns=1, fixed="none"
    )
    overall = one.summary["overall"]
    assert points[3]["mean_fidelity"] == overall["mean_fidelity"]
    assert points[3]["pulses"] == overall["pulses"]
    # the lines' drop costs the 80 nm array writes on the same seed
    assert points[0]["mean_fidelity"] > points[2]["mean_fidelity"]
    ds = alone.to_xarray()
    assert ds.mean_fidelity.dims == ("r_row_ohm", "seed")
    figures = alone.experiment.figures(ds, alone.summary)
    (fig,) = figures.values()
    assert fig.axes[0].get_ylabel() == "write fidelity (%)"


def test_a_chip_is_written_with_its_preset_ramps_inside_its_envelope_or_refused(capsys):
    # the fidelity command takes the chip options too: the reference die's window is outside
    # its envelope, so it is refused without --allow-disturb, in one line, before any work
    assert main(["characterize", "fidelity", "--chip", "reference", "--patterns", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "0.75 V pulse" in err[0] and "--allow-disturb" in err[0]
    fid = experiment("fidelity")
    given = {"chip": "reference", "allow_disturb": True}
    params = fid.prepare({o.name: o.take(given.get(o.name, o.default)) for o in fid.options})
    assert params["write"]["ramp_p_to_ap"] == [0.65, 0.05, 0.75]
    assert params["bench"]["preset"] == "reference"
