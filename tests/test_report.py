"""Report: tables that stay aligned whatever the reading, figures that say what they show."""

import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure

from mtjlab import report
from mtjlab.core.states import AP, OPEN, SHORT, P
from mtjlab.report import (
    check_figure_path,
    error_color_limit,
    figure_accuracy_distributions,
    figure_confusion_matrix,
    figure_error_map,
    figure_fidelity_vs_accuracy,
    figure_resistance_map,
    figure_rv_loop,
    figure_state_map,
    figure_switching_curves,
    format_resistance_map,
    plot_accuracy_distributions,
    plot_confusion_matrix,
    plot_error_map,
    plot_fidelity_vs_accuracy,
    plot_resistance_map,
    plot_rv_loop,
    plot_state_map,
    plot_switching_curves,
    resistance_color_limits,
)

MAGIC = {".png": b"\x89PNG\r\n\x1a\n", ".pdf": b"%PDF-", ".svg": b"<?xml"}


def working_map(seed=0, shape=(15, 15)):
    """P cells near 5 kOhm and AP cells near 12.7 kOhm, a few percent spread, as on the chip."""
    rng = np.random.default_rng(seed)
    base = np.where(rng.random(shape) < 0.5, 5.0e3, 12.7e3)
    return base * rng.normal(1.0, 0.04, shape)


def assert_figure_file(path, suffix):
    data = path.read_bytes()
    assert data.startswith(MAGIC[suffix]), data[:16]
    if suffix == ".svg":
        assert b"<svg" in data[:2000]


# -- check_figure_path -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["map.png", "map.pdf", "map.svg", "MAP.PNG"])
def test_a_supported_file_name_is_kept(tmp_path, name):
    assert check_figure_path(tmp_path / name, "x.png") == tmp_path / name


def test_an_existing_folder_gets_the_default_name(tmp_path):
    assert check_figure_path(tmp_path, "resistance_map.png") == tmp_path / "resistance_map.png"
    assert check_figure_path(str(tmp_path), "states.svg") == tmp_path / "states.svg"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("map.txt", "unsupported figure format '.txt' (expected .png, .pdf or .svg)"),
        ("map.jpg", "unsupported figure format '.jpg' (expected .png, .pdf or .svg)"),
        ("results", "neither an existing folder nor a file name ending in .png, .pdf or .svg"),
        ("missing/map.png", "does not exist"),
    ],
)
def test_bad_figure_paths_are_refused_with_what_is_wrong(tmp_path, name, message):
    with pytest.raises(ValueError) as exc:
        check_figure_path(tmp_path / name, "resistance_map.png")
    assert message in str(exc.value)
    assert list(tmp_path.iterdir()) == []


# -- format_resistance_map ---------------------------------------------------------------------


def test_table_columns_stay_aligned_for_opens_infinities_and_negative_readings():
    r = working_map(shape=(4, 5))
    r[0, 1] = 89.3e6  # an open device read off the noise floor
    r[1, 2] = np.inf
    r[2, 3] = -3.2e6  # noise larger than the current
    r[3, 0] = np.nan
    r[3, 4] = 999_996.0  # rounds to 1000.00 kOhm: seven characters
    text = format_resistance_map(r)
    lines = text.splitlines()
    assert len(lines) == 1 + 4 + 1
    header, rows, legend = lines[0], lines[1:5], lines[5]
    assert all(len(line) == len(header) == 7 * 6 for line in rows)
    for line in rows:
        cells = [line[k : k + 7] for k in range(0, len(line), 7)]
        assert all(cell[0] == " " for cell in cells)  # a space always separates columns
        assert len(line.split()) == 6
    assert rows[0].split()[2] == "open"
    assert rows[1].split()[3] == "open"
    assert rows[2].split()[4] == "<=0"
    assert rows[3].split()[1] == "n/a"
    assert rows[3].split()[5] == "open"
    assert float(rows[0].split()[1]) == pytest.approx(r[0, 0] / 1e3, abs=0.006)
    assert "kOhm" in legend and "open" in legend and "<=0" in legend and "n/a" in legend


def test_table_keeps_a_short_and_the_largest_value_below_1_mohm_as_numbers():
    text = format_resistance_map(np.array([[100.0, 999_990.0]]))
    assert text.splitlines()[1].split() == ["0", "0.10", "999.99"]


def test_table_refuses_a_non_map():
    with pytest.raises(ValueError, match="2-D map"):
        format_resistance_map(np.ones(5))


# -- resistance heat map -----------------------------------------------------------------------


def test_colour_limits_ignore_an_open_and_a_short():
    r = working_map()
    working = (r.min(), r.max())
    r[3, 7] = 89.3e6
    r[10, 2] = 100.0
    r[0, 0] = -2e6
    r[1, 1] = np.inf
    assert resistance_color_limits(r) == pytest.approx(working)


def test_colour_limits_keep_a_few_ap_cells_on_a_map_that_is_nearly_all_p():
    r = working_map()
    r[:] = np.where(r > 8e3, 5.0e3, r)  # everything P ...
    r[2, 2], r[4, 9] = 12.9e3, 13.3e3  # ... but two AP cells, which are no opens
    low, high = resistance_color_limits(r)
    assert high == 13.3e3 and low == r[r < 8e3].min()


def test_colour_limits_of_a_uniform_or_empty_map_still_have_width():
    low, high = resistance_color_limits(np.full((3, 3), 5e3))
    assert low < 5e3 < high
    low, high = resistance_color_limits(np.full((3, 3), np.nan))
    assert 0 < low < high


def test_heat_map_draws_the_working_cells_on_the_scale_and_the_open_above_it():
    r = working_map()
    r[3, 7] = 89.3e6
    fig = figure_resistance_map(r, title="seed 0")
    image = fig.axes[0].images[0]
    working_kohm = r[r < 1e6] / 1e3
    assert (image.norm.vmin, image.norm.vmax) == pytest.approx(
        (working_kohm.min(), working_kohm.max())
    )
    assert np.array_equal(image.cmap(image.norm(89.3e3)), image.cmap.get_over())
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels[0].startswith("open") and labels[0].endswith(": 1")


@pytest.mark.parametrize("suffix", [".png", ".pdf", ".svg"])
def test_heat_map_is_written_in_the_format_of_its_suffix(tmp_path, suffix):
    r = working_map()
    r[3, 7] = 89.3e6
    written = plot_resistance_map(r, tmp_path / f"map{suffix}", title="seed 0")
    assert written == tmp_path / f"map{suffix}"
    assert_figure_file(written, suffix)


def test_heat_map_into_a_folder_and_not_to_an_unknown_format(tmp_path):
    assert plot_resistance_map(working_map(), tmp_path) == tmp_path / "resistance_map.png"
    with pytest.raises(ValueError, match="'.txt'"):
        plot_resistance_map(working_map(), tmp_path / "map.txt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["resistance_map.png"]


def test_plotting_leaves_the_backend_and_pyplot_alone(tmp_path):
    # A notebook's inline backend must survive a report; a fresh interpreter shows it cleanly.
    script = (
        "import sys, matplotlib, numpy as np\n"
        "from mtjlab.report import plot_resistance_map\n"
        f"plot_resistance_map(np.full((3, 3), 5e3), {str(tmp_path / 'm.png')!r})\n"
        "print(matplotlib.rcParams['backend'], 'matplotlib.pyplot' in sys.modules)\n"
    )
    env = {**os.environ, "MPLBACKEND": "svg"}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.split() == ["svg", "False"]


# -- the protocols' figures --------------------------------------------------------------------


def written_pattern(shape=(15, 15), seed=1):
    rng = np.random.default_rng(seed)
    target = rng.integers(0, 2, shape)
    states = target.copy()
    states[0, 0] ^= 1  # written wrong
    states[2, 5], states[7, 8] = OPEN, SHORT
    return states, target


def switching_data():
    amps = np.linspace(0.3, 0.9, 13)
    widths = np.array([10e-9, 100e-9, 1e-6])
    centre = np.array([[0.7], [0.6], [0.5]])
    fit_amps = np.linspace(0.3, 0.9, 121)
    prob = 1 / (1 + np.exp(-(amps - centre) / 0.03))
    fit = 1 / (1 + np.exp(-(fit_amps - centre) / 0.03))
    return amps, prob, widths, fit_amps, fit


def sweep():
    """0 -> +0.8 -> -0.8 -> 0 V in 50 mV steps, read after each pulse: a square loop."""
    v = np.concatenate(
        [np.arange(0, 0.8, 0.05), np.arange(0.8, -0.8, -0.05), np.arange(-0.8, 0.01, 0.05)]
    )
    ap = np.zeros(v.size, dtype=bool)
    for k in range(v.size):
        previous = ap[k - 1] if k else False
        ap[k] = True if v[k] > 0.55 else (False if v[k] < -0.42 else previous)
    return v, np.where(ap, 12.7e3, 5.0e3)


def state_map(path):
    states, target = written_pattern()
    return plot_state_map(states, path, target=target, title="write-verify")


def switching_curves(path):
    amps, prob, widths, fit_amps, fit = switching_data()
    return plot_switching_curves(
        amps, prob, widths, path, fit_amplitudes_v=fit_amps, fit_probability=fit, title="cell"
    )


#: Each figure function with typical data, by its default file name.
FIGURES = {
    "state_map": state_map,
    "error_map": lambda path: plot_error_map(np.linspace(0, 1, 225).reshape(15, 15), path),
    "switching_curves": switching_curves,
    "rv_loop": lambda path: plot_rv_loop(*sweep(), path, switching_v=(-0.42, 0.55)),
}


@pytest.mark.parametrize("suffix", [".png", ".pdf", ".svg"])
@pytest.mark.parametrize("name", sorted(FIGURES))
def test_each_figure_is_written_in_the_format_of_its_suffix(tmp_path, name, suffix):
    path = tmp_path / f"figure{suffix}"
    assert FIGURES[name](path) == path
    assert_figure_file(path, suffix)


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_each_figure_goes_into_a_folder_under_its_own_name(tmp_path, name):
    assert FIGURES[name](tmp_path) == tmp_path / f"{name}.png"
    assert_figure_file(tmp_path / f"{name}.png", ".png")


def test_state_map_colours_each_class_and_crosses_out_each_miss():
    states, target = written_pattern()
    fig = figure_state_map(states, target=target)
    ax = fig.axes[0]
    image = ax.images[0]
    colours = {tuple(image.cmap(image.norm(code))) for code in (P, AP, OPEN, SHORT)}
    assert len(colours) == 4
    (crosses,) = ax.collections
    assert len(crosses.get_segments()) == 2 * 3  # one miss, one open, one short: two strokes each
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels[2:] == ["open: 1", "short: 1", "differs from target: 3"]


def test_state_map_without_a_target_marks_nothing():
    fig = figure_state_map(written_pattern()[0])
    assert len(fig.axes[0].collections) == 0


@pytest.mark.parametrize(
    ("states", "target", "message"),
    [
        (np.array([[0, 4]]), None, "only the codes"),
        (np.array([0, 1]), None, "2-D map"),
        (np.array([[0, 1]]), np.array([[0, 2]]), "only the codes"),
        (np.array([[0, 1]]), np.array([[0], [1]]), "shape"),
    ],
)
def test_state_map_refuses_unknown_codes_and_shapes(tmp_path, states, target, message):
    with pytest.raises(ValueError, match=message):
        plot_state_map(states, tmp_path / "s.png", target=target)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("largest", "top"),
    [(0.0, 1.0), (1.0, 1.0), (0.35, 1.0), (0.1, 1.0), (0.08, 0.1), (0.03, 0.05), (0.002, 0.002)],
)
def test_error_scale_is_0_to_1_unless_every_rate_is_tiny(largest, top):
    fraction = np.zeros((4, 4))
    fraction[1, 2] = largest
    assert error_color_limit(fraction) == pytest.approx(top)


def test_error_map_writes_the_non_zero_rates_of_a_small_array_in_their_cells():
    fraction = np.zeros((15, 15))
    fraction[0, 3], fraction[4, 4], fraction[9, 1] = 0.25, 1.0, 0.004
    fraction[2, 2] = np.nan  # not measured: grey, no number
    ax = figure_error_map(fraction).axes[0]
    texts = {(t.get_position(), t.get_text()) for t in ax.texts}
    assert texts == {((3, 0), "0.25"), ((4, 4), "1.00"), ((1, 9), "4e-3")}
    assert (ax.images[0].norm.vmin, ax.images[0].norm.vmax) == (0.0, 1.0)


def test_error_map_of_a_large_array_has_no_numbers():
    fraction = np.full((32, 32), 0.5)
    assert len(figure_error_map(fraction).axes[0].texts) == 0


def test_error_map_refuses_rates_outside_0_to_1(tmp_path):
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        plot_error_map(np.array([[0.5, 1.5]]), tmp_path / "e.png")


def test_switching_curves_draw_markers_and_fits_in_one_colour_per_width():
    amps, prob, widths, fit_amps, fit = switching_data()
    fig = figure_switching_curves(
        amps, prob, widths, fit_amplitudes_v=fit_amps, fit_probability=fit
    )
    ax = fig.axes[0]
    markers, lines = ax.lines[0::2], ax.lines[1::2]
    assert [m.get_linestyle() for m in markers] == ["None"] * 3
    assert [len(line.get_xdata()) for line in lines] == [121] * 3
    assert [m.get_color() for m in markers] == [line.get_color() for line in lines]
    assert len({m.get_color() for m in markers}) == 3
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["10 ns", "100 ns", "1000 ns"]
    assert ax.get_ylim() == pytest.approx((-0.03, 1.03))
    assert "(V)" in ax.get_xlabel()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"probability": np.zeros((2, 13))}, "shape"),
        ({"probability": np.full((3, 13), 1.2)}, r"\[0, 1\]"),
        ({"fit_amplitudes_v": np.linspace(0, 1, 5)}, "together"),
        ({"fit_amplitudes_v": np.linspace(0, 1, 5), "fit_probability": np.zeros((3, 4))}, "shape"),
    ],
)
def test_switching_curves_refuse_mismatched_arrays(tmp_path, kwargs, message):
    amps, prob, widths, _, _ = switching_data()
    kwargs = {"probability": prob, **kwargs}
    probability = kwargs.pop("probability")
    with pytest.raises(ValueError, match=message):
        plot_switching_curves(amps, probability, widths, tmp_path / "s.png", **kwargs)


def test_rv_loop_in_kohm_with_arrows_at_both_jumps_and_the_switching_voltages():
    v, r = sweep()
    ax = figure_rv_loop(v, r, switching_v=(-0.42, 0.55)).axes[0]
    assert max(ax.lines[0].get_ydata()) == pytest.approx(12.7)
    assert "kOhm" in ax.get_ylabel() and "(V)" in ax.get_xlabel()
    dashed = [line.get_xdata()[0] for line in ax.lines if line.get_linestyle() == "--"]
    assert dashed == [-0.42, 0.55]
    arrows = {(round(a.xy[0], 3), a.xy[1]) for a in ax.texts}  # annotations point at their end
    assert (0.6, 12.7) in arrows and (-0.45, 5.0) in arrows  # P -> AP and AP -> P jumps
    assert len(arrows) >= 10


def test_rv_loop_without_switching_voltages_and_refusing_swapped_ones(tmp_path):
    v, r = sweep()
    ax = figure_rv_loop(v, r).axes[0]
    assert [line for line in ax.lines if line.get_linestyle() == "--"] == []
    with pytest.raises(ValueError, match="AP->P voltage and must be negative"):
        plot_rv_loop(v, r, tmp_path / "rv.png", switching_v=(0.55, -0.42))
    with pytest.raises(ValueError, match="shape"):
        plot_rv_loop(v, r[:-1], tmp_path / "rv.png")


def test_state_map_does_not_count_cells_that_were_not_written():
    states = np.zeros((4, 4), dtype=int)
    states[0, 0] = 2  # an open cell outside the written block
    states[3, 3] = 1  # a written cell that missed its target
    target = np.full((4, 4), -1)
    target[2:, 2:] = 0
    fig = figure_state_map(states, target=target)
    labels = [t.get_text() for legend in fig.legends for t in legend.get_texts()]
    assert "differs from target: 1" in labels


# -- figure_* functions: the figures as Figure objects -----------------------------------------

UNTUNED = np.array([0.80, 0.85, 0.90, 0.90])
TUNED = np.array([0.90, 0.95, 0.95, 1.00])
FIDELITY = np.array([0.97, 0.98, 0.99, 1.00])
COUNTS = np.array([[5, 1, 0], [0, 4, 2], [1, 0, 6]])


def figure_cases():
    """Per figure: its figure_ and plot_ function, positional arguments and keywords but title."""
    states, target = written_pattern()
    amps, prob, widths, fit_amps, fit = switching_data()
    fit_kwargs = {"fit_amplitudes_v": fit_amps, "fit_probability": fit}
    accuracy = {"untuned": UNTUNED, "tuned": TUNED}
    return {
        "resistance_map": (figure_resistance_map, plot_resistance_map, (working_map(),), {}),
        "state_map": (figure_state_map, plot_state_map, (states,), {"target": target}),
        "error_map": (
            figure_error_map,
            plot_error_map,
            (np.linspace(0, 1, 225).reshape(15, 15),),
            {"label": "miss rate"},
        ),
        "switching_curves": (
            figure_switching_curves,
            plot_switching_curves,
            (amps, prob, widths),
            fit_kwargs,
        ),
        "rv_loop": (figure_rv_loop, plot_rv_loop, sweep(), {"switching_v": (-0.42, 0.55)}),
        "accuracy_distributions": (
            figure_accuracy_distributions,
            plot_accuracy_distributions,
            (accuracy,),
            {},
        ),
        "fidelity_vs_accuracy": (
            figure_fidelity_vs_accuracy,
            plot_fidelity_vs_accuracy,
            (FIDELITY, accuracy),
            {},
        ),
        "accuracy_by_solution": (
            report.figure_accuracy_by_solution,
            report.plot_accuracy_by_solution,
            ({"software": TUNED, **accuracy},),
            {},
        ),
        "accuracy_drop": (
            report.figure_accuracy_drop,
            report.plot_accuracy_drop,
            (TUNED - UNTUNED, {"weight fidelity (%)": 100 * FIDELITY}),
            {"rho": {"weight fidelity (%)": (-0.4, (-0.9, 0.2))}},
        ),
        "accuracy_by_array": (
            report.figure_accuracy_by_array,
            report.plot_accuracy_by_array,
            (["0: 40 nm", "1: 50 nm"], {"untuned": UNTUNED[:2], "tuned": TUNED[:2]}, FIDELITY[:2]),
            {},
        ),
        "confusion_matrix": (
            figure_confusion_matrix,
            plot_confusion_matrix,
            (COUNTS,),
            {"labels": ["a", "b", "c"]},
        ),
        "sweep_field": (
            report.figure_sweep_field,
            report.plot_sweep_field,
            (
                np.array([0.0, 5.0, 20.0]),
                {"tuned": np.array([[0.9, 0.95], [0.9, np.nan], [0.8, 0.85]])},
            ),
            {"xlabel": "r_row_ohm", "ylabel": "accuracy"},
        ),
        "wrong_per_pass": (
            report.figure_wrong_per_pass,
            report.plot_wrong_per_pass,
            (np.array([106, 8, 1, 0]),),
            {},
        ),
        "fidelity_by_write": (
            report.figure_fidelity_by_write,
            report.plot_fidelity_by_write,
            (np.array([[1.0, 0.996], [0.991, np.nan]]), [0, 4]),
            {"pattern_names": ["random-0", "checkerboard"]},
        ),
    }


#: Axes of each figure: the plot's own, plus a colour bar's for the heat maps.
N_AXES = {
    "resistance_map": 2,
    "state_map": 1,
    "error_map": 2,
    "switching_curves": 1,
    "rv_loop": 1,
    "accuracy_distributions": 1,
    "fidelity_vs_accuracy": 1,
    "accuracy_by_solution": 1,
    "accuracy_drop": 1,
    "accuracy_by_array": 2,
    "confusion_matrix": 2,
    "sweep_field": 1,
    "wrong_per_pass": 1,
    "fidelity_by_write": 1,
}


def test_every_plot_function_has_a_figure_function_and_both_are_exported():
    plots = {n.removeprefix("plot_") for n in report.__all__ if n.startswith("plot_")}
    figures = {n.removeprefix("figure_") for n in report.__all__ if n.startswith("figure_")}
    assert plots == figures == set(figure_cases()) == set(N_AXES)
    assert all(hasattr(report, name) for name in report.__all__)


@pytest.mark.parametrize("name", sorted(N_AXES))
def test_each_figure_function_takes_the_plot_functions_arguments_but_the_path(name):
    plot = inspect.signature(getattr(report, f"plot_{name}"))
    figure = inspect.signature(getattr(report, f"figure_{name}"))
    assert list(figure.parameters.values()) == [
        p for p in plot.parameters.values() if p.name != "path"
    ]
    assert (plot.return_annotation, figure.return_annotation) == ("Path", "Figure")


@pytest.mark.parametrize("name", sorted(N_AXES))
def test_each_figure_function_returns_a_figure_with_its_axes_and_title(name):
    figure, _, args, kwargs = figure_cases()[name]
    fig = figure(*args, title="run 7", **kwargs)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == N_AXES[name]
    # a figure of panels has the title above them, each panel's own saying what it holds
    assert "run 7" in (fig.axes[0].get_title(), fig.get_suptitle())
    assert fig.canvas.manager is None  # a bare Figure: pyplot's figure manager never saw it


@pytest.mark.parametrize("name", sorted(N_AXES))
def test_each_plot_function_saves_what_its_figure_function_builds(tmp_path, name):
    figure, plot, args, kwargs = figure_cases()[name]
    written = plot(*args, tmp_path / "plotted.png", title="run 7", **kwargs)
    built = figure(*args, title="run 7", **kwargs)
    built.savefig(tmp_path / "built.png", format="png", dpi=150)
    assert written.read_bytes() == (tmp_path / "built.png").read_bytes()


def test_resistance_figure_holds_the_readings_in_kohm_and_masks_the_invalid_ones():
    r = working_map(shape=(4, 5))
    r[0, 1], r[1, 2], r[2, 3] = np.nan, -3.2e6, 0.0
    image = figure_resistance_map(r).axes[0].images[0]
    data = image.get_array()
    valid = r > 0
    assert data.shape == r.shape
    assert np.array_equal(np.ma.getmaskarray(data), ~valid)
    np.testing.assert_allclose(data.data[valid], r[valid] / 1e3)
    assert image.norm.vmin < 5.0 < 12.7 < image.norm.vmax  # P and AP on the kOhm scale


def test_state_and_error_figures_hold_the_maps_as_given():
    states, target = written_pattern()
    data = figure_state_map(states, target=target).axes[0].images[0].get_array()
    assert np.array_equal(data, states)
    fraction = np.linspace(0, 1, 12).reshape(3, 4)
    fraction[1, 1] = np.nan
    fig = figure_error_map(fraction, label="miss rate")
    data = fig.axes[0].images[0].get_array()
    assert np.array_equal(np.ma.getmaskarray(data), np.isnan(fraction))
    np.testing.assert_array_equal(data.filled(np.nan), fraction)
    assert fig.axes[1].get_ylabel() == "miss rate"  # the colour bar says what the rate is


def test_curve_figures_hold_the_data_in_volts_and_kohm():
    amps, prob, widths, _, _ = switching_data()
    ax = figure_switching_curves(amps, prob, widths).axes[0]
    assert len(ax.lines) == 3  # markers only, one per width
    for line, row in zip(ax.lines, prob, strict=True):
        np.testing.assert_array_equal(line.get_xdata(), amps)
        np.testing.assert_array_equal(line.get_ydata(), row)
    v, r = sweep()
    loop = figure_rv_loop(v, r).axes[0].lines[0]
    np.testing.assert_array_equal(loop.get_xdata(), v)
    np.testing.assert_allclose(loop.get_ydata(), r / 1e3)


def test_network_figures_show_fractions_in_percent():
    ax = figure_accuracy_distributions({"untuned": UNTUNED, "tuned": TUNED}).axes[0]
    medians = [line.get_xdata()[0] for line in ax.lines]
    assert medians == pytest.approx([87.5, 95.0])
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["untuned: median 87.5 %", "tuned: median 95.0 %"]
    ax = figure_fidelity_vs_accuracy(FIDELITY, {"untuned": UNTUNED, "tuned": TUNED}).axes[0]
    for dots, accuracy in zip(ax.collections, (UNTUNED, TUNED), strict=True):
        xy = dots.get_offsets()
        np.testing.assert_allclose(xy[:, 0], 100 * FIDELITY)
        assert np.all(np.abs(xy[:, 1] - 100 * accuracy) <= 0.15)  # jittered, never by a class
    fig = figure_confusion_matrix(COUNTS, labels=["a", "b", "c"])
    ax = fig.axes[0]
    share = COUNTS / COUNTS.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(ax.images[0].get_array(), share)
    assert [t.get_text() for t in ax.texts] == [str(c) for c in COUNTS.ravel()]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]


def test_the_slopegraph_joins_each_solution_through_the_stages_and_the_medians():
    stages = {"software": TUNED, "untuned": UNTUNED, "tuned": TUNED}
    ax = report.figure_accuracy_by_solution(stages).axes[0]
    *solutions, medians = ax.lines
    assert len(solutions) == UNTUNED.size
    a = 100 * np.array(list(stages.values()))
    for k, line in enumerate(solutions):
        offset = line.get_ydata() - a[:, k]
        assert np.ptp(offset) == 0 and abs(offset[0]) <= 0.35  # one offset, under a sample
    np.testing.assert_allclose(medians.get_ydata(), np.median(a, axis=1))
    lowered = [line.get_color() == "#ee6677" for line in solutions]
    assert lowered == list(a[-1] < a[-2])  # red where the last step lowered it


def test_the_drop_figure_has_a_panel_per_predictor_titled_with_its_rho():
    drop = TUNED - UNTUNED
    fig = report.figure_accuracy_drop(
        drop,
        {"weight fidelity (%)": 100 * FIDELITY, "metric": np.array([1.0, 2.0, 3.0, 4.0])},
        rho={"weight fidelity (%)": (-0.4, (-0.9, 0.2)), "metric": (None, None)},
        title="run 7",
    )
    left, right = fig.axes
    assert left.get_title() == "Spearman rho -0.40 [-0.90, +0.20]"
    assert right.get_title() == "Spearman rho not defined (no spread)"
    y = left.collections[0].get_offsets()[:, 1]
    assert np.all(np.abs(y - 100 * drop) <= 0.35)  # points, jittered under a test sample
    np.testing.assert_array_equal(right.collections[0].get_offsets()[:, 0], [1, 2, 3, 4])
    x = left.collections[0].get_offsets()[:, 0]
    assert np.all(np.abs(x - 100 * FIDELITY) <= 1 / 3 + 1e-9)  # few distinct values: spread


def test_the_per_array_figure_holds_the_medians_and_the_fidelity_in_percent():
    fig = report.figure_accuracy_by_array(
        ["0: 40 nm", "1: 50 nm"], {"untuned": UNTUNED[:2], "tuned": TUNED[:2]}, FIDELITY[:2]
    )
    left, right = fig.axes
    np.testing.assert_allclose(left.lines[0].get_ydata(), 100 * UNTUNED[:2])
    np.testing.assert_allclose(left.lines[1].get_ydata(), 100 * TUNED[:2])
    np.testing.assert_allclose(right.lines[0].get_ydata(), 100 * FIDELITY[:2])
    assert [t.get_text() for t in left.get_xticklabels()] == ["0: 40 nm", "1: 50 nm"]


@pytest.mark.parametrize(
    ("name", "args", "kwargs"),
    [
        ("accuracy_by_solution", ({"software": UNTUNED},), {}),
        ("accuracy_by_solution", ({"a": UNTUNED, "b": TUNED[:2]},), {}),
        ("accuracy_drop", (UNTUNED, {"x": FIDELITY[:3]}), {}),
        ("accuracy_by_array", (["0"], {"untuned": UNTUNED}, FIDELITY[:1]), {}),
        ("resistance_map", (np.ones(5),), {}),
        ("state_map", (np.array([[0, 4]]),), {}),
        ("state_map", (np.array([[0, 1]]),), {"target": np.array([[0], [1]])}),
        ("error_map", (np.array([[0.5, 1.5]]),), {}),
        ("switching_curves", (np.linspace(0.3, 0.9, 4), np.zeros((2, 4)), [1e-8]), {}),
        (
            "switching_curves",
            (np.linspace(0.3, 0.9, 4), np.zeros((1, 4)), [1e-8]),
            {"fit_amplitudes_v": np.linspace(0, 1, 5)},
        ),
        ("rv_loop", (np.zeros(3), np.ones(2)), {}),
        ("rv_loop", (np.zeros(3), np.ones(3)), {"switching_v": (0.55, -0.42)}),
        ("fidelity_vs_accuracy", (FIDELITY, {"untuned": UNTUNED[:2]}), {}),
        ("confusion_matrix", (np.ones(3),), {}),
    ],
)
def test_figure_functions_refuse_bad_input_as_their_plot_functions_do(tmp_path, name, args, kwargs):
    figure, plot = getattr(report, f"figure_{name}"), getattr(report, f"plot_{name}")
    with pytest.raises(ValueError) as from_figure:
        figure(*args, **kwargs)
    with pytest.raises(type(from_figure.value)) as from_plot:
        plot(*args, tmp_path / "figure.png", **kwargs)
    assert str(from_plot.value) == str(from_figure.value)
    assert list(tmp_path.iterdir()) == []
    # The path is checked first, so a bad path is reported before bad data.
    with pytest.raises(ValueError, match="'.txt'"):
        plot(*args, tmp_path / "figure.txt", **kwargs)


def test_importing_the_report_and_building_figures_leaves_pyplot_unloaded():
    script = (
        "import sys\n"
        "import numpy as np\n"
        "import mtjlab.report as report\n"
        "loaded = 'matplotlib.pyplot' in sys.modules\n"
        "figs = [\n"
        "    report.figure_resistance_map(np.full((3, 3), 5e3)),\n"
        "    report.figure_state_map(np.zeros((3, 3), dtype=int)),\n"
        "    report.figure_rv_loop(np.array([0.0, 0.5]), np.array([5e3, 12e3])),\n"
        "    report.figure_confusion_matrix(np.eye(2)),\n"
        "]\n"
        "print(loaded, 'matplotlib.pyplot' in sys.modules, len(figs))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.split() == ["False", "False", "4"]


def test_no_module_of_the_report_package_imports_pyplot():
    folder = Path(report.__file__).parent
    sources = {path.name: path.read_text() for path in folder.glob("*.py")}
    assert {"__init__.py", "maps.py", "states.py", "curves.py", "networks.py"} <= set(sources)
    pyplot = re.compile(r"^\s*(import matplotlib\.pyplot|from matplotlib(\.pyplot)? import)")
    imports = [
        (name, line)
        for name, text in sources.items()
        for line in text.splitlines()
        if pyplot.match(line) and "pyplot" in line
    ]
    assert imports == []


def test_wrong_per_pass_draws_zero_on_its_floor_and_labels_every_read():
    fig = report.figure_wrong_per_pass(np.array([106, 8, 1, 0]))
    ax = fig.axes[0]
    line = ax.lines[0]
    assert list(line.get_ydata()) == [106, 8, 1, 0.5]  # 0 on the dotted floor of the log axis
    assert [t.get_text() for t in ax.texts] == ["106", "8", "1", "0"]
    assert ax.get_yscale() == "log"


def test_fidelity_by_write_has_a_line_per_array_with_not_written_left_out():
    fidelity = np.array([[1.0, 0.996], [0.991, np.nan]])
    fig = report.figure_fidelity_by_write(fidelity, [0, 4], pattern_names=["a", "b"])
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["array 0", "array 4"]
    first, second = (line.get_ydata() for line in ax.lines)
    assert list(first) == [100.0, 99.1]
    assert second[0] == pytest.approx(99.6) and np.isnan(second[1])
    # side by side at each pattern, so equal fidelities of two arrays both show
    assert ax.lines[0].get_xdata()[0] < 0 < ax.lines[1].get_xdata()[0]
