"""The event's audit log: every change made on the organizer's console, who made it and when."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from raceapp.extensions import db
from raceapp.models import AuditRecord, Event, User
from raceapp.vocabulary import ALERT_KINDS, TEAM_ROLES

# Each action's sentence; `details` fills it. Shown in the reader's language.
ACTIONS = {
    "race_file.published": _l("Published race file version %(number)s (%(file)s)"),
    "race_file.restored": _l("Restored race file version %(restored)s as version %(number)s"),
    "course.uploaded": _l("Uploaded the course track of %(category)s (%(file)s, %(km)s km)"),
    "course.removed": _l("Removed the course track of %(category)s"),
    "entries.imported": _l(
        "Imported the entry list %(file)s: %(added)s added, %(updated)s updated"
    ),
    "entry.corrected": _l("Corrected the entry of bib %(bib)s"),
    "entry.moved": _l("Moved bib %(bib)s from %(from)s to %(to)s"),
    "entry.withdrawn": _l("Withdrew bib %(bib)s"),
    "entry.reinstated": _l("Reinstated bib %(bib)s"),
    "entry.code_sent": _l("Claim codes e-mailed: %(count)s"),
    "drop_out.accounted": _l("Marked bib %(bib)s, who dropped out, as accounted for"),
    "alert.posted": _l("Posted the alert “%(title)s” (%(kind)s)"),
    "alert.edited": _l("Corrected the alert “%(title)s”"),
    "alert.retracted": _l("Withdrew the alert “%(title)s”"),
    "entry.codes_made": _l("Made claim codes for entries that had none: %(count)s"),
    "team.invited": _l("Invited %(email)s as %(role)s"),
    "team.joined": _l("%(email)s joined the team as %(role)s"),
    "team.revoked": _l("Removed %(email)s from the team"),
    "team.invitation_revoked": _l("Cancelled the invitation of %(email)s"),
}


def record(event: Event, user: User | None, action: str, *, now: datetime, **details: Any) -> None:
    """Add one line to the event's log, in the caller's transaction."""
    assert action in ACTIONS, action
    db.session.add(
        AuditRecord(
            event_id=event.id,
            user_id=user.id if user is not None else None,
            # Empty: the command line (pages say so in the reader's language).
            actor=user.email if user is not None else "",
            at=now,
            action=action,
            details={key: str(value) for key, value in details.items()},
        )
    )


def sentence(row: AuditRecord) -> str:
    """What a log line says, in the reader's language."""
    template = ACTIONS.get(row.action)
    if template is None:
        return row.action
    details = dict(row.details)
    # Codes kept in the log read as words in the reader's language.
    if details.get("role") in TEAM_ROLES:
        details["role"] = str(TEAM_ROLES[details["role"]])
    if details.get("kind") in ALERT_KINDS:
        details["kind"] = str(ALERT_KINDS[details["kind"]].label)
    try:
        return str(template) % details
    except (KeyError, TypeError, ValueError):
        return str(template)


def latest(event: Event, limit: int = 200) -> list[AuditRecord]:
    """The event's log, newest first."""
    return list(
        db.session.scalars(
            select(AuditRecord)
            .where(AuditRecord.event_id == event.id)
            .order_by(AuditRecord.at.desc(), AuditRecord.id.desc())
            .limit(limit)
        )
    )
