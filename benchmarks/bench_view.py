"""A running campaign's time alone and with two live views watching it, in one run, side by side.

Run: python benchmarks/bench_view.py [--patterns 20] [--repeats 2]

The campaign is `mtjlab characterize fidelity` on the built-in simulated chip, every array, the
given number of random patterns and the two fixed ones: one unit per write, a figure update due
after each. "Watched" starts two `mtjlab view` processes on the campaign's store (default
settings: the page asks every second, figures drawn at most every 2 s and 20 % of a core), each
with a client that does what the page does: every second it asks for the runs and for the newest
run's figures, and fetches each figure drawn since. The campaigns alternate, alone then watched,
and each case's time is the best of its repeats. The watched campaigns' records are checked to
be those of the first one alone.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import threading
import urllib.request
from pathlib import Path

from _memory import peak_memory_line, run_measured

from mtjlab.runs.store import RunStore


class PageLike(threading.Thread):
    """What the page asks of a view, every ``every_s`` seconds, until stopped."""

    def __init__(self, url: str, every_s: float = 1.0) -> None:
        super().__init__(daemon=True)
        self.url, self.every_s = url, every_s
        self.stop = threading.Event()
        self.asked = 0
        self.figures = 0

    def get(self, path: str) -> bytes:
        with urllib.request.urlopen(self.url + path, timeout=60) as answer:
            self.asked += 1
            return answer.read()

    def run(self) -> None:
        shown: set[str] = set()
        while not self.stop.wait(self.every_s):
            runs = json.loads(self.get("api/runs"))["runs"]
            if not runs:
                continue
            details = json.loads(self.get(f"api/runs/{runs[0]['key']}"))
            for figure in details["figures"]:
                if figure["src"] not in shown:
                    self.get(figure["src"].lstrip("/"))
                    shown.add(figure["src"])
                    self.figures += 1


def start_view(store: Path) -> tuple[subprocess.Popen, PageLike]:
    argv = [sys.executable, "-m", "mtjlab", "view", "--store", str(store), "--port", "0"]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    url = re.search(r"at (http://\S+) ", process.stdout.readline()).group(1)
    page = PageLike(url)
    page.start()
    return process, page


def campaign(store: Path, out: Path, patterns: int) -> float:
    argv = [sys.executable, "-m", "mtjlab", "characterize", "fidelity", "--patterns"]
    argv += [str(patterns), "--store", str(store), "--out", str(out)]
    wall, status, _ = run_measured(argv, out.parent, subprocess.DEVNULL, subprocess.DEVNULL)
    if status != 0:
        raise SystemExit(f"the campaign ended with status {status}")
    return wall


def records(store: Path, run_id: int) -> list[dict]:
    with RunStore(store, read_only=True) as s:
        return s.records(run_id)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patterns", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_view_"))
    alone_store, watched_store = tmp / "alone.db", tmp / "watched.db"
    RunStore(watched_store).close()  # the views read existing stores only
    alone, watched, asked, figures = [], [], 0, 0
    for i in range(args.repeats):
        alone.append(campaign(alone_store, tmp / f"alone{i}", args.patterns))
        views = [start_view(watched_store) for _ in range(2)]
        try:
            watched.append(campaign(watched_store, tmp / f"watched{i}", args.patterns))
        finally:
            for process, page in views:
                page.stop.set()
                page.join(timeout=60)
                asked += page.asked
                figures += page.figures
                process.terminate()
                process.wait(timeout=60)
    first = records(alone_store, 1)
    same = all(records(watched_store, i + 1) == first for i in range(args.repeats))
    n_writes = (args.patterns + 2) * 5
    print(f"characterize fidelity, {n_writes} writes; best of {args.repeats}, each run in ()")
    print("| campaign | time | runs |")
    print("|---|---|---|")
    for name, times in (("alone", alone), ("two views watching", watched)):
        runs = ", ".join(f"{t:.1f}" for t in times)
        print(f"| {name} | {min(times):.1f} s | ({runs}) |")
    print(f"watched / alone: {min(watched) / min(alone):.3f} (goal: at most 1.05)")
    print(f"the views answered {asked} requests, {figures} of them for figures")
    print(f"records of every watched run the same as alone: {same}")
    print(peak_memory_line())


if __name__ == "__main__":
    main()
