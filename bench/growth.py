"""How cost grows with the field: the kit home and posting an alert, at 1,300, 5,000 and 20,000
runners in one race, and in one race of 1,300 among 50 such races.

    make bench            # or: .venv/bin/python bench/growth.py [--views 60 --rounds 3]

Each field is built fresh (the Okushinano 100 race file moved so its start is three hours
away, runners entered across its categories, one phone each) on SQLite and, with
BENCH_DATABASE_URL set, on PostgreSQL. A runner of the first race opens the kit home
(rendered in full each time: no validator sent) through the app, in process; headquarters of
the first race posts an alert to its runners. Figures are medians, compared with the 1,300
runner field measured in the same run: a page whose cost grows with the field, or with the
runners of other races, is a defect; posting an alert writes one row per device, so it grows
with the runners it goes to and with nothing else.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select  # noqa: E402

from bench.load import PASSWORD, enter, shifted_race  # noqa: E402
from raceapp import create_app  # noqa: E402
from raceapp.extensions import db  # noqa: E402
from raceapp.models import Category, Event, PushSubscription, User  # noqa: E402
from raceapp.racefile import check_text  # noqa: E402
from raceapp.services import accounts, alerts  # noqa: E402
from raceapp.services.race_import import import_reports  # noqa: E402

FIELDS = [(1, 1300), (1, 5000), (1, 20000), (50, 1300)]  # (races, runners in each)


def build(app, races: int, runners: int) -> tuple[int, int]:
    """A fresh database with `races` races of `runners` runners; returns the first race's id
    and its organizer's."""
    db.session.remove()
    db.drop_all()
    db.create_all()
    now = datetime.now(timezone.utc)
    text = shifted_race(timedelta(hours=3), seats=100)
    slug = re.search(r'^slug = "([^"]+)"', text, re.M).group(1)
    for k in range(races):
        report = check_text(text.replace(f'slug = "{slug}"', f'slug = "{slug}-{k}"'), f"{k}.toml")
        assert report.ok, report.lines()
        import_reports([report], now=now)
    password_hash = accounts.hasher().hash(PASSWORD)
    events = db.session.scalars(select(Event).order_by(Event.id)).all()
    for k, event in enumerate(events):
        categories = db.session.scalars(select(Category).where(Category.event_id == event.id)).all()
        first = k * runners
        db.session.execute(
            insert(User),
            [
                {
                    "email": f"runner{first + i}@bench.example",
                    "name": f"Runner {first + i}",
                    "password_hash": password_hash,
                    "created_at": now,
                }
                for i in range(runners)
            ],
        )
        ids = db.session.scalars(
            select(User.id).where(User.email.like("runner%@bench.example")).order_by(User.id)
        ).all()[first:]
        enter(event, categories, ids, now)
        db.session.execute(
            insert(PushSubscription),
            [
                {
                    "user_id": user_id,
                    "endpoint": f"https://fcm.googleapis.com/fcm/send/bench-{user_id}",
                    "p256dh": "x",
                    "auth": "y",
                    "created_at": now,
                    "last_seen_at": now,
                }
                for user_id in ids
            ],
        )
        db.session.commit()
    organizer = accounts.create_organizer(
        "organizer@bench.example", "Organizer", PASSWORD, [events[0].slug], now=now
    )
    db.session.commit()
    return events[0].id, organizer.id


def kit_home_ms(app, views: int) -> float:
    """The median time to render a first-race runner's kit home in full."""
    client = app.test_client()

    def request(method: str, path: str, **kw):
        # A context of its own, as a server gives each request (`g` holds the CSRF token).
        with app.app_context():
            return client.open(path, method=method, **kw)

    page = request("GET", "/auth/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    answer = request(
        "POST",
        "/auth/login",
        data={"email": "runner0@bench.example", "password": PASSWORD, "csrf_token": token},
    )
    assert answer.status_code == 302, answer.status_code
    times = []
    for _ in range(views + 5):
        started = time.perf_counter()
        response = request("GET", "/me")
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, response.status_code
    return statistics.median(times[5:]) * 1000  # the first few warm the caches


def posting_ms(event_id: int, organizer_id: int, rounds: int) -> float:
    """The median time to post an alert to every runner of the first race."""
    times = []
    for n in range(rounds):
        event, organizer = db.session.get(Event, event_id), db.session.get(User, organizer_id)
        started = time.perf_counter()
        alerts.post_alert(
            organizer,
            event,
            alerts.AlertDraft(kind="info", title=f"Water at CP2 only ({n})"),
            now=datetime.now(timezone.utc),
        )
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--views", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL")
    tmp = tempfile.mkdtemp(prefix="growth-bench-")
    url = url or f"sqlite:///{tmp}/growth.db"
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
    rows = []
    with app.app_context():
        dialect = db.engine.dialect.name
        for races, runners in FIELDS:
            event_id, organizer_id = build(app, races, runners)
            kit = kit_home_ms(app, args.views)
            post = posting_ms(event_id, organizer_id, args.rounds)
            rows.append((races, runners, kit, post))
            print(f"{races} x {runners}: kit home {kit:.1f} ms, posting {post:.0f} ms", flush=True)
        db.session.remove()
        db.drop_all()
    _, _, base_kit, base_post = rows[0]
    print(f"\nGrowth with the field; database: {dialect}; medians\n")
    print(
        "| field | kit home (full render) | vs 1,300 | posting an alert to the first race"
        " | vs 1,300 |"
    )
    print("|---|---|---|---|---|")
    for races, runners, kit, post in rows:
        field = f"{runners:,} runners" if races == 1 else f"{races} races of {runners:,}"
        print(
            f"| {field} | {kit:.1f} ms | {kit / base_kit:.2f}x | {post:,.0f} ms |"
            f" {post / base_post:.2f}x |"
        )


if __name__ == "__main__":
    main()
