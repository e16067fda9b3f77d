"""Report: tables that stay aligned whatever the reading, figures that say what they show."""

import os
import subprocess
import sys

import numpy as np
import pytest

from mtjlab import report
from mtjlab.report import (
    check_figure_path,
    format_resistance_map,
    plot_resistance_map,
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
    fig = report._resistance_map_figure(r, "seed 0")
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
