"""The course's shape: a GPX track read and checked against the race file, simplified to what a
phone needs, and the climb along it, which the effort pace counts.

Matching a position to the track and the climb between two kilometres also run offline on the
phone (static/race-rules.js); both are tested from tests/vectors/race-rules.json.
"""

from __future__ import annotations

import hashlib
import math
from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import gpxpy
import gpxpy.geo
import gpxpy.gpx

from raceapp.errors import DomainError
from raceapp.models import Category, CourseTrack

MAX_GPX_BYTES = 20 * 1024 * 1024  # a 100-mile track logged every second is under 10 MB
MAX_POINTS = 400  # a few hundred points draw a 100 km course and match a position to 50 m
FIRST_TOLERANCE_M = 2.0  # the simplified line strays at most this, doubled until it fits
# A measured track is rarely the published distance to the km: 8 % (at least 2 km) apart is
# refused as the wrong file or the wrong category.
DISTANCE_TOLERANCE = 0.08
DISTANCE_TOLERANCE_MIN_KM = 2.0
# An aid station whose published position lies further than this from the track at its km.
CHECKPOINT_OFF_TRACK_M = 300.0
# A climb counts once the altitude has risen this much: GPS and DEM noise is a few metres, and
# counting every wobble would double the published gain.
CLIMB_THRESHOLD_M = 5.0
# Matching a position: further than this (or than the fix's accuracy) is off the course; two
# passes of the course (a loop, an out-and-back) further apart than PASS_GAP_KM are told apart.
OFF_COURSE_M = 100.0
PASS_GAP_KM = 1.0
EARTH_RADIUS_M = 6371000.0

Point = tuple[float, float, float, float | None, float]  # lat, lon, km, elevation, climb so far


class TrackProblem(DomainError):
    """A GPX file that cannot stand for the course: `code` and `params` say why, in the race
    file checker's words (racefile.messages)."""

    status = 422

    def __init__(self, code: str, **params: Any):
        super().__init__(code)
        self.code = code
        self.params = params


@dataclass
class Track:
    """A course read from GPX, before it is stored."""

    points: list[Point]
    distance_km: float
    gain_m: int
    loss_m: int
    tolerance_m: float
    sha256: str
    source_points: int = 0
    warnings: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


# --- Reading ------------------------------------------------------------------------------------


def read_gpx(raw: bytes) -> Track:
    """A GPX file's track(s), joined in order, measured and simplified; TrackProblem otherwise."""
    if len(raw) > MAX_GPX_BYTES:
        raise TrackProblem("gpx-too-large", limit="20 MB")
    # GPX has no use for entity declarations; refusing them keeps entity expansion out.
    if b"<!ENTITY" in raw or b"<!DOCTYPE" in raw:
        raise TrackProblem("gpx-not-gpx", reason="DOCTYPE")
    try:
        gpx = gpxpy.parse(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise TrackProblem("gpx-not-gpx", reason="not UTF-8") from None
    except (gpxpy.gpx.GPXException, ValueError) as exc:
        raise TrackProblem("gpx-not-gpx", reason=_short(str(exc))) from None
    raw_points: list[Any] = [p for t in gpx.tracks for s in t.segments for p in s.points]
    if not raw_points:  # some planners export the course as a route
        raw_points = [p for r in gpx.routes for p in r.points]
    if len(raw_points) < 2:
        raise TrackProblem("gpx-no-track")
    lat_lon = [(p.latitude, p.longitude) for p in raw_points]
    if any(not (-90 <= la <= 90 and -180 <= lo <= 180) for la, lo in lat_lon):
        raise TrackProblem("gpx-not-gpx", reason="coordinates out of range")
    kms = [0.0]
    for (la1, lo1), (la2, lo2) in zip(lat_lon, lat_lon[1:], strict=False):
        kms.append(kms[-1] + gpxpy.geo.haversine_distance(la1, lo1, la2, lo2) / 1000)
    elevations = [p.elevation for p in raw_points]
    climbs, gain, loss = _climbs(elevations)
    full: list[Point] = [
        (la, lo, km, ele, climb)
        for (la, lo), km, ele, climb in zip(lat_lon, kms, elevations, climbs, strict=True)
    ]
    kept, tolerance = simplify(full)
    return Track(
        points=[_rounded(p) for p in kept],
        distance_km=round(kms[-1], 3),
        gain_m=round(gain),
        loss_m=round(loss),
        tolerance_m=tolerance,
        sha256=hashlib.sha256(raw).hexdigest(),
        source_points=len(full),
    )


def _short(text: str) -> str:
    return text if len(text) <= 120 else text[:117] + "…"


def _rounded(p: Point) -> Point:
    # About a metre of position, ten metres of distance, a metre of height: what the phone needs.
    lat, lon, km, ele, climb = p
    return (
        round(lat, 5),
        round(lon, 5),
        round(km, 3),
        None if ele is None else round(ele),
        round(climb),
    )


def _climbs(elevations: list[float | None]) -> tuple[list[float], float, float]:
    """The climb so far at each point, and the total gain and loss, counting a rise or a fall
    only once it passes CLIMB_THRESHOLD_M (so that noise is not counted as climbing)."""
    climbs: list[float] = []
    gain = loss = 0.0
    reference: float | None = None
    for ele in elevations:
        if ele is not None:
            if reference is None:
                reference = ele
            elif ele - reference >= CLIMB_THRESHOLD_M:
                gain += ele - reference
                reference = ele
            elif reference - ele >= CLIMB_THRESHOLD_M:
                loss += reference - ele
                reference = ele
        climbs.append(gain)
    return climbs, gain, loss


# --- Simplifying --------------------------------------------------------------------------------


def _local_xyz(points: list[Point]) -> list[tuple[float, float, float]]:
    """Metres east, north and up from the first point: flat enough at a course's scale."""
    lat0, lon0 = points[0][0], points[0][1]
    scale = math.radians(1) * EARTH_RADIUS_M
    cos0 = math.cos(math.radians(lat0))
    return [
        ((lon - lon0) * scale * cos0, (lat - lat0) * scale, ele or 0.0)
        for lat, lon, _km, ele, _c in points
    ]


def _off_segment(p, a, b) -> float:
    """How far p lies from the segment a–b, in metres (3D: a lost summit counts too)."""
    ab = [b[i] - a[i] for i in range(3)]
    length2 = sum(c * c for c in ab)
    t = (
        0.0
        if length2 == 0
        else max(0.0, min(1.0, sum((p[i] - a[i]) * ab[i] for i in range(3)) / length2))
    )
    return math.dist(p, [a[i] + t * ab[i] for i in range(3)])


def _douglas_peucker(xyz: list[tuple[float, float, float]], tolerance: float) -> list[int]:
    keep = {0, len(xyz) - 1}
    stack = [(0, len(xyz) - 1)]
    while stack:
        first, last = stack.pop()
        worst, worst_at = 0.0, -1
        for i in range(first + 1, last):
            off = _off_segment(xyz[i], xyz[first], xyz[last])
            if off > worst:
                worst, worst_at = off, i
        if worst > tolerance:
            keep.add(worst_at)
            stack += [(first, worst_at), (worst_at, last)]
    return sorted(keep)


def simplify(points: list[Point], max_points: int = MAX_POINTS) -> tuple[list[Point], float]:
    """At most `max_points` of the track, none further than the returned tolerance (metres,
    position and height) from the full track; each kept point keeps its km measured on the full
    track, so distances stay true."""
    xyz = _local_xyz(points)
    tolerance = FIRST_TOLERANCE_M
    while True:
        kept = _douglas_peucker(xyz, tolerance)
        if len(kept) <= max_points:
            return [points[i] for i in kept], tolerance
        tolerance *= 2


# --- Checking against the race file ------------------------------------------------------------


def check(
    track: Track,
    distance_km: float | None,
    checkpoints: list[tuple[str, float, float | None, float | None]],
) -> list[tuple[str, str, dict[str, Any]]]:
    """Problems of a track for a category: (where, code, params), where "" is the track itself
    and "checkpoints[i]" an aid station. `checkpoints` are (name, km, lat, lon)."""
    problems: list[tuple[str, str, dict[str, Any]]] = []
    if distance_km:
        allowed = max(distance_km * DISTANCE_TOLERANCE, DISTANCE_TOLERANCE_MIN_KM)
        if abs(track.distance_km - distance_km) > allowed:
            problems.append(
                (
                    "",
                    "gpx-distance",
                    {
                        "measured": f"{track.distance_km:.1f}",
                        "distance": f"{distance_km:g}",
                        "allowed": f"{allowed:.1f}",
                    },
                )
            )
    for i, (name, km, lat, lon) in enumerate(checkpoints):
        if km > track.distance_km + DISTANCE_TOLERANCE_MIN_KM:
            problems.append(
                (
                    f"checkpoints[{i}]",
                    "gpx-checkpoint-beyond",
                    {"name": name, "km": f"{km:g}", "measured": f"{track.distance_km:.1f}"},
                )
            )
            continue
        if lat is None or lon is None:
            continue
        at = point_at(track.points, km)
        off = gpxpy.geo.haversine_distance(lat, lon, at[0], at[1])
        if off > CHECKPOINT_OFF_TRACK_M:
            problems.append(
                (
                    f"checkpoints[{i}]",
                    "gpx-checkpoint-off",
                    {"name": name, "km": f"{km:g}", "off": f"{off / 1000:.1f}"},
                )
            )
    return problems


# --- Reading the stored track -----------------------------------------------------------------


def point_at(points: list[Point] | list[list], km: float) -> tuple[float, float, float | None]:
    """Latitude, longitude and elevation at `km` along the track (interpolated)."""
    kms = [p[2] for p in points]
    i = bisect_left(kms, km)
    if i <= 0:
        return points[0][0], points[0][1], points[0][3]
    if i >= len(points):
        return points[-1][0], points[-1][1], points[-1][3]
    a, b = points[i - 1], points[i]
    t = 0.0 if b[2] == a[2] else (km - a[2]) / (b[2] - a[2])
    ele = None if a[3] is None or b[3] is None else a[3] + t * (b[3] - a[3])
    return a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]), ele


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
    row = category.track or CourseTrack(category=category)
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
