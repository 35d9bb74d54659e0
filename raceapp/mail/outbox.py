"""The e-mail outbox: claiming due alert e-mails and writing down what became of each.

The same rules as the push outbox (raceapp.push.outbox): a claim leases rows in one short
transaction (`FOR UPDATE SKIP LOCKED` on PostgreSQL, the write lock on SQLite), a dead worker's
rows go to another once their lease ends, and retries back off. Each e-mail's result is written
as soon as the SMTP server has answered, so a worker killed mid-batch leaves at most the one
message in flight to go again; it carries the same Message-ID, which mail programs use to show
it once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Engine, select, update

from raceapp.database import lease_due, write_connection
from raceapp.models import MailDelivery, User


@dataclass
class MailJob:
    """One claimed e-mail: who it goes to, in which language, about which alert."""

    delivery_id: int
    alert_id: int
    email: str
    name: str
    language: str | None
    attempts: int


def claim(
    engine: Engine, worker_id: str, *, limit: int, now: datetime, lease_seconds: int
) -> list[MailJob]:
    """Lease up to `limit` due e-mails, oldest first."""
    M = MailDelivery
    until = now + timedelta(seconds=lease_seconds)
    with write_connection(engine) as conn:
        ids = lease_due(
            conn, M, M.next_attempt_at, worker=worker_id, now=now, until=until, limit=limit
        )
        if not ids:
            return []
        rows = conn.execute(
            select(M.id, M.alert_id, User.email, User.name, User.language, M.attempts)
            .join(User, User.id == M.user_id)
            .where(M.id.in_(ids))
            .order_by(M.id)
        ).all()
    return [MailJob(*row) for row in rows]


def renew(
    engine: Engine, worker_id: str, delivery_ids: list[int], *, now: datetime, lease_seconds: int
) -> None:
    """Keep the rows this worker still holds for another lease (a long batch)."""
    if delivery_ids:
        M = MailDelivery
        with write_connection(engine) as conn:
            conn.execute(
                update(M)
                .where(M.id.in_(delivery_ids), M.claimed_by == worker_id, M.status == "pending")
                .values(lease_until=now + timedelta(seconds=lease_seconds))
            )


def record(
    engine: Engine,
    delivery_id: int,
    result: str,
    *,
    now: datetime,
    code: int | None = None,
    error: str | None = None,
    retry_at: datetime | None = None,
    worker: str | None = None,
) -> None:
    """Write down one e-mail's result: "sent", "failed", or "retry" at `retry_at` (only while
    the row is still leased, by `worker` when given: a correction re-queues it)."""
    M = MailDelivery
    values: dict = {"last_status": code, "last_error": (error or "")[:300] or None}
    values["lease_until"] = None
    if result == "sent":
        values.update(status="sent", sent_at=now, last_error=None)
    elif result == "retry":
        values["next_attempt_at"] = retry_at or now
    else:
        values["status"] = "failed"
    with write_connection(engine) as conn:
        held: ColumnElement[bool] = M.lease_until.is_not(None)
        if worker is not None:
            held = held & (M.claimed_by == worker)
        conn.execute(
            update(M).where(M.id == delivery_id, M.status == "pending", held).values(values)
        )
