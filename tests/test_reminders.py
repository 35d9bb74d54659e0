"""Reminders with a frozen clock: the evening before the race at the race's reminder time (by
e-mail and push, once), moved by a start delay, never for a cancelled category; a push before a
booked bus with its stop."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from raceapp.extensions import db
from raceapp.mail import worker
from raceapp.models import PushSubscription, Reminder
from raceapp.services import alerts
from raceapp.services.alerts import AlertDraft
from tests.helpers import ROOT, book, departure, import_files
from tests.mail_server import text_part

TOKYO = ZoneInfo("Asia/Tokyo")
WEEK_BEFORE = datetime(2024, 6, 1, 9, 0, tzinfo=TOKYO)
EVE_AT = datetime(2024, 6, 7, 17, 0, tzinfo=TOKYO)  # the 100 km starts Sat 8 June, 05:00


def add_device(user, push_service) -> dict:
    """A phone of the runner's with alerts on, at the test push service."""
    device = push_service.new_subscription()
    now = datetime.now(timezone.utc)
    db.session.add(
        PushSubscription(
            user_id=user.id,
            endpoint=device["endpoint"],
            p256dh=device["keys"]["p256dh"],
            auth=device["keys"]["auth"],
            created_at=now,
            last_seen_at=now,
        )
    )
    db.session.commit()
    return device


@pytest.fixture
def runner(app, okushinano, make_user, make_entry, frozen_clock, push_service):
    frozen_clock(WEEK_BEFORE)
    user = make_user("aki@example.com", "Aki")
    user.email_verified_at = WEEK_BEFORE
    make_entry(user, okushinano, "100k", "1001")
    user.device = add_device(user, push_service)
    return user


def reminder_mails(server) -> list:
    """The reminders among the e-mails received (urgent alerts go by e-mail too)."""
    return [m for m in server.received if "Tomorrow" in m["Subject"]]


def status() -> str:
    db.session.rollback()
    return db.session.scalar(select(Reminder.status).where(Reminder.kind == "eve"))


def test_the_evening_reminder_goes_once_at_the_races_time(
    app, runner, push_service, smtp_server, frozen_clock
):
    frozen_clock(EVE_AT - timedelta(minutes=2))
    worker.drain(app)
    assert smtp_server.received == [] and push_service.accepted == []
    frozen_clock(EVE_AT)
    worker.drain(app)
    [mail] = smtp_server.received
    assert mail["X-Envelope-To"] == "aki@example.com"
    assert "Tomorrow" in mail["Subject"] and "Okushinano 100" in mail["Subject"]
    text = text_part(mail)
    assert "Sat 08 Jun 2024, 05:00" in text and "bib 1001" in text
    assert "You have no seat booked." in text
    assert "Mandatory gear not ticked yet" in text and "Mobile phone" in text
    [push] = push_service.received_by(runner.device["endpoint"])
    assert push.payload["title"] == "Tomorrow: Okushinano 100 · 100 km"
    assert "Start Sat 05:00" in push.payload["body"]
    assert status() == "sent"
    # Once.
    frozen_clock(EVE_AT + timedelta(hours=1))
    worker.drain(app)
    assert len(smtp_server.received) == 1 and len(push_service.accepted) == 1


def test_a_start_delay_into_the_next_day_moves_the_reminder(
    app, runner, okushinano, make_organizer, smtp_server, frozen_clock
):
    organizer = make_organizer(okushinano)
    alerts.post_alert(
        organizer,
        okushinano,
        AlertDraft(
            "start_delay", "Typhoon: start tomorrow", category_code="100k", delay_minutes=20 * 60
        ),
        now=WEEK_BEFORE,
    )
    db.session.commit()
    frozen_clock(EVE_AT)
    worker.drain(app)
    assert reminder_mails(smtp_server) == [] and status() == "pending"
    frozen_clock(EVE_AT + timedelta(days=1))
    worker.drain(app)
    [mail] = reminder_mails(smtp_server)
    assert "Sun 09 Jun 2024, 01:00" in text_part(mail)
    assert "Typhoon: start tomorrow" in text_part(mail)  # the alerts so far


def test_no_reminder_for_a_cancelled_category(
    app, runner, okushinano, make_organizer, push_service, smtp_server, frozen_clock
):
    alerts.post_alert(
        make_organizer(okushinano),
        okushinano,
        AlertDraft("cancellation", "100 km cancelled", category_code="100k"),
        now=WEEK_BEFORE,
    )
    # The cancellation itself goes by e-mail (an urgent alert); the reminder does not.
    frozen_clock(EVE_AT)
    worker.drain(app)
    assert reminder_mails(smtp_server) == []
    assert status() == "cancelled"
    assert all(p.payload.get("kind") != "reminder" for p in push_service.accepted)


def test_the_race_file_sets_the_reminder_time(app, runner, frozen_clock, smtp_server, tmp_path):
    text = (ROOT / "races" / "okushinano-100-2024.toml").read_text(encoding="utf-8")
    changed = tmp_path / "okushinano-100-2024.toml"
    changed.write_text(
        text.replace(
            'time_zone = "Asia/Tokyo"', 'time_zone = "Asia/Tokyo"\nreminder_time = "19:30"', 1
        ),
        encoding="utf-8",
    )
    import_files(changed)
    frozen_clock(EVE_AT)
    worker.drain(app)
    assert smtp_server.received == []
    frozen_clock(EVE_AT.replace(hour=19, minute=30))
    worker.drain(app)
    assert len(smtp_server.received) == 1


def test_a_push_before_a_booked_bus_names_its_stop(
    app, client, auth, bus_event, make_user, make_entry, push_service, frozen_clock
):
    user = make_user("bus@example.com")
    make_entry(user, bus_event, "50k")
    device = add_device(user, push_service)
    auth.login("bus@example.com")
    dep = departure(bus_event, "station-to-start", "05:00")
    assert book(client, dep).status_code == 303

    def bus_pushes() -> list:
        got = push_service.received_by(device["endpoint"])
        return [p for p in got if p.payload["title"].startswith("Your bus")]

    frozen_clock(dep.departs_at - timedelta(minutes=31))
    worker.drain(app)
    assert bus_pushes() == []  # (the evening reminder went the day before)
    frozen_clock(dep.departs_at - timedelta(minutes=30))
    worker.drain(app)
    [push] = bus_pushes()
    assert push.payload["title"] == "Your bus leaves at 05:00"
    assert push.payload["body"].startswith(f"From {dep.route.origin}")
    assert push.headers["Urgency"] == "high"


def test_a_seat_given_up_has_no_reminder(
    app, client, auth, bus_event, make_user, make_entry, push_service, frozen_clock
):
    user = make_user("bus@example.com")
    make_entry(user, bus_event, "50k")
    auth.login("bus@example.com")
    dep = departure(bus_event, "station-to-start", "05:00")
    book(client, dep)
    from raceapp.models import Booking
    from tests.helpers import csrf_from

    reference = db.session.scalar(select(Booking.reference))
    token = csrf_from(client.get("/events/bus-test/shuttles").get_data(as_text=True))
    client.post(f"/shuttles/tickets/{reference}/cancel", data={"csrf_token": token})
    frozen_clock(dep.departs_at - timedelta(minutes=30))
    worker.drain(app)
    db.session.rollback()
    assert db.session.scalar(select(Reminder.status).where(Reminder.kind == "bus")) == "cancelled"
