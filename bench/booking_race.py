"""Booking race: 1,000 concurrent attempts for 50 seats, our booking vs naive read-then-write.

    make bench            # or: .venv/bin/python bench/booking_race.py [--attempts 1000 --seats 50]

Runs on SQLite (a temporary file, WAL) and on PostgreSQL when BENCH_DATABASE_URL or
TEST_DATABASE_URL is set. Each approach runs `--rounds` times; medians are reported, and the
naive approach is measured in the same run on the same machine, so compare ratios, not
absolute numbers (machines here are shared and noisy).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from raceapp import create_app  # noqa: E402
from raceapp.errors import DomainError  # noqa: E402
from raceapp.extensions import db  # noqa: E402
from raceapp.models import (  # noqa: E402
    Booking,
    Category,
    Entry,
    Event,
    ShuttleDeparture,
    ShuttleRoute,
    User,
)
from raceapp.services import shuttles  # noqa: E402


def setup(attempts: int, seats: int) -> int:
    db.drop_all()
    db.create_all()
    now = datetime.now(timezone.utc)
    event = Event(slug="bench", name="Bench", time_zone="UTC", updated_at=now, details={})
    category = Category(code="x", name="X", details={})
    event.categories.append(category)
    route = ShuttleRoute(code="bus", origin="A", destination="B", position=0)
    event.shuttle_routes.append(route)
    departure = ShuttleDeparture(departs_at=now + timedelta(days=1), seats=seats, seats_taken=0)
    route.departures.append(departure)
    db.session.add(event)
    db.session.flush()
    users = [
        User(email=f"u{i}@bench", name=f"U{i}", password_hash="x", created_at=now)
        for i in range(attempts)
    ]
    db.session.add_all(users)
    db.session.flush()
    db.session.add_all(
        Entry(user_id=u.id, event_id=event.id, category_id=category.id, bib=str(i), created_at=now)
        for i, u in enumerate(users)
    )
    db.session.commit()
    return departure.id


def ours(app, user_id: int, departure_id: int) -> str:
    with app.app_context():
        try:
            shuttles.book(
                db.session.get(User, user_id),
                departure_id,
                now=datetime.now(timezone.utc),
                idempotency_key=None,
            )
            return "booked"
        except shuttles.Full:
            return "full"
        except DomainError as exc:
            return f"refused: {exc.message}"
        except Exception as exc:  # noqa: BLE001 - the point is to count what breaks
            return f"error: {type(exc).__name__}"


def naive(app, user_id: int, departure_id: int) -> str:
    """Read the count, then write it back: what a first version of booking code often does."""
    with app.app_context():
        try:
            departure = db.session.get(ShuttleDeparture, departure_id)
            if departure.seats_taken >= departure.seats:
                return "full"
            departure.seats_taken = departure.seats_taken + 1
            db.session.add(
                Booking(
                    reference=uuid.uuid4().hex[:12],
                    user_id=user_id,
                    departure_id=departure_id,
                    status="booked",
                    created_at=datetime.now(timezone.utc),
                )
            )
            db.session.commit()
            return "booked"
        except Exception as exc:  # noqa: BLE001
            db.session.rollback()
            return f"error: {type(exc).__name__}"


def race(app, fn, attempts: int, seats: int, threads: int) -> dict:
    with app.app_context():
        departure_id = setup(attempts, seats)
        user_ids = list(db.session.scalars(select(User.id).order_by(User.id)))
        db.session.remove()
    gate = threading.Barrier(threads)

    def worker(chunk):
        gate.wait()
        return [fn(app, uid, departure_id) for uid in chunk]

    chunks = [user_ids[i::threads] for i in range(threads)]
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        outcomes = [o for part in pool.map(worker, chunks) for o in part]
    elapsed = time.perf_counter() - started
    with app.app_context():
        rows = db.session.scalar(
            select(func.count())
            .select_from(Booking)
            .where(Booking.departure_id == departure_id, Booking.status == "booked")
        )
        db.session.remove()
        db.engine.dispose()
    return {
        "booked_rows": rows,
        "said_booked": outcomes.count("booked"),
        "full": outcomes.count("full"),
        "errors": sum(o.startswith(("error", "refused")) for o in outcomes),
        "seconds": elapsed,
        "attempts_per_s": attempts / elapsed,
    }


def postgres_url() -> str | None:
    base = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    if not base:
        return None
    name = f"raceapp_bench_{uuid.uuid4().hex[:6]}"
    admin = create_engine(
        make_url(base).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(base).set(database=name).render_as_string(hide_password=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", type=int, default=1000)
    parser.add_argument("--seats", type=int, default=50)
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    targets = [("SQLite", f"sqlite:///{tempfile.mkdtemp()}/bench.db")]
    pg = postgres_url()
    if pg:
        targets.append(("PostgreSQL", pg))
    print(
        f"{args.attempts} concurrent attempts ({args.threads} threads) for {args.seats} seats, "
        f"median of {args.rounds} rounds\n"
    )
    print(
        "| database | approach | seats sold (rows) | told booked | told full | errors | "
        "attempts/s (median) | vs naive |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for label, url in targets:
        app = create_app(
            "testing",
            SQLALCHEMY_DATABASE_URI=url,
            SQLALCHEMY_ENGINE_OPTIONS={"pool_size": args.threads, "max_overflow": 8}
            if url.startswith("postgresql")
            else {},
        )
        results = {}
        for name, fn in (("naive read-then-write", naive), ("raceapp booking", ours)):
            runs = [
                race(app, fn, args.attempts, args.seats, args.threads) for _ in range(args.rounds)
            ]
            results[name] = runs
        base = statistics.median(r["attempts_per_s"] for r in results["naive read-then-write"])
        for name, runs in results.items():
            med = statistics.median(r["attempts_per_s"] for r in runs)
            last = runs[-1]
            sold = "/".join(str(r["booked_rows"]) for r in runs)
            print(
                f"| {label} | {name} | {sold} | {last['said_booked']} | {last['full']} | "
                f"{last['errors']} | {med:,.0f} | {med / base:.2f}x |"
            )
        if url.startswith("postgresql"):
            with app.app_context():
                db.engine.dispose()
            admin = create_engine(
                make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT"
            )
            with admin.connect() as conn:
                conn.execute(
                    text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
                )
            admin.dispose()


if __name__ == "__main__":
    main()
