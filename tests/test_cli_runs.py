"""The measuring and run-store commands end to end: outputs, resume after SIGKILL, bad input."""

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mtjlab.cli.app import main
from mtjlab.core.patterns import make_pattern, save_pattern
from mtjlab.runs.store import RunStore

SMALL = ["--arrays", "1", "--patterns", "2", "--fixed", "none"]


def test_fidelity_run_writes_summary_figures_and_store(tmp_path, capsys):
    out, store = tmp_path / "out", tmp_path / "runs.db"
    argv = ["characterize", "fidelity", "--seed", "2", "--out", str(out), "--store", str(store)]
    assert main(argv + ["--arrays", "0,1", "--fixed", "all-AP"]) == 0
    text = capsys.readouterr().out
    assert "mean fidelity" in text and f"run 1 in {store}" in text
    summary = json.loads((out / "summary.json").read_text())
    assert summary["overall"]["writes"] == 6
    assert summary["overall"]["mean_fidelity"] >= 0.99
    assert summary["patterns"] == ["random-0", "random-1", "all-AP"]
    for f in summary["figures"]:
        assert Path(f).read_bytes()[:4] == b"\x89PNG"
    with RunStore(store) as s:
        info = s.run(1)
        assert info.status == "finished" and info.units_done == 6
        assert info.snapshot["limits"]["max_read_v"] == pytest.approx(0.1, abs=0.05)
        pulses = [r for r in s.records(1) if r["record"] == "pulse"]
        assert len(pulses) == summary["overall"]["pulses"]


def test_runs_list_show_export(tmp_path, capsys):
    store = tmp_path / "runs.db"
    assert (
        main(
            ["characterize", "fidelity", "--out", str(tmp_path / "o"), "--store", str(store)]
            + SMALL
        )
        == 0
    )
    capsys.readouterr()
    assert main(["runs", "list", "--store", str(store)]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert listing[0].split()[:3] == ["id", "kind", "status"]
    assert listing[1].split()[:3] == ["1", "fidelity", "finished"]
    assert main(["runs", "show", "1", "--store", str(store), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["status"] == "finished" and shown["parameters"]["arrays"] == [1]
    csv_path = tmp_path / "r.csv"
    assert main(["runs", "export", "1", "--store", str(store), "--out", str(csv_path)]) == 0
    with csv_path.open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == shown["records"]
    for key in ("unit", "pattern", "array", "row", "col", "attempt", "amplitude_v"):
        assert key in rows[0]
    nc = tmp_path / "r.nc"
    argv = ["runs", "export", "1", "--store", str(store), "--format", "netcdf", "--out", str(nc)]
    assert main(argv) == 0
    assert nc.stat().st_size > 0


def test_write_and_read_commands(tmp_path, capsys):
    pattern = save_pattern(make_pattern("checkerboard", (4, 5)), tmp_path / "p.csv")
    out = tmp_path / "w"
    argv = ["write", str(pattern), "--array", "2", "--offset", "3,4", "--out", str(out)]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "array 2: write fidelity 1.0000" in text
    assert (out / "runs.db").exists() and (out / "state_map.png").exists()
    assert main(["read", "--array", "2", "--out", str(tmp_path / "r")]) == 0
    text = capsys.readouterr().out
    assert "P/AP threshold" in text and len(text.splitlines()) > 15


def test_switching_and_rv_commands(tmp_path, capsys):
    out = tmp_path / "sw"
    argv = [
        "characterize",
        "switching",
        "--cells",
        "3,3",
        "--direction",
        "AP->P",
        "--out",
        str(out),
    ]
    grid = ["--ap-to-p-amplitudes", "0.30,0.01,0.40", "--widths", "100ns,1us", "--trials", "10"]
    assert main(argv + grid) == 0
    text = capsys.readouterr().out
    assert "(3, 3)      AP->P" in text and "Vc0 (V)" in text
    summary = json.loads((out / "summary.json").read_text())
    (fit,) = summary["cells"]
    assert 0.3 < fit["vc0_v"] < 0.5 and fit["vc0_err_v"] > 0
    assert Path(summary["figures"][0]).exists()
    # The same counts under n = 2: the fitted Vc0 moves up, as the barrier falls off slower.
    out2 = tmp_path / "sw2"
    argv2 = [*argv[:-1], str(out2), "--barrier-exponent", "2"]
    assert main(argv2 + grid) == 0
    (fit2,) = json.loads((out2 / "summary.json").read_text())["cells"]
    assert (fit["barrier_exponent"], fit2["barrier_exponent"]) == (1.0, 2.0)
    assert fit2["vc0_v"] > fit["vc0_v"] + 3 * fit["vc0_err_v"]
    for bad in ("0.5", "nan", "4"):
        assert main([*argv[:-1], str(tmp_path / "x"), "--barrier-exponent", bad, *grid]) == 2
        assert "--barrier-exponent" in capsys.readouterr().err
    out = tmp_path / "rv"
    assert main(["characterize", "rv", "--cells", "3,3", "--step", "0.05", "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    (loop,) = summary["cells"]
    assert loop["v_switch_p_to_ap_v"] > 0 > loop["v_switch_ap_to_p_v"]
    assert main(["characterize", "rv", "--max-amplitude", "1.5", "--out", str(tmp_path / "x")]) == 2
    assert "max_write_v" in capsys.readouterr().err
    assert main(["characterize", "switching", "--cells", "3,15", "--out", str(tmp_path / "x")]) == 2
    assert "out of range" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def _run_cli(args, cwd):
    # stderr to a file, not a pipe: nothing reads it while the process runs.
    log = open(Path(cwd) / "stderr.log", "w")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        [sys.executable, "-m", "mtjlab", *args],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=log,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    log.close()
    return proc


def _units_done(store_path: Path) -> int | None:
    """Units finished by run 1 of the store, or None when there is no run 1 yet."""
    if not store_path.exists():
        return None
    with RunStore(store_path) as s:
        return s.run(1).units_done if s.runs() else None


def _keyed(store_path: Path, run_id: int) -> list[tuple]:
    with RunStore(store_path) as s:
        return sorted(
            (r["unit"], r["index"], json.dumps(r, sort_keys=True)) for r in s.records(run_id)
        )


def _records(store_path: Path) -> int:
    if not store_path.exists():
        return 0
    with RunStore(store_path) as s:
        return s.run(1).n_records if s.runs() else 0


def test_sigkill_at_random_moments_then_resume_gives_the_uninterrupted_records(tmp_path):
    # Each kill lands once the run has gone a random number of records past where it started,
    # so there are kills however fast the machine is (waiting a random time could miss them).
    start = ["characterize", "fidelity", "--seed", "3", "--arrays", "1", "--patterns", "8"]
    start += ["--fixed", "all-AP"]
    reference = tmp_path / "ref.db"
    assert main([*start, "--store", str(reference), "--out", str(tmp_path / "ref")]) == 0
    with RunStore(reference) as s:
        total = s.run(1).n_records

    store = tmp_path / "killed.db"
    rng = np.random.default_rng(7)
    kills = 0
    for _ in range(40):
        if _units_done(store) is not None:
            with RunStore(store) as s:
                if s.run(1).status == "finished":
                    break
            args = ["runs", "resume", "1", "--store", str(store)]
        else:
            args = [*start, "--store", str(store), "--out", str(tmp_path / "k")]
        target = _records(store) + int(rng.integers(20, total // 3))
        proc = _run_cli(args, tmp_path)
        while proc.poll() is None and _records(store) < target:
            time.sleep(0.01)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kills += 1
        else:
            assert proc.returncode == 0, (args, (tmp_path / "stderr.log").read_text()[-2000:])
    with RunStore(store) as s:
        assert s.run(1).status == "finished"
        assert len(s.runs()) == 1
    assert kills >= 3
    got, want = _keyed(store, 1), _keyed(reference, 1)
    assert len(got) == len(want)
    assert [g[:2] for g in got] == [w[:2] for w in want]
    assert got == want  # the chip's state went with the run, so the values match too


def test_sigterm_ends_a_run_as_interrupted_and_it_resumes(tmp_path):
    store = tmp_path / "runs.db"
    args = ["characterize", "fidelity", *SMALL, "--patterns", "6", "--store", str(store)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "mtjlab", *args, "--out", str(tmp_path / "o")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # wait until the first write is committed
        if _units_done(store):
            break
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err  # 128 + SIGTERM, after the safe state
    assert "interrupted: run 1 is kept" in err and "Traceback" not in err
    with RunStore(store) as s:
        assert s.run(1).status == "interrupted"
        assert 1 <= s.run(1).units_done < 6
    assert main(["runs", "resume", "1", "--store", str(store)]) == 0
    with RunStore(store) as s:
        assert s.run(1).status == "finished" and s.run(1).units_done == 6


def _error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.startswith("mtjlab: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


def test_bad_input_is_one_line_status_2_and_nothing_written(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    save_pattern(np.zeros((15, 14), dtype=int), tmp_path / "narrow.csv")
    (tmp_path / "bad.csv").write_text("0,1\n1,x\n")
    (tmp_path / "foreign.db").write_text("not a database\n")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    out = ["--out", str(tmp_path / "o")]
    cases = [
        (["write", "narrow.csv", *out], "pattern is 15x14, the array is 15x15"),
        (["write", "narrow.csv", "--offset", "0,2", *out], "does not fit the 15x15 array"),
        (["write", "bad.csv", *out], "line 2, column 2: 'x' is not a cell state"),
        (["write", "missing.csv", *out], "no such pattern file"),
        (["characterize", "fidelity", "--p-to-ap", "0.65,0.05,1.5", *out], "max_write_v"),
        (["characterize", "fidelity", "--v-read", "0.4", *out], "max_read_v"),
        (["characterize", "fidelity", "--fixed", "stripes", *out], "unknown pattern 'stripes'"),
        (["characterize", "fidelity", "--store", "foreign.db", *SMALL, *out], "not an mtjlab"),
        (["runs", "show", "3", "--store", "foreign.db"], "not an mtjlab"),
        (["runs", "list", "--store", "none.db"], "no such file"),
        (["read", "--v-read", "-0.3", *out], "max_read_v"),
    ]
    for argv, message in cases:
        assert main(argv) == 2, argv
        assert message in _error_line(capsys), argv
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_unknown_run_and_wrong_export_suffix(tmp_path, capsys):
    store = tmp_path / "runs.db"
    RunStore(store).close()
    assert main(["runs", "show", "4", "--store", str(store)]) == 2
    assert "run 4" in _error_line(capsys)
    assert (
        main(["runs", "export", "1", "--store", str(store), "--out", str(tmp_path / "x.txt")]) == 2
    )
    assert "a csv export is written to a .csv file" in _error_line(capsys)
    assert not (tmp_path / "x.txt").exists()


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory) -> Path:
    """A store with run 1, a small fidelity run, and run 2, a reproduce run of 2 solutions."""
    where = tmp_path_factory.mktemp("two_runs")
    store = where / "runs.db"
    fidelity = ["characterize", "fidelity", *SMALL, "--out", str(where / "f")]
    assert main([*fidelity, "--store", str(store)]) == 0
    reproduce = ["reproduce", "--solutions", "2", "--arrays", "1", "--workers", "1"]
    assert main([*reproduce, "--out", str(where / "r"), "--store", str(store)]) == 0
    return store


@pytest.mark.parametrize(("run_id", "kind"), [(1, "fidelity"), (2, "reproduce")])
def test_runs_show_prints_a_short_summary(two_runs, capsys, run_id, kind):
    capsys.readouterr()
    assert main(["runs", "show", str(run_id), "--store", str(two_runs)]) == 0
    text = capsys.readouterr().out
    lines = text.splitlines()
    with RunStore(two_runs) as s:
        info = s.run(run_id)
    assert len(lines) <= 25, text
    assert lines[0] == f"run {run_id}: {kind}, finished"
    assert f"records: {info.n_records}, units done: 2 of 2" in lines
    assert "bench: simulated chip 0, preset " in text
    assert "limits: max_read_v=" in text
    if kind == "reproduce":
        assert "  networks: 2 binary networks" in lines
        assert "units (2): solution=0, solution=1" in lines
    else:
        assert "  patterns: [random-0, random-1]" in lines
        assert "units (2): pattern=0/array=1, pattern=1/array=1" in lines
    assert all(len(line) <= 100 for line in lines), text


def test_runs_show_summary_shortens_long_values(two_runs, capsys):
    argv = ["characterize", "fidelity", "--arrays", "0,3", "--patterns", "5"]
    store = two_runs.parent / "long.db"
    assert main([*argv, "--out", str(two_runs.parent / "long"), "--store", str(store)]) == 0
    capsys.readouterr()
    assert main(["runs", "show", "1", "--store", str(store)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) <= 25
    assert lines[3].startswith("records: ") and lines[3].endswith("units done: 14 of 14")
    assert "  arrays: [0, 3]" in lines
    assert "  patterns: 7 items" in lines  # 5 random ones, a checkerboard and all-AP
    assert "  write: {scheme, width_s, " in "\n".join(lines)
    first, last = "pattern=0/array=0, pattern=0/array=3", "pattern=6/array=0, pattern=6/array=3"
    assert f"units (14): {first}, ..., {last}" in lines


def test_runs_show_json_is_what_show_printed_before(two_runs, capsys):
    for run_id in (1, 2):
        capsys.readouterr()
        assert main(["runs", "show", str(run_id), "--store", str(two_runs), "--json"]) == 0
        shown = json.loads(capsys.readouterr().out)
        with RunStore(two_runs) as s:
            info, results = s.run(run_id), s.unit_results(run_id)
        params = {k: v for k, v in info.parameters.items() if k not in ("patterns", "networks")}
        if "patterns" in info.parameters:
            params["patterns"] = [p["name"] for p in info.parameters["patterns"]]
        if "networks" in info.parameters:
            params["networks"] = f"{len(info.parameters['networks'])} binary networks"
        assert shown == {
            "id": run_id,
            "kind": info.kind,
            "status": "finished",
            "started": info.started,
            "ended": info.ended,
            "seed": 0,
            "mtjlab": info.version,
            "records": info.n_records,
            "units_done": 2,
            "parameters": params,
            "limits": info.snapshot["limits"],
            "units": {
                unit: {k: v for k, v in r.items() if not isinstance(v, list)}
                for unit, r in results.items()
            },
        }
        assert list(shown) == ["id", "kind", "status", "started", "ended", "seed", "mtjlab"] + [
            "records",
            "units_done",
            "parameters",
            "limits",
            "units",
        ]


@pytest.mark.parametrize("as_json", [[], ["--json"]])
def test_runs_show_of_an_unknown_run_is_one_line(two_runs, capsys, as_json):
    capsys.readouterr()
    assert main(["runs", "show", "9", "--store", str(two_runs), *as_json]) == 2
    assert "run 9" in _error_line(capsys)


def test_parquet_export_without_pyarrow_names_the_extra_and_writes_nothing(
    two_runs, tmp_path, capsys, monkeypatch
):
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # makes pyarrow unimportable
    monkeypatch.chdir(tmp_path)
    argv = ["runs", "export", "1", "--store", str(two_runs), "--format", "parquet"]
    capsys.readouterr()
    for out in ([], ["--out", str(tmp_path / "r.parquet")]):
        assert main([*argv, *out]) == 2
        line = _error_line(capsys)
        assert "--format parquet" in line and "pip install 'mtjlab[export]'" in line
    assert list(tmp_path.iterdir()) == []


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    option=st.sampled_from(
        [
            "--p-to-ap",
            "--ap-to-p",
            "--width",
            "--arrays",
            "--v-read",
            "--max-attempts",
            "--ap-fraction",
            "--seed",
            "--patterns",
        ]
    ),
    value=st.text(st.characters(codec="ascii", exclude_characters="\x00"), max_size=12),
)
def test_any_bad_option_value_is_refused_before_anything_is_written(
    tmp_path, capsys, option, value
):
    out = tmp_path / "never"
    try:
        status = main(
            ["characterize", "fidelity", option, value, "--fixed", "stripes", "--out", str(out)]
        )
    except SystemExit as exc:  # argparse refused the value itself
        status = exc.code
        assert "Traceback" not in capsys.readouterr().err
    else:
        _error_line(capsys)  # a usable value, then the bad --fixed stops the command
    assert status == 2
    assert not out.exists()


def test_reproduce_scores_solutions_and_writes_its_report(tmp_path, capsys):
    out = tmp_path / "rep"
    assert main(["reproduce", "--solutions", "4", "--arrays", "1,2", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "4 solutions, output layer in software (percent)" in text
    assert "tuned: and thresholds" in text and "output layer: weight" not in text
    summary = json.loads((out / "summary.json").read_text())
    assert summary["accuracy_unit"] == "fraction of the test split"
    assert [s["array"] for s in summary["solutions"]] == [1, 2, 1, 2]
    for s in summary["solutions"]:
        for key in ("software_accuracy", "untuned_accuracy", "tuned_accuracy"):
            assert 0.0 <= s[key] <= 1.0
        assert s["weight_fidelity"] >= 0.95 and s["pulses"] > 50
    # On the default chip the hardware scores within a test sample or two of software.
    assert abs(summary["median_tuned_accuracy"] - summary["median_software_accuracy"]) < 0.04
    assert summary["median_software_accuracy"] == pytest.approx(
        float(np.median([s["software_accuracy"] for s in summary["solutions"]]))
    )
    page = (out / "report.html").read_text()
    for f in summary["figures"]:
        assert Path(f).exists() and Path(f).name in page
    assert main(["runs", "show", "1", "--store", str(out / "runs.db"), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["parameters"]["networks"] == "4 binary networks"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["reproduce", "--solutions", "0"], "expected a whole number >= 1"),
        (["reproduce", "--solutions", "-3"], "expected a whole number >= 0"),
        (["reproduce", "--solutions", "many"], "expected a whole number >= 0"),
    ],
)
def test_reproduce_refuses_bad_counts(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2 and message in capsys.readouterr().err


def test_reproduce_refuses_an_unknown_preset_and_an_unwritable_out(tmp_path, capsys):
    assert main(["reproduce", "--chip", "golden", "--out", str(tmp_path / "o")]) == 2
    assert "unknown chip preset 'golden'" in _error_line(capsys)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):  # root ignores permissions: use a path under a file
            target = tmp_path / "file.txt"
            target.write_text("x")
            out = target / "sub"
        else:
            out = locked / "sub"
        assert main(["reproduce", "--out", str(out)]) == 2
        _error_line(capsys)
    finally:
        locked.chmod(0o700)
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    "extra", [[], ["--chip", "reference", "--defect-aware", "--allow-disturb"]]
)
def test_reproduce_in_two_processes_gives_the_results_of_one(tmp_path, extra):
    summaries = []
    for workers in ("1", "2"):
        out = tmp_path / f"w{workers}"
        argv = ["reproduce", "--solutions", "6", "--arrays", "0,3", "--workers", workers, *extra]
        assert main([*argv, "--out", str(out)]) == 0
        summaries.append(json.loads((out / "summary.json").read_text()))
        with RunStore(out / "runs.db") as s:
            assert s.run(1).units_done == 6 and s.run(1).n_records == 6
    assert summaries[0]["solutions"] == summaries[1]["solutions"]


@pytest.mark.parametrize(
    "arrays", [["--arrays", "1,2"], ["--arrays", "0,1,2,3", "--output-layer", "array"]]
)
def test_an_interrupted_parallel_reproduce_resumes_to_the_same_results(tmp_path, arrays):
    argv = ["reproduce", "--solutions", "8", *arrays, "--workers", "2"]
    reference = tmp_path / "ref"
    assert main([*argv, "--out", str(reference)]) == 0
    store = tmp_path / "cut" / "runs.db"
    proc = subprocess.Popen(
        [sys.executable, "-m", "mtjlab", *argv, "--out", str(tmp_path / "cut")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (_units_done(store) or 0) >= 2:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err  # 128 + SIGTERM, after the safe state
    with RunStore(store) as s:
        assert s.run(1).status == "interrupted" and 2 <= s.run(1).units_done < 8
    assert main(["runs", "resume", "1", "--store", str(store)]) == 0
    want = json.loads((reference / "summary.json").read_text())["solutions"]
    got = json.loads((tmp_path / "cut" / "summary.json").read_text())["solutions"]
    assert got == want


def test_reproduce_chip_changes_are_checked_and_kept_with_the_run(tmp_path, capsys):
    out = tmp_path / "o"
    assert main(["reproduce", "--chip-set", "bogus=1", "--out", str(out)]) == 2
    assert "unknown chip field(s) ['bogus']" in _error_line(capsys)
    assert main(["reproduce", "--chip-set", "r_row_ohm=-1", "--out", str(out)]) == 2
    assert "ChipSpec.r_row_ohm=-1" in (line := _error_line(capsys)) and "allowed: >= 0" in line
    assert not out.exists()
    argv = ["reproduce", "--solutions", "2", "--arrays", "1", "--chip", "ideal"]
    assert main([*argv, "--chip-set", "r_row_ohm=5", "--out", str(out)]) == 0
    with RunStore(out / "runs.db") as s:
        bench = s.run(1).snapshot["bench"]
    assert bench == {"kind": "sim", "seed": 0, "preset": "ideal", "changes": {"r_row_ohm": 5.0}}


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def _ended(pid: int) -> bool:
    """Gone, or a zombie nobody has reaped yet (it runs nothing either way)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads /proc (Linux)")
def test_reproduce_workers_end_when_their_parent_is_killed(tmp_path):
    store = tmp_path / "o" / "runs.db"
    argv = ["reproduce", "--solutions", "60", "--workers", "2", "--out", str(tmp_path / "o")]
    proc = _run_cli(argv, tmp_path)
    deadline = time.monotonic() + 120
    workers: list[int] = []
    while time.monotonic() < deadline and not ((_units_done(store) or 0) >= 1 and workers):
        workers = _children(proc.pid)
        time.sleep(0.05)
    assert len(workers) >= 2, "the workers did not start"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not all(_ended(w) for w in workers):
        time.sleep(0.1)
    assert all(_ended(w) for w in workers), "a worker outlived its killed parent"
