"""The race kit in a real browser at phone size: countdown, time zones, ticking with htmx."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from raceapp.extensions import db
from raceapp.models import GearTick
from tests.browser.helpers import log_in
from tests.helpers import PASSWORD

TOKYO = ZoneInfo("Asia/Tokyo")
MID_RACE = datetime(2024, 6, 8, 11, 0, tzinfo=TOKYO)  # next cut-off 16:30: 5 h 30 min left


@pytest.fixture
def runner_in_100k(okushinano, make_user, make_entry, frozen_clock):
    user = make_user("aki@example.com")
    make_entry(user, okushinano, "100k", "1234")
    frozen_clock(MID_RACE)
    return user


def countdown_text(page) -> str:
    return page.locator("time.countdown").first.inner_text()


@pytest.mark.parametrize("zone", ["Asia/Tokyo", "Europe/London", "America/Los_Angeles"])
def test_countdown_ticks_from_the_device_clock_in_any_zone(
    live_server, phone, runner_in_100k, zone
):
    page = phone(timezone_id=zone).new_page()
    page.clock.install(time=MID_RACE)  # the phone's clock: Sat 11:00 in Tokyo
    log_in(page, live_server, "aki@example.com", PASSWORD)
    page.goto(f"{live_server}/me/cutoffs")
    assert page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") == zone
    first = countdown_text(page)
    assert first.startswith("5 h 30 min") or first.startswith("5 h 29 min 5"), first
    page.clock.run_for(2000)
    later = countdown_text(page)
    assert later != first
    assert re.fullmatch(r"5 h 29 min 5\d s", later), later
    # The clock time stays in the event's zone, whatever the phone's zone.
    assert "Sat 16:30" in page.inner_text("main")


def test_countdown_changes_in_real_time(live_server, phone, runner_in_100k):
    page = phone().new_page()
    page.clock.install(time=MID_RACE)
    page.clock.resume()  # let the (fake) clock run at real speed
    log_in(page, live_server, "aki@example.com", PASSWORD)
    page.goto(f"{live_server}/me")
    first = countdown_text(page)
    page.wait_for_timeout(2100)
    assert countdown_text(page) != first


def test_ticking_with_htmx_updates_the_row_and_progress(live_server, phone, runner_in_100k):
    page = phone().new_page()
    log_in(page, live_server, "aki@example.com", PASSWORD)
    page.goto(f"{live_server}/me/gear")
    assert "0 of 9 mandatory items packed" in page.inner_text("#progress")
    url_before = page.url
    rows = page.locator(".checklist .gear-row")
    for i in range(3):
        rows.nth(i).locator("button.tick").click()
        page.wait_for_function(
            f"() => document.querySelector('#progress').innerText.includes('{i + 1} of 9')"
            f" && document.querySelectorAll('.gear-row.packed').length === {i + 1}"
        )
    assert page.url == url_before  # no page load
    db.session.expire_all()
    assert len(db.session.scalars(select(GearTick).where(GearTick.packed)).all()) == 3
    rows.nth(0).locator("button.tick").click()
    page.wait_for_function("() => document.querySelector('#progress').innerText.includes('2 of 9')")


def test_ticking_without_javascript(live_server, phone, runner_in_100k):
    page = phone(java_script_enabled=False).new_page()
    log_in(page, live_server, "aki@example.com", PASSWORD)
    page.goto(f"{live_server}/me/gear")
    page.locator(".checklist .gear-row").nth(0).locator("button.tick").click()
    page.wait_for_load_state()
    assert "1 of 9 mandatory items packed" in page.inner_text("#progress")


def test_pace_helper_with_htmx(live_server, phone, runner_in_100k):
    page = phone().new_page()
    log_in(page, live_server, "aki@example.com", PASSWORD)
    page.goto(f"{live_server}/me/cutoffs")
    page.fill("input[name=km]", "30")
    page.click(".pace-form button")
    page.wait_for_selector("#pace table")
    # 18 km and 864 m up (26.64 flat km) in 5 h 30 min.
    assert "12:23 min/km" in page.inner_text("#pace")
    assert "+864 m" in page.inner_text("#pace")
    assert page.locator("#pace .pill.grade").first.inner_text().lower() == "comfortable"


def test_no_horizontal_scroll_on_kit_pages(live_server, phone, runner_in_100k):
    page = phone(viewport={"width": 360, "height": 740}).new_page()
    log_in(page, live_server, "aki@example.com", PASSWORD)
    for path in (
        "/me",
        "/me/gear",
        "/me/schedule",
        "/me/cutoffs",
        "/events/okushinano-100-2024",
        "/events/okushinano-100-2024/100k",
    ):
        page.goto(f"{live_server}{path}")
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, path
