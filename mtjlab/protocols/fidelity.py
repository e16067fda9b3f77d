"""Write-fidelity characterization: many patterns written with write-verify into one or many arrays,
unattended and resumable; per-array and per-cell statistics of what went wrong and how.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from mtjlab.core.backend import ArrayBackend
from mtjlab.core.events import Progress, ProgressCallback, emit
from mtjlab.core.records import RunUnit, run_in_memory
from mtjlab.core.states import AP, P
from mtjlab.protocols.write import write_verify


def unit_name(pattern: int, array: int) -> str:
    return f"pattern={pattern}/array={array}"


@dataclass(frozen=True)
class FidelityReport:
    """Statistics of a characterization.

    ``writes`` has one dict per (pattern, array) write: ``pattern``, ``array``, ``fidelity``,
    ``pulses``, ``passes``, ``disturbed``, error counts and how many cells of each target state
    were written. ``per_array`` summarizes each array; ``cell_error_fraction[array]`` is, per
    cell, the fraction of patterns after which the cell was not in its target state;
    ``stuck[array]`` lists the cells given up at least once, with the last reason.
    """

    writes: list[dict]
    per_array: dict[int, dict]
    cell_error_fraction: dict[int, np.ndarray]
    stuck: dict[int, list[dict]]

    def overall(self) -> dict:
        """Figures over every write of the run."""
        fid = np.array([w["fidelity"] for w in self.writes])
        n_ap = sum(w["n_target_ap"] for w in self.writes)
        n_p = sum(w["n_target_p"] for w in self.writes)
        return {
            "writes": len(self.writes),
            "mean_fidelity": float(fid.mean()) if fid.size else float("nan"),
            "min_fidelity": float(fid.min()) if fid.size else float("nan"),
            "p_to_ap_error_rate": sum(w["errors_p_to_ap"] for w in self.writes) / max(n_ap, 1),
            "ap_to_p_error_rate": sum(w["errors_ap_to_p"] for w in self.writes) / max(n_p, 1),
            "disturbed": sum(w["disturbed"] for w in self.writes),
            "pulses": sum(w["pulses"] for w in self.writes),
        }


def characterize_fidelity(
    backends: Mapping[int, ArrayBackend],
    patterns: Sequence[np.ndarray],
    *,
    run_unit: RunUnit = run_in_memory,
    seed: int = 0,
    progress: ProgressCallback | None = None,
    finished: Collection[str] = (),
    **write_options,
) -> FidelityReport:
    """Write every pattern into every array with :func:`~mtjlab.protocols.write.write_verify`.

    Parameters
    ----------
    backends : mapping of array index to ArrayBackend
        The arrays to characterize.
    patterns : sequence of ndarray
        Targets of the arrays' shape (0 = P, 1 = AP).
    run_unit : callable, optional
        Runs each write as one unit ``(name, state_key, measure)``: the run engine's runner
        keeps each pulse and cell record as it is measured, and on resume gives back the
        finished writes and redoes the one cut short. By default the writes are measured in
        memory and their records dropped.
    seed : int
        Seeds the write order of each write (with ``order="random"``).
    finished : collection of str
        The units ``run_unit`` already holds (a resumed run's): counted from the start of the
        progress, so its time left is the pace of the writes measured now.
    **write_options
        Passed to ``write_verify`` (scheme, width_s, ramps, max_attempts, ...).
    """
    for a, b in backends.items():
        for k, p in enumerate(patterns):
            if np.shape(p) != b.shape:
                raise ValueError(f"pattern {k} has shape {np.shape(p)}; array {a} is {b.shape}")
    # Each array's P/AP threshold from its latest write; a finished write's result comes back
    # from run_unit in the same order, so a resumed run starts each write from the same value.
    thresholds: dict[int, float] = {}

    total = len(patterns) * len(backends)
    names = {unit_name(k, a) for k in range(len(patterns)) for a in backends}
    done = len(names & set(finished))
    emit(progress, Progress("fidelity", done, total, "write"))
    writes = []
    for k, pattern in enumerate(patterns):
        for a, backend in backends.items():

            def measure(record, k=k, a=a, backend=backend, pattern=pattern) -> dict:
                result = write_verify(
                    backend,
                    pattern,
                    threshold_ohm=thresholds.get(a),
                    rng=np.random.default_rng([seed, k, a]),
                    progress=progress,
                    record=lambda r: record({"pattern": k, "array": a, **r}),
                    **write_options,
                )
                target = result.target
                wrong = np.argwhere(result.final.states != target).tolist()
                return {
                    **result.summary(),
                    "pattern": k,
                    "array": a,
                    "n_target_ap": int(np.sum(target == AP)),
                    "n_target_p": int(np.sum(target == P)),
                    "wrong_cells": wrong,
                    "given_up_cells": [[r, c, why] for (r, c), why in result.given_up.items()],
                }

            result = run_unit(unit_name(k, a), f"array={a}", measure)
            thresholds[a] = result["threshold_ohm"]
            writes.append(result)
            if unit_name(k, a) in finished:
                continue  # counted at the start
            done += 1
            emit(
                progress,
                Progress(
                    "fidelity",
                    done,
                    total,
                    "write",
                    f"pattern {k} array {a}: fidelity {result['fidelity']:.4f}",
                ),
            )
    return summarize(writes, {a: b.shape for a, b in backends.items()})


def summarize(writes: list[dict], shapes: Mapping[int, tuple[int, int]]) -> FidelityReport:
    """Per-array and per-cell statistics from the results of the writes."""
    per_array: dict[int, dict] = {}
    cell_error: dict[int, np.ndarray] = {}
    stuck: dict[int, list[dict]] = {}
    for a, shape in shapes.items():
        mine = [w for w in writes if w["array"] == a]
        errors = np.zeros(shape)
        reasons: dict[tuple[int, int], str] = {}
        for w in mine:
            for r, c in w["wrong_cells"]:
                errors[r, c] += 1
            for r, c, why in w["given_up_cells"]:
                reasons[(r, c)] = why
        cell_error[a] = errors / max(len(mine), 1)
        stuck[a] = [{"row": r, "col": c, "reason": why} for (r, c), why in sorted(reasons.items())]
        fid = np.array([w["fidelity"] for w in mine])
        n_ap = sum(w["n_target_ap"] for w in mine)
        n_p = sum(w["n_target_p"] for w in mine)
        per_array[a] = {
            "writes": len(mine),
            "mean_fidelity": float(fid.mean()) if fid.size else float("nan"),
            "min_fidelity": float(fid.min()) if fid.size else float("nan"),
            "p_to_ap_error_rate": sum(w["errors_p_to_ap"] for w in mine) / max(n_ap, 1),
            "ap_to_p_error_rate": sum(w["errors_ap_to_p"] for w in mine) / max(n_p, 1),
            "disturbed": sum(w["disturbed"] for w in mine),
            "mean_pulses": float(np.mean([w["pulses"] for w in mine])) if mine else 0.0,
            "stuck_cells": len(stuck[a]),
        }
    return FidelityReport(
        writes=writes, per_array=per_array, cell_error_fraction=cell_error, stuck=stuck
    )
