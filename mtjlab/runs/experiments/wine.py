"""The Wine network on passive arrays: what every solution of a reproduce run shares (data,
networks, mappings), and how one solution is written, read back and scored untuned and tuned.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mtjlab.analysis.metrics import METRIC_KEYS, smoothed_inputs, solution_metrics
from mtjlab.analysis.network import (
    BinaryNet,
    WineSplit,
    retune_output_thresholds,
    retune_software,
    retune_thresholds,
    sign,
    wine_split,
)
from mtjlab.core.backend import ArrayBackend
from mtjlab.core.states import OPEN, SHORT
from mtjlab.protocols.inference import (
    PairMapping,
    defect_aware_mapping,
    fit_calibration,
    nominal_calibration,
    read_back_weights,
)
from mtjlab.protocols.write import GiveUpKind, write_verify
from mtjlab.runs.context import write_options
from mtjlab.runs.units import StateGroup


def split_of(params: dict) -> WineSplit:
    """The Wine split a run's parameters give (a run stored before ``test_samples`` and
    ``inputs`` existed: 30 % of the wines for testing, signed inputs)."""
    return wine_split(
        params["split_seed"],
        test_samples=params.get("test_samples"),
        inputs=params.get("inputs", "signed"),
    )


@dataclass
class Wine:
    """What every solution of a reproduce run shares: data, networks, mappings, settings.

    Each solution is written into a group of arrays: its hidden layer's array, and with the
    output layer on an array, the next array of the list for that layer. Solution ``k`` goes to
    group ``k`` modulo the number of groups.
    """

    params: dict

    def __post_init__(self) -> None:
        p = self.params
        self.split = split_of(p)
        self.nets = [
            BinaryNet(
                w_hidden=np.array(n["w_hidden"], dtype=np.int8),
                b_hidden=np.array(n["b_hidden"]),
                w_out=np.array(n["w_out"], dtype=np.int8),
                b_out=np.array(n["b_out"]),
            )
            for n in p["networks"]
        ]
        self.arrays = list(p["arrays"])
        self.output_on_array = p.get("output_layer", "software") == "array"
        size = 2 if self.output_on_array else 1
        self.groups = [
            tuple(self.arrays[i : i + size]) for i in range(0, len(self.arrays) - size + 1, size)
        ]
        if not self.groups:
            raise ValueError(f"the output layer on an array needs two arrays, got {self.arrays}")
        n_hidden = self.nets[0].w_hidden.shape[1]
        self.mapping = PairMapping.default(self.split.n_features, n_hidden)
        self.out_mapping = PairMapping.default(n_hidden, self.split.n_classes)
        self.x_all = np.vstack([self.split.x_train, self.split.x_test])
        # The training split smoothed, on which each solution's expected drop is measured
        # (analysis.metrics): the same inputs for every solution, drawn once per process.
        self.smoothed = smoothed_inputs(
            self.split.x_train,
            self.split.y_train,
            seed=p["split_seed"],
            low=0.0 if self.split.inputs == "unsigned" else -1.0,
        )

    def group_of(self, k: int) -> tuple[int, ...]:
        return self.groups[k % len(self.groups)]

    def array_of(self, k: int) -> int:
        """The array holding solution ``k``'s hidden layer."""
        return self.group_of(k)[0]

    @staticmethod
    def state_key(group: tuple[int, ...]) -> str:
        return f"array={group[0]}" if len(group) == 1 else "arrays=" + "+".join(map(str, group))

    def _write_layer(
        self,
        backend: ArrayBackend,
        weights: np.ndarray,
        default,
        threshold_ohm: float | None,
        bad_cells: dict[tuple[int, int], int],
        seed: list[int],
    ):
        """Place (with ``defect_aware``, around the known ``bad_cells``) and write one layer."""
        mapping = default
        if self.params.get("defect_aware"):
            mapping = defect_aware_mapping(weights, bad_cells, backend.shape)
        target = mapping.target(weights)
        written = write_verify(
            backend,
            target,
            threshold_ohm=threshold_ohm,
            rng=np.random.default_rng(seed),
            **write_options(self.params["write"]),
        )
        return mapping, target, written

    def solve(
        self,
        backends: dict[int, ArrayBackend],
        k: int,
        thresholds: dict[int, float],
        known: dict[int, dict[tuple[int, int], int]],
    ) -> dict:
        """Write solution ``k`` into its arrays, read it back, score it untuned and tuned.

        ``thresholds`` and ``known`` hold what each array's earlier solutions showed: its P/AP
        threshold and its defects; with ``defect_aware`` each layer is placed so the defects cost
        the fewest weights.
        """
        p, split, net = self.params, self.split, self.nets[k]
        group = self.group_of(k)
        a = group[0]
        v_in, n_train = p["v_in_v"], len(split.x_train)
        mapping, target, written = self._write_layer(
            backends[a], net.w_hidden, self.mapping, thresholds.get(a), known.get(a, {}),
            [p["split_seed"], k],
        )  # fmt: skip
        final = written.final
        weights = target != -1
        diff = mapping.differences_a(backends[a], self.x_all, v_in)
        untuned = nominal_calibration(final.resistance_ohm, final.states, mapping, v_in)
        # Tuning, on the training split only: each unit's gain and offset, then its threshold.
        gain_offset = fit_calibration(diff[:n_train], split.x_train, net.w_hidden)
        retuned = retune_thresholds(net, gain_offset.apply(diff[:n_train]), split.y_train)
        hidden = {
            "untuned": untuned.apply(diff) + net.b_hidden,
            "gain_offset": gain_offset.apply(diff) + net.b_hidden,
            "tuned": gain_offset.apply(diff) + retuned.b_hidden,
        }
        result: dict = {"solution": k, "array": a}
        if self.output_on_array:
            out_a = group[1]
            out_mapping, out_target, out_written = self._write_layer(
                backends[out_a], net.w_out, self.out_mapping, thresholds.get(out_a),
                known.get(out_a, {}), [p["split_seed"], k, 1],
            )  # fmt: skip
            out_final = out_written.final
            # The hidden layer's signs drive the output array's rows; its untuned gain comes
            # from its own read-back map, its tuned gain and offset from the training split.
            out_untuned = nominal_calibration(
                out_final.resistance_ohm, out_final.states, out_mapping, v_in
            )
            scores = {}
            for name, pre in hidden.items():
                h = sign(pre)
                d = out_mapping.differences_a(backends[out_a], h, v_in)
                if name == "untuned":
                    scores[name] = out_untuned.apply(d[n_train:]) + net.b_out
                    continue
                cal = fit_calibration(d[:n_train], h[:n_train], net.w_out)
                b_out = net.b_out
                if name == "tuned":  # and the output thresholds, on the measured sums
                    b_out = retune_output_thresholds(
                        cal.apply(d[:n_train]), net.b_out, split.y_train
                    )
                scores[name] = cal.apply(d[n_train:]) + b_out
            predicted = {name: np.argmax(v, axis=1) for name, v in scores.items()}
            out_weights = out_target != -1
            result |= {
                "output_array": out_a,
                "output_device_fidelity": float(
                    np.mean(out_final.states[out_weights] == out_target[out_weights])
                ),
                "output_weight_fidelity": float(
                    np.mean(out_mapping.weights_read(out_final.states) == net.w_out)
                ),
                "output_layer": {
                    "threshold_ohm": out_written.threshold_ohm,
                    "bad_cells": bad_cells(out_final.states, out_written.given_up_kinds),
                    "states": out_final.states.tolist(),
                    "target": out_target.tolist(),
                },
            }
        else:
            out_written = None
            predicted = {
                "untuned": net.predict_from_preactivation(hidden["untuned"][n_train:]),
                "gain_offset": net.predict_from_preactivation(hidden["gain_offset"][n_train:]),
                "tuned": retuned.predict_from_preactivation(hidden["tuned"][n_train:]),
            }
        # What predicts the accuracy lost, from the read-back map and the training split only.
        metrics = solution_metrics(
            net,
            split.x_train,
            split.y_train,
            weights_read=mapping.weights_read(final.states),
            weights_effective=read_back_weights(final.resistance_ohm, final.states, mapping),
            untuned_train=untuned.apply(diff[:n_train]),
            calibrated_train=gain_offset.apply(diff[:n_train]),
            tuned_thresholds=retuned.b_hidden,
            smoothed=self.smoothed,
        )
        # Each test sample scored, so the test split's own noise can be measured (its halves).
        correct = {"software": net.predict(split.x_test) == split.y_test}
        correct |= {name: predicted[name] == split.y_test for name in ("untuned", "tuned")}
        confusion = np.zeros((split.n_classes, split.n_classes), dtype=int)
        np.add.at(confusion, (split.y_test, predicted["tuned"]), 1)
        writes = [written] if out_written is None else [written, out_written]
        return result | {
            "software_accuracy": net.accuracy(split.x_test, split.y_test),
            # The fair baseline for tuned hardware: software given the same threshold retuning.
            "software_retuned_accuracy": retune_software(
                net, split.x_train, split.y_train, output_thresholds=self.output_on_array
            ).accuracy(split.x_test, split.y_test),
            "untuned_accuracy": float(np.mean(predicted["untuned"] == split.y_test)),
            "gain_offset_accuracy": float(np.mean(predicted["gain_offset"] == split.y_test)),
            "tuned_accuracy": float(np.mean(predicted["tuned"] == split.y_test)),
            "device_fidelity": float(np.mean(final.states[weights] == target[weights])),
            "weight_fidelity": float(np.mean(mapping.weights_read(final.states) == net.w_hidden)),
            "pulses": sum(w.pulses for w in writes),
            "given_up": sum(len(w.given_up) for w in writes),
            "threshold_ohm": written.threshold_ohm,
            "bad_cells": bad_cells(final.states, written.given_up_kinds),
            "confusion_tuned": confusion.tolist(),
            "states": final.states.tolist(),
            "target": target.tolist(),
            **metrics,
            "test_correct": {name: v.astype(int).tolist() for name, v in correct.items()},
        }


def bad_cells(states: np.ndarray, given_up_kinds: dict) -> list[list[int]]:
    """Cells a write showed to be defects, with the class each is stuck in: those that read open
    or short, and those that did not switch however often they were pulsed."""
    bad = {(int(r), int(c)) for r, c in np.argwhere(np.isin(states, (OPEN, SHORT)))}
    bad |= {rc for rc, kind in given_up_kinds.items() if kind is GiveUpKind.DID_NOT_SWITCH}
    return [[r, c, int(states[r, c])] for r, c in sorted(bad)]


def layers(result: dict) -> list[tuple[int, dict]]:
    """The arrays a solution's result wrote, each with what its write showed (threshold,
    defects)."""
    layers = [(result["array"], result)]
    if "output_layer" in result:
        layers.append((result["output_array"], result["output_layer"]))
    return layers


def learn(results: list[dict], thresholds: dict, known: dict) -> None:
    """Update each array's P/AP threshold and known defects from finished solutions, in
    solution order (the latest word on each cell wins)."""
    for r in sorted(results, key=lambda r: r["solution"]):
        for array, layer in layers(r):
            thresholds[array] = layer["threshold_ohm"]
            known.setdefault(array, {}).update(
                {(row, col): state for row, col, state in layer.get("bad_cells", [])}
            )


#: Keys of a solution's result that are its record in the run store (the rest are arrays);
#: the output layer's keys only when it is on an array, the metrics when the run computed them.
RECORD_KEYS = (
    "solution",
    "array",
    "software_accuracy",
    "software_retuned_accuracy",
    "untuned_accuracy",
    "gain_offset_accuracy",
    "tuned_accuracy",
    "device_fidelity",
    "weight_fidelity",
    "output_array",
    "output_device_fidelity",
    "output_weight_fidelity",
    "pulses",
    "given_up",
    *METRIC_KEYS,
)


def record_of(result: dict) -> dict:
    return {key: result[key] for key in RECORD_KEYS if key in result}


def stateful(backends: dict[int, ArrayBackend], group: tuple[int, ...]):
    """What a group's state key names: its one backend, or its backends as a StateGroup."""
    return backends[group[0]] if len(group) == 1 else StateGroup([backends[a] for a in group])
