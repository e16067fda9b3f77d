"""The bench file's JSON Schema (`mtjlab bench schema`): a valid draft 2020-12 schema that takes
every example bench file and the files `bench serve` writes, and refuses the mistakes the checker
refuses that lie within one key."""

from __future__ import annotations

import contextlib
import copy
import io
import json

import jsonschema
import pytest
import yaml

from mtjlab.bench.file import BenchFileError, builtin_bench_path, parse_bench
from mtjlab.bench.schema import bench_schema
from mtjlab.cli.app import main

EXAMPLES = [
    "examples/emulated-bench.yaml",
    "examples/real-bench.yaml",
    "mtjlab/bench/benches/real.yaml",
    str(builtin_bench_path()),
]


def _as_json(data: object) -> object:
    """As an editor's YAML server sees the file: JSON values, keys as text."""
    return json.loads(json.dumps(data))


@pytest.fixture(scope="module")
def validator():
    schema = bench_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _load(path: str) -> dict:
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


@pytest.mark.parametrize("path", EXAMPLES)
def test_every_example_bench_file_is_valid(validator, path):
    assert list(validator.iter_errors(_as_json(_load(path)))) == []


def _emulated() -> dict:
    return _load("examples/emulated-bench.yaml")


def _real() -> dict:
    return _load("examples/real-bench.yaml")


MISTAKES = {
    "a typo in a top-level key": lambda d: d.update(terminal=d.pop("terminals")),
    "an unknown kind": lambda d: d.update(kind="simulated"),
    "an unknown model": lambda d: d["instruments"]["matrix"].update(model="keithley7001"),
    "an option the model does not take": lambda d: d["instruments"]["smu_a"]["options"].update(
        chanel="a"
    ),
    "a timeout of no whole ms": lambda d: d["instruments"]["smu_a"]["options"].update(timeout=0.5),
    "an unknown terminal": lambda d: d["terminals"].update(gnd={"matrix_row": "G"}),
    "a source terminal without its instrument": lambda d: d["terminals"]["pulse"].pop("instrument"),
    "an array without its columns": lambda d: d["arrays"][1].pop("cols"),
    "a line frequency of neither 50 nor 60": lambda d: d.update(timing={"line_frequency_hz": 55}),
    "an emulated bench without its chip": lambda d: d.pop("chip"),
    "a chip preset there is not": lambda d: d["chip"].update(preset="gentle"),
    "a TSP-Link node past 64": lambda d: d.update(tsp_link={"matrix_node": 65}),
}


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_a_mistake_the_checker_refuses_the_schema_refuses_too(validator, mistake):
    data = copy.deepcopy(_emulated())
    MISTAKES[mistake](data)
    with pytest.raises(BenchFileError):
        parse_bench(data, "bench.yaml")
    assert list(validator.iter_errors(_as_json(data))), mistake


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.pop("limits"),
        lambda d: d.update(chip={"seed": 0}),
        lambda d: d["limits"].update(max_unselected_v=[[1e-7, 0.3]]),
        lambda d: d["limits"].update(max_read_v=-0.1),
    ],
)
def test_a_real_bench_states_its_limits_and_has_no_chip(validator, change):
    data = copy.deepcopy(_real())
    change(data)
    with pytest.raises(BenchFileError):
        parse_bench(data, "bench.yaml")
    assert list(validator.iter_errors(_as_json(data)))


def test_the_command_prints_it_and_writes_it(tmp_path):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["bench", "schema"]) == 0
    assert json.loads(out.getvalue()) == bench_schema()
    path = tmp_path / "bench.schema.json"
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["bench", "schema", "--out", str(path)]) == 0
    assert json.loads(path.read_text()) == bench_schema()
