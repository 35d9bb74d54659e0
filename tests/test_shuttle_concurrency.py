"""200 clients race over real HTTP for the last 10 seats: exactly 10 bookings, nobody else.

Runs on whichever database the suite runs on (SQLite by default, PostgreSQL in CI's second
pass), against the app served by a threaded HTTP server.
"""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from raceapp.extensions import db
from raceapp.models import Booking, Event, ShuttleDeparture, User
from raceapp.services import accounts
from tests.helpers import PASSWORD, csrf_from, import_files

# Hundreds of concurrent clients: left out of `make test-fast`.
pytestmark = pytest.mark.slow

CLIENTS = 200
SEATS_LEFT = 10
DATA = Path(__file__).parent / "data"


def test_200_clients_for_the_last_10_seats(app, live_server, frozen_clock):
    frozen_clock(datetime(2026, 6, 19, 3, 0, tzinfo=timezone.utc))
    import_files(DATA / "shuttle-race.toml")
    event = db.session.scalar(select(Event).where(Event.slug == "bus-test"))
    route = next(r for r in event.shuttle_routes if r.code == "station-to-start")
    dep = route.departures[1]
    dep.seats, dep.seats_taken = 50, 50 - SEATS_LEFT  # 40 seats already sold elsewhere
    category = event.categories[0]
    password_hash = accounts.hasher().hash(PASSWORD)  # one hash for all: signing up is not the test
    now = datetime.now(timezone.utc)
    users = [
        User(
            email=f"r{i}@example.com",
            name=f"Runner {i}",
            password_hash=password_hash,
            created_at=now,
        )
        for i in range(CLIENTS)
    ]
    db.session.add_all(users)
    db.session.flush()
    from raceapp.models import Entry

    db.session.add_all(
        Entry(
            user_id=u.id,
            event_id=event.id,
            category_id=category.id,
            bib=str(1000 + i),
            created_at=now,
        )
        for i, u in enumerate(users)
    )
    db.session.commit()
    dep_id = dep.id

    def log_in(i: int):
        http = requests.Session()
        token = csrf_from(http.get(f"{live_server}/auth/login").text)
        response = http.post(
            f"{live_server}/auth/login",
            allow_redirects=False,
            data={"email": f"r{i}@example.com", "password": PASSWORD, "csrf_token": token},
        )
        assert response.status_code == 302
        page = http.get(f"{live_server}/events/bus-test/shuttles").text
        key = re.search(rf'name="idempotency_key" value="([^"]+-{dep_id})"', page).group(1)
        return http, csrf_from(page), key

    with ThreadPoolExecutor(max_workers=8) as pool:
        clients = list(pool.map(log_in, range(CLIENTS)))

    gate = threading.Barrier(CLIENTS)

    def attempt(client) -> int:
        http, token, key = client
        gate.wait()
        for _ in range(5):  # "busy, try again" is answered by trying again
            response = http.post(
                f"{live_server}/shuttles/departures/{dep_id}/book",
                data={"csrf_token": token, "idempotency_key": key},
                allow_redirects=False,
                timeout=60,
            )
            if response.status_code != 503:
                break
        if response.status_code == 409:
            assert "full" in response.text
        return response.status_code

    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        statuses = list(pool.map(attempt, clients))

    assert all(s < 500 for s in statuses), sorted(set(statuses))
    assert statuses.count(303) == SEATS_LEFT
    assert statuses.count(409) == CLIENTS - SEATS_LEFT
    db.session.rollback()  # end the test's own read snapshot
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(Booking)
            .where(Booking.departure_id == dep_id, Booking.status == "booked")
        )
        == SEATS_LEFT
    )
    assert db.session.get(ShuttleDeparture, dep_id).seats_taken == 50


def test_racing_cancel_rebook_and_waitlist_never_give_one_runner_two_places(
    app, live_server, frozen_clock
):
    """Six runners hammer a two-seat bus with book, cancel, join and leave the waitlist, all at
    once: nobody ever holds a seat and a waitlist place, and the seat count stays true."""
    import random

    from raceapp.models import Entry, WaitlistEntry

    frozen_clock(datetime(2026, 6, 19, 3, 0, tzinfo=timezone.utc))
    import_files(DATA / "shuttle-race.toml")
    event = db.session.scalar(select(Event).where(Event.slug == "bus-test"))
    dep = next(r for r in event.shuttle_routes if r.code == "station-to-start").departures[0]
    password_hash = accounts.hasher().hash(PASSWORD)
    now = datetime.now(timezone.utc)
    users = [
        User(email=f"q{i}@example.com", name=f"Q {i}", password_hash=password_hash, created_at=now)
        for i in range(6)
    ]
    db.session.add_all(users)
    db.session.flush()
    db.session.add_all(
        Entry(
            user_id=u.id,
            event_id=event.id,
            category_id=event.categories[0].id,
            bib=str(500 + i),
            created_at=now,
        )
        for i, u in enumerate(users)
    )
    db.session.commit()
    dep_id = dep.id
    gate = threading.Barrier(len(users))

    def hammer(i: int) -> list[int]:
        http = requests.Session()
        token = csrf_from(http.get(f"{live_server}/auth/login").text)
        http.post(
            f"{live_server}/auth/login",
            data={"email": f"q{i}@example.com", "password": PASSWORD, "csrf_token": token},
        )
        token = csrf_from(http.get(f"{live_server}/events/bus-test/shuttles").text)
        rng, statuses = random.Random(i), []
        gate.wait()
        for n in range(20):
            action = rng.choice(["book", "book", "wait", "leave", "cancel"])
            if action == "book":
                url, data = f"/shuttles/departures/{dep_id}/book", {"idempotency_key": f"{i}-{n}"}
            elif action == "wait":
                url, data = f"/shuttles/departures/{dep_id}/waitlist", {}
            elif action == "leave":
                url, data = f"/shuttles/departures/{dep_id}/waitlist/leave", {}
            else:
                page = http.get(f"{live_server}/events/bus-test/shuttles").text
                match = re.search(r"/shuttles/tickets/([A-Z0-9-]+)", page)
                if not match:
                    continue
                url, data = f"/shuttles/tickets/{match.group(1)}/cancel", {}
            response = http.post(
                live_server + url, data={"csrf_token": token, **data}, allow_redirects=False
            )
            statuses.append(response.status_code)
        return statuses

    with ThreadPoolExecutor(max_workers=len(users)) as pool:
        statuses = [s for result in pool.map(hammer, range(len(users))) for s in result]
    assert all(s < 500 for s in statuses), sorted(set(statuses))
    db.session.rollback()
    seated = set(
        db.session.scalars(
            select(Booking.user_id).where(
                Booking.departure_id == dep_id, Booking.status == "booked"
            )
        )
    )
    waiting = set(
        db.session.scalars(
            select(WaitlistEntry.user_id).where(WaitlistEntry.departure_id == dep_id)
        )
    )
    assert seated & waiting == set()
    assert db.session.get(ShuttleDeparture, dep_id).seats_taken == len(seated) <= 2
