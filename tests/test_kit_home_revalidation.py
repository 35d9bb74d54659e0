"""The kit home answers 304 from one query when nothing changed, and never a stale page."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

from flask import template_rendered
from sqlalchemy import select

from raceapp.extensions import db
from raceapp.models import Booking, Event, User
from raceapp.services import accounts, alerts, course
from tests.conftest import World
from tests.helpers import AUDIT_RACE, BEFORE, PASSWORD, csrf_from, import_files


@contextmanager
def renders(app):
    made = []

    def record(sender, template, context, **extra):
        made.append(template.name)

    template_rendered.connect(record, app)
    try:
        yield made
    finally:
        template_rendered.disconnect(record, app)


def revalidate(client, etag):
    return client.get("/me", headers={"If-None-Match": etag})


def test_an_unchanged_kit_home_is_a_304_without_making_the_page(app, audit_world: World):
    client = audit_world.clients["runner"]
    first = client.get("/me")
    assert first.status_code == 200
    etag = first.headers["ETag"]
    assert etag.startswith('W/"')
    with renders(app) as made:
        again = revalidate(client, etag)
    assert again.status_code == 304 and made == []
    assert again.headers["ETag"] == etag and again.headers["Cache-Control"] == "private, no-cache"
    # Another device of the same runner has its own session, so its own validator.
    assert audit_world.clients["other runner"].get("/me").headers["ETag"] != etag


def test_every_change_the_kit_home_shows_makes_a_new_page(app, audit_world: World, frozen_clock):
    client = audit_world.clients["runner"]
    token = csrf_from(client.get("/me/gear").get_data(as_text=True))
    etag = client.get("/me").headers["ETag"]
    organizer = audit_world.clients["organizer"]
    organizer_token = csrf_from(organizer.get("/organizer/").get_data(as_text=True))
    reference = db.session.scalar(
        select(Booking.reference).where(Booking.user_id == audit_world.runner_id)
    )

    def post(path, **data):
        return client.post(path, data={**data, "csrf_token": token})

    changes = {
        "tick an item": lambda: post(f"/me/gear/{audit_world.gear_item_id}", packed="1"),
        "untick it": lambda: post(f"/me/gear/{audit_world.gear_item_id}", packed="0"),
        "tick an own item": lambda: post(f"/me/gear/own/{audit_world.own_item_id}", packed="1"),
        "add an own item": lambda: post("/me/gear/own", name="Buff"),
        "delete an own item": lambda: post(f"/me/gear/own/{audit_world.own_item_id}/delete"),
        "cancel the bus": lambda: post(f"/shuttles/tickets/{reference}/cancel"),
        "book a bus": lambda: post(
            f"/shuttles/departures/{audit_world.values['departure_id']}/book",
            idempotency_key="again",
        ),
        "leave the waitlist": lambda: post(
            f"/shuttles/departures/{audit_world.values['full_departure_id']}/waitlist/leave"
        ),
        "an alert is posted": lambda: organizer.post(
            "/organizer/events/audit-test/alerts",
            data={
                "kind": "start_delay",
                "title": "Start 30 min later",
                "delay_minutes": "30",
                "confirm": "1",  # an urgent kind: confirmed
                "csrf_token": organizer_token,
            },
        ),
        "the runner reads it": lambda: post("/me/alerts/read"),
        "the alert is corrected": lambda: organizer.post(
            f"/organizer/alerts/{_latest_alert(audit_world)}/edit",
            data={"title_en": "Start 35 min later", "csrf_token": organizer_token},
        ),
        "the alert is withdrawn": lambda: organizer.post(
            f"/organizer/alerts/{_latest_alert(audit_world)}/retract",
            data={"csrf_token": organizer_token},
        ),
        "the bus is delayed": lambda: organizer.post(
            f"/organizer/departures/{audit_world.values['departure_id']}/delay",
            data={"minutes": "25", "csrf_token": organizer_token},
        ),
        "the race file changes": lambda: _reimport_renamed(),
        "a minute passes": lambda: frozen_clock(BEFORE + timedelta(minutes=1)) and None,
        "the organizer moves the runner": lambda: organizer.post(
            f"/organizer/events/audit-test/entries/{audit_world.entry_id}",
            data={"name": "Runner", "category": "short", "csrf_token": organizer_token},
        ),
        "made an organizer": lambda: (
            accounts.create_organizer(
                "runner@example.com", "Runner", PASSWORD, ["audit-test"], now=BEFORE
            )
            and None
        ),
        "an alert in another race entered": lambda: _alert_in_another_race(audit_world),
    }
    for change, act in changes.items():
        answer = act()
        assert answer is None or answer.status_code < 400, (change, answer.status_code)
        # Show any message the change left elsewhere: a pending message alone would make the
        # kit home be made anyway, and the fingerprint would go untested.
        client.get("/events/")
        response = revalidate(client, etag)
        assert response.status_code == 200, f"after '{change}' the old page was kept"
        etag = response.headers["ETag"]


def _latest_alert(audit_world: World) -> int:
    from raceapp.models import Alert

    db.session.rollback()
    return db.session.scalar(
        select(Alert.id).where(Alert.event_id == audit_world.event.id).order_by(Alert.id.desc())
    )


def _alert_in_another_race(audit_world: World) -> None:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "second.toml"
        path.write_text(
            AUDIT_RACE.read_text().replace('slug = "audit-test"', 'slug = "second-test"')
        )
        import_files(path)
    second = db.session.scalar(select(Event).where(Event.slug == "second-test"))
    runner = db.session.get(User, audit_world.runner_id)
    accounts.join_category(runner, second, "long", "9", now=BEFORE)
    # Joining made the second race the current one; back to the first, then the alert.
    accounts.join_category(runner, audit_world.event, "short", "101", now=BEFORE)
    organizer = accounts.create_organizer(
        "second@example.com", "Org", PASSWORD, ["second-test"], now=BEFORE
    )
    alerts.post_alert(
        organizer, second, alerts.AlertDraft(kind="info", title="Elsewhere"), now=BEFORE
    )
    db.session.commit()


def _reimport_renamed():
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "audit-race.toml"
        path.write_text(
            AUDIT_RACE.read_text().replace('name = "Audit Trail"', 'name = "Audit Trail 2026"')
        )
        import_files(path)


def test_a_pending_message_is_never_skipped_by_a_304(app, audit_world: World):
    client = audit_world.clients["runner"]
    etag = client.get("/me").headers["ETag"]
    token = csrf_from(client.get("/me").get_data(as_text=True))
    # A change of the account, not of the kit: only its message is new for the kit home.
    client.post("/account/alerts", data={"every_alert": "1", "csrf_token": token})
    response = revalidate(client, etag)
    assert response.status_code == 200 and "Saved." in response.get_data(as_text=True)


def test_every_kit_page_is_revalidated_without_being_made(app, audit_world: World):
    client = audit_world.clients["runner"]
    token = csrf_from(client.get("/me/gear").get_data(as_text=True))
    pages = ("/me/cutoffs", "/me/cutoffs?km=12", "/me/gear", "/me/schedule", "/me/help", "/api/kit")
    etags = {}
    for path in pages:
        etags[path] = client.get(path).headers["ETag"]
        with renders(app) as made:
            again = client.get(path, headers={"If-None-Match": etags[path]})
        assert again.status_code == 304 and made == [], path
    assert etags["/me/cutoffs"] != etags["/me/cutoffs?km=12"]
    # A tick is new for the checklist and the offline kit.
    client.post(f"/me/gear/{audit_world.gear_item_id}", data={"packed": "1", "csrf_token": token})
    for path in ("/me/gear", "/api/kit"):
        assert client.get(path, headers={"If-None-Match": etags[path]}).status_code == 200, path
    # A course taken away is new for the cut-offs page.
    etag = client.get("/me/cutoffs").headers["ETag"]
    organizer = db.session.scalar(select(User).where(User.email == "organizer@example.com"))
    course.remove_track(audit_world.event, "long", by=organizer, now=BEFORE)
    db.session.commit()
    answer = client.get("/me/cutoffs", headers={"If-None-Match": etag})
    assert answer.status_code == 200 and "data-shape" not in answer.get_data(as_text=True)
