"""`mtjlab bench check` and the emulated bench it builds: every instrument answers, every
crosspoint of the wiring switches and reads back, and a relay that fails is reported."""

import copy

import pytest
import yaml

from mtjlab.bench import drivers as bench_use
from mtjlab.bench.file import builtin_bench_path, parse_bench
from mtjlab.bench.session import connect
from mtjlab.cli.app import main


def serial_matrix_bench():
    """The built-in bench with a serial relay matrix (8 x 90) instead of the 707B."""
    data = copy.deepcopy(yaml.safe_load(builtin_bench_path().read_text()))
    data["instruments"]["matrix"] = {
        "model": "serial_matrix",
        "resource": "emulated://check-matrix",
        "options": {"rows": 8, "columns": 90},
    }
    del data["tsp_link"]  # a serial matrix is on no TSP-Link
    for n, terminal in enumerate(data["terminals"].values(), start=1):
        terminal["matrix_row"] = str(n)
    pads = iter(range(1, 61))
    for wiring in data["arrays"].values():
        wiring["rows"] = [str(next(pads)) for _ in wiring["rows"]]
        wiring["cols"] = [str(next(pads)) for _ in wiring["cols"]]
    return parse_bench(data, "serial.yaml")


def test_the_built_in_bench_checks_out(capsys):
    assert main(["bench", "check"]) == 0
    out = capsys.readouterr().out
    assert "Model 2636B" in out and "33522B" in out and "MODEL 707B" in out
    assert out.count("all closed and read back") == 12  # 6 terminals x 2 arrays
    assert "read biases: grounded, floating; write schemes: v/2, floating" in out
    assert "TSP-Link node 2" in out and "matrix reached" in out
    assert "NO" not in out
    # The limits a run on it is held to, the disturb envelope included, in words.
    assert "limits (the emulated chip's own): reads up to 0.113 V; pulses up to 1.1 V" in out
    assert "disturb envelope (+/- V on unselected devices, pulses up to): 1 ns " in out
    assert "100 ns 0.31/0.222" in out


def test_a_matrix_missing_from_the_tsp_link_fails_the_check():
    bench = parse_bench(yaml.safe_load(builtin_bench_path().read_text()), "b.yaml")
    drivers, emulated = connect(bench)
    emulated.emulator("smu_a").scripts.lua.globals().node[2] = None  # cable out
    rows = bench_use.check(bench, drivers)
    failed = [r for r in rows if not r.ok]
    assert [r.item for r in failed] == ["TSP-Link node 2"]
    assert "no node 2 on its link" in failed[0].result


def test_a_relay_that_does_not_close_fails_the_check():
    bench = serial_matrix_bench()
    drivers, emulated = connect(bench)
    emulated.emulator("matrix").stuck = {"6,17"}  # ground onto array 1's column pad 2
    rows = bench_use.check(bench, drivers)
    failed = [r for r in rows if not r.ok]
    assert [r.item for r in failed] == ["array 1 <- ground"]
    assert "did not close" in failed[0].result
    assert emulated.circuit.closed == set()  # the check leaves every relay open
    identities = [r.result for r in rows[:5]]
    assert any("33522B" in text for text in identities)


def test_a_bad_bench_file_is_one_line_and_status_2(tmp_path, capsys):
    path = tmp_path / "bench.yaml"
    data = yaml.safe_load(builtin_bench_path().read_text())
    data["terminals"]["pulse"]["matrix_row"] = "Q"
    path.write_text(yaml.safe_dump(data))
    assert main(["bench", "check", "--bench", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith(f"mtjlab: error: {path}: terminals.pulse.matrix_row = 'Q'")


@pytest.mark.parametrize("array", [1, 2])
def test_an_instrument_backend_over_the_serial_matrix_reads_a_cell(array):
    from mtjlab.sim.backend import SimulatedBackend
    from mtjlab.sim.chip import Chip

    bench = serial_matrix_bench()
    from mtjlab.bench.emulated import EmulatedBench

    emulated = EmulatedBench(bench)
    with emulated.backend(array) as backend:
        got = backend.read_cell(5, 6).resistance_ohm
    want = SimulatedBackend(Chip.from_seed(0), array).read_cell(5, 6).resistance_ohm
    assert got == pytest.approx(want, rel=0.02)
