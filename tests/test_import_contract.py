"""The import contracts of pyproject.toml (docs/layers.md) catch an import that breaks the layers.

Each test copies the package and pyproject.toml to a temporary directory, changes the copy, and
runs ``lint-imports`` on it in a subprocess, with the copy first on the path. Import Linter reads
the source statically: nothing planted is ever executed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("importlinter", reason="import-linter is installed by the test extra")

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[1]
#: The ``lint-imports`` script, run by this interpreter (the command exits with the result).
LINT_IMPORTS = "from importlinter.cli import lint_imports_command; lint_imports_command()"


def _contract_names() -> dict[str, str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return {c["id"]: c["name"] for c in config["tool"]["importlinter"]["contracts"]}


CONTRACTS = _contract_names()


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """A copy of the package and its pyproject.toml, without caches."""
    shutil.copytree(
        ROOT / "mtjlab", tmp_path / "mtjlab", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy2(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def lint_imports(directory: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(directory), COLUMNS="250", NO_COLOR="1")
    return subprocess.run(
        [sys.executable, "-c", LINT_IMPORTS, "--no-cache"],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def plant(copy: Path, module: str, statement: str) -> None:
    path = copy / (module.replace(".", "/") + ".py")
    path.write_text(path.read_text(encoding="utf-8") + f"\n{statement}\n", encoding="utf-8")


def broken(output: str) -> set[str]:
    """The names of the contracts the report says are broken."""
    return {name for name in CONTRACTS.values() if f"{name} BROKEN" in output}


def test_an_upward_import_breaks_the_layers(copy: Path) -> None:
    plant(copy, "mtjlab.core.limits", "import mtjlab.runs.engine")
    result = lint_imports(copy)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert CONTRACTS["layers"] in broken(output), output
    assert "mtjlab.core is not allowed to import mtjlab.runs" in output, output
    assert "mtjlab.core.limits -> mtjlab.runs.engine" in output, output


def test_a_protocol_importing_an_emulator_breaks_both_forbidden_contracts(copy: Path) -> None:
    plant(copy, "mtjlab.protocols.readout", "import mtjlab.sim.emulators.base")
    result = lint_imports(copy)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert {CONTRACTS["emulators"], CONTRACTS["protocols"]} <= broken(output), output
    assert "mtjlab.protocols.readout -> mtjlab.sim.emulators.base" in output, output


def test_the_package_keeps_every_contract(copy: Path) -> None:
    result = lint_imports(copy)
    output = result.stdout + result.stderr
    assert broken(output) == set(), output
    assert result.returncode == 0, output
