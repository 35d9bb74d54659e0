"""The race as it stands: the one read model of race state.

Every page, export, push payload and cached page asks this module, never a raw start time or
status. The state of an event at a moment is the race file's data with the alerts that changed
it applied in the order they were posted:

- cancellation: the event or one category is cancelled (no countdown, no pace, no booking);
- reinstate: back on, optionally with a new start;
- start_delay: the start moves (a delay counts from the published start), and with it every
  cut-off and every schedule item tied to the start or the finish;
- cutoff_extension: later cut-offs move by N minutes, the start does not;
- course_change: named checkpoints are bypassed or have their aid station closed, and named
  checkpoints get new cut-offs;
- rule_change: the race is marked changed.

Effects name checkpoints by category code and km (checkpoint rows are replaced when a race file
is imported again; their km within a category is unique and stable).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from functools import cached_property

from sqlalchemy import select

from raceapp.extensions import db
from raceapp.models import Alert, Category, Checkpoint, Event, ScheduleItem, ShuttleRoute
from raceapp.services.timing import zone_of
from raceapp.vocabulary import (
    BYPASSED,
    CANCELLED,
    CHANGE_KINDS,
    CHANGED,
    DELAYED,
    FINISHED,
    IN_PROGRESS,
    MOVES_WITH_FINISH,
    MOVES_WITH_START,
    OPEN,
    RULES,
    UPCOMING,
)

PASSED, NEXT, LATER = "passed", "next", "later"


@dataclass(frozen=True)
class CheckpointState:
    checkpoint: Checkpoint
    status: str  # vocabulary: open, bypassed or closed
    elapsed_minutes: int | None  # the cut-off as it stands, after the (effective) start
    at: datetime | None  # the cut-off instant as it stands
    published_at: datetime | None  # the cut-off instant the race file gives
    phase: str  # "passed", "next", "later", or "" (no cut-off here, or the race is cancelled)

    @property
    def has_cutoff(self) -> bool:
        return self.at is not None and self.status != BYPASSED

    @property
    def moved_minutes(self) -> int:
        if self.at is None or self.published_at is None:
            return 0
        return round((self.at - self.published_at).total_seconds() / 60)


@dataclass(frozen=True)
class CategoryState:
    category: Category
    state: str
    published_start: datetime | None  # the start the race file gives (None: time unpublished)
    start: datetime | None  # the start as it stands
    start_day: date | None  # the local day of the start, known even without a time
    cancelled: bool
    changed: bool
    finish: datetime | None  # the finish cut-off as it stands
    ends: datetime | None  # when the category is over: its finish cut-off, else end of its day
    checkpoints: tuple[CheckpointState, ...]
    headline: Alert | None  # the newest alert that changed this category (or its whole event)
    # Fields the race file marks as worked out, not published ("start", "time_limit", ...).
    provisional: frozenset[str] = frozenset()

    @property
    def code(self) -> str:
        return self.category.code

    @property
    def start_provisional(self) -> bool:
        """The start was worked out by whoever wrote the race file, not published."""
        return "start" in self.provisional

    @property
    def delay_minutes(self) -> int:
        if self.start is None or self.published_start is None:
            return 0
        return round((self.start - self.published_start).total_seconds() / 60)

    @property
    def next_cutoff(self) -> CheckpointState | None:
        return next((cp for cp in self.checkpoints if cp.phase == NEXT), None)

    @property
    def counts_down(self) -> bool:
        """Whether countdowns and the pace helper mean anything: on, with a known start."""
        return self.state not in (CANCELLED, FINISHED) and self.start is not None

    @property
    def before_start(self) -> bool:
        return self.state in (UPCOMING, CHANGED, DELAYED)

    @property
    def joinable(self) -> bool:
        return self.state not in (CANCELLED, FINISHED, RULES)


@dataclass(frozen=True)
class ScheduleRow:
    item: ScheduleItem
    starts_at: datetime
    ends_at: datetime | None
    moved_minutes: int
    cancelled: bool


@dataclass(frozen=True)
class EventState:
    event: Event
    now: datetime
    state: str
    is_race: bool
    categories: tuple[CategoryState, ...]
    changes: tuple[Alert, ...]  # alerts that changed the race, oldest first
    _by_code: dict[str, CategoryState] = field(default_factory=dict, repr=False)

    @cached_property
    def schedule_rows(self) -> tuple[ScheduleRow, ...]:
        """Every schedule item as it stands, in time order (worked out when first asked)."""
        rows = (
            _schedule_row(item, self._by_code, self.state == CANCELLED)
            for item in self.event.schedule_items
        )
        return tuple(sorted(rows, key=lambda r: r.starts_at))

    @property
    def version(self) -> tuple:
        """What this state is made of besides the clock: the race file as imported and the
        changes applied, each at its revision (a correction changes the version; a withdrawn
        change is no longer among them). Equal versions at the same phases are equal races."""
        event = self.event
        return (
            event.id,
            event.updated_at.isoformat() if event.updated_at else None,
            event.status,
            tuple((alert.id, alert.revision) for alert in self.changes),
        )

    @property
    def headline(self) -> Alert | None:
        """The newest change to the race, whatever its scope."""
        return self.changes[-1] if self.changes else None

    @property
    def sequence(self) -> int:
        """How many times the race changed: an .ics SEQUENCE that calendars follow."""
        return len(self.changes)

    @property
    def cancelled(self) -> bool:
        return self.state == CANCELLED

    def category(self, code: str) -> CategoryState:
        return self._by_code[code]

    def schedule(self, category_code: str | None = None) -> list[ScheduleRow]:
        """Items for everyone plus those of the category (all of them without a category)."""
        return [
            row
            for row in self.schedule_rows
            if category_code is None
            or not row.item.category_codes
            or category_code in row.item.category_codes
        ]

    def route_runs(self, route: ShuttleRoute) -> bool:
        """A bus runs unless the race is cancelled, or every category it serves is."""
        if self.cancelled:
            return False
        codes = [code for code in (route.category_codes or []) if code in self._by_code]
        return not codes or any(not self._by_code[code].cancelled for code in codes)


def change_alerts(event_ids: Iterable[int]) -> dict[int, list[Alert]]:
    """The alerts that changed each event, oldest first, in one query (withdrawn ones left
    out: withdrawing a change undoes it, as a reinstatement undoes a cancellation)."""
    ids = list(event_ids)
    by_event: dict[int, list[Alert]] = {event_id: [] for event_id in ids}
    if ids:
        for alert in db.session.scalars(
            select(Alert)
            .where(
                Alert.event_id.in_(ids),
                Alert.kind.in_(CHANGE_KINDS),
                Alert.retracted_at.is_(None),  # a withdrawn alert changes nothing
            )
            .order_by(Alert.created_at, Alert.id)
        ):
            by_event[alert.event_id].append(alert)
    return by_event


def of_event(event: Event, now: datetime, changes: list[Alert] | None = None) -> EventState:
    """The event and each of its categories as they stand at `now`."""
    if changes is None:
        changes = change_alerts([event.id])[event.id]
    zone = zone_of(event)
    file_cancelled, file_changed = event.status == "cancelled", event.status == "changed"
    categories = tuple(
        _category_state(event, category, changes, now, zone, file_cancelled, file_changed)
        for category in event.categories
    )
    by_code = {c.code: c for c in categories}
    is_race = bool(event.start_date) or any(c.start_day for c in categories)
    state = _event_state(event, categories, is_race, now, zone, file_cancelled, changes)
    return EventState(event, now, state, is_race, categories, tuple(changes), by_code)


def of_events(events: Iterable[Event], now: datetime) -> dict[int, EventState]:
    """Several events' states, their alerts read in one query."""
    events = list(events)
    changes = change_alerts(e.id for e in events)
    return {e.id: of_event(e, now, changes[e.id]) for e in events}


# --- Folding the alerts -----------------------------------------------------------------------


def _end_of_day(day: date, zone) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(0), zone).astimezone(timezone.utc)


def _start_of_day(day: date, zone) -> datetime:
    return datetime.combine(day, time(0), zone).astimezone(timezone.utc)


def _category_state(
    event: Event,
    category: Category,
    changes: list[Alert],
    now: datetime,
    zone,
    cancelled: bool,
    changed: bool,
) -> CategoryState:
    published = category.start_at
    start = published
    extra: dict[float, int] = defaultdict(int)  # km -> minutes added by extensions
    override: dict[float, int] = {}  # km -> a new cut-off, minutes after the start
    status: dict[float, str] = {}  # km -> bypassed or closed
    headline = None

    def cutoff_at(cp: Checkpoint) -> datetime | None:
        minutes = override.get(cp.km, cp.cutoff_minutes)
        if start is None or minutes is None:
            return None
        return start + timedelta(minutes=minutes + extra[cp.km])

    for alert in changes:
        if alert.category_id not in (None, category.id):
            continue
        effect = alert.effect or {}
        headline = alert
        if alert.kind == "cancellation":
            cancelled = True
            continue
        changed = True
        if alert.kind == "reinstate":
            cancelled = False
            if effect.get("start"):
                start = datetime.fromisoformat(effect["start"])
        elif alert.kind == "start_delay" and published is not None:
            start = published + timedelta(minutes=effect.get("delay_minutes", 0))
        elif alert.kind == "cutoff_extension":
            from_km = effect.get("from_km")
            for cp in category.checkpoints:
                at = cutoff_at(cp)
                if at is None:
                    continue
                # Without a named checkpoint, the cut-offs still ahead when it was posted.
                if (cp.km >= from_km) if from_km is not None else (at > alert.created_at):
                    extra[cp.km] += int(effect.get("minutes", 0))
        elif alert.kind == "course_change":
            for change in effect.get("checkpoints", []):
                if change.get("category") != category.code:
                    continue
                km = float(change["km"])
                if change.get("status"):
                    status[km] = change["status"]
                if change.get("cutoff_minutes") is not None:
                    override[km] = int(change["cutoff_minutes"])
                    extra[km] = 0

    # The day it starts on, known even without a time; a category the file gives no start
    # at all takes the event's dates.
    start_day = start.astimezone(zone).date() if start is not None else category.start_date
    last_day = start_day
    if start_day is None and event.start_date is not None:
        start_day, last_day = event.start_date, event.end_date or event.start_date
    finish = (
        start + timedelta(minutes=category.time_limit_minutes)
        if start is not None and category.time_limit_minutes is not None
        else None
    )
    rows = []
    for cp in category.checkpoints:
        at, published_at = cutoff_at(cp), None
        if published is not None and cp.cutoff_minutes is not None:
            published_at = published + timedelta(minutes=cp.cutoff_minutes)
        minutes = override.get(cp.km, cp.cutoff_minutes)
        rows.append(
            (
                cp,
                status.get(cp.km, OPEN),
                None if minutes is None else minutes + extra[cp.km],
                at,
                published_at,
            )
        )
        if cp.is_finish and at is not None and status.get(cp.km) != BYPASSED:
            finish = at  # an extension of the finish cut-off moves the end of the race
    # Without a time limit (a kids' race), a category is over at the end of its day.
    ends = finish or (_end_of_day(last_day, zone) if last_day else None)
    begins = start or (_start_of_day(start_day, zone) if start_day else None)

    if cancelled:
        state = CANCELLED
    elif ends is not None and now >= ends:
        state = FINISHED
    elif begins is not None and now >= begins:
        state = IN_PROGRESS
    elif start is not None and published is not None and start != published:
        state = DELAYED if start > published else CHANGED
    elif changed:
        state = CHANGED
    else:
        state = UPCOMING

    checkpoints, next_found = [], False
    for cp, cp_status, minutes, at, published_at in rows:
        if state == CANCELLED or at is None or cp_status == BYPASSED:
            phase = ""
        elif at <= now:
            phase = PASSED
        elif not next_found:
            phase, next_found = NEXT, True
        else:
            phase = LATER
        checkpoints.append(CheckpointState(cp, cp_status, minutes, at, published_at, phase))
    return CategoryState(
        category,
        state,
        published,
        start,
        start_day,
        cancelled,
        changed,
        finish,
        ends,
        tuple(checkpoints),
        headline,
        frozenset((category.details or {}).get("provisional") or ()),
    )


def _event_state(
    event: Event,
    categories: tuple[CategoryState, ...],
    is_race: bool,
    now: datetime,
    zone,
    file_cancelled: bool,
    changes: list[Alert],
) -> str:
    if not is_race:
        return RULES
    event_wide = [a for a in changes if a.category_id is None]
    cancelled = file_cancelled
    for alert in event_wide:
        if alert.kind == "cancellation":
            cancelled = True
        elif alert.kind == "reinstate":
            cancelled = False
    live = [c for c in categories if not c.cancelled]
    if cancelled or (categories and not live):
        return CANCELLED
    states = {c.state for c in live}
    if IN_PROGRESS in states:
        return IN_PROGRESS
    if live and states == {FINISHED}:
        return FINISHED
    if not live:  # no categories: the event's own dates
        if event.end_date and now >= _end_of_day(event.end_date, zone):
            return FINISHED
        if event.start_date and now >= _start_of_day(event.start_date, zone):
            return IN_PROGRESS
    if DELAYED in states:
        return DELAYED
    if CHANGED in states or event.status == "changed":
        return CHANGED
    return UPCOMING


def _schedule_row(
    item: ScheduleItem, by_code: dict[str, CategoryState], event_cancelled: bool
) -> ScheduleRow:
    concerned = [by_code[code] for code in (item.category_codes or by_code) if code in by_code]
    cancelled = event_cancelled or bool(concerned and all(c.cancelled for c in concerned))
    shifts: set[int] = set()
    if item.kind in MOVES_WITH_START:
        shifts = {c.delay_minutes for c in concerned if c.start is not None}
    elif item.kind in MOVES_WITH_FINISH:
        shifts = {_finish_shift(c) for c in concerned if c.finish is not None}
    # Moved only when every category it concerns moved alike.
    moved = shifts.pop() if len(shifts) == 1 else 0
    delta = timedelta(minutes=moved)
    return ScheduleRow(
        item,
        item.starts_at + delta,
        item.ends_at + delta if item.ends_at else None,
        moved,
        cancelled,
    )


def _finish_shift(state: CategoryState) -> int:
    published = state.published_start
    limit = state.category.time_limit_minutes
    if published is None or limit is None or state.finish is None:
        return 0
    return round((state.finish - (published + timedelta(minutes=limit))).total_seconds() / 60)
