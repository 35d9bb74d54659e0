"""Race time rules: instants are UTC, shown in the event's zone; local times people type are read
in that zone, and a local time that a clock change makes ambiguous or skips is refused."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

from flask_babel import gettext as _

from raceapp.errors import DomainError
from raceapp.models import Event
from raceapp.zones import local_candidates, offset_text

LOCAL_EXAMPLE = "2024-06-08 11:00"


def zone_of(event: Event) -> ZoneInfo:
    return ZoneInfo(event.time_zone)


def resolve_local(wall: datetime, zone: ZoneInfo) -> datetime:
    """The one UTC instant a local time means; a repeated or skipped local time is an error
    that names what to write instead."""
    candidates = local_candidates(wall, zone)
    if len(candidates) == 1:
        return candidates[0].astimezone(timezone.utc)
    shown = wall.strftime("%Y-%m-%d %H:%M")
    if not candidates:
        raise DomainError(
            _(
                "%(time)s does not exist in %(zone)s: the clocks jump over it. "
                "Give a time before or after the change.",
                time=shown,
                zone=zone.key,
            )
        )
    first, second = candidates
    iso = wall.strftime("%Y-%m-%dT%H:%M")
    raise DomainError(
        _(
            "%(time)s happens twice in %(zone)s (the clocks go back): write %(first)s for the "
            "first (%(first_name)s) or %(second)s for the second (%(second_name)s).",
            time=shown,
            zone=zone.key,
            first=iso + offset_text(first),
            first_name=first.tzname(),
            second=iso + offset_text(second),
            second_name=second.tzname(),
        )
    )


def withoffset_text(value: datetime, zone: ZoneInfo) -> datetime:
    """A local time given with an explicit UTC offset, checked against the zone: the offset
    must be one the zone has at that wall time (how the repeated hour is told apart)."""
    wall = value.replace(tzinfo=None)
    for candidate in local_candidates(wall, zone):
        if candidate.utcoffset() == value.utcoffset():
            return candidate.astimezone(timezone.utc)
    offsets = " / ".join(offset_text(c) for c in local_candidates(wall, zone)) or "–"
    raise DomainError(
        _(
            "%(time)s with offset %(offset)s is not a time of %(zone)s (its offset then: "
            "%(offsets)s).",
            time=wall.strftime("%Y-%m-%d %H:%M"),
            offset=offset_text(value),
            zone=zone.key,
            offsets=offsets,
        )
    )


def parse_instant(raw: object) -> datetime:
    """A moment a program sends ("2026-06-20T08:00:00+09:00", or Z): an ISO 8601 date and
    time with its offset, in the years a race can be, as UTC. Anything else is a DomainError
    (including what Python cannot represent once in UTC, such as year 9999 at -23:59)."""
    text = raw.strip().replace("Z", "+00:00") if isinstance(raw, str) else ""
    try:
        value = datetime.fromisoformat(text)
        if value.tzinfo is None:
            raise DomainError(_("Give the moment with its UTC offset, such as +09:00."))
        value = value.astimezone(timezone.utc)
    except (ValueError, OverflowError):
        value = None
    if value is None or not 2000 <= value.year <= 2100:
        raise DomainError(
            _(
                "Give the moment as an ISO 8601 date and time with its offset, such as "
                "%(example)s.",
                example="2026-06-20T08:00:00+09:00",
            )
        )
    return value


def parse_local(raw: object, zone_name: str) -> datetime:
    """A local date and time typed by a person ("2024-06-08 11:00", optionally with an offset
    such as "+02:00" to pick one side of a clock change), as a UTC instant."""
    text = raw.strip() if isinstance(raw, str) else ""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        value = None
    if value is None or not 2000 <= value.year <= 2100:
        raise DomainError(
            _(
                "Give the moment as a local date and time, for example %(example)s.",
                example=LOCAL_EXAMPLE,
            )
        )
    zone = ZoneInfo(zone_name)
    if value.tzinfo is not None:
        return withoffset_text(value, zone)
    return resolve_local(value, zone)


@lru_cache(maxsize=256)
def _crosses(zone_name: str, first: date, last: date) -> bool:
    zone = ZoneInfo(zone_name)
    offsets = {
        datetime.combine(first + timedelta(days=n), time(0), zone).utcoffset()
        for n in range(-1, (last - first).days + 3)
    }
    return len(offsets) > 1


def crosses_clock_change(event: Event) -> bool:
    """Whether the clocks change during the race weekend: its clock times then carry the
    zone's abbreviation (CEST, CET), so the repeated hour can be told apart."""
    days = [d for d in (event.start_date, event.end_date) if d is not None]
    days += [c.start_at.astimezone(zone_of(event)).date() for c in event.categories if c.start_at]
    days += [c.start_date for c in event.categories if c.start_date]
    if not days:
        return False
    return _crosses(event.time_zone, min(days), max(days) + timedelta(days=2))


def parse_duration(raw: object, problem: str | None = None) -> int:
    """Elapsed time as people write it, hours:minutes ("11:30", "29:30"), in minutes; else a
    DomainError that says `problem` (or what to write)."""
    text = raw.strip() if isinstance(raw, str) else ""
    hours, _colon, minutes = text.partition(":")
    if not (
        hours.isdigit()
        and minutes.isdigit()
        and len(minutes) == 2
        and int(minutes) < 60
        and len(hours) <= 3
    ):
        raise DomainError(
            problem or _("Give the time as hours:minutes after the start, such as 11:30.")
        )
    return int(hours) * 60 + int(minutes)
