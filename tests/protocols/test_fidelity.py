"""Fidelity characterization: statistics that agree with the chip, and runs that resume."""

import numpy as np
import pytest

from mtjlab.core.patterns import make_pattern
from mtjlab.protocols.fidelity import characterize_fidelity
from mtjlab.protocols.write import DEFAULT_RAMP_AP_TO_P, DEFAULT_RAMP_P_TO_AP
from mtjlab.runs.store import RunStore
from mtjlab.runs.units import UnitRunner
from mtjlab.sim.backend import SimulatedBackend
from mtjlab.sim.chip import OK, STUCK_P, Chip

PATTERNS = [make_pattern("random", (15, 15), rng=k) for k in range(2)] + [
    make_pattern("all-AP", (15, 15))
]


def backends(seed=0, arrays=(0, 4)):
    chip = Chip.from_seed(seed)
    return chip, {a: SimulatedBackend(chip, a) for a in arrays}


def stored(bs, store, run_id):
    """Each write a unit of run ``run_id`` in ``store``, as the run engine does it."""
    return UnitRunner({f"array={a}": b for a, b in bs.items()}, store, run_id).run_unit


def test_statistics_agree_with_the_chips_defects():
    chip, bs = backends()
    events = []
    report = characterize_fidelity(bs, PATTERNS, progress=events.append)
    assert len(report.writes) == 6
    for a in bs:
        stuck_p = {tuple(int(x) for x in rc) for rc in np.argwhere(chip.array(a).defect == STUCK_P)}
        # all-AP makes every stuck-P cell fail, so each is reported stuck and errs at least once.
        assert stuck_p <= {(s["row"], s["col"]) for s in report.stuck[a]}
        for row, col in stuck_p:
            assert report.cell_error_fraction[a][row, col] >= 1 / 3
        # Inside the disturb envelope the ramps' tops sit below the critical voltage of a die's
        # strongest devices, which then switch only thermally and may miss six pulses (the
        # price of the envelope, see DEFAULT_RAMP_P_TO_AP). Every cell that erred is such a
        # device or a defect, and each was reported, not left wrong silently.
        array = chip.array(a)
        beyond_tops = (array.params.vc0_p_to_ap_v > DEFAULT_RAMP_P_TO_AP.stop_v) | (
            array.params.vc0_ap_to_p_v > DEFAULT_RAMP_AP_TO_P.stop_v
        )
        erred = report.cell_error_fraction[a] > 0
        assert not np.any(erred & (array.defect == OK) & ~beyond_tops)
        reported = {(s["row"], s["col"]) for s in report.stuck[a]}
        assert {tuple(int(x) for x in rc) for rc in np.argwhere(erred)} <= reported
        # So a write misses the array's one or two defects and one or two strong devices at
        # most, three of its 225 cells: the old floor of 0.99 (two cells) was set for ramps
        # whose tops were 0.12 and 0.16 V higher and so also switched the strongest devices.
        assert report.per_array[a]["mean_fidelity"] >= 1 - 3 / 225
    overall = report.overall()
    n_ap = sum(int(p.sum()) for p in PATTERNS) * 2
    assert overall["p_to_ap_error_rate"] == pytest.approx(
        sum(w["errors_p_to_ap"] for w in report.writes) / n_ap
    )
    assert [e.done for e in events if e.task == "fidelity"] == list(range(7))


class Crash(Exception):
    pass


def test_an_interrupted_run_resumes_to_the_same_records(tmp_path):
    # Uninterrupted reference.
    ref = RunStore(tmp_path / "ref.db")
    ref_id = ref.create_run("fidelity", {}, seed=0, snapshot={})
    bs = backends(arrays=(0,))[1]
    reference = characterize_fidelity(bs, PATTERNS, run_unit=stored(bs, ref, ref_id))

    # Crash in the middle of the second write, then resume on a freshly drawn chip. Where the
    # second write is depends on the ramps (one progress event per pulse), so it is taken from
    # the reference run rather than counted by hand.
    first, second = (w["pulses"] for w in reference.writes[:2])
    crash_at = first + second // 2
    store = RunStore(tmp_path / "run.db")
    run_id = store.create_run("fidelity", {}, seed=0, snapshot={})
    pulses = 0

    def crash_mid_write(event):
        nonlocal pulses
        if event.task == "write-verify" and event.done:
            pulses += 1
            if pulses == crash_at:
                raise Crash

    with pytest.raises(Crash):
        bs = backends(arrays=(0,))[1]
        characterize_fidelity(
            bs, PATTERNS, run_unit=stored(bs, store, run_id), progress=crash_mid_write
        )
    assert len(store.done_units(run_id)) == 1
    partial = len(store.records(run_id))
    assert partial > len(store.records(run_id, finished_only=True))
    bs = backends(arrays=(0,))[1]
    report = characterize_fidelity(bs, PATTERNS, run_unit=stored(bs, store, run_id))

    def keyed(s, rid):
        return [{k: v for k, v in r.items()} for r in s.records(rid)]

    got, want = keyed(store, run_id), keyed(ref, ref_id)
    assert len(got) == len(want)
    assert sorted((r["unit"], r["index"]) for r in got) == sorted(
        (r["unit"], r["index"]) for r in want
    )
    # The simulated chip's state went with the run, so the values match too.
    assert sorted(got, key=lambda r: (r["unit"], r["index"])) == sorted(
        want, key=lambda r: (r["unit"], r["index"])
    )
    assert len(report.writes) == 3
