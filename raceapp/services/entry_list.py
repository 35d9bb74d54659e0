"""The organizer's side of the entry list: search it, correct an entry, move it to another
category, withdraw or reinstate it, and hand out claim codes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from raceapp.database import write_transaction
from raceapp.errors import DomainError, NotFound
from raceapp.extensions import db
from raceapp.i18n import text_of
from raceapp.models import Category, Entry, Event, User
from raceapp.services import audit, claims, race_state, reminders, shuttles
from raceapp.services.accounts import EMAIL_RE, normalise_email

PAGE = 100


@dataclass
class Page:
    entries: list[Entry]
    total: int
    query: str
    number: int = 1
    per_page: int = PAGE

    @property
    def last(self) -> int:
        return max(1, 1 + (self.total - 1) // self.per_page)


def search(
    event: Event, query: str = "", *, by_email: bool, page: int = 1, per_page: int = PAGE
) -> Page:
    """Entries of the event whose bib or name (and, for those who may see e-mails, e-mail)
    contains the query, by bib, a page at a time."""
    query = query.strip()[:100]
    where = [Entry.event_id == event.id]
    if query:
        # LIKE's own wildcards in the query are searched for as they are.
        escaped = query.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        fields = [Entry.bib, Entry.name] + ([Entry.email] if by_email else [])
        where.append(or_(*(func.lower(f).like(pattern, escape="\\") for f in fields)))
    total = db.session.scalar(select(func.count()).select_from(Entry).where(*where)) or 0
    page = max(1, min(page, 1 + max(0, total - 1) // per_page))
    rows = db.session.scalars(
        select(Entry)
        .where(*where)
        .options(selectinload(Entry.category), selectinload(Entry.user))
        # Numbers sort as numbers ("9" before "10"), whatever else a bib holds.
        .order_by(func.length(Entry.bib), Entry.bib, Entry.id)
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return Page(list(rows), total, query, page, per_page)


def every_entry(event: Event) -> list[Entry]:
    """The whole entry list, by bib (numbers as numbers), for an export."""
    return list(
        db.session.scalars(
            select(Entry)
            .where(Entry.event_id == event.id)
            .options(selectinload(Entry.category), selectinload(Entry.user))
            .order_by(func.length(Entry.bib), Entry.bib, Entry.id)
        )
    )


def entry_of(event: Event, entry_id: int, *, for_update: bool = False) -> Entry:
    """An entry of this event (NotFound for any other); locked when it is about to change, so
    a runner's claim and the organizer's change take turns."""
    query = select(Entry).where(Entry.id == entry_id, Entry.event_id == event.id)
    entry = db.session.scalar(query.with_for_update() if for_update else query)
    if entry is None:
        raise NotFound(_("This race has no such entry."))
    return entry


def correct(
    event: Event,
    by: User,
    entry_id: int,
    *,
    name: str,
    email: str,
    phone: str,
    emergency_contact: str,
    category_code: str,
    now: datetime,
) -> Entry:
    """Correct an entry's details, or move it to another category (runners keep their claim)."""
    name, phone, emergency_contact = name.strip(), phone.strip(), emergency_contact.strip()
    email = normalise_email(email) if email.strip() else ""
    if not name:
        raise DomainError(_("Enter the runner's name."))
    if len(name) > 120 or len(phone) > 40 or len(emergency_contact) > 200:
        raise DomainError(_("A field is too long: shorten it."))
    if email and not EMAIL_RE.match(email):
        raise DomainError(_("Enter an e-mail address that can receive mail, or leave it empty."))
    category = db.session.scalar(
        select(Category).where(Category.event_id == event.id, Category.code == category_code)
    )
    if category is None:
        raise NotFound(_("Choose one of this event's categories."))
    with write_transaction():
        entry = entry_of(event, entry_id, for_update=True)
        moved_from = entry.category
        entry.name, entry.email = name, email or None
        entry.phone, entry.emergency_contact = phone or None, emergency_contact or None
        entry.updated_at = now
        if category.id != entry.category_id:
            entry.category_id = category.id
            db.session.flush()
            db.session.refresh(entry)
            audit.record(
                event,
                by,
                "entry.moved",
                now=now,
                bib=entry.bib,
                **{"from": text_of(moved_from), "to": text_of(category)},
            )
            if entry.user_id is not None:
                state = race_state.of_event(event, now)
                reminders.plan_eve(entry, state.category(category.code), now=now)
        else:
            audit.record(event, by, "entry.corrected", now=now, bib=entry.bib)
    return entry


def withdraw(event: Event, by: User, entry_id: int, *, now: datetime) -> Entry:
    """Withdraw an entry: the runner loses the race's kit at the next sync, their runner-only
    bus places go back, and the bib cannot be claimed until it is reinstated."""
    with write_transaction():
        entry = entry_of(event, entry_id, for_update=True)
        if entry.withdrawn_at is not None:
            return entry
        if entry.user_id is not None:
            shuttles.release_runner_places(entry.user_id, event, now=now)
        if entry.bib is None:  # an open follower: nothing to keep for the list
            audit.record(event, by, "entry.withdrawn", now=now, bib="—")
            claims.release(entry, now=now)
            return entry
        claims.release(entry, now=now)
        entry.withdrawn_at = now
        entry.claim_code_sha256 = entry.claim_nonce = None
        audit.record(event, by, "entry.withdrawn", now=now, bib=entry.bib)
    return entry


def reinstate(event: Event, by: User, entry_id: int, *, now: datetime) -> Entry:
    """Put a withdrawn entry back on the list, with a new claim code."""
    with write_transaction():
        entry = entry_of(event, entry_id, for_update=True)
        if entry.withdrawn_at is None:
            return entry
        entry.withdrawn_at = None
        entry.updated_at = now
        claims.assign_code(entry)
        audit.record(event, by, "entry.reinstated", now=now, bib=entry.bib)
    return entry


def unclaimed_with_codes(event: Event, by: User, *, now: datetime) -> list[tuple[Entry, str]]:
    """Entries still to be claimed, with their codes (to print or e-mail); entries without a
    code (made before codes, or whose code the app's new secret voided) get one, logged."""
    with write_transaction():
        rows = db.session.scalars(
            select(Entry)
            .where(
                Entry.event_id == event.id,
                Entry.user_id.is_(None),
                Entry.withdrawn_at.is_(None),
                Entry.bib.is_not(None),
            )
            .options(selectinload(Entry.category))
            .order_by(func.length(Entry.bib), Entry.bib)
        ).all()
        out, made = [], 0
        for entry in rows:
            code = claims.code_for(entry)
            if code is None:
                code, made = claims.assign_code(entry), made + 1
            out.append((entry, code))
        if made:
            audit.record(event, by, "entry.codes_made", now=now, count=made)
    return out
