"""Soak: an unattended ``characterize fidelity`` on the built-in emulated bench, with faults.

Run, from a checkout with mtjlab installed (``pip install -e .``), on Linux or macOS:

    python benchmarks/soak.py --bench-minutes 30
    python benchmarks/soak.py --bench-minutes 60 --seed 3 --fault-every 2 --keep soak-out

30 minutes of emulated bench time take about 4 minutes of wall time on two cores.

What it does:

1. Sizes the run: two random patterns written clean into arrays 1 and 2 of the built-in
   emulated bench (``examples/emulated-bench.yaml``) give the bench time of the first pattern
   and of each one after it, as the emulated bench's virtual clock counts it; the run gets
   enough random patterns (``--fixed none``) to cover ``--bench-minutes`` of bench time.
2. Plans faults of random kinds at random points of the run, seeded by ``--seed``: one every
   ``--fault-every`` bench minutes on average, at least one of each kind. An instrument
   timeout, a garbled reply, an error-queue entry or a disconnect
   (``mtjlab.sim.emulators.base.Faults`` of the source meter, pulse generator or matrix), or a
   SIGKILL of the measuring process; a point is a unit of the run and a fraction of a unit's
   bench time into it. And one device breakdown: a working device of a wired array made a
   short before a fixed unit.
3. Measures the run in child processes (this file with ``--child``), one after the other: the
   first executes the run the parent recorded, the others resume it
   (``mtjlab.runs.engine.resume``, what ``mtjlab runs resume ID --store FILE`` does) until it
   finishes. Each child patches its emulated bench in-process (no hook in the library): it
   arms the next fault once the run reaches its point (then none until the next unit begins,
   so one fault ends an attempt), asks the parent for the SIGKILL, shorts the device before
   the breakdown's unit, checks every command that opens or closes a relay of the matrix
   against ``circuit.live()`` at that moment, and watches every device for a breakdown by the
   run's own pulses and reads. It reports events as JSON lines on its standard output; its
   standard error goes to a log file per attempt.
4. Measures the same run clean (the same breakdown before the same unit, no other fault) in one
   child, and compares the two runs' stores: the records of every unit (all fields but the
   wall-clock commit ``time``), the units' results and each array's final state.

The report: bench time covered, wall time, faults injected by kind, faults survived (the run
resumed and finished after them), the records of both runs (counts, identical or not), relay
moves under a live source, devices broken by the run. Exit status 0 only if every check holds:
the run finished, every planned fault was delivered and survived, records, results and final
states identical, no relay moved under a live source, no device broken by the run, the clean
run covered the requested bench time and finished in one attempt.

``--keep DIR`` keeps the stores, outputs, child logs and ``report.json`` in DIR (by default they
go to a temporary folder, removed at the end).
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np

from mtjlab.bench import description
from mtjlab.bench.description import FileBench
from mtjlab.bench.emulated import ClockedState, EmulatedBench
from mtjlab.bench.file import builtin_bench_path
from mtjlab.protocols.fidelity import unit_name
from mtjlab.runs import engine
from mtjlab.runs.registry import experiment
from mtjlab.runs.store import RunStore
from mtjlab.runs.units import UnitRunner
from mtjlab.sim.chip import OK, SHORTED

#: Fault kinds, in the order the report lists them; all but the last are instrument or process
#: faults planned at random points, the last is the planned breakdown.
KINDS = ("timeout", "garble", "error", "disconnect", "kill", "breakdown")
RANDOM_KINDS = KINDS[:-1]
#: Instruments of the bench file that faults go to (the source meter's two channels are one
#: instrument, as are the pulse generator's two outputs).
INSTRUMENTS = ("smu_a", "pulser_1", "matrix")
#: Error-queue entries pushed (SCPI's standard codes).
ERRORS = (
    (-363, "Input buffer overrun"),
    (-222, "Data out of range"),
    (-350, "Queue overflow"),
    (-410, "Query INTERRUPTED"),
)
#: Fields of a record that are wall-clock times: left out of the comparison.
WALL_CLOCK_FIELDS = ("time",)
#: The run is sized for this much more than the bench time asked, so that it covers it.
SIZE_MARGIN = 1.05


# -- the child: one attempt at the run ----------------------------------------------------------


class _Monitor:
    """What a child adds to its emulated bench: the planned faults, the relay check, the
    breakdown watch and the unit account, each reported as a JSON line."""

    def __init__(self, spec: dict, events: io.TextIOBase) -> None:
        self.events = events
        self.pending = list(spec["faults"])  # ordered by their point "at"
        self.units = {name: i for i, name in enumerate(spec.get("units", []))}
        self.unit_s = float(spec.get("unit_s", 1.0))
        #: Where the run is: (index of the unit being measured, bench time it began), or
        #: (index of the next unit, None) between units; before the first unit of this attempt,
        #: the first unit not done yet.
        self.where: tuple[float, float | None] = (float(spec.get("done", 0)), None)
        self.armed: tuple[dict, Any] | None = None
        #: After a fault, the next waits for the next unit to begin: the one fault, then, is
        #: what ended the attempt if it ends (the safe state that follows a fault is not hit).
        self.blocked = False
        self.kill_requested = False
        self.breakdown = spec.get("breakdown")
        self.bench: Any = None
        self.relay_moves = 0
        self.live_moves = 0
        self.log_seen = 0
        self.log_live = 0
        self.known_shorts: set[tuple[int, int, int]] = set()
        if self.breakdown:
            b = self.breakdown
            self.known_shorts.add((b["array"], b["row"], b["col"]))

    def emit(self, event: str, **fields: Any) -> None:
        self.events.write(json.dumps({"event": event, **fields}) + "\n")
        self.events.flush()

    def clock(self) -> float:
        return float(self.bench.clock.now_s) if self.bench is not None else 0.0

    def relays(self) -> dict:
        """Relay moves this attempt: as the matrix wrapper saw them, and as the circuit's own
        log has them (the two must agree)."""
        if self.bench is not None:
            log = self.bench.circuit.relay_changes
            self.log_live += sum(1 for change in log[self.log_seen :] if change.live)
            self.log_seen = len(log)
        return {
            "relay_moves": self.relay_moves,
            "live_moves": self.live_moves,
            "relay_log": self.log_seen,
            "relay_log_live": self.log_live,
        }

    # -- attaching to the emulated bench the run builds --------------------------------------

    def attach(self, emulated: Any) -> None:

        self.bench = emulated
        self.log_seen = self.log_live = 0
        for index, backend in emulated.circuit.arrays.items():
            for r, c in np.argwhere(backend.array.defect == SHORTED):
                self.known_shorts.add((index, int(r), int(c)))
            self._watch_breakdowns(index, backend)
        self._check_relays(emulated.emulator(emulated.bench.matrix), emulated.circuit)
        for emulator in emulated.emulators.values():
            self._tick_on_write(emulator)
        self.emit("bench", clock=self.clock())

    def _watch_breakdowns(self, index: int, backend: Any) -> None:

        stress = backend._stress  # every pulse and read of the circuit goes through it

        def watched(v_device: np.ndarray, duration_s: float) -> np.ndarray:
            changed = stress(v_device, duration_s)
            if np.any(changed):
                for r, c in np.argwhere(backend.array.defect == SHORTED):
                    key = (index, int(r), int(c))
                    if key not in self.known_shorts:
                        self.known_shorts.add(key)
                        self.emit(
                            "broken",
                            array=index,
                            row=int(r),
                            col=int(c),
                            v=float(abs(np.asarray(v_device)[r, c])),
                            clock=self.clock(),
                        )
            return changed

        backend._stress = watched

    def _check_relays(self, matrix: Any, circuit: Any) -> None:
        switch = matrix._switch  # every command that opens or closes a relay ends here

        def checked(opening: set[str], closing: set[str]) -> None:
            moves = len(opening) + len(closing)
            if moves:
                live = circuit.live()
                self.relay_moves += moves
                if live:
                    self.live_moves += moves
                    self.emit(
                        "live_relay",
                        moves=moves,
                        live=list(live),
                        opening=sorted(opening)[:4],
                        closing=sorted(closing)[:4],
                        clock=self.clock(),
                    )
            switch(opening, closing)

        matrix._switch = checked

    def _tick_on_write(self, emulator: Any) -> None:
        write = emulator.write

        def ticking(line: str) -> None:
            self.tick()
            write(line)

        emulator.write = ticking

    # -- faults -------------------------------------------------------------------------------

    def tick(self) -> None:
        """Note a fault the instrument delivered; arm the next one once its time has come."""
        if self.armed is not None:
            if not self._delivered(*self.armed):
                return
            fault, _ = self.armed
            self.armed = None
            self.blocked = True
            self.emit("hit", id=fault["id"], clock=self.clock())
        if self.pending and not self.blocked and self._due(self.pending[0]["at"]):
            self._arm(self.pending.pop(0))

    def _due(self, at: float) -> bool:
        """Whether the run has reached point ``at``: unit ``int(at)``, the fraction ``at % 1``
        of a unit's expected bench time into it (or the unit's end, if it ends sooner)."""
        index, began = self.where
        if began is None:
            return at < index
        if at < index:
            return True
        return at < index + 1 and (at - index) * self.unit_s <= self.clock() - began

    def _arm(self, fault: dict) -> None:
        kind = fault["kind"]
        if kind == "kill":
            self.kill_requested = self.blocked = True
            self.emit("kill", id=fault["id"], clock=self.clock())  # the parent sends SIGKILL
            return
        emulator = self.bench.emulator(fault["instrument"])
        faults = emulator.faults
        if kind == "timeout":
            faults.timeouts += fault["count"]
        elif kind == "garble":
            faults.garble += fault["count"]
        elif kind == "error":
            faults.errors.append(tuple(fault["error"]))
        elif kind == "disconnect":
            faults.disconnect_after = fault["count"]
        else:
            raise ValueError(f"unknown fault kind {kind!r}")
        self.armed = (fault, emulator)
        self.emit("armed", id=fault["id"], clock=self.clock())

    @staticmethod
    def _delivered(fault: dict, emulator: Any) -> bool:
        kind, faults = fault["kind"], emulator.faults
        if kind == "timeout":
            return faults.timeouts == 0
        if kind == "garble":
            return faults.garble == 0
        if kind == "error":
            return not faults.errors
        return bool(getattr(emulator, "_disconnected", False))

    def finish(self) -> None:
        if self.armed is not None and self._delivered(*self.armed):
            self.emit("hit", id=self.armed[0]["id"], clock=self.clock())
            self.armed = None


def _child(spec_path: str) -> int:
    """One attempt at the run: execute it (first attempt) or resume it, on an emulated bench
    patched as the spec says; events on standard output, everything else on standard error."""
    spec = json.loads(Path(spec_path).read_text())
    events = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # nothing else reaches the event stream

    monitor = _Monitor(spec, events)

    class SoakBench(EmulatedBench):
        def __init__(self, bench: Any) -> None:
            super().__init__(bench)
            monitor.attach(self)

    description.EmulatedBench = SoakBench  # what a run on a bench file builds its bench with
    run_unit = UnitRunner.run

    def run(runner: UnitRunner, unit: Any) -> dict:
        if unit.name in runner.results:
            return run_unit(runner, unit)
        b = monitor.breakdown
        if b and unit.name == b["unit"]:
            backend = monitor.bench.circuit.arrays[b["array"]]
            backend.array.defect[b["row"], b["col"]] = SHORTED
            monitor.emit("breakdown", unit=unit.name, clock=monitor.clock())
        start = monitor.clock()
        index = monitor.units.get(unit.name, 0)
        monitor.where = (float(index), start)
        monitor.blocked = False
        result = run_unit(runner, unit)
        monitor.where = (float(index + 1), None)
        monitor.emit(
            "unit",
            name=unit.name,
            bench_s=monitor.clock() - start,
            clock=monitor.clock(),
            **monitor.relays(),
        )
        return result

    UnitRunner.run = run  # type: ignore[method-assign]
    monitor.emit("start", pid=os.getpid())
    status, error, summary = "finished", None, {}
    try:
        with RunStore(spec["store"]) as store:
            go = engine.execute if spec["first"] else engine.resume
            summary = go(store, spec["run_id"])
    except BaseException as exc:  # the fault's doing, reported to the parent
        status, error = "failed", f"{type(exc).__name__}: {exc}"
        traceback.print_exc()
    monitor.finish()
    monitor.emit(
        "end",
        status=status,
        error=error,
        clock=monitor.clock(),
        bench_time_s=summary.get("bench_time_s"),
        **monitor.relays(),
    )
    if monitor.kill_requested:
        time.sleep(60)  # the SIGKILL asked for lands before this process could end by itself
    return 0 if status == "finished" else 1


# -- the parent: plan, attempts, comparison, report ---------------------------------------------


def _attempt(spec: dict, work: Path, name: str, stall_s: float) -> dict:
    """Run one child to its end (SIGKILL it when it asks); its events and how it ended."""
    spec_path = work / f"{name}.json"
    spec_path.write_text(json.dumps(spec))
    with open(work / f"{name}.log", "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--child", str(spec_path)],
            stdout=subprocess.PIPE,
            stderr=log,
        )
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        events: list[dict] = []
        buffer = b""
        killed = hung = False
        last = time.monotonic()
        while True:
            ready, _, _ = select.select([fd], [], [], 1.0)
            if ready:
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    break
                last = time.monotonic()
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    try:
                        event = json.loads(line)
                    except ValueError:  # a line cut short by the SIGKILL
                        continue
                    events.append(event)
                    if event["event"] == "kill" and not killed:
                        os.kill(proc.pid, signal.SIGKILL)
                        killed = True
            elif not killed and time.monotonic() - last > stall_s:
                proc.kill()
                hung = killed = True
        proc.stdout.close()
        code = proc.wait()
    end = next((e for e in events if e["event"] == "end"), None)
    clocks = [e["clock"] for e in events if "clock" in e]
    if end is not None:
        status, error = end["status"], end["error"]
    elif hung:
        status, error = "killed", f"no event for {stall_s:.0f} s: killed"
    elif killed:
        status, error = "killed", "SIGKILL"
    else:  # it died by itself, before it could say how
        lines = (work / f"{name}.log").read_text(errors="replace").strip().splitlines()
        status, error = "crashed", f"exit status {code}: {lines[-1] if lines else 'no output'}"
    return {
        "name": name,
        "events": events,
        "exit": code,
        "killed": killed,
        "hung": hung,
        "status": status,
        "error": error,
        "bench_s": max(clocks, default=0.0),
        "end": end,
    }


def _create_run(store: Path, out: Path, bench: Path, arrays: str, patterns: int) -> int:
    """Record a fidelity run in ``store`` as the command would (not measured yet)."""
    exp = experiment("fidelity")
    given = {"bench": str(bench), "arrays": arrays, "patterns": patterns, "fixed": "none"}
    taken = {o.name: o.take(given.get(o.name, o.default)) for o in exp.options}
    params = exp.expand(exp.prepare(taken))
    params["out"] = str(out.resolve())
    with RunStore(store) as s:
        return engine.create(s, "fidelity", params)


def _units(store: Path, run_id: int) -> list[tuple[str, int]]:
    """The run's units in order, with the array each writes."""
    with RunStore(store, read_only=True) as s:
        params = s.run(run_id).parameters
    return [(unit_name(k, a), a) for k in range(len(params["patterns"])) for a in params["arrays"]]


def plan_faults(
    rng: np.random.Generator,
    units: list[tuple[str, int]],
    unit_s: float,
    every_s: float,
    chip: Any,
) -> tuple[list[dict], dict]:
    """Faults of random kinds (at least one of each) at random points of the run, one every
    ``every_s`` bench seconds on average, and the breakdown: a working device of one array,
    shorted before a unit of that array in the run's middle third.

    A point ``at`` is in units: unit ``int(at)`` (in the run's order), the fraction ``at % 1``
    of ``unit_s`` (a unit's expected bench time) into it; none lies past the middle of the
    last unit, so every fault comes while the run still measures.
    """
    n = max(len(RANDOM_KINDS), round(len(units) * unit_s / every_s))
    kinds = list(rng.permutation(RANDOM_KINDS)) + list(
        rng.choice(RANDOM_KINDS, n - len(RANDOM_KINDS))
    )
    points = np.sort(rng.uniform(0.02, len(units) - 0.5, n))
    faults = []
    for i, (kind, at) in enumerate(zip(kinds, points, strict=True)):
        fault: dict = {"id": i + 1, "kind": str(kind), "at": float(at)}
        fault["in_unit"] = units[int(at)][0]
        if kind != "kill":
            fault["instrument"] = str(rng.choice(INSTRUMENTS))
        if kind in ("timeout", "garble"):
            fault["count"] = int(rng.integers(1, 3))
        elif kind == "disconnect":
            fault["count"] = int(rng.integers(0, 20))  # commands it still takes
        elif kind == "error":
            fault["error"] = list(ERRORS[int(rng.integers(len(ERRORS)))])
        faults.append(fault)
    third = len(units) // 3
    unit, array = units[int(rng.integers(third, max(third + 1, len(units) - third)))]

    working = np.argwhere(chip.array(array).defect == OK)
    row, col = working[int(rng.integers(len(working)))]
    breakdown = {
        "id": len(faults) + 1,
        "kind": "breakdown",
        "unit": unit,
        "array": int(array),
        "row": int(row),
        "col": int(col),
    }
    return faults, breakdown


def _decode_state(blob: bytes) -> dict:
    # The bench time the state carries differs between a faulted run and a clean one (retries
    # take bench time): the array's own state is what is compared.
    _, blob = ClockedState.split(blob)
    with np.load(io.BytesIO(blob)) as saved:
        return {
            "state": saved["state"].copy(),
            "defect": saved["defect"].copy(),
            "rng": saved["rng"].tobytes().decode(),
        }


def read_run(store: str | Path, run_id: int) -> dict:
    """What the comparison looks at: each unit's records (wall-clock fields left out), the
    units' results, each array's final state, the run's status."""
    with RunStore(store, read_only=True) as s:
        info = s.run(run_id)
        records: dict[str, list[dict]] = {}
        for r in s.records(run_id, with_time=True):
            kept = {k: v for k, v in r.items() if k not in WALL_CLOCK_FIELDS}
            records.setdefault(r["unit"], []).append(kept)
        results = s.unit_results(run_id)
        states = {key: _decode_state(blob) for key, blob in s.latest_states(run_id).items()}
    return {
        "status": info.status,
        "records": records,
        "results": results,
        "states": states,
        "n_records": sum(len(v) for v in records.values()),
    }


def compare_runs(store_a: str | Path, run_a: int, store_b: str | Path, run_b: int) -> dict:
    """Compare two runs' stores: the records of every unit, field by field except wall-clock
    times, the units' results and each array's final state. ``identical`` only if all agree;
    ``differences`` says where the first ones are."""
    a, b = read_run(store_a, run_a), read_run(store_b, run_b)
    record_diffs: list[str] = []
    if list(a["records"]) != list(b["records"]):
        record_diffs.append(
            f"units with records differ: {len(a['records'])} units against {len(b['records'])}"
        )
    for unit in [u for u in a["records"] if u in b["records"]]:
        ra, rb = a["records"][unit], b["records"][unit]
        if len(ra) != len(rb):
            record_diffs.append(f"{unit}: {len(ra)} records against {len(rb)}")
            continue
        for x, y in zip(ra, rb, strict=True):
            if x != y:
                keys = sorted(k for k in x.keys() | y.keys() if x.get(k) != y.get(k))
                record_diffs.append(
                    f"{unit} record {x['index']}: "
                    + ", ".join(f"{k} {x.get(k)!r} against {y.get(k)!r}" for k in keys)
                )
                break
    results_same = json.dumps(a["results"], sort_keys=True) == json.dumps(
        b["results"], sort_keys=True
    )
    states_same = a["states"].keys() == b["states"].keys() and all(
        np.array_equal(a["states"][k]["state"], b["states"][k]["state"])
        and np.array_equal(a["states"][k]["defect"], b["states"][k]["defect"])
        and a["states"][k]["rng"] == b["states"][k]["rng"]
        for k in a["states"]
    )
    differences = list(record_diffs)
    if not results_same:
        differences.append("the units' results differ")
    if not states_same:
        differences.append("the arrays' final states differ")
    return {
        "records": [a["n_records"], b["n_records"]],
        "units": [len(a["records"]), len(b["records"])],
        "records_identical": not record_diffs,
        "results_identical": results_same,
        "states_identical": states_same,
        "identical": not differences,
        "differences": differences[:10],
    }


def broken_in_store(store: Path, run_id: int, chip: Any, injected: set) -> list:
    """Devices shorted in the run's final states that were not shorted on the fresh chip and
    were not the injected breakdown."""
    found = []
    for key, s in read_run(store, run_id)["states"].items():
        array = int(key.split("=")[1])
        fresh = chip.array(array).defect == SHORTED
        for r, c in np.argwhere((s["defect"] == SHORTED) & ~fresh):
            if (array, int(r), int(c)) not in injected:
                found.append([array, int(r), int(c)])
    return found


class _Account:
    """What the attempts of one run reported, put together."""

    def __init__(self) -> None:
        self.attempts: list[dict] = []
        self.unit_bench: dict[str, float] = {}
        self.broken: dict[tuple, dict] = {}
        self.live: list[dict] = []
        self.relay_moves = 0
        self.relay_log = 0
        self.relay_log_live = 0
        self.wrap_agrees = True

    def add(self, attempt: dict) -> None:
        self.attempts.append(attempt)
        last_relays = None
        for e in attempt["events"]:
            if e["event"] == "unit":
                self.unit_bench.setdefault(e["name"], e["bench_s"])
            elif e["event"] == "broken":
                self.broken.setdefault((e["array"], e["row"], e["col"]), e)
            elif e["event"] == "live_relay":
                self.live.append(e)
            if e["event"] in ("unit", "end"):
                last_relays = e
        if last_relays is not None:
            self.relay_moves += last_relays["relay_moves"]
            self.relay_log += last_relays["relay_log"]
            self.relay_log_live += last_relays["relay_log_live"]
            if last_relays["relay_moves"] != last_relays["relay_log"]:
                self.wrap_agrees = False

    @property
    def bench_s(self) -> float:
        return float(sum(a["bench_s"] for a in self.attempts))

    @property
    def live_moves(self) -> int:
        return sum(e["moves"] for e in self.live)


def _units_done(store: Path, run_id: int) -> int:
    with RunStore(store, read_only=True) as s:
        return len(s.done_units(run_id))


def _run_status(store: Path, run_id: int) -> str:
    with RunStore(store, read_only=True) as s:
        info = s.run(run_id)
    summary = Path(info.parameters["out"]) / "summary.json"
    return info.status if info.status != "finished" or summary.is_file() else "no summary"


def soak(
    bench_minutes: float = 30.0,
    seed: int = 0,
    fault_every_minutes: float = 2.5,
    arrays: str = "1,2",
    work: Path | None = None,
    stall_s: float = 300.0,
    say: Any = print,
) -> dict:
    """The soak; returns its report (``report["ok"]``: every check held)."""
    started = time.monotonic()
    bench = builtin_bench_path()
    chip = FileBench.read(bench).chip()
    work = Path(work) if work is not None else Path(tempfile.mkdtemp(prefix="mtjlab-soak-"))
    work.mkdir(parents=True, exist_ok=True)
    target_s = 60.0 * bench_minutes
    rng = np.random.default_rng(seed)

    # 1. how much bench time a pattern takes: the first (from the chip as made) and the next
    cal_store = work / "calibration.db"
    cal_id = _create_run(cal_store, work / "calibration-out", bench, arrays, 2)
    spec = {"store": str(cal_store), "run_id": cal_id, "first": True, "faults": []}
    cal = _attempt(spec, work, "calibration", stall_s)
    if cal["status"] != "finished" or cal["end"]["bench_time_s"] is None:
        raise RuntimeError(f"the calibration run failed: {cal['error']} (see {work})")
    unit_times = [e["bench_s"] for e in cal["events"] if e["event"] == "unit"]
    half = len(unit_times) // 2
    first_s, next_s = sum(unit_times[:half]), sum(unit_times[half:])
    other_s = float(cal["end"]["bench_time_s"]) - first_s - next_s  # setting up, safe state
    patterns = 1 + max(0, math.ceil((SIZE_MARGIN * target_s - other_s - first_s) / next_s))
    say(
        f"soak: characterize fidelity, arrays {arrays} of the built-in emulated bench, "
        f"{patterns} random patterns (about {next_s:.1f} s of bench time each), seed {seed}"
    )

    # 2. the plan
    faulted_store, clean_store = work / "faulted.db", work / "clean.db"
    run_id = _create_run(faulted_store, work / "faulted-out", bench, arrays, patterns)
    units = _units(faulted_store, run_id)
    unit_s = next_s / half
    faults, breakdown = plan_faults(rng, units, unit_s, 60.0 * fault_every_minutes, chip)
    by_id = {f["id"]: f for f in [*faults, breakdown]}
    say(
        f"plan: {len(faults)} faults at random points and a breakdown of array "
        f"{breakdown['array']} device ({breakdown['row']}, {breakdown['col']}) before unit "
        f"{breakdown['unit']}; {len(units)} units"
    )

    # 3. the faulted run, resumed after every fault until it finishes
    account = _Account()
    pending = list(faults)
    unexpected: list[str] = []
    for number in range(1, len(faults) + 4):
        spec = {
            "store": str(faulted_store),
            "run_id": run_id,
            "first": number == 1,
            "faults": pending,
            "breakdown": breakdown,
            "units": [name for name, _ in units],
            "unit_s": unit_s,
            "done": _units_done(faulted_store, run_id),
        }
        attempt = _attempt(spec, work, f"faulted-{number:02d}", stall_s)
        account.add(attempt)
        delivered = [e["id"] for e in attempt["events"] if e["event"] in ("hit", "kill")]
        for e in attempt["events"]:
            if e["event"] in ("hit", "kill"):
                by_id[e["id"]]["bench_clock_s"] = e["clock"]
        if any(e["event"] == "breakdown" for e in attempt["events"]):
            breakdown.setdefault("attempt", number)
        for fid in delivered:
            by_id[fid]["attempt"] = number
            by_id[fid]["effect"] = "absorbed: the attempt went on"
        ended = attempt["status"] != "finished"
        if attempt["killed"] and not attempt["hung"]:
            by_id[delivered[-1]]["effect"] = (
                "SIGKILL" if ended else "SIGKILL, landed after the run had finished"
            )
        elif ended and delivered:
            by_id[delivered[-1]]["effect"] = f"ended the attempt: {attempt['error']}"
        elif ended:
            unexpected.append(f"attempt {number} ended with no fault delivered: {attempt['error']}")
        if attempt["hung"]:
            unexpected.append(f"attempt {number} stopped reporting for {stall_s:.0f} s")
        pending = [f for f in pending if f["id"] not in delivered]
        state = _run_status(faulted_store, run_id)
        say(
            f"  attempt {number}: {attempt['bench_s']:8.1f} s of bench time, "
            f"{len(account.unit_bench)}/{len(units)} units, "
            + (f"faults {', '.join(by_id[i]['kind'] for i in delivered)}; " if delivered else "")
            + (state if state == "finished" else f"ended: {(attempt['error'] or '')[:80]}")
        )
        if state == "finished":
            break
    faulted_finished = _run_status(faulted_store, run_id) == "finished"
    if faulted_finished:
        for f in [*faults, breakdown]:
            f["survived"] = "attempt" in f

    # 4. the clean run: the same breakdown at the same point, nothing else
    clean_id = _create_run(clean_store, work / "clean-out", bench, arrays, patterns)
    spec = {
        "store": str(clean_store),
        "run_id": clean_id,
        "first": True,
        "faults": [],
        "breakdown": breakdown,
    }
    clean_account = _Account()
    clean = _attempt(spec, work, "clean", stall_s)
    clean_account.add(clean)
    clean_finished = _run_status(clean_store, clean_id) == "finished"
    clean_bench_s = (clean["end"] or {}).get("bench_time_s") or 0.0
    say(f"  clean run: {clean['bench_s']:8.1f} s of bench time, {clean['status']}")

    comparison = compare_runs(faulted_store, run_id, clean_store, clean_id)
    injected = {(breakdown["array"], breakdown["row"], breakdown["col"])}
    broken = {tuple(k) for k in account.broken} | {tuple(k) for k in clean_account.broken}
    for store, rid in ((faulted_store, run_id), (clean_store, clean_id)):
        if _run_status(store, rid) == "finished":
            broken |= {tuple(k) for k in broken_in_store(store, rid, chip, injected)}
    stuck = []
    summary_file = Path(read_params(faulted_store, run_id)["out"]) / "summary.json"
    if summary_file.is_file():
        stuck = (
            json.loads(summary_file.read_text()).get("stuck", {}).get(str(breakdown["array"]), [])
        )
    noticed = [s for s in stuck if (s["row"], s["col"]) == (breakdown["row"], breakdown["col"])]

    all_faults = [*faults, breakdown]
    injected_by_kind = {
        k: sum(1 for f in all_faults if f["kind"] == k and "attempt" in f) for k in KINDS
    }
    survived_by_kind = {
        k: sum(1 for f in all_faults if f["kind"] == k and f.get("survived")) for k in KINDS
    }
    report = {
        "bench_minutes": bench_minutes,
        "seed": seed,
        "arrays": arrays,
        "patterns": patterns,
        "units": len(units),
        "bench_s_requested": target_s,
        "bench_s_clean": clean_bench_s,
        "bench_s_faulted_all_attempts": account.bench_s,
        "wall_s": time.monotonic() - started,
        "attempts": len(account.attempts),
        "attempt_log": [
            {
                "name": a["name"],
                "exit": a["exit"],
                "status": a["status"],
                "error": a["error"],
                "bench_s": a["bench_s"],
                "events": [e for e in a["events"] if e["event"] != "unit"],
                "units": [e["name"] for e in a["events"] if e["event"] == "unit"],
            }
            for a in [cal, *account.attempts, clean]
        ],
        "faults_planned": len(all_faults),
        "faults_injected": sum(injected_by_kind.values()),
        "faults_survived": sum(survived_by_kind.values()),
        "injected_by_kind": injected_by_kind,
        "survived_by_kind": survived_by_kind,
        "faults": all_faults,
        "faulted_finished": faulted_finished,
        "clean_finished": clean_finished,
        "comparison": comparison,
        "relay_moves_checked": [account.relay_moves, clean_account.relay_moves],
        "live_relay_moves": account.live_moves + clean_account.live_moves,
        "live_relay_moves_in_circuit_log": account.relay_log_live + clean_account.relay_log_live,
        "live_relay_examples": (account.live + clean_account.live)[:5],
        "relay_wrap_agrees_with_circuit_log": account.wrap_agrees and clean_account.wrap_agrees,
        "devices_broken_by_run": sorted(list(k) for k in broken),
        "breakdown_noticed": noticed,
        "unexpected": unexpected,
        "runs": {
            "faulted": [str(faulted_store), run_id],
            "clean": [str(clean_store), clean_id],
            "calibration": [str(cal_store), cal_id],
        },
        "unit_bench_s": {"calibration": unit_times, "clean": clean_account.unit_bench},
        "work": str(work),
    }
    checks = {
        "faulted run finished": faulted_finished,
        "every planned fault injected": report["faults_injected"] == len(all_faults),
        "every fault survived": report["faults_survived"] == len(all_faults),
        "no failure without a fault": not unexpected,
        "clean run finished in one attempt": clean_finished and clean["status"] == "finished",
        "records identical": comparison["identical"],
        "no relay moved under a live source": report["live_relay_moves"] == 0
        and report["live_relay_moves_in_circuit_log"] == 0,
        "relay moves checked": min(report["relay_moves_checked"]) > 0
        and report["relay_wrap_agrees_with_circuit_log"],
        "no device broken by the run": not broken,
        "requested bench time covered": clean_bench_s >= target_s,
    }
    report["checks"] = checks
    report["ok"] = all(checks.values())
    (work / "report.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    return report


def read_params(store: Path, run_id: int) -> dict:
    with RunStore(store, read_only=True) as s:
        return s.run(run_id).parameters


def format_report(r: dict) -> list[str]:
    c = r["comparison"]
    kinds = ", ".join(f"{k} {n}" for k, n in r["injected_by_kind"].items())
    lines = [
        "",
        f"bench time covered: {r['bench_s_clean']:.1f} s ({r['bench_s_clean'] / 60:.1f} min) "
        f"of emulated bench time for the run in one go (asked: {r['bench_minutes']:g} min); "
        f"the faulted run took {r['bench_s_faulted_all_attempts']:.1f} s over "
        f"{r['attempts']} attempts",
        f"wall time: {r['wall_s']:.0f} s",
        f"faults injected: {r['faults_injected']} of {r['faults_planned']} planned ({kinds})",
        f"faults survived: {r['faults_survived']} of {r['faults_injected']} "
        "(the run resumed and finished)",
    ]
    lines.append(
        f"  {'#':>3}  {'kind':<10}  {'on':<16}  {'planned point of the run':<27}  "
        f"{'attempt':>7}  {'landed':>8}  what happened (landed: the attempt's bench time, s)"
    )
    for f in r["faults"]:
        if f["kind"] == "breakdown":
            on, point = f"array {f['array']} ({f['row']},{f['col']})", f"before {f['unit']}"
        else:
            on, point = f.get("instrument", "process"), f"{f['in_unit']} +{f['at'] % 1:.0%}"
        effect = f.get("effect", "shorted before its unit, as in the clean run")
        if "attempt" not in f:
            effect = "NOT INJECTED"
        at = f"{f['bench_clock_s']:.1f}" if "bench_clock_s" in f else "-"
        lines.append(
            f"  {f['id']:>3}  {f['kind']:<10}  {on:<16}  {point:<27}  "
            f"{f.get('attempt', '-')!s:>7}  {at:>8}  {effect[:100]}"
        )
    lines += [
        f"records: faulted run {c['records'][0]}, clean run {c['records'][1]} "
        f"({c['units'][0]} and {c['units'][1]} units): "
        + ("identical" if c["records_identical"] else "DIFFERENT")
        + f" (all fields but {', '.join(WALL_CLOCK_FIELDS)}); unit results "
        + ("identical" if c["results_identical"] else "DIFFERENT")
        + "; final array states "
        + ("identical" if c["states_identical"] else "DIFFERENT"),
    ]
    lines += [f"  {d}" for d in c["differences"]]
    lines += [
        f"relay moves under a live source: {r['live_relay_moves']} "
        f"(of {r['relay_moves_checked'][0]} relay moves checked in the faulted run, "
        f"{r['relay_moves_checked'][1]} in the clean one)",
    ]
    lines += [f"  {e}" for e in r["live_relay_examples"]]
    b = r["faults"][-1]
    lines += [
        f"devices broken by the run: {len(r['devices_broken_by_run'])} "
        f"{r['devices_broken_by_run'] or ''}".rstrip()
        + f" (besides the injected breakdown, array {b['array']} device ({b['row']}, "
        f"{b['col']}); the run's summary "
        + (
            "lists it as stuck: " + r["breakdown_noticed"][0]["reason"]
            if r["breakdown_noticed"]
            else "does not list it as stuck"
        )
        + ")",
    ]
    lines += [f"unexpected: {u}" for u in r["unexpected"]]
    failed = [name for name, ok in r["checks"].items() if not ok]
    lines.append("result: " + ("PASS" if r["ok"] else "FAIL: " + "; ".join(failed)))
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--bench-minutes",
        type=float,
        default=30.0,
        help="emulated bench time the run covers, minutes (default 30)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the fault plan (default 0)")
    parser.add_argument(
        "--fault-every",
        type=float,
        default=2.5,
        metavar="MINUTES",
        help="mean bench time between faults, minutes (default 2.5)",
    )
    parser.add_argument("--arrays", default="1,2", help="arrays to write (default 1,2)")
    parser.add_argument(
        "--keep", type=Path, metavar="DIR", help="keep stores, logs and report.json in DIR"
    )
    parser.add_argument(
        "--stall",
        type=float,
        default=300.0,
        metavar="SECONDS",
        help="kill a child that reports nothing for this long (default 300)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return _child(args.child)
    if args.bench_minutes <= 0 or args.fault_every <= 0:
        parser.error("--bench-minutes and --fault-every must be > 0")
    work = args.keep or Path(tempfile.mkdtemp(prefix="mtjlab-soak-"))
    try:
        report = soak(
            args.bench_minutes, args.seed, args.fault_every, args.arrays, work, args.stall
        )
        for line in format_report(report):
            print(line)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
