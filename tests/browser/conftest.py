"""Real headless Chromium (Debian's) driven by Playwright, against the app served on loopback."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from playwright.sync_api import sync_playwright

from tests.conftest import ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def phone(browser):
    """A factory for phone-sized browser contexts: `phone(timezone_id=...)`. Any page that
    breaks the Content-Security-Policy fails the test."""
    contexts, violations = [], []

    def watch(message) -> None:
        if "Content Security Policy" in message.text:
            violations.append(message.text)

    def make(**options):
        options.setdefault("viewport", PHONE)
        context = browser.new_context(is_mobile=True, has_touch=True, **options)
        context.on("console", watch)
        contexts.append(context)
        return context
    yield make
    for context in contexts:
        context.close()
    assert violations == [], violations


def log_in(page, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/auth/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("form button[type=submit]")
    page.wait_for_url(f"{base}/me")


class Gunicorn:
    """The app served by gunicorn, as in production, on a fixed loopback port (a service
    worker belongs to its origin, so a "new deploy" must come up on the same one)."""

    def __init__(self, database_url: str, vapid_pem: str, tmp_path):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database_url, self.vapid_pem, self.tmp_path = database_url, vapid_pem, tmp_path
        self.process = None

    def start(self, release: str = "one") -> "Gunicorn":
        env = dict(os.environ, RACEAPP_ENV="testing", TEST_DATABASE_URL=self.database_url,
                   VAPID_PRIVATE_KEY=self.vapid_pem, RACEAPP_RELEASE=release,
                   INSTANCE_PATH=str(self.tmp_path))
        log = open(self.tmp_path / f"gunicorn-{release}.log", "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{self.port}",
             "--workers", "2", "--threads", "4", "app:app"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            try:
                if urllib.request.urlopen(f"{self.url}/healthz", timeout=1).status == 200:
                    return self
            except OSError:
                pass
            assert self.process.poll() is None, (self.tmp_path / f"gunicorn-{release}.log").read_text()
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(15)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def gunicorn(app, database_url, vapid_pem, tmp_path):
    server = Gunicorn(database_url, vapid_pem, tmp_path)
    yield server
    server.stop()
