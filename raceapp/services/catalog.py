"""The races as lists: the public list of events and a runner's own races, each as it stands."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from raceapp.errors import NotFound
from raceapp.extensions import db
from raceapp.models import Category, Event, EventLogo, OrganizerRole, User
from raceapp.services import kit, race_state
from raceapp.services.kit import RaceChoice
from raceapp.services.race_state import EventState
from raceapp.vocabulary import CANCELLED, FINISHED


@dataclass(frozen=True)
class Catalog:
    """Races still to come (or under way), soonest first, and past races, latest first. Files
    that hold only rules are not races to list."""

    upcoming: list[EventState]
    past: list[EventState]


def _when(state: EventState) -> float:
    starts = [when for c in state.categories if (when := c.start or c.ends) is not None]
    if starts:
        return min(starts).timestamp()
    day = state.event.start_date
    return datetime(day.year, day.month, day.day).timestamp() if day else float("inf")


def _is_past(state: EventState) -> bool:
    if state.state == FINISHED:
        return True
    if state.state == CANCELLED:  # a cancelled race is past once its days are over
        ends = [c.ends for c in state.categories if c.ends]
        return bool(ends) and max(ends) <= state.now
    return False


def events(now: datetime) -> Catalog:
    """Every race with its state, in two lists."""
    rows = db.session.scalars(
        select(Event).options(selectinload(Event.categories).selectinload(Category.checkpoints))
    ).all()
    states = [s for s in race_state.of_events(rows, now).values() if s.is_race]
    upcoming = sorted((s for s in states if not _is_past(s)), key=_when)
    past = sorted((s for s in states if _is_past(s)), key=_when, reverse=True)
    return Catalog(upcoming, past)


@dataclass(frozen=True)
class Home:
    """The landing page: the runner's own races first, then every race."""

    my_upcoming: list[RaceChoice]
    my_past: list[RaceChoice]
    catalog: Catalog


def home(user: User, *, now: datetime) -> Home:
    races = kit.runner_races(user, now)
    return Home([r for r in races if not r.is_past], [r for r in races if r.is_past], events(now))


def organized(user: User, *, now: datetime) -> Catalog:
    """The events this organizer runs, as they stand (rules pages too: they publish them)."""
    rows = db.session.scalars(
        select(Event)
        .join(OrganizerRole, OrganizerRole.event_id == Event.id)
        .where(OrganizerRole.user_id == user.id)
        .options(selectinload(Event.categories).selectinload(Category.checkpoints))
    ).all()
    states = list(race_state.of_events(rows, now).values())
    return Catalog(
        sorted((s for s in states if not _is_past(s)), key=_when),
        sorted((s for s in states if _is_past(s)), key=_when, reverse=True),
    )


def logo_of(slug: str) -> EventLogo | None:
    """The logo of the race at `slug`, if its race file gives one."""
    return db.session.scalar(
        select(EventLogo).join(Event, Event.id == EventLogo.event_id).where(Event.slug == slug)
    )


def event_by_slug(slug: str) -> Event:
    """The event with this address, or NotFound."""
    event = db.session.scalar(select(Event).where(Event.slug == slug))
    if event is None:
        raise NotFound(_("There is no such race."))
    return event


def category_by_code(event: Event, code: str) -> Category:
    category = next((c for c in event.categories if c.code == code), None)
    if category is None:
        raise NotFound(_("There is no such category."))
    return category
