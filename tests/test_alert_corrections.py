"""Correcting and withdrawing an alert: the correction replaces the notification on phones and
says "updated"; a withdrawal tells everyone to disregard it and undoes what it did to the race."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from raceapp.errors import DomainError, Forbidden
from raceapp.extensions import db
from raceapp.mail import worker as mail_worker
from raceapp.models import Delivery, MailDelivery, PushSubscription
from raceapp.push import worker
from raceapp.services import alerts, race_state
from raceapp.services.alerts import AlertDraft
from tests.helpers import FCM, csrf_from
from tests.mail_server import text_part

NOW = datetime(2024, 9, 20, 8, 0, tzinfo=timezone.utc)
LATER = NOW + timedelta(minutes=12)


@pytest.fixture
def organizer(okushinano, make_organizer):
    return make_organizer(okushinano)


def statuses(model, alert_id: int) -> dict[str, int]:
    db.session.rollback()
    return dict(
        db.session.execute(
            select(model.status, func.count())
            .where(model.alert_id == alert_id)
            .group_by(model.status)
        ).all()
    )


def test_a_correction_replaces_the_notification_and_says_updated(
    app, okushinano, organizer, make_runners, push_service, frozen_clock
):
    frozen_clock(NOW)
    make_runners(okushinano, "100k", 3, push_service)
    alert = alerts.post_alert(
        organizer,
        okushinano,
        AlertDraft("info", titles={"en": "Bus to the start at 04:10"}, bodies={"en": "Gate A."}),
        now=NOW,
    )
    worker.drain(app)
    assert statuses(Delivery, alert.id) == {"sent": 3}

    frozen_clock(LATER)
    alerts.edit_alert(
        organizer,
        alert.id,
        AlertDraft("info", titles={"en": "Bus to the start at 04:30"}, bodies={"en": "Gate B."}),
        now=LATER,
    )
    assert statuses(Delivery, alert.id) == {"pending": 3}
    worker.drain(app)

    assert statuses(Delivery, alert.id) == {"sent": 3}
    assert push_service.rejected == []
    first, second = push_service.accepted[:3], push_service.accepted[3:]
    assert len(second) == 3
    # The same Topic and tag: a phone that has not received or opened the first shows only this.
    assert {r.headers["Topic"] for r in first} == {r.headers["Topic"] for r in second}
    assert {r.payload["tag"] for r in second} == {f"alert-{alert.id}"}
    for received in second:
        assert received.payload["title"] == "Updated: Bus to the start at 04:30"
        assert received.payload["body"] == "Gate B."
    # The runner's page says so too.
    db.session.refresh(alert)
    assert alert.revision == 1 and alert.title == "Bus to the start at 04:30"


def test_withdrawing_tells_every_phone_and_address_with_the_reason(
    app, okushinano, organizer, make_runners, push_service, frozen_clock, smtp_server
):
    frozen_clock(NOW)
    runners = make_runners(okushinano, "100k", 2, push_service)
    for runner in runners:
        runner.email_verified_at = NOW
    db.session.commit()
    alert = alerts.post_alert(
        organizer,
        okushinano,
        AlertDraft("cancellation", titles={"en": "Race cancelled: typhoon"}),
        now=NOW,
    )
    worker.drain(app)
    mail_worker.drain(app)
    assert race_state.of_event(okushinano, NOW).state == "cancelled"

    frozen_clock(LATER)
    done = alerts.retract_alert(organizer, alert.id, {"en": "The typhoon turned east."}, now=LATER)
    assert (done.devices, done.emails) == (2, 2)
    worker.drain(app)
    mail_worker.drain(app)

    withdrawn = push_service.accepted[2:]
    assert len(withdrawn) == 2
    for received in withdrawn:
        assert received.headers["Topic"] == f"alert-{alert.id}"
        assert received.headers["Urgency"] == "high"
        assert received.payload["title"] == "Withdrawn: Race cancelled: typhoon"
        assert received.payload["body"] == "The typhoon turned east."
        assert received.payload["summary"] == "Okushinano 100 is back on."
        assert received.payload["state"] == race_state.of_event(okushinano, LATER).state
        assert received.payload["state"] != "cancelled"
        assert received.payload["refresh"] is True
    # Every address gets the withdrawal as a new message (not the first one's Message-ID).
    mails = smtp_server.received
    assert len(mails) == 4
    ids = {m["Message-ID"] for m in mails}
    assert len(ids) == 4
    later = [
        m for m in mails if m["Subject"].strip().endswith("Withdrawn: Race cancelled: typhoon")
    ]
    assert len(later) == 2 and all("The typhoon turned east." in text_part(m) for m in later)
    assert statuses(MailDelivery, alert.id) == {"sent": 2}


def test_a_withdrawn_alert_can_be_neither_corrected_nor_withdrawn_again(
    okushinano, organizer, make_user
):
    alert = alerts.post_alert(organizer, okushinano, AlertDraft("info", "Soup at CP3"), now=NOW)
    alerts.retract_alert(organizer, alert.id, now=LATER)
    with pytest.raises(DomainError, match="withdrawn"):
        alerts.retract_alert(organizer, alert.id, now=LATER)
    with pytest.raises(DomainError, match="withdrawn"):
        alerts.edit_alert(organizer, alert.id, AlertDraft("info", "Tea at CP3"), now=LATER)
    # Nobody outside headquarters can do either.
    stranger = make_user("stranger@example.com")
    other = alerts.post_alert(organizer, okushinano, AlertDraft("info", "Soup"), now=NOW)
    with pytest.raises(Forbidden):
        alerts.retract_alert(stranger, other.id, now=LATER)
    with pytest.raises(Forbidden):
        alerts.edit_alert(stranger, other.id, AlertDraft("info", "Tea"), now=LATER)


def test_a_correction_that_changes_nothing_or_breaks_a_rule_is_refused(okushinano, organizer):
    alert = alerts.post_alert(
        organizer, okushinano, AlertDraft("info", titles={"en": "Soup at CP3"}), now=NOW
    )
    with pytest.raises(DomainError, match="Nothing was changed"):
        alerts.edit_alert(
            organizer, alert.id, AlertDraft("info", titles={"en": "Soup at CP3"}), now=LATER
        )
    with pytest.raises(DomainError, match="title"):
        alerts.edit_alert(organizer, alert.id, AlertDraft("info", titles={"en": " "}), now=LATER)
    with pytest.raises(DomainError, match="https"):
        alerts.edit_alert(
            organizer, alert.id, AlertDraft("info", "Soup", link="javascript:alert(1)"), now=LATER
        )
    db.session.refresh(alert)
    assert (alert.revision, alert.title) == (0, "Soup at CP3")


def test_a_result_for_the_earlier_revision_does_not_mark_the_correction_sent(
    app, okushinano, organizer, make_runners, push_service, frozen_clock
):
    """A worker holding a row when the correction is made writes its result into nothing: the
    row was queued again, and goes out with the corrected words."""
    from raceapp.push import outbox

    frozen_clock(NOW)
    make_runners(okushinano, "100k", 1, push_service)
    alert = alerts.post_alert(organizer, okushinano, AlertDraft("info", "Soup at CP3"), now=NOW)
    db.session.commit()
    jobs, _ = outbox.claim(db.engine, "w1", limit=10, now=NOW, lease_seconds=60)
    assert len(jobs) == 1
    alerts.edit_alert(organizer, alert.id, AlertDraft("info", "Tea at CP3"), now=NOW)
    outbox.record(
        db.engine, [outbox.Outcome(jobs[0].delivery_id, "sent", 201)], now=NOW, max_attempts=5
    )
    assert statuses(Delivery, alert.id) == {"pending": 1}
    # Claimed again by another worker before the first one's result comes in: that result
    # still belongs to the earlier revision.
    again, _ = outbox.claim(db.engine, "w2", limit=10, now=NOW, lease_seconds=60)
    assert [j.delivery_id for j in again] == [jobs[0].delivery_id]
    outbox.record(
        db.engine,
        [outbox.Outcome(jobs[0].delivery_id, "sent", 201)],
        now=NOW,
        max_attempts=5,
        worker_id="w1",
    )
    assert statuses(Delivery, alert.id) == {"pending": 1}
    frozen_clock(NOW + timedelta(minutes=5))  # w2's lease ends; the row goes out again
    worker.drain(app)
    assert [r.payload["title"] for r in push_service.accepted] == ["Updated: Tea at CP3"]


def test_the_desk_corrects_and_withdraws_with_a_confirm_page(
    client, auth, okushinano, organizer, make_user, make_entry, frozen_clock
):
    frozen_clock(NOW)
    runner = make_user("runner@example.com")
    make_entry(runner, okushinano, "100k")
    db.session.add(
        PushSubscription(
            user_id=runner.id,
            endpoint=FCM + "r",
            p256dh="x",
            auth="y",
            created_at=NOW,
            last_seen_at=NOW,
        )
    )
    db.session.commit()
    alert = alerts.post_alert(
        organizer,
        okushinano,
        AlertDraft("cancellation", titles={"en": "Cancelled: typhoon"}),
        now=NOW,
    )
    db.session.commit()
    auth.login(organizer.email)
    page = client.get(f"/organizer/alerts/{alert.id}").get_data(as_text=True)
    assert f"/organizer/alerts/{alert.id}/edit" in page and "Withdraw it" in page

    form = client.get(f"/organizer/alerts/{alert.id}/edit").get_data(as_text=True)
    assert 'value="Cancelled: typhoon"' in form
    token = csrf_from(form)
    response = client.post(
        f"/organizer/alerts/{alert.id}/edit",
        data={"csrf_token": token, "title_en": "Cancelled: typhoon no. 10", "body_en": "Refunds."},
    )
    assert response.status_code == 303
    response = client.post(
        f"/organizer/alerts/{alert.id}/edit",
        data={"csrf_token": token, "title_en": "", "body_en": "Refunds."},
    )
    assert response.status_code == 400 and "title" in response.get_data(as_text=True)

    confirm = client.get(f"/organizer/alerts/{alert.id}/retract").get_data(as_text=True)
    assert "Okushinano 100 is back on." in confirm
    assert "told to disregard it: 1 device and 0 e-mail addresses." in confirm
    # The confirm page changed nothing.
    assert race_state.of_event(okushinano, NOW).state == "cancelled"
    response = client.post(
        f"/organizer/alerts/{alert.id}/retract",
        data={"csrf_token": token, "reason_en": "Typhoon turned east."},
    )
    assert response.status_code == 303
    db.session.expire_all()
    assert race_state.of_event(okushinano, NOW).state != "cancelled"
    page = client.get(f"/organizer/alerts/{alert.id}").get_data(as_text=True)
    assert "Withdrawn" in page and "Withdraw it" not in page
    assert client.get(f"/organizer/alerts/{alert.id}/edit").status_code == 400

    auth.login(runner.email)
    shown = client.get(f"/me/alerts/{alert.id}").get_data(as_text=True)
    assert "disregard this alert" in shown and "Typhoon turned east." in shown
    assert "Okushinano 100 is back on." in shown
    feed = client.get("/me/alerts").get_data(as_text=True)
    assert "Withdrawn" in feed
