"""Record what the ``mtjlab`` command prints, as goldens for tests/test_cli_unchanged.py.

The goldens pin the command line. They were first made from commit 0a933d7 ("commands: the arrays
a command asks for are checked against its bench by one function ..."), the last commit with the
flat module layout, installed on its own, with::

    mkdir -p /tmp/mtjlab-0a933d7
    git archive 0a933d7 | tar -x -C /tmp/mtjlab-0a933d7
    python3 -m venv /tmp/venv-0a933d7
    /tmp/venv-0a933d7/bin/pip install /tmp/mtjlab-0a933d7
    python tests/golden/make_golden.py /tmp/venv-0a933d7/bin/mtjlab

so that restructuring the modules could not change what the command does. They were re-recorded
once on purpose, from the installed working tree (``python tests/golden/make_golden.py mtjlab``),
when the disturb envelope (issue 23) changed what the commands do: the write ramps, rv's
amplitudes and switching's resets moved inside it, ``--allow-disturb`` and
``--repair-disturbed`` were added, ``reproduce`` took the ramps, a write reports the cells
outside its pattern, and the switching run below moved its grids inside the envelope.
The reproduce goldens were re-recorded on purpose twice more: when the report gained two figures
(the stdout lists them), and when ``reproduce``'s defaults became the ``sized`` die and unsigned
inputs (issue 24: the main job had shown no hardware effect) and it took ``--inputs`` and
``--split``; every other command's goldens came out unchanged.
The help goldens were re-recorded once more when ``mtjlab sweep`` was added (its own help files
and the top-level list of commands; nothing else changed), and the reproduce goldens when the
``sized`` die took 4 Ohm lines and half its shorts and ``reproduce``'s ramps became the chip
preset's (issue 24: tuning then wins back most of the loss on every seed tried; the help says the
new default), and the help of ``characterize fidelity`` and ``sweep`` when write fidelity took the
chip options (``--chip``, ``--chip-set``, ramps defaulting to the preset's) and became sweepable
(``help/sweep_fidelity.txt`` is new); every run's golden came out unchanged. The help of
``bench`` and ``characterize switching`` was re-recorded when ``bench instruments`` was added
(``help/bench_instruments.txt`` is new) and ``--direction`` took ``p-ap`` and ``ap-p``, and
the help of ``runs show`` when it took ``--json`` (its default became a summary), and of
``characterize switching`` when its amplitude grids took the write ramps' START,STEP,STOP, and
of ``bench`` and ``bench check`` when ``bench example`` was added (``help/bench_example.txt``
is new) and ``bench check`` went on past an instrument it cannot reach, and of ``bench`` when
``bench serve`` was added (``help/bench_serve.txt`` is new, recorded alone with the command's
``--help``; nothing else re-recorded). Every help that runs something was re-recorded when
the runs took ``--log-level`` and a log file, ``mtjlab view`` was added (``help/view.txt`` is
new), and the write and fidelity goldens when they drew one figure more each
(``wrong_per_pass.png``, ``fidelity_by_write.png``); their numbers came out unchanged. The
help of ``runs`` when it took ``transcript`` (``help/runs_transcript.txt`` is new), and of
``bench`` when it took ``schema`` (``help/bench_schema.txt`` is new), and the top-level help
when ``mtjlab instruments`` was added (``help/instruments.txt`` is new), and of ``bench serve``
when it took ``--port``, and of ``characterize switching`` when the old START:STOP:STEP form
of its amplitudes was refused (its golden run now gives the same grids as START,STEP,STOP and
came out unchanged).

(run from the repository root; the script itself imports nothing of mtjlab, only runs the
executable it is given). Re-run it only when the command line is meant to change, and say so in the
commit.

What it writes, after emptying them:

``help/<name>.txt``
    ``mtjlab --help`` as ``help/mtjlab.txt`` and ``mtjlab <path> --help`` of every subcommand and
    nested subcommand as ``help/<path joined by _>.txt`` (``help/characterize_fidelity.txt``).
    The subcommands are found by walking the help texts from the top: the choices argparse lists
    under a subcommand metavar (COMMAND, WHAT, ACTION ...) in "positional arguments".
``summary/<name>.stdout.txt`` and ``summary/<name>.json``
    the stdout and the ``summary.json`` of each small run on the built-in simulated chip in RUNS
    (``sim read`` writes no summary.json, so it has a stdout golden only). Each run gets a fresh
    empty temporary folder as its working directory, ``--out`` and ``--store`` (``runs.db`` in
    it); a run that reads a pattern file reads a copy of ``pattern.csv`` put there. Exit status
    must be 0. Stderr (progress lines with elapsed times) is not recorded.

Environment: ``COLUMNS=100`` so argparse wraps help texts at the same width everywhere (it wraps
at the terminal's width otherwise), ``PYTHON_COLORS=0``/``NO_COLOR=1`` so no Python version
colours them, and ``PYTHONIOENCODING=utf-8``.

Normalization (``normalize``): the run's temporary folder, as given and as resolved, is replaced by
``<OUT>`` in stdout and in summary.json: figures, the store and the report are written there and
both print their absolute paths, which differ between machines and between runs. Nothing else is
normalized: every other byte was found identical from run to run (the chip, the patterns, the
training and the trial order are all seeded), and this script checks that again each time by
making every run twice and stopping if the two normalized outputs differ. summary.json is compared
as text, not as parsed JSON, so its key order, indentation and float formatting are pinned too.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

GOLDEN_DIR = Path(__file__).resolve().parent
HELP_DIR = GOLDEN_DIR / "help"
SUMMARY_DIR = GOLDEN_DIR / "summary"
PATTERN = GOLDEN_DIR / "pattern.csv"

#: What the run's temporary folder becomes in the goldens.
OUT = "<OUT>"

#: Set for every recorded command (and by the test, with monkeypatch).
ENV = {"COLUMNS": "100", "PYTHON_COLORS": "0", "NO_COLOR": "1", "PYTHONIOENCODING": "utf-8"}

_STORE = ["--out", "{out}", "--store", "{out}/runs.db"]

#: The recorded runs: name -> arguments, ``{out}`` standing for the run's temporary folder. Each
#: takes a few seconds at most.
RUNS: dict[str, list[str]] = {
    "sim_read": ["sim", "read", "--seed", "5", "--out", "{out}"],
    "read": ["read", "--array", "1", *_STORE],
    "write": ["write", "{out}/pattern.csv", "--array", "2", *_STORE],
    "characterize_fidelity": ["characterize", "fidelity", "--arrays", "1", "--patterns", "1"]
    + _STORE,
    "characterize_switching": [
        "characterize",
        "switching",
        "--trials",
        "10",
        "--p-to-ap-amplitudes",
        "0.40,0.02,0.56",
        "--ap-to-p-amplitudes",
        "0.28,0.02,0.40",
        *_STORE,
    ],
    "characterize_rv": ["characterize", "rv", *_STORE],
    "reproduce": ["reproduce", "--solutions", "2", "--workers", "1", *_STORE],
}

# In "positional arguments", argparse indents a subparsers metavar by 2 and its choices by 4; help
# text that does not fit beside a choice goes on the next lines, indented further.
_CHOICE = re.compile(r"^ {4}([A-Za-z][\w-]*)(?: {2,}|$)")


def help_name(path: list[str]) -> str:
    """The golden's name for ``mtjlab <path> --help``."""
    return "_".join(path) or "mtjlab"


def help_argv(name: str) -> list[str]:
    """The subcommand path of a help golden's name (no subcommand has an ``_`` in its name)."""
    return [] if name == "mtjlab" else name.split("_")


def subcommands(help_text: str) -> list[str]:
    """The subcommands a help text lists, in its order."""
    found: list[str] = []
    section = ""
    for line in help_text.splitlines():
        if line and not line.startswith(" "):
            section = line
            continue
        match = _CHOICE.match(line)
        if section == "positional arguments:" and match:
            found.append(match.group(1))
    return found


def prepare(name: str, out: Path) -> list[str]:
    """The arguments of run ``name`` in the empty folder ``out``, with its inputs put there."""
    template = RUNS[name]
    if any("{out}/pattern.csv" in arg for arg in template):
        shutil.copyfile(PATTERN, out / "pattern.csv")
    return [arg.replace("{out}", str(out)) for arg in template]


def normalize(text: str, out: Path) -> str:
    """``text`` with the run's folder ``out`` (as given and as resolved) written as ``<OUT>``."""
    for spelling in sorted({str(out), str(out.resolve())}, key=len, reverse=True):
        text = text.replace(spelling, OUT)
    return text


def _run(exe: str, argv: list[str], cwd: Path) -> str:
    proc = subprocess.run(
        [exe, *argv],
        cwd=cwd,
        env={**os.environ, **ENV},
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=False,
    )
    if proc.returncode != 0:
        sys.exit(f"mtjlab {' '.join(argv)}: exit status {proc.returncode}\n{proc.stderr}")
    return proc.stdout


def _record_run(exe: str, name: str) -> tuple[str, str | None]:
    """Normalized stdout and summary.json (None if none) of one run in a fresh folder."""
    with tempfile.TemporaryDirectory(prefix="mtjlab-golden-") as tmp:
        out = Path(tmp)
        stdout = _run(exe, prepare(name, out), cwd=out)
        summary = out / "summary.json"
        text = summary.read_text(encoding="utf-8") if summary.exists() else None
        return normalize(stdout, out), None if text is None else normalize(text, out)


def _write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path.relative_to(GOLDEN_DIR)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mtjlab", help="the mtjlab executable to record, such as a venv's")
    args = parser.parse_args(argv)
    exe = shutil.which(args.mtjlab)
    if exe is None:
        parser.error(f"{args.mtjlab}: not an executable")

    for folder in (HELP_DIR, SUMMARY_DIR):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()

    with tempfile.TemporaryDirectory(prefix="mtjlab-golden-") as tmp:
        todo: list[list[str]] = [[]]
        while todo:
            path = todo.pop(0)
            text = _run(exe, [*path, "--help"], cwd=Path(tmp))
            _write(HELP_DIR / f"{help_name(path)}.txt", text)
            todo.extend([*path, sub] for sub in subcommands(text))

    for name in RUNS:
        first = _record_run(exe, name)
        second = _record_run(exe, name)
        if first != second:
            diff = "".join(
                difflib.unified_diff(
                    "\n".join(t or "" for t in first).splitlines(keepends=True),
                    "\n".join(t or "" for t in second).splitlines(keepends=True),
                    "first run",
                    "second run",
                )
            )
            sys.exit(f"{name}: two runs differ after normalization; nothing to pin\n{diff}")
        stdout, summary = first
        _write(SUMMARY_DIR / f"{name}.stdout.txt", stdout)
        if summary is not None:
            _write(SUMMARY_DIR / f"{name}.json", summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
