"""The organizer dashboard's figures: every count against a race of known runners, other races
left out, and a constant number of queries however many runners there are."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import fields
from datetime import datetime

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import select

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
    User,
)
from raceapp.services import dashboard, shuttles
from raceapp.services.dashboard import Counts
from tests.helpers import BEFORE, DATA, FCM, TOKYO, import_files, subscription

# A week before the Okushinano 100 (7-9 June 2024): its buses still take bookings.
OKU_BEFORE = datetime(2024, 6, 1, 12, 0, tzinfo=TOKYO)
# Categories, entries, bookings, departures: one query each, for one event or many.
QUERIES = 4


def category(event: Event, code: str) -> Category:
    return next(c for c in event.categories if c.code == code)


def add_push(user: User, devices: int = 1) -> None:
    for _ in range(devices):
        sub = subscription(FCM + uuid.uuid4().hex)
        db.session.add(
            PushSubscription(
                user_id=user.id,
                endpoint=sub["endpoint"],
                p256dh=sub["keys"]["p256dh"],
                auth=sub["keys"]["auth"],
                created_at=OKU_BEFORE,
                last_seen_at=OKU_BEFORE,
            )
        )


def verify(user: User) -> None:
    user.email_verified_at = OKU_BEFORE


def pack(user: User, event: Event, code: str, *, missing: int = 0) -> None:
    """Tick every mandatory item of the category packed, but the last `missing` as not packed."""
    items = db.session.scalars(
        select(GearItem)
        .where(GearItem.category_id == category(event, code).id, GearItem.mandatory.is_(True))
        .order_by(GearItem.position)
    ).all()
    for n, item in enumerate(items):
        packed = n < len(items) - missing
        db.session.add(
            GearTick(user_id=user.id, gear_item_id=item.id, packed=packed, ticked_at=OKU_BEFORE)
        )


def listed(event: Event, code: str, bib: str | None, user: User | None = None) -> Entry:
    """An entry made directly: unclaimed when no user, an open follower when no bib."""
    entry = Entry(
        user_id=user.id if user else None,
        event_id=event.id,
        category_id=category(event, code).id,
        bib=bib,
        created_at=OKU_BEFORE,
    )
    db.session.add(entry)
    return entry


def departures(event: Event) -> list[ShuttleDeparture]:
    return sorted(
        (d for r in event.shuttle_routes for d in r.departures), key=lambda d: d.departs_at
    )


@contextmanager
def counting_queries() -> Iterator[list[str]]:
    """The SQL statements run inside the block."""
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    sa_event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", count)


def numbers(counts: Counts) -> dict[str, object]:
    """The counts alone (a category's figures without the category)."""
    row = {f.name: getattr(counts, f.name) for f in fields(Counts)}
    return row | {"gear_complete_share": counts.gear_complete_share}


ZERO = dict(
    entries=0,
    listed=0,
    followers=0,
    withdrawn=0,
    claimed=0,
    alerts_push=0,
    alerts_email=0,
    alerts_any=0,
    unreachable=0,
    kit_cached=0,
    gear_required=0,
    gear_complete=0,
    seats_booked=0,
    gear_complete_share=None,
)


@pytest.fixture
def race(okushinano, make_user, make_entry):
    """The Okushinano 100 with runners whose every figure is known (see each line)."""
    event = okushinano
    # One departure publishes 10 seats; the six others are not limited.
    limited, unlimited = departures(event)[0], departures(event)[1]
    limited.seats = 10
    db.session.commit()

    def runner(code: str, bib: str | None = None) -> User:
        user = make_user()
        if bib is None:
            listed(event, code, None, user)
        else:
            make_entry(user, event, code, bib)
        return user

    # 100 km.
    a = runner("100k", "1001")  # two phones, verified, all packed, kit cached, a seat
    add_push(a, devices=2)
    verify(a)
    pack(a, event, "100k")
    b = runner("100k", "1002")  # push only, one item not packed, a seat on a bus without limit
    add_push(b)
    pack(b, event, "100k", missing=1)
    c = runner("100k", "1003")  # e-mail only, all packed, kit cached, cancelled its seat
    verify(c)
    pack(c, event, "100k")
    d = runner("100k", "1004")  # unreachable, ticked only a recommended item
    recommended = db.session.scalar(
        select(GearItem).where(
            GearItem.category_id == category(event, "100k").id, GearItem.mandatory.is_(False)
        )
    )
    db.session.add(
        GearTick(user_id=d.id, gear_item_id=recommended.id, packed=True, ticked_at=OKU_BEFORE)
    )
    g = runner("100k")  # an open follower (no bib), with push
    add_push(g)
    listed(event, "100k", "1100")  # listed, not claimed yet
    w = runner("100k", "1005")  # withdrawn after booking: reachable and packed, counted nowhere
    add_push(w)
    verify(w)
    pack(w, event, "100k")
    # 50 km.
    h = runner("50k", "2001")  # e-mail, all packed
    verify(h)
    pack(h, event, "50k")
    listed(event, "50k", "2100")  # not claimed
    # Kids: no mandatory gear.
    k = runner("kids", "4001")
    add_push(k)
    # A supporter rides too, without an entry.
    s = make_user()
    db.session.commit()

    for user, dep in ((a, limited), (b, unlimited), (c, limited), (w, limited), (s, limited)):
        shuttles.book(user, dep.id, now=OKU_BEFORE, idempotency_key=None)
    cancelled = db.session.scalar(select(Booking).where(Booking.user_id == c.id))
    shuttles.cancel(c, cancelled.reference, now=OKU_BEFORE)
    for user in (a, c):
        db.session.scalar(select(Entry).where(Entry.user_id == user.id)).kit_synced_at = OKU_BEFORE
    db.session.scalar(select(Entry).where(Entry.user_id == w.id)).withdrawn_at = OKU_BEFORE
    db.session.commit()
    return event


def test_every_figure_of_a_known_race(race):
    figures = dashboard.figures(race)

    assert [row.category.code for row in figures.categories] == ["100k", "50k", "25k", "kids"]
    assert [row.mandatory_items for row in figures.categories] == [9, 9, 5, 0]
    assert numbers(figures.category("100k")) == dict(
        entries=6,  # a b c d g and the unclaimed 1100
        listed=5,
        followers=1,  # g
        withdrawn=1,  # w
        claimed=5,  # a b c d g
        alerts_push=3,  # a (two phones, counted once) b g
        alerts_email=2,  # a c
        alerts_any=4,
        unreachable=1,  # d
        kit_cached=2,  # a c
        gear_required=5,
        gear_complete=2,  # a c; b misses one item, d ticked a recommended one only
        seats_booked=2,  # a b; c cancelled
        gear_complete_share=0.4,
    )
    assert numbers(figures.category("50k")) == ZERO | dict(
        entries=2,
        listed=2,
        claimed=1,
        alerts_email=1,
        alerts_any=1,
        gear_required=1,
        gear_complete=1,
        gear_complete_share=1.0,
    )
    assert numbers(figures.category("25k")) == ZERO
    assert numbers(figures.category("kids")) == ZERO | dict(
        entries=1,
        listed=1,
        claimed=1,
        alerts_push=1,
        alerts_any=1,
        gear_complete=None,  # nothing mandatory: neither complete nor not
    )
    assert numbers(figures.total) == dict(
        entries=9,
        listed=8,
        followers=1,
        withdrawn=1,
        claimed=7,
        alerts_push=4,
        alerts_email=3,
        alerts_any=6,
        unreachable=1,
        kit_cached=2,
        gear_required=6,  # the kids are not asked for gear
        gear_complete=3,
        seats_booked=2,
        gear_complete_share=0.5,
    )
    assert (
        figures.departures,
        figures.unlimited_departures,
        figures.seats_offered,
        figures.seats_left,
        figures.seats_booked,
        figures.seats_booked_by_others,
    ) == (7, 6, 10, 7, 4, 2)  # a w s on the 10 seats, b on another; w and s have no live entry
    assert figures.seats_booked == figures.total.seats_booked + figures.seats_booked_by_others


def test_a_race_without_runners_or_buses_counts_zero(app):
    import_files(DATA / "shuttle-race.toml")
    bus_test = db.session.scalar(select(Event).where(Event.slug == "bus-test"))
    figures = dashboard.figures(bus_test)

    assert numbers(figures.total) == ZERO | dict(gear_complete=None)  # bus-test lists no gear
    assert (figures.departures, figures.unlimited_departures, figures.seats_offered) == (3, 1, 12)
    assert (figures.seats_left, figures.seats_booked, figures.seats_booked_by_others) == (12, 0, 0)
    assert dashboard.figures_for([]) == {}


def test_other_races_runners_are_not_counted(race, make_user, make_entry):
    before = dashboard.figures(race)
    import_files(DATA / "shuttle-race.toml")
    bus_test = db.session.scalar(select(Event).where(Event.slug == "bus-test"))
    # Runners of the other race, in a category of the same code, reachable, cached, booked.
    for bib in ("1", "2"):
        other = make_user()
        make_entry(other, bus_test, "50k", bib)
        add_push(other)
        verify(other)
        db.session.commit()
        shuttles.book(other, departures(bus_test)[0].id, now=BEFORE, idempotency_key=None)
    db.session.scalar(select(Entry).where(Entry.bib == "1")).kit_synced_at = BEFORE
    # An Okushinano runner rides the other race's crew bus (supporters may).
    okushinano_runner = db.session.scalar(select(Entry).where(Entry.bib == "1001")).user
    crew = next(d for d in departures(bus_test) if d.seats is None)
    db.session.commit()
    shuttles.book(okushinano_runner, crew.id, now=BEFORE, idempotency_key=None)
    db.session.commit()

    after = dashboard.figures(race)
    assert [numbers(r) for r in after.categories] == [numbers(r) for r in before.categories]
    assert numbers(after.total) == numbers(before.total)
    assert (after.seats_booked, after.seats_booked_by_others) == (4, 2)

    other = dashboard.figures(bus_test)
    assert numbers(other.category("50k")) == ZERO | dict(
        entries=2,
        listed=2,
        claimed=2,
        alerts_push=2,
        alerts_email=2,
        alerts_any=2,
        kit_cached=1,
        gear_complete=None,
        seats_booked=2,
    )
    assert (other.seats_booked, other.seats_booked_by_others) == (3, 1)  # the Okushinano runner
    assert (other.seats_offered, other.seats_left) == (12, 10)

    both = dashboard.figures_for([race, bus_test])
    assert set(both) == {race.id, bus_test.id}
    assert both[race.id] == after and both[bus_test.id] == other


class _Phones:
    """Stands in for the push service make_runners subscribes its runners on."""

    def new_subscription(self) -> dict:
        return subscription(FCM + uuid.uuid4().hex)


def _measure(events: list[Event]) -> tuple[int, dict[int, dashboard.EventFigures]]:
    db.session.commit()
    # Loaded before counting (the commit expired them): a caller has its events at hand.
    assert all(e.id for e in events)
    with counting_queries() as statements:
        result = dashboard.figures_for(events)
    return len(statements), result


def test_the_database_counts_in_a_constant_number_of_queries(race, make_runners):
    import_files(DATA / "shuttle-race.toml")
    bus_test = db.session.scalar(select(Event).where(Event.slug == "bus-test"))

    queries, small = _measure([race])
    assert queries == QUERIES

    runners = make_runners(race, "100k", 50, service=_Phones())
    make_runners(race, "kids", 10)
    for user in runners[:20]:
        pack(user, race, "100k")
    db.session.commit()
    queries, large = _measure([race])
    assert queries == QUERIES
    hundred_k = large[race.id].category("100k")
    assert hundred_k.entries == small[race.id].category("100k").entries + 50
    assert hundred_k.alerts_push == 3 + 50
    assert hundred_k.gear_complete == 2 + 20
    assert large[race.id].category("kids").unreachable == 10

    queries, several = _measure([race, bus_test])
    assert queries == QUERIES
    assert several[race.id] == large[race.id]
