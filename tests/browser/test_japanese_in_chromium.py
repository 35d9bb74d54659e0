"""The app in Japanese, in Chromium with the browser language set to ja-JP, at phone size: the
runner's screens (kit home, checklist, cut-offs with countdown and pace, schedule, shuttle
booking and ticket, alerts, offline), a push in Japanese, and the choice of English kept
across logins. Each screen is checked for English left in it and for anything wider than
the phone; `make screenshots` keeps the pictures in docs/screenshots/ja/."""

from __future__ import annotations

import json
import os
import re
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from raceapp.extensions import db
from raceapp.services import alerts, shuttles
from raceapp.services.alerts import AlertDraft
from tests.browser.helpers import CACHED_URLS, eventually, first_departure_after, log_in
from tests.helpers import PASSWORD, ROOT

pytestmark = pytest.mark.browser

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "ja"
PNG = b"\x89PNG\r\n\x1a\n"
TOKYO = ZoneInfo("Asia/Tokyo")
RACE_MORNING = datetime(2024, 6, 8, 11, 0, tzinfo=TOKYO)
EVE = datetime(2024, 6, 7, 21, 0, tzinfo=TOKYO)
# Latin words a Japanese page may show: the brand, units, and what the race file wrote.
LATIN_ALLOWED = {"raceapp", "km", "min", "Asia", "Tokyo", "ics", "QR", "CSV", "UTC", "JST"}

WIDER_THAN_THE_PHONE = """() => {
  const width = document.documentElement.clientWidth;
  return [...document.querySelectorAll('body *')]
    .filter(el => el.getBoundingClientRect().right > width + 1 && el.offsetParent !== null)
    .filter(el => !el.closest('.table-scroll'))
    .map(el => el.tagName + '.' + el.className + ': ' + (el.textContent || '').trim().slice(0, 40));
}"""


def visible_text(page) -> str:
    return page.evaluate("() => document.querySelector('main').innerText")


def words_of(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"[A-Za-z][A-Za-z'-]{3,}", text)}


def english_words(text: str, race_words: set[str]) -> list[str]:
    """Latin words on the page that neither the app's short list nor the race file explains."""
    allowed = {w.lower() for w in LATIN_ALLOWED} | race_words
    return sorted(words_of(text) - allowed)


@pytest.fixture
def race_words(okushinano) -> set[str]:
    """Latin words the Okushinano race file itself gives (its English-only names of
    checkpoints, gear, places and rules): shown as written, never translated by the app."""
    return words_of((ROOT / "races" / "okushinano-100-2024.toml").read_text())


def test_a_japanese_runner_meets_no_english(
    app,
    live_server,
    phone,
    okushinano,
    make_user,
    make_entry,
    make_organizer,
    frozen_clock,
    race_words,
    tmp_path,
):
    out = DOCS if os.environ.get("RACEAPP_SCREENSHOTS") == "1" else tmp_path
    out.mkdir(parents=True, exist_ok=True)
    user = make_user("runner@example.com", name="山田 太郎")
    make_entry(user, okushinano, "100k", "1001")
    organizer = make_organizer(okushinano)
    frozen_clock(EVE)
    departure = first_departure_after(RACE_MORNING)
    booking = shuttles.book(user, departure.id, idempotency_key="ja-1", now=EVE)
    alert = alerts.post_alert(
        organizer,
        okushinano,
        AlertDraft(
            "start_delay",
            titles={
                "ja": "霧のため100kmのスタートを30分遅らせます",
                "en": "100 km start delayed by 30 min",
            },
            bodies={"ja": "スタートは5:30に変更します。すべての関門時刻も30分遅くなります。"},
            category_code="100k",
            delay_minutes=30,
        ),
        now=EVE,
    )
    frozen_clock(RACE_MORNING)

    context = phone(device_scale_factor=2, locale="ja-JP", timezone_id="Europe/Paris")
    page = context.new_page()
    page.clock.install(time=RACE_MORNING)
    log_in(page, live_server, "runner@example.com", PASSWORD)
    assert page.evaluate("document.documentElement.lang") == "ja"

    page.goto(f"{live_server}/me/gear")
    page.locator(".checklist .gear-row button.tick").first.click()
    page.wait_for_function("() => document.querySelectorAll('.gear-row.packed').length === 1")
    page.goto(f"{live_server}/me/cutoffs")
    page.fill("input[name=km]", "30")
    page.click(".pace-form button[type=submit]")
    page.wait_for_selector("#pace table")

    screens = {
        "home": "/me",
        "checklist": "/me/gear",
        "cutoffs": "/me/cutoffs?km=30",
        "schedule": "/me/schedule",
        "shuttles": f"/events/{okushinano.slug}/shuttles",
        "ticket": f"/shuttles/tickets/{booking.reference}",
        "alerts": "/me/alerts",
        "alert": f"/me/alerts/{alert.id}",
        "race": f"/events/{okushinano.slug}",
        "help": "/me/help",
    }
    for name, path in screens.items():
        page.goto(f"{live_server}{path}")
        page.screenshot(path=str(out / f"{name}.png"), full_page=name in ("cutoffs", "help"))
        text = visible_text(page).replace(booking.reference, "")
        assert english_words(text, race_words) == [], (name, english_words(text, race_words))
        assert page.evaluate(WIDER_THAN_THE_PHONE) == [], name

    # Japanese conventions: the weekday in Japanese, the 24-hour clock, durations in 時間/分.
    page.goto(f"{live_server}/me/cutoffs")
    text = visible_text(page)
    assert re.search(r"\d+日\((土|日)\) \d\d:\d\d", text), text
    assert "スタートから" in text and "時間" in text
    countdown = page.inner_text("time[data-countdown]")
    assert re.fullmatch(r"\d+時間\d\d分\d\d秒", countdown), countdown
    page.clock.run_for(2000)
    assert re.fullmatch(r"\d+時間\d\d分\d\d秒", page.inner_text("time[data-countdown]"))
    page.goto(f"{live_server}/me/alerts/{alert.id}")
    assert "霧のため100kmのスタートを30分遅らせます" in visible_text(page)
    assert "100 km start delayed" not in page.content()

    # Offline: the cached kit and the offline page are in Japanese too.
    eventually(page, f"async () => (await ({CACHED_URLS})()).includes('/me/schedule')")
    context.set_offline(True)
    page.goto(f"{live_server}/me/schedule")
    assert page.evaluate("document.documentElement.lang") == "ja"
    assert "スケジュール" in visible_text(page)
    page.goto(f"{live_server}/events/no-such-page-cached")
    assert "オフラインです" in visible_text(page)
    page.screenshot(path=str(out / "offline.png"))
    context.set_offline(False)
    for name in [*screens, "offline"]:
        assert (out / f"{name}.png").read_bytes().startswith(PNG)


def test_a_push_arrives_in_the_language_of_the_device(
    app, live_server, phone, okushinano, make_user, make_entry, make_organizer
):
    """The notification a Japanese phone shows, from the payload the server wrote for it."""
    from raceapp.models import PushSubscription
    from raceapp.push.outbox import messages_for

    user = make_user("runner@example.com")
    make_entry(user, okushinano, "100k", "1001")
    context = phone(locale="ja-JP")
    context.grant_permissions(["notifications"], origin=live_server)
    page = context.new_page()
    log_in(page, live_server, "runner@example.com", PASSWORD)
    # An active worker (the one a push would wake), done with its first visit, running this
    # page. Whether the page after logging in is controlled depends on whether its navigation
    # raced the worker's activation, so the page is loaded again once the worker is ready.
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    eventually(page, f"async () => (await ({CACHED_URLS})()).includes('/me/schedule')")
    page.reload()
    eventually(page, "async () => !!navigator.serviceWorker.controller")
    deadline = time.monotonic() + 15
    while not context.service_workers:
        assert time.monotonic() < deadline, "no service worker"
        time.sleep(0.1)

    # A subscription made from this page records its language.
    db.session.add(
        PushSubscription(
            user_id=user.id,
            endpoint="https://fcm.googleapis.com/fcm/send/ja-device",
            p256dh="x",
            auth="y",
            language=page.evaluate("document.documentElement.lang"),
            created_at=EVE,
            last_seen_at=EVE,
        )
    )
    db.session.commit()
    alert = alerts.post_alert(
        make_organizer(okushinano),
        okushinano,
        AlertDraft("cancellation", titles={"ja": "台風のため大会を中止します", "en": "Cancelled"}),
        now=EVE,
    )
    with db.engine.connect() as conn:
        ((message, _at),) = messages_for(conn, {(alert.id, "ja")}).values()
    payload = json.loads(message.payload)
    assert payload["lang"] == "ja" and payload["label"] == "大会中止"
    assert payload["summary"] == "Okushinano 100は中止になりました。"
    worker = context.service_workers[0]
    worker.evaluate(
        "data => self.dispatchEvent(new PushEvent('push', {data}))", json.dumps(payload)
    )
    eventually(
        page,
        """async () => {
      const registration = await navigator.serviceWorker.ready;
      const shown = await registration.getNotifications();
      return shown.some(n => n.title === '台風のため大会を中止します' && n.body.includes('中止'));
    }""",
        timeout=30,
    )
    # A push that cannot be read still says something, in the reader's language.
    worker.evaluate("self.dispatchEvent(new PushEvent('push', {data: 'not json'}))")
    eventually(
        page,
        """async () => {
      const shown = await (await navigator.serviceWorker.ready).getNotifications();
      return shown.some(n => n.title === '大会からのお知らせ');
    }""",
    )


def test_english_chosen_once_stays_across_logins(
    live_server, phone, okushinano, make_user, make_entry
):
    user = make_user("runner@example.com")
    make_entry(user, okushinano, "100k", "1001")
    context = phone(locale="ja-JP")
    page = context.new_page()
    log_in(page, live_server, "runner@example.com", PASSWORD)
    assert page.evaluate("document.documentElement.lang") == "ja"
    assert "アカウント" in page.inner_text("header")
    page.click(".language-switch button[value=en]")
    page.wait_for_function("document.documentElement.lang === 'en'")
    assert "Account" in page.inner_text("header") and page.url.endswith("/me")

    # Log out, forget every cookie (another phone), log in again: still English.
    page.click("header >> text=Account")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("form[data-logout] button")
    page.wait_for_url(f"{live_server}/")
    context.clear_cookies()
    page.goto(f"{live_server}/")
    assert page.evaluate("document.documentElement.lang") == "ja"  # a visitor: the browser's
    log_in(page, live_server, "runner@example.com", PASSWORD)
    assert page.evaluate("document.documentElement.lang") == "en"
    assert "Gear" in page.inner_text(".tabs")


def test_switching_language_refreshes_the_kit_kept_for_offline(
    live_server, phone, okushinano, make_user, make_entry
):
    """Kit cached in English, then one tap to Japanese: offline, every kept page is Japanese,
    even one not opened since the switch."""
    user = make_user("runner@example.com")
    make_entry(user, okushinano, "100k", "1001")
    context = phone(locale="en-US")
    page = context.new_page()
    log_in(page, live_server, "runner@example.com", PASSWORD)
    eventually(page, f"async () => (await ({CACHED_URLS})()).includes('/me/schedule')")
    eventually(
        page,
        """async () => {
      const r = await (await caches.open('raceapp-pages')).match('/me/schedule');
      return r && (await r.text()).includes('<html lang="en">');
    }""",
    )
    page.click(".language-switch button[value=ja]")
    page.wait_for_function("document.documentElement.lang === 'ja'")
    eventually(
        page,
        """async () => {
      const r = await (await caches.open('raceapp-pages')).match('/me/schedule');
      return r && (await r.text()).includes('<html lang="ja">');
    }""",
    )
    context.set_offline(True)
    page.goto(f"{live_server}/me/schedule")
    assert page.evaluate("document.documentElement.lang") == "ja"
    assert "スケジュール" in visible_text(page)
