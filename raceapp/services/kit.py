"""The runner's race kit: which race it shows, what its home shows, and the whole kit as data
for offline use. Every part reads the race as it stands (services.race_state)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import (
    BindParameter,
    FromClause,
    Select,
    Subquery,
    bindparam,
    case,
    func,
    select,
    true,
    update,
)
from sqlalchemy.orm import joinedload

from raceapp import localized
from raceapp.database import write_transaction
from raceapp.errors import NotFound
from raceapp.extensions import db
from raceapp.i18n import current_language, text_of
from raceapp.models import (
    Alert,
    AlertRead,
    Booking,
    Category,
    CourseTrack,
    DropOut,
    Entry,
    Event,
    GearTick,
    Notice,
    OrganizerRole,
    PersonalGearItem,
    User,
    WaitlistEntry,
)
from raceapp.services import alerts, gear, race_state, shuttles
from raceapp.services.race_state import CategoryState, EventState
from raceapp.services.timing import zone_of
from raceapp.vocabulary import BOOKED, FINISHED, IN_PROGRESS
from raceapp.vocabulary import race_state as state_word


@dataclass(frozen=True)
class RaceChoice:
    """One race the runner entered, as it stands."""

    entry: Entry
    event_state: EventState
    state: CategoryState

    @property
    def event(self) -> Event:
        return self.entry.event

    @property
    def is_past(self) -> bool:
        return self.state.state == FINISHED or (
            self.state.ends is not None and self.state.ends <= self.event_state.now
        )


def _order(choice: RaceChoice) -> tuple:
    # In progress first, then the soonest upcoming, then the past ones, the latest first.
    state = choice.state
    when = state.start or (state.ends if state.ends else None)
    stamp = when.timestamp() if when else float("inf")
    if state.state == IN_PROGRESS:
        return (0, stamp)
    if not choice.is_past:
        return (1, stamp)
    return (2, -stamp if when else 0.0)


def runner_races(user: User, now: datetime) -> list[RaceChoice]:
    """Every race the runner entered, the one their kit should open on first."""
    if not getattr(user, "is_authenticated", False):
        return []
    entries = (
        db.session.scalars(
            select(Entry)
            .where(Entry.user_id == user.id, Entry.withdrawn_at.is_(None))
            # The race state reads every category's checkpoints: loaded here in two queries
            # rather than one per category as they are touched.
            .options(
                joinedload(Entry.event)
                .selectinload(Event.categories)
                .selectinload(Category.checkpoints),
                joinedload(Entry.category),
            )
        )
        .unique()
        .all()
    )
    states = race_state.of_events({e.event_id: e.event for e in entries}.values(), now)
    choices = [
        RaceChoice(e, states[e.event_id], states[e.event_id].category(e.category.code))
        for e in entries
    ]
    return sorted(choices, key=_order)


def entry_by_id(entry_id: object) -> Entry:
    """An entry by its id (from a signed calendar address), or NotFound."""
    entry = db.session.get(Entry, entry_id) if isinstance(entry_id, int) else None
    if entry is None:
        raise NotFound(_("There is no such calendar."))
    return entry


def pick(choices: list[RaceChoice], chosen_slug: str | None) -> RaceChoice | None:
    """The race the runner chose to look at, else the next one."""
    chosen = next((c for c in choices if c.event.slug == chosen_slug), None)
    return chosen or (choices[0] if choices else None)


@dataclass(frozen=True)
class KitHome:
    """What the kit home shows."""

    choice: RaceChoice
    races: list[RaceChoice]
    checklist: gear.Checklist
    booking: Booking | None
    alerts: alerts.KitAlerts
    notices: list[Notice]
    # The runner reported they stopped (the kit says so first).
    dropped: DropOut | None = None

    @property
    def entry(self) -> Entry:
        return self.choice.entry

    @property
    def event(self) -> Event:
        return self.choice.event

    @property
    def state(self) -> CategoryState:
        return self.choice.state

    @property
    def banner(self) -> Alert | None:
        """The newest change to the runner's race, unless the race is back as it was."""
        return self.state.headline


def home(user: User, choice: RaceChoice, races: list[RaceChoice], *, now: datetime) -> KitHome:
    """The kit home of one race: readiness, ticket, alerts and notices."""
    entry = choice.entry
    return KitHome(
        choice,
        races,
        gear.checklist(entry),
        shuttles.next_booking(user, entry.event, now),
        alerts.for_kit(user, entry),
        shuttles.unread_notices(user),
        db.session.scalar(select(DropOut).where(DropOut.entry_id == entry.id)),
    )


def _packed(model, packed_column):
    # Which rows are packed, as a count and a sum of ids: a tick shows even when an offline
    # tick carries an older time than the newest one. (Flips that cancel out in both are
    # left to the minute in the ETag.)
    return (
        func.coalesce(func.sum(case((packed_column, 1), else_=0)), 0),
        func.coalesce(func.sum(case((packed_column, model.id), else_=0)), 0),
    )


def _each(*aggregates, where) -> Subquery:
    # One table's figures in one derived table of aggregates (always exactly one row): the
    # database plans a dozen of these much faster than one subquery per figure.
    return select(*(a.label(f"f{n}") for n, a in enumerate(aggregates))).where(*where).subquery()


def _one_row(first: Subquery, *others: Subquery) -> Select:
    joined: FromClause = first
    for table in others:
        joined = joined.join(table, true())
    return select(*first.c, *(column for table in others for column in table.c)).select_from(joined)


_uid: BindParameter[int] = bindparam("uid")
_entered_events = select(Entry.event_id).where(Entry.user_id == _uid)
# Built once: asked on every open of the kit home, and SQLAlchemy remembers the compiled form
# of a statement object it has seen. One round trip: one row of every table's figures.
_FINGERPRINT = _one_row(
    # Which races the runner entered, in which category, with which bib (the kit shows one,
    # the switcher lists them all): summed up without choosing the race, which would mean
    # working out every race's state first.
    _each(
        func.count(),
        func.max(Entry.id),
        func.sum(Entry.event_id),
        func.sum(Entry.category_id),
        func.min(Entry.bib),
        func.max(Entry.bib),
        func.max(Entry.updated_at),
        func.count(Entry.withdrawn_at),
        where=[Entry.user_id == _uid],
    ),
    _each(
        func.count(),
        func.max(GearTick.ticked_at),
        *_packed(GearTick, GearTick.packed),
        where=[GearTick.user_id == _uid],
    ),
    _each(
        func.count(),
        func.max(PersonalGearItem.id),
        func.max(PersonalGearItem.ticked_at),
        *_packed(PersonalGearItem, PersonalGearItem.packed),
        where=[PersonalGearItem.user_id == _uid],
    ),
    _each(
        func.count(), *_packed(Booking, Booking.status == "booked"), where=[Booking.user_id == _uid]
    ),
    _each(func.count(), func.max(WaitlistEntry.id), where=[WaitlistEntry.user_id == _uid]),
    _each(
        func.count(), func.max(Notice.id), where=[Notice.user_id == _uid, Notice.read_at.is_(None)]
    ),
    _each(func.count(), where=[AlertRead.user_id == _uid]),
    # Alerts of every race the runner entered: they change the state of the races listed. A
    # correction or a withdrawal adds no row but a revision (a withdrawal undoes a change).
    _each(
        func.count(),
        func.max(Alert.id),
        func.sum(Alert.revision),
        where=[Alert.event_id.in_(_entered_events)],
    ),
    _each(func.max(Event.updated_at), where=[Event.id.in_(_entered_events)]),
    # The course of the runner's categories (the cut-offs page draws it; phones keep it).
    _each(
        func.count(),
        func.max(CourseTrack.imported_at),
        where=[CourseTrack.category_id.in_(select(Entry.category_id).where(Entry.user_id == _uid))],
    ),
    # The navigation shows organizers their desk.
    _each(func.count(), where=[OrganizerRole.user_id == _uid]),
    # "You have stopped", and when headquarters accounted for the runner.
    _each(
        func.count(),
        func.max(DropOut.client_key),
        func.max(DropOut.accounted_at),
        where=[DropOut.user_id == _uid],
    ),
)


def kit_fingerprint(user: User) -> tuple:
    """Everything the kit pages are made of, summed up in one query: the runner's entries,
    their races' files and courses, the alerts of those races, and the runner's reads, ticks,
    own items, bookings, waitlist places, notices, drop-out reports and organizer roles.
    Equal fingerprints (within the same minute) mean an equal page, so it need not be made."""
    row = db.session.execute(_FINGERPRINT, {"uid": user.id}).one()
    return (user.id, user.name, *row)


def _iso(instant: datetime | None, zone) -> str | None:
    return None if instant is None else instant.astimezone(zone).isoformat()


def kit(user: User, choice: RaceChoice) -> dict[str, Any]:
    """Everything a runner needs offline, as the race stands. Nothing in it depends on the
    current time, so the same kit yields the same bytes and a conditional request can be
    answered 304; its states are those of the moment it was made (`as_of`)."""
    return {**race_data(choice), **runner_data(user, choice)}


def race_data(choice: RaceChoice) -> dict[str, Any]:
    """The part of the offline kit that is the same for every runner of the category at this
    state of the race, in the reader's language: the race, the category and its cut-offs,
    the schedule, contacts and how to drop out."""
    entry, event_state, state = choice.entry, choice.event_state, choice.state
    event, category = entry.event, entry.category
    zone = zone_of(event)
    details = event.details or {}
    headline = state.headline
    return {
        # Its words are in the reader's language (the response says so in Content-Language).
        "language": current_language(),
        "event": {
            "slug": event.slug,
            "name": text_of(event),
            "time_zone": event.time_zone,
            "venue": text_of(event, "venue"),
            "start_date": event.start_date and event.start_date.isoformat(),
            "end_date": event.end_date and event.end_date.isoformat(),
            "state": event_state.state,
            "state_label": str(state_word(event_state.state).label),
            "website": event.website,
        },
        "category": {
            "code": category.code,
            "name": text_of(category),
            "distance_km": category.distance_km,
            "distance_text": text_of(category, "distance_text"),
            "elevation_gain_m": category.elevation_gain_m,
            "state": state.state,
            "state_label": str(state_word(state.state).label),
            "start": _iso(state.start, zone),
            "published_start": _iso(state.published_start, zone),
            "start_date": state.start_day and state.start_day.isoformat(),
            "delay_minutes": state.delay_minutes,
            "finish_cutoff": _iso(state.finish, zone),
            "time_limit_minutes": category.time_limit_minutes,
        },
        "headline": None
        if headline is None
        else {
            "id": headline.id,
            "kind": headline.kind,
            "title": text_of(headline, "title"),
            "summary": localized.pick((headline.outcome or {}).get("summary"), current_language()),
        },
        "checkpoints": [
            {
                "label": text_of(cp.checkpoint, "label") or None,
                "name": text_of(cp.checkpoint),
                "km": cp.checkpoint.km,
                "status": cp.status,
                "cutoff_after_minutes": cp.elapsed_minutes,
                "cutoff": None if state.cancelled or not cp.has_cutoff else _iso(cp.at, zone),
                "finish": cp.checkpoint.is_finish,
            }
            for cp in state.checkpoints
        ],
        "schedule": [
            {
                "title": text_of(r.item, "title"),
                "kind": r.item.kind,
                "start": _iso(r.starts_at, zone),
                "end": _iso(r.ends_at, zone),
                "details": text_of(r.item, "details") or None,
                "location": text_of(r.item, "location") or None,
                "cancelled": r.cancelled,
                "moved_minutes": r.moved_minutes,
            }
            for r in event_state.schedule(category.code)
        ],
        "contacts": {"hq_phone": event.hq_phone, "people": details.get("contacts", [])},
        "drop_out": [
            localized.pick(rule, current_language())
            for rule in (details.get("rules") or {}).get("drop_out", [])
        ],
    }


def runner_data(
    user: User, choice: RaceChoice, feed: list[alerts.FeedItem] | None = None
) -> dict[str, Any]:
    """The runner's own part of the offline kit: bib, ticks, own items and alerts read
    (`feed`: the runner's alert feed, when the caller has read it already)."""
    entry = choice.entry
    event = entry.event
    zone = zone_of(event)
    checks = gear.checklist(entry)
    if feed is None:
        feed = alerts.feed(user, limit=50)
    feed = [item for item in feed if item.alert.event_id == event.id]
    return {
        "entry": {"bib": entry.bib},
        "gear": [
            {
                "id": r.item.id,
                "code": r.item.code,
                "name": text_of(r.item),
                "mandatory": r.item.mandatory,
                "spec": text_of(r.item, "spec") or None,
                "conditions": text_of(r.item, "conditions") or None,
                "packed": r.packed,
                "ticked_at": _iso(r.ticked_at, zone),
            }
            for r in checks.mandatory + checks.recommended
        ],
        "personal_gear": [
            {"id": p.id, "name": p.name, "packed": p.packed, "ticked_at": _iso(p.ticked_at, zone)}
            for p in checks.personal
        ],
        "alerts": [
            {
                "id": a.id,
                "kind": a.kind,
                "title": text_of(a, "title"),
                "body": text_of(a, "body"),
                "link": a.link,
                "posted": _iso(a.created_at, zone),
                "read": item.read,
                "category": a.category.code if a.category else None,
            }
            for item in feed
            if (a := item.alert)
        ],
    }


# How often a phone's fetch of the whole kit is written down: the dashboard's "kit cached for
# offline use" needs the fact, not every fetch (each would be a write on a read).
SYNC_NOTE_EVERY = timedelta(hours=1)


def note_synced(entry: Entry, *, now: datetime) -> None:
    """Record that the runner's phone took the whole kit for offline use."""
    if entry.kit_synced_at is not None and now - entry.kit_synced_at < SYNC_NOTE_EVERY:
        return
    # A write after the request's reads: in a transaction of its own (on SQLite a read
    # transaction cannot become a writer once another phone's note has been committed).
    with write_transaction():
        db.session.execute(
            update(Entry)
            .where(Entry.id == entry.id)
            .values(kit_synced_at=now)
            .execution_options(synchronize_session=False)
        )


def private_pages(
    user: User, feed: list[alerts.FeedItem] | None = None
) -> tuple[list[str], list[int]]:
    """The runner's own pages a phone may keep, across all their races: the tickets of their
    live bookings and the alerts they can read. Anything else the phone kept of that kind
    (a race they were withdrawn from, a cancelled seat) goes at the next sync."""
    references = db.session.scalars(
        select(Booking.reference).where(Booking.user_id == user.id, Booking.status == BOOKED)
    ).all()
    if feed is None:
        feed = alerts.feed(user, limit=50)
    alert_ids = [item.alert.id for item in feed]
    return list(references), alert_ids
