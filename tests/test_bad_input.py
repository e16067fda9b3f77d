"""Every bad value a command or its Python function can be given is one line naming it, before
any work starts: no traceback, no output folder, no training first."""

import argparse
import signal
import subprocess
import sys
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mtjlab.cli.app import build_parser, main
from mtjlab.runs.experiments import COMMAND_ORDER
from mtjlab.runs.registry import experiment


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        # OverflowError on 0a933d7
        (["characterize", "switching", "--p-to-ap-amplitudes", "0.4,0.01,1e308"],
         "makes more than 200 amplitudes"),
        # TypeError on 0a933d7
        (["reproduce", "--chip-set", "rows=16.5"], "chip field rows=16.5: expected a whole number"),
        (["reproduce", "--chip-set", "diameters_nm=3"], "diameters_nm=3.0: expected a list"),
        # taken on 0a933d7, and 4.2 GB before measuring anything
        (["characterize", "fidelity", "--patterns", "1000000000"], "expected at most 10000"),
        (["reproduce", "--solutions", "20000"], "expected at most 10000"),
        # failed only after training on 0a933d7
        (["reproduce", "--solutions", "2", "--out", "/proc/x"], "/proc/x: cannot write there"),
        (["read", "--store", "/proc/x.db"], "/proc/x.db: cannot open the run store"),
    ],
)  # fmt: skip
def test_a_bad_value_is_one_line_and_status_2(argv, said, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    try:
        status = main(argv)
    except SystemExit as exit_:  # argparse's own refusals
        status = exit_.code
    err = capsys.readouterr().err
    assert status == 2, err
    assert said in err and "Traceback" not in err
    assert "training" not in err
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith(".")] == []


def test_an_export_that_cannot_be_written_names_the_file_asked_for(tmp_path, capsys):
    assert main(["read", "--out", str(tmp_path / "o")]) == 0
    capsys.readouterr()
    argv = ["runs", "export", "1", "--store", str(tmp_path / "o" / "runs.db")]
    assert main([*argv, "--out", "/proc/mtjlab-test.csv"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mtjlab: error: /proc/mtjlab-test.csv: cannot write the export")
    assert ".tmp" not in err


NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(10**30), 10**30).map(str),
    st.text(alphabet="0123456789.:,-+eEinfa ", min_size=1, max_size=12),
)


def _numeric_options():
    for kind in COMMAND_ORDER:
        exp = experiment(kind)
        for option in exp.options:
            if option.flag and option.kind.name not in ("text", "path", "flag"):
                yield exp, option


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(choice=st.sampled_from(list(_numeric_options())), text=NUMBERS)
def test_any_text_for_a_numeric_option_is_taken_or_refused_in_one_line(choice, text):
    exp, option = choice
    parser = build_parser()
    argv = [*exp.command, option.flag, text]
    if exp.command == ("write",):
        argv.insert(1, "pattern.csv")
    try:
        args = parser.parse_args(argv)
    except SystemExit:
        return  # argparse said why, in one line (its usage and the error)
    options = {o.name: getattr(args, o.name) for o in exp.options}
    try:
        exp.prepare(options)
    except (ValueError, OSError) as exc:  # OSError: the write's pattern file is not there
        assert str(exc) and "\n" not in str(exc)


def test_the_option_kinds_refuse_with_argparse_messages():
    for _, option in _numeric_options():
        with pytest.raises(argparse.ArgumentTypeError):
            option.kind.parse("not a number at all")


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_ctrl_c_or_sigterm_while_training_ends_in_one_line(tmp_path, signum, status):
    # A traceback on 0a933d7: reproduce trains its networks before the run begins.
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mtjlab",
            "reproduce",
            "--solutions",
            "3000",
            "--out",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    err = ""
    while "training binary networks" not in err:
        err += proc.stderr.readline()
    time.sleep(0.5)
    proc.send_signal(signum)
    err += proc.communicate(timeout=60)[1]
    assert proc.returncode == status, err
    assert "interrupted before anything was measured" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_a_pattern_file_past_the_csv_field_limit_is_one_line(tmp_path, capsys):
    pattern = tmp_path / "p.csv"
    pattern.write_text("0," + "1" * 200_000 + "\n")
    assert main(["write", str(pattern), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "field larger than field limit" in err
    pattern.write_text("0,x" + "y" * 100_000 + "\n")
    assert main(["write", str(pattern), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert len(err) < 300 and "(100001 chars)" in err


#: The command as its entry point runs it, saying on stderr when its entry module is loaded: a
#: signal before that (the interpreter starting) is outside what any Python program can answer.
_STARTING = (
    "import sys; from mtjlab.cli.start import main; sys.stderr.write('started\\n'); "
    "sys.stderr.flush(); sys.exit(main(sys.argv[1:]))"
)


def test_ctrl_c_while_the_command_starts_is_one_line(tmp_path):
    """Ctrl-C while numpy, scipy, matplotlib and xarray load, or the parser is built: on
    0a933d7 a traceback. Sent at times spread over the start (about a second); one that comes
    after it is answered by the command itself (the run kept, 130)."""
    for n, delay in enumerate((0.0, 0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 0.7)):
        child = subprocess.Popen(
            [
                sys.executable,
                "-c",
                _STARTING,
                "characterize",
                "rv",
                "--out",
                str(tmp_path / f"{n}"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert child.stderr.readline() == "started\n"
        time.sleep(delay)
        child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=60)
        assert "Traceback" not in err, err
        assert child.returncode == 130, (delay, child.returncode, err)
        assert "interrupted" in err.strip().splitlines()[-1], err
