"""The weekend's schedule for one runner's category, and its iCalendar export.

Both read the schedule as it stands (services.race_state): a start delay moves the items tied
to the start, a cancelled category's items are marked cancelled.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from icalendar import Calendar
from icalendar import Event as VEvent

from raceapp.i18n import text_of
from raceapp.models import Event, ScheduleItem
from raceapp.services.race_state import EventState, ScheduleRow
from raceapp.services.timing import zone_of


@dataclass(frozen=True)
class DayRow:
    row: ScheduleRow
    phase: str  # "past", "now", "next", "later" or "cancelled"

    @property
    def item(self) -> ScheduleItem:
        return self.row.item


@dataclass(frozen=True)
class ScheduleDay:
    day: date
    rows: list[DayRow]


def days(state: EventState, category_code: str | None, now: datetime) -> list[ScheduleDay]:
    """The items grouped by local day, with what is happening now and what comes next."""
    zone = zone_of(state.event)
    rows = state.schedule(category_code)
    upcoming = [r.starts_at for r in rows if r.starts_at > now and not r.cancelled]
    next_at = min(upcoming) if upcoming else None
    grouped: dict[date, list[DayRow]] = {}
    for row in rows:
        end = row.ends_at or row.starts_at
        if row.cancelled:
            phase = "cancelled"
        elif row.starts_at <= now < end or (row.ends_at is None and row.starts_at == now):
            phase = "now"
        elif end <= now and row.starts_at <= now:
            phase = "past"
        elif row.starts_at == next_at:
            phase = "next"
        else:
            phase = "later"
        grouped.setdefault(row.starts_at.astimezone(zone).date(), []).append(DayRow(row, phase))
    return [ScheduleDay(d, day_rows) for d, day_rows in sorted(grouped.items())]


def _uid(event: Event, item: ScheduleItem) -> str:
    # Items are replaced on re-import: a UID from the published content keeps calendars from
    # duplicating them, and it stays the same when a delay moves the item (SEQUENCE goes up).
    key = f"{event.slug}|{item.kind}|{item.title}|{item.starts_at.isoformat()}"
    return f"{hashlib.sha256(key.encode()).hexdigest()[:24]}@raceapp"


def _summary(title: str, race: str, cancelled: bool) -> str:
    if cancelled:
        return _("Cancelled: %(title)s · %(race)s", title=title, race=race)
    return _("%(title)s · %(race)s", title=title, race=race)


def to_ics(state: EventState, category_code: str | None, *, now: datetime) -> bytes:
    """An iCalendar file with one event per schedule item as it stands, in the event's zone."""
    event = state.event
    zone = zone_of(event)
    cal = Calendar()
    cal.add("prodid", "-//raceapp//race schedule//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", text_of(event))
    cal.add("x-wr-timezone", event.time_zone)
    for row in state.schedule(category_code):
        item = row.item
        vevent = VEvent()
        vevent.add("uid", _uid(event, item))
        vevent.add("dtstamp", now)
        # Each change to the race raises the sequence, so a subscribed calendar takes the new
        # times instead of keeping the old ones.
        vevent.add("sequence", state.sequence)
        vevent.add("summary", _summary(text_of(item, "title"), text_of(event), row.cancelled))
        vevent.add("dtstart", row.starts_at.astimezone(zone))
        vevent.add("dtend", (row.ends_at or row.starts_at + timedelta(minutes=15)).astimezone(zone))
        vevent.add("status", "CANCELLED" if row.cancelled else "CONFIRMED")
        if item.details:
            vevent.add("description", text_of(item, "details"))
        if item.location or event.venue:
            vevent.add("location", text_of(item, "location") or text_of(event, "venue"))
        vevent.add("categories", [item.kind])
        cal.add_component(vevent)
    if category_code is not None:
        for vevent in _category_times(state, category_code, now):
            cal.add_component(vevent)
    cal.add_missing_timezones()
    return cal.to_ical()


def _category_times(state: EventState, code: str, now: datetime) -> list[VEvent]:
    """The category's start and finish cut-off, where the schedule has no item for them: every
    time the race publishes reaches the calendar, a date alone as an all-day event."""
    event, cat = state.event, state.category(code)
    zone = zone_of(event)
    listed = {row.item.kind for row in state.schedule(code) if code in row.item.category_codes}
    name = text_of(cat.category)
    out = []
    moments: list[tuple[str, str, date | datetime]] = []
    start = cat.start or cat.start_day
    if "start" not in listed and start is not None:
        title = (
            _("%(category)s start (to be confirmed)", category=name)
            if cat.start_provisional
            else _("%(category)s start", category=name)
        )
        moments.append(("start", title, start))
    if "finish" not in listed and cat.finish:
        title = (
            _("%(category)s finish cut-off (to be confirmed)", category=name)
            if cat.start_provisional
            else _("%(category)s finish cut-off", category=name)
        )
        moments.append(("finish", title, cat.finish))
    for kind, title, when in moments:
        vevent = VEvent()
        key = f"{event.slug}|{code}|{kind}"
        vevent.add("uid", f"{hashlib.sha256(key.encode()).hexdigest()[:24]}@raceapp")
        vevent.add("dtstamp", now)
        vevent.add("sequence", state.sequence)
        vevent.add("summary", _summary(title, text_of(event), cat.cancelled))
        if isinstance(when, datetime):
            vevent.add("dtstart", when.astimezone(zone))
            vevent.add("dtend", (when + timedelta(minutes=15)).astimezone(zone))
        else:
            vevent.add("dtstart", when)
            vevent.add("dtend", when + timedelta(days=1))
        vevent.add("status", "CANCELLED" if cat.cancelled else "CONFIRMED")
        vevent.add("categories", [kind])
        out.append(vevent)
    return out
