"""The reproduce report as a reader sees it: report.html opened from disk in headless Chromium
(Playwright, the system's Chromium), every figure loaded, the tables and captions there, and a
full-page screenshot kept beside the report.

Skipped without Chromium or Playwright, except on CI (``CI=true``), where it fails instead."""

from __future__ import annotations

import contextlib
import io

import pytest
from _browser import chromium_path

from mtjlab.cli.app import main

ACCURACY_ROWS = [
    "software (binary)",
    "thresholds retuned",
    "hardware, untuned",
    "tuned: gain and offset",
    "tuned: and thresholds",
]


@pytest.fixture(scope="module")
def page_of_a_run(tmp_path_factory):
    chromium = chromium_path()
    from playwright.sync_api import sync_playwright

    out = tmp_path_factory.mktemp("browser") / "run"
    argv = ["reproduce", "--solutions", "12", "--workers", "1", "--out", str(out)]
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(argv) == 0
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.goto((out / "report.html").as_uri())
            page.wait_for_load_state("load")
            seen = page.evaluate(
                """() => ({
                images: [...document.images].map(i => ({
                    src: i.getAttribute('src'), complete: i.complete, width: i.naturalWidth})),
                captions: [...document.querySelectorAll('figure')].map(
                    f => f.querySelector('figcaption')?.innerText ?? ''),
                tables: [...document.querySelectorAll('table')].map(t => ({
                    caption: t.caption ? t.caption.innerText : '',
                    rows: [...t.rows].map(r => [...r.cells].map(c => c.innerText.trim())),
                    cls: t.className})),
                scripts: document.scripts.length,
                text: document.body.innerText,
            })"""
            )
            shot = out / "report_screenshot.png"
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    return out, seen, shot


def test_every_figure_loads_from_the_folder(page_of_a_run):
    out, seen, _ = page_of_a_run
    assert len(seen["images"]) >= 6
    for image in seen["images"]:
        assert image["complete"] and image["width"] > 0, image
        assert "/" not in image["src"] and (out / image["src"]).is_file()  # relative, movable
    assert seen["scripts"] == 0  # nothing fetched, nothing run


def test_the_accuracy_table_has_the_consoles_rows_and_columns(page_of_a_run):
    _, seen, _ = page_of_a_run
    table = next(t for t in seen["tables"] if t["caption"].startswith("Accuracy and fidelity"))
    assert table["rows"][0] == ["", "mean", "median", "5 %", "best"]
    names = [r[0] for r in table["rows"][1:]]
    assert names[:5] == ACCURACY_ROWS
    for row in table["rows"][1:]:
        assert all(0 <= float(v) <= 100 for v in row[1:])


def test_every_figure_says_what_it_shows(page_of_a_run):
    _, seen, _ = page_of_a_run
    assert len(seen["captions"]) == len(seen["images"])
    for caption in seen["captions"]:
        assert len(caption.split()) > 12, caption
        assert ".png" not in caption


def test_the_parameters_are_a_readable_table(page_of_a_run):
    _, seen, _ = page_of_a_run
    table = next(t for t in seen["tables"] if t["cls"] == "parameters")
    cells = [c for r in table["rows"] for c in r]
    assert not any("{" in c or "[" in c for c in cells)
    shown = dict(table["rows"])
    assert shown["write: P->AP ramp"] == "0.55 to 0.59 V in steps of 0.02 V"
    assert shown["defect-aware placement"] == "no"
    assert "mtjlab reproduce --solutions 12 --seed 0" in seen["text"]


def test_a_full_page_screenshot_is_kept_beside_the_report(page_of_a_run):
    out, _, shot = page_of_a_run
    assert shot.parent == out and shot.stat().st_size > 50_000
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
