"""The metrics that predict a written network's accuracy drop (mtjlab.analysis.metrics): each
against a small network worked by hand, the statistics against cases whose answer is known and
against scipy, and reproduce's summary.json and dataset holding them."""

import json

import numpy as np
import pytest
from scipy import stats

import mtjlab
from mtjlab.analysis.metrics import (
    METRIC_KEYS,
    ceiling_over_halvings,
    correlation_with_interval,
    importance_weighted_weight_fidelity,
    metric_statistics,
    smoothed_inputs,
    solution_metrics,
    spearman_brown,
    spearman_rho,
    split_half_ceiling,
    stratified_halves,
)
from mtjlab.analysis.network import BinaryNet
from mtjlab.cli.app import main
from mtjlab.runs.experiments import reproduce_text

# One hidden unit summing two inputs; class 0 when it fires, class 1 when it does not.
NET = BinaryNet(
    w_hidden=np.array([[1], [1]], dtype=np.int8),
    b_hidden=np.array([0.0]),
    w_out=np.array([[1, -1]], dtype=np.int8),
    b_out=np.array([0.0, 0.0]),
)
# Its pre-activations x0 + x1 are 0.6, 0.3, 0.3, 0.7: all fire, all class 0.
X = np.array([[0.5, 0.1], [0.5, -0.2], [-0.3, 0.6], [0.4, 0.3]])
Y = np.array([0, 0, 0, 0])
# Flipping weight 0 gives -x0 + x1 = -0.4, -0.7, 0.9, -0.1: 3 of 4 signs flip (importance 0.75).
# Flipping weight 1 gives x0 - x1 = 0.4, 0.7, -0.9, 0.1: 1 of 4 (0.25). Their sum is 1.0.


def _iwf(read, effective):
    return importance_weighted_weight_fidelity(
        NET, X, np.array(read).reshape(2, 1), np.array(effective, dtype=float).reshape(2, 1)
    )


def test_a_perfect_write_has_importance_weighted_fidelity_1():
    # effective weights off by a few percent (device spread) are right weights, not errors
    assert _iwf([1, 1], [1.04, 0.97]) == 1.0


def test_a_wrong_weight_costs_the_signs_its_read_back_error_flips():
    # weight 0 read as a flipped pair (effective -1): the 3 flips of its importance, of 1.0
    assert _iwf([-1, 1], [-1.0, 1.0]) == pytest.approx(1 - 0.75)
    # weight 1 flipped: its 1 flip
    assert _iwf([1, -1], [1.0, -1.0]) == pytest.approx(1 - 0.25)
    # weight 0 read as a pair alike (effective 0): the sum is x1 = 0.1, -0.2, 0.6, 0.3, 1 flip
    assert _iwf([1, 0], [1.0, 0.0]) == pytest.approx(1 - 0.25)
    # weight 1 shorted on its minus side (effective -100): x0 - 100 x1 flips samples 0, 2, 3,
    # where weight fidelity counts it like the pair alike
    assert _iwf([1, 0], [1.0, -100.0]) == pytest.approx(1 - 0.75)
    # both weights flipped: 0.75 + 0.25 of 1.0
    assert _iwf([-1, -1], [-1.0, -1.0]) == pytest.approx(0.0)


def _metrics(untuned, calibrated, thresholds=(0.0,), read=(1, 1), effective=(1.0, 1.0)):
    return solution_metrics(
        NET,
        X,
        Y,
        weights_read=np.array(read).reshape(2, 1),
        weights_effective=np.array(effective, dtype=float).reshape(2, 1),
        untuned_train=np.asarray(untuned, dtype=float).reshape(4, 1),
        calibrated_train=np.asarray(calibrated, dtype=float).reshape(4, 1),
        tuned_thresholds=np.array(thresholds),
        smoothed=(X, Y),  # the training split itself: the smoothed drops are the training one
    )


def test_a_perfect_write_agrees_in_every_sign_with_no_error_and_no_drop():
    sums = X @ np.array([1.0, 1.0])
    got = _metrics(sums, sums)
    assert list(got) == list(METRIC_KEYS)
    assert got == {
        "importance_weighted_weight_fidelity": 1.0,
        "train_hidden_sign_agreement": 1.0,
        "train_preactivation_error": 0.0,
        "train_accuracy_drop": 0.0,
        "smoothed_train_accuracy_drop": 0.0,
        "smoothed_train_tuned_accuracy_drop": 0.0,
    }
    assert all(isinstance(v, float) for v in got.values())  # stored as JSON numbers


def test_an_offset_of_the_sums_by_hand():
    sums = X @ np.array([1.0, 1.0])  # 0.6, 0.3, 0.3, 0.7
    got = _metrics(sums - 0.4, sums - 0.4)
    # 0.2, -0.1, -0.1, 0.3: samples 1 and 2 change sign and class
    assert got["train_hidden_sign_agreement"] == 0.5
    # the RMS error is the offset, over the population standard deviation of the sums (their
    # mean is 0.475, the squared deviations sum to 0.1275)
    assert got["train_preactivation_error"] == pytest.approx(0.4 / np.sqrt(0.1275 / 4))
    assert got["train_accuracy_drop"] == 0.5
    # the linear map fitted to the training sums reproduces them on the same inputs
    assert got["smoothed_train_accuracy_drop"] == pytest.approx(0.5)
    # a threshold of +0.4 undoes the offset for the tuned network
    assert _metrics(sums - 0.4, sums - 0.4, (0.4,))["smoothed_train_tuned_accuracy_drop"] == 0.0


def test_the_smoothed_split_is_a_kernel_density_sample_of_the_training_split():
    rng = np.random.default_rng(3)
    d, n = 4, 90
    y = np.repeat([0, 1, 2], n // 3)
    x = 0.1 * rng.standard_normal((n, d)) + 0.2 * y[:, None] - 0.2  # well inside +-1
    xs, ys = smoothed_inputs(x, y, copies=400, seed=7)
    assert xs.shape == (400 * n, d) and np.array_equal(ys, np.tile(y, 400))
    assert np.abs(xs).max() <= 1.0
    again = smoothed_inputs(x, y, copies=400, seed=7)
    assert np.array_equal(again[0], xs)
    assert not np.array_equal(smoothed_inputs(x, y, copies=400, seed=8)[0], xs)
    # the steps: mean 0, covariance Silverman's bandwidth squared times the pooled within-class
    # covariance, computed here class by class with numpy's cov
    steps = xs - np.tile(x, (400, 1))
    within = sum(np.cov(x[y == c].T) * (np.sum(y == c) - 1) for c in range(3)) / (n - 3)
    h = (4 / (d + 2)) ** (1 / (d + 4)) * n ** (-1 / (d + 4))
    np.testing.assert_allclose(steps.mean(axis=0), 0, atol=0.01)
    np.testing.assert_allclose(np.cov(steps.T), h**2 * within, atol=0.1 * h**2 * within.max())


# --- statistics ---------------------------------------------------------------------------


def test_spearman_rho_is_scipys_with_ties():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 5, 40).astype(float)
    y = x + rng.integers(0, 3, 40)
    assert spearman_rho(x, y) == pytest.approx(stats.spearmanr(x, y).statistic, abs=1e-12)
    assert spearman_rho(x, np.ones(40)) is None


def test_a_perfect_monotone_relation_has_rho_1_with_a_tight_interval():
    x = np.linspace(0.0, 1.0, 50)
    got = correlation_with_interval(x, x**3, seed=1)
    assert got["rho"] == pytest.approx(1.0)
    assert got["rho_interval"] == pytest.approx([1.0, 1.0])
    # the linear fit of a cubic explains less than all of it: scipy's linregress says how much
    assert got["r2"] == pytest.approx(stats.linregress(x, x**3).rvalue ** 2)
    assert got["r2"] < got["r2_interval"][1] <= 1.0
    falling = correlation_with_interval(x, -(x**3), seed=1)
    assert falling["rho"] == pytest.approx(-1.0)
    assert falling["rho_interval"] == pytest.approx([-1.0, -1.0])


def test_independent_noise_has_an_interval_around_0():
    rng = np.random.default_rng(2)
    got = correlation_with_interval(rng.random(100), rng.random(100), seed=3)
    low, high = got["rho_interval"]
    assert low < 0.0 < high and high - low < 0.5
    assert got["r2_interval"][0] >= 0.0


def test_the_interval_is_seeded_and_says_what_is_not_defined():
    rng = np.random.default_rng(4)
    m, d = rng.random(30), rng.random(30)
    assert correlation_with_interval(m, d, seed=5) == correlation_with_interval(m, d, seed=5)
    assert correlation_with_interval(m, d, seed=5) != correlation_with_interval(m, d, seed=6)
    for metric, drop in ((m, np.zeros(30)), (m[:2], d[:2])):
        got = correlation_with_interval(metric, drop)
        assert got["rho"] is got["rho_interval"] is got["r2_interval"] is None
    with pytest.raises(ValueError, match="one value per solution"):
        correlation_with_interval(m, d[:29])


def test_the_split_half_ceiling_of_identical_halves_is_1():
    drops = np.array([0.0, 0.02, 0.02, 0.05, 0.1, 0.3])
    assert split_half_ceiling(drops, drops) == {
        "split_half_rho": pytest.approx(1.0),
        "reliability": pytest.approx(1.0),
        "ceiling": pytest.approx(1.0),
    }
    # halves in opposite order: no reliability, a ceiling of 0
    assert split_half_ceiling(drops, -drops)["ceiling"] == 0.0
    assert spearman_brown(0.5) == pytest.approx(2 / 3)
    # half-rho 0.5: reliability 2/3, ceiling sqrt(2/3)
    a, b = np.array([1.0, 2, 3, 4, 5]), np.array([2.0, 1, 4, 3, 5])  # Spearman 0.8
    assert split_half_ceiling(a, b)["ceiling"] == pytest.approx(np.sqrt(2 * 0.8 / 1.8))


def test_halvings_halve_each_class_and_a_drop_the_same_on_every_sample_is_fully_reliable():
    labels = np.repeat([0, 1, 2], [19, 21, 14])
    halves = stratified_halves(labels, 50, seed=0)
    for c, size in ((0, 19), (1, 21), (2, 14)):
        assert (halves[:, labels == c].sum(axis=1) == size // 2).all()
    assert len({h.tobytes() for h in halves}) == 50
    # each solution's drop the same on every test sample: every halving's halves agree
    per_solution = np.linspace(-0.1, 0.4, 12)
    sample_drops = np.repeat(per_solution[:, None], labels.size, axis=1)
    got = ceiling_over_halvings(sample_drops, labels, splits=20)
    assert got["ceiling"] == pytest.approx(1.0) and got["splits"] == 20
    rng = np.random.default_rng(9)  # per-sample noise alone: nothing to rank
    noise = ceiling_over_halvings(rng.integers(-1, 2, (200, labels.size)), labels)
    assert noise["ceiling"] < 0.35


def test_metric_statistics_names_the_metric_that_ranks_the_drop_best():
    rng = np.random.default_rng(11)
    labels = np.repeat([0, 1], 10)
    sample_drops = rng.integers(-1, 2, (40, labels.size))
    drop = sample_drops.mean(axis=1)
    metrics = {
        "weight_fidelity": -drop + rng.normal(0, 0.2, 40),  # weakly, and falling
        "good": -drop + rng.normal(0, 0.01, 40),  # closely, and falling: |rho| counts
        "noise": rng.random(40),
    }
    got = metric_statistics(metrics, {"untuned_drop": drop}, {"untuned_drop": sample_drops}, labels)
    assert got["best"] == "good" and got["by_metric"]["good"]["untuned_drop"]["rho"] < -0.9
    assert set(got["by_metric"]) == set(metrics)
    assert set(got["ceiling"]["untuned_drop"]) == {
        "split_half_rho", "reliability", "ceiling", "splits"
    }  # fmt: skip
    assert (got["resamples"], got["confidence"]) == (2000, 0.95)


# --- reproduce ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_runs(tmp_path_factory):
    """The same 6 solutions with one worker and with two: summary.json and stdout of each."""
    runs = {}
    for workers in (1, 2):
        out = tmp_path_factory.mktemp(f"workers{workers}") / "o"
        argv = ["reproduce", "--solutions", "6", "--workers", str(workers), "--out", str(out)]
        runs[workers] = out
        assert main(argv) == 0
    return {w: (json.loads((o / "summary.json").read_text()), o) for w, o in runs.items()}


def test_reproduce_keeps_each_solutions_metrics_and_their_statistics(small_runs, capsys):
    summary, out = small_runs[1]
    for s in summary["solutions"]:
        assert list(s)[-len(METRIC_KEYS) :] == list(METRIC_KEYS)
        assert 0.0 <= s["train_hidden_sign_agreement"] <= 1.0
        assert s["importance_weighted_weight_fidelity"] <= 1.0
        assert s["train_preactivation_error"] >= 0.0
        assert "test_correct" not in s  # the per-sample scores stay in the run store
    metrics = summary["metrics"]
    assert set(metrics["by_metric"]) == {"weight_fidelity", *METRIC_KEYS}
    for scores in metrics["by_metric"].values():
        assert set(scores) == {"untuned_drop", "tuned_drop"}
        for s in scores.values():
            assert set(s) == {"rho", "rho_interval", "r2", "r2_interval", "n"} and s["n"] == 6
    assert set(metrics["ceiling"]) == {"untuned_drop", "tuned_drop"}
    assert metrics["best"] is None or metrics["best"] in metrics["by_metric"]
    # the statistics are those of the solutions' values, recomputed here
    weights = [s["weight_fidelity"] for s in summary["solutions"]]
    # in test samples, so that equal drops are equal numbers (as the run counts them)
    drops = [
        round(54 * (s["software_accuracy"] - s["tuned_accuracy"])) for s in summary["solutions"]
    ]
    rho = metrics["by_metric"]["weight_fidelity"]["tuned_drop"]["rho"]
    assert rho is not None and rho == spearman_rho(weights, drops)
    # no metric is quantiled with the accuracies
    assert not any(k.endswith(METRIC_KEYS) for k in summary if k.startswith("median_"))
    ds = mtjlab.open_run(out / "runs.db", 1).to_xarray()
    for key in METRIC_KEYS:
        assert ds[key].dims == ("solution",) and ds[key].attrs["units"] == "1"
        np.testing.assert_array_equal(ds[key], [s[key] for s in summary["solutions"]])


def test_a_metric_that_does_not_vary_is_said_to_have_no_rho(small_runs):
    summary = json.loads(json.dumps(small_runs[1][0]))
    summary["metrics"]["by_metric"]["weight_fidelity"]["untuned_drop"]["rho"] = None
    summary["metrics"]["best"] = "train_accuracy_drop"
    lines = reproduce_text.text(summary)
    assert any(
        line.split()[0] == "weight_fidelity" and line.endswith("not defined (it does not vary)")
        for line in lines
    )


def test_reproduce_metrics_are_the_same_whatever_the_workers(small_runs):
    one, two = small_runs[1][0], small_runs[2][0]
    assert one["solutions"] == two["solutions"]
    assert one["metrics"] == two["metrics"]


def test_on_an_ideal_chip_every_metric_says_perfect(tmp_path, capsys):
    out = tmp_path / "o"
    argv = ["reproduce", "--solutions", "3", "--workers", "1", "--chip", "ideal"]
    assert main([*argv, "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    for s in summary["solutions"]:
        assert s["weight_fidelity"] == s["importance_weighted_weight_fidelity"] == 1.0
        # What remains is the devices' bias-dependent TMR, which bends the sums by a few tenths
        # of a percent: a sum that close to its threshold may change sign (with unsigned inputs,
        # 2 of the 868 unit-samples of a solution here; 1 with signed ones).
        assert s["train_preactivation_error"] < 0.01
        assert s["train_hidden_sign_agreement"] >= 1 - 2 / 868
        assert abs(s["train_accuracy_drop"]) <= 1 / 124
        assert abs(s["smoothed_train_accuracy_drop"]) < 0.005
    # nothing varies, so nothing correlates: said in one line, not as a table of blanks
    assert summary["metrics"]["best"] is None
    assert "no rank correlation over 3 solutions" in capsys.readouterr().out


def test_reproduce_prints_the_best_metric_beside_weight_fidelity_and_the_ceiling(tmp_path, capsys):
    argv = ["reproduce", "--solutions", "12", "--workers", "1", "--chip", "reference"]
    argv += ["--allow-disturb", "--p-to-ap", "0.65,0.05,0.75", "--ap-to-p", "0.50,0.05,0.55"]
    assert main([*argv, "--out", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("untuned accuracy drop"))
    assert lines[at - 1].startswith("float MLP of the same shape")  # after the table
    assert "(Spearman rho, 95 % bootstrap interval, 12 solutions)" in lines[at]
    assert lines[at + 1].split()[1] == "(best)"
    assert any(line.split()[0] == "weight_fidelity" for line in lines[at + 1 : at + 3])
    assert "ceiling from the test split" in out and "split-half reliability" in out
