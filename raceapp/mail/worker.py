"""The mail worker: claim due alert e-mails, send them over one SMTP connection per batch at
the configured rate, and write each result down as soon as the server has answered; and send
the reminders that are due (raceapp.mail.reminders).

It runs in a thread of each app process (MAIL_WORKER=inline) or as `flask mail worker`
processes (MAIL_WORKER=off in the app); any number may share one PostgreSQL database.
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

from flask import Flask, url_for
from flask_mailman import EmailMultiAlternatives

from raceapp import clock, localized
from raceapp.extensions import db, mailman
from raceapp.mail import outbox, reminders, sending
from raceapp.mail.outbox import MailJob
from raceapp.push.outbox import AlertText, alert_texts, backoff
from raceapp.push.worker import worker_id
from raceapp.vocabulary import is_urgent

log = logging.getLogger(__name__)


def compose_alert(text: AlertText) -> EmailMultiAlternatives:
    """The e-mail of one alert in one language, addressed to nobody yet: every runner who reads
    that language gets the same words (a request context with the public address must be
    active, for the link)."""
    urgent = is_urgent(text.kind, text.audience_kind)
    message = sending.compose(
        "alert",
        "",
        language=text.language,
        race=text.event_name
        if not text.category_name
        else f"{text.event_name} · {text.category_name}",
        kind=text.kind,
        urgent=urgent,
        title=text.title,
        body=text.body,
        summary=localized.pick(text.outcome.get("summary"), text.language),
        link=url_for("alerts.show", alert_id=text.alert_id, _external=True),
        settings_link=url_for("account.settings", _external=True),
    )
    if urgent:
        message.extra_headers["Importance"] = "high"
    return message


def addressed(template: EmailMultiAlternatives, job: MailJob, *, host: str, revision: int = 0):
    """A copy of an alert's e-mail for one runner, with a Message-ID that stays the same
    whenever it is sent, so a repeat after a crash shows once; a correction or withdrawal
    (a later revision) is a new message."""
    revised = f"r{revision}" if revision else ""
    message = EmailMultiAlternatives(
        template.subject,
        template.body,
        to=[job.email],
        headers={
            **template.extra_headers,
            "Message-ID": f"<alert-{job.alert_id}{revised}.{job.delivery_id}@{host}>",
        },
        alternatives=template.alternatives,
    )
    return message


def run_once(app: Flask, *, worker: str | None = None) -> int:
    """Claim one batch of due e-mails and send it; returns how many were claimed."""
    cfg = app.config
    worker = worker or worker_id()
    now = clock.real_utcnow()
    lease = cfg["MAIL_LEASE_SECONDS"]
    jobs = outbox.claim(db.engine, worker, limit=cfg["MAIL_BATCH"], now=now, lease_seconds=lease)
    if not jobs:
        return 0
    with db.engine.connect() as conn:
        texts = alert_texts(conn, {(job.alert_id, job.language) for job in jobs})
    host = urlsplit(cfg["PUBLIC_URL"]).hostname or "raceapp"
    # Each alert's e-mail is rendered once per language; the copies differ in their address.
    with app.test_request_context("/", base_url=cfg["PUBLIC_URL"]):
        rendered = {key: compose_alert(text) for key, text in texts.items()}
    messages = [
        (
            job,
            addressed(
                rendered[job.alert_id, job.language],
                job,
                host=host,
                revision=texts[job.alert_id, job.language].revision,
            ),
        )
        for job in jobs
    ]
    # Several connections at once, each sending its share in turn (the rate is shared).
    lanes = max(1, min(cfg["MAIL_CONNECTIONS"], len(messages)))
    shares = [messages[lane::lanes] for lane in range(lanes)]
    if lanes == 1:
        _send_share(app, worker, shares[0], lanes)
    else:
        with ThreadPoolExecutor(max_workers=lanes, thread_name_prefix="mail-lane") as pool:
            list(pool.map(lambda share: _send_share(app, worker, share, lanes), shares))
    return len(jobs)


def _send_share(app: Flask, worker: str, share: list, lanes: int) -> None:
    """Send one share of a batch over one SMTP connection, writing each result as it comes."""
    cfg = app.config
    lease, rate = cfg["MAIL_LEASE_SECONDS"], cfg["MAIL_RATE_PER_SECOND"] / lanes
    renew_at = time.monotonic() + lease / 3
    connection = None
    with app.app_context():
        try:
            for index, (job, message) in enumerate(share):
                started = time.monotonic()
                if started > renew_at:  # a long batch keeps its rows (its heartbeat)
                    rest = [j.delivery_id for j, _ in share[index:]]
                    outbox.renew(
                        db.engine, worker, rest, now=clock.real_utcnow(), lease_seconds=lease
                    )
                    renew_at = started + lease / 3
                try:
                    if connection is None:
                        connection = mailman.get_connection()
                        connection.open()
                    connection.send_messages([message])
                except (smtplib.SMTPException, OSError) as error:
                    if not isinstance(error, smtplib.SMTPResponseException) or isinstance(
                        error, smtplib.SMTPServerDisconnected
                    ):
                        # No answer, or a dropped line: the next message opens a new one.
                        _close(connection)
                        connection = None
                    _record_failure(app, job, error, worker)
                else:
                    outbox.record(
                        db.engine, job.delivery_id, "sent", now=clock.real_utcnow(), worker=worker
                    )
                if rate:
                    time.sleep(max(0.0, 1 / rate - (time.monotonic() - started)))
        finally:
            _close(connection)
            db.session.remove()


def _record_failure(app: Flask, job: MailJob, error: Exception, worker: str) -> None:
    code = getattr(error, "smtp_code", None)
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        code = next(iter(error.recipients.values()))[0]
    now = clock.real_utcnow()
    retry = sending.is_temporary(error) and job.attempts < app.config["MAIL_MAX_ATTEMPTS"]
    if not retry:
        log.warning("alert e-mail %s to %s failed: %s", job.delivery_id, job.email, error)
    outbox.record(
        db.engine,
        job.delivery_id,
        "retry" if retry else "failed",
        now=now,
        code=code,
        error=str(error),
        retry_at=backoff(job.attempts, None, now) if retry else None,
        worker=worker,
    )


def _close(connection) -> None:
    if connection is not None:
        with contextlib.suppress(smtplib.SMTPException, OSError):
            connection.close()


def drain(app: Flask) -> int:
    """Send everything due now, e-mails and reminders, batch after batch (tests,
    `flask mail worker --once`)."""
    total = 0
    worker = worker_id()
    with app.app_context():
        while claimed := run_once(app, worker=worker) + reminders.run_once(app, worker=worker):
            total += claimed
    return total


def _wake_event(app: Flask) -> threading.Event:
    return app.extensions.setdefault("raceapp.mail_wake", threading.Event())


def wake(app: Flask) -> None:
    """Tell this process's mail worker that e-mails are queued (others find them by polling)."""
    _wake_event(app).set()


def run(app: Flask, *, stop: threading.Event) -> None:
    """Send until `stop` is set, polling every MAIL_POLL_SECONDS (or when woken)."""
    wake_up = _wake_event(app)
    worker = worker_id()
    with app.app_context():
        while not stop.is_set():
            try:
                claimed = run_once(app, worker=worker) + reminders.run_once(app, worker=worker)
            except Exception:  # never let the loop die; log and carry on
                log.exception("mail worker batch failed")
                claimed = 0
            finally:
                db.session.remove()
            if not claimed:
                wake_up.wait(app.config["MAIL_POLL_SECONDS"])
                wake_up.clear()


def start_inline(app: Flask) -> threading.Thread | None:
    """Start this process's mail thread once, if the app is set up for it."""
    if app.config["MAIL_WORKER"] != "inline":
        return None
    thread = app.extensions.get("raceapp.mail_thread")
    if thread is not None and thread.is_alive():
        return thread
    lock = app.extensions.setdefault("raceapp.mail_lock", threading.Lock())
    with lock:
        thread = app.extensions.get("raceapp.mail_thread")
        if thread is None or not thread.is_alive():
            thread = threading.Thread(
                target=run,
                args=(app,),
                kwargs={"stop": threading.Event()},
                daemon=True,
                name="mail-worker",
            )
            app.extensions["raceapp.mail_thread"] = thread
            thread.start()
    return thread
