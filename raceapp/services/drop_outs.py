"""A runner who stops tells headquarters: where, how they get back, optionally where their
phone found them. Reports are made on the phone, perhaps with no signal, and sent later: each
carries the moment it was made and a key, so a report sent twice is one report."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from raceapp.database import write_transaction
from raceapp.errors import Conflict, DomainError, NotFound
from raceapp.extensions import db
from raceapp.i18n import text_of
from raceapp.models import Checkpoint, DropOut, Entry, Event, User
from raceapp.services import audit
from raceapp.vocabulary import GETTING_BACK

KEY = re.compile(r"[A-Za-z0-9-]{8,64}")
NOTE_MAX = 1000
# A report made on the phone is trusted to have been made up to this long ago (a week with no
# signal is not a race); a clock ahead of the server's counts as now.
OLDEST_REPORT = timedelta(days=7)


def of_entry(entry: Entry) -> DropOut | None:
    return db.session.scalar(select(DropOut).where(DropOut.entry_id == entry.id))


def _number(raw: str, low: float, high: float) -> float | None:
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if low <= value <= high else None


def report(
    entry: Entry,
    *,
    key: str,
    made_at: datetime | None,
    checkpoint_id: str,
    getting_back: str,
    note: str,
    position: tuple[str, str, str] | None,
    position_at: datetime | None = None,
    now: datetime,
) -> DropOut:
    """Record (or correct) that the runner stopped; the same key again changes nothing, and
    a report made before the one headquarters has (a late copy from the phone) neither."""
    if entry.bib is None:
        # Anyone may follow an open race; only a listed runner's report can send people out.
        raise Conflict(
            _("Only runners on the entry list can report here: call headquarters instead.")
        )
    if not KEY.fullmatch(key):
        raise DomainError(_("The report was incomplete. Send it again from the Help page."))
    if getting_back not in GETTING_BACK:
        raise DomainError(_("Choose how you are getting back."))
    note = note.strip()
    if len(note) > NOTE_MAX:
        raise DomainError(_("The note is too long: at most 1,000 characters."))
    checkpoint = None
    if checkpoint_id:
        checkpoint = db.session.scalar(
            select(Checkpoint).where(
                Checkpoint.id
                == (
                    int(checkpoint_id)
                    if checkpoint_id.isdecimal() and len(checkpoint_id) <= 9
                    else -1
                ),
                Checkpoint.category_id == entry.category_id,
            )
        )
        if checkpoint is None:
            raise DomainError(_("Choose one of your course's checkpoints, or none."))
    latitude = longitude = accuracy = None
    if position is not None:
        latitude, longitude = _number(position[0], -90, 90), _number(position[1], -180, 180)
        accuracy = _number(position[2], 0, 100_000)
        if latitude is None or longitude is None:
            raise DomainError(_("The position was not readable: send the report without it."))
    reported = now if made_at is None or made_at > now else max(made_at, now - OLDEST_REPORT)
    place = text_of(checkpoint) if checkpoint else None
    entry_id, event_id, user_id = entry.id, entry.event_id, entry.user_id
    try:
        with write_transaction():
            row = db.session.scalar(
                select(DropOut).where(DropOut.entry_id == entry_id).with_for_update()
            )
            if row is not None and (row.client_key == key or reported < row.reported_at):
                return row  # sent twice, or an older copy arriving after a correction
            if row is None:
                row = DropOut(entry_id=entry_id, event_id=event_id, received_at=now)
            elif row.accounted_at is not None:
                raise Conflict(
                    _("Headquarters already has your report. Call them to change anything.")
                )
            row.user_id, row.client_key, row.reported_at = user_id, key, reported
            row.checkpoint_id = checkpoint.id if checkpoint else None
            row.place = place
            row.getting_back, row.note = getting_back, note or None
            row.latitude, row.longitude, row.accuracy_m = latitude, longitude, accuracy
            row.position_at = (
                min(position_at, now) if latitude is not None and position_at else None
            )
            db.session.add(row)
    except IntegrityError:
        # The same key for another entry, or two sends at once: the first one stands.
        raise Conflict(_("This report was already received.")) from None
    return row


def for_event(event: Event) -> list[DropOut]:
    """Every drop-out of the event, the ones still to account for first, newest first."""
    return list(
        db.session.scalars(
            select(DropOut)
            .where(DropOut.event_id == event.id)
            .options(selectinload(DropOut.entry).selectinload(Entry.category))
            .order_by(DropOut.accounted_at.is_not(None), DropOut.reported_at.desc())
        )
    )


def account_for(event: Event, by: User, drop_out_id: int, *, now: datetime) -> DropOut:
    """Headquarters knows where this runner is and how they get back."""
    with write_transaction():
        row = db.session.scalar(
            select(DropOut)
            .where(DropOut.id == drop_out_id, DropOut.event_id == event.id)
            .with_for_update()
        )
        if row is None:
            raise NotFound(_("This race has no such drop-out."))
        if row.accounted_at is None:
            row.accounted_at, row.accounted_by_id = now, by.id
            audit.record(
                event, by, "drop_out.accounted", now=now, bib=row.entry.bib or row.entry.name or "—"
            )
    return row
