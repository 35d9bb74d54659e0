"""The course as the runner's phone uses it: the stored track (read by racefile.gpx), the climb
along it, which the effort pace counts, and a position matched to it.

Matching a position to the track and the climb between two kilometres also run offline on the
phone (static/race-rules.js); both are tested from tests/vectors/race-rules.json.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from raceapp.database import write_transaction
from raceapp.errors import DomainError, NotFound
from raceapp.extensions import db
from raceapp.localized import primary
from raceapp.models import Category, CourseTrack, Event, User
from raceapp.racefile import gpx
from raceapp.racefile.gpx import EARTH_RADIUS_M, Track, point_at
from raceapp.racefile.messages import render
from raceapp.services import audit

# Matching a position: further than this (or than the fix's accuracy) is off the course; two
# passes of the course (a loop, an out-and-back) further apart than PASS_GAP_KM are told apart.
OFF_COURSE_M = 100.0
PASS_GAP_KM = 1.0

# --- Reading the stored track -----------------------------------------------------------------


def climb_profile(category: Category) -> list[tuple[float, float]]:
    """The climb so far at points of the course, [(km, metres)], from the best the race
    publishes: its GPX track, else the climb of each leg, else the total spread evenly; empty
    when nothing is known (the pace then counts the distance alone)."""
    track = category.track
    if track is not None:
        return [(p[2], p[4]) for p in track.points]
    legs = [cp for cp in category.checkpoints if cp.gain_m is not None]
    if legs:
        profile, climbed, last_km = [(0.0, 0.0)], 0.0, 0.0
        for cp in category.checkpoints:
            if cp.gain_m is None:
                continue
            climbed += cp.gain_m
            last_km = cp.km
            profile.append((cp.km, climbed))
        if category.distance_km and category.distance_km > last_km and category.elevation_gain_m:
            profile.append((category.distance_km, max(climbed, category.elevation_gain_m)))
        return profile
    if category.elevation_gain_m and category.distance_km:
        return [(0.0, 0.0), (category.distance_km, float(category.elevation_gain_m))]
    return []


def climb_source(category: Category) -> str:
    """Where the climb comes from: "track", "legs", "total" or "" (unknown)."""
    if category.track is not None:
        return "track"
    if any(cp.gain_m is not None for cp in category.checkpoints):
        return "legs"
    return "total" if category.elevation_gain_m and category.distance_km else ""


def track_data(category: Category) -> dict[str, Any] | None:
    """The cached track the phone matches positions against (GET /me/course.json)."""
    track = category.track
    if track is None:
        return None
    return {
        "points": track.points,
        "distance_km": track.distance_km,
        "illustrative": track.illustrative,
        "tolerance_m": track.tolerance_m,
    }


def store(
    category: Category, track: Track, *, source_name: str, illustrative: bool, now: datetime
) -> CourseTrack:
    """Keep `track` as the category's course (replacing any earlier one)."""
    row = category.track or CourseTrack()
    row.source_name = source_name[:200]
    row.source_sha256 = track.sha256
    row.illustrative = illustrative
    row.distance_km = track.distance_km
    row.gain_m = track.gain_m
    row.loss_m = track.loss_m
    row.points = [list(p) for p in track.points]
    row.tolerance_m = track.tolerance_m
    row.imported_at = now
    category.track = row
    return row


# --- Rules the phone runs offline too (static/race-rules.js) -------------------------------------


def climb_at(profile: list[tuple[float, float]] | list[list[float]], km: float) -> float:
    """The climb so far at `km`, interpolated along [(km, metres)]."""
    if not profile:
        return 0.0
    kms = [p[0] for p in profile]
    i = bisect_left(kms, km)
    if i <= 0:
        return float(profile[0][1])
    if i >= len(profile):
        return float(profile[-1][1])
    (k1, c1), (k2, c2) = profile[i - 1], profile[i]
    return c1 if k2 == k1 else c1 + (km - k1) / (k2 - k1) * (c2 - c1)


def climb_between(profile, from_km: float, to_km: float) -> float:
    """Metres climbed between two kilometres of the course."""
    return max(0.0, climb_at(profile, to_km) - climb_at(profile, from_km))


@dataclass(frozen=True)
class Match:
    """Where a position falls on the course."""

    km: float  # along the course
    off_m: float  # how far the position is from the track
    off_course: bool
    # The kilometres of other passes of the course just as near (a loop, an out-and-back).
    alternatives: tuple[float, ...] = ()


def match_position(
    points, lat: float, lon: float, accuracy_m: float, previous_km: float | None = None
) -> Match:
    """The course km nearest to a position: the nearest point of the track, or, where the course
    passes near twice, the pass just ahead of `previous_km` (the last km found)."""
    scale = math.radians(1) * EARTH_RADIUS_M
    cos0 = math.cos(math.radians(lat))
    xy = [((p[1] - lon) * scale * cos0, (p[0] - lat) * scale) for p in points]
    found: list[tuple[float, float]] = []  # (km, metres off) per segment
    for i in range(len(points) - 1):
        (ax, ay), (bx, by) = xy[i], xy[i + 1]
        dx, dy = bx - ax, by - ay
        length2 = dx * dx + dy * dy
        t = 0.0 if length2 == 0 else max(0.0, min(1.0, -(ax * dx + ay * dy) / length2))
        off = math.hypot(ax + t * dx, ay + t * dy)
        found.append((points[i][2] + t * (points[i + 1][2] - points[i][2]), off))
    best_km, best = min(found, key=lambda f: f[1])
    if best > max(OFF_COURSE_M, accuracy_m):
        return Match(best_km, best, True)
    window = best + max(accuracy_m, 25.0)
    near = [f for f in found if f[1] <= window]
    passes: list[tuple[float, float]] = []  # the nearest (km, off) of each pass
    last_km: float | None = None
    for km, off in near:  # segments come in course order
        if last_km is None or km - last_km > PASS_GAP_KM:
            passes.append((km, off))
        elif off < passes[-1][1]:
            passes[-1] = (km, off)
        last_km = km
    chosen = min(passes, key=lambda f: f[1])
    if previous_km is not None and len(passes) > 1:
        ahead = [f for f in passes if f[0] >= previous_km - PASS_GAP_KM / 2]
        chosen = (
            min(ahead, key=lambda f: f[0])
            if ahead
            else min(passes, key=lambda f: abs(f[0] - previous_km))
        )
    others = tuple(km for km, _off in passes if km != chosen[0])
    return Match(chosen[0], chosen[1], False, others)


class TrackRefused(DomainError):
    """An uploaded GPX file that cannot stand for the category's course: every reason."""

    status = 422

    def __init__(self, messages: list[str]):
        super().__init__(" ".join(messages))
        self.messages = messages


def _category(event: Event, code: str) -> Category:
    category = db.session.scalar(
        select(Category).where(Category.event_id == event.id, Category.code == code)
    )
    if category is None:
        raise NotFound(_("This race has no such category."))
    return category


def upload_track(
    event: Event, code: str, raw: bytes, filename: str, *, by: User, now: datetime
) -> CourseTrack:
    """Check a GPX file against the category as it stands and keep it as its course."""
    category = _category(event, code)
    try:
        track = gpx.read_gpx(raw)
    except gpx.TrackProblem as problem:
        raise TrackRefused([render(problem.code, problem.params, _)]) from None
    stations = [
        (primary(cp.name, event.language or "en"), cp.km, cp.latitude, cp.longitude)
        for cp in category.checkpoints
    ]
    problems = gpx.check(track, category.distance_km, stations)
    if problems:
        raise TrackRefused([render(code_, params, _) for _where, code_, params in problems])
    with write_transaction():
        row = store(
            category, track, source_name=filename or "course.gpx", illustrative=False, now=now
        )
        audit.record(
            event,
            by,
            "course.uploaded",
            now=now,
            category=category.name,
            file=row.source_name,
            km=f"{track.distance_km:.1f}",
        )
    return row


def remove_track(event: Event, code: str, *, by: User, now: datetime) -> None:
    """Take the category's course track away (its pages then show the published climb)."""
    category = _category(event, code)
    if category.track is None:
        return
    with write_transaction():
        category.track = None
        audit.record(event, by, "course.removed", now=now, category=category.name)


def on_course(category: Category, lat: float, lon: float, accuracy_m: float | None) -> Match | None:
    """Where a reported position lies on the category's course (None: no track)."""
    if category.track is None:
        return None
    return match_position(category.track.points, lat, lon, accuracy_m or 0.0)


# --- Drawing: the elevation profile and the course's shape ----------------------------------------

WIDTH = 360  # SVG units: about CSS pixels on a 390 px phone
PLOT_LEFT, PLOT_RIGHT, PLOT_TOP, PLOT_BOTTOM, PROFILE_HEIGHT = 4, 356, 74, 156, 172


@dataclass(frozen=True)
class Marker:
    """An aid station with a cut-off on the profile."""

    x: float
    km: float
    name: str
    at: datetime | None  # the cut-off as it stands
    phase: str  # race_state's: "passed", "next", "later" or ""


@dataclass(frozen=True)
class Block:
    """A leg drawn as a block where only its climb is published: height by metres per km."""

    x: float
    width: float
    y: float
    gain_m: int
    label_fits: bool


@dataclass(frozen=True)
class Profile:
    """Everything the profile's SVG draws (templates/kit/_course.html)."""

    source: str  # "track", "legs" or "total"
    distance_km: float
    gain_m: int | None
    gain_over: bool
    line: str  # the path of the elevation line ("" without elevations)
    area: str
    top_m: int | None  # the highest and lowest points drawn
    bottom_m: int | None
    blocks: tuple[Block, ...]
    markers: tuple[Marker, ...]
    ticks: tuple[tuple[float, str], ...]  # x, km label
    illustrative: bool


def _x(km: float, distance: float) -> float:
    return round(PLOT_LEFT + (PLOT_RIGHT - PLOT_LEFT) * max(0.0, min(km, distance)) / distance, 1)


def profile(category: Category, checkpoints) -> Profile | None:
    """The category's elevation profile, with its aid stations and their cut-offs as they stand
    (`checkpoints`: race_state's CheckpointStates); None without a distance or any climb."""
    distance = category.distance_km or (category.track.distance_km if category.track else None)
    source = climb_source(category)
    if not distance or not source:
        return None
    line = area = ""
    top = bottom = None
    blocks: list[Block] = []
    track = category.track
    if track is not None and all(p[3] is not None for p in track.points):
        elevations = [p[3] for p in track.points]
        top, bottom = max(elevations), min(elevations)
        span = max(top - bottom, 50)  # a flat course is not drawn as a mountain range

        def y(ele: float) -> float:
            return round(PLOT_BOTTOM - (ele - bottom) / span * (PLOT_BOTTOM - PLOT_TOP), 1)

        coords = [f"{_x(p[2], distance)} {y(p[3])}" for p in track.points]
        line = "M" + " L".join(coords)
        area = f"{line} L{_x(distance, distance)} {PLOT_BOTTOM} L{PLOT_LEFT} {PLOT_BOTTOM} Z"
    elif source in ("legs", "total"):
        legs, start = [], 0.0
        for km, climbed in _leg_climbs(category):
            legs.append((start, km, climbed))
            start = km
        steepest = max((c / (b - a) for a, b, c in legs if b > a), default=0) or 1
        for a, b, climbed in legs:
            if b <= a:
                continue
            height = (PLOT_BOTTOM - PLOT_TOP) * (climbed / (b - a)) / steepest
            x1, x2 = _x(a, distance), _x(b, distance)
            blocks.append(
                Block(
                    x1,
                    round(x2 - x1 - 1, 1),
                    round(PLOT_BOTTOM - height, 1),
                    round(climbed),
                    x2 - x1 >= 34,
                )
            )
    markers = tuple(
        Marker(
            _x(cp.checkpoint.km, distance),
            cp.checkpoint.km,
            cp.checkpoint.name,
            cp.at if cp.has_cutoff else None,
            cp.phase,
        )
        for cp in checkpoints
    )
    step = next(s for s in (5, 10, 20, 25, 50, 100, 200, 500) if distance / s <= 6)
    ticks = tuple((_x(km, distance), f"{km:g}") for km in range(0, int(distance) + 1, step))
    return Profile(
        source=source,
        distance_km=distance,
        gain_m=track.gain_m if track is not None else category.elevation_gain_m,
        gain_over=bool((category.details or {}).get("elevation_gain_over")) and track is None,
        line=line,
        area=area,
        top_m=round(top) if top is not None else None,
        bottom_m=round(bottom) if bottom is not None else None,
        blocks=tuple(blocks),
        markers=markers,
        ticks=ticks,
        illustrative=bool(track and track.illustrative),
    )


def _leg_climbs(category: Category) -> list[tuple[float, float]]:
    """(km at the end of a leg, its climb) from the climb profile."""
    points = climb_profile(category)
    return [(b[0], b[1] - a[1]) for a, b in zip(points, points[1:], strict=False)]


@dataclass(frozen=True)
class Shape:
    """The course drawn from above, and how to place a position on it (static/course.js)."""

    width: int
    height: int
    path: str
    # x = (lon - west) * kx + pad, y = (north - lat) * ky + pad
    west: float
    north: float
    kx: float
    ky: float
    pad: int
    stations: tuple[tuple[float, float, float], ...]  # x, y, km of each aid station


def shape(category: Category) -> Shape | None:
    """The course's track seen from above, fitted to the phone's width."""
    track = category.track
    if track is None:
        return None
    pad, inner = 10, WIDTH - 20
    lats = [p[0] for p in track.points]
    lons = [p[1] for p in track.points]
    north, south, west, east = max(lats), min(lats), min(lons), max(lons)
    across = max((east - west) * math.cos(math.radians((north + south) / 2)), 1e-6)
    tall = max(north - south, 1e-6)
    scale = min(inner / across, 300 / tall)  # never taller than 300 units
    kx = scale * math.cos(math.radians((north + south) / 2))
    ky = scale

    def place(lat: float, lon: float) -> tuple[float, float]:
        return round((lon - west) * kx + pad, 1), round((north - lat) * ky + pad, 1)

    path = "M" + " L".join("{} {}".format(*place(p[0], p[1])) for p in track.points)
    stations = []
    for cp in category.checkpoints:
        lat, lon, _elevation = point_at(track.points, cp.km)
        stations.append((*place(lat, lon), cp.km))
    return Shape(
        width=WIDTH,
        height=round(tall * ky + 2 * pad),
        path=path,
        west=west,
        north=north,
        kx=kx,
        ky=ky,
        pad=pad,
        stations=tuple(stations),
    )
