"""What publishing a race file changes, in words and numbers, in the reader's language.

An import takes a `snapshot` of the event before and after it applies the file, and
`describe_changes` says the differences as `Change`s: one sentence each, already translated
("Start of 100 km: Sat 05:00 → Sat 05:30"). The organizer's console previews a file with them
(an import that is rolled back); `flask races import` prints them.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel.lists import format_list
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext, pgettext
from sqlalchemy import func, select

from raceapp.extensions import db
from raceapp.i18n import (
    current_language,
    format_date_range,
    format_hours_minutes,
    format_number,
    format_when,
)
from raceapp.localized import Localized, pick
from raceapp.models import Entry, Event
from raceapp.racefile.loader import NormalizedRace
from raceapp.services.timing import crosses_clock_change

# What a change is about (the console groups them so).
EVENT, CATEGORY, CHECKPOINT, GEAR, SCHEDULE, BUS = (
    "event",
    "category",
    "checkpoint",
    "gear",
    "schedule",
    "bus",
)
AREAS = (EVENT, CATEGORY, CHECKPOINT, GEAR, SCHEDULE, BUS)


@dataclass(frozen=True)
class Change:
    """One thing a race file changes, in one sentence in the language in force."""

    area: str  # one of AREAS
    text: str
    # Runners must be told: their start, cut-offs, course, gear they must carry, buses they
    # may have booked, the race's status.
    affects_runners: bool = False
    # What the import does instead of what the file says (a bus keeps the seats it sold).
    warning: str | None = None

    def __str__(self) -> str:
        return self.text

    def as_dict(self) -> dict[str, Any]:
        """For JSON (a published version's summary)."""
        return {
            "area": self.area,
            "text": self.text,
            "affects_runners": self.affects_runners,
            "warning": self.warning,
        }


# --- Snapshots ---------------------------------------------------------------------------------
# Plain values copied out of the rows, since the import then changes the rows in place. Texts
# keep every language they were given in, so a change in any language is seen.


@dataclass(frozen=True)
class CheckpointSnapshot:
    km: float
    name: Localized
    label: Localized | None
    cutoff: int | None  # minutes after the start
    notes: Localized | None


@dataclass(frozen=True)
class GearSnapshot:
    name: Localized
    mandatory: bool
    spec: Localized | None
    conditions: Localized | None


@dataclass(frozen=True)
class CategorySnapshot:
    name: Localized
    start: datetime | date | None  # a date alone: the time is not published
    time_limit: int | None
    distance_km: float | None
    distance_text: Localized | None
    elevation_gain_m: int | None
    checkpoints: tuple[CheckpointSnapshot, ...]
    gear: dict[str, GearSnapshot]
    entries: int
    others: dict[str, Any]  # fields said together: "also changed: entry fee, pacers"


@dataclass(frozen=True)
class ScheduleSnapshot:
    kind: str
    title: Localized
    starts_at: datetime
    ends_at: datetime | None
    others: dict[str, Any]


@dataclass(frozen=True)
class DepartureSnapshot:
    seats: int | None  # None: not limited
    booked: int


@dataclass(frozen=True)
class RouteSnapshot:
    origin: Localized
    destination: Localized
    departures: dict[datetime, DepartureSnapshot]
    others: dict[str, Any]


@dataclass(frozen=True)
class EventSnapshot:
    """What runners and the organizer see of an event, to compare before and after."""

    zone: ZoneInfo
    language: str
    clock_change: bool
    name: Localized
    start_date: date | None
    end_date: date | None
    venue: Localized | None
    hq_phone: str | None
    status: str
    open_signup: bool
    others: dict[str, Any]
    categories: dict[str, CategorySnapshot] = field(default_factory=dict)
    schedule: tuple[ScheduleSnapshot, ...] = ()
    routes: dict[str, RouteSnapshot] = field(default_factory=dict)


def _text(row: Any, name: str) -> Any:
    """A text column in every language it was given in (the row keeps them in `texts`)."""
    return copy.deepcopy((row.texts or {}).get(name) or getattr(row, name))


def snapshot(event: Event) -> EventSnapshot:
    """The event as it is now, copied out of its rows."""
    entries = dict(
        db.session.execute(
            select(Entry.category_id, func.count())
            .where(Entry.event_id == event.id)
            .group_by(Entry.category_id)
        ).all()
    )
    details = copy.deepcopy(dict(event.details or {}))
    open_signup = bool(details.pop("open_signup", False))
    return EventSnapshot(
        zone=ZoneInfo(event.time_zone),
        language=event.language,
        clock_change=crosses_clock_change(event),
        name=_text(event, "name"),
        start_date=event.start_date,
        end_date=event.end_date,
        venue=_text(event, "venue"),
        hq_phone=event.hq_phone,
        status=event.status,
        open_signup=open_signup,
        others={
            "website": event.website,
            "currency": event.currency,
            "time_zone": event.time_zone,
            "language": event.language,
            "status_note": _text(event, "status_note"),
            **details,
        },
        categories={c.code: _category_snapshot(c, entries.get(c.id, 0)) for c in event.categories},
        schedule=tuple(
            ScheduleSnapshot(
                item.kind,
                _text(item, "title"),
                item.starts_at,
                item.ends_at,
                {
                    "details": _text(item, "details"),
                    "location": _text(item, "location"),
                    "category_codes": sorted(item.category_codes or []),
                },
            )
            for item in event.schedule_items
        ),
        routes={
            r.code: RouteSnapshot(
                _text(r, "origin"),
                _text(r, "destination"),
                {d.departs_at: DepartureSnapshot(d.seats, d.seats_taken) for d in r.departures},
                {
                    "fee": r.fee,
                    "reservation_required": r.reservation_required,
                    "supporters_allowed": r.supporters_allowed,
                    "category_codes": sorted(r.category_codes or []),
                    "cancel_before_minutes": r.cancel_before_minutes,
                    "notes": r.notes,
                },
            )
            for r in event.shuttle_routes
        },
    )


def _category_snapshot(c: Any, entries: int) -> CategorySnapshot:
    return CategorySnapshot(
        name=_text(c, "name"),
        start=c.start_at or c.start_date,
        time_limit=c.time_limit_minutes,
        distance_km=c.distance_km,
        distance_text=_text(c, "distance_text"),
        elevation_gain_m=c.elevation_gain_m,
        checkpoints=tuple(
            CheckpointSnapshot(
                cp.km, _text(cp, "name"), _text(cp, "label"), cp.cutoff_minutes, _text(cp, "notes")
            )
            for cp in c.checkpoints
        ),
        gear={
            g.code: GearSnapshot(
                _text(g, "name"), g.mandatory, _text(g, "spec"), _text(g, "conditions")
            )
            for g in c.gear_items
        },
        entries=entries,
        others={
            "fee": c.fee,
            "field_size": c.field_size,
            "start_location": _text(c, "start_location"),
            "track": (c.track.source_sha256, c.track.illustrative) if c.track else None,
            # Only where the file gives them: adding a checkpoint is said on its own.
            "leg_climbs": tuple(
                (cp.km, cp.gain_m, cp.loss_m, cp.latitude, cp.longitude)
                for cp in c.checkpoints
                if (cp.gain_m, cp.loss_m, cp.latitude) != (None, None, None)
            ),
            **copy.deepcopy(dict(c.details or {})),
        },
    )


# --- Words -------------------------------------------------------------------------------------
# The fields no sentence below names one by one, said together: "Also changed: rules, contacts".

_EVENT_FIELDS = {
    "name": _l("name"),
    "venue": _l("venue"),
    "website": _l("website"),
    "results_url": _l("results link"),
    "colour": _l("colour of the race's pages"),
    "logo": _l("logo"),
    "currency": _l("currency"),
    "time_zone": _l("time zone"),
    "language": _l("language of the file"),
    "status_note": _l("status note"),
    "address": _l("address"),
    "organizer": _l("organizer"),
    "description": _l("description"),
    "access": _l("access"),
    "notes": _l("notes"),
    "reminder_time": _l("reminder time"),
    "support_points": _l("support points"),
    "contacts": _l("contacts"),
    "rules": _l("rules"),
    "provisional": _l("values to be confirmed"),
    "provisional_note": _l("values to be confirmed"),
}
_CATEGORY_FIELDS = {
    "name": _l("name"),
    "distance_text": _l("distance"),
    "fee": _l("entry fee"),
    "field_size": _l("field size"),
    "start_location": _l("start location"),
    "pacer": _l("pacers"),
    "pacer_from": _l("pacers"),
    "pacer_from_km": _l("pacers"),
    "pacer_fee": _l("pacers"),
    "drop_bag_km": _l("drop bags"),
    "awards": _l("awards"),
    "points": _l("race points"),
    "notes": _l("notes"),
    "gear_notes": _l("gear notes"),
    "provisional": _l("values to be confirmed"),
    "provisional_note": _l("values to be confirmed"),
    "checkpoint_names": _l("checkpoint names"),
    "checkpoint_labels": _l("checkpoint labels"),
    "checkpoint_notes": _l("checkpoint notes"),
    "gear_texts": _l("gear texts"),
    "elevation_gain_over": _l("elevation gain"),
    "track": _l("course track (GPX)"),
    "leg_climbs": _l("climbs and positions of the aid stations"),
}
_SCHEDULE_FIELDS = {
    "title": _l("title"),
    "details": _l("details"),
    "location": _l("location"),
    "category_codes": _l("categories"),
}
_ROUTE_FIELDS = {
    "route": _l("name"),
    "fee": _l("fare"),
    "reservation_required": _l("reservation"),
    "supporters_allowed": _l("supporters"),
    "category_codes": _l("categories"),
    "cancel_before_minutes": _l("cancellation deadline"),
    "notes": _l("notes"),
}
# A field the rows gain later, that no label names yet.
_OTHER = _l("other details")


def _status_word(status: str) -> str:
    words = {
        # Translators: a race's status as its file declares it ("Status: on → cancelled").
        "on": pgettext("race status", "on"),
        "changed": pgettext("race status", "changed"),
        "cancelled": pgettext("race status", "cancelled"),
    }
    return words.get(status, status)


def _clock(instant: datetime, zone: ZoneInfo, clock_change: bool, style: str = "day_time") -> str:
    local = instant.astimezone(zone)
    text = format_when(local, style)
    # Across a clock change the same wall time happens twice: say which (CEST or CET).
    return f"{text} {local.tzname()}" if clock_change else text


def day_time(instant: datetime, event: Event) -> str:
    """ "Sat 05:30" / "8日(土) 05:30" in the event's zone, as the pages write it."""
    return _clock(instant, ZoneInfo(event.time_zone), crosses_clock_change(event))


def _listed(items: Iterable[str]) -> str:
    """ "rules, contacts and notes" / "rules、contacts、notes", each once."""
    return format_list(list(dict.fromkeys(items)), locale=current_language())


# --- The differences ---------------------------------------------------------------------------


def describe_changes(
    before: EventSnapshot, after: EventSnapshot, norm: NormalizedRace
) -> list[Change]:
    """What changed from `before` to `after`, the import of `norm` having made `after`.

    Something the file drops that is still in `after` was kept because runners use it (the
    import is then refused): its sentence says so, with how many."""
    return _Describer(before, after, norm).changes()


class _Describer:
    def __init__(self, before: EventSnapshot, after: EventSnapshot, norm: NormalizedRace):
        self.before, self.after, self.norm = before, after, norm
        self.zone = after.zone
        self.clock_change = before.clock_change or after.clock_change
        self.out: list[Change] = []

    def changes(self) -> list[Change]:
        self._event()
        self._categories()
        self._schedule()
        self._buses()
        return self.out

    def add(self, area: str, text: str, affects: bool = False, warning: str | None = None) -> None:
        self.out.append(Change(area, text, affects, warning))

    # How things read ----------------------------------------------------------------------------

    def show(self, value: Any) -> str:
        """A race text in the reader's language, else the race's own."""
        return pick(value, current_language(), self.after.language)

    def given(self, value: Any) -> str:
        return self.show(value) if value not in (None, "") else _("not given")

    def differ(self, old: Any, new: Any, key: str, also: list[str]) -> bool:
        """Whether a text changed as the reader reads it; a change in another language only
        goes to `also`."""
        if old == new:
            return False
        if self.given(old) != self.given(new):
            return True
        also.append(key)
        return False

    def clock(self, instant: datetime, style: str = "day_time") -> str:
        """ "Sat 05:30" / "8日(土) 05:30" in the event's zone."""
        return _clock(instant, self.zone, self.clock_change, style)

    def style(self, old: datetime, new: datetime) -> str:
        """Weekday and time, or the date too when a week or more apart (the same weekday)."""
        days = abs((old.astimezone(self.zone).date() - new.astimezone(self.zone).date()).days)
        return "full_day_time" if days >= 7 else "day_time"

    def start(self, value: datetime | date | None) -> str:
        """A start beside one of another sort (a date alone, or none): the date says it all."""
        if isinstance(value, datetime):
            return self.clock(value, "full_day_time")
        if isinstance(value, date):
            return _("%(date)s, time not published", date=format_when(value, "short_date"))
        return _("not published")

    def window(self, start: datetime, end: datetime | None, style: str = "day_time") -> str:
        """A schedule item's time: "Fri 13:00", or "Fri 13:00–18:00" for a window."""
        if end is None:
            return self.clock(start, style)
        same_day = start.astimezone(self.zone).date() == end.astimezone(self.zone).date()
        until = self.clock(end, "time" if same_day else style)
        return f"{self.clock(start, style)}–{until}"

    @staticmethod
    def km(value: float | None) -> str:
        return _("%(km)s km", km=format(value, "g")) if value is not None else _("none")

    @staticmethod
    def elapsed(minutes: int | None) -> str:
        """Time after the start as races publish it: "10:30"."""
        return format_hours_minutes(minutes) if minutes is not None else _("none")

    @staticmethod
    def seats(value: int | None) -> str:
        return format_number(value) if value is not None else _("not limited")

    @staticmethod
    def also(labels: dict[str, Any], old: dict, new: dict, extra: Iterable[str] = ()) -> str:
        """The labels of the fields that differ, listed; "" when none does."""
        keys = [k for k in dict.fromkeys([*old, *new]) if old.get(k) != new.get(k)]
        return _listed(str(labels.get(key, _OTHER)) for key in [*extra, *keys])

    # The event ----------------------------------------------------------------------------------

    def _event(self) -> None:
        b, a = self.before, self.after
        extra: list[str] = []
        if self.differ(b.name, a.name, "name", extra):
            self.add(
                EVENT,
                _(
                    "Name: %(before)s → %(after)s",
                    before=self.show(b.name),
                    after=self.show(a.name),
                ),
            )
        if (b.start_date, b.end_date) != (a.start_date, a.end_date):
            self.add(
                EVENT,
                _(
                    "Dates: %(before)s → %(after)s",
                    before=format_date_range(b.start_date, b.end_date) or _("not published"),
                    after=format_date_range(a.start_date, a.end_date) or _("not published"),
                ),
            )
        if self.differ(b.venue, a.venue, "venue", extra):
            self.add(
                EVENT,
                _(
                    "Venue: %(before)s → %(after)s",
                    before=self.given(b.venue),
                    after=self.given(a.venue),
                ),
            )
        if b.hq_phone != a.hq_phone:
            self.add(
                EVENT,
                _(
                    "HQ phone: %(before)s → %(after)s",
                    before=self.given(b.hq_phone),
                    after=self.given(a.hq_phone),
                ),
            )
        if b.status != a.status:
            self.add(
                EVENT,
                _(
                    "Status: %(before)s → %(after)s",
                    before=_status_word(b.status),
                    after=_status_word(a.status),
                ),
                affects=True,
            )
        if b.open_signup != a.open_signup:
            self.add(
                EVENT,
                _("Open sign-up on: runners not on the entry list may follow the race")
                if a.open_signup
                else _("Open sign-up off: only runners on the entry list may follow the race"),
            )
        fields = self.also(_EVENT_FIELDS, b.others, a.others, extra)
        if fields:
            self.add(EVENT, _("Also changed: %(fields)s", fields=fields))

    # Categories ---------------------------------------------------------------------------------

    def _categories(self) -> None:
        old_cats, new_cats = self.before.categories, self.after.categories
        in_file = [c.section.code for c in self.norm.categories]
        gear = _GearChanges(self)
        for code in in_file:
            new, old = new_cats.get(code), old_cats.get(code)
            if new is None:  # `after` is not this file's import
                continue
            if old is None:
                self.add(CATEGORY, _("Category added: %(category)s", category=self.show(new.name)))
            else:
                self._category(old, new, gear.compare(old, new))
        for code, old in old_cats.items():
            if code in in_file:
                continue
            name = self.show(old.name)
            if code in new_cats:  # kept, since runners entered it: the import is refused
                text = ngettext(
                    "Category removed: %(category)s — %(num)d runner entered it: refused, "
                    "move that runner first",
                    "Category removed: %(category)s — %(num)d runners entered it: refused, "
                    "move them first",
                    new_cats[code].entries,
                    category=name,
                )
            else:
                text = _("Category removed: %(category)s", category=name)
            self.add(CATEGORY, text, affects=True)
        self.out += gear.changes()

    def _category(self, old: CategorySnapshot, new: CategorySnapshot, extra: list[str]) -> None:
        name = self.show(new.name)
        if self.differ(old.name, new.name, "name", extra):
            self.add(
                CATEGORY,
                _(
                    "Category renamed: %(before)s → %(after)s",
                    before=self.show(old.name),
                    after=name,
                ),
            )
        if old.start != new.start:
            if isinstance(old.start, datetime) and isinstance(new.start, datetime):
                style = self.style(old.start, new.start)
                was, now = self.clock(old.start, style), self.clock(new.start, style)
            else:
                was, now = self.start(old.start), self.start(new.start)
            self.add(
                CATEGORY,
                _(
                    "Start of %(category)s: %(before)s → %(after)s",
                    category=name,
                    before=was,
                    after=now,
                ),
                affects=True,
            )
        if old.time_limit != new.time_limit:
            self.add(
                CATEGORY,
                _(
                    "%(category)s: time limit %(before)s → %(after)s",
                    category=name,
                    before=self.elapsed(old.time_limit),
                    after=self.elapsed(new.time_limit),
                ),
                affects=True,
            )
        distances = [
            self.km(c.distance_km) if c.distance_km is not None else self.given(c.distance_text)
            for c in (old, new)
        ]
        if distances[0] != distances[1]:
            self.add(
                CATEGORY,
                _(
                    "%(category)s: distance %(before)s → %(after)s",
                    category=name,
                    before=distances[0],
                    after=distances[1],
                ),
                affects=True,
            )
        elif old.distance_text != new.distance_text:
            extra.append("distance_text")
        if old.elevation_gain_m != new.elevation_gain_m:
            gains = [
                _("%(metres)s m", metres=format_number(m)) if m is not None else _("none")
                for m in (old.elevation_gain_m, new.elevation_gain_m)
            ]
            self.add(
                CATEGORY,
                _(
                    "%(category)s: elevation gain %(before)s → %(after)s",
                    category=name,
                    before=gains[0],
                    after=gains[1],
                ),
            )
        extra += self._checkpoints(name, old, new)
        fields = self.also(_CATEGORY_FIELDS, old.others, new.others, extra)
        if fields:
            self.add(CATEGORY, _("%(what)s: also changed: %(fields)s", what=name, fields=fields))

    def _checkpoints(self, name: str, old: CategorySnapshot, new: CategorySnapshot) -> list[str]:
        """Say what changed at each checkpoint, in course order; return the fields that
        changed and have no sentence of their own."""
        olds, news = old.checkpoints, new.checkpoints
        # The same checkpoint is at the same km; failing that, it has the same name (moved).
        left = {cp.km: i for i, cp in enumerate(olds)}
        pairs = {j: left.pop(cp.km) for j, cp in enumerate(news) if cp.km in left}
        for j, cp in enumerate(news):
            if j in pairs:
                continue
            same = next((i for i in left.values() if olds[i].name == cp.name), None)
            if same is not None:
                pairs[j] = same
                del left[olds[same].km]
        extra: list[str] = []
        lines: list[tuple[float, Change]] = []

        def say(km: float, text: str, affects: bool) -> None:
            lines.append((km, Change(CHECKPOINT, text, affects)))

        for i in left.values():
            cp = olds[i]
            say(
                cp.km,
                _("%(category)s: %(checkpoint)s removed", category=name, checkpoint=self.cp(cp)),
                True,
            )
        for j, cp in enumerate(news):
            if j not in pairs:
                if cp.cutoff is None:
                    text = _(
                        "%(category)s: %(checkpoint)s added", category=name, checkpoint=self.cp(cp)
                    )
                else:
                    text = _(
                        "%(category)s: %(checkpoint)s added, cut-off %(cutoff)s",
                        category=name,
                        checkpoint=self.cp(cp),
                        cutoff=self.cutoff(cp.cutoff, new.start),
                    )
                # A new cut-off is a new rule for the runners.
                say(cp.km, text, cp.cutoff is not None)
                continue
            was = olds[pairs[j]]
            if was.km != cp.km:
                say(
                    cp.km,
                    _(
                        "%(category)s: checkpoint %(checkpoint)s moved %(before)s → %(after)s",
                        category=name,
                        checkpoint=self.show(cp.name),
                        before=self.km(was.km),
                        after=self.km(cp.km),
                    ),
                    True,
                )
            elif self.differ(was.name, cp.name, "checkpoint_names", extra):
                say(
                    cp.km,
                    _(
                        "%(category)s: checkpoint at %(km)s renamed: %(before)s → %(after)s",
                        category=name,
                        km=self.km(cp.km),
                        before=self.show(was.name),
                        after=self.show(cp.name),
                    ),
                    False,
                )
            if was.cutoff != cp.cutoff:
                say(cp.km, self.cutoff_change(name, was, cp, old.start, new.start), True)
            if was.label != cp.label:
                extra.append("checkpoint_labels")
            if was.notes != cp.notes:
                extra.append("checkpoint_notes")
        self.out += [change for _km, change in sorted(lines, key=lambda line: line[0])]
        return extra

    def cp(self, cp: CheckpointSnapshot) -> str:
        """ "checkpoint A3 (Kurohime, 48 km)"; without a label "checkpoint Kurohime (48 km)"."""
        if cp.label:
            return _(
                "checkpoint %(label)s (%(name)s, %(km)s)",
                label=self.show(cp.label),
                name=self.show(cp.name),
                km=self.km(cp.km),
            )
        return _("checkpoint %(name)s (%(km)s)", name=self.show(cp.name), km=self.km(cp.km))

    def at(self, start: datetime | date | None, minutes: int) -> str | None:
        """The clock time of a cut-off; None while the start time is not published."""
        if not isinstance(start, datetime):
            return None
        return self.clock(start + timedelta(minutes=minutes))

    def cutoff(self, minutes: int, start: datetime | date | None) -> str:
        """ "10:00 after the start (Sat 15:00)"."""
        clock = self.at(start, minutes)
        if clock is None:
            return _("%(elapsed)s after the start", elapsed=self.elapsed(minutes))
        return _(
            "%(elapsed)s after the start (%(clock)s)", elapsed=self.elapsed(minutes), clock=clock
        )

    def cutoff_change(
        self,
        category: str,
        was: CheckpointSnapshot,
        now: CheckpointSnapshot,
        old_start: datetime | date | None,
        new_start: datetime | date | None,
    ) -> str:
        where = {"category": category, "checkpoint": self.show(now.name), "km": self.km(now.km)}
        if was.cutoff is None:
            assert now.cutoff is not None
            return _(
                "%(category)s: cut-off at %(checkpoint)s (%(km)s) added: %(cutoff)s",
                cutoff=self.cutoff(now.cutoff, new_start),
                **where,
            )
        if now.cutoff is None:
            return _(
                "%(category)s: cut-off at %(checkpoint)s (%(km)s) removed; it was %(cutoff)s",
                cutoff=self.cutoff(was.cutoff, old_start),
                **where,
            )
        before, after = self.at(old_start, was.cutoff), self.at(new_start, now.cutoff)
        if before is None or after is None:
            return _(
                "%(category)s: cut-off at %(checkpoint)s (%(km)s) %(before)s → %(after)s after "
                "the start",
                before=self.elapsed(was.cutoff),
                after=self.elapsed(now.cutoff),
                **where,
            )
        return _(
            "%(category)s: cut-off at %(checkpoint)s (%(km)s) %(before)s → %(after)s after the "
            "start (%(before_clock)s → %(after_clock)s)",
            before=self.elapsed(was.cutoff),
            after=self.elapsed(now.cutoff),
            before_clock=before,
            after_clock=after,
            **where,
        )

    # The schedule -------------------------------------------------------------------------------

    def _schedule(self) -> None:
        """Items are matched by kind and title: of several alike, those still at the same time
        first, then the others in time order (the one that moved)."""
        olds = sorted(self.before.schedule, key=lambda s: s.starts_at)
        news = sorted(self.after.schedule, key=lambda s: s.starts_at)
        left = list(range(len(olds)))
        pairs: dict[int, int] = {}
        for same_time in (True, False):
            for j, item in enumerate(news):
                match = next(
                    (
                        i
                        for i in left
                        if j not in pairs
                        and (olds[i].kind, olds[i].title) == (item.kind, item.title)
                        and (olds[i].starts_at == item.starts_at or not same_time)
                    ),
                    None,
                )
                if match is not None:
                    pairs[j] = match
                    left.remove(match)
        lines: list[tuple[datetime, str]] = []
        for i in left:
            was = olds[i]
            when = self.window(was.starts_at, was.ends_at)
            text = _(
                "Schedule item removed: %(title)s, %(when)s", title=self.show(was.title), when=when
            )
            lines.append((was.starts_at, text))
        for j, item in enumerate(news):
            title = self.show(item.title)
            if j not in pairs:
                when = self.window(item.starts_at, item.ends_at)
                lines.append(
                    (
                        item.starts_at,
                        _("Schedule item added: %(title)s, %(when)s", title=title, when=when),
                    )
                )
                continue
            was = olds[pairs[j]]
            if (was.starts_at, was.ends_at) != (item.starts_at, item.ends_at):
                style = self.style(was.starts_at, item.starts_at)
                text = _(
                    "%(title)s: %(before)s → %(after)s",
                    title=title,
                    before=self.window(was.starts_at, was.ends_at, style),
                    after=self.window(item.starts_at, item.ends_at, style),
                )
                lines.append((item.starts_at, text))
            fields = self.also(_SCHEDULE_FIELDS, was.others, item.others)
            if fields:
                lines.append(
                    (
                        item.starts_at,
                        _("%(what)s: also changed: %(fields)s", what=title, fields=fields),
                    )
                )
        for _at, text in sorted(lines, key=lambda line: line[0]):
            self.add(SCHEDULE, text)

    # The buses ----------------------------------------------------------------------------------

    def route(self, route: RouteSnapshot) -> str:
        return f"{self.show(route.origin)} → {self.show(route.destination)}"

    def _buses(self) -> None:
        old_routes, new_routes = self.before.routes, self.after.routes
        in_file = [s.code for s in self.norm.race.shuttles]
        for code in in_file:
            new, old = new_routes.get(code), old_routes.get(code)
            if new is None:  # `after` is not this file's import
                continue
            if old is None:
                text = ngettext(
                    "Bus added: %(route)s, %(num)d departure",
                    "Bus added: %(route)s, %(num)d departures",
                    len(new.departures),
                    route=self.route(new),
                )
                self.add(BUS, text)
            else:
                self._route(code, old, new)
        for code, old in old_routes.items():
            if code in in_file:
                continue
            kept = new_routes.get(code)
            booked = sum(d.booked for d in kept.departures.values()) if kept else 0
            if booked:  # kept, since seats are booked on it: the import is refused
                text = ngettext(
                    "Bus removed: %(route)s — %(num)d seat booked: refused, cancel the booking "
                    "first",
                    "Bus removed: %(route)s — %(num)d seats booked: refused, cancel the "
                    "bookings first",
                    booked,
                    route=self.route(old),
                )
            else:
                text = _("Bus removed: %(route)s", route=self.route(old))
            self.add(BUS, text, affects=True)

    def _route(self, code: str, old: RouteSnapshot, new: RouteSnapshot) -> None:
        route = self.route(new)
        extra: list[str] = []
        if (old.origin, old.destination) != (new.origin, new.destination):
            if self.route(old) != route:
                text = _("Bus renamed: %(before)s → %(after)s", before=self.route(old), after=route)
                self.add(BUS, text)
            else:  # in another language only
                extra.append("route")
        # The seats the file asks for: a departure keeps more when more are booked.
        wanted = dict(self.norm.departures.get(code, []))
        for at in sorted(set(old.departures) | set(new.departures)):
            when = self.clock(at)
            was, now = old.departures.get(at), new.departures.get(at)
            if was is None:
                assert now is not None
                text = _(
                    "Departure %(when)s %(route)s added, seats: %(seats)s",
                    when=when,
                    route=route,
                    seats=self.seats(now.seats),
                )
                self.add(BUS, text)
            elif at not in wanted:
                if now is not None and now.booked:  # kept: the import is refused
                    text = ngettext(
                        "Departure %(when)s %(route)s removed — %(num)d seat booked: refused, "
                        "cancel the booking first",
                        "Departure %(when)s %(route)s removed — %(num)d seats booked: refused, "
                        "cancel the bookings first",
                        now.booked,
                        when=when,
                        route=route,
                    )
                else:
                    text = _("Departure %(when)s %(route)s removed", when=when, route=route)
                self.add(BUS, text, affects=True)
            elif now is not None and wanted[at] != was.seats:
                self._seats(when, route, was, now, wanted[at])
        fields = self.also(_ROUTE_FIELDS, old.others, new.others, extra)
        if fields:
            what = _("Bus %(route)s", route=route)
            self.add(BUS, _("%(what)s: also changed: %(fields)s", what=what, fields=fields))

    def _seats(
        self,
        when: str,
        route: str,
        was: DepartureSnapshot,
        now: DepartureSnapshot,
        wanted: int | None,
    ) -> None:
        values = {
            "when": when,
            "route": route,
            "before": self.seats(was.seats),
            "after": self.seats(wanted),
        }
        if now.booked:
            text = _(
                "Departure %(when)s %(route)s: seats %(before)s → %(after)s; %(booked)s booked",
                booked=format_number(now.booked),
                **values,
            )
        else:
            text = _("Departure %(when)s %(route)s: seats %(before)s → %(after)s", **values)
        warning = None
        if wanted is not None and wanted < now.booked:
            warning = ngettext(
                "%(num)d seat is already booked: the bus keeps %(num)d seat",
                "%(num)d seats are already booked: the bus keeps %(num)d seats",
                now.booked,
            )
        # Runners lose seats they might have booked (a limit where there was none, or fewer).
        fewer = now.seats is not None and (was.seats is None or now.seats < was.seats)
        self.add(BUS, text, fewer, warning)


class _GearChanges:
    """The gear changes of every category; the same change in several is said once for all of
    them ("100 km and 50 km: recommended gear removed: Poison remover")."""

    def __init__(self, describer: _Describer):
        self.d = describer
        # (what, item, before, after) → the categories it happens in, in file order
        self.found: dict[tuple[str, str, str, str], list[str]] = {}

    def note(self, what: str, category: str, item: str, before: str = "", after: str = "") -> None:
        self.found.setdefault((what, item, before, after), []).append(category)

    def compare(self, old: CategorySnapshot, new: CategorySnapshot) -> list[str]:
        """Note the category's gear changes; return "gear_texts" when some changed in
        another language only."""
        d = self.d
        category = d.show(new.name)
        others: list[str] = []
        for code, item in new.gear.items():
            name = d.show(item.name)
            was = old.gear.get(code)
            if was is None:
                self.note("mandatory added" if item.mandatory else "added", category, name)
                continue
            if d.differ(was.name, item.name, "gear_texts", others):
                self.note("renamed", category, name, d.show(was.name), name)
            if was.mandatory != item.mandatory:
                self.note("mandatory" if item.mandatory else "optional", category, name)
            if d.differ(was.spec, item.spec, "gear_texts", others):
                self.note("spec", category, name, d.given(was.spec), d.given(item.spec))
            if d.differ(was.conditions, item.conditions, "gear_texts", others):
                self.note(
                    "conditions", category, name, d.given(was.conditions), d.given(item.conditions)
                )
        for code, was in old.gear.items():
            if code not in new.gear:
                what = "mandatory removed" if was.mandatory else "removed"
                self.note(what, category, d.show(was.name))
        return others

    def changes(self) -> list[Change]:
        out = []
        for (what, item, before, after), categories in self.found.items():
            values = {"categories": _listed(categories), "item": item}
            if what == "mandatory added":
                text = _("%(categories)s: mandatory gear added: %(item)s", **values)
            elif what == "added":
                text = _("%(categories)s: recommended gear added: %(item)s", **values)
            elif what == "mandatory removed":
                text = _("%(categories)s: mandatory gear removed: %(item)s", **values)
            elif what == "removed":
                text = _("%(categories)s: recommended gear removed: %(item)s", **values)
            elif what == "mandatory":
                text = _("%(categories)s: %(item)s became mandatory", **values)
            elif what == "optional":
                text = _("%(categories)s: %(item)s is no longer mandatory", **values)
            elif what == "renamed":
                text = _(
                    "%(categories)s: gear renamed: %(before)s → %(after)s",
                    before=before,
                    after=after,
                    **values,
                )
            elif what == "spec":
                text = _(
                    "%(categories)s: %(item)s, specification “%(before)s” → “%(after)s”",
                    before=before,
                    after=after,
                    **values,
                )
            else:
                text = _(
                    "%(categories)s: %(item)s, conditions “%(before)s” → “%(after)s”",
                    before=before,
                    after=after,
                    **values,
                )
            # Mandatory gear is a rule: without it a runner may be disqualified.
            out.append(Change(GEAR, text, what in ("mandatory added", "mandatory")))
        return out
