"""Alerts by e-mail: who gets one, in which language, through a durable outbox drained over one
SMTP connection per batch; retried on 4xx, given up on 5xx, and a worker killed in the middle
of 500 e-mails loses none."""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, update

from raceapp.extensions import db
from raceapp.mail import worker
from raceapp.models import MailDelivery, PushSubscription, User
from raceapp.services import alerts
from raceapp.services.alerts import AlertDraft
from tests.helpers import FCM, ROOT
from tests.mail_server import html_part, text_part

NOW = datetime(2024, 6, 7, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def organizer(okushinano, make_organizer):
    return make_organizer(okushinano)


def runner(make_user, make_entry, event, email, *, verified=True, push=False, every=False, **kw):
    user = make_user(email, **kw)
    make_entry(user, event, "100k")
    user.email_verified_at = NOW if verified else None
    user.email_alerts = every
    if push:
        db.session.add(
            PushSubscription(
                user_id=user.id,
                endpoint=FCM + email,
                p256dh="x",
                auth="y",
                created_at=NOW,
                last_seen_at=NOW,
            )
        )
    db.session.commit()
    return user


def mail_statuses(alert_id: int) -> dict[str, int]:
    db.session.rollback()
    return dict(
        db.session.execute(
            select(MailDelivery.status, func.count())
            .where(MailDelivery.alert_id == alert_id)
            .group_by(MailDelivery.status)
        ).all()
    )


def test_who_gets_an_alert_by_email(app, okushinano, organizer, make_user, make_entry):
    args = (make_user, make_entry, okushinano)
    with_push = runner(*args, "push@example.com", push=True)
    no_push = runner(*args, "nopush@example.com")
    every = runner(*args, "every@example.com", push=True, every=True)
    unverified = runner(*args, "unverified@example.com", verified=False)
    other_race = make_user("elsewhere@example.com")
    other_race.email_verified_at = NOW
    db.session.commit()

    def mailed(kind: str, **kw) -> set[str]:
        alert = alerts.post_alert(organizer, okushinano, AlertDraft(kind, "T", **kw), now=NOW)
        ids = list(
            db.session.scalars(
                select(MailDelivery.user_id).where(MailDelivery.alert_id == alert.id)
            )
        )
        assert alert.email_count == len(ids)
        return {db.session.get(User, i).email for i in ids}

    # Urgent kinds: every runner with a confirmed address.
    urgent = {with_push.email, no_push.email, every.email}
    assert mailed("cancellation") == urgent
    assert mailed("reinstate") == urgent
    assert mailed("start_delay", category_code="100k", delay_minutes=30) == urgent
    # Others: those who asked for every alert, and those with no phone that gets push.
    assert mailed("info") == {no_push.email, every.email}
    assert mailed("weather") == {no_push.email, every.email}
    assert unverified.email not in urgent and other_race.email not in urgent


def test_an_alert_email_is_in_the_runners_language_with_a_link(
    app, okushinano, organizer, make_user, make_entry, smtp_server
):
    ja = runner(make_user, make_entry, okushinano, "ja@example.com", name="山田")
    ja.language = "ja"
    runner(make_user, make_entry, okushinano, "en@example.com", name="Anna")
    db.session.commit()
    alert = alerts.post_alert(
        organizer,
        okushinano,
        AlertDraft(
            "cancellation",
            titles={"ja": "台風のため大会を中止します", "en": "Race cancelled: typhoon"},
            bodies={"ja": "安全を最優先しました。", "en": "Safety comes first."},
        ),
        now=NOW,
    )
    assert alert.email_count == 2
    assert worker.drain(app) == 2
    by_address = {m["X-Envelope-To"]: m for m in smtp_server.received}
    japanese, english = by_address["ja@example.com"], by_address["en@example.com"]
    assert japanese["Subject"].strip() == "【Okushinano 100】大会中止:台風のため大会を中止します"
    assert "Okushinano 100は中止になりました。" in text_part(japanese)
    assert "安全を最優先しました。" in text_part(japanese)
    assert japanese["Content-Language"] == "ja"
    assert english["Subject"].strip() == "[Okushinano 100] Cancellation: Race cancelled: typhoon"
    assert "Safety comes first." in text_part(english)
    link = f"/me/alerts/{alert.id}"
    assert link in text_part(english) and f'{link}"' in html_part(english)
    assert english["Message-ID"].startswith(f"<alert-{alert.id}.")
    assert mail_statuses(alert.id) == {"sent": 2}
    # Drained: nothing goes twice.
    assert worker.drain(app) == 0 and len(smtp_server.received) == 2


def test_a_batch_keeps_its_connection_and_retries_temporary_failures(
    app, okushinano, organizer, make_user, make_entry, smtp_server, frozen_clock
):
    frozen_clock(NOW)
    app.config["MAIL_CONNECTIONS"] = 1  # one lane: its connection is what is counted
    for i in range(5):
        runner(make_user, make_entry, okushinano, f"r{i}@example.com")
    smtp_server.answer("451 4.3.0 Try again later", "550 5.1.1 No such mailbox")
    alert = alerts.post_alert(organizer, okushinano, AlertDraft("cancellation", "Off"), now=NOW)
    worker.drain(app)
    assert mail_statuses(alert.id) == {"sent": 3, "pending": 1, "failed": 1}
    failed = db.session.scalar(select(MailDelivery).where(MailDelivery.status == "failed"))
    assert failed.last_status == 550 and "No such mailbox" in failed.last_error
    retry = db.session.scalar(select(MailDelivery).where(MailDelivery.status == "pending"))
    assert retry.last_status == 451 and retry.next_attempt_at > NOW
    frozen_clock(NOW + timedelta(minutes=5))
    worker.drain(app)
    assert mail_statuses(alert.id) == {"sent": 4, "failed": 1}
    # One connection per batch: a refused message does not cost the batch its connection.
    assert smtp_server.handler.sessions == 2


def test_a_temporary_failure_gives_up_after_the_last_attempt(
    app, okushinano, organizer, make_user, make_entry, smtp_server, frozen_clock
):
    frozen_clock(NOW)
    app.config["MAIL_MAX_ATTEMPTS"] = 2
    runner(make_user, make_entry, okushinano, "r@example.com")
    smtp_server.answer(*["421 4.7.0 Busy"] * 5)
    alert = alerts.post_alert(organizer, okushinano, AlertDraft("cancellation", "Off"), now=NOW)
    worker.drain(app)
    frozen_clock(NOW + timedelta(hours=1))
    worker.drain(app)
    assert mail_statuses(alert.id) == {"failed": 1}


def test_organizers_see_email_figures(
    app, client, auth, okushinano, organizer, make_user, make_entry
):
    runner(make_user, make_entry, okushinano, "r@example.com")
    alert = alerts.post_alert(organizer, okushinano, AlertDraft("cancellation", "Off"), now=NOW)
    auth.login("organizer@example.com")
    page = client.get(f"/organizer/alerts/{alert.id}").get_data(as_text=True)
    assert "E-mail" in page and "Sending" in page
    worker.drain(app)
    assert mail_statuses(alert.id) == {"sent": 1}


def _mail_worker(database_url: str, port: int, **settings: str) -> subprocess.Popen:
    env = dict(
        os.environ,
        RACEAPP_ENV="testing",
        TEST_DATABASE_URL=database_url,
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=str(port),
        MAIL_USE_TLS="0",
        MAIL_POLL_SECONDS="0.2",
        MAIL_LEASE_SECONDS="6",
        MAIL_BATCH="50",
        MAIL_CONNECTIONS="4",
        **settings,
    )
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "mail", "worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.mark.slow
def test_a_worker_killed_mid_batch_loses_no_email(
    app, okushinano, organizer, make_user, make_entry, smtp_server, database_url
):
    """500 e-mails; the worker is killed after about 150; another finishes. None lost; repeats
    are at most the e-mails in flight at the kill (one per connection), with the same
    Message-ID."""
    users = [make_user(f"r{i}@example.com") for i in range(500)]
    for user in users:
        make_entry(user, okushinano, "100k")
    db.session.execute(update(User).values(email_verified_at=NOW))
    db.session.commit()
    alert = alerts.post_alert(
        organizer, okushinano, AlertDraft("cancellation", "Off"), now=datetime.now(timezone.utc)
    )
    assert alert.email_count == 500
    first = _mail_worker(database_url, smtp_server.port)
    second = None
    try:
        deadline = time.monotonic() + 60
        while len(smtp_server.received) < 150:
            assert time.monotonic() < deadline, first.stdout.read() if first.poll() else "slow"
            time.sleep(0.02)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        second = _mail_worker(database_url, smtp_server.port)
        deadline = time.monotonic() + 60
        while mail_statuses(alert.id) != {"sent": 500}:
            assert time.monotonic() < deadline, mail_statuses(alert.id)
            time.sleep(0.2)
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(10)
    per_address = collections.Counter(m["X-Envelope-To"] for m in smtp_server.received)
    assert len(per_address) == 500  # none lost
    # At most the e-mail in flight on each of the worker's connections at the kill.
    repeats = [a for a, n in per_address.items() if n > 1]
    assert len(repeats) <= 4 and all(per_address[a] == 2 for a in repeats)
    for address in repeats:
        ids = {m["Message-ID"] for m in smtp_server.received if m["X-Envelope-To"] == address}
        assert len(ids) == 1  # the same message: a mail program shows it once


def test_a_batch_is_shared_between_connections(
    app, okushinano, organizer, make_user, make_entry, smtp_server
):
    app.config["MAIL_CONNECTIONS"] = 3
    for i in range(9):
        runner(make_user, make_entry, okushinano, f"r{i}@example.com")
    alert = alerts.post_alert(organizer, okushinano, AlertDraft("cancellation", "Off"), now=NOW)
    worker.drain(app)
    assert mail_statuses(alert.id) == {"sent": 9}
    assert smtp_server.handler.sessions == 3
    assert len({m["X-Envelope-To"] for m in smtp_server.received}) == 9
