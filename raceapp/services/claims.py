"""How a runner gets their bib: only through an entry on the organizer's list, claimed by a
verified e-mail that matches the entry or by the entry's claim code. A race whose file allows
open sign-up can also be followed without a bib.

A claim code is 80 random-looking bits (16 symbols of Crockford's base 32), derived from a
random salt kept on the entry and the app's secret, so the organizer can print it again while
only its hash is stored. It works once: claiming spends it, and a new salt makes a new one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from raceapp.database import write_transaction
from raceapp.errors import Conflict, DomainError, NotFound
from raceapp.extensions import db
from raceapp.i18n import text_of
from raceapp.models import Category, Entry, Event, Reminder, User
from raceapp.services import race_state, reminders

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U
CODE_SYMBOLS = 16
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})


def normalise_code(text: str) -> str:
    """A code as typed (any case, spaces, dashes, O for 0) in its canonical form."""
    return "".join(ch for ch in text.upper().translate(_READ_AS) if ch in ALPHABET)


def _digest(code: str) -> str:
    return hashlib.sha256(normalise_code(code).encode()).hexdigest()


def code_for(entry: Entry) -> str | None:
    """The entry's current claim code, grouped by four, or None once it was claimed."""
    if entry.claim_nonce is None or entry.claim_code_sha256 is None:
        return None
    symbols = _raw_code(entry)
    code = "-".join(symbols[i : i + 4] for i in range(0, CODE_SYMBOLS, 4))
    # The app's secret changed since the code was made: this is not the printed code.
    return code if _digest(code) == entry.claim_code_sha256 else None


def assign_code(entry: Entry) -> str:
    """Give the entry a new claim code (the old one stops working); after a flush (needs id)."""
    entry.claim_nonce = secrets.token_hex(16)
    entry.claim_code_sha256 = _digest(_raw_code(entry))
    code = code_for(entry)
    assert code is not None
    return code


def _raw_code(entry: Entry) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    mac = hmac.new(key, f"entry-claim:{entry.id}:{entry.claim_nonce}".encode(), hashlib.sha256)
    number = int.from_bytes(mac.digest()[:10], "big")
    return "".join(ALPHABET[(number >> (5 * i)) & 31] for i in range(CODE_SYMBOLS))


def _take(entry: Entry, user: User, *, now: datetime) -> Entry:
    """Tie an entry to the runner; inside the caller's write transaction."""
    if entry.withdrawn_at is not None:
        raise Conflict(
            _("This entry was withdrawn by the organizer. Contact the race if this is wrong.")
        )
    if entry.user_id == user.id:
        return entry
    if entry.user_id is not None:
        raise Conflict(_("This entry was already claimed. Contact the race if it was not you."))
    mine = db.session.scalar(
        select(Entry).where(Entry.user_id == user.id, Entry.event_id == entry.event_id)
    )
    if mine is not None:
        if mine.bib is not None:
            raise Conflict(_("You already have bib %(bib)s in this race.", bib=mine.bib))
        db.session.delete(mine)  # an open sign-up gives way to the listed entry
        db.session.flush()
    entry.user_id, entry.claimed_at = user.id, now
    entry.claim_code_sha256 = entry.claim_nonce = None  # spent
    db.session.flush()
    state = race_state.of_event(entry.event, now)
    reminders.plan_eve(entry, state.category(entry.category.code), now=now)
    return entry


def claim_by_code(user: User, event: Event, code: str, *, now: datetime) -> Entry:
    """Claim the entry whose code this is."""
    canonical = normalise_code(code)
    if len(canonical) != CODE_SYMBOLS:
        raise DomainError(
            _("A claim code has 16 letters and digits, like 7K3Q-M9TX-2RPD-8HVF. Check it.")
        )
    event_id = event.id
    try:
        with write_transaction():
            entry = db.session.scalar(
                select(Entry)
                .where(Entry.event_id == event_id, Entry.claim_code_sha256 == _digest(canonical))
                .with_for_update()
            )
            if entry is None:
                raise NotFound(
                    _("This code does not match an entry of this race. Check it, or ask the race.")
                )
            return _take(entry, user, now=now)
    except IntegrityError:
        raise Conflict(_("You already have an entry in this race.")) from None


def matching_entries(user: User, event: Event | None = None) -> list[Entry]:
    """Unclaimed entries listed with the runner's verified address."""
    if getattr(user, "email_verified_at", None) is None:
        return []
    query = select(Entry).where(
        func.lower(Entry.email) == user.email.lower(),
        Entry.user_id.is_(None),
        Entry.withdrawn_at.is_(None),
        Entry.bib.is_not(None),
    )
    if event is not None:
        query = query.where(Entry.event_id == event.id)
    return list(db.session.scalars(query.order_by(Entry.event_id, Entry.bib)))


def claim_by_email(user: User, event: Event, entry_id: int, *, now: datetime) -> Entry:
    """Claim an entry listed with the runner's verified e-mail address."""
    user_id, event_id = user.id, event.id
    try:
        with write_transaction():
            entry = db.session.scalar(
                select(Entry)
                .where(Entry.id == entry_id, Entry.event_id == event_id)
                .with_for_update()
            )
            if (
                entry is None
                or user.email_verified_at is None
                or (entry.email or "").lower() != user.email.lower()
            ):
                raise NotFound(_("No entry of this race is listed with your e-mail address."))
            return _take(entry, db.session.get(User, user_id) or user, now=now)
    except IntegrityError:
        raise Conflict(_("You already have an entry in this race.")) from None


def joinable_category(
    event: Event, category_code: str, *, now: datetime
) -> tuple[Category, race_state.EventState]:
    """The category a runner may be put in now, and the race as it stands: not a rules page,
    not a cancelled category."""
    category = db.session.scalar(
        select(Category).where(Category.event_id == event.id, Category.code == category_code)
    )
    if category is None:
        raise NotFound(_("Choose one of this event's categories."))
    state = race_state.of_event(event, now)
    if not state.is_race:
        raise Conflict(_("%(race)s is a page of rules, not a race to join.", race=text_of(event)))
    if state.category(category.code).cancelled:
        raise Conflict(
            _("%(category)s is cancelled: choose another category.", category=text_of(category))
        )
    return category, state


def follow(user: User, event: Event, category_code: str, *, now: datetime) -> Entry:
    """Follow a race that allows open sign-up, in a category, without a bib."""
    if not (event.details or {}).get("open_signup"):
        raise Conflict(
            _(
                "%(race)s is open only to runners on its entry list: claim your entry with "
                "your e-mail or claim code.",
                race=text_of(event),
            )
        )
    category, state = joinable_category(event, category_code, now=now)
    category_id, event_id, user_id = category.id, event.id, user.id
    with write_transaction():
        entry = db.session.scalar(
            select(Entry).where(Entry.user_id == user_id, Entry.event_id == event_id)
        )
        if entry is not None and entry.bib is not None:
            raise Conflict(
                _(
                    "You are on the entry list with bib %(bib)s: the race moves you between "
                    "categories.",
                    bib=entry.bib,
                )
            )
        if entry is None:
            entry = Entry(
                user_id=user_id, event_id=event_id, category_id=category_id, created_at=now
            )
            db.session.add(entry)
        else:
            entry.category_id = category_id
        entry.claimed_at = now
        db.session.flush()
        reminders.plan_eve(entry, state.category(category.code), now=now)
    return entry


def release(entry: Entry, *, now: datetime) -> None:
    """The runner lets go of the entry (they left, or were withdrawn): a listed entry goes
    back to the list with a new code, an open sign-up is deleted. In the caller's transaction."""
    db.session.execute(delete(Reminder).where(Reminder.entry_id == entry.id))
    if entry.bib is None:
        db.session.delete(entry)
        return
    entry.user_id = None
    entry.claimed_at = None
    entry.kit_synced_at = None
    entry.updated_at = now
    db.session.flush()
    assign_code(entry)
