"""Headquarters' screens at the bus door and the alert desk, on a laptop and on a phone, in
both languages: the composer, an alert's page after a correction and a withdrawal, a manifest
of a delayed bus and staff mode. Nothing is wider than the screen; screenshots are kept when
RACEAPP_SCREENSHOTS=1."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from raceapp.extensions import db
from raceapp.services import alerts, shuttles
from raceapp.services.alerts import AlertDraft
from tests.browser.helpers import log_in
from tests.browser.test_console_in_chromium import LAPTOP, out_folder
from tests.helpers import PASSWORD, departure

TOKYO = ZoneInfo("Asia/Tokyo")
EVENING = datetime(2026, 6, 19, 18, 0, tzinfo=TOKYO)
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def headquarters(bus_event, runner_factory, make_organizer, frozen_clock):
    """The evening before: passengers on the 05:00, a corrected alert to them, a withdrawn
    cancellation, and the 06:00 delayed by 20 minutes."""
    organizer = make_organizer(bus_event)
    five = departure(bus_event, "station-to-start", "05:00")
    six = departure(bus_event, "station-to-start", "06:00")
    names = ("山田 花子", "Anna Berg", "佐藤 健")
    for number, name in enumerate(names):
        runner = runner_factory(f"r{number}@example.com")
        runner.name = name
        shuttles.book(runner, (five if number < 2 else six).id, now=EVENING, idempotency_key=None)
    frozen_clock(EVENING)
    bus = alerts.post_alert(
        organizer,
        bus_event,
        AlertDraft(
            "info",
            titles={"ja": "05:00のバスは2番乗り場から", "en": "The 05:00 bus leaves from stop 2"},
            bodies={"ja": "駅前の2番乗り場です。", "en": "Stop 2, by the station."},
            audience=f"departure:{five.id}",
        ),
        now=EVENING,
    )
    alerts.edit_alert(
        organizer,
        bus.id,
        AlertDraft(
            "info",
            titles={"ja": "05:00のバスは3番乗り場から", "en": "The 05:00 bus leaves from stop 3"},
            bodies={"ja": "駅前の3番乗り場です。", "en": "Stop 3, by the station."},
        ),
        now=EVENING,
    )
    typhoon = alerts.post_alert(
        organizer,
        bus_event,
        AlertDraft("cancellation", titles={"ja": "台風のため中止", "en": "Cancelled: typhoon"}),
        now=EVENING,
    )
    alerts.retract_alert(
        organizer,
        typhoon.id,
        {"ja": "台風の進路がそれました。", "en": "The typhoon turned east."},
        now=EVENING,
    )
    shuttles.delay_departure(organizer, six.id, 20, {"en": "Road works."}, now=EVENING)
    db.session.commit()
    return {"bus": bus.id, "typhoon": typhoon.id, "five": five.id, "six": six.id}


SCREENS = {
    "alert-composer": "/organizer/events/bus-test/alerts",
    "alert-corrected": "/organizer/alerts/{bus}",
    "alert-withdrawn": "/organizer/alerts/{typhoon}",
    "alert-withdraw-confirm": "/organizer/alerts/{bus}/retract",
    "manifest": "/organizer/departures/{five}/manifest",
    "manifest-delayed": "/organizer/departures/{six}/manifest",
    "staff-mode": "/organizer/departures/{five}/board",
}
KEPT = {"alert-composer", "alert-corrected", "alert-withdrawn", "manifest-delayed", "staff-mode"}


@pytest.mark.parametrize("language", ["en", "ja"])
def test_headquarters_screens_fit_a_laptop_and_a_phone(
    live_server, phone, headquarters, language, tmp_path
):
    out = out_folder(tmp_path)
    folder = out / "ja" if language == "ja" else out
    folder.mkdir(exist_ok=True)
    for device, viewport in (("laptop", LAPTOP), ("phone", PHONE)):
        mobile = device == "phone"
        page = phone(viewport=viewport, is_mobile=mobile, has_touch=mobile).new_page()
        page.context.add_cookies([{"name": "lang", "value": language, "url": live_server}])
        log_in(page, live_server, "organizer@example.com", PASSWORD)
        for name, path in SCREENS.items():
            page.goto(live_server + path.format(**headquarters))
            main = page.inner_text("main")
            # The switch offers the other language by its name.
            assert page.inner_text(".language-switch").strip() == (
                "English" if language == "ja" else "日本語"
            ), name
            if language == "ja":
                assert "Withdrawn" not in main and "Updated" not in main, name
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= viewport["width"], f"{name} is {width} px wide on a {device}"
            if name in KEPT and (language == "en" or mobile):
                page.screenshot(path=str(folder / f"{name}-{device}.png"), full_page=True)
        # What the screens say, checked once per language.
        page.goto(live_server + SCREENS["alert-withdrawn"].format(**headquarters))
        text = page.inner_text("main")
        assert ("取り消し" if language == "ja" else "Withdrawn") in text
        page.goto(live_server + SCREENS["alert-corrected"].format(**headquarters))
        assert "05:00" in page.inner_text("main") and (
            "乗客" if language == "ja" else "the passengers of the Sat 05:00 bus"
        ) in page.inner_text("main")
        page.goto(live_server + SCREENS["manifest-delayed"].format(**headquarters))
        text = page.inner_text("main")
        assert ("20分遅れ" if language == "ja" else "Delayed 20 min") in text
