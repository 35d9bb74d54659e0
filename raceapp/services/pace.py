"""The pace helper: what pace reaches each coming cut-off from where the runner is now."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from raceapp.models import Category, Checkpoint
from raceapp.services.errors import DomainError
from raceapp.services.timing import cutoff_instant, effective_start

# Minutes per km on mountain trail, for a runner near the cut-offs (stated on the page).
COMFORTABLE_AT_LEAST = 12.0  # a needed pace of 12 min/km or slower leaves time to spare
OUT_OF_REACH_BELOW = 7.0     # needing faster than 7 min/km late in a trail race is not realistic


@dataclass(frozen=True)
class PaceRow:
    checkpoint: Checkpoint
    at: datetime
    distance_km: float
    minutes_left: float
    pace_min_per_km: float | None  # None when the cut-off has already passed
    grade: str  # "comfortable", "tight", "out of reach" or "passed"


def grade_for(pace: float) -> str:
    if pace >= COMFORTABLE_AT_LEAST:
        return "comfortable"
    if pace >= OUT_OF_REACH_BELOW:
        return "tight"
    return "out of reach"


def plan(category: Category, at_km: float, now: datetime) -> list[PaceRow]:
    """For every cut-off beyond `at_km`, the pace (min/km) needed from `now` to make it."""
    if category.distance_km is not None and not 0 <= at_km <= category.distance_km:
        raise DomainError(f"Give a distance between 0 and {category.distance_km:g} km.")
    if at_km < 0:
        raise DomainError("Give a distance of 0 km or more.")
    start = effective_start(category)
    if start is None:
        raise DomainError("The start time is not published yet.")
    clock_from = max(now, start)  # before the start, the time to a cut-off begins at the gun
    rows = []
    for cp in category.checkpoints:
        at = cutoff_instant(category, cp)
        if at is None or cp.km <= at_km:
            continue
        distance = cp.km - at_km
        minutes = (at - clock_from).total_seconds() / 60
        if minutes <= 0:
            rows.append(PaceRow(cp, at, distance, minutes, None, "passed"))
            continue
        pace = minutes / distance
        rows.append(PaceRow(cp, at, distance, minutes, pace, grade_for(pace)))
    return rows


def format_pace(pace: float | None) -> str:
    """12.5 -> "12:30 min/km"."""
    if pace is None:
        return ""
    total = round(pace * 60)
    return f"{total // 60}:{total % 60:02d} min/km"
