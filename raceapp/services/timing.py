"""Race time: cut-off instants are start + elapsed offset, shown in the event's zone."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from raceapp.models import Category, Checkpoint, Event


def zone_of(event: Event) -> ZoneInfo:
    return ZoneInfo(event.time_zone)


def effective_start(category: Category) -> datetime | None:
    """The start instant including any announced delay, or None when no time is published."""
    if category.start_at is None:
        return None
    return category.start_at + timedelta(minutes=category.start_delay_minutes or 0)


def cutoff_instant(category: Category, checkpoint: Checkpoint) -> datetime | None:
    start = effective_start(category)
    if start is None or checkpoint.cutoff_minutes is None:
        return None
    return start + timedelta(minutes=checkpoint.cutoff_minutes)


def finish_instant(category: Category) -> datetime | None:
    start = effective_start(category)
    if start is None or category.time_limit_minutes is None:
        return None
    return start + timedelta(minutes=category.time_limit_minutes)


def format_elapsed(minutes: int | None) -> str:
    """11 h 30 min -> "11 h 30", 21 h -> "21 h"."""
    if minutes is None:
        return ""
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest:02d}" if rest else f"{hours} h"


@dataclass(frozen=True)
class CutoffRow:
    checkpoint: Checkpoint
    at: datetime | None
    state: str  # "passed", "next", "later" or "" when no cut-off time is known


def cutoff_table(category: Category, now: datetime) -> list[CutoffRow]:
    """Every checkpoint with its cut-off instant and its state at `now`."""
    rows = []
    next_found = False
    for cp in category.checkpoints:
        at = cutoff_instant(category, cp)
        if at is None:
            state = ""
        elif at <= now:
            state = "passed"
        elif not next_found:
            state, next_found = "next", True
        else:
            state = "later"
        rows.append(CutoffRow(cp, at, state))
    return rows


def race_phase(category: Category, now: datetime) -> str:
    """"unscheduled", "before", "running" or "over" for a category at `now`."""
    start = effective_start(category)
    if start is None:
        return "unscheduled"
    if now < start:
        return "before"
    finish = finish_instant(category)
    if finish is not None and now >= finish:
        return "over"
    return "running"


def format_countdown(seconds: float) -> str:
    """Time left as the countdown shows it: "5 h 30 min 00 s"; from two days on, "3 days 4 h
    05 min" (a race-day countdown stays in hours, where runners think in them)."""
    if seconds <= 0:
        return "0 h 00 min 00 s"
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours >= 48:
        return f"{hours // 24} days {hours % 24} h {minutes:02d} min"
    return f"{hours} h {minutes:02d} min {secs:02d} s"
