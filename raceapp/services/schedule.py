"""The weekend's schedule for one runner's category, and its iCalendar export."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from icalendar import Calendar
from icalendar import Event as VEvent

from raceapp.models import Event, ScheduleItem
from raceapp.services.timing import zone_of


@dataclass(frozen=True)
class ScheduleRow:
    item: ScheduleItem
    state: str  # "past", "now", "next" or "later"


@dataclass(frozen=True)
class ScheduleDay:
    day: date
    rows: list[ScheduleRow]


def items_for(event: Event, category_code: str | None) -> list[ScheduleItem]:
    """Items for everyone plus those of the category (all of them when no category is given)."""
    return [i for i in event.schedule_items
            if category_code is None or not i.category_codes or category_code in i.category_codes]


def days(event: Event, category_code: str | None, now: datetime) -> list[ScheduleDay]:
    """The items grouped by local day, with what is happening now and what comes next."""
    zone = zone_of(event)
    grouped: dict[date, list[ScheduleRow]] = {}
    next_at: datetime | None = None
    items = items_for(event, category_code)
    upcoming = [i.starts_at for i in items if i.starts_at > now]
    if upcoming:
        next_at = min(upcoming)
    for item in items:
        end = item.ends_at or item.starts_at
        if item.starts_at <= now < end or (item.ends_at is None and item.starts_at == now):
            state = "now"
        elif end <= now and item.starts_at <= now:
            state = "past"
        elif item.starts_at == next_at:
            state = "next"
        else:
            state = "later"
        grouped.setdefault(item.starts_at.astimezone(zone).date(), []).append(
            ScheduleRow(item, state))
    return [ScheduleDay(d, rows) for d, rows in sorted(grouped.items())]


def _uid(event: Event, item: ScheduleItem) -> str:
    # Items are replaced on re-import; a content-based UID keeps calendars from duplicating.
    key = f"{event.slug}|{item.kind}|{item.title}|{item.starts_at.isoformat()}"
    return f"{hashlib.sha256(key.encode()).hexdigest()[:24]}@raceapp"


def to_ics(event: Event, category_code: str | None, *, now: datetime) -> bytes:
    """An iCalendar file with one event per schedule item, in the event's time zone."""
    zone = zone_of(event)
    cal = Calendar()
    cal.add("prodid", "-//raceapp//race schedule//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", event.name)
    cal.add("x-wr-timezone", event.time_zone)
    for item in items_for(event, category_code):
        vevent = VEvent()
        vevent.add("uid", _uid(event, item))
        vevent.add("dtstamp", now)
        vevent.add("summary", f"{item.title} · {event.name}")
        vevent.add("dtstart", item.starts_at.astimezone(zone))
        vevent.add("dtend", (item.ends_at or item.starts_at + timedelta(minutes=15)).astimezone(zone))
        if item.details:
            vevent.add("description", item.details)
        if item.location or event.venue:
            vevent.add("location", item.location or event.venue)
        vevent.add("categories", [item.kind])
        cal.add_component(vevent)
    cal.add_missing_timezones()
    return cal.to_ical()
