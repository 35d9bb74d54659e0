"""The organizer dashboard's figures: who is entered, reachable, packed and seated, per category.

Every figure is counted by the database, in four queries whatever the number of runners or
events (categories, entries, bookings, departures): nothing loads entries or users into Python.

    from raceapp.services import dashboard

    figures = dashboard.figures(event)
    for row in figures.categories:  # in the event's category order
        print(row.category.code, row.entries, row.claimed, row.unreachable)
        print(row.gear_complete, row.gear_complete_share)  # None: no mandatory gear / nobody
    print(figures.total.claimed, figures.seats_booked, "of", figures.seats_offered)

    by_event = dashboard.figures_for(events)  # {event.id: EventFigures}, same four queries

A category without mandatory gear has `gear_complete` None (not "everyone complete"): a 100 %
there would say nothing, and would lift the event's share. Its runners are left out of the
total's share too (`gear_required` is its denominator).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, select

from raceapp.extensions import db
from raceapp.models import (
    Booking,
    Category,
    Entry,
    Event,
    GearItem,
    GearTick,
    PushSubscription,
    ShuttleDeparture,
    ShuttleRoute,
    User,
)
from raceapp.vocabulary import BOOKED


@dataclass(frozen=True)
class Counts:
    """Runners of one category, or of the whole event, counted."""

    entries: int  # not withdrawn: listed + followers
    listed: int  # with a bib
    followers: int  # open sign-up, no bib
    withdrawn: int
    claimed: int  # not withdrawn, tied to an account
    alerts_push: int  # claimed, with at least one push subscription
    alerts_email: int  # claimed, with a verified address (urgent alerts reach it)
    alerts_any: int
    unreachable: int  # claimed, neither push nor a verified address
    kit_cached: int  # claimed, whose phone fetched the whole kit for offline use
    gear_required: int  # claimed, in a category that has mandatory gear
    gear_complete: int | None  # of those, every mandatory item packed; None: no mandatory gear
    seats_booked: int  # live bookings by these runners on the event's buses

    @property
    def gear_complete_share(self) -> float | None:
        """Share (0..1) of runners with mandatory gear who packed it all; None if none."""
        if self.gear_complete is None or not self.gear_required:
            return None
        return self.gear_complete / self.gear_required


@dataclass(frozen=True)
class CategoryFigures(Counts):
    """One category's counts, with the category and its number of mandatory items."""

    category: Category
    mandatory_items: int


@dataclass(frozen=True)
class EventFigures:
    """An event's counts per category (in its order), their total, and its buses' seats."""

    event_id: int
    categories: list[CategoryFigures]
    total: Counts
    departures: int
    unlimited_departures: int  # no published capacity: not in seats_offered
    seats_offered: int  # seats of the departures that have a limit
    seats_left: int  # free seats of those departures
    seats_booked: int  # seats taken on every departure (the counter booking keeps)
    # Live bookings by people without a live entry in the event: supporters, withdrawn runners.
    seats_booked_by_others: int

    def category(self, code: str) -> CategoryFigures:
        """The figures of the category with this code (KeyError if the event has none)."""
        for row in self.categories:
            if row.category.code == code:
                return row
        raise KeyError(code)


def figures(event: Event) -> EventFigures:
    """The dashboard's figures of one event."""
    return figures_for([event])[event.id]


def figures_for(events: Sequence[Event]) -> dict[int, EventFigures]:
    """The dashboard's figures of several events, by event id, in the same four queries."""
    ids = sorted({e.id for e in events})
    if not ids:
        return {}
    categories = _categories(ids)
    entries = _entry_counts(ids)
    booked, by_others = _booking_counts(ids)
    buses = _departure_counts(ids)
    rows: dict[int, list[CategoryFigures]] = {i: [] for i in ids}
    for category, mandatory_items in categories:
        counts = dict(entries.get(category.id, _NO_ENTRIES))
        gear_complete = counts.pop("gear_complete")
        rows[category.event_id].append(
            CategoryFigures(
                **counts,
                gear_required=counts["claimed"] if mandatory_items else 0,
                gear_complete=gear_complete if mandatory_items else None,
                seats_booked=booked.get(category.id, 0),
                category=category,
                mandatory_items=mandatory_items,
            )
        )
    return {
        i: EventFigures(
            event_id=i,
            categories=rows[i],
            total=_total(rows[i]),
            seats_booked_by_others=by_others.get(i, 0),
            **buses.get(i, _NO_BUSES),
        )
        for i in ids
    }


# --- The queries -----------------------------------------------------------------------------


def _count(condition: ColumnElement[bool]) -> ColumnElement[int]:
    # SUM(CASE ...), as services.kit counts: no FILTER clause, which older SQLite lacks.
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _categories(event_ids: list[int]) -> list[tuple[Category, int]]:
    """Each category of the events in their order, with its number of mandatory items."""
    mandatory = (
        select(func.count(GearItem.id))
        .where(GearItem.category_id == Category.id, GearItem.mandatory.is_(True))
        .scalar_subquery()
    )
    query = (
        select(Category, mandatory)
        .where(Category.event_id.in_(event_ids))
        .order_by(Category.event_id, Category.position, Category.id)
    )
    return [(category, n or 0) for category, n in db.session.execute(query)]


_ENTRY_COUNTS = (
    "entries",
    "listed",
    "followers",
    "withdrawn",
    "claimed",
    "alerts_push",
    "alerts_email",
    "alerts_any",
    "unreachable",
    "kit_cached",
    "gear_complete",
)
_NO_ENTRIES = dict.fromkeys(_ENTRY_COUNTS, 0)


def _entry_counts(event_ids: list[int]) -> dict[int, dict[str, int]]:
    """Per category id: the entries' counts (gear_complete for every category, even without
    mandatory gear, where it is everyone)."""
    has_push = select(PushSubscription.id).where(PushSubscription.user_id == Entry.user_id).exists()
    packed = (
        select(GearTick.id)
        .where(
            GearTick.gear_item_id == GearItem.id,
            GearTick.user_id == Entry.user_id,
            GearTick.packed.is_(True),
        )
        # Two levels down: auto-correlation would only reach gear_items and add its own entries.
        .correlate(Entry, GearItem)
        .exists()
    )
    missing_gear = (
        select(GearItem.id)
        .where(GearItem.category_id == Entry.category_id, GearItem.mandatory.is_(True), ~packed)
        .correlate(Entry)
        .exists()
    )
    # One row per entry with its flags worked out once (each EXISTS is evaluated once per
    # entry, not once per figure that uses it), then summed per category.
    per_entry = (
        select(
            Entry.category_id,
            case((Entry.withdrawn_at.is_not(None), 1), else_=0).label("withdrawn"),
            case((Entry.bib.is_not(None), 1), else_=0).label("listed"),
            case(
                (and_(Entry.withdrawn_at.is_(None), Entry.user_id.is_not(None)), 1), else_=0
            ).label("claimed"),
            case((has_push, 1), else_=0).label("push"),
            case((User.email_verified_at.is_not(None), 1), else_=0).label("email"),
            case((Entry.kit_synced_at.is_not(None), 1), else_=0).label("kit"),
            case((missing_gear, 0), else_=1).label("gear"),
        )
        .outerjoin(User, User.id == Entry.user_id)
        .where(Entry.event_id.in_(event_ids))
        .subquery()
    )
    e = per_entry.c
    live, claimed = e.withdrawn == 0, e.claimed == 1
    query = select(
        e.category_id,
        _count(live),
        _count(live & (e.listed == 1)),
        _count(live & (e.listed == 0)),
        _count(e.withdrawn == 1),
        _count(claimed),
        _count(claimed & (e.push == 1)),
        _count(claimed & (e.email == 1)),
        _count(claimed & ((e.push == 1) | (e.email == 1))),
        _count(claimed & (e.push == 0) & (e.email == 0)),
        _count(claimed & (e.kit == 1)),
        _count(claimed & (e.gear == 1)),
    ).group_by(e.category_id)
    return {
        row[0]: dict(zip(_ENTRY_COUNTS, (int(n) for n in row[1:]), strict=True))
        for row in db.session.execute(query)
    }


def _booking_counts(event_ids: list[int]) -> tuple[dict[int, int], dict[int, int]]:
    """Live bookings on the events' buses: per category id of the rider's live entry, and per
    event id for riders without one."""
    query = (
        select(ShuttleRoute.event_id, Entry.category_id, func.count(Booking.id))
        .select_from(Booking)
        .join(ShuttleDeparture, ShuttleDeparture.id == Booking.departure_id)
        .join(ShuttleRoute, ShuttleRoute.id == ShuttleDeparture.route_id)
        # One entry per runner per event (a unique constraint): the join never doubles a seat.
        .outerjoin(
            Entry,
            and_(
                Entry.user_id == Booking.user_id,
                Entry.event_id == ShuttleRoute.event_id,
                Entry.withdrawn_at.is_(None),
            ),
        )
        .where(Booking.status == BOOKED, ShuttleRoute.event_id.in_(event_ids))
        .group_by(ShuttleRoute.event_id, Entry.category_id)
    )
    by_category: dict[int, int] = {}
    by_others: dict[int, int] = {}
    for event_id, category_id, n in db.session.execute(query):
        if category_id is None:
            by_others[event_id] = n
        else:
            by_category[category_id] = n
    return by_category, by_others


_NO_BUSES = dict(
    departures=0, unlimited_departures=0, seats_offered=0, seats_left=0, seats_booked=0
)


def _departure_counts(event_ids: list[int]) -> dict[int, dict[str, int]]:
    """Per event id: its departures and their seats."""
    d = ShuttleDeparture
    limited = d.seats.is_not(None)
    query = (
        select(
            ShuttleRoute.event_id,
            func.count(d.id),
            _count(~limited),
            func.coalesce(func.sum(case((limited, d.seats), else_=0)), 0),
            func.coalesce(func.sum(case((limited, d.seats - d.seats_taken), else_=0)), 0),
            func.coalesce(func.sum(d.seats_taken), 0),
        )
        .join(ShuttleRoute, ShuttleRoute.id == d.route_id)
        .where(ShuttleRoute.event_id.in_(event_ids))
        .group_by(ShuttleRoute.event_id)
    )
    return {
        row[0]: dict(zip(_NO_BUSES, (int(n) for n in row[1:]), strict=True))
        for row in db.session.execute(query)
    }


def _total(rows: list[CategoryFigures]) -> Counts:
    """The event's counts: the sum of its categories' (gear over those that have a list)."""
    sums: dict[str, Any] = {
        f.name: sum(getattr(r, f.name) or 0 for r in rows) for f in fields(Counts)
    }
    if all(r.gear_complete is None for r in rows):
        sums["gear_complete"] = None
    return Counts(**sums)
