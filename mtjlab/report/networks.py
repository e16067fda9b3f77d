"""Figures of the networks written into arrays (the reproduce campaign): accuracy distributions,
write fidelity against accuracy, and the confusion matrix of a solution's predictions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

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
