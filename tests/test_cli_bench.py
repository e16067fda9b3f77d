"""`--bench FILE` on the commands: the same protocols on the emulated bench's instruments, a dry
run's bench time reported, the bench kept with the run, and arrays a bench lacks refused."""

import json
from pathlib import Path

import numpy as np
import pytest

from mtjlab.bench.file import load_bench
from mtjlab.cli.app import main
from mtjlab.runs.store import RunStore

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
EMULATED = str(EXAMPLES / "emulated-bench.yaml")


def test_bench_example_writes_the_example_files_byte_for_byte(tmp_path, monkeypatch, capsys):
    """The packaged examples are examples/*.yaml, so the two copies cannot drift apart."""
    monkeypatch.chdir(tmp_path)
    assert main(["bench", "example"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "wrote the example emulated bench file to emulated-bench.yaml",
        "next: mtjlab bench check --bench emulated-bench.yaml",
    ]
    written = tmp_path / "emulated-bench.yaml"
    assert written.read_bytes() == Path(EMULATED).read_bytes()
    assert load_bench(written).kind == "emulated"
    out = tmp_path / "my bench.yaml"
    assert main(["bench", "example", "--real", "--out", str(out)]) == 0
    next_step = capsys.readouterr().out.splitlines()[-1]
    assert next_step.endswith(f"then run: mtjlab bench check --bench '{out}'")  # quoted: a space
    assert out.read_bytes() == (EXAMPLES / "real-bench.yaml").read_bytes()
    assert load_bench(out).kind == "real"


@pytest.mark.parametrize("real", [[], ["--real"]])
def test_bench_example_never_overwrites_a_file(tmp_path, capsys, real):
    out = tmp_path / "mine.yaml"
    out.write_text("my own bench\n")
    assert main(["bench", "example", *real, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"mtjlab: error: --out {out}: the file exists; give another --out"]
    assert out.read_text() == "my own bench\n"


def test_a_read_on_the_emulated_bench_is_the_simulators_and_reports_its_bench_time(
    tmp_path, capsys
):
    assert main(["read", "--bench", EMULATED, "--out", str(tmp_path / "bench")]) == 0
    text = capsys.readouterr().out
    assert "emulated bench:" in text and "s of bench time" in text
    on_bench = json.loads((tmp_path / "bench" / "summary.json").read_text())
    # at least the physical floor (225 x (1 PLC at 50 Hz + 3 ms settling)), and, with the map
    # one script on the 2636B, fewer commands in all than there are cells
    assert on_bench["bench_time_s"] > 225 * 0.023 and on_bench["round_trips"] < 225
    assert main(["read", "--out", str(tmp_path / "sim")]) == 0
    on_sim = json.loads((tmp_path / "sim" / "summary.json").read_text())
    assert on_bench["counts"] == on_sim["counts"]
    assert "bench_time_s" not in on_sim
    with RunStore(tmp_path / "bench" / "runs.db") as store:
        info = store.run(1)
    assert info.snapshot["bench"]["kind"] == "file" and info.snapshot["chip"]["seed"] == 0
    assert info.parameters["bench"]["text"] == Path(EMULATED).read_text()


def test_a_write_on_the_emulated_bench_keeps_the_arrays_state_for_a_resume(tmp_path, capsys):
    pattern = tmp_path / "p.csv"
    rows = np.zeros((15, 15), dtype=int)
    rows[::2, ::3] = 1
    pattern.write_text("\n".join(",".join(map(str, r)) for r in rows) + "\n")
    out = tmp_path / "w"
    assert (
        main(["write", str(pattern), "--bench", EMULATED, "--array", "2", "--out", str(out)]) == 0
    )
    # The default ramps stop inside the disturb envelope (0.59 V P -> AP under V/2), and that
    # leaves one cell of the pattern: (10, 12) of chip 0's array 2 is a working device whose
    # critical voltage, 0.633 V, is 3 standard deviations above the array's mean; after the
    # lines' drop the ramp's top puts about 0.564 V on it, which switches it with probability 0.27
    # per pulse, and it stayed P through its 6 pulses. With the ramps that went to 0.75 V
    # before the envelope the whole pattern was written (fidelity 1.0000). 224 of 225 cells:
    assert "array 2: write fidelity 0.9956" in capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    assert summary["given_up"] == 1 and summary["errors_p_to_ap"] == 1
    assert summary["errors_ap_to_p"] == 0 and summary["disturbed"] == 0
    [(row, col, why)] = summary["given_up_cells"]
    assert (row, col) == (10, 12) and why.startswith("did not switch to AP after 6 pulses")
    with RunStore(out / "runs.db") as store:
        assert list(store.latest_states(1)) == ["array=2"]


def test_an_array_the_bench_does_not_reach_is_refused(tmp_path, capsys):
    out = tmp_path / "o"
    assert main(["read", "--bench", EMULATED, "--array", "0", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"mtjlab: error: array(s) [0] are not on bench {EMULATED}; it has [1, 2]"
    assert not out.exists()


def test_a_bench_file_may_wire_array_indices_the_simulated_chip_does_not_have(tmp_path, capsys):
    """The indices are the file's: a probe station's array 7 is asked for as 7, and an index
    is refused only when the bench, once read, does not wire it."""
    text = (EXAMPLES / "real-bench.yaml").read_text().replace("\n  0:\n", "\n  7:\n")
    bench = tmp_path / "real.yaml"
    bench.write_text(text)
    assert main(["read", "--bench", str(bench), "--array", "5", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"mtjlab: error: array(s) [5] are not on bench {bench}; it has [7]"
    assert main(["characterize", "fidelity", "--bench", str(bench), "--arrays", "6,7",
                 "--out", str(tmp_path / "p")]) == 2  # fmt: skip
    assert "array(s) [6] are not on bench" in capsys.readouterr().err


def test_a_real_bench_that_cannot_be_reached_names_the_instrument(tmp_path, capsys):
    text = (EXAMPLES / "real-bench.yaml").read_text()
    bench = tmp_path / "real.yaml"
    bench.write_text(
        text.replace("TCPIP0::192.168.10.21::inst0::INSTR", "ASRL/dev/mtjlab-no-port::INSTR")
    )
    assert main(["read", "--bench", str(bench), "--array", "0", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith(f"mtjlab: error: {bench}: instrument smu_a (keithley2600b) at ")
    assert "cannot connect" in err


def test_reproduce_on_the_emulated_bench_scores_what_the_simulator_scores(tmp_path, capsys):
    """One solution written, read back and scored through the emulated instruments (inference by
    superposition in the 2636B's script) against the same solution on the simulated chip."""
    bench_out, sim_out = tmp_path / "bench", tmp_path / "sim"
    assert main(["reproduce", "--bench", EMULATED, "--solutions", "1",
                 "--out", str(bench_out)]) == 0  # fmt: skip
    assert "emulated bench:" in capsys.readouterr().out
    sim = ["reproduce", "--solutions", "1", "--arrays", "1,2", "--chip", "kind"]  # the bench's die
    assert main([*sim, "--out", str(sim_out)]) == 0
    on_bench = json.loads((bench_out / "summary.json").read_text())
    on_sim = json.loads((sim_out / "summary.json").read_text())
    for key in ("software", "untuned", "tuned"):
        assert on_bench[f"mean_{key}_accuracy"] == pytest.approx(
            on_sim[f"mean_{key}_accuracy"], abs=0.04
        )
    assert on_bench["mean_weight_fidelity"] == on_sim["mean_weight_fidelity"]
    # inference is 13 x 15 shares per input vector, each one integration (20 ms): minutes of
    # bench time, in a few thousand commands (cell by cell it would be over a hundred thousand)
    assert on_bench["bench_time_s"] > 13 * 15 * 54 * 0.02 and on_bench["round_trips"] < 10_000
    with RunStore(bench_out / "runs.db") as store:
        assert store.run(1).snapshot["bench"]["kind"] == "file"


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--chip", "reference"], "--chip and --chip-set describe the built-in simulated chip"),
        (["--chip-set", "r_row_ohm=0"], "--chip and --chip-set describe the built-in simulated"),
        (["--workers", "2"], "--workers 2: a bench's instruments are driven by one process"),
        (["--arrays", "0"], "array(s) [0] are not on bench"),
    ],
)
def test_reproduce_on_a_bench_refuses_what_only_the_simulator_has(tmp_path, capsys, extra, message):
    out = tmp_path / "o"
    assert main(["reproduce", "--bench", EMULATED, "--solutions", "1", *extra,
                 "--out", str(out)]) == 2  # fmt: skip
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_statistics_aware_training_needs_a_simulated_chip_behind_the_bench(tmp_path, capsys):
    bench = tmp_path / "real.yaml"
    bench.write_text((EXAMPLES / "real-bench.yaml").read_text())
    args = ["reproduce", "--bench", str(bench), "--statistics-aware", "--solutions", "1"]
    assert main([*args, "--out", str(tmp_path / "o")]) == 2
    assert "is a real bench, whose statistics mtjlab does not know" in capsys.readouterr().err


def _fidelity_on_the_bench(out, progress=None):
    import mtjlab

    return mtjlab.characterize_fidelity(
        bench=EMULATED, arrays=[1, 2], patterns=1, fixed="none", out=out, progress=progress
    )


def test_a_resumed_dry_run_reports_the_bench_time_of_the_whole_run(tmp_path, capsys):
    # The bench time and the commands of the units measured before an interruption are kept
    # with their state, so a resumed dry run reports what the whole run would take on the
    # bench, not only its rest.
    whole_summary = _fidelity_on_the_bench(tmp_path / "whole").summary
    whole = whole_summary["bench_time_s"]

    def stop_after_the_first_array(event):
        if event.task == "fidelity" and event.done == 1:
            raise KeyboardInterrupt

    out = tmp_path / "cut"
    with pytest.raises(KeyboardInterrupt):
        _fidelity_on_the_bench(out, stop_after_the_first_array)
    with RunStore(out / "runs.db") as store:
        assert len(store.done_units(1)) == 1  # the first array only
    assert main(["runs", "resume", "1", "--store", str(out / "runs.db")]) == 0
    capsys.readouterr()
    resumed_summary = json.loads((out / "summary.json").read_text())
    resumed = resumed_summary["bench_time_s"]
    # the resumed session sets its instruments up again (a few commands): a little more, never
    # the half that the second array alone takes
    assert whole <= resumed < whole + 5.0
    commands, resumed_commands = whole_summary["round_trips"], resumed_summary["round_trips"]
    assert commands <= resumed_commands < commands + 100 < 2 * commands
