"""Sending reminders: claim the due rows of the reminder outbox, check each against the race
as it stands (raceapp.services.reminders), then send the evening reminder by e-mail and push
and a bus reminder by push. Drained by the mail worker, with the same leases as the other
outboxes; a reminder sent twice after a crash keeps its Message-ID and its push Topic.
"""

from __future__ import annotations

import asyncio
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from flask import Flask, url_for
from jinja2_fragments.flask import render_block
from sqlalchemy import delete, select, update

from raceapp import clock
from raceapp.database import lease_due, write_connection
from raceapp.extensions import db
from raceapp.i18n import speaking, text_of
from raceapp.mail import sending
from raceapp.models import Booking, PushSubscription, Reminder, User
from raceapp.push.message import AlertMessage
from raceapp.push.outbox import Job
from raceapp.push.sender import Sender
from raceapp.push.vapid import vapid_for
from raceapp.services import kit, reminders
from raceapp.vocabulary import EVE

log = logging.getLogger(__name__)
BATCH = 50


def claim(worker: str, *, now: datetime, lease_seconds: int) -> list[int]:
    """Lease due reminders (the same rule as the push and mail outboxes)."""
    until = now + timedelta(seconds=lease_seconds)
    with write_connection(db.engine) as conn:
        return lease_due(
            conn, Reminder, Reminder.due_at, worker=worker, now=now, until=until, limit=BATCH
        )


def _finish(reminder_id: int, **values) -> None:
    with write_connection(db.engine) as conn:
        conn.execute(
            update(Reminder)
            .where(Reminder.id == reminder_id, Reminder.status == "pending")
            .values(lease_until=None, **values)
        )


def _context(reminder: Reminder, user: User, now: datetime) -> dict | None:
    """What the reminder says: the runner's race, start, seat, unticked gear, alerts."""
    choices = kit.runner_races(user, now)
    choice = next((c for c in choices if c.entry.event_id == reminder.event_id), None)
    if choice is None:
        return None
    home = kit.home(user, choice, choices, now=now)
    unticked = [row.item for row in home.checklist.mandatory if not row.packed]
    return {
        "name": user.name,
        "event": home.event,
        "entry": home.entry,
        "state": home.state,
        "booking": home.booking,
        "unticked": unticked,
        "alerts": [item.alert for item in home.alerts.feed][:5],
        "link": url_for("kit.home", _external=True),
        "settings_link": url_for("account.settings", _external=True),
    }


def _push_message(reminder: Reminder, template: str, context: dict, language: str) -> AlertMessage:
    title = " ".join(render_block(template, "push_title", **context).split())
    body = render_block(template, "push_body", **context).strip()
    payload = {
        "kind": "reminder",
        "lang": language,
        "title": title,
        "body": body,
        "url": "/me",
        "tag": f"reminder-{reminder.id}",
        "urgent": False,
        "refresh": False,
        "at": reminder.due_at.isoformat().replace("+00:00", "Z"),
    }
    data = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    # A reminder is worth nothing once its moment has passed: a short time to live.
    ttl = 6 * 3600 if reminder.kind == EVE else 30 * 60
    return AlertMessage(
        0, data, ttl, "normal" if reminder.kind == EVE else "high", f"reminder-{reminder.id}"
    )


async def _push_all(
    app: Flask, message: AlertMessage, devices: list[PushSubscription]
) -> list[int]:
    """Send to each device; returns the ids of subscriptions the push service says are gone."""
    vapid = vapid_for(app)
    if vapid is None or not devices:
        return []
    now = clock.real_utcnow()
    async with Sender(vapid, timeout=app.config["PUSH_TIMEOUT_SECONDS"]) as sender:
        outcomes = await asyncio.gather(
            *(
                sender.send(
                    Job(
                        0,
                        d.id,
                        d.endpoint,
                        d.p256dh,
                        d.auth,
                        1,
                        now + timedelta(minutes=1),
                        message,
                    ),
                    now,
                )
                for d in devices
            )
        )
    return [o.subscription_id for o in outcomes if o.result == "gone" and o.subscription_id]


def _run(make_coroutine):
    """Run a coroutine to the end from plain code, also where this thread already runs an
    event loop (then in a thread of its own, as push.worker.drain does)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make_coroutine())
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(make_coroutine())).result()


def send_one(app: Flask, reminder_id: int) -> str:
    """Check one claimed reminder and send it; returns what became of it."""
    now = clock.real_utcnow()
    reminder = db.session.get(Reminder, reminder_id)
    if reminder is None:
        return "gone"
    verdict = reminders.verdict(reminder, now=now)
    if verdict.action == "cancel":
        _finish(reminder_id, status="cancelled", last_error=verdict.reason)
        return "cancelled"
    if verdict.action == "later":
        _finish(reminder_id, due_at=verdict.due)
        return "later"
    user = db.session.get(User, reminder.user_id)
    assert user is not None
    context = _context(reminder, user, now)
    if context is None:
        _finish(reminder_id, status="cancelled", last_error="no longer entered")
        return "cancelled"
    if reminder.kind != EVE:  # this bus, not the runner's next one
        context["booking"] = db.session.get(Booking, reminder.booking_id)
    host = urlsplit(app.config["PUBLIC_URL"]).hostname or "raceapp"
    template = "email/reminder_eve.html" if reminder.kind == EVE else "email/reminder_bus.html"
    with speaking(user.language or context["event"].language) as language:
        context["race"] = f"{text_of(context['event'])} · {text_of(context['entry'].category)}"
        message = _push_message(reminder, template, context, language)
        mail = None
        if reminder.kind == EVE and user.email_verified_at is not None:
            mail = sending.compose("reminder_eve", user.email, language=language, **context)
            mail.extra_headers["Message-ID"] = f"<reminder-{reminder.id}@{host}>"
    devices = list(
        db.session.scalars(select(PushSubscription).where(PushSubscription.user_id == user.id))
    )
    gone = _run(lambda: _push_all(app, message, devices))
    if gone:
        with write_connection(db.engine) as conn:
            conn.execute(delete(PushSubscription).where(PushSubscription.id.in_(gone)))
    if mail is not None and not sending.deliver(mail):
        _finish(reminder_id, status="failed", last_error="the mail server refused it")
        return "failed"
    _finish(reminder_id, status="sent", sent_at=clock.real_utcnow())
    return "sent"


def run_once(app: Flask, *, worker: str) -> int:
    """Claim and send one batch of due reminders; returns how many were claimed."""
    ids = claim(worker, now=clock.real_utcnow(), lease_seconds=app.config["MAIL_LEASE_SECONDS"])
    if not ids:
        return 0
    with app.test_request_context("/", base_url=app.config["PUBLIC_URL"]):
        for reminder_id in ids:
            try:
                send_one(app, reminder_id)
            except Exception:  # one bad reminder must not hold up the others
                log.exception("reminder %s failed", reminder_id)
                _finish(reminder_id, status="failed", last_error="could not be made")
            finally:
                db.session.rollback()
    return len(ids)
