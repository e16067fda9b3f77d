"""A JSON Schema of the bench file, for editors: with it a YAML editor (the YAML language server of
VS Code and others) completes keys, offers the models, terminals and options, and underlines a
typo as it is typed. ``mtjlab bench schema`` prints it.

It is made from the same tables the bench file's checker uses (kinds, models and each driver's
options, terminals, limits, timing, chip presets), so the two cannot drift apart. It says what a
key may hold; what depends on other keys (a terminal's instrument being one of the file's, a pad
on its matrix, limits within an emulated chip's) is left to the checker, which
``mtjlab bench check`` runs.
"""

from __future__ import annotations

from typing import Any

from mtjlab.bench.file import (
    KINDS,
    MAX_TIMEOUT_MS,
    MAX_TIMING_S,
    TIMING_DEFAULTS,
    driver_options,
)
from mtjlab.core.limits import LIMIT_NAMES
from mtjlab.core.wiring import TERMINAL_ROLES, TERMINALS
from mtjlab.instruments import DRIVERS
from mtjlab.instruments.registry import ROLES, role_of
from mtjlab.sim.chip import BUILT_IN_PRESET, PRESET_ALIASES, PRESETS

DIALECT = "https://json-schema.org/draft/2020-12/schema"

_POSITIVE = {"type": "number", "exclusiveMinimum": 0}
_NAME = {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"}


def _closed(properties: dict[str, Any], required: tuple[str, ...] = (), **more: Any) -> dict:
    return {
        "type": "object",
        "properties": properties,
        "required": list(required),
        "additionalProperties": False,
        **more,
    }


def _instrument() -> dict:
    by_model = []
    for model in sorted(DRIVERS):
        options = {name: {"type": ["number", "string"]} for name in driver_options(model)}
        if "timeout" in options:
            options["timeout"] = {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_TIMEOUT_MS,
                "description": "the VISA session's timeout, ms",
            }
        by_model.append(
            {
                "if": {"properties": {"model": {"const": model}}},
                "then": {"properties": {"options": _closed(options)}},
            }
        )
    models = sorted(DRIVERS)
    return _closed(
        {
            "model": {
                "enum": models,
                "description": "the driver: "
                + "; ".join(f"{m} ({ROLES[role_of(m)]})" for m in models),
            },
            "resource": {
                "type": "string",
                "minLength": 1,
                "description": "a VISA resource (TCPIP0::host::port::SOCKET, GPIB0::24::INSTR, "
                "...), a serial port or URL for the serial matrix, emulated://NAME on an "
                "emulated bench",
            },
            "options": {"type": "object"},
        },
        ("model", "resource"),
        allOf=by_model,
    )


def _terminal(name: str) -> dict:
    properties: dict[str, Any] = {
        "matrix_row": {"type": "string", "description": "the matrix row it enters on"}
    }
    required: tuple[str, ...] = ("matrix_row",)
    if name in TERMINAL_ROLES:
        properties["instrument"] = {
            "type": "string",
            "description": f"the {TERMINAL_ROLES[name]} of the file that it is",
        }
        required = ("instrument", "matrix_row")
    return _closed(properties, required, description=TERMINALS[name])


def _envelope() -> dict:
    row = {
        "type": "array",
        "prefixItems": [_POSITIVE, _POSITIVE, _POSITIVE],
        "minItems": 3,
        "maxItems": 3,
        "description": "[width_s, positive_v, negative_v]: up to this pulse width, the most a "
        "write may put on a device it does not select, each polarity as a magnitude",
    }
    return {"type": "array", "items": row, "minItems": 1, "maxItems": 100}


def bench_schema() -> dict:
    """The JSON Schema (draft 2020-12) of a bench file, as a dict ready for ``json.dumps``."""
    pads = {"type": "array", "items": {"type": "string"}, "minItems": 1}
    presets = sorted({*PRESETS, *PRESET_ALIASES})
    timing = {
        name: {"type": "number", "minimum": 0, "maximum": MAX_TIMING_S, "default": default}
        for name, default in TIMING_DEFAULTS.items()
        if name.endswith("_s")
    }
    timing["line_frequency_hz"] = {"enum": [50, 60], "default": 50}
    return {
        "$schema": DIALECT,
        "title": "mtjlab bench file",
        "description": "A bench's instruments, how they reach the arrays through the switch "
        "matrix, its safety limits and, for an emulated bench, the simulated chip behind it "
        "(docs/bench.md).",
        **_closed(
            {
                "version": {"const": 1},
                "name": {"type": "string"},
                "kind": {"enum": list(KINDS)},
                "chip": _closed(
                    {
                        "seed": {"type": "integer", "minimum": 0},
                        "preset": {"enum": presets, "default": BUILT_IN_PRESET},
                        "changes": {"type": "object"},
                    },
                    ("seed",),
                    description="the simulated chip of an emulated bench",
                ),
                "instruments": {
                    "type": "object",
                    "minProperties": 1,
                    "propertyNames": _NAME,
                    "additionalProperties": _instrument(),
                },
                "terminals": _closed(
                    {name: _terminal(name) for name in TERMINALS}, minProperties=1
                ),
                "arrays": {
                    "type": "object",
                    "minProperties": 1,
                    "propertyNames": {"pattern": "^[0-9]+$"},
                    "additionalProperties": _closed({"rows": pads, "cols": pads}, ("rows", "cols")),
                },
                "limits": _closed(
                    {name: _POSITIVE for name in LIMIT_NAMES} | {"max_unselected_v": _envelope()},
                    (*LIMIT_NAMES, "max_unselected_v"),
                ),
                "timing": _closed(timing),
                "tsp_link": _closed(
                    {"matrix_node": {"type": "integer", "minimum": 1, "maximum": 64}},
                    ("matrix_node",),
                ),
            },
            ("kind", "instruments", "terminals", "arrays"),
            allOf=[
                {
                    "if": {"properties": {"kind": {"const": "real"}}},
                    "then": {"required": ["limits"], "not": {"required": ["chip"]}},
                },
                {
                    "if": {"properties": {"kind": {"const": "emulated"}}},
                    "then": {"required": ["chip"]},
                },
            ],
        ),
    }
