"""Playwright (headless Debian chromium) against pytest-django's live server.

Every browser test gets the platform's personas (tests/conftest.py), a fresh database
(transactional, as the live server needs) and a processed job on a real video. Screenshots go
to test-artifacts/ (gitignored)."""

from __future__ import annotations

import os
import re
import shutil

import pytest

from . import data, media

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make between
# browser steps are ordinary synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("SHOPFOCUS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--autoplay-policy=no-user-gesture-required"]


@pytest.fixture(scope="session")
def artifacts():
    data.ARTIFACTS.mkdir(exist_ok=True)
    return data.ARTIFACTS


@pytest.fixture(scope="session")
def browser_video_path(tmp_path_factory):
    return media.make_video(tmp_path_factory.mktemp("browser-media") / "grocery-live.mp4")


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM) or shutil.which("ffmpeg") is None:
        pytest.fail(f"the browser tests need {CHROMIUM} and ffmpeg: `make test` installs Debian's "
                    "chromium, chromium-driver and ffmpeg")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def world(personas, browser_video_path, live_server):
    return data.build_world(personas, browser_video_path)


_FUNCTION = re.compile(r"(async\s+)?(function\b|\(?[\w\s,]*\)?\s*=>)")


def _waits_as_functions(page) -> None:
    """The site's CSP forbids eval, and Playwright re-checks a wait_for_function *expression*
    with eval in the page (an EvalError once the first check is false); a function it calls
    directly. So expressions are passed on as arrow functions, and the CSP stays on in every test."""
    wait = page.wait_for_function

    def wait_for_function(expression, *args, **kwargs):
        text = expression.strip()
        if not _FUNCTION.match(text):
            expression = f"() => ({text})"
        return wait(expression, *args, **kwargs)

    page.wait_for_function = wait_for_function


class Session:
    """A logged-in browser context for one persona."""

    def __init__(self, browser, live_server, user, artifacts, test_name):
        self.base = live_server.url
        self.context = browser.new_context(viewport={"width": 1440, "height": 960}, accept_downloads=True)
        self.page = self.context.new_page()
        _waits_as_functions(self.page)
        self.errors: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.artifacts = artifacts
        self.test_name = test_name
        if user is not None:
            p = self.page
            p.goto(self.base + "/login/")
            p.fill("#id_username", user.username)
            p.fill("#id_password", data.password(user))
            p.click("button[type=submit]")
            p.wait_for_load_state()

    def shot(self, name: str) -> str:
        path = str(self.artifacts / f"{self.test_name}--{name}.png")
        self.page.screenshot(path=path, full_page=False)
        return path

    def csrf(self) -> str:
        return next((c["value"] for c in self.context.cookies() if c["name"] == "csrftoken"), "")


@pytest.fixture
def login(browser, live_server, artifacts, request):
    sessions = []

    def make(user=None):
        s = Session(browser, live_server, user, artifacts, request.node.name.replace("/", "_")[:80])
        sessions.append(s)
        return s

    yield make
    for s in sessions:
        s.context.close()
    errors = [e for s in sessions for e in s.errors]
    assert not errors, f"JavaScript errors on the page: {errors}"
