"""Push subscriptions: stored per runner and device, and nothing the server must not call."""

from __future__ import annotations

import json
import os

import pytest
from sqlalchemy import func, select

from raceapp.extensions import db
from raceapp.models import PushSubscription
from raceapp.services.subscriptions import DEVICES_PER_USER
from tests.helpers import FCM, b64url, browser_keys, csrf_from, send, subscription


@pytest.fixture
def runner_client(client, auth, okushinano, make_user, make_entry):
    user = make_user("aki@example.com")
    make_entry(user, okushinano, "100k", "101")
    auth.login("aki@example.com")
    client.csrf = csrf_from(client.get("/me").get_data(as_text=True))
    return client


def count() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(PushSubscription))


def test_a_subscription_is_stored_and_refreshed_not_duplicated(runner_client):
    sub = subscription()
    first = send(runner_client, sub)
    assert first.status_code == 201 and first.json == {"ok": True, "devices": 1}
    stored = db.session.scalar(select(PushSubscription))
    assert stored.endpoint == sub["endpoint"] and stored.login_session_id is not None
    seen = stored.last_seen_at

    # The app re-sends it on every open; the browser may have changed the keys.
    sub["keys"] = browser_keys()
    assert send(runner_client, sub).status_code == 201
    assert count() == 1
    stored = db.session.scalar(select(PushSubscription))
    assert stored.p256dh == sub["keys"]["p256dh"] and stored.last_seen_at >= seen


def test_each_device_has_its_own_and_the_oldest_beyond_the_limit_goes(runner_client):
    for i in range(DEVICES_PER_USER + 2):
        assert send(runner_client, subscription(f"{FCM}device{i}")).status_code == 201
    endpoints = set(db.session.scalars(select(PushSubscription.endpoint)))
    assert len(endpoints) == DEVICES_PER_USER
    assert f"{FCM}device0" not in endpoints and f"{FCM}device{DEVICES_PER_USER + 1}" in endpoints


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://fcm.googleapis.com/fcm/send/x",  # not https
        "https://127.0.0.1/push",  # loopback
        "https://[::1]/push",
        "https://10.0.0.7/push",  # private address
        "https://169.254.169.254/latest/meta-data",  # cloud metadata
        "https://localhost/push",
        "https://evil.example.com/push",  # unknown host
        "https://fcm.googleapis.com.evil.example/push",  # suffix trick
        "https://evilfcm.googleapis.com/x",  # not a subdomain of an allowed host
        "https://fcm.googleapis.com@10.0.0.7/push",  # userinfo trick
        "https://fcm.googleapis.com:8443/fcm/send/x",  # other port
        "ftp://fcm.googleapis.com/x",
        "fcm.googleapis.com/fcm/send/x",
        "https://fcm.googleapis.com/x\r\nHost: internal",
        "https://" + "a" * 1100 + ".push.apple.com/x",
        # Hosts parsers read differently: strictly refused before matching the allowlist.
        "https://127.0.0.1%2e.notify.windows.com/x",
        "https://fcm.googleapis.com%2Fevil.example/x",
        "https://evil.example\\.notify.windows.com/x",
        "https://evil.example\\@fcm.googleapis.com/x",
        "https://x..notify.windows.com/x",
        "https://-x.notify.windows.com/x",
        "",
        None,
        42,
    ],
)
def test_endpoints_the_server_must_not_call_are_refused(runner_client, endpoint):
    response = send(runner_client, {"endpoint": endpoint, "keys": browser_keys()})
    assert response.status_code == 400, endpoint
    assert response.json["error"]
    assert count() == 0


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://fcm.googleapis.com/fcm/send/abc:def",
        "https://updates.push.services.mozilla.com/wpush/v2/gAAAA",
        "https://web.push.apple.com/QGuQyavXutnMH",
        "https://wns2-par02p.notify.windows.com/w/?token=BQYAAA",
    ],
)
def test_the_known_push_services_are_accepted(runner_client, endpoint):
    assert send(runner_client, subscription(endpoint)).status_code == 201
    assert count() == 1


@pytest.mark.parametrize(
    "keys",
    [
        {"p256dh": "not base64 !!"},
        {"p256dh": b64url(b"\x04" + b"\x01" * 64)},  # right length, not a point on P-256
        {"p256dh": b64url(b"\x05" + b"\x01" * 32)},  # 33 bytes, not a compressed point
        {"p256dh": ""},
        {"auth": b64url(os.urandom(8))},  # auth secret must be 16 bytes
        {"auth": None},
        {"p256dh": ["a"]},
    ],
)
def test_malformed_keys_are_refused(runner_client, keys):
    response = send(runner_client, subscription(**keys))
    assert response.status_code == 400 and response.json["error"]
    assert count() == 0


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[]",
        '"a string"',
        json.dumps({"endpoint": FCM + "x"}),
        json.dumps({**subscription(), "padding": "x" * 5000}),  # oversized
    ],
)
def test_bodies_that_are_not_a_subscription_are_refused(runner_client, body):
    response = send(runner_client, body)
    assert response.status_code == 400 and response.json["error"]
    assert count() == 0


def test_anonymous_and_tokenless_requests_store_nothing(client, runner_client):
    assert send(runner_client, subscription(), **{"X-CSRFToken": ""}).status_code == 400
    anonymous = client.application.test_client()
    anonymous.csrf = csrf_from(anonymous.get("/auth/login").get_data(as_text=True))
    refused = send(anonymous, subscription())
    assert refused.status_code == 401 and "Log in" in refused.json["error"]
    assert count() == 0


def test_the_local_test_push_service_needs_the_test_setting(app, runner_client, push_service):
    sub = push_service.new_subscription()
    app.config["PUSH_EXTRA_ORIGINS"] = ()
    assert send(runner_client, sub).status_code == 400
    app.config["PUSH_EXTRA_ORIGINS"] = (push_service.origin,)
    assert send(runner_client, sub).status_code == 201


def test_turning_alerts_off_and_logging_out_remove_the_device(runner_client, auth):
    sub = subscription()
    send(runner_client, sub)
    removed = send(runner_client, {"endpoint": sub["endpoint"]}, method="DELETE")
    assert removed.json == {"ok": True, "removed": True} and count() == 0

    send(runner_client, sub)
    assert count() == 1
    auth.logout()
    assert count() == 0


def test_a_browser_that_changes_hands_follows_the_new_runner(
    runner_client, auth, make_user, okushinano, make_entry
):
    sub = subscription()
    send(runner_client, sub)
    other = make_user("ben@example.com")
    make_entry(other, okushinano, "50k", "501")
    auth.login("ben@example.com")
    runner_client.csrf = csrf_from(runner_client.get("/me").get_data(as_text=True))
    assert send(runner_client, sub).status_code == 201
    assert [s.user_id for s in db.session.scalars(select(PushSubscription))] == [other.id]


def test_a_device_another_account_logs_in_on_moves_and_the_first_is_told(
    app, runner_client, auth, make_user, okushinano, make_entry
):
    """One browser, one endpoint: it belongs to whoever last logged in on it. The runner it
    leaves finds a notice in the app naming the device, never a silent loss."""
    from raceapp.models import Notice, User
    from tests.conftest import AuthActions

    sub = subscription(FCM + "shared-phone")
    android = (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0 Mobile Safari/537.36"
    )
    send(runner_client, sub, **{"User-Agent": android})
    # The browser's cookies are cleared (no logout), and Ben logs in on it.
    browser = app.test_client()
    other = make_user("ben@example.com")
    make_entry(other, okushinano, "50k", "202")
    AuthActions(browser).login("ben@example.com")
    browser.csrf = csrf_from(browser.get("/me").get_data(as_text=True))
    assert send(browser, sub).status_code == 201
    db.session.rollback()
    owner = db.session.scalar(select(PushSubscription.user_id))
    assert owner == other.id and count() == 1
    aki = db.session.scalar(select(User).where(User.email == "aki@example.com"))
    notice = db.session.scalar(select(Notice).where(Notice.user_id == aki.id))
    assert "Chrome on Android" in notice.texts["text"]["en"]
    assert "Android" in notice.texts["text"]["ja"]
    auth.logout()
    auth.login("aki@example.com")
    assert "now go to another account" in runner_client.get("/me").get_data(as_text=True)
    # The same account sending its own device again tells nobody anything.
    assert db.session.scalar(select(func.count()).select_from(Notice)) == 1
