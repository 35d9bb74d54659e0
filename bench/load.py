"""Race-morning load: 1,300 runners against the app under gunicorn, on PostgreSQL and SQLite.

    make bench            # or: .venv/bin/python bench/load.py [--runners 1300 --seconds 90]

For each database: migrate a fresh database, import the Okushinano 100 race file moved so
that its start is three hours away, make the runners (entered, same password) and a few
alerts, then start gunicorn with the production settings (gunicorn.conf.py, RACEAPP_ENV=
production, the abuse limits on, their counters in the database) and run Locust against it:

1. capacity: `--capacity-users` users with no think time on a bare Flask "hello" (served by
   the same gunicorn processes, bench/wsgi.py), then on each kit page (home, cut-offs,
   checklist, /api/kit), made in full and revalidated. A page's share of the hello figure is
   the number that travels between machines; the targets are a third (made, SQLite), a
   quarter (made, PostgreSQL) and a half (revalidated).
2. logging in: a few users logging in over and over (argon2 is slow on purpose).
3. race morning: every runner is logged in (as days before: the bench logs them in first),
   then opens the kit, its cut-offs and checklist, polls seats, ticks gear and books a bus,
   with 5-30 s between actions (bench/locustfile.py); counted once all have arrived. Target:
   p99 under 100 ms for each kit page and /api/kit.

Requests per second and p50/p95/p99 per endpoint are printed as Markdown tables.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
import tomli_w  # noqa: E402
from sqlalchemy import create_engine, insert, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from raceapp import create_app  # noqa: E402
from raceapp.extensions import db  # noqa: E402
from raceapp.models import Category, Entry, Event, User  # noqa: E402
from raceapp.push.vapid import generate_private_key_pem  # noqa: E402
from raceapp.racefile import check_text  # noqa: E402
from raceapp.services import accounts, alerts  # noqa: E402
from raceapp.services.race_import import import_reports  # noqa: E402

# The kit pages bench/locustfile.py measures for capacity (its user classes' prefixes; not
# imported from there: importing Locust patches this process for gevent).
KIT_PAGES = ("KitHome", "Cutoffs", "Checklist", "ApiKit")

RACE = ROOT / "races" / "okushinano-100-2024.toml"
FIRST_START = datetime(2024, 6, 8, 5, 0)  # the 100 km start, local time
PASSWORD = "bench runner password"
PYTHON = sys.executable

# A production start needs mail settings; the benchmark sends no mail (nobody signs up).
MAIL_ENV = dict(
    MAIL_SERVER="127.0.0.1",
    MAIL_PORT="2525",
    MAIL_DEFAULT_SENDER="raceapp <bench@raceapp.org>",
    VAPID_CONTACT_EMAIL="bench@raceapp.org",
)


def shifted_race(start_in: timedelta, seats: int) -> str:
    """The race file with every date moved so the 100 km starts `start_in` from now, and
    `seats` on every bus (the file publishes none)."""
    race = tomllib.loads(RACE.read_text())
    zone = ZoneInfo(race["event"]["time_zone"])
    start = (datetime.now(zone) + start_in).replace(second=0, microsecond=0, tzinfo=None)
    delta = start - FIRST_START

    def move(value):
        if isinstance(value, datetime):
            return value + delta
        if isinstance(value, date):
            return (datetime.combine(value, datetime.min.time()) + delta).date()
        if isinstance(value, dict):
            return {k: move(v) for k, v in value.items()}
        if isinstance(value, list):
            return [move(v) for v in value]
        return value

    race = move(race)
    for shuttle in race.get("shuttles", []):
        shuttle["seats"] = seats
    return tomli_w.dumps(race)


def enter(event: Event, categories: list[Category], user_ids, now: datetime) -> None:
    """Enter these runners in `event`, spread over its categories, bibs from 1000."""
    db.session.execute(
        insert(Entry),
        [
            {
                "user_id": user_id,
                "event_id": event.id,
                "category_id": categories[i % len(categories)].id,
                "bib": str(1000 + i),
                "created_at": now,
            }
            for i, user_id in enumerate(user_ids)
        ],
    )


def seed(url: str, runners: int) -> None:
    """Migrate, import the race, make the runners and post three alerts."""
    from flask_migrate import upgrade

    app = create_app(
        "production",
        SQLALCHEMY_DATABASE_URI=url,
        SECRET_KEY="bench-" + "x" * 40,
        TRUSTED_HOSTS=["127.0.0.1"],
        MAIL_BACKEND="smtp",
        **{k: v for k, v in MAIL_ENV.items() if k != "MAIL_PORT"},
    )
    with app.app_context():
        upgrade()
        report = check_text(shifted_race(timedelta(hours=3), seats=runners), "bench.toml")
        assert report.ok, report.lines()
        now = datetime.now(timezone.utc)
        import_reports([report], now=now)
        event = db.session.scalar(select(Event))
        categories = db.session.scalars(select(Category).where(Category.event_id == event.id)).all()
        password_hash = accounts.hasher().hash(PASSWORD)
        db.session.execute(
            insert(User),
            [
                {
                    "email": f"runner{i}@bench.example",
                    "name": f"Runner {i}",
                    "password_hash": password_hash,
                    "created_at": now,
                }
                for i in range(1, runners + 1)
            ],
        )
        ids = db.session.scalars(select(User.id).order_by(User.id)).all()
        enter(event, categories, ids, now)
        db.session.commit()
        organizer = accounts.create_organizer(
            "organizer@bench.example", "Organizer", PASSWORD, [event.slug], now=now
        )
        for title in ("Weather: rain from noon", "Water at CP2 only", "Parking lot 3 full"):
            alerts.post_alert(
                organizer,
                event,
                alerts.AlertDraft(
                    kind="info", title=title, body="Details at the information desk."
                ),
                now=now,
            )
        db.session.remove()
        db.engine.dispose()


class Server:
    """gunicorn with gunicorn.conf.py, serving bench/wsgi.py."""

    def __init__(self, url: str, port: int, log: Path):
        self.url, self.port, self.log = url, port, log

    def __enter__(self) -> str:
        env = dict(
            os.environ,
            RACEAPP_ENV="production",
            TRUSTED_HOSTS="127.0.0.1",
            **MAIL_ENV,
            SECRET_KEY="bench-" + "x" * 40,
            DATABASE_URL=self.url,
            COOKIE_SECURE="0",
            PROXY_COUNT="1",
            ACCESS_LOG="",
            BIND=f"127.0.0.1:{self.port}",
            VAPID_PRIVATE_KEY=generate_private_key_pem().decode(),
        )
        env.pop("REDIS_URL", None)  # the default: counters in the database
        self.process = subprocess.Popen(
            [PYTHON, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "bench.wsgi:app"],
            cwd=ROOT,
            env=env,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=1)
                return base
            except OSError:
                assert self.process.poll() is None, self.log.read_text()
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not start")

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        self.process.wait(30)


def log_in_everyone(base: str, runners: int, out: Path) -> Path:
    """Log every runner in once, as their phones did days before; keep the session cookies."""

    def log_in(number: int) -> tuple[str, str]:
        with requests.Session() as phone:
            page = phone.get(f"{base}/auth/login").text
            token = re.search(r'name="csrf_token"[^>]*?value="([^"]+)"', page).group(1)
            answer = phone.post(
                f"{base}/auth/login",
                allow_redirects=False,
                data={
                    "email": f"runner{number}@bench.example",
                    "password": PASSWORD,
                    "csrf_token": token,
                },
                headers={"X-Forwarded-For": f"10.9.{number % 250}.1"},
            )
            assert answer.status_code == 302, answer.status_code
            phone.get(f"{base}/me")  # the first page puts the form token in the session
            return str(number), "; ".join(f"{k}={v}" for k, v in phone.cookies.items())

    with ThreadPoolExecutor(8) as pool:
        sessions = dict(pool.map(log_in, range(1, runners + 1)))
    path = out / "sessions.json"
    path.write_text(json.dumps(sessions))
    return path


def locust(
    base: str,
    user_class: str,
    users: int,
    spawn_rate: float,
    seconds: int,
    out: Path,
    runners: int,
    steady: bool = False,
) -> list[dict]:
    """Run Locust headless; return its per-endpoint rows (the CSV it writes). `steady`:
    count only what happens once every user has arrived (and logged in)."""
    prefix = out / user_class
    log = out / f"{user_class}.log"
    finished = subprocess.run(
        [
            PYTHON,
            "-m",
            "locust",
            "-f",
            str(ROOT / "bench" / "locustfile.py"),
            user_class,
            "--headless",
            "--host",
            base,
            "--users",
            str(users),
            "--spawn-rate",
            str(spawn_rate),
            "--run-time",
            f"{seconds}s",
            "--csv",
            str(prefix),
            "--only-summary",
            "--loglevel",
            "WARNING",
            "--exit-code-on-error",
            "0",
            *(["--reset-stats"] if steady else []),
        ],
        env=dict(
            os.environ,
            BENCH_RUNNERS=str(runners),
            BENCH_PASSWORD=PASSWORD,
            BENCH_SESSIONS=str(out / "sessions.json"),
        ),
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    if finished.returncode != 0 or "Traceback" in log.read_text():
        raise RuntimeError(f"locust failed:\n{log.read_text()[-3000:]}")
    with open(f"{prefix}_stats.csv", newline="") as rows:
        return [row for row in csv.DictReader(rows) if row["Name"] != "Aggregated"]


def table(rows: list[dict], baseline_rps: float | None = None) -> str:
    lines = [
        "| Endpoint | Requests | Failures | req/s | p50 ms | p95 ms | p99 ms |"
        + (" share of hello |" if baseline_rps else ""),
        "|---|---:|---:|---:|---:|---:|---:|" + ("---:|" if baseline_rps else ""),
    ]
    for row in sorted(rows, key=lambda r: -float(r["Requests/s"])):
        rps = float(row["Requests/s"])
        line = (
            f"| {row['Name']} | {row['Request Count']} | {row['Failure Count']} | {rps:.0f} "
            f"| {row['50%']} | {row['95%']} | {row['99%']} |"
        )
        if baseline_rps:
            line += f" {rps / baseline_rps:.2f} |"
        lines.append(line)
    return "\n".join(lines)


def databases(tmp: Path) -> list[tuple[str, str, callable]]:
    """(name, URL, clean-up) for PostgreSQL (a fresh database) and SQLite (a file)."""
    found = []
    pg = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    if pg:
        name = f"raceapp_load_{uuid.uuid4().hex[:8]}"
        admin = create_engine(
            make_url(pg).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
        )
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))

        def drop():
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()

        found.append(
            (
                "PostgreSQL",
                make_url(pg).set(database=name).render_as_string(hide_password=False),
                drop,
            )
        )
    found.append(("SQLite", f"sqlite:///{tmp / 'load.db'}", lambda: None))
    return found


def race_morning(base: str, args, tmp: Path) -> tuple[list[dict], list[dict]]:
    """The login storm on its own, then every runner logged in and the race morning."""
    logins = locust(base, "LoginUser", 4, 4, args.capacity_seconds, tmp, args.runners)
    log_in_everyone(base, args.runners, tmp)
    ramp = args.runners / args.spawn_rate
    morning = locust(
        base,
        "RaceMorningRunner",
        args.runners,
        args.spawn_rate,
        round(ramp + args.seconds),
        tmp,
        args.runners,
        steady=True,
    )
    return logins, morning


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runners", type=int, default=1300)
    parser.add_argument(
        "--seconds",
        type=int,
        default=90,
        help="race-morning time counted, after every runner has arrived",
    )
    parser.add_argument(
        "--spawn-rate",
        type=float,
        default=50,
        help="runners opening the app per second at the start",
    )
    parser.add_argument("--capacity-users", type=int, default=32)
    parser.add_argument("--capacity-seconds", type=int, default=20)
    parser.add_argument("--only", choices=["PostgreSQL", "SQLite"])
    parser.add_argument(
        "--capacity-only", action="store_true", help="measure capacity, not logins or morning"
    )
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    print(
        f"# Race-morning load, {datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} CPUs; "
        f"server and load generator on the same machine\n"
    )
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for name, url, clean_up in databases(tmp):
            if args.only and name != args.only:
                clean_up()
                continue
            try:
                seed(url, args.runners)
                with Server(url, args.port, tmp / f"gunicorn-{name}.log") as base:
                    hello = locust(
                        base,
                        "HelloUser",
                        args.capacity_users,
                        args.capacity_users,
                        args.capacity_seconds,
                        tmp,
                        args.runners,
                    )
                    kit = [
                        row
                        for page in KIT_PAGES
                        for user_class in (f"{page}User", f"{page}RevalidateUser")
                        for row in locust(
                            base,
                            user_class,
                            args.capacity_users,
                            args.capacity_users,
                            args.capacity_seconds,
                            tmp,
                            args.runners,
                        )
                    ]
                    logins, morning = (
                        ([], []) if args.capacity_only else race_morning(base, args, tmp)
                    )
            finally:
                clean_up()
            hello_rps = float(next(r for r in hello if "hello" in r["Name"])["Requests/s"])
            kit_rows = [r for r in kit if "made" in r["Name"] or "revalidated" in r["Name"]]
            print(
                f"## {name}\n\nCapacity ({args.capacity_users} users, no think time, "
                f"{args.capacity_seconds} s each):\n"
            )
            print(table([r for r in hello if "hello" in r["Name"]] + kit_rows, hello_rps))
            if args.capacity_only:
                continue
            print("\nLogging in (4 users, no think time; argon2id, t=1, m=46 MiB):\n")
            print(table([r for r in logins if r["Name"] == "POST /auth/login"]))
            print(
                f"\nRace morning: {args.runners} runners, logged in beforehand (they open "
                f"the app at {args.spawn_rate:g}/s; counting starts when the last has), "
                f"5-30 s between actions, {args.seconds} s:\n"
            )
            print(table([r for r in morning if "auth/login" not in r["Name"]]))
            print()


if __name__ == "__main__":
    main()
