"""The live view as a person sees it: a write-fidelity characterization runs in another process
while headless Chromium (Playwright, the system's Chromium) watches the page; the run's row and a
figure change as units arrive, with no reload, until it shows the run finished. The run's records
are the same as those of the same run with nobody watching. A screenshot is kept beside the run.
Then the exported page of the run, opened from disk with the network cut off.

Skipped without Chromium or Playwright, except on CI (``CI=true``), where it fails instead."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from _browser import chromium_path

from mtjlab.runs.store import RunStore
from mtjlab.view import FigureCache, ViewServer, check_stores, export_run, serving

# 28 random patterns and the 2 fixed ones into arrays 0 and 1: 60 writes, a few seconds.
FIDELITY = ["characterize", "fidelity", "--patterns", "28", "--arrays", "0,1", "--seed", "3"]
KEY = "0/1"
ROW = f'tr[data-key="{KEY}"]'
FIGURE = 'figure[data-name="fidelity_by_write.png"] img'
DEADLINE_S = 240


def _start_run(store, out) -> subprocess.Popen:
    argv = [sys.executable, "-m", "mtjlab", *FIDELITY, "--store", str(store), "--out", str(out)]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _wait_for_run(store, process: subprocess.Popen) -> None:
    """Until the store has the run (the view reads existing stores only)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read()
        if store.is_file():
            try:
                with RunStore(store, read_only=True) as s:
                    if s.runs():
                        return
            except ValueError:
                pass  # created a moment ago, not ready to read
        time.sleep(0.05)
    pytest.fail("the characterization did not start within 60 s")


def _look(page) -> dict:
    return page.evaluate(
        f"""() => {{
        const row = document.querySelector('{ROW}');
        const img = document.querySelector('{FIGURE}');
        return {{
            status: row ? row.querySelector('.status').innerText : null,
            records: row ? row.querySelector('.records').innerText : null,
            units: row ? row.querySelector('.units').innerText : null,
            figure: img ? img.getAttribute('src') : null,
            loaded: img ? img.complete && img.naturalWidth > 0 : false,
            marker: window.__mark === 'set once',
            navigations: performance.getEntriesByType('navigation').length,
        }};
    }}"""
    )


@pytest.fixture(scope="module")
def watched_run(tmp_path_factory):
    chromium = chromium_path()
    from playwright.sync_api import sync_playwright

    tmp = tmp_path_factory.mktemp("view")
    store, out = tmp / "live.db", tmp / "live"
    process = _start_run(store, out)
    seen = []
    try:
        _wait_for_run(store, process)
        cache = FigureCache(min_interval_s=0.2, busy_fraction=0.5)
        server = ViewServer(check_stores([store]), port=0, refresh_s=0.25, cache=cache)
        with serving(server), sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            try:
                page = browser.new_page(viewport={"width": 1300, "height": 1000})
                page.goto(server.url)
                page.wait_for_selector(ROW, timeout=30_000)
                page.evaluate("() => { window.__mark = 'set once'; }")
                deadline = time.monotonic() + DEADLINE_S
                while time.monotonic() < deadline:
                    look = _look(page)
                    seen.append(look)
                    drawn_last = (look["figure"] or "").endswith("-finished")
                    if look["status"] == "finished" and drawn_last and look["loaded"]:
                        break
                    page.wait_for_timeout(100)
                shot = out / "view_screenshot.png"
                page.screenshot(path=str(shot), full_page=True)
            finally:
                browser.close()
    finally:
        if process.poll() is None:
            process.terminate()
        process.wait(timeout=60)
    assert process.returncode == 0, process.stderr.read()
    return store, out, seen, shot


def test_the_page_follows_the_run_until_it_finishes(watched_run):
    _, _, seen, _ = watched_run
    running = [s for s in seen if s["status"] == "running"]
    assert running, "the page never showed the run as running"
    records = {s["records"] for s in running}
    figures = {s["figure"] for s in running if s["figure"]}
    assert len(records) >= 3, records  # the first count and at least two updates
    assert len(figures) >= 3, figures
    last = seen[-1]
    assert last["status"] == "finished"
    assert last["units"] == "60 of 60 units"
    assert last["loaded"] and last["figure"].endswith("v=60-finished")
    # one page load from start to end: every change came without a reload
    assert last["marker"] and last["navigations"] == 1


def test_the_records_are_those_of_a_run_nobody_watched(watched_run, tmp_path):
    store, _, _, _ = watched_run
    alone = tmp_path / "alone.db"
    process = _start_run(alone, tmp_path / "alone")
    _, err = process.communicate(timeout=DEADLINE_S)
    assert process.returncode == 0, err
    with RunStore(store, read_only=True) as s, RunStore(alone, read_only=True) as t:
        watched, unwatched = s.records(1), t.records(1)
        assert s.unit_results(1) == t.unit_results(1)
    assert len(watched) > 60 and watched == unwatched


def test_a_screenshot_of_the_page_is_kept_beside_the_run(watched_run):
    _, out, _, shot = watched_run
    assert shot.parent == out and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 30_000


def test_the_exported_page_opens_offline(watched_run, tmp_path):
    chromium = chromium_path()
    from playwright.sync_api import sync_playwright

    store, _, _, _ = watched_run
    page_file = export_run(check_stores([store]), 0, 1, tmp_path / "run1.html")
    asked = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = browser.new_page()

            def refuse(route):
                if not route.request.url.startswith(("file:", "data:")):
                    asked.append(route.request.url)
                    return route.abort()
                return route.continue_()

            page.route("**/*", refuse)
            page.goto(page_file.as_uri())
            page.wait_for_load_state("load")
            seen = page.evaluate(
                """() => ({
                status: document.querySelector('tr .status').innerText,
                title: document.getElementById('run-title').innerText,
                images: [...document.images].map(i => i.complete && i.naturalWidth > 0),
                names: [...document.querySelectorAll('figure')].map(f => f.dataset.name),
            })"""
            )
        finally:
            browser.close()
    assert asked == []  # nothing fetched from anywhere
    assert seen["status"] == "finished" and seen["title"].startswith("run 1 of live.db")
    assert "fidelity_by_write.png" in seen["names"] and len(seen["names"]) == 3
    assert seen["images"] and all(seen["images"])
