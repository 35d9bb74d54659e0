"""The delivery outbox in the database: claiming due rows and recording what happened.

Several workers, on several machines, drain it together. A claim marks rows with a lease in one
short transaction; on PostgreSQL `FOR UPDATE SKIP LOCKED` lets concurrent claims take different
rows without waiting, on SQLite the claim holds the write lock (BEGIN IMMEDIATE). A worker that
dies leaves its rows leased; once the lease ends another worker takes them, so nothing is lost.
Results are written back in small batches as they come in, which keeps the window in which a
sent message could be sent again (sent, but the worker died before writing it down) short;
the Topic header and the notification tag make such a repeat replace the first on the phone.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, Connection, Engine, bindparam, case, delete, select, update

from raceapp import localized
from raceapp.database import lease_due, write_connection
from raceapp.i18n import DEFAULT_LANGUAGE, known, speaking
from raceapp.models import Alert, Category, Delivery, Event, PushSubscription
from raceapp.push import message
from raceapp.push.message import AlertMessage

BACKOFF_FIRST_SECONDS = 10
BACKOFF_MAX_SECONDS = 30 * 60
RETRY_AFTER_MAX_SECONDS = 6 * 3600


@dataclass
class Job:
    """One claimed delivery, ready to encrypt and send."""

    delivery_id: int
    subscription_id: int
    endpoint: str
    p256dh: str
    auth: str
    attempts: int
    lease_until: datetime
    message: AlertMessage


@dataclass
class Outcome:
    """What became of one delivery attempt: sent, retry (at retry_at), wait (not sent: the push
    service asked for a pause; not counted as an attempt), failed or gone."""

    delivery_id: int
    result: str
    status: int | None = None
    error: str | None = None
    retry_at: datetime | None = None
    subscription_id: int | None = None
    attempts: int = 0


def claim(
    engine: Engine, worker_id: str, *, limit: int, now: datetime, lease_seconds: int
) -> tuple[list[Job], list[Outcome]]:
    """Lease up to `limit` due deliveries. Returns jobs to send, and outcomes for rows that
    need no sending (device gone, or the message outlived its TTL)."""
    D = Delivery
    lease_until = now + timedelta(seconds=lease_seconds)
    with write_connection(engine) as conn:
        ids = lease_due(
            conn, D, D.next_attempt_at, worker=worker_id, now=now, until=lease_until, limit=limit
        )
        if not ids:
            return [], []
        rows = conn.execute(
            select(
                D.id,
                D.alert_id,
                D.attempts,
                PushSubscription.id,
                PushSubscription.endpoint,
                PushSubscription.p256dh,
                PushSubscription.auth,
                PushSubscription.language,
            )
            .outerjoin(PushSubscription, PushSubscription.id == D.subscription_id)
            .where(D.id.in_(ids))
            .order_by(D.id)
        ).all()
        messages = messages_for(conn, {(row[1], row[7]) for row in rows})
    jobs, outcomes = [], []
    for delivery_id, alert_id, attempts, sub_id, endpoint, p256dh, auth, language in rows:
        msg, created_at = messages[alert_id, language]
        if sub_id is None:
            outcomes.append(Outcome(delivery_id, "gone", error="device signed out"))
        elif now > created_at + timedelta(seconds=msg.ttl):
            outcomes.append(Outcome(delivery_id, "failed", error="expired before delivery"))
        else:
            jobs.append(
                Job(delivery_id, sub_id, endpoint, p256dh, auth, attempts, lease_until, msg)
            )
    return jobs, outcomes


@dataclass(frozen=True)
class AlertText:
    """An alert as one reader reads it: every text in their language (push and e-mail)."""

    alert_id: int
    kind: str
    language: str
    title: str
    body: str
    event_name: str
    category_name: str | None
    event_id: int
    category_id: int | None
    created_at: datetime
    outcome: dict
    revision: int = 0
    withdrawn: bool = False
    audience_kind: str | None = None
    # When this revision went out: a correction's time to live counts from it.
    sent_at: datetime | None = None


def alert_texts(
    conn: Connection, wanted: set[tuple[int, str | None]]
) -> dict[tuple[int, str | None], AlertText]:
    """Each (alert, reader's language) asked for, read in that language; a reader who never
    said (subscribed before languages) reads the race's language."""
    rows = conn.execute(
        select(
            Alert.id,
            Alert.kind,
            Alert.title,
            Alert.body,
            Alert.texts,
            Alert.event_id,
            Alert.category_id,
            Alert.created_at,
            Alert.outcome,
            Event.name,
            Event.texts,
            Event.language,
            Category.name,
            Category.texts,
            Alert.revision,
            Alert.revised_at,
            Alert.retracted_at,
            Alert.audience_kind,
        )
        .join(Event, Event.id == Alert.event_id)
        .outerjoin(Category, Category.id == Alert.category_id)
        .where(Alert.id.in_({alert_id for alert_id, _ in wanted}))
    ).all()
    alerts = {row.id: row for row in rows}
    found = {}
    for alert_id, reader_language in wanted:
        a = alerts[alert_id]
        texts, event_texts, category_texts = a[4] or {}, a[10] or {}, a[13] or {}
        language = known(reader_language) or known(a[11]) or DEFAULT_LANGUAGE

        def pick(value: object, plain: str, language: str = language) -> str:
            return localized.pick(value, language) or plain

        title, body, outcome = (
            pick(texts.get("title"), a.title),
            pick(texts.get("body"), a.body),
            a.outcome or {},
        )
        with speaking(language):
            if a.retracted_at is not None:
                # What a phone shows in place of the alert: withdrawn, why, and the race now.
                title = _("Withdrawn: %(title)s", title=title)
                body = pick(texts.get("withdrawn"), "") or _(
                    "Headquarters has withdrawn this alert: disregard it."
                )
                outcome = outcome.get("withdrawn") or {}
            elif a.revision:
                title = _("Updated: %(title)s", title=title)
        found[alert_id, reader_language] = AlertText(
            alert_id=alert_id,
            kind=a.kind,
            language=language,
            title=title,
            body=body,
            event_name=pick(event_texts.get("name"), a[9]),
            category_name=pick(category_texts.get("name"), a[12]) if a.category_id else None,
            event_id=a.event_id,
            category_id=a.category_id,
            created_at=a.created_at,
            outcome=outcome,
            revision=a.revision or 0,
            withdrawn=a.retracted_at is not None,
            audience_kind=a.audience_kind,
            sent_at=a.revised_at or a.created_at,
        )
    return found


def messages_for(
    conn: Connection, wanted: set[tuple[int, str | None]]
) -> dict[tuple[int, str | None], tuple[AlertMessage, datetime]]:
    """One message per alert and language its devices read: each runner's in their own."""
    return {
        key: (
            message.build(
                t.alert_id,
                t.kind,
                t.title,
                t.body,
                t.event_name,
                t.category_name,
                t.event_id,
                t.category_id,
                t.created_at.isoformat().replace("+00:00", "Z"),
                t.outcome,
                language=t.language,
                audience_kind=t.audience_kind,
                revision=t.revision,
            ),
            t.sent_at or t.created_at,
        )
        for key, t in alert_texts(conn, wanted).items()
    }


def backoff(attempts: int, retry_after: float | None, now: datetime) -> datetime:
    """When to try again: the push service's Retry-After if it gave one, else exponential."""
    if retry_after is not None:
        delay = min(max(retry_after, 1.0), RETRY_AFTER_MAX_SECONDS)
    else:
        delay = min(BACKOFF_FIRST_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_MAX_SECONDS)
        delay *= random.uniform(0.8, 1.2)  # spread retries so they do not come back at once
    return now + timedelta(seconds=delay)


def renew(
    engine: Engine, worker_id: str, delivery_ids: list[int], *, now: datetime, lease_seconds: int
) -> tuple[list[int], datetime]:
    """Extend this worker's leases on rows it still holds (its heartbeat): a live worker keeps
    its rows with short leases, a dead one loses them within one lease. Returns the rows still
    this worker's, and their new end."""
    if not delivery_ids:
        return [], now
    until = now + timedelta(seconds=lease_seconds)
    D = Delivery
    with write_connection(engine) as conn:
        kept = (
            conn.execute(
                update(D)
                .where(D.id.in_(delivery_ids), D.claimed_by == worker_id, D.status == "pending")
                .values(lease_until=until)
                .returning(D.id)
            )
            .scalars()
            .all()
        )
    return list(kept), until


def record(
    engine: Engine,
    outcomes: list[Outcome],
    *,
    now: datetime,
    max_attempts: int,
    worker_id: str | None = None,
) -> None:
    """Write results back; a retry past `max_attempts` becomes a failure. A "wait" (the push
    service asked for a pause, for this device or for all) is not an attempt: the row goes back
    with its attempt count as it was before it was claimed."""
    if not outcomes:
        return
    D = Delivery
    finals, retries, waits, gone_subs = [], [], [], set()
    sent: dict[int | None, list[int]] = {}  # by HTTP status: one UPDATE for each
    for o in outcomes:
        if o.result == "sent":
            sent.setdefault(o.status, []).append(o.delivery_id)
            continue
        if o.result == "wait":
            waits.append(
                {
                    "b_id": o.delivery_id,
                    "b_next": o.retry_at or now,
                    "b_status": o.status,
                    "b_error": (o.error or "")[:300],
                }
            )
            continue
        if o.result == "retry" and o.attempts < max_attempts:
            retries.append(
                {
                    "b_id": o.delivery_id,
                    "b_next": o.retry_at or now,
                    "b_status": o.status,
                    "b_error": (o.error or "")[:300],
                }
            )
            continue
        status = "failed" if o.result == "retry" else o.result
        error = o.error
        if o.result == "retry":
            error = f"gave up after {o.attempts} attempts: {o.error}"
        finals.append(
            {
                "b_id": o.delivery_id,
                "b_state": status,
                "b_status": o.status,
                "b_error": error[:300] if error else None,
            }
        )
        if o.result == "gone" and o.subscription_id is not None:
            gone_subs.add(o.subscription_id)
    # Only rows still leased, by this worker: a correction or withdrawal of the alert re-queues
    # its rows (lease cleared; another worker may claim them again), and the result of sending
    # the earlier revision must not mark them done.
    held: ColumnElement[bool] = D.lease_until.is_not(None)
    if worker_id is not None:
        held = held & (D.claimed_by == worker_id)
    with write_connection(engine) as conn:
        for http_status, ids in sent.items():
            conn.execute(
                update(D)
                .where(D.id.in_(ids), D.status == "pending", held)
                .values(
                    status="sent",
                    last_status=http_status,
                    last_error=None,
                    sent_at=now,
                    lease_until=None,
                )
            )
        # One statement per kind of result, each row with its own values (executemany).
        for rows, column, value in (
            (finals, "status", "b_state"),
            (retries, "next_attempt_at", "b_next"),
        ):
            if rows:
                conn.execute(
                    update(D)
                    .where(D.id == bindparam("b_id"), D.status == "pending", held)
                    .values(
                        {
                            column: bindparam(value),
                            "last_status": bindparam("b_status"),
                            "last_error": bindparam("b_error"),
                            "lease_until": None,
                        }
                    ),
                    rows,
                )
        if waits:
            conn.execute(
                update(D)
                .where(D.id == bindparam("b_id"), D.status == "pending", held)
                .values(
                    next_attempt_at=bindparam("b_next"),
                    last_status=bindparam("b_status"),
                    last_error=bindparam("b_error"),
                    lease_until=None,
                    attempts=case((D.attempts > 0, D.attempts - 1), else_=0),
                ),
                waits,
            )
        if gone_subs:
            # 404/410: the browser dropped this subscription; never send to it again.
            conn.execute(delete(PushSubscription).where(PushSubscription.id.in_(gone_subs)))
