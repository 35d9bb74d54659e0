"""Screenshots of the kit at phone size, from the running app.

`make screenshots` (RACEAPP_SCREENSHOTS=1) writes them to docs/screenshots/; otherwise they go
to a temporary folder, so the suite checks they can be taken without touching the repository.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.browser.helpers import branded_file, first_departure_after, log_in
from tests.helpers import PASSWORD, import_files

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PNG = b"\x89PNG\r\n\x1a\n"
# Pictures of the pages: the same on any database, taken in the SQLite pass only.
pytestmark = pytest.mark.pages


def test_kit_screenshots(
    live_server, phone, okushinano, make_user, make_entry, frozen_clock, tmp_path
):
    out = DOCS if os.environ.get("RACEAPP_SCREENSHOTS") == "1" else tmp_path
    out.mkdir(parents=True, exist_ok=True)
    user = make_user("runner@example.com", name="Demo Runner")
    make_entry(user, okushinano, "100k", "1001")
    moment = datetime(2024, 6, 8, 11, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    frozen_clock(moment)
    page = phone(device_scale_factor=2).new_page()
    page.clock.install(time=moment)
    log_in(page, live_server, "runner@example.com", PASSWORD)
    page.goto(f"{live_server}/me/gear")
    for i in (0, 2, 4, 5):
        page.locator(".checklist .gear-row").nth(i).locator("button.tick").click()
        page.wait_for_function(
            f"() => document.querySelectorAll('.gear-row.packed').length > {[0, 2, 4, 5].index(i)}"
        )
    shots = {"checklist": "/me/gear", "home": "/me", "cutoffs": "/me/cutoffs"}
    for name, path in shots.items():
        page.goto(f"{live_server}{path}")
        page.screenshot(path=str(out / f"{name}.png"))
    for name in shots:
        assert (out / f"{name}.png").read_bytes().startswith(PNG)


def test_alert_screenshots(
    app,
    live_server,
    phone,
    okushinano,
    make_user,
    make_entry,
    make_organizer,
    make_runners,
    push_service,
    frozen_clock,
    tmp_path,
):
    """The alerts feed and the kit home of a changed race, and the organizer's figures."""
    from raceapp.push import worker
    from raceapp.services import alerts
    from raceapp.services.alerts import AlertDraft
    from tests.push_service import Reply

    out = DOCS if os.environ.get("RACEAPP_SCREENSHOTS") == "1" else tmp_path
    out.mkdir(parents=True, exist_ok=True)
    user = make_user("runner@example.com", name="Demo Runner")
    make_entry(user, okushinano, "100k", "1001")
    organizer = make_organizer(okushinano)
    make_runners(okushinano, "100k", 40, push_service)
    eve = datetime(2024, 6, 7, 18, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    frozen_clock(eve.replace(hour=21, minute=4))
    alerts.post_alert(
        organizer,
        okushinano,
        AlertDraft(
            "weather",
            "Thunderstorms likely after 14:00",
            body="Carry the waterproof jacket and the emergency blanket.",
        ),
        now=eve,
    )
    push_service.script(Reply(410), Reply(410), Reply(500))
    delay = alerts.post_alert(
        organizer,
        okushinano,
        AlertDraft(
            "start_delay",
            "100 km start delayed by 30 min: fog on the course",
            body="The start moves to 05:30. Every cut-off moves 30 minutes later.",
            category_code="100k",
            delay_minutes=30,
        ),
        now=eve.replace(hour=21),
    )
    worker.drain(app)

    page = phone(device_scale_factor=2).new_page()
    page.clock.install(time=eve.replace(hour=21, minute=4))
    log_in(page, live_server, "runner@example.com", PASSWORD)
    page.goto(f"{live_server}/me/alerts")
    page.screenshot(path=str(out / "alerts.png"))
    page.goto(f"{live_server}/me")
    page.screenshot(path=str(out / "home-changed.png"))
    page.goto(f"{live_server}/me/alerts/{delay.id}")
    page.context.clear_cookies()
    log_in(page, live_server, "organizer@example.com", PASSWORD)
    page.goto(f"{live_server}/organizer/alerts/{delay.id}")
    page.screenshot(path=str(out / "alert-figures.png"), full_page=True)
    for name in ("alerts", "home-changed", "alert-figures"):
        assert (out / f"{name}.png").read_bytes().startswith(PNG)


THEMED = {
    "home": "/me",
    "cutoffs": "/me/cutoffs",
    "checklist": "/me/gear",
    "schedule": "/me/schedule",
    "alerts": "/me/alerts",
    "help": "/me/help",
    "shuttles": "/events/{slug}/shuttles",
    "ticket": "/shuttles/tickets/{ticket}",
    "race": "/events/{slug}",
    "console": "/organizer/events/{slug}",
}
JPEG = b"\xff\xd8\xff"


def shoot(page, path) -> None:
    # JPEG at 1.5 times the phone's pixels: sharp enough in the README, a tenth of a PNG.
    page.screenshot(path=str(path), type="jpeg", quality=75)


def test_main_screens_light_and_dark_in_both_languages(
    live_server, phone, okushinano, make_user, make_entry, make_organizer, frozen_clock, tmp_path
):
    """The main screens, light and dark, English and Japanese, on race morning with a delayed
    start: docs/screenshots/themes/<language>-<theme>-<screen>.jpg; and a race in its own
    colour (its file's `colour`), light and dark."""

    from raceapp.extensions import db
    from raceapp.services import alerts, shuttles
    from raceapp.services.alerts import AlertDraft

    out = (DOCS if os.environ.get("RACEAPP_SCREENSHOTS") == "1" else tmp_path) / "themes"
    out.mkdir(parents=True, exist_ok=True)
    user = make_user("runner@example.com", name="Demo Runner")
    make_entry(user, okushinano, "100k", "1001")
    organizer = make_organizer(okushinano)
    eve = datetime(2024, 6, 7, 20, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    morning = datetime(2024, 6, 8, 11, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    departure = first_departure_after(morning)
    ticket = shuttles.book(user, departure.id, idempotency_key="themes", now=eve).reference
    alerts.post_alert(
        organizer,
        okushinano,
        AlertDraft(
            "start_delay",
            titles={
                "en": "100 km start delayed by 30 min: fog on the course",
                "ja": "霧のため100kmのスタートを30分遅らせます",
            },
            category_code="100k",
            delay_minutes=30,
        ),
        now=eve,
    )
    frozen_clock(morning)

    def url(path: str) -> str:
        return live_server + path.format(ticket=ticket, slug=okushinano.slug)

    for locale, language in (("en-GB", "en"), ("ja-JP", "ja")):
        context = phone(device_scale_factor=1.5, locale=locale, timezone_id="Asia/Tokyo")
        page = context.new_page()
        page.clock.install(time=morning)
        log_in(page, live_server, "runner@example.com", PASSWORD)
        if language == "en":
            page.goto(f"{live_server}/me/gear")
            for i in (0, 2, 3):
                page.locator(".checklist .gear-row").nth(i).locator("button.tick").click()
            page.wait_for_function("() => document.querySelectorAll('.gear-row.packed').length > 2")
        for theme in ("light", "dark"):
            page.emulate_media(color_scheme=theme)
            for name, path in THEMED.items():
                if name != "console":
                    page.goto(url(path))
                    shoot(page, out / f"{language}-{theme}-{name}.jpg")
        page.context.clear_cookies()
        log_in(page, live_server, "organizer@example.com", PASSWORD)
        for theme in ("light", "dark"):
            page.emulate_media(color_scheme=theme)
            page.goto(url(THEMED["console"]))
            shoot(page, out / f"{language}-{theme}-console.jpg")
        context.close()  # its service worker's background requests end with it

    db.session.rollback()  # this test's own read, kept open since the browsing began, ends
    import_files(branded_file(tmp_path, "#c2410c"))
    db.session.commit()
    page = phone(device_scale_factor=1.5, locale="en-GB", timezone_id="Asia/Tokyo").new_page()
    page.clock.install(time=morning)
    log_in(page, live_server, "runner@example.com", PASSWORD)
    for theme in ("light", "dark"):
        page.emulate_media(color_scheme=theme)
        page.goto(url("/me"))
        shoot(page, out / f"en-{theme}-branded-home.jpg")
    shots = sorted(out.glob("*.jpg"))
    assert len(shots) == 2 * 2 * len(THEMED) + 2
    assert all(shot.read_bytes().startswith(JPEG) for shot in shots)
