"""A bench run's transcript (transcript.tsv, `mtjlab runs transcript`): every command the drivers
sent and every reply, compared line by line with what the emulated instruments themselves
received and sent."""

from __future__ import annotations

import contextlib
import io
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mtjlab.bench import emulated
from mtjlab.bench.transcript import (
    RECEIVED,
    SENT,
    TRANSCRIPT_FILE,
    escaped,
    read_transcript,
    wire_names,
)
from mtjlab.cli.app import main

BENCH = "examples/emulated-bench.yaml"


def _main(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(argv)
    return status, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory):
    """A read on the built-in emulated bench, and the emulated bench it ran on."""
    benches = []
    original = emulated.EmulatedBench.__init__

    def keep(self, *args, **kwargs):
        original(self, *args, **kwargs)
        benches.append(self)

    out = tmp_path_factory.mktemp("transcript") / "read"
    with pytest.MonkeyPatch.context() as m:
        m.setattr(emulated.EmulatedBench, "__init__", keep)
        status, _, _ = _main(["read", "--bench", BENCH, "--array", "1", "--out", str(out)])
    assert status == 0 and len(benches) == 1
    return out, benches[0]


def test_the_transcript_is_what_each_instrument_received_and_sent(bench_run):
    out, bench = bench_run
    lines = read_transcript(out / TRANSCRIPT_FILE)
    wires = wire_names(bench.bench)
    assert set(wires.values()) == {"smu_a+smu_b", "pulser_1+pulser_2", "matrix"}
    for resource, emulator in bench.emulators.items():
        wire = wires[resource]
        sent = [line.text for line in lines if line.instruments == wire and line.direction == SENT]
        replies = [
            line.text for line in lines if line.instruments == wire and line.direction == RECEIVED
        ]
        assert sent and sent == emulator.received(), resource
        assert replies == [e.text for e in emulator.transcript if e.direction == "out"]
    assert len(lines) == sum(len(e.transcript) for e in bench.emulators.values())
    times = [line.time for line in lines]
    assert times == sorted(times) and all(t.endswith("Z") for t in times)


def test_runs_transcript_prints_it_and_filters_one_instrument(bench_run):
    out, bench = bench_run
    store = str(out / "runs.db")
    status, printed, _ = _main(["runs", "transcript", "1", "--store", store])
    assert status == 0
    assert len(printed.splitlines()) == len(read_transcript(out / TRANSCRIPT_FILE))
    assert re.search(r"Z  smu_a\+smu_b +> print\(localnode\.model\)\n", printed)
    status, printed, _ = _main(
        ["runs", "transcript", "1", "--store", store, "--instrument", "smu_b"]
    )
    assert status == 0 and all(" smu_a+smu_b " in line for line in printed.splitlines())
    status, _, err = _main(["runs", "transcript", "1", "--store", store, "--instrument", "dmm"])
    assert status == 2 and "--instrument dmm: not in the transcript" in err


def test_a_run_on_the_simulated_chip_has_no_transcript(tmp_path):
    out = tmp_path / "sim"
    assert _main(["read", "--array", "1", "--out", str(out)])[0] == 0
    assert not (out / TRANSCRIPT_FILE).exists()
    status, printed, _ = _main(["runs", "transcript", "1", "--store", str(out / "runs.db")])
    assert status == 1 and "simulated chip: no instrument, no transcript" in printed


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40))
def test_a_line_of_any_text_reads_back_as_it_was(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("lines") / TRANSCRIPT_FILE
    path.write_text(f"2026-01-01T00:00:00.000Z\tsmu\t>\t{escaped(text)}\n", encoding="utf-8")
    (line,) = read_transcript(path)
    assert line.text == text and "\n" not in escaped(text) and "\t" not in escaped(text)


def test_a_damaged_transcript_line_is_named(tmp_path):
    path = tmp_path / TRANSCRIPT_FILE
    path.write_text("2026-01-01T00:00:00.000Z\tsmu\t>\tok\nnot a line\n")
    with pytest.raises(ValueError, match=r"transcript.tsv:2: not a transcript line"):
        read_transcript(path)
