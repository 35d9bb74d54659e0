"""Waking this process's delivery workers after a request queued alerts (other processes find
the rows by polling)."""

from __future__ import annotations

from flask import current_app

from raceapp.mail import worker as mail_worker
from raceapp.push import worker as push_worker


def wake_senders() -> None:
    """Tell the push and mail workers of this process that deliveries are queued."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    push_worker.wake(app)
    mail_worker.wake(app)
