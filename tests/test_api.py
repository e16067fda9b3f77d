"""The Python API: each command a function of the same name, results with their data as xarray,
figures as Figures, nothing on disk unless asked, and the same values as the command line."""

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from matplotlib.figure import Figure

import mtjlab
from mtjlab.bench.file import builtin_bench_path
from mtjlab.cli.app import main
from mtjlab.protocols.write import write_verify
from mtjlab.runs.store import RunStore


def _mtjlab_temp_folders() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("mtjlab-*")}


def test_each_command_has_its_function_with_the_commands_options():
    for name in ("read", "write", "characterize_fidelity", "characterize_switching",
                 "characterize_rv", "reproduce"):  # fmt: skip
        assert callable(getattr(mtjlab, name)), name
    params = mtjlab.read.__signature__.parameters
    assert list(params) == ["bench", "seed", "array", "v_read_v", "bias", "threshold_ohm",
                            "store", "out", "progress"]  # fmt: skip
    assert params["v_read_v"].default == 0.1 and params["bias"].default == "grounded"
    assert "--v-read" in mtjlab.read.__doc__
    # write's pattern file is its one positional argument, as on the command line
    assert next(iter(mtjlab.write.__signature__.parameters.values())).name == "pattern"


def test_a_read_gives_a_labelled_map_with_units_and_leaves_nothing_on_disk(tmp_path, monkeypatch):
    # A temporary folder of its own: other processes on the machine make mtjlab-* folders too.
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    result = mtjlab.read(array=2, seed=3)
    assert list(work.iterdir()) == []
    assert _mtjlab_temp_folders() == set() and list(temp.iterdir()) == []
    ds = result.to_xarray()
    assert isinstance(ds, xr.Dataset)
    assert dict(ds.sizes) == {"row": 15, "column": 15}
    for name, var in ds.variables.items():
        assert isinstance(var.attrs.get("units"), str), name
    assert ds.resistance_ohm.attrs["units"] == "ohm"
    # the same numbers as the command line's run on the same chip
    assert main(["read", "--array", "2", "--seed", "3", "--out", str(tmp_path / "cli")]) == 0
    with RunStore(tmp_path / "cli" / "runs.db") as store:
        (unit,) = store.unit_results(1).values()
    np.testing.assert_array_equal(ds.resistance_ohm.values, unit["resistance_ohm"])
    assert result.summary["counts"] == unit["counts"]
    assert "figures" not in result.summary and "store" not in result.summary
    figures = result.figures()
    assert len(figures) == 2 and all(isinstance(f, Figure) for f in figures)
    assert "array 2" in figures[0].axes[0].get_title()
    assert "P/AP threshold" in result._repr_html_()


def test_reproduce_from_python_scores_what_the_command_scores(tmp_path):
    result = mtjlab.reproduce(solutions=3, workers=1)
    ds = result.to_xarray()
    assert ds.sizes["solution"] == 3
    assert ds.tuned_accuracy.attrs["units"] == "1"
    argv = ["reproduce", "--solutions", "3", "--workers", "1", "--out", str(tmp_path / "o")]
    assert main(argv) == 0
    cli = json.loads((tmp_path / "o" / "summary.json").read_text())
    for key, value in result.summary.items():
        if key not in ("run", "store"):
            assert cli[key] == value, key
    np.testing.assert_array_equal(
        ds.tuned_accuracy.values, [s["tuned_accuracy"] for s in cli["solutions"]]
    )
    assert len(result.figures()) == len(cli["figures"]) == 6


def test_with_a_store_and_an_output_folder_the_run_is_kept_and_opens_again(tmp_path):
    store, out = tmp_path / "runs.db", tmp_path / "rv"
    result = mtjlab.characterize_rv(cells=[(3, 4)], cycles=1, store=store, out=out)
    assert (out / "summary.json").is_file() and (out / "rv_r3c4.png").is_file()
    assert result.summary["figures"] == [str(out.resolve() / "rv_r3c4.png")]
    again = mtjlab.open_run(store, result.run_id)
    assert again.summary == json.loads((out / "summary.json").read_text())
    xr.testing.assert_identical(again.to_xarray(), result.to_xarray())
    assert again.to_xarray().sizes["cell"] == 1


def test_options_take_the_command_lines_text_too():
    a = mtjlab.characterize_switching(
        cells="7,7", direction="P->AP", widths_s="1e-7", trials=3,
        p_to_ap_amplitudes_v="0.40,0.1,0.60",
    )  # fmt: skip
    b = mtjlab.characterize_switching(
        cells=[(7, 7)], direction="P->AP", widths_s=[100e-9], trials=3,
        p_to_ap_amplitudes_v=[0.4, 0.5, 0.6],
    )  # fmt: skip
    # the same run: the same data (times and timestamps apart)
    xr.testing.assert_equal(a.to_xarray().drop_vars("finished_time"),
                            b.to_xarray().drop_vars("finished_time"))  # fmt: skip
    assert list(a.to_xarray().amplitude_v.values.ravel()) == [0.4, 0.5, 0.6]


def test_unknown_options_and_missing_arguments_are_type_errors():
    with pytest.raises(TypeError, match="v_read"):
        mtjlab.read(v_read=0.1)
    with pytest.raises(TypeError, match="pattern"):
        mtjlab.write()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    option=st.sampled_from(["v_read_v", "array", "bias", "threshold_ohm", "seed"]),
    value=st.one_of(
        st.floats(allow_nan=True, allow_infinity=True),
        st.integers(-10, 10**6),
        st.text(max_size=8),
        st.booleans(),
        st.lists(st.integers(-2, 20), max_size=3),
        st.none(),
    ),
)
def test_a_bad_value_is_one_line_naming_what_was_expected_before_anything_runs(option, value):
    if option == "seed" and isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return  # any seed >= 0 is a chip: nothing to refuse
    try:
        result = mtjlab.read(**{option: value})
    except (ValueError, TypeError) as exc:
        message = str(exc)
        assert message and "\n" not in message
    else:
        assert result.to_xarray().sizes["row"] == 15


def test_a_script_drives_the_simulated_bench_and_every_array_ends_safe():
    with mtjlab.simulated_bench(seed=0) as bench:
        array = bench.array(1)
        target = np.zeros((15, 15), dtype=np.int8)
        target[::2, ::2] = 1
        result = write_verify(array, target)
        assert result.fidelity > 0.99
    assert bench.arrays == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="not on the simulated chip"):
        bench.array(7)
    with pytest.raises(ValueError, match="unknown chip field"):
        mtjlab.simulated_bench(r_rows_ohm=0)


def test_a_script_drives_a_bench_file_and_its_outputs_end_off():
    with mtjlab.open_bench(builtin_bench_path()) as bench:
        array = bench.array(1)
        assert bench.arrays == [1, 2]
        reading = array.read_cell(3, 4)
        assert reading.resistance_ohm > 0
        emulated = bench.emulated
    # after the block every source is at 0 V with its output off and every relay is open
    assert emulated is not None
    assert emulated.circuit.closed == set() and emulated.circuit.live() == ()
    assert all(level in (None, 0.0) for level in emulated.circuit.levels.values())


def test_a_fresh_interpreter_runs_the_one_liner():
    code = "import mtjlab; r = mtjlab.read(); print(r.to_xarray())"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert "Dimensions:" in done.stdout and "(row: 15, column: 15)" in done.stdout
    assert "resistance_ohm" in done.stdout
