"""Headless Chromium from Debian, driven by Playwright, for the UI's browser tests.

Playwright's own browser download cannot run here (no registry of its), so the tests
launch the system's `chromium` through `executable_path`. The flags keep it from
reaching for the network at start, which a closed machine answers with errors.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


class BrowserUnavailable(RuntimeError):
    """No chromium, or no Playwright, on this machine."""


def chromium_path() -> str:
    found = os.environ.get("EVOFORGE_CHROMIUM") or shutil.which("chromium")
    if not found:
        raise BrowserUnavailable(
            "no chromium on PATH; install Debian's `chromium` (as .ci/run does) "
            "or set EVOFORGE_CHROMIUM"
        )
    return found


def launch(playwright: Any) -> Any:
    return playwright.chromium.launch(
        executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True
    )


def artifacts_folder() -> Path:
    """Where screenshots go: $EVOFORGE_TEST_ARTIFACTS, else test-artifacts/ in the
    checkout (ignored by git), so CI can keep them."""
    root = os.environ.get("EVOFORGE_TEST_ARTIFACTS")
    folder = Path(root) if root else Path(__file__).resolve().parents[2] / "test-artifacts"
    folder = folder / "ui"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
