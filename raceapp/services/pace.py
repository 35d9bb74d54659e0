"""The pace helper: what pace reaches each coming cut-off from where the runner is now.

The pace counts the climb: a leg's effort is its km plus one km per 100 m of climb (the "km-effort"
ITRA publishes for trail races), so a pace reads as time per flat km. The climb comes from the
course (services.course.climb_profile): its GPX track, its legs' published climbs, or the total
spread evenly.

The same rule runs offline on the phone (static/race-rules.js); both are tested from one file
of vectors (tests/vectors/race-rules.json), so they cannot drift apart.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from raceapp.errors import DomainError
from raceapp.services.course import climb_between, climb_profile
from raceapp.services.race_state import CategoryState, CheckpointState
from raceapp.vocabulary import COMFORTABLE, FINISHED, OUT_OF_REACH, PASSED, TIGHT

# Minutes per flat km (effort km), for a runner near the cut-offs (stated on the page).
COMFORTABLE_AT_LEAST = 8.0  # 8 min per flat km or slower leaves time to spare
OUT_OF_REACH_BELOW = 5.0  # faster than 5 min per flat km, late in a trail race, is elite running
METRES_UP_PER_FLAT_KM = 100.0  # 100 m of climb takes as long as 1 km on the flat

# What the runner reads under the field; the offline script shows the same texts (the page
# hands them over with the pace data).
POSITION_MESSAGES = {
    "empty": _l("Say where you are: a number of km, for example 61 or 61.5, or a checkpoint."),
    "not_a_number": _l("Give your position as a number of km, for example 61 or 61.5."),
    "negative": _l("Give a distance of 0 km or more."),
    "beyond": _l("Give a distance between 0 and %(distance)s km."),
    "unknown_checkpoint": _l("Choose one of the checkpoints in the list."),
}


def position_message(code: str, distance_km: float | None) -> str:
    """The sentence for a position that cannot be used, in the reader's language."""
    return str(POSITION_MESSAGES[code]).replace("%(distance)s", f"{distance_km or 0:g}")


NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?", re.IGNORECASE)


class BadPosition(DomainError):
    """The position the runner typed cannot be used (shown under the field)."""

    status = 422

    def __init__(self, code: str, distance_km: float | None = None):
        super().__init__(position_message(code, distance_km))
        self.code = code


@dataclass(frozen=True)
class Leg:
    """From where the runner is to one coming cut-off."""

    km: float
    distance_km: float
    climb_m: float
    effort_km: float  # distance_km plus the climb as flat km
    minutes_left: float
    pace_min_per_km: float | None  # per flat km; None when the cut-off has already passed
    grade: str  # a key of vocabulary.PACE_GRADES
    # At the runner's pace so far (per flat km), when they would get there; None before they
    # have covered any ground.
    arrival: datetime | None = None
    margin_minutes: float | None = None  # to spare at the cut-off on that estimate (< 0: late)

    @property
    def reachable(self) -> bool:
        return self.grade in (COMFORTABLE, TIGHT)


@dataclass(frozen=True)
class PaceRow:
    checkpoint: CheckpointState
    leg: Leg


def grade_for(pace: float) -> str:
    if pace >= COMFORTABLE_AT_LEAST:
        return COMFORTABLE
    if pace >= OUT_OF_REACH_BELOW:
        return TIGHT
    return OUT_OF_REACH


def parse_position(
    raw_km: str | None,
    raw_checkpoint: str | None,
    distance_km: float | None,
    checkpoints: dict[str, float],
) -> float:
    """Where the runner says they are, in km: typed, or a checkpoint (by id) just passed."""
    raw_km, raw_checkpoint = (raw_km or "").strip(), (raw_checkpoint or "").strip()
    if raw_km:
        text = raw_km.replace(",", ".")
        # Digits only (Python's float() would also take "nan", "inf" or "1_000"; the offline
        # script must read exactly the same numbers).
        if not NUMBER.fullmatch(text):
            raise BadPosition("not_a_number")
        at_km = float(text)
        if not math.isfinite(at_km):
            raise BadPosition("not_a_number")
    elif raw_checkpoint == "start":
        at_km = 0.0
    elif raw_checkpoint:
        if raw_checkpoint not in checkpoints:
            raise BadPosition("unknown_checkpoint")
        at_km = checkpoints[raw_checkpoint]
    else:
        raise BadPosition("empty")
    if at_km < 0:
        raise BadPosition("negative")
    if distance_km is not None and at_km > distance_km:
        raise BadPosition("beyond", distance_km)
    return at_km


def effort_km(distance_km: float, climb_m: float) -> float:
    """A distance with its climb, as flat km."""
    return distance_km + climb_m / METRES_UP_PER_FLAT_KM


def legs(
    start: datetime,
    now: datetime,
    at_km: float,
    cutoffs: list[tuple[float, datetime]],
    climb: list[tuple[float, float]] | None = None,
) -> list[Leg]:
    """For every cut-off (km, instant) beyond `at_km`, the pace per flat km needed from `now` to
    make it, and when the runner would arrive at their pace so far; before the start, the time
    to a cut-off begins at the gun. `climb` is the course's climb profile [(km, metres)]."""
    climb = climb or []
    clock_from = max(now, start)
    so_far = None  # minutes per flat km since the start
    if now > start and at_km > 0:
        covered = effort_km(at_km, climb_between(climb, 0.0, at_km))
        so_far = (now - start).total_seconds() / 60 / covered
    out = []
    for km, at in cutoffs:
        if km <= at_km:
            continue
        distance = km - at_km
        up = climb_between(climb, at_km, km)
        effort = effort_km(distance, up)
        minutes = (at - clock_from).total_seconds() / 60
        arrival = margin = None
        if so_far is not None:
            arrival = now + timedelta(minutes=effort * so_far)
            margin = (at - arrival).total_seconds() / 60
        if minutes <= 0:
            out.append(Leg(km, distance, up, effort, minutes, None, PASSED, arrival, margin))
        else:
            pace = minutes / effort
            out.append(
                Leg(km, distance, up, effort, minutes, pace, grade_for(pace), arrival, margin)
            )
    return out


def position(raw_km: str | None, raw_checkpoint: str | None, state: CategoryState) -> float:
    """parse_position for a category as it stands (bypassed checkpoints cannot be chosen)."""
    return parse_position(
        raw_km,
        raw_checkpoint,
        state.category.distance_km,
        {
            str(cp.checkpoint.id): cp.checkpoint.km
            for cp in state.checkpoints
            if cp.status != "bypassed"
        },
    )


def plan(state: CategoryState, at_km: float, now: datetime) -> list[PaceRow]:
    """The pace to each coming cut-off of a category as it stands."""
    if not state.counts_down or state.start is None:
        if state.cancelled:
            raise DomainError(_("There is no cut-off to race against: the race is cancelled."))
        if state.state == FINISHED:
            raise DomainError(_("There is no cut-off to race against: the race is over."))
        raise DomainError(
            _("There is no cut-off to race against: the start time is not published yet.")
        )
    live = [cp for cp in state.checkpoints if cp.has_cutoff and cp.at is not None]
    by_km = {cp.checkpoint.km: cp for cp in live}
    cutoffs = [(cp.checkpoint.km, cp.at) for cp in live if cp.at is not None]
    profile = climb_profile(state.category)
    return [PaceRow(by_km[leg.km], leg) for leg in legs(state.start, now, at_km, cutoffs, profile)]
