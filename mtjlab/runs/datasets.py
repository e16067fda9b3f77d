"""Labelled datasets of stored runs: each run kind's results and records as an xarray.Dataset.

Owns each kind's layout (dimensions, variables, units, attributes); its NetCDF3 file form is
``mtjlab.runs.netcdf``'s.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any, Protocol

import numpy as np
import xarray as xr

from mtjlab.analysis.metrics import METRIC_KEYS
from mtjlab.core.states import NAMES
from mtjlab.protocols.write import KEEP
from mtjlab.runs.info import RunInfo

#: Code (or count) of a cell for which the store holds no record: not written, or unfinished.
NO_RECORD = -1
#: Parameters (and members of a parameter dict, such as a bench file's text) whose JSON is longer
#: than this are left out of the attributes: networks, targets, patterns are variables or too big.
MAX_PARAMETER_CHARS = 500

_CODES = {name: code for code, name in NAMES.items()}
_GRID = ("row", "column")
#: The integers NetCDF3 keeps (attributes here, variables in mtjlab.runs.netcdf).
INT32 = np.iinfo(np.int32)
_UNITS = {"_ohm": "ohm", "_v": "V", "_s": "s", "_a": "A"}
#: Times in memory: the resolution xarray decodes a file's times to, so a file reads back equal.
TIME_DTYPE = "datetime64[ns]"
_NAT = np.datetime64("NaT", "ns")


def _flags(meanings: dict[int, str]) -> dict[str, Any]:
    """Attributes of a variable of codes (given in increasing order): units "1", CF flags."""
    codes = np.array(list(meanings), np.int8)
    return {"units": "1", "flag_values": codes, "flag_meanings": " ".join(meanings.values())}


_STATE = _flags(NAMES)
_STATE_OR_NONE = _flags({NO_RECORD: "not_recorded", **NAMES})
_TARGET = _flags({KEEP: "keep", 0: NAMES[0], 1: NAMES[1]})


def _units(key: str) -> str:
    """Units a key's suffix names (``_ohm``, ``_v``, ``_s``, ``_a``); "1" otherwise."""
    return next((u for suffix, u in _UNITS.items() if key.endswith(suffix)), "1")


def _v(dims: str | tuple, data: Any, units: str, name: str = "", **attrs: Any) -> tuple:
    """A variable as ``(dims, data, attrs)`` with its units and long name (if any); text goes
    in as object arrays of str, the form NetCDF reads give back."""
    return (dims, data, {"units": units, **({"long_name": name} if name else {}), **attrs})


def _time(text: str | None) -> np.datetime64:
    """A store time (ISO 8601 with its UTC offset) as a naive UTC datetime64; NaT for None."""
    if text is None:
        return _NAT
    when = datetime.fromisoformat(text).astimezone(timezone.utc).replace(tzinfo=None)
    return np.datetime64(when, "ns")


def _tv(dims: str | tuple, data: Any, name: str) -> tuple:
    """A time variable: datetime64, UTC, NaT where unknown; ``units`` says the time scale (UTC).
    In a file the units become xarray's encoding (``milliseconds since ...``, see
    :func:`mtjlab.runs.netcdf.netcdf3_compatible`), which refuses a time variable with units of
    its own."""
    attrs = {"long_name": f"{name} (UTC)", "units": "UTC", "comment": "NaT: no time stored"}
    return (dims, np.asarray(data, TIME_DTYPE), attrs)


def _record_times(shape: tuple[int, ...], entries: Mapping[tuple, str | None]) -> np.ndarray:
    """Times from ``{index: store time}``, NaT where there is none."""
    out = np.full(shape, _NAT)
    for index, text in entries.items():
        out[index] = _time(text)
    return out


def _coords(**dims: tuple[Any, str]) -> dict[str, tuple]:
    """Dimension coordinates, each ``name=(values, long_name)``, all dimensionless."""
    return {k: _v(k, np.asarray(v), "1", name) for k, (v, name) in dims.items()}


def _grid(shape: tuple[int, ...]) -> dict[str, tuple]:
    return _coords(row=(range(shape[-2]), "row"), column=(range(shape[-1]), "column"))


def _cells(cells: list[tuple]) -> dict[str, tuple]:
    """The ``cell`` coordinate ("row,col" text) with ``row`` and ``column`` along it."""
    coords = _coords(cell=(np.array([f"{r},{c}" for r, c in cells], object), "cell as row,column"))
    rows, cols = (np.array([c[k] for c in cells], np.int64) for k in (0, 1))
    return coords | {"row": _v("cell", rows, "1", "row"), "column": _v("cell", cols, "1", "column")}


def _fill(shape: tuple[int, ...], entries: dict[tuple, Any]) -> np.ndarray:
    """An array from ``{index: value}``: int if every entry is there and an int, else float
    with NaN where an entry is missing or None."""
    values = list(entries.values())
    full = len(values) == int(np.prod(shape)) and all(type(v) is int for v in values)
    out = np.zeros(shape, np.int64) if full else np.full(shape, np.nan)
    for index, value in entries.items():
        out[index] = np.nan if value is None else value
    return out


def _attr(value: Any) -> Any:
    """An attribute as NetCDF3 keeps it: str, int32, float, a 1-D numeric array (one element: a
    scalar, as reading gives it back); anything else, and wider ints, as JSON text."""

    def number(v: Any) -> bool:
        return type(v) is float or (type(v) is int and INT32.min <= v <= INT32.max)

    if type(value) is list and len(value) == 1 and number(value[0]):
        value = value[0]
    if type(value) is str or number(value):
        return value
    if type(value) is list and value and all(number(v) for v in value):
        return np.array(value)
    return json.dumps(value)


def _type(record: dict) -> str | None:
    """What a record is ("pulse", "cell", "trial", ...): its ``record`` key; stores written
    before mtjlab 0.1.0's layers work named it ``kind`` in switching and R-V records."""
    return record.get("record", record.get("kind"))


def _attrs(info: RunInfo) -> dict[str, Any]:
    """The run's small parameters, then what the store knows of the run."""

    def small(value: Any) -> bool:
        return len(json.dumps(value)) <= MAX_PARAMETER_CHARS

    attrs, omitted = {}, []
    for key, value in info.parameters.items():
        if isinstance(value, dict):
            omitted += [f"{key}.{k}" for k, v in value.items() if not small(v)]
            value = {k: v for k, v in value.items() if small(v)}
        if small(value):
            attrs[key] = _attr(value)
        else:
            omitted.append(key)
    attrs |= {"run": info.id, "kind": info.kind, "status": info.status}
    attrs |= {"mtjlab_version": info.version, "started": info.started}
    if info.ended is not None:  # "ended" of a run that failed or was interrupted
        attrs["finished" if info.status == "finished" else "ended"] = info.ended
    attrs |= {} if info.seed is None else {"seed": _attr(info.seed)}
    return attrs | ({"omitted_parameters": " ".join(omitted)} if omitted else {})


def _cell_records(records: list[dict], shape: tuple, lead: dict[str, list]) -> dict:
    """Write-verify's cell records over (*lead, row, column): final state and resistance,
    attempts, why given up; ``lead`` maps record keys to their coordinate values."""
    state, attempts = np.full(shape, NO_RECORD, np.int8), np.full(shape, NO_RECORD, np.int32)
    resistance, reason = np.full(shape, np.nan), np.full(shape, "", object)
    time = np.full(shape, _NAT)
    for r in (r for r in records if _type(r) == "cell"):
        i = (*(values.index(r[key]) for key, values in lead.items()), r["row"], r["col"])
        state[i], resistance[i] = _CODES[r["final"]], r["resistance_ohm"]
        attempts[i], reason[i], time[i] = r["attempts"], r["given_up"], _time(r.get("time"))
    dims = (*lead, *_GRID)
    return {
        "state": (dims, state, _STATE_OR_NONE | {"long_name": "state at the final verify read"}),
        "resistance_ohm": _v(dims, resistance, "ohm", "resistance at the final verify read"),
        "attempts": _v(dims, attempts, "1", "pulses the cell got"),
        "given_up_reason": _v(dims, reason, "1", "why the cell was given up, empty if not"),
        "time": _tv(dims, time, "when the cell's record was committed"),
    }


#: Figures of a write-verify, by their key in a unit result (and in summary.json).
_WRITE_KEYS = ("fidelity", "pulses", "passes", "given_up", "disturbed", "errors_p_to_ap")
_WRITE_KEYS += ("errors_ap_to_p", "threshold_ohm", "n_target_ap", "n_target_p")


def read_dataset(
    info: RunInfo,
    results: dict[str, dict],
    records: list[dict],
    finished: dict[str, str] | None = None,
) -> xr.Dataset:
    """A ``read`` run: resistance and state of each cell over (row, column), the threshold,
    and when each cell's reading was committed (``time``, NaT if its record has none)."""
    (result,) = results.values()
    r = np.array(result["resistance_ohm"], dtype=float)
    times = {(c["row"], c["col"]): c.get("time") for c in records}  # one record per cell
    variables = {
        "resistance_ohm": _v(_GRID, r, "ohm", "resistance read at the cell"),
        "state": (_GRID, np.array(result["states"], np.int8), _STATE | {"long_name": "state"}),
        "threshold_ohm": _v((), result["threshold_ohm"], "ohm", "P/AP threshold"),
        "time": _tv(_GRID, _record_times(r.shape, times), "when the reading was committed"),
    }
    return xr.Dataset(variables, _grid(r.shape))


def write_dataset(
    info: RunInfo,
    results: dict[str, dict],
    records: list[dict],
    finished: dict[str, str] | None = None,
) -> xr.Dataset:
    """A ``write`` run: target, final state, resistance, attempts per cell and when its record
    was committed (``time``); the write's figures and the wrong cells per verify read
    (dimension ``verify``). Without a result (a write being measured, its records in flight):
    what its pulse records say so far (:func:`_write_in_flight`)."""
    target = np.array(info.parameters["target"], np.int8)
    if not results:
        return _write_in_flight(target, records)
    (result,) = results.values()
    r = np.array(result["resistance_ohm"], float)
    variables = {
        "target": (_GRID, target, _TARGET | {"long_name": "pattern to write"}),
        "state": (_GRID, np.array(result["states"], np.int8), _STATE | {"long_name": "state"}),
        "resistance_ohm": _v(_GRID, r, "ohm", "resistance at the final verify read"),
    }
    cells = _cell_records(records, target.shape, {})
    variables |= {k: cells[k] for k in ("attempts", "given_up_reason", "time")}
    variables |= {k: _v((), result[k], _units(k)) for k in _WRITE_KEYS if k in result}
    history = np.array(result["wrong_per_pass"], np.int64)
    variables["wrong_per_pass"] = _v("verify", history, "1", "cells read wrong at each verify")
    verify = _coords(verify=(range(history.size), "verify read (0: before the first pulse)"))
    return xr.Dataset(variables, _grid(target.shape) | verify)


def _write_in_flight(target: np.ndarray, records: list[dict]) -> xr.Dataset:
    """A write not finished, from its pulse records: the pulses each cell has had, and the cells
    pulsed in each pass so far (those read wrong at the verify before it and not given up)."""
    attempts = np.zeros(target.shape, np.int32)
    pulsed: dict[int, set] = {}
    pulses = [r for r in records if _type(r) == "pulse"]
    for r in pulses:
        attempts[r["row"], r["col"]] = max(attempts[r["row"], r["col"]], r["attempt"])
        pulsed.setdefault(r["pass"], set()).add((r["row"], r["col"]))
    per_pass = np.array([len(pulsed.get(p, ())) for p in range(1, max(pulsed, default=0) + 1)])
    variables = {
        "target": (_GRID, target, _TARGET | {"long_name": "pattern to write"}),
        "attempts": _v(_GRID, attempts, "1", "pulses the cell has had so far"),
        "pulses": _v((), len(pulses), "1", "pulses so far"),
        "pulsed_per_pass": _v("pass", per_pass.astype(np.int64), "1", "cells pulsed in each pass"),
    }
    passes = _coords(**{"pass": (range(1, per_pass.size + 1), "write-verify pass")})
    return xr.Dataset(variables, _grid(target.shape) | passes)


def fidelity_dataset(
    info: RunInfo,
    results: dict[str, dict],
    records: list[dict],
    finished: dict[str, str] | None = None,
) -> xr.Dataset:
    """A ``fidelity`` run: each (pattern, array) write's figures and when it finished (NaN,
    NaT if not finished), and per cell the target, the final state and resistance, attempts,
    whether it ended wrong, and when its record was committed."""
    p, arrays = info.parameters, list(info.parameters["arrays"])
    target = np.array([q["cells"] for q in p["patterns"]], np.int8)
    n = target.shape[0]
    at_write = {u: (w["pattern"], arrays.index(w["array"])) for u, w in results.items()}
    writes = {at_write[u]: w for u, w in results.items()}
    dims, cell_dims = ("pattern", "array"), ("pattern", "array", *_GRID)
    variables = {"target": (("pattern", *_GRID), target, _TARGET | {"long_name": "pattern"})}
    for key in _WRITE_KEYS:
        entries = {i: w[key] for i, w in writes.items() if key in w}
        variables[key] = _v(dims, _fill((n, len(arrays)), entries), _units(key))
    done = {at_write[u]: t for u, t in (finished or {}).items() if u in at_write}
    variables["finished"] = _tv(dims, _record_times((n, len(arrays)), done), "write finished")
    wrong = np.zeros((n, len(arrays), *target.shape[1:]), bool)
    at = np.array([(*i, *rc) for i, w in writes.items() for rc in w["wrong_cells"]], int)
    wrong[tuple(at.reshape(-1, wrong.ndim).T)] = True
    variables["wrong"] = _v(cell_dims, wrong, "1", "not in its target state after the write")
    variables |= _cell_records(records, wrong.shape, {"pattern": list(range(n)), "array": arrays})
    coords = _coords(pattern=(range(n), "pattern"), array=(arrays, "array"))
    names = np.array([q["name"] for q in p["patterns"]], object)
    coords["pattern_name"] = _v("pattern", names, "1", "pattern name")
    return xr.Dataset(variables, coords | _grid(target.shape))


#: Figures of a switching curve's Neel-Brown fit (vc0_v: critical voltage, delta: thermal
#: stability factor, each with its 1-sigma error; tau0_s and barrier_exponent: held fixed).
_FIT_KEYS = ("vc0_v", "vc0_err_v", "delta", "delta_err", "tau0_s", "barrier_exponent")


def switching_dataset(
    info: RunInfo,
    results: dict[str, dict],
    records: list[dict],
    finished: dict[str, str] | None = None,
) -> xr.Dataset:
    """A ``switching`` run: counts and probability per (cell, direction, width, amplitude), the
    fit per (cell, direction), NaN if none, and when each curve finished (``finished_time``,
    NaT if not: ``finished`` says whether it did). ``amplitude`` is an index: ``amplitude_v``
    over (direction, amplitude) is NaN past a direction's last amplitude (``n_trials`` 0)."""
    p = info.parameters
    cells, directions = [tuple(c) for c in p["cells"]], list(p["directions"])
    widths = np.array(p["widths_s"], dtype=float)
    n_amp = max(len(p["amplitudes_v"][d]) for d in directions)
    amplitudes = np.full((len(directions), n_amp), np.nan)
    for j, d in enumerate(directions):
        amplitudes[j, : len(p["amplitudes_v"][d])] = p["amplitudes_v"][d]
    curve = (len(cells), len(directions))
    counts = np.zeros((3, *curve, widths.size, n_amp), np.int64)  # switched, counted, failed
    fits = {k: np.full(curve, np.nan) for k in _FIT_KEYS}
    flags = np.zeros((3, *curve), bool)  # finished, switchable, fit converged
    reason, fit_error = np.full(curve, "", object), np.full(curve, "", object)
    done = np.full(curve, _NAT)
    for unit, res in results.items():
        i, j = cells.index((res["row"], res["col"])), directions.index(res["direction"])
        done[i, j] = _time((finished or {}).get(unit))
        for k, key in enumerate(("n_switched", "n_trials")):
            got = np.array(res[key], np.int64)
            counts[k, i, j, :, : got.shape[1]] = got
        for key in _FIT_KEYS:
            fits[key][i, j] = res.get(key, np.nan)
        flags[:, i, j] = True, res["switchable"], res.get("fit_converged", False)
        reason[i, j], fit_error[i, j] = res["reason"], res.get("fit_error", "")
    for r in (r for r in records if _type(r) == "trial"):
        counted = r["reset_ok"]
        if counted and r.get("unit") in results:
            continue  # a finished curve's counts are its result's
        i, j = cells.index((r["row"], r["col"])), directions.index(r["direction"])
        w = int(np.argmin(np.abs(widths - r["width_s"])))
        a = int(np.nanargmin(np.abs(amplitudes[j] - r["amplitude_v"])))
        if counted:  # a trial of a curve still being measured (records in flight)
            counts[0, i, j, w, a] += bool(r["switched"])
            counts[1, i, j, w, a] += 1
        else:
            counts[2, i, j, w, a] += 1
    with np.errstate(invalid="ignore", divide="ignore"):
        probability = np.where(counts[1] > 0, counts[0] / counts[1], np.nan)
    points, per_curve = ("cell", "direction", "width", "amplitude"), ("cell", "direction")
    variables = {
        "n_switched": _v(points, counts[0], "1", "trials that switched"),
        "n_trials": _v(points, counts[1], "1", "trials counted (their reset succeeded)"),
        "n_reset_failed": _v(points, counts[2], "1", "trials whose reset failed"),
        "probability": _v(points, probability, "1", "switching probability, NaN if no trial"),
        "finished": _v(per_curve, flags[0], "1", "curve measured to the end"),
        "switchable": _v(per_curve, flags[1], "1", "cell showed two states"),
        "reason": _v(per_curve, reason, "1", "why not switchable, empty if it was"),
        "fit_converged": _v(per_curve, flags[2], "1", "fit converged (false: no fit)"),
        "fit_error": _v(per_curve, fit_error, "1", "why there is no fit, empty if there is"),
        "finished_time": _tv(per_curve, done, "curve finished"),
    }
    variables |= {k: _v(per_curve, fits[k], _units(k)) for k in _FIT_KEYS}
    coords = _cells(cells) | _coords(
        direction=(np.array(directions, object), "switching direction"),
        amplitude=(range(n_amp), "amplitude index"),
    )
    coords["width"] = _v("width", widths, "s", "pulse width")
    coords["amplitude_v"] = _v(("direction", "amplitude"), amplitudes, "V", "pulse amplitude")
    return xr.Dataset(variables, coords)


def rv_dataset(
    info: RunInfo,
    results: dict[str, dict],
    records: list[dict],
    finished: dict[str, str] | None = None,
) -> xr.Dataset:
    """An ``rv`` run: amplitude, resistance, cycle and commit time per (cell, step), step 0 the
    read before the first pulse; the mean switching voltages per cell (NaN if the loop showed
    none)."""
    cells = [tuple(c) for c in info.parameters["cells"]]
    shape = (len(cells), max((r["step"] for r in records), default=-1) + 1)
    amplitude, resistance = np.full(shape, np.nan), np.full(shape, np.nan)
    cycle, time = np.full(shape, NO_RECORD, np.int32), np.full(shape, _NAT)
    for r in records:
        i = (cells.index((r["row"], r["col"])), r["step"])
        amplitude[i], resistance[i], cycle[i] = r["amplitude_v"], r["resistance_ohm"], r["cycle"]
        time[i] = _time(r.get("time"))
    keys = {"v_switch_p_to_ap_v": "P->AP", "v_switch_ap_to_p_v": "AP->P"}
    loops = {(res["row"], res["col"]): res for res in results.values()}
    switch = {k: np.array([loops.get(c, {}).get(k) for c in cells], float) for k in keys}
    dims = ("cell", "step")
    variables = {
        "amplitude_v": _v(dims, amplitude, "V", "signed amplitude of the pulse before the read"),
        "resistance_ohm": _v(dims, resistance, "ohm", "resistance read after the pulse"),
        "cycle": _v(dims, cycle, "1", "loop", comment=f"{NO_RECORD}: no record"),
        "time": _tv(dims, time, "when the read was committed"),
    }
    variables |= {k: _v("cell", switch[k], "V", f"mean {d} switching") for k, d in keys.items()}
    steps = _coords(step=(range(shape[1]), "step (0: the read before the first pulse)"))
    return xr.Dataset(variables, _cells(cells) | steps)


#: Per-solution scores of a reproduce run, by their key in a unit result (accuracies are
#: fractions of the test split, software's also with the threshold retuning hardware gets;
#: fidelities of the weight devices and of the weights read back; the metrics that predict the
#: accuracy drop, analysis.metrics, when the run computed them).
_SOLUTION_KEYS: tuple[str, ...] = ("software_accuracy", "software_retuned_accuracy")
_SOLUTION_KEYS += ("untuned_accuracy", "gain_offset_accuracy")
_SOLUTION_KEYS += ("tuned_accuracy", "device_fidelity", "weight_fidelity", "output_device_fidelity")
_SOLUTION_KEYS += ("output_weight_fidelity", "pulses", "given_up", *METRIC_KEYS)


def reproduce_dataset(
    info: RunInfo,
    results: dict[str, dict],
    records: list[dict],
    finished: dict[str, str] | None = None,
) -> xr.Dataset:
    """A ``reproduce`` run: each finished solution's scores, confusion matrix and written
    array (and output array, with the output layer on one) over ``solution``, with the time
    each solution finished as the coordinate ``finished``."""
    order = sorted(results, key=lambda u: results[u]["solution"])
    res = [results[u] for u in order]
    dims, grid = ("solution",), ("solution", *_GRID)
    scores = [k for k in _SOLUTION_KEYS if all(k in r for r in res)]
    variables = {k: _v(dims, np.array([r[k] for r in res]), _units(k)) for k in scores}
    output = {"output_": [r["output_layer"] for r in res]} if "output_layer" in res[0] else {}
    for prefix, layer in ({"": res} | output).items():
        whose = "output layer's" if prefix else "hidden layer's"
        states = np.array([q["states"] for q in layer], np.int8)
        at = np.array([(k, r, c) for k, q in enumerate(layer) for r, c, _ in q["bad_cells"]], int)
        bad = np.zeros(states.shape, bool)
        bad[tuple(at.reshape(-1, 3).T)] = True
        target = np.array([q["target"] for q in layer], np.int8)
        variables[f"{prefix}state"] = (grid, states, _STATE | {"long_name": f"{whose} states"})
        variables[f"{prefix}target"] = (grid, target, _TARGET | {"long_name": f"{whose} target"})
        variables[f"{prefix}bad_cell"] = _v(grid, bad, "1", f"{whose} known defects")
        threshold = np.array([q["threshold_ohm"] for q in layer], float)
        variables[f"{prefix}threshold_ohm"] = _v(dims, threshold, "ohm", f"{whose} P/AP threshold")
    confusion = np.array([r["confusion_tuned"] for r in res], np.int64)
    classes = ("solution", "true_class", "predicted_class")
    variables["confusion_tuned"] = _v(classes, confusion, "1", "test samples, tuned hardware")
    coords = _coords(
        solution=([r["solution"] for r in res], "solution"),
        true_class=(range(confusion.shape[1]), "true class"),
        predicted_class=(range(confusion.shape[2]), "predicted class"),
    )
    for key in ("array", "output_array"):
        if all(key in r for r in res):
            coords[key] = _v(dims, np.array([r[key] for r in res], np.int64), "1", key)
    done = [_time((finished or {}).get(u)) for u in order]
    coords["finished"] = _tv(dims, done, "solution finished")
    return xr.Dataset(variables, coords | _grid(variables["state"][1].shape))


def sweep_dataset(
    info: RunInfo,
    results: dict[str, dict],
    records: list[dict],
    finished: dict[str, str] | None = None,
) -> xr.Dataset:
    """A ``sweep`` run: each point's figures (every number of its experiment's summary).

    A grid has one dimension per varied field and ``seed``, each with the field's values in
    the order given (a point not finished yet is NaN); a sample has the dimension ``point``, with
    each field and the seed as coordinates along it."""
    p = info.parameters
    fields = [*p["varied"], "seed"]
    points = p["points"]
    done = [results[u] for u in sorted(results, key=lambda u: results[u]["point"])]
    names = sorted(
        {k for r in done for k, v in r.items() if isinstance(v, (int, float))} - {"point", *fields}
    )
    values = {
        f: [(pt["chip"] | pt["options"] | {"seed": pt["seed"]})[f] for pt in points] for f in fields
    }
    by_index = {r["point"]: r for r in done}
    if p["sampled"]:
        dims: tuple[str, ...] = ("point",)
        shape: tuple[int, ...] = (len(points),)
        position = {pt["index"]: (pt["index"],) for pt in points}
        coords = {"point": ("point", [pt["index"] for pt in points], {"units": "1"})}
        coords |= {f: ("point", values[f], {"units": _units(f)}) for f in fields}
    else:
        levels = {f: list(dict.fromkeys(values[f])) for f in fields}
        dims = tuple(fields)
        shape = tuple(len(levels[f]) for f in fields)
        position = {
            pt["index"]: tuple(levels[f].index(values[f][k]) for f in fields)
            for k, pt in enumerate(points)
        }
        coords = {f: (f, levels[f], {"units": _units(f)}) for f in fields}
    variables = {}
    for name in names:
        data = np.full(shape, np.nan)
        for index, r in by_index.items():
            if name in r:
                data[position[index]] = r[name]
        variables[name] = _v(dims, data, _units(name))
    return xr.Dataset(variables, coords)


#: Each kind's layout: ``(info, unit results, records, unit finished times) -> Dataset``, the
#: records with their ``time`` and the times as :meth:`RunStore.unit_times` gives them.
DATASETS: dict[
    str, Callable[[RunInfo, dict[str, dict], list[dict], dict[str, str] | None], xr.Dataset]
] = {
    "read": read_dataset,
    "write": write_dataset,
    "fidelity": fidelity_dataset,
    "switching": switching_dataset,
    "rv": rv_dataset,
    "reproduce": reproduce_dataset,
    "sweep": sweep_dataset,
}


class StoredRuns(Protocol):
    """What :func:`run_dataset` reads of a run store (``mtjlab.runs.store.RunStore``)."""

    def run(self, run_id: int) -> RunInfo: ...

    def unit_results(self, run_id: int) -> dict[str, dict]: ...

    def records(self, run_id: int, *, finished_only: bool, with_time: bool) -> list[dict]: ...

    def unit_times(self, run_id: int) -> dict[str, str]: ...


#: Kinds whose dataset can also hold the records of units not finished (``in_flight``): a
#: write's pulses, a switching curve's trials and an R-V loop's points as they arrive.
IN_FLIGHT = ("write", "switching", "rv")


def run_dataset(store: StoredRuns, run_id: int, *, in_flight: bool = False) -> xr.Dataset:
    """A stored run as a Dataset, from its finished units and their records.

    Parameters
    ----------
    store : RunStore
        The run store holding the run.
    run_id : int
        The run; its kind picks the layout in :data:`DATASETS`.
    in_flight : bool
        For the kinds in :data:`IN_FLIGHT`, also the records of units not finished (a run
        going on, or one cut short): what the live view draws. Other kinds ignore it.

    Returns
    -------
    xarray.Dataset
        Named dimensions, ``units`` on every variable and coordinate but the times (datetime64,
        UTC, NaT where unknown: records committed before their store had schema 2 have no
        time; xarray writes their units to the file); the run's id, kind, status, mtjlab
        version, timestamps, seed and small parameters as attributes.
    """
    info = store.run(run_id)
    if info.kind not in DATASETS:
        raise ValueError(f"run {run_id} is of kind {info.kind!r}; known kinds: {sorted(DATASETS)}")
    results = store.unit_results(run_id)
    in_flight = in_flight and info.kind in IN_FLIGHT
    records = store.records(run_id, finished_only=not in_flight, with_time=True)
    if not results and not (in_flight and records):
        raise ValueError(f"run {run_id} ({info.kind}, {info.status}) has no finished unit")
    dataset = DATASETS[info.kind](info, results, records, store.unit_times(run_id))
    return dataset.assign_attrs(_attrs(info))
