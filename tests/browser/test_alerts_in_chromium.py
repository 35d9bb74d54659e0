"""Alerts end to end in real Chromium: turn alerts on, receive a push, tap the notification.

Headless Chromium has no push service here, so the page's PushManager hands out a
subscription whose keys the test push service holds; everything after that is real: the page
posts it, the worker encrypts and sends the alert, the push service decrypts it, and the
decrypted payload is dispatched as a PushEvent inside the service worker.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from sqlalchemy import select

from raceapp.extensions import db
from raceapp.models import PushSubscription
from raceapp.push import worker
from raceapp.services import alerts
from raceapp.services.alerts import AlertDraft
from tests.browser.helpers import log_in
from tests.helpers import PASSWORD

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

# Stands in for the browser's push service: subscribe() returns the test's subscription.
FAKE_PUSH_MANAGER = """
(() => {
  const made = %s;
  let current = null;
  const wrap = (json) => ({ endpoint: json.endpoint, expirationTime: null,
    toJSON: () => json, unsubscribe: async () => { current = null; return true; } });
  PushManager.prototype.getSubscription = async function () { return current; };
  PushManager.prototype.subscribe = async function (options) {
    if (!options || !options.userVisibleOnly || !options.applicationServerKey) {
      throw new DOMException("bad options", "NotAllowedError");
    }
    window.__applicationServerKeyLength = options.applicationServerKey.byteLength;
    current = wrap(made);
    return current;
  };
})();
"""


def test_turn_on_alerts_receive_a_push_and_open_it(
    live_server, phone, app, okushinano, make_user, make_entry, make_organizer, push_service
):
    runner = make_user("aki@example.com", "Aki")
    make_entry(runner, okushinano, "100k", "101")
    organizer = make_organizer(okushinano)
    subscription = push_service.new_subscription()

    context = phone()
    context.add_init_script(FAKE_PUSH_MANAGER % json.dumps(subscription))
    page = context.new_page()
    log_in(page, live_server, "aki@example.com", PASSWORD)
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    assert page.evaluate("Notification.permission") == "default"
    page.wait_for_timeout(300)
    assert db.session.scalar(select(PushSubscription)) is None  # nothing without a tap

    # Permission is asked for only after the tap (the runner says yes); then the
    # subscription reaches the server.
    context.grant_permissions(["notifications"], origin=live_server)
    page.click("button:has-text('Turn on alerts')")
    page.wait_for_selector("text=Alerts are on for this phone.")
    assert page.evaluate("window.__applicationServerKeyLength") == 65
    assert page.locator("[data-push-off]").is_visible()
    db.session.rollback()
    stored = db.session.scalar(select(PushSubscription))
    assert stored.endpoint == subscription["endpoint"] and stored.user_id == runner.id

    alert = alerts.post_alert(
        organizer,
        okushinano,
        AlertDraft(
            "course_change", "Reroute after CP4: landslide", body="Follow the orange markers."
        ),
        now=okushinano.updated_at,
    )
    worker.drain(app)
    assert push_service.rejected == []
    [received] = push_service.received_by(subscription["endpoint"])
    assert received.payload["title"] == "Reroute after CP4: landslide"

    # Every open re-sends the subscription (browsers replace them silently).
    first_seen = stored.last_seen_at
    page.reload()  # now controlled by the service worker
    page.wait_for_selector("text=Alerts are on for this phone.")
    # The page re-sends it once loaded: a loaded machine can take seconds.
    deadline = time.monotonic() + 15
    while True:
        db.session.rollback()
        seen = db.session.scalar(select(PushSubscription.last_seen_at))
        if seen > first_seen or time.monotonic() > deadline:
            break
        page.wait_for_timeout(100)
    assert seen > first_seen

    # The decrypted payload, delivered to the service worker as the browser would.
    sw = context.service_workers[0]
    sw.evaluate(
        "payload => self.dispatchEvent(new PushEvent('push', {data: payload}))",
        json.dumps(received.payload),
    )
    # Up to 20 s: a loaded machine can take seconds to show it.
    notifications = page.evaluate("""async () => {
      for (let i = 0; i < 200; i++) {
        const list = await (await navigator.serviceWorker.ready).getNotifications();
        if (list.length) return list.map(n => ({title: n.title, body: n.body, tag: n.tag,
                                                url: n.data.url}));
        await new Promise(r => setTimeout(r, 100));
      }
      return [];
    }""")
    assert notifications == [
        {
            "title": "Reroute after CP4: landslide",
            "body": "Okushinano 100\nFollow the orange markers.",
            "tag": f"alert-{alert.id}",
            "url": f"/me/alerts/{alert.id}",
        }
    ]

    # A tap on the notification brings the app to that alert.
    sw.evaluate("""async () => {
      const [notification] = await self.registration.getNotifications();
      self.dispatchEvent(new NotificationEvent('notificationclick', {notification}));
    }""")
    page.wait_for_url(f"{live_server}/me/alerts/{alert.id}")
    assert page.locator("h1").inner_text() == "Reroute after CP4: landslide"
    assert "Follow the orange markers." in page.inner_text(".alert-body")
    if os.environ.get("RACEAPP_SCREENSHOTS") == "1":
        page.screenshot(path=str(SCREENSHOTS / "alert.png"))
        page.goto(f"{live_server}/me")
        page.screenshot(path=str(SCREENSHOTS / "home-changed.png"), full_page=True)


def test_an_alert_is_read_when_its_page_is_shown_not_when_it_is_fetched(
    app, live_server, phone, okushinano, make_user, make_entry, make_organizer
):
    """The kit is fetched ahead for offline use, alert pages included: that must not mark them
    read. Shown on screen, the page says so itself (a POST)."""
    from raceapp.models import AlertRead

    user = make_user("runner@example.com")
    make_entry(user, okushinano, "100k", "1001")
    alert = alerts.post_alert(
        make_organizer(okushinano),
        okushinano,
        AlertDraft("info", "Water at CP2"),
        now=okushinano.updated_at,
    )
    db.session.commit()
    page = phone().new_page()
    log_in(page, live_server, "runner@example.com", PASSWORD)
    page.request.get(f"{live_server}/me/alerts/{alert.id}")  # fetched, not shown
    db.session.rollback()
    assert db.session.scalar(select(AlertRead)) is None
    page.goto(f"{live_server}/me/alerts/{alert.id}")
    deadline = time.monotonic() + 10
    while db.session.scalar(select(AlertRead.user_id)) != user.id:
        assert time.monotonic() < deadline, "the page did not mark the alert read"
        db.session.rollback()
        page.wait_for_timeout(100)


def test_the_composer_counts_and_previews_as_the_organizer_writes(
    live_server, phone, app, okushinano, make_user, make_entry, make_organizer, frozen_clock
):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    frozen_clock(datetime(2024, 6, 7, 17, 0, tzinfo=ZoneInfo("Asia/Tokyo")))
    for n, category in enumerate(("100k", "100k", "100k", "50k")):
        make_entry(make_user(f"r{n}@example.com"), okushinano, category)
    make_organizer(okushinano)
    page = phone(viewport={"width": 1280, "height": 900}, is_mobile=False).new_page()
    log_in(page, live_server, "organizer@example.com", PASSWORD)
    page.goto(f"{live_server}/organizer/events/okushinano-100-2024/alerts")
    page.wait_for_selector("#composer-preview h3:has-text('It will reach 4 runners')")
    page.select_option("select[name=category]", "50k")
    page.wait_for_selector("#composer-preview h3:has-text('It will reach 1 runner')")
    page.fill("input[name=title_en]", "Water at CP3")
    page.wait_for_selector(".notification-preview[lang=en] b:has-text('Water at CP3')")
    page.select_option("select[name=kind]", "start_delay")
    page.select_option("select[name=category]", "100k")
    page.fill("input[name=delay_minutes]", "30")
    page.wait_for_selector("#composer-preview .effect:has-text('05:30')")
    assert "It will reach 3 runners" in page.inner_text("#composer-preview")
    if os.environ.get("RACEAPP_SCREENSHOTS") == "1":
        page.locator("#composer-preview").screenshot(path=str(SCREENSHOTS / "alert-composer.png"))
