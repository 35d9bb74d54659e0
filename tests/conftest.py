"""Shared fixtures: app, client, CLI runner, auth helper, factories, a frozen clock, the seed
races (per test, or once in a shared read-only database), the bus race and the audit world.

The suite runs on a SQLite file by default and on PostgreSQL when TEST_DATABASE_URL is set.
Plain helper functions live in tests/helpers.py.
"""

from __future__ import annotations

import contextvars
import os
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pytest
from flask import has_app_context
from flask.testing import FlaskClient
from jinja2 import MemcachedBytecodeCache
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from raceapp import clock, create_app
from raceapp.extensions import db
from raceapp.kit import calendar_serializer
from raceapp.models import Event, GearItem, TeamInvitation, User
from raceapp.push.vapid import generate_private_key_pem
from raceapp.racefile.gpx import read_gpx
from raceapp.services import accounts, alerts, course, demo_race, gear, shuttles
from tests.helpers import (
    AUDIT_RACE,
    BEFORE,
    DATA,
    PASSWORD,
    RACES,
    ROOT,
    csrf_from,
    import_files,
    subscribe,
)


def pytest_collection_modifyitems(config, items):
    """Every test under tests/browser drives Chromium: mark it so (make test-fast skips them)."""
    for item in items:
        if "browser" in item.path.parts:
            item.add_marker(pytest.mark.browser)
        if item.get_closest_marker("postgres") and not os.environ.get("TEST_DATABASE_URL"):
            raise pytest.UsageError(f"{item.nodeid} needs TEST_DATABASE_URL (PostgreSQL)")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(scope="session")
def _schema(database_url, tmp_path_factory):
    app = create_app(
        "testing",
        SQLALCHEMY_DATABASE_URI=database_url,
        INSTANCE_PATH=str(tmp_path_factory.mktemp("instance")),
    )
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


class _SharedTemplateCode(dict):
    """Compiled templates shared by every test's app (Jinja's bytecode cache needs get/set):
    a new app per test would otherwise compile every template again."""

    def set(self, key, value, timeout=None):
        self[key] = value


TEMPLATE_CODE = MemcachedBytecodeCache(_SharedTemplateCode())


@pytest.fixture
def app(database_url, _schema, tmp_path, vapid_pem):
    """An application bound to the test database; every row is removed afterwards."""
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=database_url, VAPID_PRIVATE_KEY=vapid_pem)
    app.instance_path = str(tmp_path / "instance")  # what a test writes there stays its own
    (tmp_path / "instance").mkdir(exist_ok=True)
    app.jinja_env.bytecode_cache = TEMPLATE_CODE
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


class AuthActions:
    """Log in and out through the real forms, CSRF token included."""

    def __init__(self, client):
        self.client = client

    def token(self, url: str = "/auth/login") -> str:
        return csrf_from(self.client.get(url).get_data(as_text=True))

    def login(self, email: str, password: str = PASSWORD):
        return self.client.post(
            "/auth/login", data={"email": email, "password": password, "csrf_token": self.token()}
        )

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


@pytest.fixture
def seed_races(app):
    """Every race file of the repository, imported."""
    import_files(*RACES)
    return {e.slug: e for e in db.session.scalars(select(Event))}


@pytest.fixture(scope="session")
def seeded_database(tmp_path_factory, database_url, vapid_pem):
    """A database of its own with every seed race imported once, for tests that only read
    (the per-test `app` empties its database after each test; this one stays as it is)."""
    url, admin, name = database_url, None, None
    if database_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path_factory.mktemp('seeded') / 'seeded.db'}"
    else:
        name = f"raceapp_seeded_{uuid.uuid4().hex[:8]}"
        admin = create_engine(make_url(database_url), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(database_url).set(database=name).render_as_string(hide_password=False)
    seeded_app = create_app("testing", SQLALCHEMY_DATABASE_URI=url, VAPID_PRIVATE_KEY=vapid_pem)
    with seeded_app.app_context():
        db.create_all()
        import_files(*RACES)
        db.engine.dispose()
    yield url
    if admin is not None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@dataclass
class Seeded:
    events: dict[str, Event]
    client: FlaskClient


@pytest.fixture
def seeded(seeded_database, vapid_pem) -> Iterator[Seeded]:
    """Every seed race, read from the shared seeded database, and a client of it. Read only:
    a test that writes here fails."""
    seeded_app = create_app(
        "testing", SQLALCHEMY_DATABASE_URI=seeded_database, VAPID_PRIVATE_KEY=vapid_pem
    )
    seeded_app.jinja_env.bytecode_cache = TEMPLATE_CODE
    seeded_app.test_client_class = IsolatedClient
    with seeded_app.app_context():
        yield Seeded(
            {e.slug: e for e in db.session.scalars(select(Event))}, seeded_app.test_client()
        )
        assert not (db.session.new or db.session.dirty or db.session.deleted), (
            "a test changed the shared seeded database"
        )
        db.session.rollback()
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def okushinano(app) -> Event:
    """The Okushinano 100 alone (most tests need one race, not all of them)."""
    import_files(ROOT / "races" / "okushinano-100-2024.toml")
    return db.session.scalar(select(Event).where(Event.slug == "okushinano-100-2024"))


@pytest.fixture
def make_entry(app):
    """Factory: put a runner in a category of an event."""
    counter = iter(range(1, 10_000))

    def make(user: User, event: Event, code: str, bib: str | None = None):
        # The app's clock (frozen where a test freezes it): reminders are planned from it.
        return accounts.join_category(
            user, event, code, bib or str(next(counter)), now=clock.real_utcnow()
        )

    return make


@pytest.fixture
def make_organizer(app):
    def make(event: Event, email: str = "organizer@example.com") -> User:
        return accounts.create_organizer(
            email, "Organizer", PASSWORD, [event.slug], now=datetime.now(timezone.utc)
        )

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
def smtp_server(app):
    """A real SMTP server the app sends through (see tests/mail_server.py)."""
    from tests.mail_server import SmtpServer

    server = SmtpServer()
    server.controller.start()
    server.use_with(app)
    yield server
    server.controller.stop()


@pytest.fixture
def make_runners(app, make_user):
    """Factory: n runners in a category, each with `devices` push subscriptions on `service`.

    Accounts share one password hash, so hundreds take no time to make."""
    from raceapp.models import Entry

    password_hash = accounts.hasher().hash(PASSWORD)
    counter = iter(range(1, 1_000_000))

    def make(event: Event, code: str, n: int, service=None, devices: int = 1) -> list[User]:
        now = datetime.now(timezone.utc)
        category = next(c for c in event.categories if c.code == code)
        users = []
        for _ in range(n):
            i = next(counter)
            user = User(
                email=f"bulk{i}@example.com",
                name=f"Runner {i}",
                password_hash=password_hash,
                created_at=now,
            )
            db.session.add(user)
            users.append(user)
        db.session.flush()
        for user in users:
            db.session.add(
                Entry(
                    user_id=user.id,
                    event_id=event.id,
                    category_id=category.id,
                    bib=f"B{user.id}",
                    created_at=now,
                )
            )
            for _ in range(devices if service else 0):
                subscribe(user, service, now)
        db.session.commit()
        return users

    return make


@pytest.fixture
def bus_event(app, frozen_clock):
    """The bus race (tests/data/shuttle-race.toml), with the clock a day before it."""
    frozen_clock(BEFORE)
    import_files(DATA / "shuttle-race.toml")
    return db.session.scalar(select(Event).where(Event.slug == "bus-test"))


@pytest.fixture
def runner_factory(bus_event, make_user, make_entry):
    def make(email):
        user = make_user(email)
        make_entry(user, bus_event, "50k")
        return user

    return make


@dataclass
class World:
    event: Event
    clients: dict[str, IsolatedClient]
    values: dict[str, object]
    own_item_id: int
    gear_item_id: int
    runner_id: int
    entry_id: int


@pytest.fixture
def audit_world(app, frozen_clock, make_user, make_entry, make_organizer) -> World:
    """An event, a runner who owns one of everything, a runner of the other category, the
    event's organizer (not a runner) and an anonymous visitor, each with their own client."""
    frozen_clock(BEFORE)
    import_files(AUDIT_RACE)
    event = db.session.scalar(select(Event).where(Event.slug == "audit-test"))
    now = BEFORE
    runner = make_user("runner@example.com")
    entry = make_entry(runner, event, "long", "101")
    other = make_user("other@example.com")
    make_entry(other, event, "short", "202")
    organizer = make_organizer(event)
    full, mine, free = sorted(
        (d for r in event.shuttle_routes for d in r.departures), key=lambda d: d.departs_at
    )
    for filler in ("f1@example.com", "f2@example.com"):
        user = make_user(filler)
        make_entry(user, event, "short")
        shuttles.book(user, full.id, now=now, idempotency_key=None)
    booking = shuttles.book(runner, mine.id, now=now, idempotency_key=None)
    shuttles.join_waitlist(runner, full.id, now=now)
    own = gear.add_personal(entry, "Spare socks", now=now)
    alert = alerts.post_alert(
        organizer,
        event,
        alerts.AlertDraft(
            kind="info", title="Long only", body="For the long course.", category_code="long"
        ),
        now=now,
    )
    db.session.commit()
    clients = {}
    for actor, email in (
        ("anonymous", None),
        ("runner", "runner@example.com"),
        ("other runner", "other@example.com"),
        ("organizer", "organizer@example.com"),
        ("shuttle staff", None),
        ("read-only", None),
    ):
        clients[actor] = _logged_in(app, email)
    values = {
        "slug": event.slug,
        "code": "long",
        "departure_id": free.id,
        "alert_id": alert.id,
        "reference": booking.reference,
        "token": calendar_serializer().dumps(entry.id),
        "filename": "app.js",
        "key": "no-such-message",
        "item_id": None,
        "ext": "svg",
    }
    gear_item_id = db.session.scalar(
        select(GearItem.id).where(GearItem.category_id == entry.category_id)
    )
    world = World(event, clients, values, own.id, gear_item_id, runner.id, entry.id)
    world.values["full_departure_id"] = full.id
    world.values.update(console_things(event, organizer, make_user, AUDIT_RACE, now=now))
    # The other runner reported they stopped (headquarters' list has one line).
    from raceapp.services import drop_outs

    other_entry = accounts.entry_for(other, event)
    assert other_entry is not None
    stopped = drop_outs.report(
        other_entry,
        key="audit-drop-out",
        made_at=None,
        checkpoint_id="",
        getting_back="own",
        note="",
        position=None,
        now=now,
    )
    world.values["drop_out_id"] = stopped.id
    # Members of the race's team with the narrower roles (made with the console's things).
    clients["shuttle staff"] = _logged_in(app, "staff@example.com")
    clients["read-only"] = _logged_in(app, "member@example.com")
    # Each category has a course track, as a race that publishes GPX files does.
    for category in event.categories:
        drawn = demo_race.illustrative_gpx(category.distance_km, 1000, points_per_km=10)
        course.store(
            category,
            read_gpx(drawn.encode()),
            source_name=f"{category.code}.gpx",
            illustrative=True,
            now=now,
        )
    db.session.commit()
    return world


def _logged_in(app, email: str | None):
    """A client of the app, logged in as `email` (None: anonymous)."""
    client = app.test_client()
    if email:
        token = csrf_from(client.get("/auth/login").get_data(as_text=True))
        response = client.post(
            "/auth/login", data={"email": email, "password": PASSWORD, "csrf_token": token}
        )
        assert response.status_code == 302
    return client


def console_things(
    event: Event, organizer: User, make_user, race_file: Path, *, now
) -> dict[str, object]:
    """What the console's routes act on: an entry nobody claimed, a published version, an
    upload under review, a team member and an open invitation."""
    from raceapp.models import Entry, OrganizerRole, PendingUpload
    from raceapp.racefile import check_file
    from raceapp.services import claims, race_publish, team

    category = next(c for c in event.categories if c.code == "long")
    listed = Entry(event_id=event.id, category_id=category.id, bib="900", created_at=now)
    listed.name, listed.email = "名簿 太郎", "listed@example.com"
    db.session.add(listed)
    db.session.flush()
    claims.assign_code(listed)
    db.session.commit()
    # The import made version 1 (from the command line); the organizer publishes version 2.
    race_publish.publish(event, check_file(race_file), base_version=1, by=organizer, now=now)
    upload = PendingUpload(
        event_id=event.id,
        user_id=organizer.id,
        filename="entries.csv",
        data=b"bib,name,category\r\n901,New Runner,long\r\n",
        created_at=now,
    )
    member = make_user("member@example.com", name="運営 花子")
    role = OrganizerRole(user_id=member.id, event_id=event.id, role="read_only")
    staff = make_user("staff@example.com", name="バス 次郎")
    staff_role = OrganizerRole(user_id=staff.id, event_id=event.id, role="shuttle_staff")
    db.session.add_all([upload, role, staff_role])
    db.session.commit()
    team.invite(event, organizer, "invited@example.com", "read_only", now=now)
    invitation = db.session.scalar(select(TeamInvitation))
    return {
        "entry_id": listed.id,
        "number": 1,
        "upload_id": upload.id,
        "role_id": role.id,
        "invitation_id": invitation.id,
    }
