"""Shared fixtures: app, client, CLI runner, auth helper, factories and a frozen clock.

The suite runs on a SQLite file by default and on PostgreSQL when TEST_DATABASE_URL is set.
"""
from __future__ import annotations

import contextvars
import os
import re
import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest
from flask import has_app_context
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.serving import make_server

from raceapp import clock, create_app
from raceapp.extensions import db
from raceapp.push.vapid import generate_private_key_pem
from raceapp.models import Event, User
from raceapp.racefile import check_file
from raceapp.services import accounts
from raceapp.services.race_import import import_reports

ROOT = Path(__file__).resolve().parent.parent
RACES = sorted((ROOT / "races").glob("*.toml"))
PASSWORD = "correct horse battery"
CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|'
                     r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(scope="session")
def _schema(database_url, tmp_path_factory):
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=database_url,
                     INSTANCE_PATH=str(tmp_path_factory.mktemp("instance")))
    with app.app_context():
        db.drop_all()
        db.create_all()
    yield
    with app.app_context():
        db.drop_all()
        db.engine.dispose()


class IsolatedClient(FlaskClient):
    """Runs each request in a fresh context, as a server would: own app context, `g` and
    database session, even though the test itself holds an app context open."""

    def open(self, *args, **kwargs):
        # End the test's own transaction on both sides, so the request sees what the test
        # wrote and the test then reads what the request wrote (not an old snapshot).
        _end_test_transaction()
        try:
            return contextvars.Context().run(super().open, *args, **kwargs)
        finally:
            _end_test_transaction()


def _end_test_transaction() -> None:
    if has_app_context():
        db.session.commit()


@pytest.fixture(scope="session")
def vapid_pem() -> str:
    """The test run's VAPID private key (made here, as `flask push vapid-keys` would)."""
    return generate_private_key_pem().decode()


@pytest.fixture
def app(database_url, _schema, tmp_path, vapid_pem):
    """An application bound to the test database; every row is removed afterwards."""
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=database_url,
                     VAPID_PRIVATE_KEY=vapid_pem)
    app.test_client_class = IsolatedClient
    with app.app_context():
        yield app
        db.session.rollback()
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    clock.freeze(None)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    """Flask's CLI runner (flaskr's name for it)."""
    return app.test_cli_runner()


@pytest.fixture
def frozen_clock():
    """Freeze the app's clock: `frozen_clock(datetime)` pins it; unfrozen after the test."""
    def freeze(instant: datetime) -> datetime:
        clock.freeze(instant)
        return instant
    yield freeze
    clock.freeze(None)


def push_payload(alert) -> dict:
    """The JSON a phone decrypts for this alert, as the push worker builds it."""
    import json

    from raceapp.push import message

    return json.loads(message.build(
        alert.id, alert.kind, alert.title, alert.body, alert.event.name,
        alert.category.name if alert.category else None, alert.event_id, alert.category_id,
        alert.created_at.isoformat(), alert.outcome).payload)


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1) or match.group(2)


# Rows that change on every request whoever makes it: a session's last use, abuse counters.
VOLATILE_TABLES = {"login_sessions", "rate_limit_counters"}


def db_snapshot() -> dict[str, list[tuple]]:
    """Every row of every table, to show that a refused request wrote nothing."""
    db.session.commit()
    return {table.name: sorted(map(tuple, db.session.execute(table.select()).all()), key=repr)
            for table in db.metadata.sorted_tables if table.name not in VOLATILE_TABLES}


class AuthActions:
    """Log in and out through the real forms, CSRF token included."""

    def __init__(self, client):
        self.client = client

    def token(self, url: str = "/auth/login") -> str:
        return csrf_from(self.client.get(url).get_data(as_text=True))

    def login(self, email: str, password: str = PASSWORD):
        return self.client.post("/auth/login", data={
            "email": email, "password": password, "csrf_token": self.token()})

    def logout(self):
        token = self.token("/events/")
        return self.client.post("/auth/logout", data={"csrf_token": token})


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture
def make_user(app):
    """Factory: a runner account with the shared test password."""
    counter = iter(range(1, 10_000))

    def make(email: str | None = None, name: str = "Test Runner") -> User:
        email = email or f"runner{next(counter)}@example.com"
        return accounts.sign_up(email, name, PASSWORD, now=datetime.now(timezone.utc))
    return make


def import_files(*paths) -> None:
    reports = [check_file(p) for p in paths]
    assert all(r.ok for r in reports), [r.lines() for r in reports]
    import_reports(reports, now=datetime.now(timezone.utc))


@pytest.fixture
def seed_races(app):
    """Every race file of the repository, imported."""
    import_files(*RACES)
    return {e.slug: e for e in db.session.scalars(select(Event))}


@pytest.fixture
def okushinano(seed_races) -> Event:
    return seed_races["okushinano-100-2024"]


@pytest.fixture
def make_entry(app):
    """Factory: put a runner in a category of an event."""
    counter = iter(range(1, 10_000))

    def make(user: User, event: Event, code: str, bib: str | None = None):
        return accounts.join_category(user, event, code, bib or str(next(counter)),
                                      now=datetime.now(timezone.utc))
    return make


@pytest.fixture
def make_organizer(app):
    def make(event: Event, email: str = "organizer@example.com") -> User:
        return accounts.create_organizer(email, "Organizer", PASSWORD, [event.slug],
                                         now=datetime.now(timezone.utc))
    return make


@pytest.fixture
def live_server(app):
    """The test app on a free loopback port, in a thread of this process (the frozen clock
    and the test database are shared with the test)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def push_service(app):
    """A local push service the app is allowed to call (see tests/push_service.py)."""
    from tests.push_service import PushService

    service = PushService().start()
    app.config["PUSH_EXTRA_ORIGINS"] = (service.origin,)
    yield service
    service.stop()


@pytest.fixture
def make_runners(app, make_user):
    """Factory: n runners in a category, each with `devices` push subscriptions on `service`.

    Accounts share one password hash, so hundreds take no time to make."""
    from raceapp.models import Entry, PushSubscription

    password_hash = accounts.HASHER.hash(PASSWORD)
    counter = iter(range(1, 1_000_000))

    def make(event: Event, code: str, n: int, service=None, devices: int = 1) -> list[User]:
        now = datetime.now(timezone.utc)
        category = next(c for c in event.categories if c.code == code)
        users = []
        for _ in range(n):
            i = next(counter)
            user = User(email=f"bulk{i}@example.com", name=f"Runner {i}",
                        password_hash=password_hash, created_at=now)
            db.session.add(user)
            users.append(user)
        db.session.flush()
        for user in users:
            db.session.add(Entry(user_id=user.id, event_id=event.id, category_id=category.id,
                                 bib=f"B{user.id}", created_at=now))
            for _ in range(devices if service else 0):
                sub = service.new_subscription()
                db.session.add(PushSubscription(
                    user_id=user.id, endpoint=sub["endpoint"], p256dh=sub["keys"]["p256dh"],
                    auth=sub["keys"]["auth"], created_at=now, last_seen_at=now))
        db.session.commit()
        return users
    return make
