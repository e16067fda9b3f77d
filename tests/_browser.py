"""The system Chromium for the browser tests, through Playwright's Python package (no browser
download): skipped without them, except on CI (``CI=true``), where they fail instead."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest


def chromium_path() -> str:
    """The system Chromium's path; skips (fails on CI) when it or Playwright is missing."""
    missing = []
    try:
        import playwright.sync_api  # noqa: F401  (only whether it is there)
    except ImportError:
        missing.append("the playwright package (pip install 'mtjlab[test]')")
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).is_file():
        missing.append("chromium (apt-get install chromium)")
    if missing:
        message = "browser test needs " + " and ".join(missing)
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return path
