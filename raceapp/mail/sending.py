"""Composing and sending the account e-mails (sign-up, password reset): multipart text and
HTML from `templates/email/`, in the recipient's language, sent through Flask-Mailman.

Sending waits for nobody: with MAIL_SEND_AFTER_RESPONSE (the default) a small pool of threads
sends after the answer, so whether an address has an account cannot be read from how long
the answer took. A temporary SMTP failure (4xx, a dropped or refused connection, a timeout) is
retried with backoff; a permanent one (5xx) is logged and not retried.
"""

from __future__ import annotations

import contextlib
import smtplib
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from threading import Lock

from flask import Flask, current_app, render_template
from flask_babel import gettext as _
from flask_mailman import EmailMultiAlternatives
from jinja2_fragments.flask import render_block

from raceapp.errors import DomainError
from raceapp.extensions import mailman
from raceapp.i18n import speaking

# Seconds to wait before the second and third tries after a temporary failure.
RETRY_DELAYS = (2.0, 10.0)
_pool: ThreadPoolExecutor | None = None
_pool_lock = Lock()


class MailNotSent(DomainError):
    status = 503


def compose(template: str, to: str, *, language: str, **context) -> EmailMultiAlternatives:
    """The message `email/<template>.txt` and `.html` make for `to`, in `language`; the subject
    is the HTML template's `subject` block."""
    with speaking(language) as language:
        subject = " ".join(
            render_block(f"email/{template}.html", "subject", language=language, **context).split()
        )
        text = render_template(f"email/{template}.txt", language=language, **context)
        html = render_template(f"email/{template}.html", language=language, **context)
    headers = {"Content-Language": language, "Auto-Submitted": "auto-generated"}
    message = EmailMultiAlternatives(subject, text, to=[to], headers=headers)
    message.attach_alternative(html, "text/html")
    return message


def is_temporary(error: Exception) -> bool:
    """Whether trying again later may work: a 4xx answer, or no answer at all."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _msg in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return 400 <= error.smtp_code < 500
    return isinstance(error, (smtplib.SMTPServerDisconnected, OSError))


def deliver(
    message: EmailMultiAlternatives, *, sleep: Callable[[float], None] = time.sleep
) -> bool:
    """Send now, retrying temporary failures; True once the server took it."""
    delays = iter(RETRY_DELAYS)
    while True:
        try:
            message.send()
            return True
        except (smtplib.SMTPException, OSError) as error:
            delay = next(delays, None) if is_temporary(error) else None
            if delay is None:
                current_app.logger.error(
                    "mail to %s not sent: %s", ", ".join(message.recipients()), error
                )
                return False
            current_app.logger.warning("mail: %s; trying again in %.0f s", error, delay)
            sleep(delay)


def _deliver_in_background(app: Flask, message: EmailMultiAlternatives) -> None:
    with app.app_context():
        try:
            deliver(message)
        except Exception:  # a thread of ours must never die silently
            app.logger.exception("mail to %s failed", ", ".join(message.recipients()))


def _threads() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:  # made in the process that sends (gunicorn forks before requests)
            _pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="mail")
        return _pool


def _deliver_batch(messages: list[EmailMultiAlternatives]) -> int:
    """Send over one SMTP connection; a message that fails there is sent on its own, with
    the retries of `deliver`. The number that could not be sent."""
    failed, connection = 0, None
    try:
        for message in messages:
            try:
                if connection is None:
                    connection = mailman.get_connection()
                    connection.open()
                connection.send_messages([message])
            except (smtplib.SMTPException, OSError):
                _close_quietly(connection)
                connection = None
                message.connection = None
                failed += 0 if deliver(message) else 1
    finally:
        _close_quietly(connection)
    return failed


def _close_quietly(connection) -> None:
    if connection is not None:
        with contextlib.suppress(smtplib.SMTPException, OSError):
            connection.close()


def _batch_in_background(app: Flask, messages: list[EmailMultiAlternatives]) -> None:
    with app.app_context():
        try:
            _deliver_batch(messages)
        except Exception:  # a thread of ours must never die silently
            app.logger.exception("a batch of %d e-mails failed", len(messages))


def send_batch(messages: list[EmailMultiAlternatives]) -> None:
    """Send many messages (claim codes to an entry list) over one connection, after the
    answer or now, like `send`."""
    for message in messages:
        message.connection = None
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if app.config["MAIL_SEND_AFTER_RESPONSE"]:
        _threads().submit(_batch_in_background, app, messages)
    elif _deliver_batch(messages):
        raise MailNotSent(_("We could not send the e-mail just now. Try again in a few minutes."))


def send(message: EmailMultiAlternatives) -> None:
    """Send after the answer (MAIL_SEND_AFTER_RESPONSE) or now; when sending now fails for good,
    raise MailNotSent, which the page shows as "try again in a few minutes"."""
    message.connection = None  # each delivery opens its own, in the thread that sends
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if app.config["MAIL_SEND_AFTER_RESPONSE"]:
        _threads().submit(_deliver_in_background, app, message)
    elif not deliver(message):
        raise MailNotSent(_("We could not send the e-mail just now. Try again in a few minutes."))
