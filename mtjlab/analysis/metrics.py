"""Metrics that predict how much accuracy a written network loses on the hardware, computed from
what a bench knows before the test split is run, and the statistics that score them against the
accuracy drop measured on the test split.

What a metric may use: the read-back map of the written array, the trained network, and the
array's measurements on the training split. Never a test label or a test measurement: those are
what the metrics are scored against. The accuracy drop of a solution is its software test accuracy
minus its hardware test accuracy, untuned or tuned.

How well any metric can do is bounded by the test split itself: 54 samples rank the solutions'
drops only so reliably. :func:`split_half_ceiling` measures that bound from the agreement of the
drops measured on the test split's two halves.

Measured with ``mtjlab reproduce --solutions 100 --chip reference`` (seeds 0, 11, 777): the
untuned drop on the smoothed training split ranks the measured untuned drop best (on seed 11
second, by 0.01), Spearman rho 0.64, 0.50 and 0.62, where weight fidelity reaches -0.51, -0.38
and -0.28, under ceilings of 0.77, 0.54 and 0.58.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from mtjlab.analysis.network import BinaryNet, sign

#: The per-solution metrics, by their key in a solution's result and ``summary.json``.
METRIC_KEYS = (
    "importance_weighted_weight_fidelity",
    "train_hidden_sign_agreement",
    "train_preactivation_error",
    "train_accuracy_drop",
    "smoothed_train_accuracy_drop",
    "smoothed_train_tuned_accuracy_drop",
)

#: Copies of each training input in the smoothed training split: 50 x 124 inputs put the Monte
#: Carlo error of a smoothed drop near 0.2 points (median over the reference chip's solutions),
#: a tenth of a test sample's 1.9.
SMOOTHED_COPIES = 50


def smoothed_inputs(
    x: np.ndarray,
    y: np.ndarray,
    *,
    copies: int = SMOOTHED_COPIES,
    seed: int = 0,
    low: float = -1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Inputs drawn from a kernel density estimate of a labelled split, each with its label.

    Each input of ``x`` gives ``copies`` inputs: itself plus a Gaussian step whose covariance is
    the pooled within-class covariance of ``x`` times the square of Silverman's bandwidth
    ``(4 / (d + 2))^(1 / (d + 4)) n^(-1 / (d + 4))`` (0.70 for the Wine training split, d = 13,
    n = 124). Within-class, so a step follows how the features vary together inside a class
    and keeps its source's label; clipped to [``low``, 1] as test inputs are (-1 for signed
    inputs, 0 for unsigned ones). A drop measured on them
    is averaged over far more inputs than the 124 of the split, and over more of them near the
    decision boundaries (the Wine networks score 92 % on them, 97 % on the training and the test
    split): it says how far the hardware moved the boundaries where the data lie, with less of
    the luck of which samples a split happens to hold.

    Returns
    -------
    (x_smoothed, y_smoothed) : (copies * n, d) and (copies * n,) arrays
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y)
    n, d = x.shape
    classes = np.unique(y)
    centred = x - np.stack([x[y == c].mean(axis=0) for c in classes])[np.searchsorted(classes, y)]
    within = centred.T @ centred / (n - classes.size)
    values, vectors = np.linalg.eigh(within)
    root = vectors * np.sqrt(np.clip(values, 0.0, None))
    bandwidth = (4.0 / (d + 2)) ** (1.0 / (d + 4)) * n ** (-1.0 / (d + 4))
    steps = np.random.default_rng([int(seed), 0x5E]).standard_normal((copies, n, d))
    smoothed = np.clip(x[None] + bandwidth * steps @ root.T, low, 1.0)
    return smoothed.reshape(-1, d), np.tile(y, copies)


def _sign_flips(pre: np.ndarray, x: np.ndarray, change: np.ndarray) -> np.ndarray:
    """Per weight (input i, unit j), the fraction of samples whose unit-j sign changes when that
    weight alone changes by ``change[i, j]``: ``sign(pre_nj + change_ij x_ni) != sign(pre_nj)``."""
    moved = pre[:, None, :] + change[None, :, :] * x[:, :, None]
    return np.mean(sign(moved) != sign(pre)[:, None, :], axis=0)


def importance_weighted_weight_fidelity(
    net: BinaryNet, x_train: np.ndarray, weights_read: np.ndarray, weights_effective: np.ndarray
) -> float:
    """Weight fidelity with each wrong weight weighted by how much its error matters to the
    trained network.

    A weight's importance is the fraction of training samples whose hidden-unit sign it decides:
    those whose unit changes sign when the weight alone flips. A wrong weight's damage is the
    same count for the error the read-back map shows: the weight becomes its pair's conductance
    difference over the nominal one (``weights_effective``), so a pair read alike holds about
    0 (half a flip), a shorted device about +-100 (every sample whose input pushes the wrong way).
    The fidelity is ``1 - sum(damage of the wrong weights) / sum(importance of all weights)``:
    1 for a perfect write, lower as the errors flip more of the hidden signs the network relies
    on, below 0 when they flip more than flipping every weight once would.

    Why hidden signs: a hidden unit passes on only its sign, so a weight matters in proportion to
    how many of its unit's training signs it decides. Counting instead the training samples
    whose class a single flip changes gives a third of the weights importance 0 (their flip
    alone changes no class, two together may), and ranked the reference chip's drops no better.
    Why the read-back error and not the weight's class (right or wrong): weight fidelity counts a
    shorted device like a pair read alike, yet on the reference chip (seed 0, 100 solutions) the
    20 solutions on the array with two shorted weight cells lost 4.4 of 54 test samples on
    average untuned, up to 14, and the other 80 solutions 0.14.

    Parameters
    ----------
    net : BinaryNet
        The trained network; its hidden weights are what was written.
    x_train : (n, inputs) array
        The training split's inputs.
    weights_read : (inputs, units) array
        The weights the read-back states hold (+1, -1, 0 for a pair that is neither).
    weights_effective : (inputs, units) array
        The weights the read-back resistances hold: each pair's conductance difference over the
        nominal ``G_P - G_AP``.
    """
    w = np.asarray(net.w_hidden, dtype=float)
    x = np.asarray(x_train, dtype=float)
    pre = net.hidden_preactivation(x)
    wrong = np.asarray(weights_read) != w
    importance = _sign_flips(pre, x, -2.0 * w).sum()
    error = np.where(wrong, np.asarray(weights_effective, dtype=float) - w, 0.0)
    damage = _sign_flips(pre, x, error).sum()
    if importance == 0.0:  # no weight decides any training sign: only a harmless write is 1
        return 1.0 if damage == 0.0 else 0.0
    return float(1.0 - damage / importance)


def _linear_model(x: np.ndarray, sums: np.ndarray) -> np.ndarray:
    """Least-squares ``[x, 1] @ model ~ sums``: the array's sums as a linear map of its inputs.

    A passive array with its columns held at 0 V is a linear network of nearly ohmic devices at
    read voltages, so the training split's measurements fix the map for any input: on the
    reference chip it predicts the test split's sums within 5 % of their spread."""
    design = np.column_stack([x, np.ones(len(x))])
    model, *_ = np.linalg.lstsq(design, sums, rcond=None)
    return model


def _apply(model: np.ndarray, x: np.ndarray) -> np.ndarray:
    return x @ model[:-1] + model[-1]


def solution_metrics(
    net: BinaryNet,
    x_train: np.ndarray,
    y_train: np.ndarray,
    *,
    weights_read: np.ndarray,
    weights_effective: np.ndarray,
    untuned_train: np.ndarray,
    calibrated_train: np.ndarray,
    tuned_thresholds: np.ndarray,
    smoothed: tuple[np.ndarray, np.ndarray],
) -> dict[str, float]:
    """A written network's metrics (:data:`METRIC_KEYS`), from what is known before the test.

    Parameters
    ----------
    net : BinaryNet
        The trained network.
    x_train, y_train : arrays
        The training split.
    weights_read, weights_effective : (inputs, units) arrays
        The hidden weights as the read-back states and resistances hold them (see
        :func:`importance_weighted_weight_fidelity`).
    untuned_train : (n, units) array
        The hidden sums measured on the training split, untuned read-out (the nominal gain of
        the read-back map), without thresholds.
    calibrated_train : (n, units) array
        The same sums through each unit's gain and offset fitted on the training split (the
        first tuning step), without thresholds.
    tuned_thresholds : (units,) array
        The hidden thresholds re-chosen on ``calibrated_train`` (the second tuning step).
    smoothed : (x, y)
        Inputs and labels from :func:`smoothed_inputs` of the training split.

    Returns
    -------
    dict
        ``importance_weighted_weight_fidelity``; ``train_hidden_sign_agreement``: the fraction of
        (training sample, hidden unit) pairs whose calibrated measured pre-activation (with the
        trained thresholds) has the software's sign; ``train_preactivation_error``: the RMS of
        calibrated measured minus software pre-activation over those pairs, over the standard
        deviation of the software's; ``train_accuracy_drop``: software minus untuned hardware
        accuracy on the training split; ``smoothed_train_accuracy_drop`` and
        ``smoothed_train_tuned_accuracy_drop``: software minus untuned, and minus tuned,
        hardware accuracy on the smoothed inputs, the hardware's sums there given by the linear
        map that the training split's measurements fit (the hidden layer on the array, the
        output layer in software, whatever the run's output layer).

        Calibrated, for the sign agreement and the error, means after the per-unit gain and
        offset: what remains is what no gain or offset removes, the written weights' errors.
    """
    x = np.asarray(x_train, dtype=float)
    y = np.asarray(y_train)
    software = net.hidden_preactivation(x)
    calibrated = np.asarray(calibrated_train, dtype=float) + net.b_hidden
    untuned = np.asarray(untuned_train, dtype=float) + net.b_hidden
    tuned = BinaryNet(net.w_hidden, np.asarray(tuned_thresholds, float), net.w_out, net.b_out)
    x_s, y_s = smoothed
    software_right = net.predict(x_s) == y_s
    untuned_s = _apply(_linear_model(x, untuned_train), x_s) + net.b_hidden
    tuned_s = _apply(_linear_model(x, calibrated_train), x_s) + tuned.b_hidden
    return {
        "importance_weighted_weight_fidelity": importance_weighted_weight_fidelity(
            net, x, weights_read, weights_effective
        ),
        "train_hidden_sign_agreement": float(np.mean(sign(calibrated) == sign(software))),
        "train_preactivation_error": float(
            np.sqrt(np.mean((calibrated - software) ** 2)) / np.std(software)
        ),
        "train_accuracy_drop": float(
            np.mean(net.predict(x) == y) - np.mean(net.predict_from_preactivation(untuned) == y)
        ),
        "smoothed_train_accuracy_drop": float(
            np.mean(software_right) - np.mean(net.predict_from_preactivation(untuned_s) == y_s)
        ),
        "smoothed_train_tuned_accuracy_drop": float(
            np.mean(software_right) - np.mean(tuned.predict_from_preactivation(tuned_s) == y_s)
        ),
    }


# --- statistics over a run's solutions ------------------------------------------------------


def _row_correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of each row of ``a`` with the same row of ``b``; NaN where either
    row is constant."""
    a = a - a.mean(axis=-1, keepdims=True)
    b = b - b.mean(axis=-1, keepdims=True)
    norm = np.sqrt(np.sum(a * a, axis=-1) * np.sum(b * b, axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(norm > 0, np.sum(a * b, axis=-1) / np.where(norm > 0, norm, 1.0), np.nan)


def _ranks(a: np.ndarray) -> np.ndarray:
    """Ranks (1 to n) along the last axis, tied values sharing their mean rank: what
    ``scipy.stats.rankdata`` gives, without the half second its module takes to import on every
    command's start."""
    a = np.asarray(a, dtype=float)
    n = a.shape[-1]
    order = np.argsort(a, axis=-1)  # the order within a tie does not matter: it shares a rank
    ordered = np.take_along_axis(a, order, axis=-1)
    starts = np.ones(a.shape, dtype=bool)  # where a run of equal values begins
    starts[..., 1:] = ordered[..., 1:] != ordered[..., :-1]
    ends = np.ones(a.shape, dtype=bool)
    ends[..., :-1] = starts[..., 1:]
    at = np.broadcast_to(np.arange(n), a.shape)
    first = np.maximum.accumulate(np.where(starts, at, 0), axis=-1)
    last = np.flip(np.minimum.accumulate(np.flip(np.where(ends, at, n - 1), -1), axis=-1), -1)
    ranks = np.empty(a.shape)
    np.put_along_axis(ranks, order, (first + last) / 2 + 1, axis=-1)
    return ranks


def _number(value: float | np.ndarray) -> float | None:
    """A statistic as JSON holds it: None where it is not defined."""
    return float(value) if np.isfinite(value) else None


def spearman_rho(x: np.ndarray, y: np.ndarray) -> float | None:
    """Spearman's rank correlation (ties take their mean rank); None if either is constant."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    return _number(_row_correlation(_ranks(x), _ranks(y)))


@dataclass(frozen=True)
class _Resampled:
    """One per-solution quantity, its bootstrap resamples and their ranks (shared by every
    pairing it is scored in: the same resampled solutions throughout)."""

    values: np.ndarray
    drawn: np.ndarray
    ranks: np.ndarray

    @classmethod
    def of(cls, values: np.ndarray, at: np.ndarray) -> _Resampled:
        drawn = values[at]
        return cls(values, drawn, _ranks(drawn))


def _resample_at(n: int, resamples: int, seed: int) -> np.ndarray:
    return np.random.default_rng([int(seed), 0xB007]).integers(0, n, (resamples, n))


def _scored(metric: _Resampled, drop: _Resampled, confidence: float) -> dict:
    m, d = metric.values, drop.values
    out: dict = {"rho": None, "rho_interval": None, "r2": None, "r2_interval": None, "n": m.size}
    if m.size < 3:
        return out
    out["rho"], out["r2"] = spearman_rho(m, d), _number(_row_correlation(m, d) ** 2)
    if out["rho"] is None:
        return out
    tails = 100 * (1 - confidence) / 2, 100 * (1 + confidence) / 2
    for key, values in (
        ("rho", _row_correlation(metric.ranks, drop.ranks)),
        ("r2", _row_correlation(metric.drawn, drop.drawn) ** 2),
    ):
        finite = values[np.isfinite(values)]
        if finite.size:
            out[f"{key}_interval"] = [float(q) for q in np.percentile(finite, tails)]
    return out


def _checked(values: np.ndarray, n: int | None, name: str) -> np.ndarray:
    v = np.asarray(values, dtype=float)
    if v.ndim != 1 or (n is not None and v.size != n):
        raise ValueError(f"{name} must be one value per solution, got shape {v.shape}")
    return v


def correlation_with_interval(
    metric: np.ndarray,
    drop: np.ndarray,
    *,
    resamples: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict:
    """Spearman rho and the R^2 of a linear fit of ``drop`` on ``metric``, each with a
    percentile bootstrap interval over the solutions.

    The solutions are resampled with replacement ``resamples`` times (seeded); a resample in
    which the metric or the drop is constant has no correlation and is left out. Returns
    ``{"rho", "rho_interval", "r2", "r2_interval", "n"}``, None for what is not defined (fewer
    than three solutions, a constant metric or drop).
    """
    d = _checked(drop, None, "drop")
    m = _checked(metric, d.size, "metric")
    at = _resample_at(m.size, resamples, seed)
    return _scored(_Resampled.of(m, at), _Resampled.of(d, at), confidence)


def spearman_brown(r_half: float) -> float:
    """The reliability of a whole test from the correlation of its two halves,
    ``2 r / (1 + r)``."""
    return 2.0 * r_half / (1.0 + r_half)


def split_half_ceiling(drop_half_a: np.ndarray, drop_half_b: np.ndarray) -> dict:
    """The ceiling the test split's own noise puts on any metric's correlation with the drop.

    ``drop_half_a`` and ``drop_half_b`` are each solution's drop measured on the two halves of
    the test split. Their Spearman correlation ``r_hh`` says how reliably half the samples rank
    the solutions; the Spearman-Brown reliability of the whole split is ``2 r_hh / (1 + r_hh)``,
    and no metric, however good, can be expected to correlate with the measured drop better than
    its square root (the correlation of the drop with the true one it estimates). Returns
    ``{"split_half_rho", "reliability", "ceiling"}``: the ceiling is 0 for a reliability at or
    below 0, and all three None if the halves' drops have no spread.
    """
    return _ceiling_of(spearman_rho(drop_half_a, drop_half_b))


def _ceiling_of(r_hh: float | None) -> dict:
    if r_hh is None:
        return {"split_half_rho": None, "reliability": None, "ceiling": None}
    # halves in exactly opposite order (r_hh = -1) have no finite reliability, and no ceiling
    reliability = spearman_brown(r_hh) if r_hh > -1.0 else None
    return {
        "split_half_rho": r_hh,
        "reliability": reliability,
        "ceiling": float(np.sqrt(max(reliability or 0.0, 0.0))),
    }


def stratified_halves(labels: np.ndarray, splits: int, *, seed: int = 0) -> np.ndarray:
    """``splits`` random halvings of a split's samples, each class halved (the odd sample of a
    class to the second half): a (splits, samples) array, True for the first half."""
    y = np.asarray(labels)
    rng = np.random.default_rng([int(seed), 0x4A1F])
    halves = np.zeros((splits, y.size), dtype=bool)
    for c in np.unique(y):
        members = np.flatnonzero(y == c)
        for s in range(splits):
            halves[s, rng.permutation(members)[: members.size // 2]] = True
    return halves


def ceiling_over_halvings(
    sample_drops: np.ndarray, labels: np.ndarray, *, splits: int = 100, seed: int = 0
) -> dict:
    """:func:`split_half_ceiling` of a run, from each solution's per-sample drops.

    ``sample_drops`` (solutions, test samples) holds, per solution and test sample, 1 where
    software is right and the hardware wrong, -1 for the reverse, 0 otherwise (its row means are
    the drops). The split-half correlation is averaged over ``splits`` stratified halvings
    (seeded): one halving's ``r_hh`` moves by about 0.07 with the halving on the reference chip,
    the mean over 100 by less than 0.01. Returns :func:`split_half_ceiling`'s keys and
    ``"splits"``.
    """
    d = np.asarray(sample_drops, dtype=float)
    rhos = []
    for half in stratified_halves(labels, splits, seed=seed):
        rho = spearman_rho(d[:, half].mean(axis=1), d[:, ~half].mean(axis=1))
        if rho is not None:
            rhos.append(rho)
    # most halvings defined, or the drops have next to no spread to rank
    r_hh = float(np.mean(rhos)) if rhos and len(rhos) * 2 >= splits else None
    return _ceiling_of(r_hh) | {"splits": splits}


def metric_statistics(
    metrics: Mapping[str, np.ndarray],
    drops: Mapping[str, np.ndarray],
    sample_drops: Mapping[str, np.ndarray],
    test_labels: np.ndarray,
    *,
    resamples: int = 2000,
    confidence: float = 0.95,
    splits: int = 100,
    seed: int = 0,
) -> dict:
    """Each metric scored against each drop, the test split's ceiling on every drop, and the
    metric that ranks the first drop best.

    Parameters
    ----------
    metrics : {name: (solutions,) array}
        Per-solution values of each metric (weight fidelity among them, as the baseline).
    drops : {name: (solutions,) array}
        Per-solution accuracy drops, the one that picks the best metric first.
    sample_drops : {name: (solutions, test samples) array}
        For each drop, its per-sample values (:func:`ceiling_over_halvings`).
    test_labels : array
        The test split's labels, to halve it class by class.

    Returns
    -------
    dict
        ``"by_metric"``: ``{metric: {drop: correlation_with_interval(...)}}``; ``"ceiling"``:
        ``{drop: ceiling_over_halvings(...)}``; ``"best"``: the metric with the largest ``|rho|``
        against the first drop (None if no rho is defined); the settings ``"resamples"``,
        ``"confidence"`` and ``"seed"``.
    """
    if not drops:
        raise ValueError("metric_statistics needs at least one drop to score the metrics against")
    first = next(iter(drops))
    n = _checked(drops[first], None, f"drop {first!r}").size
    at = _resample_at(n, resamples, seed)  # the same solutions drawn for every pairing
    resampled_drops = {
        name: _Resampled.of(_checked(values, n, f"drop {name!r}"), at)
        for name, values in drops.items()
    }
    by_metric = {}
    for name, values in metrics.items():
        resampled = _Resampled.of(_checked(values, n, f"metric {name!r}"), at)
        by_metric[name] = {
            drop: _scored(resampled, resampled_drops[drop], confidence) for drop in drops
        }
    scored = [
        (abs(s[first]["rho"]), name) for name, s in by_metric.items() if s[first]["rho"] is not None
    ]
    best = max(scored, key=lambda pair: pair[0])[1] if scored else None
    ceiling = {
        drop: ceiling_over_halvings(sample_drops[drop], test_labels, splits=splits, seed=seed)
        for drop in drops
    }
    return {
        "resamples": resamples,
        "confidence": confidence,
        "seed": seed,
        "best": best,
        "by_metric": by_metric,
        "ceiling": ceiling,
    }
