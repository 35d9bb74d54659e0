"""A runner's own data: all of it as JSON on request, and the account deleted on request
(Japan's personal information law gives both rights)."""

from __future__ import annotations

from datetime import date, datetime

from flask_babel import gettext as _
from sqlalchemy import Table, delete, select, update

from raceapp.database import write_transaction
from raceapp.errors import DomainError
from raceapp.extensions import db
from raceapp.models import Entry, User
from raceapp.services import accounts, shuttles

# Secrets and delivery machinery: not "the runner's data", and some would let a copy of the
# file act as the runner (session tokens, push keys).
LEFT_OUT = {
    "password_hash",
    "token_sha256",
    "p256dh",
    "auth",
    "idempotency_key",
    "claimed_by",
    "lease_until",
    "claim_code_sha256",
    "claim_nonce",
    # An uploaded entry list under review: other runners' data, not the uploader's.
    "data",
}


def _plain(value: object) -> object:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def _rows(table: Table, user_id: int) -> list[dict]:
    columns = [c for c in table.c if c.name not in LEFT_OUT]
    rows = db.session.execute(
        select(*columns).where(table.c.user_id == user_id).order_by(*table.primary_key.columns)
    )
    return [{key: _plain(value) for key, value in row._mapping.items()} for row in rows]


def export(user: User, *, now: datetime) -> dict:
    """Everything stored about the runner: their account and every row that is theirs."""
    account = db.session.execute(
        select(*(c for c in User.__table__.c if c.name not in LEFT_OUT)).where(User.id == user.id)
    ).one()
    data: dict = {
        "exported_at": now.isoformat(),
        "account": {key: _plain(value) for key, value in account._mapping.items()},
    }
    for table in db.metadata.sorted_tables:
        if table.name != "users" and "user_id" in table.c:
            data[table.name] = _rows(table, user.id)
    return data


def delete_account(user: User, password: str, *, now: datetime) -> None:
    """Delete the account: seats and waitlist places go back (to the waitlist first), push
    subscriptions, sessions, ticks and reads go; entries stay for the organizer, without a
    name (the bib and category only)."""
    if not accounts.password_matches(user, password):
        raise DomainError(_("That is not your current password."))
    with write_transaction():
        shuttles.release_all_places(user.id, now=now)
        db.session.execute(
            update(Entry)
            .where(Entry.user_id == user.id)
            .values(user_id=None)
            .execution_options(synchronize_session=False)
        )
        # Every other row of theirs goes with the account (ON DELETE CASCADE).
        db.session.execute(delete(User).where(User.id == user.id))
    db.session.expunge_all()
