"""Shuttle buses: timetable, booking that cannot overbook, cancellation, waitlist, manifests.

Capacity rule (pretix's advice: lock late, once, and check inside the transaction): taking a
seat is one conditional UPDATE, `seats_taken = seats_taken + 1 WHERE seats_taken < seats`, in a
write transaction (BEGIN IMMEDIATE on SQLite; on PostgreSQL the UPDATE re-checks its WHERE after
waiting for a concurrent one). A CHECK constraint on the table refuses overbooking regardless.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from raceapp.database import rowcount, write_transaction
from raceapp.errors import Conflict, DomainError, Forbidden, NotFound
from raceapp.extensions import db
from raceapp.i18n import DEFAULT_LANGUAGE, format_when, in_every_language, join_clauses, text_of
from raceapp.models import (
    Alert,
    Booking,
    Entry,
    Event,
    Notice,
    ShuttleDeparture,
    ShuttleRoute,
    User,
    WaitlistEntry,
)
from raceapp.services import accounts, alerts, claims, race_state, reminders, team
from raceapp.services.race_state import EventState
from raceapp.services.timing import zone_of
from raceapp.vocabulary import ALERTS, BOOKED, MANIFESTS, SEAT_CANCELLED

# No 0/O or 1/I/L: a driver reads these aloud in the dark.
REFERENCE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
IDEMPOTENCY_MAX = 64
IDEMPOTENCY_RE = re.compile(r"[A-Za-z0-9_-]+")


class Full(Conflict):
    """The departure has no seat left."""


@dataclass(frozen=True)
class DepartureView:
    departure: ShuttleDeparture
    route: ShuttleRoute
    seats_left: int | None  # None: capacity not limited
    # "open", "full", "departed", "not running" (its race is cancelled) or "cancelled" (this
    # departure, by headquarters on the day)
    state: str
    my_booking: Booking | None
    on_waitlist: bool


def new_reference() -> str:
    raw = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(6))
    return f"{raw[:3]}-{raw[3:]}"


def seats_left(departure: ShuttleDeparture) -> int | None:
    return None if departure.seats is None else max(0, departure.seats - departure.seats_taken)


NOT_RUNNING = "not running"
BUS_CANCELLED = "cancelled"
DELAY_MAX_MINUTES = 6 * 60


def state_of(departure: ShuttleDeparture, runs: bool, now: datetime) -> str:
    if departure.cancelled_at is not None:
        return BUS_CANCELLED
    if departure.leaves_at <= now:
        return "departed"
    if not runs:
        return NOT_RUNNING
    left = seats_left(departure)
    return "full" if left == 0 else "open"


def not_running_reason(state: EventState, route: ShuttleRoute) -> str:
    """Why a bus does not run, in a sentence for the runner."""
    if state.cancelled:
        return _("This bus does not run: %(race)s is cancelled.", race=text_of(state.event))
    return _("This bus does not run: the races it serves are cancelled.")


def timetable(state: EventState, user: User | None, now: datetime) -> list[DepartureView]:
    """Every departure of the event in time order, with seats left, whether it still runs and
    the user's own state."""
    event = state.event
    mine: dict[int, Booking] = {}
    waiting: set[int] = set()
    if user is not None and getattr(user, "is_authenticated", False):
        mine = {
            b.departure_id: b
            for b in db.session.scalars(
                select(Booking).where(Booking.user_id == user.id, Booking.status == BOOKED)
            )
        }
        waiting = set(
            db.session.scalars(
                select(WaitlistEntry.departure_id).where(WaitlistEntry.user_id == user.id)
            )
        )
    rows = [
        DepartureView(
            d,
            r,
            seats_left(d),
            state_of(d, state.route_runs(r), now),
            mine.get(d.id),
            d.id in waiting,
        )
        for r in event.shuttle_routes
        for d in r.departures
    ]
    return sorted(rows, key=lambda v: (v.departure.leaves_at, v.route.position))


def find_departure(departure_id: int) -> ShuttleDeparture:
    """One departure, or NotFound."""
    found = db.session.get(ShuttleDeparture, departure_id)
    if found is None:
        raise NotFound(_("There is no such departure."))
    return found


def may_ride(user: User, route: ShuttleRoute) -> None:
    """Runners of the event ride; supporters only where the race file allows them."""
    entered = db.session.scalar(
        select(Entry.id).where(Entry.user_id == user.id, Entry.event_id == route.event_id)
    )
    if entered is None and not route.supporters_allowed:
        raise Forbidden(_("This bus is for runners of the race: join your category first."))


def _valid_key(key: str | None) -> str | None:
    if key is None or key == "":
        return None
    if len(key) > IDEMPOTENCY_MAX or not IDEMPOTENCY_RE.fullmatch(key):
        raise DomainError(_("The form is damaged: reload the page and try again."))
    return key


def book(user: User, departure_id: int, *, now: datetime, idempotency_key: str | None) -> Booking:
    """Take one seat on a departure; the same idempotency key always returns the same booking."""
    key = _valid_key(idempotency_key)
    if key:
        existing = db.session.scalar(
            select(Booking).where(Booking.user_id == user.id, Booking.idempotency_key == key)
        )
        if existing is not None:
            return existing
    departure = find_departure(departure_id)
    may_ride(user, departure.route)
    _must_run(departure, now)
    try:
        with write_transaction():
            live = db.session.scalar(
                select(Booking).where(
                    Booking.user_id == user.id,
                    Booking.departure_id == departure.id,
                    Booking.status == BOOKED,
                )
            )
            if live is not None:
                return live  # booked already, e.g. from another tab
            taken = rowcount(
                db.session.execute(
                    update(ShuttleDeparture)
                    .where(
                        ShuttleDeparture.id == departure.id,
                        ShuttleDeparture.cancelled_at.is_(None),
                        (ShuttleDeparture.seats.is_(None))
                        | (ShuttleDeparture.seats_taken < ShuttleDeparture.seats),
                    )
                    .values(seats_taken=ShuttleDeparture.seats_taken + 1)
                    .execution_options(synchronize_session=False)
                )
            )
            if taken != 1:
                db.session.refresh(departure)
                if departure.cancelled_at is not None:  # cancelled a moment ago
                    raise Conflict(_("This bus is cancelled: book another departure."))
                raise Full(_("This bus is full. You can join the waitlist."))
            # A seat replaces the runner's place on the waitlist (never both: one place per bus).
            db.session.execute(
                delete(WaitlistEntry).where(
                    WaitlistEntry.user_id == user.id, WaitlistEntry.departure_id == departure.id
                )
            )
            booking = _seat(user.id, departure.id, now, key)
    except IntegrityError:
        # A concurrent request with the same key (or for the same seat) won: return its booking.
        db.session.rollback()
        same = (
            (Booking.idempotency_key == key)
            if key
            else ((Booking.departure_id == departure_id) & (Booking.status == BOOKED))
        )
        existing = db.session.scalar(select(Booking).where(Booking.user_id == user.id, same))
        if existing is None:
            raise Conflict(_("That did not go through; try again.")) from None
        return existing
    db.session.refresh(booking)
    return booking


def _seat(user_id: int, departure_id: int, now: datetime, key: str | None = None) -> Booking:
    """A booking row for a seat already counted in seats_taken."""
    booking = Booking(
        reference=new_reference(),
        user_id=user_id,
        departure_id=departure_id,
        status=BOOKED,
        idempotency_key=key,
        created_at=now,
    )
    db.session.add(booking)
    db.session.flush()
    departure = db.session.get(ShuttleDeparture, departure_id)
    assert departure is not None
    reminders.plan_bus(booking, departure, now=now)
    return booking


def _must_run(departure: ShuttleDeparture, now: datetime) -> None:
    if departure.cancelled_at is not None:
        raise Conflict(_("This bus is cancelled: book another departure."))
    if departure.leaves_at <= now:
        raise Conflict(_("This bus has already left."))
    state = race_state.of_event(departure.route.event, now)
    if not state.route_runs(departure.route):
        raise Conflict(not_running_reason(state, departure.route))


def booking_for(user: User, reference: str) -> Booking:
    """The user's own booking with this reference; anyone else's is "not found"."""
    booking = db.session.scalar(select(Booking).where(Booking.reference == reference.upper()))
    if booking is None or booking.user_id != user.id:
        raise NotFound(_("There is no such ticket."))
    return booking


def cancel_deadline(booking: Booking) -> datetime:
    departure = booking.departure
    return departure.leaves_at - timedelta(minutes=departure.route.cancel_before_minutes or 0)


def cancel(user: User, reference: str, *, now: datetime) -> Booking:
    """Give the seat back; the first runner on the waitlist gets it at once."""
    booking = booking_for(user, reference)
    if booking.status != BOOKED:
        return booking  # cancelling twice changes nothing
    if now >= cancel_deadline(booking):
        raise Conflict(_("It is too late to cancel this seat."))
    with write_transaction():
        changed = rowcount(
            db.session.execute(
                update(Booking)
                .where(Booking.id == booking.id, Booking.status == BOOKED)
                .values(status=SEAT_CANCELLED, cancelled_at=now)
                .execution_options(synchronize_session=False)
            )
        )
        if changed == 1:
            _give_seat_to_waitlist_or_free_it(booking.departure_id, now)
    db.session.refresh(booking)
    return booking


def _give_seat_to_waitlist_or_free_it(departure_id: int, now: datetime) -> None:
    departure = db.session.get(ShuttleDeparture, departure_id)
    assert departure is not None
    while True:
        first = db.session.scalar(
            select(WaitlistEntry)
            .where(WaitlistEntry.departure_id == departure_id)
            .order_by(WaitlistEntry.created_at, WaitlistEntry.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        if first is None:
            break
        db.session.delete(first)
        db.session.flush()  # the waitlist place goes before the seat comes (one place per bus)
        already = db.session.scalar(
            select(Booking.id).where(
                Booking.user_id == first.user_id,
                Booking.departure_id == departure_id,
                Booking.status == BOOKED,
            )
        )
        if already is not None:
            continue
        booking = _seat(first.user_id, departure_id, now)
        local = departure.leaves_at.astimezone(zone_of(departure.route.event))

        def seat_freed(
            route: ShuttleRoute = departure.route,
            local: datetime = local,
            reference: str = booking.reference,
        ) -> str:
            return _(
                "A seat freed up: you are booked on the %(origin)s → %(destination)s bus, "
                "%(when)s. Ticket %(reference)s.",
                origin=text_of(route, "origin"),
                destination=text_of(route, "destination"),
                when=format_when(local, "day_time"),
                reference=reference,
            )

        # Written now in every language: the runner reads it later, in theirs.
        texts = in_every_language(seat_freed)
        link = f"/shuttles/tickets/{booking.reference}"
        db.session.add(
            Notice(
                user_id=first.user_id,
                created_at=now,
                text=texts[DEFAULT_LANGUAGE],
                texts={"text": texts},
                link=link,
            )
        )
        # The runner may be asleep or on the road: the seat reaches their phone (push) and
        # their inbox, through the alerts' durable outboxes, in this same transaction.
        _tell_passenger(departure, booking, texts, link, now)
        return  # the seat went to the waitlist: seats_taken stays as it is
    db.session.execute(
        update(ShuttleDeparture)
        .where(ShuttleDeparture.id == departure_id, ShuttleDeparture.seats_taken > 0)
        .values(seats_taken=ShuttleDeparture.seats_taken - 1)
        .execution_options(synchronize_session=False)
    )


def join_waitlist(user: User, departure_id: int, *, now: datetime) -> WaitlistEntry:
    """Queue for a full departure."""
    departure = find_departure(departure_id)
    may_ride(user, departure.route)
    _must_run(departure, now)
    if seats_left(departure) != 0:
        raise Conflict(_("This bus still has seats: book one."))
    mine = (WaitlistEntry.user_id == user.id) & (WaitlistEntry.departure_id == departure_id)
    has_seat = _holds_seat(user.id, departure_id)
    try:
        with write_transaction():
            # The departure's row lock orders this after any booking of the same bus.
            _lock(departure_id)
            db.session.refresh(departure)
            if departure.cancelled_at is not None:
                raise Conflict(_("This bus is cancelled: book another departure."))
            if db.session.scalar(has_seat) is not None:
                raise Conflict(_("You already have a seat on this bus."))
            entry = db.session.scalar(select(WaitlistEntry).where(mine))
            if entry is None:
                entry = WaitlistEntry(user_id=user.id, departure_id=departure_id, created_at=now)
                db.session.add(entry)
    except IntegrityError:  # queued, or seated, by a concurrent request a moment ago
        db.session.rollback()
        if db.session.scalar(has_seat) is not None:
            raise Conflict(_("You already have a seat on this bus.")) from None
        entry = db.session.scalars(select(WaitlistEntry).where(mine)).one()
    return entry


def _holds_seat(user_id: int, departure_id: int):
    return select(Booking.id).where(
        Booking.user_id == user_id, Booking.departure_id == departure_id, Booking.status == BOOKED
    )


def _lock(departure_id: int) -> None:
    """Take the departure's row lock (PostgreSQL; SQLite's write lock is already held)."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(
            select(ShuttleDeparture.id).where(ShuttleDeparture.id == departure_id).with_for_update()
        )


def leave_race(user: User, event: Event, *, now: datetime) -> None:
    """Leave the event: an entry from the organizer's list goes back to the list (its bib
    can be claimed again with a new code), an open sign-up is deleted; with it go the
    runner's places on the buses only runners may take."""
    with write_transaction():
        entry = accounts.entry_for(user, event)
        if entry is None:
            raise NotFound(_("You have not entered this event."))
        claims.release(entry, now=now)
        release_runner_places(user.id, event, now=now)


def release_runner_places(user_id: int, event: Event, *, now: datetime) -> None:
    """Give back a runner's places on the event's buses that only runners may take: seats
    go to the waitlist first, waitlist places go. Buses open to supporters keep theirs: a
    supporter may still ride. Runs inside the caller's write transaction."""
    runners_only = (
        select(ShuttleDeparture.id)
        .join(ShuttleRoute)
        .where(ShuttleRoute.event_id == event.id, ShuttleRoute.supporters_allowed.is_(False))
    )
    db.session.execute(
        delete(WaitlistEntry).where(
            WaitlistEntry.user_id == user_id, WaitlistEntry.departure_id.in_(runners_only)
        )
    )
    seats = db.session.execute(
        update(Booking)
        .where(
            Booking.user_id == user_id,
            Booking.status == BOOKED,
            Booking.departure_id.in_(runners_only),
        )
        .values(status=SEAT_CANCELLED, cancelled_at=now)
        .returning(Booking.departure_id)
        .execution_options(synchronize_session=False)
    )
    for departure_id in seats.scalars().all():
        _give_seat_to_waitlist_or_free_it(departure_id, now)


def release_all_places(user_id: int, *, now: datetime) -> None:
    """Give back every seat and waitlist place of a runner (their account is being deleted):
    seats go to the waitlist first. Runs inside the caller's write transaction."""
    db.session.execute(delete(WaitlistEntry).where(WaitlistEntry.user_id == user_id))
    seats = db.session.execute(
        update(Booking)
        .where(Booking.user_id == user_id, Booking.status == BOOKED)
        .values(status=SEAT_CANCELLED, cancelled_at=now)
        .returning(Booking.departure_id)
        .execution_options(synchronize_session=False)
    )
    for departure_id in seats.scalars().all():
        _give_seat_to_waitlist_or_free_it(departure_id, now)


def leave_waitlist(user: User, departure_id: int) -> None:
    """Leave the queue of a departure."""
    with write_transaction():
        db.session.execute(
            delete(WaitlistEntry).where(
                WaitlistEntry.user_id == user.id, WaitlistEntry.departure_id == departure_id
            )
        )


def next_booking(user: User, event: Event, now: datetime) -> Booking | None:
    """The user's next live booking for this event's buses that has not left yet (a delayed
    bus still counts after its timetable time)."""
    upcoming = db.session.scalars(
        select(Booking)
        .join(ShuttleDeparture)
        .join(ShuttleRoute)
        .where(
            Booking.user_id == user.id,
            Booking.status == BOOKED,
            ShuttleRoute.event_id == event.id,
            ShuttleDeparture.departs_at > now - timedelta(minutes=DELAY_MAX_MINUTES),
        )
        .order_by(ShuttleDeparture.departs_at)
    )
    still = [b for b in upcoming if b.departure.leaves_at > now]
    return min(still, key=lambda b: b.departure.leaves_at, default=None)


def organized_departure(user: User, departure_id: int) -> ShuttleDeparture:
    """A departure of a race this user organizes (its manifest is private)."""
    found = find_departure(departure_id)
    if not accounts.is_organizer(user, found.route.event, permission=MANIFESTS):
        raise Forbidden(_("Only the organizers of this race can see who is on the bus."))
    return found


def ticket_check(user: User, reference: str) -> tuple[Booking, Entry | None]:
    """What the driver's scan shows: the booking and the runner's entry. Non-organizers are
    refused before the lookup, so nobody learns which references exist."""
    if not accounts.organizes_any(user):
        raise Forbidden(_("Only the organizers of a race can check its tickets."))
    booking = db.session.scalar(select(Booking).where(Booking.reference == reference.upper()))
    if booking is None or not accounts.is_organizer(
        user, booking.departure.route.event, permission=MANIFESTS
    ):
        raise NotFound(_("There is no such ticket."))
    return booking, accounts.entry_for(booking.user, booking.departure.route.event)


@dataclass(frozen=True)
class Boarding:
    """What the bus door is told about one scanned ticket."""

    booking: Booking
    entry: Entry | None
    boarded_now: bool  # this scan boarded the passenger (False: already on board)
    other_departure: bool  # the ticket is for another departure than the one boarding


def board(
    user: User,
    reference: str,
    departure_id: int,
    *,
    scanned_at: datetime | None,
    now: datetime,
) -> Boarding:
    """Mark a ticket's passenger on board. A second scan is refused as "already on board";
    scans made offline and sent later keep the earliest; a ticket for another departure is
    flagged and not boarded."""
    departure = organized_departure(user, departure_id)
    at = min(scanned_at, now) if scanned_at is not None else now
    with write_transaction():
        query = select(Booking).where(Booking.reference == reference.strip().upper())
        if db.engine.dialect.name == "postgresql":
            query = query.with_for_update()
        booking = db.session.scalar(query)
        if booking is None or booking.departure.route.event_id != departure.route.event_id:
            raise NotFound(_("There is no such ticket."))
        entry = accounts.entry_for(booking.user, departure.route.event)
        if booking.status != BOOKED:
            raise DomainError(_("This ticket was cancelled: it is not valid."))
        if booking.departure_id != departure.id:
            return Boarding(booking, entry, False, True)
        if booking.boarded_at is not None:
            # Two phones scanned it offline: the earlier scan is when they boarded.
            booking.boarded_at = min(booking.boarded_at, at)
            return Boarding(booking, entry, False, False)
        booking.boarded_at = at
        return Boarding(booking, entry, True, False)


def manifest(departure: ShuttleDeparture) -> list[tuple[Booking, Entry | None]]:
    """Booked passengers of a departure, with their bib when they are runners."""
    bookings = db.session.scalars(
        select(Booking)
        .where(Booking.departure_id == departure.id, Booking.status == BOOKED)
        .order_by(Booking.created_at, Booking.id)
    ).all()
    return _with_entries(departure, list(bookings))


def _with_entries(
    departure: ShuttleDeparture, bookings: list[Booking]
) -> list[tuple[Booking, Entry | None]]:
    entries = {
        e.user_id: e
        for e in db.session.scalars(
            select(Entry).where(
                Entry.event_id == departure.route.event_id,
                Entry.user_id.in_([b.user_id for b in bookings]),
            )
        )
    }
    return [(b, entries.get(b.user_id)) for b in bookings]


def unread_notices(user: User) -> list[Notice]:
    return list(
        db.session.scalars(
            select(Notice)
            .where(Notice.user_id == user.id, Notice.read_at.is_(None))
            .order_by(Notice.created_at.desc())
        )
    )


def _fit(title: str) -> str:
    """A title the app writes itself fits the lock screen's limit, however long a stop's name:
    the app's own messages are never refused."""
    if len(title) <= alerts.TITLE_MAX:
        return title
    return title[: alerts.TITLE_MAX - 1].rstrip() + "…"


def _tell_passenger(
    departure: ShuttleDeparture, booking: Booking, bodies: dict[str, str], link: str, now
) -> None:
    """An alert to the one passenger a waitlist seat went to (push and e-mail)."""
    route = departure.route
    local = departure.leaves_at.astimezone(zone_of(route.event))
    titles = in_every_language(
        lambda: _(
            "You have a seat on the %(time)s bus from %(origin)s",
            time=format_when(local, "day_time"),
            origin=text_of(route, "origin"),
        )
    )
    alerts.post_within(
        None,
        route.event,
        alerts.AlertDraft(
            "info",
            titles={language: _fit(text) for language, text in titles.items()},
            bodies=bodies,
            link=link,
            audience=f"passenger:{booking.id}",
        ),
        now=now,
    )


# --- On the day: headquarters delays or cancels a departure -------------------------------------


def operated_departure(user: User, departure_id: int) -> ShuttleDeparture:
    """A departure whose changes this user may announce (the race's headquarters)."""
    found = find_departure(departure_id)
    if not team.may(user, found.route.event, ALERTS):
        raise Forbidden(_("Only the race's headquarters can delay or cancel a bus."))
    return found


def _next_departures(
    departure: ShuttleDeparture, now: datetime, limit: int = 3
) -> list[ShuttleDeparture]:
    """The next departures of the same route a passenger can still take."""
    state = race_state.of_event(departure.route.event, now)
    runs = state.route_runs(departure.route)
    others = [
        other
        for other in sorted(departure.route.departures, key=lambda d: d.leaves_at)
        if other.id != departure.id and state_of(other, runs, now) in ("open", "full")
    ]
    return others[:limit]


def _in_words(departure: ShuttleDeparture, zone) -> str:
    """A departure offered instead, with its seats, in the language in force."""
    left = seats_left(departure)
    when = format_when(departure.leaves_at.astimezone(zone), "day_time")
    if left is None:
        return when
    if left == 0:
        return _("%(time)s (full: waitlist)", time=when)
    return ngettext("%(time)s (%(num)d seat)", "%(time)s (%(num)d seats)", left, time=when)


def _bus_change_draft(
    departure: ShuttleDeparture, now: datetime, notes: dict[str, str], title, sentence
) -> alerts.AlertDraft:
    """The alert to a departure's passengers: what happened, the next buses, the note."""
    route = departure.route
    zone = zone_of(route.event)

    def words(make) -> dict[str, str]:
        return in_every_language(
            lambda: make(
                when=format_when(departure.departs_at.astimezone(zone), "day_time"),
                leaves=format_when(departure.leaves_at.astimezone(zone), "day_time"),
                origin=text_of(route, "origin"),
                destination=text_of(route, "destination"),
            )
        )

    others = _next_departures(departure, now)  # once: the body is written in each language

    def body(**names) -> str:
        lines = [sentence(**names)]
        if others:
            times = join_clauses([_in_words(other, zone) for other in others])
            lines.append(_("Next buses: %(times)s.", times=times))
        else:
            lines.append(_("No other bus of this route is left: contact the race office."))
        return "\n".join(lines)

    bodies = words(body)
    for language, note in notes.items():
        note = (note or "").strip()
        if note and language in bodies:
            bodies[language] = f"{bodies[language]}\n\n{note}"
    return alerts.AlertDraft(
        "info",
        titles={language: _fit(text) for language, text in words(title).items()},
        bodies=bodies,
        link=f"/events/{route.event.slug}/shuttles#departure-{departure.id}",
        audience=f"departure:{departure.id}",
    )


def delay_departure(
    user: User, departure_id: int, minutes: int, notes: dict[str, str], *, now: datetime
) -> Alert:
    """Delay a departure by `minutes` after its timetable time (0: back on time): its bus
    reminders move, and its passengers are alerted with the next buses they could take."""
    departure = operated_departure(user, departure_id)
    if not 0 <= minutes <= DELAY_MAX_MINUTES:
        raise DomainError(
            _(
                "Give the delay in minutes after the timetable time (0 to %(max)d).",
                max=DELAY_MAX_MINUTES,
            )
        )
    if departure.cancelled_at is not None:
        raise Conflict(_("This departure is cancelled."))
    if departure.leaves_at <= now:
        raise Conflict(_("This bus has already left."))
    if minutes == departure.delay_minutes:
        raise DomainError(_("The bus already leaves at that time."))
    if departure.departs_at + timedelta(minutes=minutes) <= now:
        raise DomainError(_("That time has already passed: give a later one."))
    with write_transaction():
        _lock_running(departure, now)
        departure.delay_minutes = minutes
        db.session.flush()
        reminders.reschedule(departure.route.event, now=now)
        draft = _bus_change_draft(
            departure,
            now,
            notes,
            _delayed_title if minutes else _on_time_title,
            _delayed_sentence if minutes else _on_time_sentence,
        )
        alert = alerts.post_within(user, departure.route.event, draft, now=now)
        # What it announced: withdrawing it would not undo it (services.alerts refuses).
        alert.effect = {"bus": "delay", "departure": departure.id, "minutes": minutes}
        return alert


def _lock_running(departure: ShuttleDeparture, now: datetime) -> None:
    """Inside the write transaction: the departure as it stands now (locked on PostgreSQL),
    refused if it was cancelled or left meanwhile."""
    _lock(departure.id)
    db.session.refresh(departure)
    if departure.cancelled_at is not None:
        raise Conflict(_("This departure is already cancelled."))
    if departure.leaves_at <= now:
        raise Conflict(_("This bus has already left."))


def _delayed_title(**names) -> str:
    return _("Bus delayed: %(origin)s now leaves %(leaves)s", **names)


def _delayed_sentence(**names) -> str:
    return _(
        "Your bus %(origin)s → %(destination)s (%(when)s) leaves late, at %(leaves)s. Your "
        "seat is kept; you can change to another bus below.",
        **names,
    )


def _on_time_title(**names) -> str:
    return _("Bus back on time: %(origin)s leaves %(leaves)s", **names)


def _on_time_sentence(**names) -> str:
    return _(
        "Your bus %(origin)s → %(destination)s leaves at its timetable time, %(leaves)s.",
        **names,
    )


def _cancelled_title(**names) -> str:
    return _("Bus cancelled: %(origin)s %(when)s", **names)


def _cancelled_sentence(**names) -> str:
    return _(
        "Your bus %(origin)s → %(destination)s (%(when)s) is cancelled. Your seat is released: "
        "book one of the next buses.",
        **names,
    )


def cancel_departure(
    user: User, departure_id: int, notes: dict[str, str], *, now: datetime
) -> Alert:
    """Cancel a departure (a breakdown, a closed road): its passengers are alerted with the
    next buses, their seats and the waitlist are released so they can book another."""
    departure = operated_departure(user, departure_id)
    with write_transaction():
        _lock_running(departure, now)
        # The alert first: it goes to the passengers booked on it now.
        alert = alerts.post_within(
            user,
            departure.route.event,
            _bus_change_draft(departure, now, notes, _cancelled_title, _cancelled_sentence),
            now=now,
        )
        alert.effect = {"bus": "cancel", "departure": departure.id}
        departure.cancelled_at = now
        db.session.execute(
            update(Booking)
            .where(Booking.departure_id == departure.id, Booking.status == BOOKED)
            .values(status=SEAT_CANCELLED, cancelled_at=now)
            .execution_options(synchronize_session=False)
        )
        db.session.execute(delete(WaitlistEntry).where(WaitlistEntry.departure_id == departure.id))
        departure.seats_taken = 0
    return alert


def told_passengers(departure: ShuttleDeparture) -> list[tuple[Booking, Entry | None]]:
    """The passengers a cancelled departure had: their seats went with it."""
    if departure.cancelled_at is None:
        return []
    bookings = db.session.scalars(
        select(Booking)
        .where(
            Booking.departure_id == departure.id,
            Booking.status == SEAT_CANCELLED,
            Booking.cancelled_at == departure.cancelled_at,
        )
        .order_by(Booking.created_at, Booking.id)
    ).all()
    return _with_entries(departure, list(bookings))
