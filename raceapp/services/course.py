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

from raceapp.models import Category, CourseTrack
from raceapp.racefile.gpx import EARTH_RADIUS_M, Track

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
