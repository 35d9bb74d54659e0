"""Reminders: when each is due, from the race as it stands, and the rows that wait for it.

The evening reminder goes the day before the runner's start day at the race file's
`reminder_time` (default 17:00, event time); a bus reminder goes BUS_REMINDER_MINUTES before a
booked departure. Rows are made when a runner enters or takes a seat, and their due times move
whenever the race changes (an alert that changes it, a new race file); the worker checks again
when one is due, so a reminder never goes for a cancelled race or a seat given up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import select, update

from raceapp.errors import DomainError
from raceapp.extensions import db
from raceapp.models import Booking, Entry, Event, Reminder, ShuttleDeparture
from raceapp.services import race_state
from raceapp.services.race_state import CategoryState
from raceapp.services.timing import resolve_local, zone_of
from raceapp.vocabulary import (
    BOOKED,
    BUS,
    BUS_REMINDER_MINUTES,
    DEFAULT_REMINDER_TIME,
    EVE,
)


def eve_due(event: Event, state: CategoryState) -> datetime | None:
    """The evening before the start day (as it stands), at the race's reminder time."""
    if state.start_day is None:
        return None
    hours, minutes = map(
        int, ((event.details or {}).get("reminder_time") or DEFAULT_REMINDER_TIME).split(":")
    )
    wall = datetime.combine(state.start_day - timedelta(days=1), time(hours, minutes))
    try:
        return resolve_local(wall, zone_of(event))
    except DomainError:  # a reminder time inside a clock change: half an hour on is fine
        return resolve_local(wall + timedelta(hours=1), zone_of(event))


def bus_due(departure: ShuttleDeparture) -> datetime:
    return departure.leaves_at - timedelta(minutes=BUS_REMINDER_MINUTES)


def _upsert(kind: str, due: datetime | None, now: datetime, **keys) -> None:
    key = {"entry_id": keys["entry_id"]} if kind == EVE else {"booking_id": keys["booking_id"]}
    reminder = db.session.scalar(select(Reminder).filter_by(**key))
    if due is None or due <= now:
        if reminder is not None and reminder.status == "pending":
            reminder.status = "cancelled"
        return
    if reminder is None:
        db.session.add(Reminder(kind=kind, due_at=due, status="pending", attempts=0, **keys))
    elif reminder.status in ("pending", "cancelled"):
        reminder.due_at, reminder.status = due, "pending"


def plan_eve(entry: Entry, state: CategoryState, *, now: datetime) -> None:
    """Make (or move) the entry's evening reminder; inside the caller's write transaction."""
    _upsert(
        EVE,
        eve_due(entry.event, state),
        now,
        user_id=entry.user_id,
        event_id=entry.event_id,
        entry_id=entry.id,
    )


def plan_bus(booking: Booking, departure: ShuttleDeparture, *, now: datetime) -> None:
    """Make the booking's bus reminder; inside the caller's write transaction."""
    _upsert(
        BUS,
        bus_due(departure),
        now,
        user_id=booking.user_id,
        event_id=departure.route.event_id,
        booking_id=booking.id,
    )


def reschedule(event: Event, *, now: datetime) -> None:
    """Move the event's pending reminders to the race as it now stands (a start delay, a
    changed bus); inside the caller's write transaction. One UPDATE per category and per
    departure, however many runners: it runs while an alert is being posted."""
    state = race_state.of_event(event, now)
    pending = (Reminder.event_id == event.id) & (Reminder.status == "pending")
    for category in event.categories:
        due = eve_due(event, state.category(category.code))
        if due is not None:
            entries = select(Entry.id).where(Entry.category_id == category.id)
            db.session.execute(
                update(Reminder)
                .where(pending, Reminder.kind == EVE, Reminder.entry_id.in_(entries))
                .values(due_at=due)
                .execution_options(synchronize_session=False)
            )
    for route in event.shuttle_routes:
        for departure in route.departures:
            bookings = select(Booking.id).where(Booking.departure_id == departure.id)
            db.session.execute(
                update(Reminder)
                .where(pending, Reminder.kind == BUS, Reminder.booking_id.in_(bookings))
                .values(due_at=bus_due(departure))
                .execution_options(synchronize_session=False)
            )


@dataclass(frozen=True)
class Verdict:
    """What to do with a reminder found due: "send", "later" (at `due`) or "cancel"."""

    action: str
    due: datetime | None = None
    reason: str = ""


def verdict(reminder: Reminder, *, now: datetime) -> Verdict:
    """Check a due reminder against the race as it stands now."""
    if reminder.kind == EVE:
        entry = db.session.get(Entry, reminder.entry_id)
        if entry is None or entry.user_id != reminder.user_id:
            return Verdict("cancel", reason="no longer entered")
        state = race_state.of_event(entry.event, now).category(entry.category.code)
        if state.cancelled:
            return Verdict("cancel", reason="category cancelled")
        if state.start is not None and state.start <= now:
            return Verdict("cancel", reason="the race has started")
        due = eve_due(entry.event, state)
    else:
        booking = db.session.get(Booking, reminder.booking_id)
        if booking is None or booking.status != BOOKED:
            return Verdict("cancel", reason="seat given up")
        departure = db.session.get(ShuttleDeparture, booking.departure_id)
        if departure is None or departure.leaves_at <= now:
            return Verdict("cancel", reason="the bus has left")
        if departure.cancelled_at is not None:
            return Verdict("cancel", reason="the bus is cancelled")
        due = bus_due(departure)
    if due is not None and due > now + timedelta(minutes=1):
        return Verdict("later", due=due)
    return Verdict("send")
