"""Real headless Chromium (Debian's) driven by Playwright, against the app served on loopback."""
from __future__ import annotations

import os
import shutil

import pytest
from playwright.sync_api import sync_playwright

from tests.servers import Gunicorn

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


@pytest.fixture
def gunicorn(app, database_url, vapid_pem, tmp_path):
    server = Gunicorn(database_url, vapid_pem, tmp_path)
    yield server
    server.stop()
