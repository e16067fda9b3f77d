"""Figures of the networks written into arrays (the reproduce campaign): accuracy distributions,
each solution's accuracy through the stages, the accuracy drop against what predicts it, the
results per array, write fidelity against accuracy, and the confusion matrix of the predictions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from mtjlab.report._style import _new_axes, _save, check_figure_path


def figure_accuracy_distributions(accuracies: dict[str, np.ndarray], *, title: str = "") -> Figure:
    """Histograms of the test accuracy of many solutions, one per named series, in percent.

    All series share one axis and 1 % bins; each series' median is marked by a dashed line and
    given in the legend.

    Parameters
    ----------
    accuracies : dict of str to array_like
        Test accuracy of each solution as a fraction in [0, 1], by series name (up to four
        series get their own colour).
    title : str
        Figure title.

    Returns
    -------
    Figure
        One axes with a step histogram and a median line per series.
    """
    fig, ax = _new_axes((6.4, 4.4))
    values = [100 * np.asarray(v, dtype=float) for v in accuracies.values()]
    every = np.concatenate(values) if values else np.array([0.0, 100.0])
    lo = np.floor(every.min() / 2) * 2 - 1
    bins = np.arange(lo, 101.5 + 1e-9, 1.0)
    for (name, v), colour in zip(
        accuracies.items(), ("#4477aa", "#ee6677", "#228833", "#ccbb44"), strict=False
    ):
        a = 100 * np.asarray(v, dtype=float)
        ax.hist(
            a,
            bins=bins,
            histtype="step",
            linewidth=1.6,
            color=colour,
            label=f"{name}: median {np.median(a):.1f} %",
        )
        ax.axvline(np.median(a), color=colour, linestyle="--", linewidth=1)
    ax.set_xlabel("test accuracy (%)")
    ax.set_ylabel("solutions")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8, loc="upper left")
    return fig


def plot_accuracy_distributions(
    accuracies: dict[str, np.ndarray], path: Path | str, *, title: str = ""
) -> Path:
    """Save the histograms of :func:`figure_accuracy_distributions`.

    Parameters
    ----------
    accuracies : dict of str to array_like
        Test accuracy of each solution as a fraction, by series name.
    path : Path or str
        ``.png``, ``.pdf`` or ``.svg`` file, or an existing folder (``accuracy.png``).
    title : str
        Figure title.

    Returns
    -------
    Path
        The file written.
    """
    path = check_figure_path(path, "accuracy.png")
    _save(figure_accuracy_distributions(accuracies, title=title), path)
    return path


def figure_fidelity_vs_accuracy(
    fidelity: np.ndarray,
    accuracy: dict[str, np.ndarray],
    *,
    xlabel: str = "weight fidelity (%)",
    title: str = "",
) -> Figure:
    """Scatter of each solution's write fidelity against its accuracies, both in percent.

    Parameters
    ----------
    fidelity : array_like, shape (n_solutions,)
        Write fidelity of each solution as a fraction.
    accuracy : dict of str to array_like, each shape (n_solutions,)
        Test accuracy of each solution as a fraction, by series name (for instance untuned and
        tuned; the first two series get their own colour and marker). The same small jitter,
        fixed by a seed, is added to every series so solutions tied on one test sample show.
    xlabel : str
        Label of the fidelity axis.
    title : str
        Figure title.

    Returns
    -------
    Figure
        One axes with a scatter per series.
    """
    fig, ax = _new_axes((6.4, 4.4))
    f = 100 * np.asarray(fidelity, dtype=float)
    jitter = np.random.default_rng(0).uniform(-0.15, 0.15, f.size)  # ties at one test sample
    for (name, a), colour, marker in zip(
        accuracy.items(), ("#ee6677", "#228833"), "ox", strict=False
    ):
        ax.scatter(
            f,
            100 * np.asarray(a) + jitter,
            s=14,
            alpha=0.6,
            color=colour,
            marker=marker,
            label=name,
        )
    ax.set_xlabel(xlabel)
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    return fig


def plot_fidelity_vs_accuracy(
    fidelity: np.ndarray,
    accuracy: dict[str, np.ndarray],
    path: Path | str,
    *,
    xlabel: str = "weight fidelity (%)",
    title: str = "",
) -> Path:
    """Save the scatter of :func:`figure_fidelity_vs_accuracy`.

    Parameters
    ----------
    fidelity : array_like, shape (n_solutions,)
        Write fidelity of each solution as a fraction.
    accuracy : dict of str to array_like
        Test accuracy of each solution as a fraction, by series name.
    path : Path or str
        ``.png``, ``.pdf`` or ``.svg`` file, or an existing folder (``fidelity_vs_accuracy.png``).
    xlabel : str
        Label of the fidelity axis.
    title : str
        Figure title.

    Returns
    -------
    Path
        The file written.
    """
    path = check_figure_path(path, "fidelity_vs_accuracy.png")
    _save(figure_fidelity_vs_accuracy(fidelity, accuracy, xlabel=xlabel, title=title), path)
    return path


def figure_confusion_matrix(
    counts: np.ndarray, *, labels: list[str] | None = None, title: str = ""
) -> Figure:
    """A confusion matrix of counts (true class down, predicted across), each row's share shaded.

    Parameters
    ----------
    counts : array_like, shape (n_classes, n_classes)
        How many samples of each true class (row) were predicted as each class (column).
    labels : list of str, optional
        Class names for the ticks; the class indices when not given.
    title : str
        Figure title.

    Returns
    -------
    Figure
        The matrix's axes (image of each row's share, counts written in the cells) and its
        colour bar's.
    """
    c = np.asarray(counts, dtype=float)
    n = c.shape[0]
    labels = labels or [str(k) for k in range(n)]
    share = c / np.maximum(c.sum(axis=1, keepdims=True), 1)
    fig, ax = _new_axes((4.8, 4.2))
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for i in range(n):
        for j in range(n):
            ax.text(
                j,
                i,
                f"{int(c[i, j])}",
                ha="center",
                va="center",
                fontsize=10,
                color="white" if share[i, j] > 0.6 else "black",
            )
    ax.set_xticks(range(n), labels)
    ax.set_yticks(range(n), labels)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title, fontsize=9)
    fig.colorbar(image, ax=ax, label="share of the true class")
    return fig


def plot_confusion_matrix(
    counts: np.ndarray, path: Path | str, *, labels: list[str] | None = None, title: str = ""
) -> Path:
    """Save the matrix of :func:`figure_confusion_matrix`.

    Parameters
    ----------
    counts : array_like, shape (n_classes, n_classes)
        Samples per true class (row) and predicted class (column).
    path : Path or str
        ``.png``, ``.pdf`` or ``.svg`` file, or an existing folder (``confusion.png``).
    labels : list of str, optional
        Class names for the ticks; the class indices when not given.
    title : str
        Figure title.

    Returns
    -------
    Path
        The file written.
    """
    path = check_figure_path(path, "confusion.png")
    _save(figure_confusion_matrix(counts, labels=labels, title=title), path)
    return path


#: Vertical jitter, in accuracy points, of the per-solution lines and points: a test split of 54
#: samples puts accuracies 1.85 points apart, so ties spread without reaching the next sample.
_TIE_JITTER = 0.35


def _percent(values: np.ndarray | list, what: str, n: int | None = None) -> np.ndarray:
    """``values`` (fractions) in percent, checked to be one value per solution."""
    a = np.asarray(values, dtype=float)
    if a.ndim != 1 or (n is not None and a.size != n):
        shown = "" if n is None else f" of {n}"
        raise ValueError(f"{what}: expected one value per solution{shown}, got shape {a.shape}")
    return 100 * a


def figure_accuracy_by_solution(accuracies: dict[str, np.ndarray], *, title: str = "") -> Figure:
    """Each solution's test accuracy through the stages (a slopegraph), medians in bold.

    One thin line per solution joins its accuracy at each stage (for instance software, untuned
    and tuned hardware), in percent. Each solution keeps one small vertical offset, fixed by a
    seed and under a fifth of a test sample, so solutions tied at every stage show as parallel
    lines rather than one; lines that the last stage lowered are drawn in red. The median of each
    stage is joined by a bold line and written beside its marker.

    Parameters
    ----------
    accuracies : dict of str to array_like, each shape (n_solutions,)
        Test accuracy of each solution as a fraction in [0, 1], by stage name, in stage order
        (at least two stages).
    title : str
        Figure title.

    Returns
    -------
    Figure
        One axes, a stage per x position.
    """
    if len(accuracies) < 2:
        raise ValueError(f"expected two stages or more, got {len(accuracies)}")
    names = list(accuracies)
    n = np.asarray(next(iter(accuracies.values()))).size
    a = np.array([_percent(v, f"stage {k!r}", n) for k, v in accuracies.items()])
    fig, ax = _new_axes((6.4, 4.4))
    x = np.arange(len(names))
    jitter = np.random.default_rng(0).uniform(-_TIE_JITTER, _TIE_JITTER, n)
    lowered = a[-1] < a[-2]
    alpha = float(np.clip(8 / max(n, 1), 0.08, 0.6))
    for k in range(n):
        ax.plot(
            x,
            a[:, k] + jitter[k],
            color="#ee6677" if lowered[k] else "#777777",
            linewidth=0.7,
            alpha=min(1.0, 2 * alpha) if lowered[k] else alpha,
        )
    medians = np.median(a, axis=1)
    ax.plot(x, medians, color="#222222", linewidth=2.6, marker="o", markersize=6, zorder=3)
    for xi, m in zip(x, medians, strict=True):
        ax.annotate(
            f"{m:.1f} %",
            (xi, m),
            xytext=(0, 9),
            textcoords="offset points",
            ha="center",
            fontsize=8,
            fontweight="bold",
        )
    ax.set_xticks(x, names)
    ax.set_xlim(-0.3, len(names) - 0.55)
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(title, fontsize=9)
    handles = [
        Line2D([], [], color="#777777", linewidth=0.8, label="one solution"),
        Line2D(
            [],
            [],
            color="#ee6677",
            linewidth=0.8,
            label=f"lowered by the last step: {lowered.sum()}",
        ),
        Line2D([], [], color="#222222", linewidth=2.6, marker="o", label="median"),
    ]
    ax.legend(handles=handles, fontsize=8, loc="lower left")
    return fig


def plot_accuracy_by_solution(
    accuracies: dict[str, np.ndarray], path: Path | str, *, title: str = ""
) -> Path:
    """Save the slopegraph of :func:`figure_accuracy_by_solution`.

    Parameters
    ----------
    accuracies : dict of str to array_like
        Test accuracy of each solution as a fraction, by stage name, in stage order.
    path : Path or str
        ``.png``, ``.pdf`` or ``.svg`` file, or an existing folder (``accuracy_by_solution.png``).
    title : str
        Figure title.

    Returns
    -------
    Path
        The file written.
    """
    path = check_figure_path(path, "accuracy_by_solution.png")
    _save(figure_accuracy_by_solution(accuracies, title=title), path)
    return path


def _spread(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``values`` with a jitter of a third of their smallest spacing when they take few distinct
    values (such as weight fidelities of a few missed weights), so ties show; else as given."""
    distinct = np.unique(values[np.isfinite(values)])
    if distinct.size < 2 or distinct.size > values.size / 2:
        return values
    step = float(np.min(np.diff(distinct)))
    return values + rng.uniform(-step / 3, step / 3, values.size)


def _rho_text(rho: tuple | None) -> str:
    if rho is None or rho[0] is None:
        return "Spearman rho not defined (no spread)"
    value, interval = rho
    shown = "" if interval is None else f" [{interval[0]:+.2f}, {interval[1]:+.2f}]"
    return f"Spearman rho {value:+.2f}{shown}"


def figure_accuracy_drop(
    drop: np.ndarray,
    predictors: dict[str, np.ndarray],
    *,
    rho: dict[str, tuple] | None = None,
    title: str = "",
) -> Figure:
    """Each solution's accuracy drop against what may predict it, one panel per predictor.

    The drop (software minus hardware test accuracy) is shown in points, with a small vertical
    jitter fixed by a seed (drops come in steps of one test sample); a predictor that takes few
    distinct values gets a horizontal jitter of a third of its step too. Each panel is titled with
    its rank correlation when given.

    Parameters
    ----------
    drop : array_like, shape (n_solutions,)
        Accuracy drop of each solution as a fraction (software minus hardware).
    predictors : dict of str to array_like, each shape (n_solutions,)
        Each predictor's value per solution, as it is to be plotted, by its axis label.
    rho : dict of str to (float or None, (float, float) or None), optional
        Spearman rho and its interval of each predictor, by the same label; a panel without
        one has no correlation in its title.
    title : str
        Figure title (above the panels).

    Returns
    -------
    Figure
        One axes per predictor, side by side, sharing the drop axis.
    """
    if not predictors:
        raise ValueError("expected one predictor or more, got none")
    d = _percent(drop, "drop")
    rng = np.random.default_rng(0)
    fig = Figure(figsize=(3.4 * len(predictors) + 0.6, 4.0), layout="constrained")
    axes = fig.subplots(1, len(predictors), sharey=True, squeeze=False)[0]
    dy = d + rng.uniform(-_TIE_JITTER, _TIE_JITTER, d.size)
    for ax, (label, values) in zip(axes, predictors.items(), strict=True):
        x = np.asarray(values, dtype=float)
        if x.shape != d.shape:
            raise ValueError(
                f"predictor {label!r}: expected one value per solution ({d.size}), "
                f"got shape {x.shape}"
            )
        ax.scatter(_spread(x, rng), dy, s=16, alpha=0.55, color="#ee6677", edgecolors="none")
        ax.axhline(0, color="#999999", linewidth=0.8, linestyle=":")
        ax.set_xlabel(label, fontsize=9)
        ax.set_title(_rho_text((rho or {}).get(label)) if rho and label in rho else "", fontsize=9)
    axes[0].set_ylabel("accuracy drop, software - untuned (points)")
    fig.suptitle(title, fontsize=9)
    return fig


def plot_accuracy_drop(
    drop: np.ndarray,
    predictors: dict[str, np.ndarray],
    path: Path | str,
    *,
    rho: dict[str, tuple] | None = None,
    title: str = "",
) -> Path:
    """Save the panels of :func:`figure_accuracy_drop`.

    Parameters
    ----------
    drop : array_like, shape (n_solutions,)
        Accuracy drop of each solution as a fraction.
    predictors : dict of str to array_like
        Each predictor's value per solution, by its axis label.
    path : Path or str
        ``.png``, ``.pdf`` or ``.svg`` file, or an existing folder (``accuracy_drop.png``).
    rho : dict of str to (float or None, (float, float) or None), optional
        Spearman rho and its interval of each predictor, by the same label.
    title : str
        Figure title.

    Returns
    -------
    Path
        The file written.
    """
    path = check_figure_path(path, "accuracy_drop.png")
    _save(figure_accuracy_drop(drop, predictors, rho=rho, title=title), path)
    return path


def figure_accuracy_by_array(
    arrays: list[str],
    accuracies: dict[str, np.ndarray],
    weight_fidelity: np.ndarray,
    *,
    title: str = "",
) -> Figure:
    """Median accuracies and mean weight fidelity per array (such as per device diameter).

    Parameters
    ----------
    arrays : list of str
        Each array's label, in the order shown (for instance its device diameter).
    accuracies : dict of str to array_like, each shape (n_arrays,)
        A median test accuracy per array as a fraction, by series name (such as untuned and
        tuned; up to three series get their own colour and marker).
    weight_fidelity : array_like, shape (n_arrays,)
        Mean weight fidelity of each array's solutions as a fraction.
    title : str
        Figure title (above the panels).

    Returns
    -------
    Figure
        Two axes: the accuracies on the left, the weight fidelity on the right.
    """
    n = len(arrays)
    series = {name: _percent(v, f"series {name!r}", n) for name, v in accuracies.items()}
    fidelity = _percent(weight_fidelity, "weight_fidelity", n)
    fig = Figure(figsize=(7.6, 3.6), layout="constrained")
    left, right = fig.subplots(1, 2, sharex=True)
    x = np.arange(n)
    for (name, a), colour, marker in zip(
        series.items(), ("#ee6677", "#228833", "#4477aa"), "osD", strict=False
    ):
        left.plot(x, a, color=colour, marker=marker, linewidth=1.2, label=name)
    left.set_ylabel("median test accuracy (%)")
    left.legend(fontsize=8)
    right.plot(x, fidelity, color="#4477aa", marker="o", linewidth=1.2)
    right.set_ylabel("mean weight fidelity (%)")
    for ax in (left, right):
        ax.set_xticks(x, arrays, fontsize=8)
        ax.grid(axis="y", color="#eeeeee")
    fig.suptitle(title, fontsize=9)
    return fig


def plot_accuracy_by_array(
    arrays: list[str],
    accuracies: dict[str, np.ndarray],
    weight_fidelity: np.ndarray,
    path: Path | str,
    *,
    title: str = "",
) -> Path:
    """Save the panels of :func:`figure_accuracy_by_array`.

    Parameters
    ----------
    arrays : list of str
        Each array's label, in the order shown.
    accuracies : dict of str to array_like
        A median test accuracy per array as a fraction, by series name.
    weight_fidelity : array_like, shape (n_arrays,)
        Mean weight fidelity of each array's solutions as a fraction.
    path : Path or str
        ``.png``, ``.pdf`` or ``.svg`` file, or an existing folder (``accuracy_by_array.png``).
    title : str
        Figure title.

    Returns
    -------
    Path
        The file written.
    """
    path = check_figure_path(path, "accuracy_by_array.png")
    _save(figure_accuracy_by_array(arrays, accuracies, weight_fidelity, title=title), path)
    return path
