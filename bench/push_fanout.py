"""Push fan-out: one alert to 5,000 and 20,000 devices, raceapp's worker vs pywebpush in threads.

    make bench            # or: .venv/bin/python bench/push_fanout.py [--sizes 5000 20000]

A local push endpoint (a separate process on loopback, answering 201 to every POST with
keep-alive) stands in for the push services. "raceapp" is the whole path a real alert takes:
`alerts.post_alert` writes the alert and one delivery row per device in one transaction, then
`push.worker.drain` claims the rows, encrypts (RFC 8291) and sends them with reused VAPID
tokens over kept-alive connections, many requests in flight, and writes every result back.
The baseline is the common approach: `pywebpush.webpush()` per device in a thread pool,
measured in the same run against the same endpoint, with no database work at all.
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
                rows.append(
                    (
                        size,
                        statistics.median(theirs),
                        statistics.median(ours),
                        theirs,
                        ours,
                        posting,
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
        "| devices | pywebpush.webpush() in threads | raceapp (post + worker) | ratio |"
        " posting the alert (of raceapp's time) |"
    )
    print("|---|---|---|---|---|")
    for size, base, ours, _, _, posting in rows:
        print(
            f"| {size:,} | {base:,.0f}/s | {ours:,.0f}/s | {ours / base:.1f}x |"
            f" {posting * 1000:,.0f} ms |"
        )
    print(
        "\nrounds:",
        {
            size: {"pywebpush": [round(x) for x in theirs], "raceapp": [round(x) for x in mine]}
            for size, _, _, theirs, mine, _ in rows
        },
    )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--serve":
        serve(int(sys.argv[2]))
    else:
        main()
