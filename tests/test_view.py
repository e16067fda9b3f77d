"""The live view without a browser: what it serves (JSON, PNG, its own files, refusals), the time
left it works out, how often it draws, that it never writes a store, and the command's options
and errors. The page itself in Chromium: test_view_browser.py."""

from __future__ import annotations

import contextlib
import io
import json
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import replace

import pytest

from mtjlab.cli.app import main
from mtjlab.runs.info import RunInfo
from mtjlab.runs.store import RunStore
from mtjlab.view import FigureCache, ViewError, ViewServer, check_stores, serving
from mtjlab.view.figures import Drawn
from mtjlab.view.runs import time_left_s
from mtjlab.view.server import static_text


@pytest.fixture(scope="module")
def finished_store(tmp_path_factory):
    """A store with one finished characterization (3 writes into array 0) and one run that has
    not finished a unit."""
    tmp = tmp_path_factory.mktemp("viewed")
    store = tmp / "runs.db"
    argv = ["characterize", "fidelity", "--patterns", "1", "--arrays", "0", "--store", str(store)]
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert main([*argv, "--out", str(tmp / "out")]) == 0
    with RunStore(store) as s:
        params = s.run(1).parameters
        s.create_run("fidelity", params, seed=0, snapshot={})  # never measured: no unit
    return store


def _get(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as answer:
            return answer.status, answer.headers["Content-Type"], answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read()


@pytest.fixture(scope="module")
def served(finished_store):
    server = ViewServer(check_stores([finished_store]), port=0, cache=FigureCache(0.0))
    with serving(server):
        yield server.url.rstrip("/")


def test_every_run_is_a_row_with_its_progress(served, finished_store):
    with RunStore(finished_store, read_only=True) as s:
        n_records = len(s.records(1))
    status, kind, body = _get(served + "/api/runs")
    assert status == 200 and kind == "application/json"
    listing = json.loads(body)
    assert listing["stores"] == [{"index": 0, "name": "runs.db"}]
    newest, first = listing["runs"]  # newest first
    assert (first["key"], first["kind"], first["status"]) == ("0/1", "fidelity", "finished")
    assert (first["units_done"], first["units_planned"], first["progress"]) == (3, 3, 1.0)
    assert first["records"] == n_records > 3 * 225 and first["time_left_s"] is None
    assert first["bench"] == "simulated chip 0 (kind)" and first["ended"]
    assert (newest["id"], newest["units_done"], newest["progress"]) == (2, 0, 0.0)


def test_a_runs_figures_are_its_experiments_own(served):
    status, _, body = _get(served + "/api/runs/0/1")
    assert status == 200
    details = json.loads(body)
    names = [f["name"] for f in details["figures"]]
    assert names == ["fidelity_by_write.png", "error_map_array0.png"]
    assert details["stamp"] == "3-finished" and details["note"] == ""
    status, kind, png = _get(served + details["figures"][0]["src"])
    assert (status, kind) == (200, "image/png") and png[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_run_with_no_finished_unit_says_so(served):
    details = json.loads(_get(served + "/api/runs/0/2")[2])
    assert details["figures"] == [] and details["note"] == "no unit finished yet"


@pytest.mark.parametrize(
    ("path", "said"),
    [
        ("/api/runs/0/9", "run 9"),
        ("/api/runs/1/1", "no store 1"),
        ("/api/runs/0/x", "expected a store number and a run id"),
        ("/figures/0/1/nothing.png", "no figure 'nothing.png'"),
        ("/static/../runs.db", "nothing at"),
        ("/elsewhere", "nothing at /elsewhere"),
    ],
)
def test_what_is_not_there_is_a_404_with_one_line(served, path, said):
    status, kind, body = _get(served + path)
    error = json.loads(body)["error"]
    assert (status, kind) == (404, "application/json")
    assert said in error and "\n" not in error


def test_nothing_but_get_and_head_is_answered(served):
    for method in ("POST", "PUT", "DELETE"):
        request = urllib.request.Request(served + "/api/runs", data=b"{}", method=method)
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(request, timeout=30)
        assert caught.value.code == 501


def test_the_page_needs_nothing_from_elsewhere(served):
    for path, kind in (("/", "text/html"), ("/static/view.js", "text/javascript")):
        status, got, body = _get(served + path)
        assert status == 200 and got.startswith(kind)
    for name in ("index.html", "view.js", "view.css"):
        text = static_text(name)
        assert not re.search(r"(src|href)=\"(https?:)?//", text), name
        assert "http://" not in text and "https://" not in text, name


def test_viewing_never_changes_the_store(finished_store, tmp_path):
    before = finished_store.read_bytes()
    server = ViewServer(check_stores([finished_store]), port=0, cache=FigureCache(0.0))
    with serving(server):
        for path in ("/api/runs", "/api/runs/0/1", "/api/runs/0/2"):
            assert _get(server.url + path.lstrip("/"))[0] == 200
    assert finished_store.read_bytes() == before


def test_a_store_the_view_cannot_read_is_one_line(tmp_path):
    text = tmp_path / "notes.db"
    text.write_text("not a store\n")
    for paths, said in (
        ([tmp_path / "absent.db"], "no such run store"),
        ([text], "notes.db"),
        ([], "no run store given"),
    ):
        with pytest.raises(ViewError, match=said) as caught:
            check_stores(paths)
        assert "\n" not in str(caught.value)


def _info(**changes) -> RunInfo:
    base = RunInfo(
        1, "fidelity", "running", "2026-01-01T00:00:00+00:00", None, {}, 0, {}, "x", 0, 0
    )
    return replace(base, **changes)


def test_time_left_is_the_pace_of_the_units_so_far():
    times = ["2026-01-01T00:00:10+00:00", "2026-01-01T00:00:14+00:00", "2026-01-01T00:00:22+00:00"]
    # 6 s a unit between the first and the last finished unit, 7 units left
    assert time_left_s(_info(), times, planned=10) == pytest.approx(42.0)
    # one unit: the time since the start, 10 s, for each of the 9 left
    assert time_left_s(_info(), times[:1], planned=10) == pytest.approx(90.0)
    assert time_left_s(_info(), [], planned=10) is None
    assert time_left_s(_info(status="finished"), times, planned=10) is None
    assert time_left_s(_info(), times, planned=None) is None


def test_figures_are_drawn_again_only_when_due():
    cache = FigureCache(min_interval_s=2.0, busy_fraction=0.25)
    assert cache._due(None, "1-running")
    old = Drawn("3-running", drawn_at=time.monotonic(), took_s=0.1)
    assert not cache._due(old, "3-running")  # nothing new
    assert not cache._due(old, "4-running")  # new, but drawn less than 2 s ago
    assert cache._due(old, "4-finished")  # the run ended: its last figures at once
    old.drawn_at -= 2.5
    assert cache._due(old, "4-running")
    old.took_s = 1.0  # a slow drawing: 1 s / 0.25 = 4 s before the next
    assert not cache._due(old, "4-running")
    with pytest.raises(ValueError, match="busy_fraction"):
        FigureCache(busy_fraction=0)


def _mtjlab(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mtjlab", *argv], capture_output=True, text=True, timeout=120
    )


def test_the_command_serves_warns_off_localhost_and_stops_on_ctrl_c(finished_store):
    argv = [sys.executable, "-m", "mtjlab", "view", "--store", str(finished_store), "--port", "0"]
    process = subprocess.Popen(
        [*argv, "--host", "0.0.0.0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        line = process.stdout.readline()
        url = re.search(r"at (http://\S+) ", line).group(1)
        port = url.rsplit(":", 1)[1].rstrip("/")
        assert _get(f"http://127.0.0.1:{port}/api/runs")[0] == 200
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0
    assert "warning: serving on 0.0.0.0" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        (["--export", "x.html"], "--export needs --run ID"),
        (["--run", "1"], "--run is for --export"),
        (["--export", "x.txt", "--run", "1"], "expected an .html file"),
        (["--export", "x.html", "--run", "7"], "run 7"),
        (["--refresh", "0"], "outside 0.1 to 3600 s"),
    ],
)
def test_the_commands_mistakes_are_one_line(finished_store, tmp_path, extra, said):
    extra = [str(tmp_path / e) if e.startswith("x.") else e for e in extra]
    done = _mtjlab("view", "--store", str(finished_store), *extra)
    assert done.returncode == 2 and said in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) <= 3


def test_a_port_in_use_is_one_line(finished_store):
    server = ViewServer(check_stores([finished_store]), port=0)
    try:
        port = str(server.server_address[1])
        done = _mtjlab("view", "--store", str(finished_store), "--port", port)
    finally:
        server.server_close()
    assert done.returncode == 2
    assert f"cannot serve on 127.0.0.1:{port}" in done.stderr and "--port" in done.stderr
