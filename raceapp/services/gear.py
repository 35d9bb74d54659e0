"""A runner's gear checklist: ticks kept per runner, the latest tick (by when it was made) wins."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from raceapp.database import write_transaction
from raceapp.errors import DomainError, NotFound
from raceapp.extensions import db
from raceapp.models import Entry, GearItem, GearTick, PersonalGearItem

MAX_PERSONAL_ITEMS = 50


@dataclass(frozen=True)
class ChecklistRow:
    item: GearItem
    packed: bool
    ticked_at: datetime | None


@dataclass(frozen=True)
class Checklist:
    mandatory: list[ChecklistRow]
    recommended: list[ChecklistRow]
    personal: list[PersonalGearItem]

    @property
    def mandatory_packed(self) -> int:
        return sum(r.packed for r in self.mandatory)

    @property
    def mandatory_total(self) -> int:
        return len(self.mandatory)


def checklist(entry: Entry) -> Checklist:
    """The runner's category gear with their tick state, mandatory first, plus personal items."""
    ticks = {
        t.gear_item_id: t
        for t in db.session.scalars(
            select(GearTick)
            .join(GearItem)
            .where(GearTick.user_id == entry.user_id, GearItem.category_id == entry.category_id)
        )
    }
    rows = [
        ChecklistRow(
            item,
            bool(ticks.get(item.id) and ticks[item.id].packed),
            ticks[item.id].ticked_at if item.id in ticks else None,
        )
        for item in entry.category.gear_items
    ]
    personal = list(
        db.session.scalars(
            select(PersonalGearItem)
            .where(
                PersonalGearItem.user_id == entry.user_id,
                PersonalGearItem.event_id == entry.event_id,
            )
            .order_by(PersonalGearItem.id)
        )
    )
    return Checklist(
        [r for r in rows if r.item.mandatory], [r for r in rows if not r.item.mandatory], personal
    )


def _when(made_at: datetime | None, now: datetime) -> datetime:
    # A phone's clock may run ahead: never store a tick from the future.
    return now if made_at is None or made_at > now else made_at


def tick(
    entry: Entry, item_id: int, packed: bool, *, now: datetime, made_at: datetime | None = None
) -> ChecklistRow:
    """Set one item packed or not; an older tick never overwrites a newer one."""
    item = db.session.get(GearItem, item_id)
    if item is None or item.category_id != entry.category_id:
        raise NotFound(_("That item is not on your checklist."))
    when = _when(made_at, now)
    try:
        with write_transaction():
            existing = db.session.scalar(
                select(GearTick).where(
                    GearTick.user_id == entry.user_id, GearTick.gear_item_id == item.id
                )
            )
            if existing is None:
                db.session.add(
                    GearTick(
                        user_id=entry.user_id, gear_item_id=item.id, packed=packed, ticked_at=when
                    )
                )
            elif when >= existing.ticked_at:
                existing.packed, existing.ticked_at = packed, when
            else:
                packed, when = existing.packed, existing.ticked_at
    except IntegrityError:  # a concurrent first tick: keep the newer of the two
        return tick(entry, item_id, packed, now=now, made_at=when)
    return ChecklistRow(item, packed, when)


def add_personal(entry: Entry, name: str, *, now: datetime) -> PersonalGearItem:
    """Add an item of the runner's own to their checklist."""
    name = " ".join(name.split())
    if not name or len(name) > 120:
        raise DomainError(_("Name the item in 1 to 120 characters."))
    with write_transaction():
        count = db.session.scalar(
            select(db.func.count())
            .select_from(PersonalGearItem)
            .where(
                PersonalGearItem.user_id == entry.user_id,
                PersonalGearItem.event_id == entry.event_id,
            )
        )
        if (count or 0) >= MAX_PERSONAL_ITEMS:
            raise DomainError(
                _("You can add up to %(count)d items of your own.", count=MAX_PERSONAL_ITEMS)
            )
        item = PersonalGearItem(
            user_id=entry.user_id, event_id=entry.event_id, name=name, packed=False, ticked_at=now
        )
        db.session.add(item)
    return item


def _own_personal(entry: Entry, item_id: int) -> PersonalGearItem:
    item = db.session.get(PersonalGearItem, item_id)
    if item is None or item.user_id != entry.user_id or item.event_id != entry.event_id:
        raise NotFound(_("That item is not on your checklist."))
    return item


def tick_personal(
    entry: Entry, item_id: int, packed: bool, *, now: datetime, made_at: datetime | None = None
) -> PersonalGearItem:
    """Set one of the runner's own items packed or not (latest tick wins)."""
    when = _when(made_at, now)
    with write_transaction():
        item = _own_personal(entry, item_id)
        if when >= item.ticked_at:
            item.packed, item.ticked_at = packed, when
    return item


def remove_personal(entry: Entry, item_id: int) -> None:
    """Delete one of the runner's own items."""
    with write_transaction():
        db.session.delete(_own_personal(entry, item_id))
