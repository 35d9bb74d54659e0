"""The course in real Chromium, with no signal: the profile, "where am I" with a mocked position,
and the course km on the Help page.

The race is the demo copy of Okushinano, next weekend on the real clock the gunicorn processes
use, with its drawn course track.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from raceapp.extensions import db
from raceapp.models import Event
from raceapp.racefile.gpx import point_at
from raceapp.services import demo_race
from tests.browser.helpers import CACHED_URLS, eventually, log_in
from tests.helpers import PASSWORD, import_files

SEED = Path(__file__).resolve().parents[2] / "races" / "okushinano-100-2024.toml"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture
def demo(app, tmp_path, make_user, make_entry):
    path = demo_race.write_demo(SEED, tmp_path, datetime.now(timezone.utc).date())
    import_files(path)
    event = db.session.scalar(select(Event).where(Event.slug.endswith(demo_race.DEMO_SUFFIX)))
    runner = make_user("aki@example.com", "Aki")
    entry = make_entry(runner, event, "100k", "42")
    category = entry.category
    return {"event": event, "entry": entry, "points": category.track.points}


def cache_the_kit(page, base: str) -> None:
    log_in(page, base, "aki@example.com", PASSWORD)
    page.goto(base + "/me/cutoffs")
    eventually(
        page,
        f"""async () => {{
      const cached = await ({CACHED_URLS})();
      return ['/me/cutoffs', '/me/help', '/me/course.json'].every(u => cached.includes(u));
    }}""",
    )


def at_km(points, km: float) -> dict:
    lat, lon, _elevation = point_at(points, km)
    return {"latitude": lat, "longitude": lon, "accuracy": 15}


def test_where_am_i_works_offline_from_the_cached_track(gunicorn, phone, demo):
    base = gunicorn.start().url
    context = phone(permissions=["geolocation"], geolocation=at_km(demo["points"], 30.0))
    page = context.new_page()
    cache_the_kit(page, base)
    # The profile is drawn by the server: a line, the aid stations, the next cut-off marked.
    assert page.locator("[data-profile] .ridge").count() == 1
    assert page.locator("[data-profile] .station.cutoff").count() == 7
    assert page.locator("[data-profile] .station.next").count() == 1
    assert "not the real route" in page.inner_text(".course-profile")
    # Nothing asked for the position yet.
    assert page.inner_text("[data-where-result]") == ""
    context.set_offline(True)
    page.reload()
    # The position never leaves the phone: no request carries it.
    lat_text = f"{at_km(demo['points'], 30.0)['latitude']:.4f}"
    sent = []
    page.on("request", lambda r: sent.append((r.url, r.post_data or "")))
    page.click("[data-where-button]")
    page.wait_for_function(
        "() => document.querySelector('[data-where-result]').textContent.includes('km')"
    )
    result = page.inner_text("[data-where-result]")
    assert "You are at km 30.0 of the course" in result, result
    # Next is Kayanodaira 1 at km 48, with its cut-off (Sat 16:30) and the time left to it.
    assert "Kayanodaira Aid Station 1, km 48.0: 18.0 km" in result, result
    assert "Its cut-off is at Sat 16:30, in" in result, result
    # The runner's dot on the course, and a line across the profile at km 30 of 100.
    assert page.is_visible("[data-shape-you]")
    assert page.get_attribute("[data-profile-you]", "hidden") is None
    x = float(page.get_attribute("[data-profile-you]", "x1"))
    assert x == pytest.approx(4 + 352 * 30 / demo["entry"].category.distance_km, abs=0.5)
    # One tap puts the km in the pace helper, which works offline too.
    page.click("[data-where-pace]")
    page.wait_for_selector("#pace table.pace")
    assert page.input_value(".pace-form [name=km]") == "30.0"
    assert not [r for r in sent if lat_text in r[0] or lat_text in r[1]], sent
    if os.environ.get("RACEAPP_SCREENSHOTS") == "1":
        page.evaluate("document.querySelector('.topbar').style.position = 'static'")
        page.locator("#where").screenshot(path=str(SCREENSHOTS / "course-where-am-i.png"))
        page.locator(".course-profile").screenshot(path=str(SCREENSHOTS / "course-profile.png"))
    # Off the course, 500 m east of km 30: said honestly.
    lat, lon, _e = point_at(demo["points"], 30.0)
    context.set_geolocation({"latitude": lat, "longitude": lon + 0.0056, "accuracy": 20})
    page.click("[data-where-button]")
    page.wait_for_function(
        "() => document.querySelector('[data-where-result]').textContent.includes('off the course')"
    )


def test_the_help_page_gives_the_course_km_offline(gunicorn, phone, demo):
    base = gunicorn.start().url
    context = phone(permissions=["geolocation"], geolocation=at_km(demo["points"], 61.5))
    page = context.new_page()
    cache_the_kit(page, base)
    context.set_offline(True)
    page.goto(base + "/me/help")
    page.click("[data-find-position]")
    page.wait_for_function(
        "() => document.querySelector('[data-course-km]').textContent.includes('61.5')"
    )
    assert "km 61.5 of the course" in page.inner_text("[data-course-km]")


def test_the_course_in_japanese(gunicorn, phone, demo):
    base = gunicorn.start().url
    context = phone(
        permissions=["geolocation"],
        geolocation=at_km(demo["points"], 30.0),
        locale="ja-JP",
        extra_http_headers={"Accept-Language": "ja"},
    )
    page = context.new_page()
    cache_the_kit(page, base)
    page.click("[data-where-button]")
    page.wait_for_function(
        "() => document.querySelector('[data-where-result]').textContent.includes('km')"
    )
    result = page.inner_text("[data-where-result]")
    assert "コース上" in result or "km地点" in result, result
    assert "関門" in result, result
    if os.environ.get("RACEAPP_SCREENSHOTS") == "1":
        page.evaluate("document.querySelector('.topbar').style.position = 'static'")
        page.screenshot(path=str(SCREENSHOTS / "ja" / "course.png"), full_page=True)
