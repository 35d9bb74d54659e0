"""Race state in real Chromium at phone size: a pushed cancellation reaches every cached page,
preview counts down from the chosen moment, a runner in two races switches between them, the
pace helper answers bad input under its field, and screenshots of changed races."""

from __future__ import annotations

import json
import os
import re
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from raceapp.extensions import db
from raceapp.models import User
from raceapp.services import alerts
from raceapp.services.alerts import AlertDraft
from tests.browser.helpers import eventually, log_in, visit_kit_online
from tests.helpers import PASSWORD, push_payload

DATA = Path(__file__).resolve().parents[1] / "data"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
TOKYO = ZoneInfo("Asia/Tokyo")


def test_a_pushed_cancellation_reaches_every_cached_page_offline(gunicorn, phone, race):
    base = gunicorn.start().url
    context = phone()
    context.grant_permissions(["notifications"], origin=base)
    page = context.new_page()
    visit_kit_online(page, base, race)
    kit_pages = [
        "/me",
        "/me/gear",
        "/me/schedule",
        "/me/cutoffs",
        f"/shuttles/tickets/{race['booking'].reference}",
        "/events/offline-test",
        "/events/offline-test/60k",
    ]
    page.goto(base + "/me/cutoffs")
    assert page.locator("[data-countdown]").count() > 0  # counting down before

    organizer = db.session.scalar(select(User).where(User.email == "organizer@example.com"))
    cancel = alerts.post_alert(
        organizer,
        race["event"],
        AlertDraft("cancellation", "Typhoon: the race is cancelled"),
        now=datetime.now(timezone.utc),
    )
    payload = push_payload(cancel)
    assert payload["refresh"] is True  # the phone is told to refresh its kit
    context.service_workers[0].evaluate(
        "payload => self.dispatchEvent(new PushEvent('push', {data: payload}))", json.dumps(payload)
    )
    cached = (
        "caches.open('raceapp-pages').then(c => c.match(%r)).then(r => r && r.text())"
        ".then(t => Boolean(t) && t.includes('data-state=\"cancelled\"'))"
    )
    for path in kit_pages:
        eventually(page, cached % path)
    eventually(
        page,
        "caches.open('raceapp-pages').then(c => c.match('/api/kit'))"
        ".then(r => r.json()).then(k => k.category.state === 'cancelled')",
    )

    context.set_offline(True)
    for path in kit_pages:
        page.goto(base + path)
        assert page.locator("[data-offline-badge]").is_visible(), path
        html = page.content()
        assert 'data-state="cancelled"' in html, path
        assert page.locator("[data-countdown]").count() == 0, path
        assert page.locator(".pace-form").count() == 0, path
    page.goto(base + "/me")
    assert "Offline Test Trail cancelled" in page.inner_text(".banner-status")
    assert "this race will not take place" in page.inner_text(".kit-hero")


def test_preview_counts_down_from_the_chosen_moment(
    live_server, phone, okushinano, make_user, make_entry, make_organizer
):
    make_entry(make_organizer(okushinano), okushinano, "100k", "1001")  # an organizer who runs
    context = phone()
    page = context.new_page()
    log_in(page, live_server, "organizer@example.com", PASSWORD)
    page.goto(f"{live_server}/events/okushinano-100-2024")
    page.click("text=Preview this race at another moment")
    page.fill("input[name=as_of]", "2024-06-08 11:00")
    page.click("form.preview-form button[type=submit]")
    page.goto(f"{live_server}/me")
    countdown = page.locator(".kit-hero [data-countdown]")
    first = countdown.inner_text()
    # Kayanodaira 1 closes at 16:30: five and a half hours after the previewed 11:00.
    assert re.match(r"5 h (29|30) min", first), first
    page.wait_for_function(
        "before => document.querySelector('.kit-hero [data-countdown]').textContent !== before",
        arg=first,
    )
    assert "Closed" not in countdown.inner_text() and "Started" not in countdown.inner_text()
    # The pace helper offline counts from the previewed moment too: at km 30, 18 km and 864 m
    # up (26.64 flat km) to go in 5 h 30 min is 12:23 per flat km; 6 h for the first 30 km
    # puts the arrival at 14:36, as the server says.
    page.goto(f"{live_server}/me/cutoffs")
    context.set_offline(True)
    page.fill("input[name=km]", "30")
    page.click("text=Show the pace I need")
    page.wait_for_selector("#pace table.pace")
    first_row = page.inner_text("#pace tbody tr:first-child")
    assert re.search(r"12:2[23] min/km", first_row), first_row
    assert "+864 m" in first_row and re.search(r"at your pace so far: Sat 14:3[67]", first_row)
    context.set_offline(False)
    # Booking in preview: no button, a note instead.
    page.goto(f"{live_server}/events/okushinano-100-2024/shuttles")
    assert "Preview: nothing is saved" in page.inner_text("main")
    assert page.locator("text=Book a seat").count() == 0


def test_a_runner_in_two_races_sees_the_next_one_and_switches(
    gunicorn, phone, race, seed_races, make_entry
):
    make_entry(race["runner"], seed_races["okushinano-100-2024"], "50k", "555")
    base = gunicorn.start().url
    page = phone().new_page()
    log_in(page, base, "aki@example.com", PASSWORD)
    # The race a year ahead comes first; the 2024 race is past.
    assert "60 km" in page.inner_text(".kit-hero h1")
    switcher = page.locator(".race-switcher")
    assert "Okushinano 100" in switcher.inner_text()
    switcher.locator("button", has_text="Okushinano 100").click()
    page.wait_for_url(f"{base}/me")
    assert "50 km" in page.inner_text(".kit-hero h1")
    assert "The race is over" in page.inner_text(".kit-hero")
    page.goto(f"{base}/me/cutoffs")
    assert "50 km" in page.text_content("main")
    page.goto(f"{base}/me")
    page.locator(".race-switcher button", has_text="Offline Test Trail").click()
    page.wait_for_url(f"{base}/me")
    assert "60 km" in page.inner_text(".kit-hero h1")


def test_the_pace_helper_answers_bad_input_under_its_field(gunicorn, phone, race):
    base = gunicorn.start().url
    context = phone()
    page = context.new_page()
    log_in(page, base, "aki@example.com", PASSWORD)
    for offline in (False, True):
        page.goto(f"{base}/me/cutoffs")
        context.set_offline(offline)
        for typed, words in (
            ("abc", "number of km"),
            ("-5", "0 km or more"),
            ("", "Say where you are"),
            ("70", "between 0 and 60 km"),
        ):
            page.fill("input[name=km]", typed)
            page.click("text=Show the pace I need")
            page.wait_for_function(
                "words => (document.querySelector('[data-pace-message]') || {}).textContent"
                " && document.querySelector('[data-pace-message]').textContent.includes(words)",
                arg=words,
            )
            assert page.get_attribute("input[name=km]", "aria-invalid") == "true", typed
            assert page.locator("#request-error").is_hidden(), (offline, typed)
        page.fill("input[name=km]", "10")
        page.click("text=Show the pace I need")
        page.wait_for_selector("#pace table.pace")
        assert page.get_attribute("input[name=km]", "aria-invalid") is None
        context.set_offline(False)


def test_screenshots_of_changed_races(
    live_server, phone, seed_races, make_user, make_entry, make_organizer, frozen_clock, tmp_path
):
    """A cancelled category, a delayed start and a race back on, on the kit home."""
    out = DOCS if os.environ.get("RACEAPP_SCREENSHOTS") == "1" else tmp_path
    out.mkdir(parents=True, exist_ok=True)
    okushinano = seed_races["okushinano-100-2024"]
    organizer = make_organizer(okushinano)
    eve = datetime(2024, 6, 7, 18, 0, tzinfo=TOKYO)
    runners = {}
    for code, bib in (("100k", "1001"), ("50k", "5001"), ("25k", "2501")):
        runners[code] = make_user(f"{code}@example.com", name=f"Runner {code}")
        make_entry(runners[code], okushinano, code, bib)
    post = lambda *a, **kw: alerts.post_alert(
        organizer,
        okushinano,
        AlertDraft(*a, **kw),  # noqa: E731
        now=eve,
    )
    post(
        "cancellation",
        "25 km cancelled: landslide on the Donguri Park trail",
        body="The 25 km will not take place. The 100 km and 50 km go ahead.",
        category_code="25k",
    )
    post(
        "start_delay",
        "100 km start delayed 45 min: fog on Mt. Kosha",
        body="The start moves to 05:45. Every cut-off moves with it.",
        category_code="100k",
        delay_minutes=45,
    )
    post("cancellation", "50 km cancelled: thunderstorms", category_code="50k")
    post(
        "reinstate",
        "50 km back on: the storm has passed",
        body="The 50 km starts at 12:00 instead of 11:00.",
        category_code="50k",
        new_start="2024-06-08 12:00",
    )
    frozen_clock(eve.replace(hour=20))
    shots = {
        "state-cancelled-category": "25k",
        "state-delayed-start": "100k",
        "state-reinstated": "50k",
    }
    for name, code in shots.items():
        page = phone(device_scale_factor=2).new_page()
        page.clock.install(time=eve.replace(hour=20))
        log_in(page, live_server, f"{code}@example.com", PASSWORD)
        page.screenshot(path=str(out / f"{name}.png"), full_page=False)
        page.goto(f"{live_server}/me/cutoffs")
        page.screenshot(path=str(out / f"{name}-cutoffs.png"), full_page=False)
    for name in shots:
        assert (out / f"{name}.png").read_bytes().startswith(b"\x89PNG")
