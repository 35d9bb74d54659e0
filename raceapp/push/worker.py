"""The delivery worker: claim due deliveries, send them concurrently, write results back.

`run()` is the loop. It runs in a thread of each app process by default (PUSH_WORKER=inline, for
a single machine), or as its own process with `flask push worker` (PUSH_WORKER=off in the app).
Any number of them may run against one PostgreSQL database; see raceapp.push.outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import Flask

from raceapp import clock
from raceapp.extensions import db
from raceapp.push import outbox
from raceapp.push.outbox import Outcome
from raceapp.push.sender import Sender
from raceapp.push.vapid import vapid_for

log = logging.getLogger(__name__)
FLUSH_EVERY_SECONDS = 0.05
FLUSH_AT = 200


@dataclass
class RunStats:
    claimed: int = 0
    results: dict[str, int] = field(default_factory=dict)

    def add(self, outcomes: list[Outcome]) -> None:
        for o in outcomes:
            self.results[o.result] = self.results.get(o.result, 0) + 1


def worker_id() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{threading.get_ident() % 100000}"


def _wake_event(app: Flask) -> threading.Event:
    return app.extensions.setdefault("raceapp.push_wake", threading.Event())


def wake(app: Flask) -> None:
    """Tell this process's worker that new deliveries are queued (others find them by polling)."""
    _wake_event(app).set()


async def run(app: Flask, *, drain: bool = False, stop: threading.Event | None = None) -> RunStats:
    """Deliver until `stop` is set; with drain=True, return once nothing is due any more."""
    vapid = vapid_for(app)
    if vapid is None:
        raise RuntimeError(
            "Push is not configured: set VAPID_PRIVATE_KEY or "
            "VAPID_PRIVATE_KEY_FILE (make one with `flask push vapid-keys`)."
        )
    cfg = app.config
    with app.app_context():
        engine = db.engine
    me = worker_id()
    stats = RunStats()
    wake_event = _wake_event(app)
    stop = stop or threading.Event()
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue(maxsize=cfg["PUSH_BATCH"] * 2)
    done: list[Outcome] = []
    senders = max(1, cfg["PUSH_CONCURRENCY"])
    lease_seconds = cfg["PUSH_LEASE_SECONDS"]
    # Rows this worker has claimed and not yet written back, with when their lease ends.
    held: dict[int, datetime] = {}

    async def flush() -> None:
        batch = done[:]
        del done[: len(batch)]
        for outcome in batch:
            held.pop(outcome.delivery_id, None)
        if batch:
            # Shielded: cancelling the loop must never drop results that are not yet written
            # (the rows would stay leased and be sent again after the lease).
            await asyncio.shield(
                loop.run_in_executor(
                    None,
                    lambda: outbox.record(
                        engine,
                        batch,
                        now=clock.real_utcnow(),
                        max_attempts=cfg["PUSH_MAX_ATTEMPTS"],
                        worker_id=me,
                    ),
                )
            )
            stats.add(batch)

    async def produce() -> None:
        try:
            while not stop.is_set():
                if queue.qsize() > cfg["PUSH_BATCH"]:
                    await asyncio.sleep(FLUSH_EVERY_SECONDS)
                    continue
                try:
                    jobs, immediate = await loop.run_in_executor(
                        None,
                        lambda: outbox.claim(
                            engine,
                            me,
                            limit=cfg["PUSH_BATCH"],
                            now=clock.real_utcnow(),
                            lease_seconds=lease_seconds,
                        ),
                    )
                except Exception:  # the database is away: keep the worker, try again
                    log.exception("claiming deliveries failed")
                    jobs, immediate = [], []
                    if drain:
                        raise
                done.extend(immediate)
                stats.claimed += len(jobs) + len(immediate)
                for job in jobs:
                    held[job.delivery_id] = job.lease_until
                for job in jobs:
                    await queue.put(job)
                if jobs or immediate:
                    continue
                if drain:
                    return
                await loop.run_in_executor(None, wake_event.wait, cfg["PUSH_POLL_SECONDS"])
                wake_event.clear()
        finally:
            for _ in range(senders):
                await queue.put(None)

    async def consume(sender: Sender) -> None:
        while (job := await queue.get()) is not None:
            now = clock.real_utcnow()
            # Too close to the end of our lease (the heartbeat could not renew it): another
            # worker may take the row over, so leave it to them rather than send it twice.
            lease_until = held.get(job.delivery_id, job.lease_until)
            if lease_until - timedelta(seconds=sender.timeout + 1) < now:
                held.pop(job.delivery_id, None)
                continue
            done.append(await sender.send(job, now))
            if len(done) >= FLUSH_AT:
                await flush()

    finished = asyncio.Event()

    async def heartbeat() -> None:
        """Renew the leases of the rows still held, every third of a lease: a dead worker's
        rows are taken over within one lease, a live one's never."""
        while not finished.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(finished.wait(), lease_seconds / 3)
            ids = list(held)
            if not ids or finished.is_set():
                continue
            try:
                kept, until = await loop.run_in_executor(
                    None,
                    functools.partial(
                        outbox.renew,
                        engine,
                        me,
                        ids,
                        now=clock.real_utcnow(),
                        lease_seconds=lease_seconds,
                    ),
                )
            except Exception:  # the database is away: the leases run out, others take over
                log.exception("renewing leases failed")
                continue
            for delivery_id in set(ids) - set(kept):
                held.pop(delivery_id, None)  # no longer ours
            for delivery_id in kept:
                if delivery_id in held:
                    held[delivery_id] = until

    async def keep_flushing() -> None:
        while not finished.is_set():
            with contextlib.suppress(TimeoutError):  # time to flush what came in
                await asyncio.wait_for(finished.wait(), FLUSH_EVERY_SECONDS)
            await flush()

    async with Sender(
        vapid, concurrency=cfg["PUSH_CONCURRENCY"], timeout=cfg["PUSH_TIMEOUT_SECONDS"]
    ) as sender:
        flusher = asyncio.create_task(keep_flushing())
        beating = asyncio.create_task(heartbeat())
        try:
            await asyncio.gather(produce(), *(consume(sender) for _ in range(senders)))
        finally:
            finished.set()
            await flusher
            await beating
            await flush()
    return stats


def drain(app: Flask) -> RunStats:
    """Send everything that is due now, then return (tests, `flask push worker --once`)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(run(app, drain=True))
    # Called from code that already runs an event loop: give the worker a thread of its own.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(run(app, drain=True))).result()


def start_inline(app: Flask) -> threading.Thread | None:
    """Start this process's delivery thread once, if the app is set up for it."""
    thread = app.extensions.get("raceapp.push_thread")
    if thread is not None and thread.is_alive():
        return thread
    if app.config["PUSH_WORKER"] != "inline" or vapid_for(app) is None:
        return None
    lock = app.extensions.setdefault("raceapp.push_lock", threading.Lock())
    with lock:
        thread = app.extensions.get("raceapp.push_thread")
        if thread is None or not thread.is_alive():
            thread = threading.Thread(
                target=_inline_main, args=(app,), name="push-worker", daemon=True
            )
            app.extensions["raceapp.push_thread"] = thread
            thread.start()
    return thread


def _inline_main(app: Flask) -> None:
    while True:
        try:
            asyncio.run(run(app))
        except Exception:  # never let the thread die for good; log and start over
            log.exception("push worker stopped; restarting")
            threading.Event().wait(5)
