"""Push fan-out: one alert to 5,000 and 20,000 devices, raceapp's worker vs pywebpush senders.

    make bench            # or: .venv/bin/python bench/push_fanout.py [--sizes 5000 20000]

A local push endpoint (a separate process on loopback, answering 201 to every POST with
keep-alive) stands in for the push services. "raceapp" is the whole path a real alert takes:
`alerts.post_alert` writes the alert and one delivery row per device in one transaction, then
`push.worker.drain` claims the rows, encrypts (RFC 8291) and sends them with reused VAPID
tokens over kept-alive connections, many requests in flight, and writes every result back.
Two baselines, measured in the same run against the same endpoint, with no database work at
all: the common approach, `pywebpush.webpush()` per device in a thread pool, and pywebpush
tuned (`WebPusher`, one `requests.Session` per thread, the VAPID header signed once). The
whole path also runs with one and with two `flask push worker` processes, and the physical
limit is the rate at which one core only encrypts and signs the same messages.
Rates are deliveries per second, medians of `--rounds` rounds; compare ratios, not absolute
numbers (machines here are shared and noisy).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def serve(port: int) -> None:
    """The stand-in push endpoint: 201 to every POST, connections kept alive."""
    from aiohttp import web

    async def handle(request: web.BaseRequest) -> web.Response:
        await request.read()
        return web.Response(status=201)

    async def main() -> None:
        server = web.Server(handle, access_log=None)
        runner = web.ServerRunner(server)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port, backlog=2048).start()
        print("ready", flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def key_pool(n: int = 64) -> list[tuple[str, str]]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    pool = []
    for _ in range(n):
        public = (
            ec.generate_private_key(ec.SECP256R1())
            .public_key()
            .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        )
        pool.append((b64url(public), b64url(os.urandom(16))))
    return pool


def setup_database(app, size: int, origin: str, keys: list[tuple[str, str]]):
    from sqlalchemy import insert

    from raceapp.extensions import db
    from raceapp.models import Category, Entry, Event, OrganizerRole, PushSubscription, User

    db.session.remove()  # an open read transaction would block the DROPs on PostgreSQL
    db.drop_all()
    db.create_all()
    now = datetime.now(timezone.utc)
    event = Event(
        slug="bench", name="Bench Trail 100", time_zone="Asia/Tokyo", updated_at=now, details={}
    )
    category = Category(code="100k", name="100 km", details={})
    event.categories.append(category)
    organizer = User(email="org@bench", name="Organizer", password_hash="x", created_at=now)
    db.session.add_all([event, organizer])
    db.session.flush()
    db.session.add(OrganizerRole(user_id=organizer.id, event_id=event.id))
    db.session.execute(
        insert(User),
        [
            {
                "id": 10 + i,
                "email": f"u{i}@bench",
                "name": f"Runner {i}",
                "password_hash": "x",
                "created_at": now,
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
    db.session.execute(
        insert(PushSubscription),
        [
            {
                "user_id": 10 + i,
                "endpoint": f"{origin}/push/{i}",
                "p256dh": keys[i % len(keys)][0],
                "auth": keys[i % len(keys)][1],
                "created_at": now,
                "last_seen_at": now,
            }
            for i in range(size)
        ],
    )
    db.session.commit()
    return event, organizer


def run_raceapp(app, event, organizer, size: int, round_no: int) -> tuple[float, float]:
    from sqlalchemy import func, select

    from raceapp.extensions import db
    from raceapp.models import Delivery
    from raceapp.push import worker
    from raceapp.services import alerts
    from raceapp.services.alerts import AlertDraft

    started = time.perf_counter()
    alert = alerts.post_alert(
        organizer,
        event,
        AlertDraft(
            "cancellation", f"Race cancelled (round {round_no})", body="Typhoon. Stay safe."
        ),
        now=datetime.now(timezone.utc),
    )
    posted = time.perf_counter() - started
    stats = worker.drain(app)
    elapsed = time.perf_counter() - started
    sent = db.session.scalar(
        select(func.count()).where(Delivery.alert_id == alert.id, Delivery.status == "sent")
    )
    if sent != size:
        raise SystemExit(f"raceapp delivered {sent}/{size}: {stats.results}")
    return size / elapsed, posted


def run_pywebpush(size: int, origin: str, keys, pem_path: str, threads: int) -> float:
    from pywebpush import webpush

    data = '{"title":"Race cancelled","body":"Typhoon. Stay safe."}'

    def one(i: int) -> int:
        p256dh, auth = keys[i % len(keys)]
        response = webpush(
            {"endpoint": f"{origin}/push/{i}", "keys": {"p256dh": p256dh, "auth": auth}},
            data=data,
            vapid_private_key=pem_path,
            vapid_claims={"sub": "mailto:ops@bench.example"},
            ttl=86400,
            timeout=10,
        )
        return response.status_code

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        statuses = list(pool.map(one, range(size)))
    elapsed = time.perf_counter() - started
    if statuses.count(201) != size:
        raise SystemExit(f"pywebpush: {size - statuses.count(201)} requests failed")
    return size / elapsed


def run_tuned(size: int, origin: str, keys, pem_path: str, threads: int) -> float:
    """pywebpush tuned as its documentation allows: `WebPusher` with one `requests.Session`
    per thread (kept-alive connections) and the VAPID header signed once for the run."""
    import threading

    import requests
    from py_vapid import Vapid
    from pywebpush import WebPusher

    data = b'{"title":"Race cancelled","body":"Typhoon. Stay safe."}'
    vapid = Vapid.from_file(private_key_file=pem_path)
    headers = vapid.sign(
        {"sub": "mailto:ops@bench.example", "aud": origin, "exp": int(time.time()) + 12 * 3600}
    )
    local = threading.local()

    def one(i: int) -> int:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        p256dh, auth = keys[i % len(keys)]
        pusher = WebPusher(
            {"endpoint": f"{origin}/push/{i}", "keys": {"p256dh": p256dh, "auth": auth}},
            requests_session=session,
        )
        return pusher.send(data, headers=dict(headers), ttl=86400, timeout=10).status_code

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        statuses = list(pool.map(one, range(size)))
    elapsed = time.perf_counter() - started
    if statuses.count(201) != size:
        raise SystemExit(f"tuned pywebpush: {size - statuses.count(201)} requests failed")
    return size / elapsed


def run_floor(size: int, origin: str, keys, pem: bytes) -> float:
    """The physical limit on one core: encrypt (one ECDH, RFC 8291) and sign a VAPID token
    for each message, nothing else (no HTTP, no database)."""
    from raceapp.push.vapid import Vapid

    payload = b'{"title":"Race cancelled","body":"Typhoon. Stay safe."}'
    vapid = Vapid(pem, "ops@bench.example", token_lifetime=0)  # a new token every message
    started = time.perf_counter()
    for i in range(size):
        p256dh, auth = keys[i % len(keys)]
        vapid.encrypt(payload, p256dh, auth)
        vapid.authorization(f"{origin}/push/{i}")
    return size / (time.perf_counter() - started)


def run_processes(
    url: str, pem: bytes, origin: str, ids: tuple[int, int], size: int, processes: int, n: int
) -> float:
    """The whole path with separate worker processes (`flask push worker`), as deployed:
    post the alert, then time until every delivery is written down as sent."""
    from sqlalchemy import create_engine, func, select

    from raceapp import create_app
    from raceapp.extensions import db
    from raceapp.models import Delivery, Event, User
    from raceapp.services import alerts
    from raceapp.services.alerts import AlertDraft

    env = dict(
        os.environ,
        RACEAPP_ENV="testing",
        TEST_DATABASE_URL=url,
        VAPID_PRIVATE_KEY=pem.decode(),
        PUSH_EXTRA_ORIGINS=origin,
        PUSH_BATCH="1000",
        PUSH_POLL_SECONDS="0.05",
    )
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "app", "push", "worker"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(processes)
    ]
    try:
        time.sleep(3)  # imported and polling
        app = create_app("testing", SQLALCHEMY_DATABASE_URI=url, VAPID_PRIVATE_KEY=pem.decode())
        event_id, organizer_id = ids
        with app.app_context():
            started = time.perf_counter()
            alert_id = alerts.post_alert(
                db.session.get(User, organizer_id),
                db.session.get(Event, event_id),
                AlertDraft("cancellation", f"Race cancelled ({processes} processes, round {n})"),
                now=datetime.now(timezone.utc),
            ).id
            db.session.remove()
            db.engine.dispose()
        engine = create_engine(url)
        count = select(func.count()).where(Delivery.alert_id == alert_id, Delivery.status == "sent")
        with engine.connect() as conn:
            while conn.execute(count).scalar_one() < size:
                conn.rollback()
                time.sleep(0.02)
        elapsed = time.perf_counter() - started
        engine.dispose()
        return size / elapsed
    finally:
        for worker in workers:
            worker.terminate()
            worker.wait(15)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[5000, 20000])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=32, help="pywebpush thread pool size")
    parser.add_argument("--port", type=int, default=18443)
    args = parser.parse_args()

    from raceapp import create_app
    from raceapp.extensions import db
    from raceapp.push.vapid import generate_private_key_pem

    url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    tmp = tempfile.mkdtemp(prefix="push-bench-")
    url = url or f"sqlite:///{tmp}/bench.db"
    pem = generate_private_key_pem()
    pem_path = Path(tmp) / "vapid.pem"
    pem_path.write_bytes(pem)
    origin = f"http://127.0.0.1:{args.port}"

    endpoint = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(args.port)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert endpoint.stdout.readline().strip() == "ready"
        app = create_app(
            "testing",
            SQLALCHEMY_DATABASE_URI=url,
            VAPID_PRIVATE_KEY=pem.decode(),
            PUSH_EXTRA_ORIGINS=(origin,),
            PUSH_BATCH=1000,
        )
        keys = key_pool()
        rows = []
        with app.app_context():
            dialect = db.engine.dialect.name
            for size in args.sizes:
                event, organizer = setup_database(app, size, origin, keys)
                measured = [run_raceapp(app, event, organizer, size, r) for r in range(args.rounds)]
                ours = [rate for rate, _ in measured]
                posting = statistics.median(p for _, p in measured)
                theirs = [
                    run_pywebpush(size, origin, keys, str(pem_path), args.threads)
                    for _ in range(args.rounds)
                ]
                tuned = [
                    run_tuned(size, origin, keys, str(pem_path), args.threads)
                    for _ in range(args.rounds)
                ]
                floor = [run_floor(size, origin, keys, pem) for _ in range(args.rounds)]
                ids = (event.id, organizer.id)
                db.session.remove()
                by_processes = {
                    n: statistics.median(
                        run_processes(url, pem, origin, ids, size, n, r) for r in range(args.rounds)
                    )
                    for n in (1, 2)
                }
                rows.append(
                    (
                        size,
                        statistics.median(theirs),
                        statistics.median(ours),
                        theirs,
                        ours,
                        posting,
                        statistics.median(tuned),
                        statistics.median(floor),
                        by_processes,
                    )
                )
            db.session.remove()
            db.drop_all()
    finally:
        endpoint.terminate()
        endpoint.wait(10)

    print(
        f"\nOne alert, deliveries per second (median of {args.rounds}); database: {dialect};"
        f" pywebpush with {args.threads} threads\n"
    )
    print(
        "| devices | pywebpush.webpush() in threads | tuned pywebpush (WebPusher, a session per"
        " thread, VAPID signed once) | raceapp (post + worker, in process) | raceapp vs tuned |"
        " 1 worker process | 2 worker processes | 2 vs 1 | one core only encrypting and signing"
        " | 1 worker process, share of that |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for size, base, ours, _, _, _posting, tuned, floor, procs in rows:
        print(
            f"| {size:,} | {base:,.0f}/s | {tuned:,.0f}/s | {ours:,.0f}/s | {ours / tuned:.2f}x |"
            f" {procs[1]:,.0f}/s | {procs[2]:,.0f}/s | {procs[2] / procs[1]:.2f}x |"
            f" {floor:,.0f}/s | {procs[1] / floor:.0%} |"
        )
    print(
        "\nposting the alert (median):",
        {row[0]: f"{row[5] * 1000:,.0f} ms" for row in rows},
    )
    print(
        "rounds:",
        {
            row[0]: {"pywebpush": [round(x) for x in row[3]], "raceapp": [round(x) for x in row[4]]}
            for row in rows
        },
    )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--serve":
        serve(int(sys.argv[2]))
    else:
        main()
