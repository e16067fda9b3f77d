"""`mtjlab reproduce --output-layer array`: the 7x3 output layer written into a second array,
the hidden layer's signs driving its rows."""

import json

import numpy as np
import pytest

from mtjlab.bench.description import from_params
from mtjlab.cli.app import main
from mtjlab.runs.experiments.wine import Wine
from mtjlab.runs.store import RunStore
from mtjlab.sim.chip import STUCK_AP

ARGV = ["reproduce", "--output-layer", "array", "--workers", "1"]
#: The reference die is written outside its disturb envelope, with its own ramps (README).
REFERENCE_WRITES = ["--allow-disturb", "--p-to-ap", "0.65,0.05,0.75", "--ap-to-p", "0.50,0.05,0.55"]


@pytest.fixture(scope="module")
def ideal_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("ideal") / "o"
    argv = [*ARGV, "--solutions", "3", "--arrays", "0,1", "--chip", "ideal"]
    assert main([*argv, "--out", str(out)]) == 0
    with RunStore(out / "runs.db") as store:
        params = store.run(1).parameters
        results = [store.unit_results(1)[f"solution={k}"] for k in range(3)]
    return json.loads((out / "summary.json").read_text()), params, results


def test_on_an_ideal_chip_both_layers_compute_what_software_does(ideal_run):
    summary, _, results = ideal_run
    assert summary["output_layer"] == "array"
    for s in summary["solutions"]:
        assert (s["array"], s["output_array"]) == (0, 1)
        assert s["output_device_fidelity"] == s["output_weight_fidelity"] == 1.0
        # exact devices, no lines: the array's sums are the software network's
        assert s["untuned_accuracy"] == s["software_accuracy"]
    for r in results:
        layer = r["output_layer"]
        target, states = np.array(layer["target"]), np.array(layer["states"])
        weights = target != -1
        assert weights.sum() == 2 * 7 * 3  # 7 hidden rows, 3 column pairs
        np.testing.assert_array_equal(states[weights], target[weights])


def test_the_output_layer_is_read_from_its_array(ideal_run):
    """Class 0's plus column stuck in AP on the output array: the weights it holds are lost and
    the untuned classification changes, so the output sums come from the array."""
    _, params, results = ideal_run
    wine = Wine(params)
    backends = from_params(params["bench"]).backends([0, 1])
    out = backends[1].array
    out.defect[:7, 0] = STUCK_AP
    out.state[:7, 0] = 1  # AP
    result = wine.solve(backends, 0, {}, {})
    w_out = np.array(params["networks"][0]["w_out"])
    lost = int(np.sum(w_out[:, 0] == 1))  # +1 needs P on the plus column
    assert lost > 0
    assert result["output_weight_fidelity"] == pytest.approx(1 - lost / w_out.size)
    assert result["untuned_accuracy"] != results[0]["untuned_accuracy"]


def test_two_processes_give_the_results_of_one(tmp_path):
    summaries = []
    for workers in ("1", "2"):
        out = tmp_path / f"w{workers}"
        argv = [
            *ARGV[:-1],
            workers,
            "--solutions",
            "4",
            "--arrays",
            "0,1,2,3",
            "--chip",
            "reference",
        ]
        assert main([*argv, "--defect-aware", *REFERENCE_WRITES, "--out", str(out)]) == 0
        summaries.append(json.loads((out / "summary.json").read_text()))
    got = summaries[0]["solutions"]
    assert [(s["array"], s["output_array"]) for s in got] == [(0, 1), (2, 3)] * 2
    assert got == summaries[1]["solutions"]


def test_it_needs_two_arrays(tmp_path, capsys):
    out = tmp_path / "o"
    assert main([*ARGV, "--arrays", "2", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "mtjlab: error: --output-layer array needs two arrays per solution; --arrays gives [2]"
    ]
    assert not out.exists()
