"""`mtjlab bench check` and the emulated bench it builds: every instrument answers, every
crosspoint of the wiring switches and reads back, and a relay that fails is reported."""

import copy
from pathlib import Path

import pytest
import yaml
from _benches import with_serial_matrix

from mtjlab.bench import drivers as bench_use
from mtjlab.bench.emulated import EMULATORS
from mtjlab.bench.file import builtin_bench_path, parse_bench
from mtjlab.bench.session import connect
from mtjlab.cli.app import main


def serial_matrix_bench():
    """The built-in bench with a serial relay matrix (8 x 90) instead of the 707B."""
    data = copy.deepcopy(yaml.safe_load(builtin_bench_path().read_text()))
    return parse_bench(with_serial_matrix(data, "emulated://check-matrix"), "serial.yaml")


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


def table_rows(out: str) -> dict[str, tuple[str, str]]:
    """The rows of ``bench check``'s table by their first column (the header left out), each
    as its line without the ok column, and the ok column."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split() == ["what", "result", "ok"])
    end = next(i for i, line in enumerate(lines) if line.startswith("read biases:"))
    rows = {}
    for line in lines[start + 1 : end]:
        label = line[: line.index("  ")]  # a label never holds two spaces running
        assert label not in rows, f"two rows for {label}"
        text, ok = line.rsplit(maxsplit=1)
        rows[label] = (text.rstrip(), ok)
    return rows


#: Each emulated instrument unplugged in turn: the bench file's instruments at it, and how their
#: rows say so (the 2636B is read at connection, the others only when asked what they are).
UNPLUGGED = {
    "keithley2600b": (["smu_a", "smu_b"], "cannot connect at emulated://smu: "),
    "keysight33500b": (["pulser_1", "pulser_2"], "no answer at emulated://pulser: "),
    "keithley707b": (["matrix"], "no answer at emulated://matrix: "),
}


@pytest.mark.parametrize("model", list(UNPLUGGED))
def test_an_instrument_that_does_not_answer_is_reported_and_the_others_checked(
    model, monkeypatch, capsys
):
    unplugged = []

    class Unplugged(EMULATORS[model]):  # the instrument stops answering before the first command
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.faults.disconnect_after = 0
            unplugged.append(self)

    monkeypatch.setitem(EMULATORS, model, Unplugged)
    assert main(["bench", "check"]) == 1
    rows = table_rows(capsys.readouterr().out)
    failing, reason = UNPLUGGED[model]
    bench = parse_bench(yaml.safe_load(builtin_bench_path().read_text()), "b.yaml")
    assert len(rows) == 5 + 1 + 2 * 6  # one line each: instruments, TSP-Link, arrays x terminals
    for name in bench.instruments:  # every instrument has its row, the others identified
        assert rows[name][1] == ("NO" if name in failing else "yes"), rows[name]
    assert reason + "EmulatorDisconnected: emulated://" in rows[failing[0]][0]
    if model == "keysight33500b":  # its second output is not asked again
        assert rows["pulser_2"][0].endswith(
            "not asked at emulated://pulser: pulser_1 there did not answer"
        )
    # A check that needs an instrument that failed is not done; every other one is.
    for index in bench.arrays:
        for terminal, wired in bench.terminals.items():
            text, ok = rows[f"array {index} <- {terminal}"]
            needed = [n for n in (bench.matrix, wired.instrument) if n in failing]
            if needed:
                assert text.endswith(f"not done: needs {', '.join(needed)}") and ok == "NO"
            else:
                assert text.endswith("all closed and read back") and ok == "yes"
    link, ok = rows["TSP-Link node 2"]
    if model == "keysight33500b":
        assert link.endswith("matrix reached") and ok == "yes"
    else:
        needed = "smu_a" if model == "keithley2600b" else "matrix"
        assert link.endswith(f"not done: needs {needed}") and ok == "NO"
    # The instrument was sent nothing after the command it failed on, and the bench ends with
    # every relay open and nothing live.
    [emulator] = unplugged
    assert len(emulator.received()) <= 1
    assert emulator.circuit.closed == set() and emulator.circuit.live() == ()


def test_a_real_bench_whose_instruments_cannot_be_reached_gets_a_row_for_each(tmp_path, capsys):
    """Nothing listens at these resources: each instrument's row names its resource and the
    reason in one line, and the wiring, which needs the matrix, is not tried."""
    examples = Path(__file__).resolve().parents[1] / "examples"
    text = (examples / "real-bench.yaml").read_text()
    resources = {
        "TCPIP0::192.168.10.21::inst0::INSTR": "TCPIP0::127.0.0.1::1::SOCKET",
        "USB0::0x0957::0x2C07::MY57800213::INSTR": "TCPIP0::127.0.0.1::3::SOCKET",
        "TCPIP0::192.168.10.22::inst0::INSTR": "TCPIP0::127.0.0.1::2::SOCKET",
    }
    for real, nowhere in resources.items():
        assert real in text
        text = text.replace(real, nowhere)
    path = tmp_path / "real.yaml"
    path.write_text(text)
    assert main(["bench", "check", "--bench", str(path)]) == 1
    rows = table_rows(capsys.readouterr().out)
    at = {"smu_a": 1, "smu_b": 1, "pulser_1": 3, "pulser_2": 3, "matrix": 2}
    for name, port in at.items():
        assert f" at TCPIP0::127.0.0.1::{port}::SOCKET: " in rows[name][0], rows[name]
        assert rows[name][1] == "NO"
    assert len(rows) == 5 + 6  # one line each: the instruments, then array 0's six terminals
    ground, ok = rows["array 0 <- ground"]
    assert ground.endswith("not done: needs matrix") and ok == "NO"
    pulse, ok = rows["array 0 <- pulse"]
    assert pulse.endswith("not done: needs matrix, pulser_1") and ok == "NO"


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
