"""Render a page in headless Chromium (Debian's `chromium`): its DOM and a screenshot.

Tests that need a browser skip when there is none (scripts/setup_browser.sh installs it; where
FEDLORA_REQUIRE_LIVE=1 the suite turns that skip into a failure).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run"]


def chromium() -> str:
    """The browser's path; skips the test when it is not installed."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip("chromium is not installed (run scripts/setup_browser.sh)")
    return found


def dump_dom(page: Path, timeout: float = 60) -> str:
    """The DOM Chromium built from ``page``, serialized (proves the browser parsed it)."""
    done = subprocess.run(
        [chromium(), *FLAGS, "--dump-dom", page.resolve().as_uri()],
        capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def screenshot(page: Path, out: Path, size: tuple[int, int], timeout: float = 60) -> Path:
    """A PNG of ``page`` at ``size`` (width, height) pixels, written to ``out``."""
    done = subprocess.run(
        [chromium(), *FLAGS, f"--screenshot={out.resolve()}",
         f"--window-size={size[0]},{size[1]}", page.resolve().as_uri()],
        capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip
    assert done.returncode == 0 and out.is_file(), done.stderr[-2000:]
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return out
