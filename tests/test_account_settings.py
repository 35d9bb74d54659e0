"""The runner's account page: alerts by e-mail, a new password (other devices logged out), a
new address (confirmed from the new mailbox), their data as JSON, and deleting the account."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from sqlalchemy import func, select

from raceapp.extensions import db
from raceapp.models import (
    Booking,
    EmailLink,
    Entry,
    LoginSession,
    PushSubscription,
    User,
    WaitlistEntry,
)
from tests.helpers import FCM, PASSWORD, book, csrf_from, departure, link_in, sent_mail

NEW_PASSWORD = "kumano kodo at dawn"


def form_post(client, url: str, **data):
    token = csrf_from(client.get("/account/").get_data(as_text=True))
    return client.post(url, data={**data, "csrf_token": token})


def logged_in(app, email: str, password: str = PASSWORD):
    client = app.test_client()
    token = csrf_from(client.get("/auth/login").get_data(as_text=True))
    response = client.post(
        "/auth/login", data={"email": email, "password": password, "csrf_token": token}
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def test_the_account_page_needs_a_login_and_shows_the_runner(app, client, make_user):
    assert client.get("/account/").status_code == 302
    make_user("aki@example.com", "Aki")
    page = logged_in(app, "aki@example.com").get("/account/").get_data(as_text=True)
    assert "Aki" in page and "aki@example.com" in page and "Delete my account" in page


def test_every_alert_by_email_is_a_choice(app, make_user):
    user = make_user("aki@example.com")
    client = logged_in(app, "aki@example.com")
    assert form_post(client, "/account/alerts", every_alert="1").status_code == 303
    assert db.session.get(User, user.id).email_alerts is True
    form_post(client, "/account/alerts")
    db.session.expire_all()
    assert db.session.get(User, user.id).email_alerts is False


def test_a_new_password_logs_out_every_other_device(app, make_user):
    user = make_user("aki@example.com")
    here, there = logged_in(app, "aki@example.com"), logged_in(app, "aki@example.com")
    wrong = form_post(here, "/account/password", current="not it", new=NEW_PASSWORD)
    assert wrong.status_code == 400 and "not your current password" in wrong.get_data(as_text=True)
    weak = form_post(here, "/account/password", current=PASSWORD, new="password1")
    assert weak.status_code == 400 and "most common" in weak.get_data(as_text=True)
    assert there.get("/me").status_code == 200  # nothing changed yet
    done = form_post(here, "/account/password", current=PASSWORD, new=NEW_PASSWORD)
    assert done.status_code == 303
    assert here.get("/account/").status_code == 200
    assert there.get("/me").status_code == 302
    assert (
        db.session.scalar(
            select(func.count()).select_from(LoginSession).where(LoginSession.user_id == user.id)
        )
        == 1
    )
    logged_in(app, "aki@example.com", NEW_PASSWORD)


def test_a_new_address_counts_once_confirmed_from_its_mailbox(app, make_user):
    user = make_user("aki@example.com")
    client = logged_in(app, "aki@example.com")
    wrong = form_post(client, "/account/email", email="new@example.com", password="nope")
    assert wrong.status_code == 400
    asked = form_post(client, "/account/email", email="New@Example.com", password=PASSWORD)
    assert asked.status_code == 303
    [message] = sent_mail(app)
    assert message.to == ["new@example.com"]
    db.session.expire_all()
    assert db.session.get(User, user.id).email == "aki@example.com"  # not before the link
    path = link_in(message, "/account/email/")
    page = client.get(path)
    assert page.status_code == 200 and "new@example.com" in page.get_data(as_text=True)
    done = client.post(path, data={"csrf_token": csrf_from(page.get_data(as_text=True))})
    assert done.status_code == 303
    db.session.expire_all()
    moved = db.session.get(User, user.id)
    assert moved.email == "new@example.com" and moved.email_verified_at is not None
    assert client.get(path).status_code == 410  # once


def test_moving_to_an_address_that_has_an_account_tells_its_owner_only(app, make_user):
    make_user("aki@example.com")
    make_user("taken@example.com", "Owner")
    client = logged_in(app, "aki@example.com")
    asked = form_post(client, "/account/email", email="taken@example.com", password=PASSWORD)
    assert asked.status_code == 303  # the same answer as for a free address
    [message] = sent_mail(app)
    assert message.to == ["taken@example.com"] and "already has an account" in message.body
    assert db.session.scalar(select(EmailLink)) is None


def test_the_data_export_holds_the_runners_data_and_nobody_elses(
    app, bus_event, runner_factory, make_user
):
    aki = runner_factory("aki@example.com")
    other = runner_factory("other@example.com")
    client = logged_in(app, "aki@example.com")
    book(client, departure(bus_event, "station-to-start", "05:00"), key="k1")
    book(logged_in(app, "other@example.com"), departure(bus_event, "station-to-start", "05:00"))
    response = client.get("/account/data.json")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert response.headers["Cache-Control"] == "no-store"
    data = json.loads(response.get_data(as_text=True))
    assert data["account"]["email"] == "aki@example.com"
    assert [e["bib"] for e in data["entries"]] == [
        db.session.scalar(select(Entry.bib).where(Entry.user_id == aki.id))
    ]
    assert len(data["bookings"]) == 1 and data["bookings"][0]["user_id"] == aki.id
    text = response.get_data(as_text=True)
    assert "other@example.com" not in text and str(other.id) not in {
        str(row.get("user_id")) for rows in data.values() if isinstance(rows, list) for row in rows
    }
    # No secret that would let the file act as the runner.
    for secret in ("password_hash", "token_sha256", "p256dh", "argon2"):
        assert secret not in text


def test_deleting_the_account_releases_seats_keeps_entries_and_ends_everything(
    app, bus_event, runner_factory, frozen_clock
):
    aki = runner_factory("aki@example.com")
    waiting = runner_factory("waiting@example.com")
    client = logged_in(app, "aki@example.com")
    dep = departure(bus_event, "station-to-start", "05:00")
    dep.seats = 1
    db.session.commit()
    assert book(client, dep, key="k1").status_code == 303
    waiter = logged_in(app, "waiting@example.com")
    token = csrf_from(waiter.get("/events/bus-test/shuttles").get_data(as_text=True))
    waiter.post(f"/shuttles/departures/{dep.id}/waitlist", data={"csrf_token": token})
    assert db.session.scalar(select(func.count()).select_from(WaitlistEntry)) == 1
    db.session.add(
        PushSubscription(
            user_id=aki.id,
            endpoint=FCM + "aki",
            p256dh="x",
            auth="y",
            created_at=datetime.now(timezone.utc),
            last_seen_at=datetime.now(timezone.utc),
        )
    )
    db.session.commit()
    bib = db.session.scalar(select(Entry.bib).where(Entry.user_id == aki.id))
    aki_id, waiting_id = aki.id, waiting.id
    other_phone = logged_in(app, "aki@example.com")

    refused = form_post(client, "/account/delete", password="not it")
    assert refused.status_code == 400
    assert db.session.get(User, aki.id) is not None
    done = form_post(client, "/account/delete", password=PASSWORD)
    assert done.status_code == 303 and done.headers["Location"] == "/"

    db.session.expire_all()
    assert db.session.get(User, aki_id) is None
    assert db.session.scalar(select(PushSubscription)) is None
    assert other_phone.get("/me").status_code == 302
    # The entry stays, without a runner; the seat went to the runner waiting.
    entry = db.session.scalar(select(Entry).where(Entry.bib == bib))
    assert entry is not None and entry.user_id is None
    seat = db.session.scalar(select(Booking).where(Booking.status == "booked"))
    assert seat.user_id == waiting_id
    # The address can sign up again (as a new account).
    assert db.session.scalar(select(User).where(User.email == "aki@example.com")) is None
