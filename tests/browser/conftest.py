"""Real headless Chromium (Debian's) driven by Playwright, against the app served on loopback."""

from __future__ import annotations

import shutil
from datetime import datetime, timezone

import pytest
from playwright.sync_api import sync_playwright
from sqlalchemy import select

from raceapp.extensions import db
from raceapp.models import Event, ShuttleDeparture
from raceapp.services import alerts, shuttles
from raceapp.services.alerts import AlertDraft
from tests.helpers import DATA, import_files
from tests.servers import Gunicorn

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
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
        options.setdefault("is_mobile", True)
        options.setdefault("has_touch", True)
        context = browser.new_context(**options)
        context.on("console", watch)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()
    assert violations == [], violations


@pytest.fixture
def gunicorn(app, database_url, vapid_pem, tmp_path):
    server = Gunicorn(database_url, vapid_pem, tmp_path)
    yield server
    server.stop()


@pytest.fixture
def race(app, tmp_path, make_user, make_entry, make_organizer):
    """A race a year ahead (the year written in for YEAR), so the kit counts down on the real
    clock the gunicorn processes use: a runner with a ticket and an alert to read."""
    text = (DATA / "offline-race.toml").read_text().replace("YEAR", str(datetime.now().year + 1))
    path = tmp_path / "offline-race.toml"
    path.write_text(text)
    import_files(path)
    event = db.session.scalar(select(Event).where(Event.slug == "offline-test"))
    runner = make_user("aki@example.com", "Aki")
    entry = make_entry(runner, event, "60k", "42")
    now = datetime.now(timezone.utc)
    departure = db.session.scalar(select(ShuttleDeparture))
    booking = shuttles.book(runner, departure.id, now=now, idempotency_key=None)
    alert = alerts.post_alert(
        make_organizer(event),
        event,
        AlertDraft("info", "Bib pick-up from 14:00", body="At the community hall."),
        now=now,
    )
    return {"event": event, "runner": runner, "entry": entry, "booking": booking, "alert": alert}
