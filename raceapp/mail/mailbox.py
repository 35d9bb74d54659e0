"""The mail backend for a machine without an SMTP server (the local demo, development): each
message goes into a Maildir in the instance folder, one file per message, and a line in the
log. The demo's /dev/mail page reads them back."""

from __future__ import annotations

import mailbox
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parsedate_to_datetime
from pathlib import Path

from flask import current_app
from flask_mailman.backends.base import BaseEmailBackend

# The MAIL_BACKEND setting that names this module.
MAILBOX_BACKEND = "raceapp.mail.mailbox"


class EmailBackend(BaseEmailBackend):
    """Flask-Mailman backend: messages into a Maildir at MAIL_FILE_PATH."""

    def __init__(self, *args, file_path: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.path = file_path or self.mailman.file_path

    def send_messages(self, email_messages) -> int:
        box = mailbox.Maildir(self.path, create=True)
        sent = 0
        for message in email_messages:
            key = box.add(message.message().as_bytes())
            current_app.logger.info(
                "mail not sent (no MAIL_SERVER), kept as %s: to %s, %r",
                key,
                ", ".join(message.recipients()),
                message.subject,
            )
            sent += 1
        return sent


@dataclass(frozen=True)
class StoredMail:
    key: str
    to: str
    subject: str
    sent_at: datetime | None
    text: str
    html: str


def _stored(key: str, parsed: EmailMessage) -> StoredMail:
    text = parsed.get_body(preferencelist=("plain",))
    html = parsed.get_body(preferencelist=("html",))
    date = parsed["Date"]
    return StoredMail(
        key=key,
        to=str(parsed["To"] or ""),
        subject=str(parsed["Subject"] or ""),
        sent_at=parsedate_to_datetime(date) if date else None,
        text=text.get_content() if text is not None else "",
        html=html.get_content() if html is not None else "",
    )


def stored_mail(path: str, *, limit: int = 100) -> list[StoredMail]:
    """The messages kept in the mailbox, newest first."""
    if not Path(path, "cur").is_dir() and not Path(path, "new").is_dir():
        return []
    box = mailbox.Maildir(path, factory=None, create=False)
    parser = BytesParser(policy=policy.default)
    found = []
    for key in box.iterkeys():
        with box.get_file(key) as raw:
            found.append(_stored(key, parser.parse(raw)))  # type: ignore[arg-type]
    found.sort(key=lambda m: m.sent_at or datetime.min.astimezone(), reverse=True)
    return found[:limit]


def one_stored_mail(path: str, key: str) -> StoredMail | None:
    """One kept message, or None when there is no such key."""
    box = mailbox.Maildir(path, factory=None, create=False)
    try:
        with box.get_file(key) as raw:
            parsed = BytesParser(policy=policy.default).parse(raw)  # type: ignore[arg-type]
    except (KeyError, FileNotFoundError):
        return None
    return _stored(key, parsed)
