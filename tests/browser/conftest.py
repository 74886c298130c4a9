"""Browser tier: the real app served on a spare port, driven by Playwright in Debian's Chromium.

Playwright's own browser download does not work here (no internet); it drives /usr/bin/chromium
instead (`.ci/run` installs it and fonts-noto-cjk with apt). Every page test fails on a console error.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.support.live_server import LiveServer
from tests.support.services import ROOT, unavailable

SCREENSHOTS = ROOT / "docs" / "screenshots"
CHROMIUM_FLAGS = [
    # As the machine's probe runs it: no sandbox as root, and no background traffic to a closed network.
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--lang=zh-CN",  # the browser's own widgets (date pickers) in the language our users read
]
# The screens ../shared/UI.md names for each page's users.
SCREENS = {
    "phone": {"width": 390, "height": 844},
    "laptop": {"width": 1366, "height": 768},
    "wall": {"width": 1920, "height": 1080},
}


def chromium_path() -> str | None:
    return os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def browser():
    path = chromium_path()
    if path is None:
        unavailable("Chromium not installed (apt-get install chromium fonts-noto-cjk)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def live_server(app):
    with LiveServer(app) as server:
        yield server


@pytest.fixture
def screen(request) -> str:
    """The screen a test looks at; parametrize indirectly or override per module (default laptop)."""
    return getattr(request, "param", "laptop")


@pytest.fixture
def page(browser, live_server, screen):
    """A fresh zh-CN page in Asia/Shanghai; fails the test if the page logged a console error."""
    context = browser.new_context(
        base_url=live_server.url, viewport=SCREENS[screen], locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.console_errors = errors
    yield page
    context.close()
    assert not errors, f"console errors on the page: {errors}"


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot under docs/screenshots/ (committed: the README shows them)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
