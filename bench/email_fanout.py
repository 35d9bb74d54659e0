"""E-mail fan-out: one urgent alert to 5,000 runners, raceapp's mail worker vs one smtplib
connection per message.

    make bench            # or: .venv/bin/python bench/email_fanout.py [--size 5000]

A local SMTP server (aiosmtpd, a separate process on loopback, accepting every message) stands
in for the mail provider; being Python itself, it is often the slower side, for both.
"raceapp" is the whole path a real alert takes: `alerts.post_alert` writes the alert and one
e-mail row per runner in one transaction, then `mail.worker.drain` claims the rows in
batches, renders the e-mail once per language, sends a batch over
one SMTP connection and writes every result back (the rate limit off). The baseline sends the
same messages (the same templates, both languages), composed beforehand, opening one SMTP
connection per message, as code that calls `send_mail()` in a loop does; it does no database
work and no rendering while it is timed. Rates are e-mails per second,
medians of `--rounds` rounds; compare ratios, not absolute numbers (machines here are shared
and noisy).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def serve(port: int) -> None:
    """The stand-in mail server: accepts every message and forgets it."""
    from aiosmtpd.controller import Controller

    class Sink:
        async def handle_DATA(self, server, session, envelope):
            return "250 OK"

    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


def setup_database(size: int):
    from sqlalchemy import insert

    from raceapp.extensions import db
    from raceapp.models import Category, Entry, Event, OrganizerRole, User

    db.session.remove()
    db.drop_all()
    db.create_all()
    now = datetime.now(timezone.utc)
    event = Event(
        slug="bench", name="Bench Trail 100", time_zone="Asia/Tokyo", updated_at=now, details={}
    )
    category = Category(code="100k", name="100 km", details={})
    event.categories.append(category)
    organizer = User(email="org@bench.org", name="Organizer", password_hash="x", created_at=now)
    db.session.add_all([event, organizer])
    db.session.flush()
    db.session.add(OrganizerRole(user_id=organizer.id, event_id=event.id))
    db.session.execute(
        insert(User),
        [
            {
                "id": 10 + i,
                "email": f"u{i}@bench.org",
                "name": f"Runner {i}",
                "password_hash": "x",
                "created_at": now,
                "email_verified_at": now,
                "language": "ja" if i % 2 else "en",
            }
            for i in range(size)
        ],
    )
    db.session.execute(
        insert(Entry),
        [
            {
                "user_id": 10 + i,
                "event_id": event.id,
                "category_id": category.id,
                "bib": str(i),
                "created_at": now,
            }
            for i in range(size)
        ],
    )
    db.session.commit()
    return event, organizer


def run_raceapp(app, event, organizer, size: int, round_no: int) -> float:
    from sqlalchemy import func, select

    from raceapp.extensions import db
    from raceapp.mail import worker
    from raceapp.models import MailDelivery
    from raceapp.services import alerts
    from raceapp.services.alerts import AlertDraft

    started = time.perf_counter()
    alert = alerts.post_alert(
        organizer,
        event,
        AlertDraft("cancellation", f"Race cancelled (round {round_no})", body="Typhoon."),
        now=datetime.now(timezone.utc),
    )
    worker.drain(app)
    elapsed = time.perf_counter() - started
    sent = db.session.scalar(
        select(func.count()).where(MailDelivery.alert_id == alert.id, MailDelivery.status == "sent")
    )
    if sent != size:
        raise SystemExit(f"raceapp sent {sent}/{size}")
    return size / elapsed


def run_one_connection_each(app, event, size: int) -> float:
    """The same e-mails raceapp sends (its templates, both languages), composed beforehand,
    each sent over its own new connection."""
    from raceapp.mail.outbox import MailJob
    from raceapp.mail.worker import addressed, compose_alert
    from raceapp.push.outbox import AlertText

    now = datetime.now(timezone.utc)
    with app.test_request_context("/", base_url=app.config["PUBLIC_URL"]):
        rendered = {
            language: compose_alert(
                AlertText(
                    0,
                    "cancellation",
                    language,
                    "Race cancelled",
                    "Typhoon.",
                    event.name,
                    None,
                    event.id,
                    None,
                    now,
                    {},
                )
            )
            for language in ("ja", "en")
        }
        messages = [
            addressed(
                rendered["ja" if i % 2 else "en"],
                MailJob(i, 0, f"u{i}@bench.org", f"Runner {i}", None, 1),
                host="bench.org",
            )
            for i in range(size)
        ]
    started = time.perf_counter()
    for message in messages:
        message.send()  # a new SMTP connection each time
    return size / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--port", type=int, default=18025)
    args = parser.parse_args()

    from raceapp import create_app
    from raceapp.extensions import db

    url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    url = url or f"sqlite:///{tempfile.mkdtemp(prefix='mail-bench-')}/bench.db"
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(args.port)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        app = create_app(
            "testing",
            SQLALCHEMY_DATABASE_URI=url,
            MAIL_BACKEND="smtp",
            MAIL_SERVER="127.0.0.1",
            MAIL_PORT=args.port,
            MAIL_USE_TLS=False,
            MAIL_RATE_PER_SECOND=0.0,
            MAIL_BATCH=200,
        )
        with app.app_context():
            dialect = db.engine.dialect.name
            event, organizer = setup_database(args.size)
            ours = [run_raceapp(app, event, organizer, args.size, r) for r in range(args.rounds)]
            theirs = [run_one_connection_each(app, event, args.size) for _ in range(args.rounds)]
            db.session.remove()
            db.drop_all()
    finally:
        server.terminate()
        server.wait(10)
    base, mine = statistics.median(theirs), statistics.median(ours)
    print(
        f"\nOne alert by e-mail, e-mails per second (median of {args.rounds});"
        f" database: {dialect}\n"
    )
    print("| recipients | one smtplib connection per message | raceapp (post + worker) | ratio |")
    print("|---|---|---|---|")
    print(f"| {args.size:,} | {base:,.0f}/s | {mine:,.0f}/s | {mine / base:.1f}x |")
    print(
        "\nrounds:",
        {"per message": [round(x) for x in theirs], "raceapp": [round(x) for x in ours]},
    )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--serve":
        serve(int(sys.argv[2]))
    else:
        main()
