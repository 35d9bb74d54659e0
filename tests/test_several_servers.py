"""Several machines, one database: two app servers (separate gunicorn processes on separate
ports, as behind a reverse proxy) and two push workers share the test database (PostgreSQL in
the second pass of `make test`). Seats are sold exactly once, an alert reaches each device
exactly once, a login on one server holds on the other, and the abuse limits are shared.
Backups taken with the databases' own tools while runners book hold every committed booking."""

from __future__ import annotations

import collections
import re
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
import requests
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from raceapp.extensions import db
from raceapp.models import (
    Booking,
    Category,
    Delivery,
    Entry,
    Event,
    ShuttleDeparture,
    ShuttleRoute,
    User,
)
from raceapp.services import accounts
from tests.helpers import PASSWORD, csrf_from, subscribe
from tests.servers import Gunicorn
from tests.test_push_delivery import _wait_for, _worker_process

RUNNERS, SEATS, DEVICES_EACH = 500, 40, 4

pytestmark = pytest.mark.slow


def _race(runners: int, seats: int) -> tuple[Event, int]:
    """A race tomorrow with one bus of `seats` seats and `runners` entered runners (one shared
    password hash: signing up is not the test)."""
    now = datetime.now(timezone.utc)
    event = Event(
        slug="several",
        name="Several Servers Trail",
        time_zone="Asia/Tokyo",
        updated_at=now,
        details={},
    )
    category = Category(code="long", name="Long", details={})
    event.categories.append(category)
    route = ShuttleRoute(code="bus", origin="Station", destination="Start", position=0)
    event.shuttle_routes.append(route)
    departure = ShuttleDeparture(departs_at=now + timedelta(days=1), seats=seats, seats_taken=0)
    route.departures.append(departure)
    db.session.add(event)
    db.session.flush()
    password_hash = accounts.hasher().hash(PASSWORD)
    users = [
        User(
            email=f"r{i}@example.com",
            name=f"Runner {i}",
            password_hash=password_hash,
            created_at=now,
        )
        for i in range(runners)
    ]
    db.session.add_all(users)
    db.session.flush()
    db.session.add_all(
        Entry(user_id=u.id, event_id=event.id, category_id=category.id, bib=str(i), created_at=now)
        for i, u in enumerate(users)
    )
    db.session.commit()
    return event, departure.id


def _servers(database_url, vapid_pem, tmp_path, **env) -> tuple[Gunicorn, Gunicorn]:
    settings = {"PROXY_COUNT": "1", "RATELIMIT_ENABLED": "1", **env}
    servers = []
    for name in ("a", "b"):
        folder = tmp_path / name
        folder.mkdir()
        servers.append(Gunicorn(database_url, vapid_pem, folder, env=settings).start())
    return servers[0], servers[1]


def _log_in(base: str, email: str, address: str, password: str = PASSWORD):
    """A phone's session: logged in on `base`, from `address` (the proxy says so)."""
    http = requests.Session()
    http.headers["X-Forwarded-For"] = address
    token = csrf_from(http.get(f"{base}/auth/login").text)
    response = http.post(
        f"{base}/auth/login",
        allow_redirects=False,
        data={"email": email, "password": password, "csrf_token": token},
    )
    return http, response


def test_two_servers_and_two_workers_on_one_database(
    app, database_url, vapid_pem, tmp_path, push_service, make_organizer
):
    event, departure_id = _race(RUNNERS, SEATS)
    organizer = make_organizer(event)
    now = datetime.now(timezone.utc)
    users = db.session.scalars(select(User).where(User.email.like("r%@example.com"))).all()
    for user in users:
        for _ in range(DEVICES_EACH):
            subscribe(user, push_service, now)
    db.session.commit()
    a, b = _servers(database_url, vapid_pem, tmp_path)
    try:
        # Each runner logs in on one server and books on the other: the session holds there.
        def ready(i: int):
            home, other = (a, b) if i % 2 else (b, a)
            http, response = _log_in(home.url, f"r{i}@example.com", f"10.1.{i // 200}.{i % 200}")
            assert response.status_code == 302, response.status_code
            page = http.get(f"{other.url}/events/several/shuttles").text
            key = re.search(rf'name="idempotency_key" value="([^"]+-{departure_id})"', page)
            assert key is not None, "not logged in on the other server"
            # The wait for the others outlasts gunicorn's keep-alive: book on a new connection.
            http.close()
            return http, other.url, csrf_from(page), key.group(1)

        with ThreadPoolExecutor(max_workers=16) as pool:
            clients = list(pool.map(ready, range(RUNNERS)))

        gate = threading.Barrier(RUNNERS)

        def book(client) -> int:
            http, base, token, key = client
            gate.wait()
            for _ in range(20):  # "busy, try again" is answered by trying again
                response = http.post(
                    f"{base}/shuttles/departures/{departure_id}/book",
                    data={"csrf_token": token, "idempotency_key": key},
                    allow_redirects=False,
                    timeout=120,
                )
                if response.status_code != 503:
                    break
                time.sleep(0.2)
            return response.status_code

        with ThreadPoolExecutor(max_workers=RUNNERS) as pool:
            statuses = list(pool.map(book, clients))
        assert collections.Counter(statuses) == {303: SEATS, 409: RUNNERS - SEATS}
        db.session.rollback()
        booked = db.session.scalar(
            select(func.count())
            .select_from(Booking)
            .where(Booking.departure_id == departure_id, Booking.status == "booked")
        )
        assert booked == SEATS == db.session.get(ShuttleDeparture, departure_id).seats_taken

        # Two push workers, polling the database; headquarters posts on server A.
        workers = [
            _worker_process(
                database_url, vapid_pem, push_service.origin, batch=100, PUSH_POLL_SECONDS="0.2"
            )
            for _ in range(2)
        ]
        try:
            time.sleep(3)  # both up and polling
            http, response = _log_in(a.url, organizer.email, "10.9.0.1")
            token = csrf_from(http.get(f"{a.url}/organizer/events/several/alerts").text)
            posted = http.post(
                f"{a.url}/organizer/events/several/alerts",
                data={"kind": "info", "title_en": "Buses run", "csrf_token": token},
                allow_redirects=False,
            )
            assert posted.status_code == 303, posted.text[:500]
            devices = RUNNERS * DEVICES_EACH
            _wait_for(lambda: len(push_service.accepted) >= devices, timeout=120)
            time.sleep(0.5)  # anything sent twice would arrive now
        finally:
            for process in workers:
                process.terminate()
                process.wait(15)
        per_device = collections.Counter(r.token for r in push_service.accepted)
        assert len(per_device) == devices and set(per_device.values()) == {1}
        db.session.rollback()
        assert dict(
            db.session.execute(
                select(Delivery.status, func.count()).group_by(Delivery.status)
            ).all()
        ) == {"sent": devices}
        # Both workers took part.
        assert db.session.scalar(select(func.count(func.distinct(Delivery.claimed_by)))) == 2

        # Failed logins for one account, alternately on each server and each from another
        # address: the account's limit (10 per 15 minutes) counts them all together.
        answers = [
            _log_in(server.url, "r1@example.com", f"10.8.0.{n}", "wrong password")[1].status_code
            for n, server in zip(range(11), [a, b] * 6, strict=False)
        ]
        assert 429 not in answers[:10] and answers[10] == 429, answers
    finally:
        a.stop()
        b.stop()


def _backup(database_url: str, out) -> None:
    """The database's own online backup: SQLite's backup API, or pg_dump's snapshot."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        import sqlite3

        with sqlite3.connect(url.database) as live, sqlite3.connect(out) as copy:
            live.backup(copy)
        return
    subprocess.run(
        ["pg_dump", "--format=custom", f"--file={out}", _libpq(url)], check=True, timeout=120
    )


def _libpq(url) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _restore(database_url: str, backup, tmp_path) -> str:
    """Restore the backup into a new database; returns its URL."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return f"sqlite:///{backup}"
    name = "raceapp_restore_test"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    target = url.set(database=name)
    subprocess.run(
        ["pg_restore", "--no-owner", f"--dbname={_libpq(target)}", str(backup)],
        check=True,
        timeout=120,
    )
    return target.render_as_string(hide_password=False)


def _drop_restored(database_url: str) -> None:
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("DROP DATABASE IF EXISTS raceapp_restore_test"))
        admin.dispose()


def test_a_backup_taken_while_runners_book_holds_every_committed_booking(
    app, database_url, vapid_pem, tmp_path
):
    _event, departure_id = _race(120, 1000)
    server = Gunicorn(database_url, vapid_pem, tmp_path, env={"PROXY_COUNT": "1"}).start()
    confirmed: dict[str, float] = {}  # booking reference -> when the runner saw it booked
    try:

        def book(i: int) -> None:
            http, response = _log_in(server.url, f"r{i}@example.com", f"10.2.0.{i}")
            page = http.get(f"{server.url}/events/several/shuttles").text
            key = re.search(rf'name="idempotency_key" value="([^"]+-{departure_id})"', page)
            response = http.post(
                f"{server.url}/shuttles/departures/{departure_id}/book",
                data={"csrf_token": csrf_from(page), "idempotency_key": key.group(1)},
                timeout=60,
            )
            reference = re.search(r"/shuttles/tickets/([A-Z0-9]{3}-[A-Z0-9]{3})", response.url)
            if reference:
                confirmed[reference.group(1)] = time.monotonic()

        backup = tmp_path / "backup.db"
        with ThreadPoolExecutor(max_workers=8) as pool:
            futures = [pool.submit(book, i) for i in range(120)]
            _wait_for(lambda: len(confirmed) >= 40, timeout=60)
            started = time.monotonic()
            _backup(database_url, backup)
            for future in futures:
                future.result()
        before = {ref for ref, at in confirmed.items() if at < started}
        assert len(confirmed) == 120 and len(before) >= 40
    finally:
        server.stop()
    restored_url = _restore(database_url, backup, tmp_path)
    try:
        restored = create_engine(restored_url)
        with restored.connect() as conn:
            references = set(
                conn.execute(
                    select(Booking.reference).where(Booking.departure_id == departure_id)
                ).scalars()
            )
            seats_taken = conn.execute(
                select(ShuttleDeparture.seats_taken).where(ShuttleDeparture.id == departure_id)
            ).scalar_one()
        restored.dispose()
        # Every booking a runner had seen confirmed before the backup began is in it, and the
        # copy is consistent: its seat counter matches its bookings.
        assert before <= references
        assert seats_taken == len(references)
    finally:
        _drop_restored(database_url)
