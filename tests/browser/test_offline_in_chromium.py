"""The kit with no signal, in real Chromium against the app served by gunicorn.

The race is a year ahead (tests/data/offline-race.toml), so the kit shows a live countdown on
the real clock the gunicorn processes use.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import select

from raceapp.extensions import db
from raceapp.models import Event, GearItem, GearTick, User
from raceapp.services import alerts, gear
from raceapp.services.alerts import AlertDraft
from tests.browser.helpers import CACHED_URLS, eventually, log_in, visit_kit_online
from tests.helpers import PASSWORD, push_payload

DATA = Path(__file__).resolve().parents[1] / "data"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def test_the_whole_kit_opens_offline_after_one_visit(gunicorn, phone, race):
    base = gunicorn.start().url
    context = phone()
    page = context.new_page()
    visit_kit_online(page, base, race)
    assert page.locator("[data-offline-badge]").is_hidden()
    assert "Updated just now" in page.inner_text("[data-fetched]")
    # The login form (its token belongs to one session) is never kept.
    assert "/auth/login" not in page.evaluate(CACHED_URLS)

    context.set_offline(True)
    pages = {
        "/me": "60 km",
        "/me/gear": "Gear checklist",
        "/me/schedule": "Registration and gear check",
        "/me/cutoffs": "Cut-offs",
        f"/shuttles/tickets/{race['booking'].reference}": race["booking"].reference,
        "/me/alerts": "Bib pick-up from 14:00",
        f"/me/alerts/{race['alert'].id}": "At the community hall.",
    }
    for path, text in pages.items():
        page.goto(base + path)
        assert text in page.inner_text("main"), path
        assert page.locator("[data-offline-badge]").is_visible(), path
        assert page.inner_text("[data-fetched]").startswith("Updated"), path

    # The countdown runs on the phone's clock (the race is months ahead: it moves by minutes,
    # so the phone's clock is moved on a minute).
    page.clock.install()
    page.goto(base + "/me")
    first = page.inner_text(".countdown")
    page.clock.run_for(61_000)
    page.wait_for_function(f"() => document.querySelector('.countdown').textContent !== {first!r}")

    # The pace helper works it out on the phone.
    page.goto(base + "/me/cutoffs")
    page.fill("input[name=km]", "10")
    page.click("text=Show the pace I need")
    page.wait_for_selector("#pace table.pace")
    assert "Ridge Hut" in page.inner_text("#pace")
    assert page.locator("#pace tr.grade-comfortable").count() >= 1
    assert page.locator("#request-error").is_hidden()

    # A page never opened: the offline page, not a browser error.
    page.goto(base + "/events/")
    assert "offline" in page.inner_text("main").lower()
    if os.environ.get("RACEAPP_SCREENSHOTS") == "1":
        for name, path in (("offline-home", "/me"), ("offline-checklist", "/me/gear")):
            page.goto(base + path)
            page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def test_ticks_made_offline_reach_the_server_once_and_never_undo_newer_ones(gunicorn, phone, race):
    base = gunicorn.start().url
    items = {i.code: i for i in db.session.scalars(select(GearItem))}
    context = phone()
    page = context.new_page()
    visit_kit_online(page, base, race)
    page.goto(base + "/me/gear")
    context.set_offline(True)
    for code in ("phone", "jacket", "light"):
        page.click(f"#item-{items[code].id} button.tick")
    for code in ("phone", "jacket", "light"):
        row = page.locator(f"#item-{items[code].id}")
        assert "packed" in row.get_attribute("class") and "queued" in row.get_attribute("class")
    assert "3 of 4 mandatory items packed" in page.inner_text("#progress")
    assert page.evaluate("TickQueue.all().then(t => t.length)") == 3
    db.session.rollback()
    assert db.session.scalars(select(GearTick)).all() == []  # nothing reached the server
    page.close()

    # Meanwhile, on another phone: the head torch was taken out again, later.
    gear.tick(
        race["entry"],
        items["light"].id,
        False,
        now=datetime.now(timezone.utc),
        made_at=datetime.now(timezone.utc) + timedelta(minutes=1),
    )

    context.set_offline(False)
    page = context.new_page()
    page.goto(base + "/me/gear")
    eventually(page, "TickQueue.all().then(t => t.length === 0)")
    db.session.rollback()
    ticks = {t.gear_item_id: t.packed for t in db.session.scalars(select(GearTick))}
    assert ticks == {items["phone"].id: True, items["jacket"].id: True, items["light"].id: False}
    page.reload()
    assert "2 of 4 mandatory items packed" in page.inner_text("#progress")


def test_a_new_version_replaces_the_shell_and_its_old_cache(gunicorn, phone, race):
    base = gunicorn.start(release="one").url
    context = phone()
    page = context.new_page()
    log_in(page, base, "aki@example.com", PASSWORD)
    keys = "caches.keys().then(k => k.filter(n => n.startsWith('raceapp-shell-')))"
    eventually(page, f"{keys}.then(k => k.length === 1)")
    [old] = page.evaluate(keys)

    gunicorn.stop()
    gunicorn.start(release="two")
    page.reload()
    eventually(page, f"{keys}.then(k => k.length === 1 && k[0] !== {old!r})")
    # The page is run by the new worker, and its shell is complete.
    page.reload()
    assert page.evaluate("navigator.serviceWorker.controller !== null")
    new_shell = page.evaluate(
        f"{keys}.then(([name]) => caches.open(name)).then(c => c.keys()).then(r => r.length)"
    )
    assert new_shell >= 9  # eight files and the offline page


def test_a_cached_htmx_fragment_is_never_shown_as_a_page(gunicorn, phone, race):
    base = gunicorn.start().url
    context = phone()
    page = context.new_page()
    visit_kit_online(page, base, race)
    timetable = "/events/offline-test/shuttles"
    page.goto(base + timetable)
    # The timetable polls itself with htmx: the same URL then answers a fragment.
    fragment = page.evaluate(f"""fetch({timetable!r}, {{headers: {{'HX-Request': 'true'}}}})
                                 .then(r => r.text())""")
    assert "<html" not in fragment and "departure" in fragment
    # The pace helper asks for its fragment at a URL a page could also have.
    page.goto(base + "/me/cutoffs")
    page.fill("input[name=km]", "10")
    page.click("text=Show the pace I need")
    page.wait_for_selector("#pace table.pace")

    bodies = page.evaluate("""async () => {
      const cache = await caches.open('raceapp-pages');
      const out = {};
      for (const request of await cache.keys()) {
        const response = await cache.match(request);
        if ((response.headers.get('Content-Type') || '').startsWith('text/html')) {
          out[new URL(request.url).pathname + new URL(request.url).search] = await response.text();
        }
      }
      return out;
    }""")
    assert bodies and all("<html" in body for body in bodies.values()), [
        url for url, body in bodies.items() if "<html" not in body
    ]
    assert "/me/cutoffs?km=10" not in bodies

    context.set_offline(True)
    page.goto(base + timetable)
    assert page.locator("header.topbar").is_visible()
    assert "Station" in page.inner_text("main")


def test_alerts_missed_offline_show_on_reconnect_and_a_push_refreshes_the_kit(
    gunicorn, phone, race
):
    base = gunicorn.start().url
    context = phone()
    page = context.new_page()
    visit_kit_online(page, base, race)
    context.set_offline(True)
    page.goto(base + "/me")
    event = race["event"]
    org_user = db.session.scalar(select(User).where(User.email == "organizer@example.com"))
    missed = alerts.post_alert(
        org_user,
        event,
        AlertDraft("course_change", "Reroute after Ridge Hut"),
        now=datetime.now(timezone.utc),
    )

    context.set_offline(False)
    page.wait_for_selector("[data-new-alerts]:not([hidden])")
    assert "Reroute after Ridge Hut" in page.inner_text("[data-new-alerts]")
    page.click("[data-new-alerts] a")
    page.wait_for_url(f"{base}/me/alerts/{missed.id}")

    # A cancellation arrives as a push: the cached kit says so at once, even offline later.
    cancel = alerts.post_alert(
        org_user,
        event,
        AlertDraft("cancellation", "Race cancelled: typhoon"),
        now=datetime.now(timezone.utc),
    )
    payload = push_payload(cancel)
    context.service_workers[0].evaluate(
        "payload => self.dispatchEvent(new PushEvent('push', {data: payload}))", json.dumps(payload)
    )
    eventually(
        page,
        """caches.open('raceapp-pages').then(c => c.match('/me'))
                        .then(r => r.text()).then(t => t.includes('Race cancelled: typhoon'))""",
    )
    context.set_offline(True)
    page.goto(base + "/me")
    assert "Race cancelled" in page.inner_text(".banner-status")


def test_logging_out_removes_the_runners_cached_pages(gunicorn, phone, race):
    base = gunicorn.start().url
    context = phone()
    page = context.new_page()
    visit_kit_online(page, base, race)
    asked = []
    page.click("header >> text=Account")
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    page.click("text=Log out")
    page.wait_for_url(f"{base}/")
    assert asked and "race kit kept on this phone" in asked[0]  # asked before anything went
    assert page.evaluate(
        "caches.has('raceapp-pages').then(has => has ? caches.open('raceapp-pages')"
        ".then(c => c.keys()).then(k => k.map(r => new URL(r.url).pathname))"
        " : [])"
    ) in ([], ["/"])
    context.set_offline(True)
    page.goto(base + "/me")
    assert "60 km" not in page.inner_text("main")


def test_a_withdrawn_runner_loses_the_kit_the_phone_kept(gunicorn, phone, race):
    """The organizer withdraws the entry: at the phone's next sync the kit's private pages
    (kit, its JSON, the bus ticket) leave the cache; public race pages may stay."""
    from raceapp.services import entry_list

    base = gunicorn.start().url
    page = phone().new_page()
    visit_kit_online(page, base, race)
    ticket = f"/shuttles/tickets/{race['booking'].reference}"
    cached = page.evaluate(CACHED_URLS)
    assert "/me" in cached and "/api/kit" in cached and ticket in cached
    organizer = db.session.scalar(select(User).where(User.email == "organizer@example.com"))
    entry_list.withdraw(race["event"], organizer, race["entry"].id, now=datetime.now(timezone.utc))
    db.session.commit()
    # The next sync: the app asks for the kit (as it does when it opens or comes back online).
    page.goto(base + "/me")
    eventually(
        page,
        """async () => {
          const cache = await caches.open('raceapp-pages');
          const paths = (await cache.keys()).map(r => new URL(r.url).pathname);
          return !paths.some(p => p === '/me' || p.startsWith('/me/') || p === '/api/kit'
                                  || p.startsWith('/shuttles/tickets/'));
        }""",
    )
    page.context.set_offline(True)
    page.goto(base + "/me")
    assert "Aki" not in page.inner_text("main") and "60 km" not in page.inner_text("main")


def test_a_runner_withdrawn_from_one_of_two_races_keeps_only_the_other(
    gunicorn, phone, race, make_entry
):
    """Withdrawn from the race whose bus they booked, still entered in another: at the next
    sync the phone drops that race's ticket and alert pages and keeps the rest of the kit."""
    from raceapp.services import entry_list
    from tests.helpers import import_files

    base = gunicorn.start().url
    page = phone().new_page()
    visit_kit_online(page, base, race)
    # Entered in a second race too (after the first race's kit was kept).
    import_files(DATA / "state-race.toml")
    other = db.session.scalar(select(Event).where(Event.slug == "state-test"))
    make_entry(race["runner"], other, "long", "77")
    db.session.commit()
    ticket = f"/shuttles/tickets/{race['booking'].reference}"
    alert = f"/me/alerts/{race['alert'].id}"
    organizer = db.session.scalar(select(User).where(User.email == "organizer@example.com"))
    entry_list.withdraw(race["event"], organizer, race["entry"].id, now=datetime.now(timezone.utc))
    db.session.commit()
    # The next sync: the kit home of the race that is left, cached ahead again.
    page.goto(base + "/me")
    assert "state trail" in page.inner_text("main").lower()
    page.evaluate("localStorage.clear()")  # the kit is fetched ahead at once, not in ten minutes
    page.reload()
    eventually(
        page,
        f"""async () => {{
          const cached = await ({CACHED_URLS})();
          return cached.includes('/me') && !cached.includes({ticket!r})
                 && !cached.includes({alert!r});
        }}""",
    )


def test_help_opens_offline_and_finds_the_position_only_on_a_tap(gunicorn, phone, race):
    base = gunicorn.start().url
    context = phone(
        geolocation={"latitude": 36.75012, "longitude": 138.41234, "accuracy": 12},
        permissions=["geolocation"],
    )
    page = context.new_page()
    visit_kit_online(page, base, race)
    context.set_offline(True)
    page.goto(base + "/me/help")
    main = page.inner_text("main")
    assert "Aki" in main and "42" in main and "Call 119" in main
    assert "Tap the button below" in main  # nothing asked for the position yet
    assert page.is_disabled("[data-attach-position]")  # no position to add to a report
    page.click("[data-find-position]")
    page.wait_for_function(
        "() => document.querySelector('[data-position]').textContent.includes('36.75012')"
    )
    assert "138.41234" in page.inner_text("[data-position]")
    assert "within 12 m" in page.inner_text("[data-position]")
    assert page.is_enabled("[data-attach-position]")
    if os.environ.get("RACEAPP_SCREENSHOTS") == "1":
        page.screenshot(path=str(SCREENSHOTS / "help-offline.png"), full_page=True)
    # Offline, later: the last position found is still there to read out.
    page.reload()
    assert page.inner_text("[data-position]").startswith("Last found: 36.75012")


def test_a_drop_out_reported_offline_reaches_headquarters_when_signal_returns(
    gunicorn, phone, race
):
    import time

    from raceapp.models import DropOut

    base = gunicorn.start().url
    context = phone()
    page = context.new_page()
    visit_kit_online(page, base, race)
    context.set_offline(True)
    page.goto(base + "/me/help")
    page.select_option("select[name=checkpoint]", index=1)
    page.check("input[name=getting_back][value=shuttle]")
    page.fill("textarea[name=note]", "Knee pain, walking down.")
    page.click("text=I have stopped: tell headquarters")
    page.wait_for_selector("[data-drop-out-state]:has-text('No signal')")
    if os.environ.get("RACEAPP_SCREENSHOTS") == "1":
        # The sticky header would cover part of a picture of the page further down.
        page.evaluate("document.querySelector('.topbar').style.position = 'static'")
        page.locator("#drop-out").screenshot(path=str(SCREENSHOTS / "drop-out-offline.png"))
    db.session.rollback()
    assert db.session.scalar(select(DropOut)) is None
    # Signal again: the report goes by itself.
    context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    deadline = time.monotonic() + 15
    while True:
        db.session.rollback()
        row = db.session.scalar(select(DropOut))
        if row is not None or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert row is not None and row.note == "Knee pain, walking down."
    assert row.getting_back == "shuttle" and row.place
    # Headquarters' list shows it.
    hq = phone().new_page()
    log_in(hq, base, "organizer@example.com", PASSWORD)
    hq.goto(f"{base}/organizer/events/{race['event'].slug}/drop-outs")
    assert "Knee pain, walking down." in hq.inner_text("main")
    # The runner's kit now says they stopped.
    page.goto(base + "/me")
    assert "You have stopped" in page.inner_text("main")
