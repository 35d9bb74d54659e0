"""Abuse limits: per address and per account, shared by every worker, refused with a 429 page."""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
from sqlalchemy import func, select

from raceapp import create_app
from raceapp.config import rate_limit_storage_uri
from raceapp.extensions import db, limiter
from raceapp.models import Booking, EmailLink, PushSubscription, RateLimitCounter
from raceapp.web.ratelimits import DatabaseStorage
from tests.helpers import (
    FCM,
    PASSWORD,
    book,
    csrf_from,
    departure,
    send,
    sent_mail,
    subscription,
)
from tests.servers import Gunicorn


@pytest.fixture
def limits(app):
    """Turn the abuse limits on for this test; keyword arguments set the limits."""

    def configure(**values):
        app.config.update(values)

    app.config["RATELIMIT_ENABLED"] = True
    limiter.init_app(app)  # the testing app skipped it (limits off)
    return configure


def login(client, email, password, address="203.0.113.7"):
    token = csrf_from(client.get("/auth/login").get_data(as_text=True))
    return client.post(
        "/auth/login",
        data={"email": email, "password": password, "csrf_token": token},
        environ_base={"REMOTE_ADDR": address},
    )


def test_failed_logins_lock_the_account_whatever_the_address(client, make_user, limits):
    make_user("aki@example.com")
    make_user("ren@example.com")
    limits(LOGIN_LIMIT_PER_ACCOUNT="3 per 15 minutes")
    for i in range(3):
        assert (
            login(client, "aki@example.com", "wrong password", f"198.51.100.{i}").status_code == 401
        )
    refused = login(client, "AKI@example.com ", PASSWORD, "198.51.100.99")
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 15 * 60
    html = refused.get_data(as_text=True)
    assert "Slow down" in html and "Please wait" in html and "minutes" in html
    assert "session" not in refused.headers.get("Set-Cookie", "")  # not logged in
    # Another account from the same address is not held up.
    assert login(client, "ren@example.com", PASSWORD, "198.51.100.99").status_code == 302


def test_successful_logins_do_not_count(client, make_user, limits):
    make_user("aki@example.com")
    limits(LOGIN_LIMIT_PER_ACCOUNT="2 per minute", LOGIN_LIMIT_PER_ADDRESS="2 per minute")
    for _ in range(5):
        assert login(client, "aki@example.com", PASSWORD).status_code == 302


def test_failed_logins_from_one_address_are_limited_across_accounts(client, make_user, limits):
    limits(LOGIN_LIMIT_PER_ADDRESS="4 per minute")
    for i in range(4):
        assert login(client, f"guess{i}@example.com", "password1").status_code == 401
    assert login(client, "guess9@example.com", "password1").status_code == 429
    assert login(client, "guess9@example.com", "password1", "192.0.2.1").status_code == 401


def signup(app, email, address):
    client = app.test_client()  # a new visitor each time: a logged-in one is sent away
    token = csrf_from(client.get("/auth/signup").get_data(as_text=True))
    return client.post(
        "/auth/signup",
        data={"email": email, "name": "Aki", "password": PASSWORD, "csrf_token": token},
        environ_base={"REMOTE_ADDR": address},
    )


def test_signups_are_limited_per_address_and_nothing_is_written(app, limits):
    limits(SIGNUP_LIMIT_PER_ADDRESS="2 per 10 minutes")
    assert signup(app, "one@example.com", "203.0.113.5").status_code == 200
    assert signup(app, "two@example.com", "203.0.113.5").status_code == 200
    refused = signup(app, "three@example.com", "203.0.113.5")
    assert refused.status_code == 429
    assert db.session.scalar(select(func.count()).select_from(EmailLink)) == 2
    assert len(sent_mail(app)) == 2
    assert signup(app, "three@example.com", "203.0.113.6").status_code == 200


def test_signups_for_one_email_are_limited(app, limits, make_user):
    """Whether the address has an account or not: the limit itself tells nothing."""
    make_user("taken@example.com")
    limits(SIGNUP_LIMIT_PER_ACCOUNT="2 per hour")
    for email in ("one@example.com", "taken@example.com"):
        assert signup(app, email, "203.0.113.5").status_code == 200
        assert signup(app, email, "203.0.113.6").status_code == 200
        assert signup(app, email, "203.0.113.7").status_code == 429


def test_bookings_are_limited_per_account(client, auth, bus_event, runner_factory, limits):
    runner_factory("a@example.com")
    auth.login("a@example.com")
    limits(BOOKING_LIMIT_PER_ACCOUNT="3 per minute")
    dep = departure(bus_event, "station-to-start", "05:00")
    assert book(client, dep, key="k1").status_code == 303
    token = csrf_from(client.get("/events/bus-test/shuttles").get_data(as_text=True))
    reference = db.session.scalar(select(Booking.reference))
    assert client.post(
        f"/shuttles/tickets/{reference}/cancel", data={"csrf_token": token}
    ).status_code in (302, 303)
    assert book(client, dep, key="k2").status_code == 303
    refused = book(client, dep, key="k3")
    assert refused.status_code == 429 and "Retry-After" in refused.headers
    assert (
        db.session.scalar(
            select(func.count()).select_from(Booking).where(Booking.status == "booked")
        )
        == 1
    )


def test_push_subscriptions_are_limited_per_account_with_a_json_answer(
    client, auth, okushinano, make_user, make_entry, limits
):
    user = make_user("aki@example.com")
    make_entry(user, okushinano, "100k", "101")
    auth.login("aki@example.com")
    client.csrf = csrf_from(client.get("/me").get_data(as_text=True))
    limits(PUSH_SUBSCRIPTION_LIMIT_PER_ACCOUNT="2 per minute")
    for device in ("one", "two"):
        assert send(client, subscription(FCM + device)).status_code == 201
    refused = send(client, subscription(FCM + "three"))
    assert refused.status_code == 429
    body = refused.get_json()
    assert "wait" in body["error"] and body["retry_after"] == int(refused.headers["Retry-After"])
    assert db.session.scalar(select(func.count()).select_from(PushSubscription)) == 2


def test_counters_are_shared_by_two_app_processes(app, database_url, make_user, limits):
    """Two app instances on one database stand for two gunicorn workers."""
    make_user("aki@example.com")
    limits(LOGIN_LIMIT_PER_ACCOUNT="4 per minute")
    other = create_app(
        "testing",
        SQLALCHEMY_DATABASE_URI=database_url,
        RATELIMIT_ENABLED=True,
        LOGIN_LIMIT_PER_ACCOUNT="4 per minute",
    )
    one_client, other_client = app.test_client(), other.test_client()
    for client in (one_client, other_client, one_client, other_client):
        assert login(client, "aki@example.com", "wrong password").status_code == 401
    assert login(one_client, "aki@example.com", PASSWORD).status_code == 429
    assert login(other_client, "aki@example.com", PASSWORD).status_code == 429
    # The count is a row in the shared database, not something either process holds (the
    # two refused attempts counted too).
    assert db.session.scalar(select(func.max(RateLimitCounter.hits))) == 6
    with other.app_context():
        db.engine.dispose()


@pytest.mark.slow
def test_gunicorn_workers_share_the_counters(app, database_url, vapid_pem, tmp_path, make_user):
    make_user("aki@example.com")
    db.session.commit()
    server = Gunicorn(
        database_url,
        vapid_pem,
        tmp_path,
        workers=4,
        env={"RATELIMIT_ENABLED": "1", "LOGIN_LIMIT_PER_ACCOUNT": "6 per minute"},
    ).start()
    try:
        statuses = []
        for _ in range(8):
            # A fresh connection each time, so the requests spread over the workers.
            opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
            page = opener.open(f"{server.url}/auth/login").read().decode()
            body = urllib.parse.urlencode(
                {"email": "aki@example.com", "password": "nope nope", "csrf_token": csrf_from(page)}
            ).encode()
            try:
                statuses.append(opener.open(f"{server.url}/auth/login", body).status)
            except urllib.error.HTTPError as exc:
                statuses.append(exc.code)
                if exc.code == 429:
                    assert int(exc.headers["Retry-After"]) <= 60
        assert statuses == [401] * 6 + [429] * 2
        # The workers counted in the database (a worker's own memory would leave no row).
        db.session.commit()
        assert db.session.scalar(select(func.max(RateLimitCounter.hits))) == 8
    finally:
        server.stop()


@pytest.mark.slow
def test_concurrent_failed_logins_get_exactly_the_limit(app, live_server, make_user, limits):
    """60 wrong passwords at once for one account whose limit is 10: ten are checked, fifty are
    refused (a check-then-count would let a few more through)."""
    from concurrent.futures import ThreadPoolExecutor

    import requests

    make_user("aki@example.com")
    db.session.commit()
    limits(LOGIN_LIMIT_PER_ACCOUNT="10 per 15 minutes", LOGIN_LIMIT_PER_ADDRESS="1000 per minute")
    sessions = []
    for _ in range(60):
        http = requests.Session()
        sessions.append((http, csrf_from(http.get(f"{live_server}/auth/login").text)))
    gate = threading.Barrier(len(sessions))

    def attempt(pair) -> int:
        http, token = pair
        gate.wait()
        return http.post(
            f"{live_server}/auth/login",
            data={"email": "aki@example.com", "password": "wrong password", "csrf_token": token},
            allow_redirects=False,
        ).status_code

    with ThreadPoolExecutor(max_workers=len(sessions)) as pool:
        statuses = list(pool.map(attempt, sessions))
    assert sorted(statuses) == [401] * 10 + [429] * 50


def test_database_storage_counts_atomically_under_contention(app):
    storage = DatabaseStorage("database://")
    results: list[int] = []

    def hit():
        with app.app_context():
            for _ in range(20):
                results.append(storage.incr("test-key", 60))

    threads = [threading.Thread(target=hit) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == list(range(1, 121))  # no two hits saw the same count
    assert storage.get("test-key") == 120
    assert time.time() < storage.get_expiry("test-key") <= time.time() + 60


def test_database_storage_starts_a_new_window_after_expiry(app):
    storage = DatabaseStorage("database://")
    assert storage.incr("k", 1) == 1 and storage.incr("k", 1) == 2
    time.sleep(1.1)
    assert storage.get("k") == 0
    assert storage.incr("k", 60) == 1
    storage.clear("k")
    assert storage.get("k") == 0 and storage.check()
    storage.incr("a", 60)
    assert storage.reset() == 1
    assert db.session.scalar(select(func.count()).select_from(RateLimitCounter)) == 0


def test_an_ipv6_client_counts_by_its_64(client, make_user, limits):
    limits(LOGIN_LIMIT_PER_ADDRESS="2 per minute")
    for host in ("2001:db8:1:2::1", "2001:db8:1:2:ffff::9"):
        assert login(client, f"{host[-1]}@example.com", "password1", host).status_code == 401
    assert login(client, "x@example.com", "password1", "2001:db8:1:2::abcd").status_code == 429
    assert login(client, "x@example.com", "password1", "2001:db8:1:3::1").status_code == 401


def test_counter_keys_never_hold_an_email(client, make_user, limits):
    limits()
    login(client, "aki@example.com", "wrong password")
    keys = db.session.scalars(select(RateLimitCounter.key)).all()
    assert keys and not any("aki" in key for key in keys)


def test_redis_storage_when_redis_url_is_set(app, okushinano, make_user, limits):
    assert rate_limit_storage_uri({"REDIS_URL": "redis://cache:6379/0"}) == "redis://cache:6379/0"
    assert (
        rate_limit_storage_uri({"REDIS_URL": "redis://x", "RATELIMIT_STORAGE_URI": "memory://"})
        == "memory://"
    )
    assert rate_limit_storage_uri({}) == "database://"
    url = "redis://127.0.0.1:6379/15"
    redis_app = create_app(
        "testing",
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI=url,
        LOGIN_LIMIT_PER_ACCOUNT="2 per minute",
    )
    try:
        limiter.reset()
        make_user("aki@example.com")
        client = redis_app.test_client()
        with redis_app.app_context():
            assert login(client, "aki@example.com", "wrong").status_code == 401
            assert login(client, "aki@example.com", "wrong").status_code == 401
            assert login(client, "aki@example.com", PASSWORD).status_code == 429
        assert db.session.scalar(select(func.count()).select_from(RateLimitCounter)) == 0
    finally:
        limiter.reset()  # the next test's app brings back its own storage
        with redis_app.app_context():
            db.engine.dispose()


def test_claim_codes_cannot_be_found_by_trying(
    client, auth, okushinano, make_user, make_entry, limits, frozen_clock
):
    from datetime import datetime, timezone

    frozen_clock(datetime(2024, 5, 1, tzinfo=timezone.utc))  # entries still open
    make_user("prober@example.com")
    auth.login("prober@example.com")
    limits(JOIN_LIMIT_PER_ACCOUNT="5 per minute")
    token = csrf_from(client.get("/events/okushinano-100-2024/join").get_data(as_text=True))
    statuses = [
        client.post(
            "/events/okushinano-100-2024/join",
            data={"code": f"AAAA-BBBB-CCCC-DDD{n}", "csrf_token": token},
        ).status_code
        for n in range(8)
    ]
    assert statuses[:5] == [404] * 5 and statuses[5:] == [429] * 3
