"""Durable delivery against a push service that checks and decrypts what it gets."""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from raceapp.extensions import db
from raceapp.models import Delivery, PushSubscription
from raceapp.push import message, worker
from raceapp.push.vapid import Vapid
from raceapp.services import alerts
from raceapp.services.alerts import AlertDraft
from raceapp.vocabulary import alert_kind
from tests.helpers import ROOT
from tests.push_service import Reply

NOW = datetime(2024, 9, 20, 8, 0, tzinfo=timezone.utc)


@pytest.fixture
def organizer(okushinano, make_organizer):
    return make_organizer(okushinano)


def post(organizer, event, kind="info", title="Water at CP3", **kw):
    return alerts.post_alert(organizer, event, AlertDraft(kind=kind, title=title, **kw), now=NOW)


def statuses(alert_id: int) -> dict[str, int]:
    db.session.rollback()
    return dict(
        db.session.execute(
            select(Delivery.status, func.count())
            .where(Delivery.alert_id == alert_id)
            .group_by(Delivery.status)
        ).all()
    )


def test_an_alert_reaches_every_device_decrypted_and_well_formed(
    app, okushinano, organizer, make_runners, push_service, frozen_clock
):
    frozen_clock(NOW)
    make_runners(okushinano, "100k", 3, push_service, devices=2)
    make_runners(okushinano, "kids", 2)  # no push subscription: in-app only
    alert = post(
        organizer,
        okushinano,
        "cancellation",
        "Race cancelled: typhoon",
        body="Typhoon no. 10 is due on Saturday. Refunds by e-mail.",
    )
    assert (alert.audience_count, alert.device_count) == (5, 6)

    stats = worker.drain(app)

    assert push_service.rejected == []
    assert stats.results == {"sent": 6}
    assert statuses(alert.id) == {"sent": 6}
    assert len({r.token for r in push_service.accepted}) == 6
    for received in push_service.accepted:
        assert received.payload == {
            "id": alert.id,
            "kind": "cancellation",
            "lang": "en",
            "label": "Cancellation",
            "urgent": True,
            "refresh": True,
            "state": "cancelled",
            "summary": "Okushinano 100 is cancelled.",
            "title": "Race cancelled: typhoon",
            "body": "Typhoon no. 10 is due on Saturday. Refunds by e-mail.",
            "event": "Okushinano 100",
            "url": f"/me/alerts/{alert.id}",
            "tag": f"alert-{alert.id}",
            "at": "2024-09-20T08:00:00Z",
        }
        assert int(received.headers["TTL"]) >= 24 * 3600  # a phone off for hours still gets it
        assert received.headers["Urgency"] == "high"
        assert received.headers["Topic"] == f"alert-{alert.id}"
    # One VAPID token for the push service's origin, reused for every message.
    assert len({r.vapid_token for r in push_service.accepted}) == 1


def test_ttl_urgency_and_topic_follow_the_kind():
    info = message.build(1, "info", "Hi", "", "E", None, 7, None, "t")
    delay = message.build(2, "start_delay", "Late", "", "E", "100 km", 7, 3, "t")
    assert (info.urgency, delay.urgency) == ("normal", "high")
    assert info.ttl >= 12 * 3600 and delay.ttl >= 24 * 3600
    assert alert_kind("cancellation").ttl_seconds >= 24 * 3600
    # A newer delay for the same category replaces an older one the phone has not received.
    assert delay.topic == "delay-7-3" and info.topic == "alert-1"
    assert all(len(m.topic) <= 32 for m in (info, delay))


def test_payload_stays_well_under_4_kb_whatever_the_text():
    longest = message.build(
        10**9,
        "course_change",
        "𝄞" * 120,
        '"\n\\' * 4000,
        "長" * 200,
        "長" * 120,
        10**9,
        10**9,
        "t",
        {"state": "changed", "summary": "長" * 500},
    )
    assert len(longest.payload) <= message.PAYLOAD_MAX_BYTES < 3993
    assert longest.payload.decode().endswith("}")


def test_vapid_tokens_are_reused_per_origin_for_a_bounded_time(vapid_pem):
    now = [1_000_000.0]
    vapid = Vapid(vapid_pem.encode(), "ops@example.org", now=lambda: now[0])
    first = vapid.authorization("https://fcm.googleapis.com/fcm/send/a")
    assert vapid.authorization("https://fcm.googleapis.com/fcm/send/b") == first
    other = vapid.authorization("https://updates.push.services.mozilla.com/wpush/v2/x")
    assert other != first and vapid.tokens_signed == 2
    now[0] += vapid.token_lifetime - 3600 + 1  # within an hour of expiry: renew
    assert vapid.authorization("https://fcm.googleapis.com/fcm/send/a") != first
    assert vapid.tokens_signed == 3


@pytest.mark.parametrize("status", [404, 410])
def test_gone_subscriptions_are_deleted(
    app, okushinano, organizer, make_runners, push_service, frozen_clock, status
):
    frozen_clock(NOW)
    make_runners(okushinano, "100k", 3, push_service)
    gone = db.session.scalar(select(PushSubscription.endpoint).limit(1))
    push_service.script(Reply(status), endpoint=gone)
    alert = post(organizer, okushinano)

    worker.drain(app)

    assert statuses(alert.id) == {"sent": 2, "gone": 1}
    endpoints = set(db.session.scalars(select(PushSubscription.endpoint)))
    assert gone not in endpoints and len(endpoints) == 2
    # The next alert does not even try the removed device.
    before = push_service.requests
    post(organizer, okushinano, title="Second")
    worker.drain(app)
    assert push_service.requests - before == 2
    figures = alerts.alert_figures(organizer, alert.id)
    assert (figures.sent, figures.gone, figures.failed) == (2, 1, 0)


def test_429_waits_for_retry_after_then_delivers(
    app, okushinano, organizer, make_runners, push_service, frozen_clock
):
    frozen_clock(NOW)
    make_runners(okushinano, "100k", 1, push_service)
    push_service.script(Reply(429, {"Retry-After": "120"}))
    alert = post(organizer, okushinano)

    worker.drain(app)
    assert statuses(alert.id) == {"pending": 1}
    row = db.session.scalar(select(Delivery))
    assert row.next_attempt_at == NOW + timedelta(seconds=120)
    assert row.last_status == 429 and row.lease_until is None
    assert row.attempts == 0  # waiting is not an attempt

    frozen_clock(NOW + timedelta(seconds=119))
    worker.drain(app)
    assert statuses(alert.id) == {"pending": 1}  # not before the push service said

    frozen_clock(NOW + timedelta(seconds=120))
    worker.drain(app)
    assert statuses(alert.id) == {"sent": 1}
    assert len(push_service.accepted) == 1


def test_a_429_for_one_device_pauses_that_device_only(
    app, okushinano, organizer, make_runners, push_service, frozen_clock
):
    frozen_clock(NOW)
    app.config["PUSH_CONCURRENCY"] = 1  # one at a time, so the 429 comes first
    make_runners(okushinano, "100k", 4, push_service)
    push_service.script(Reply(429, {"Retry-After": "Fri, 20 Sep 2024 08:05:00 GMT"}))
    alert = post(organizer, okushinano)

    worker.drain(app)

    # One device was told to wait (an HTTP date); the service's other devices were not held up.
    assert push_service.requests == 4
    assert statuses(alert.id) == {"pending": 1, "sent": 3}
    row = db.session.scalar(select(Delivery).where(Delivery.status == "pending"))
    assert row.next_attempt_at == NOW + timedelta(minutes=5) and row.attempts == 0


def test_when_the_service_throttles_several_devices_the_whole_service_waits(
    app, okushinano, organizer, make_runners, push_service, frozen_clock
):
    from raceapp.push.sender import SERVICE_PAUSE_AFTER

    frozen_clock(NOW)
    app.config["PUSH_CONCURRENCY"] = 1
    make_runners(okushinano, "100k", 6, push_service)
    push_service.script(*[Reply(429, {"Retry-After": "300"})] * SERVICE_PAUSE_AFTER)
    alert = post(organizer, okushinano)

    worker.drain(app)

    # Three devices told to wait: the service is throttling us; the rest wait unsent, and
    # none of the waiting counts as an attempt.
    assert push_service.requests == SERVICE_PAUSE_AFTER
    assert statuses(alert.id) == {"pending": 6}
    rows = db.session.scalars(select(Delivery)).all()
    assert {r.next_attempt_at for r in rows} == {NOW + timedelta(minutes=5)}
    assert {r.attempts for r in rows} == {0}
    frozen_clock(NOW + timedelta(minutes=5))
    worker.drain(app)
    assert statuses(alert.id) == {"sent": 6}


def test_server_errors_are_retried_with_backoff_then_given_up(
    app, okushinano, organizer, make_runners, push_service, frozen_clock
):
    app.config["PUSH_MAX_ATTEMPTS"] = 3
    frozen_clock(NOW)
    make_runners(okushinano, "100k", 1, push_service)
    push_service.script(Reply(500), Reply(503), Reply(500))
    alert = post(organizer, okushinano)
    waits = []
    at = NOW
    for _ in range(3):
        worker.drain(app)
        db.session.rollback()
        row = db.session.scalar(select(Delivery))
        waits.append((row.next_attempt_at - at).total_seconds())
        at = row.next_attempt_at
        frozen_clock(at)
    assert statuses(alert.id) == {"failed": 1}
    assert row.attempts == 3 and "gave up after 3 attempts" in row.last_error
    assert 8 <= waits[0] <= 12 and 16 <= waits[1] <= 24  # exponential, with jitter
    assert push_service.accepted == []


def test_a_rejected_request_is_not_retried(
    app, okushinano, organizer, make_runners, push_service, frozen_clock
):
    frozen_clock(NOW)
    make_runners(okushinano, "100k", 1, push_service)
    push_service.script(Reply(400))
    alert = post(organizer, okushinano)
    worker.drain(app)
    frozen_clock(NOW + timedelta(days=1))
    worker.drain(app)
    assert statuses(alert.id) == {"failed": 1}
    assert push_service.requests == 1


def test_a_slow_push_service_never_hangs_the_worker(
    app, okushinano, organizer, make_runners, push_service, frozen_clock
):
    frozen_clock(NOW)
    # Long enough for a healthy answer on a loaded machine, far shorter than the slow one.
    app.config["PUSH_TIMEOUT_SECONDS"] = 2
    make_runners(okushinano, "100k", 2, push_service)
    slow = db.session.scalar(select(PushSubscription.endpoint).limit(1))
    push_service.script(Reply(201, delay=10), endpoint=slow)
    alert = post(organizer, okushinano)

    started = time.monotonic()
    worker.drain(app)

    assert time.monotonic() - started < 6
    assert statuses(alert.id) == {"sent": 1, "pending": 1}
    row = db.session.scalar(select(Delivery).where(Delivery.status == "pending"))
    assert "no answer within 2 s" in row.last_error
    # Retried later, it goes (with the usual time limit: on a busy machine half a second can
    # pass before even a healthy answer is read).
    app.config["PUSH_TIMEOUT_SECONDS"] = 5
    frozen_clock(NOW + timedelta(minutes=1))
    worker.drain(app)
    assert statuses(alert.id) == {"sent": 2}


def test_a_message_past_its_ttl_is_not_sent(
    app, okushinano, organizer, make_runners, push_service, frozen_clock
):
    frozen_clock(NOW)
    make_runners(okushinano, "100k", 1, push_service)
    alert = post(organizer, okushinano, "weather", "Thunderstorms this afternoon")
    frozen_clock(NOW + timedelta(seconds=alert_kind("weather").ttl_seconds + 1))
    worker.drain(app)
    assert statuses(alert.id) == {"failed": 1}
    assert push_service.requests == 0


def _worker_process(
    database_url: str, vapid_pem: str, origin: str, *args: str, batch: int = 500, **settings: str
):
    env = dict(
        os.environ,
        RACEAPP_ENV="testing",
        TEST_DATABASE_URL=database_url,
        VAPID_PRIVATE_KEY=vapid_pem,
        PUSH_EXTRA_ORIGINS=origin,
        PUSH_LEASE_SECONDS="30",
        PUSH_CONCURRENCY="16",
        PUSH_BATCH=str(batch),
    )
    env.update(settings)
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "push", "worker", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_for(predicate, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.mark.slow
def test_a_worker_killed_mid_fan_out_loses_nothing_and_sends_nothing_twice(
    app, okushinano, organizer, make_runners, push_service, database_url, vapid_pem, frozen_clock
):
    make_runners(okushinano, "100k", 60, push_service)
    push_service.script(*[Reply(201)] * 20, *[Reply(201, hold=True)] * 40)
    alert = alerts.post_alert(
        organizer,
        okushinano,
        AlertDraft("course_change", "Reroute at CP4"),
        now=datetime.now(timezone.utc),
    )

    process = _worker_process(database_url, vapid_pem, push_service.origin)
    try:
        # 20 answered and written down; the rest is on the wire, unanswered.
        _wait_for(lambda: len(push_service.accepted) == 20 and statuses(alert.id).get("sent") == 20)
        _wait_for(lambda: push_service.requests >= 30)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    push_service.release()
    time.sleep(0.2)
    assert len(push_service.accepted) == 20
    assert statuses(alert.id) == {"sent": 20, "pending": 40}

    # A new worker does not touch rows still leased to the dead one...
    worker.drain(app)
    assert statuses(alert.id) == {"sent": 20, "pending": 40}
    # ...and takes them over once the lease has run out.
    frozen_clock(datetime.now(timezone.utc) + timedelta(seconds=31))
    worker.drain(app)

    assert statuses(alert.id) == {"sent": 60}
    per_device = collections.Counter(r.token for r in push_service.accepted)
    assert len(per_device) == 60 and set(per_device.values()) == {1}
    assert push_service.rejected == []


@pytest.mark.slow
def test_after_a_kill_another_worker_delivers_the_rest_within_20_seconds(
    app, okushinano, organizer, make_runners, push_service, database_url, vapid_pem
):
    """A worker killed mid-fan-out of 500 messages, with the default lease: a second worker
    running alongside takes its rows over once their leases lapse (the dead one no longer
    renews them) and delivers the rest within 20 s of the kill. Nothing is lost; repeats are no
    more than the requests that were in flight, and carry the alert's Topic, so the phone shows
    one notification."""
    make_runners(okushinano, "100k", 500, push_service)
    # 150 answered at once; the next 64 (all the worker has in flight) taken by the service but
    # not yet answered when the worker dies.
    push_service.script(*[Reply(201)] * 150, *[Reply(201, hold=True, accept_first=True)] * 64)
    alert = alerts.post_alert(
        organizer,
        okushinano,
        AlertDraft("course_change", "Reroute at CP4"),
        now=datetime.now(timezone.utc),
    )
    first = _worker_process(
        database_url, vapid_pem, push_service.origin, PUSH_LEASE_SECONDS="15", PUSH_CONCURRENCY="64"
    )
    second = None
    try:
        _wait_for(lambda: push_service.requests >= 214 and statuses(alert.id).get("sent") == 150)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        killed_at = time.monotonic()
        # Sent by the dead worker and not written down: the most that can go twice.
        in_flight = push_service.requests - statuses(alert.id).get("sent", 0)
        push_service.release()
        second = _worker_process(
            database_url,
            vapid_pem,
            push_service.origin,
            PUSH_LEASE_SECONDS="15",
            PUSH_CONCURRENCY="64",
        )
        _wait_for(lambda: statuses(alert.id) == {"sent": 500}, timeout=25)
        took = time.monotonic() - killed_at
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(10)
    assert took < 20, f"the rest took {took:.1f} s after the kill"
    per_device = collections.Counter(r.token for r in push_service.accepted)
    assert len(per_device) == 500  # none lost
    repeats = sum(n - 1 for n in per_device.values())
    assert repeats <= in_flight
    assert {r.headers["Topic"] for r in push_service.accepted} == {f"alert-{alert.id}"}
    assert push_service.rejected == []


@pytest.mark.slow
def test_endpoints_that_never_answer_do_not_hold_up_healthy_ones(
    app, okushinano, organizer, make_runners, push_service
):
    """300 devices whose push endpoint hangs, 100 healthy ones on the same push service: every
    healthy one is delivered well before the hanging ones time out (4 s against 6 s, roomy for
    a loaded machine); the hanging ones are retried later."""
    make_runners(okushinano, "100k", 400, push_service)
    endpoints = list(
        db.session.scalars(select(PushSubscription.endpoint).order_by(PushSubscription.id))
    )
    for endpoint in endpoints[:300]:
        push_service.script(Reply(201, hold=True), endpoint=endpoint)
    healthy = set(endpoints[300:])
    alert = alerts.post_alert(
        organizer, okushinano, AlertDraft("info", "Water at CP2"), now=datetime.now(timezone.utc)
    )
    app.config["PUSH_TIMEOUT_SECONDS"] = 6
    started = time.monotonic()
    done = threading.Thread(target=worker.drain, args=(app,), daemon=True)
    done.start()
    try:
        _wait_for(
            lambda: (
                {push_service.origin + "/push/" + r.token for r in push_service.accepted} >= healthy
            ),
            timeout=10,
        )
        took = time.monotonic() - started
        done.join(30)  # the hanging ones time out: retried later
    finally:
        push_service.release()
    assert took < 4, f"healthy devices waited {took:.1f} s"
    db.session.rollback()
    assert statuses(alert.id) == {"sent": 100, "pending": 300}
    assert "no answer within 6 s" in db.session.scalar(
        select(Delivery.last_error).where(Delivery.status == "pending").limit(1)
    )


@pytest.mark.slow
def test_several_workers_share_the_work_without_sending_twice(
    app, okushinano, organizer, make_runners, push_service, database_url, vapid_pem
):
    make_runners(okushinano, "100k", 300, push_service)
    push_service.script(*[Reply(201, delay=0.05)] * 300)  # some network time
    alert = alerts.post_alert(
        organizer,
        okushinano,
        AlertDraft("info", "Bib pick-up open"),
        now=datetime.now(timezone.utc),
    )

    workers = [
        _worker_process(database_url, vapid_pem, push_service.origin, "--once", batch=10)
        for _ in range(3)
    ]
    outputs = [w.communicate(timeout=60)[0] for w in workers]

    assert all(w.returncode == 0 for w in workers), outputs
    assert statuses(alert.id) == {"sent": 300}, (
        outputs,
        set(db.session.scalars(select(Delivery.last_error).where(Delivery.status != "sent"))),
    )
    # Each row names the worker that sent it: the work was shared.
    assert len(set(db.session.scalars(select(Delivery.claimed_by)))) >= 2
    per_device = collections.Counter(r.token for r in push_service.accepted)
    assert len(per_device) == 300 and set(per_device.values()) == {1}


def test_vapid_keys_command_writes_a_private_key_only_its_owner_reads(runner, tmp_path):
    target = tmp_path / "vapid.pem"
    result = runner.invoke(args=["push", "vapid-keys", "--out", str(target)])
    assert result.exit_code == 0, result.output
    assert (target.stat().st_mode & 0o777) == 0o600
    key = Vapid(target.read_bytes(), "ops@example.org").application_server_key
    assert key in result.output and len(key) == 87  # 65 bytes, base64url
    again = runner.invoke(args=["push", "vapid-keys", "--out", str(target)])
    assert "keeping it" in again.output
    assert Vapid(target.read_bytes(), "ops@example.org").application_server_key == key


def test_the_worker_command_refuses_to_start_without_a_key(app, runner):
    app.config["VAPID_PRIVATE_KEY"] = None
    app.extensions.pop("raceapp.vapid", None)
    result = runner.invoke(args=["push", "worker", "--once"])
    assert result.exit_code != 0 and "VAPID_PRIVATE_KEY" in result.output
