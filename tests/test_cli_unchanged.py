"""The command line is what the goldens say: every --help text, and the stdout and summary.json of
a few small simulated runs, equal the goldens in tests/golden/ that tests/golden/make_golden.py
recorded from commit 0a933d7 and re-recorded once on purpose for the disturb envelope (its
docstring: how, when, and what is normalized). The current code runs in-process, the same way
and normalized the same way."""

from __future__ import annotations

import difflib
import importlib.util
from pathlib import Path

import pytest

from mtjlab.cli.app import main

GOLDEN_DIR = Path(__file__).resolve().parent / "golden"

_spec = importlib.util.spec_from_file_location("make_golden", GOLDEN_DIR / "make_golden.py")
assert _spec is not None and _spec.loader is not None
golden = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(golden)

HELP_NAMES = sorted(path.stem for path in golden.HELP_DIR.glob("*.txt"))


@pytest.fixture(autouse=True)
def _recording_environment(monkeypatch):
    """The environment the goldens were recorded in (COLUMNS=100 for argparse's wrapping)."""
    for key, value in golden.ENV.items():
        monkeypatch.setenv(key, value)


def _assert_same(golden_file: Path, actual: str) -> None:
    expected = golden_file.read_text(encoding="utf-8")
    if actual == expected:
        return
    diff = "".join(
        difflib.unified_diff(
            expected.splitlines(keepends=True),
            actual.splitlines(keepends=True),
            f"{golden_file.relative_to(GOLDEN_DIR.parent)} (golden)",
            "current code",
        )
    )
    pytest.fail(f"output differs from {golden_file.name}:\n{diff}", pytrace=False)


def test_the_goldens_are_all_there():
    assert "mtjlab" in HELP_NAMES and len(HELP_NAMES) > 10
    recorded = {path.name.removesuffix(".stdout.txt") for path in golden.SUMMARY_DIR.iterdir()}
    recorded = {name.removesuffix(".json") for name in recorded}
    assert recorded == set(golden.RUNS), "re-run tests/golden/make_golden.py (see its docstring)"


def test_the_help_texts_list_the_same_subcommands(capsys):
    """Walked from the top as make_golden.py walks them: no subcommand added or gone."""
    found, todo = [], [[]]
    while todo:
        path = todo.pop(0)
        with pytest.raises(SystemExit):
            main([*path, "--help"])
        found.append(golden.help_name(path))
        todo.extend([*path, sub] for sub in golden.subcommands(capsys.readouterr().out))
    assert sorted(found) == HELP_NAMES


@pytest.mark.parametrize("name", HELP_NAMES)
def test_help_is_unchanged(name, capsys):
    with pytest.raises(SystemExit) as exc:
        main([*golden.help_argv(name), "--help"])
    assert exc.value.code == 0
    _assert_same(golden.HELP_DIR / f"{name}.txt", capsys.readouterr().out)


@pytest.mark.parametrize("name", list(golden.RUNS))
def test_run_output_is_unchanged(name, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(golden.prepare(name, tmp_path)) == 0
    stdout = golden.normalize(capsys.readouterr().out, tmp_path)
    _assert_same(golden.SUMMARY_DIR / f"{name}.stdout.txt", stdout)
    summary = tmp_path / "summary.json"
    summary_golden = golden.SUMMARY_DIR / f"{name}.json"
    assert summary.exists() == summary_golden.exists()
    if summary_golden.exists():
        text = summary.read_text(encoding="utf-8")
        _assert_same(summary_golden, golden.normalize(text, tmp_path))
