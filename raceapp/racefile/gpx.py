"""GPX course files: read, measured, simplified to what a phone needs and checked against the
race file (the distance of the category, its aid stations' km and positions).

Problems are the race-file checker's codes (racefile.messages), so a GPX mistake reads like any
other mistake in the race file.
"""

from __future__ import annotations

import hashlib
import math
from bisect import bisect_left
from dataclasses import dataclass
from typing import Any

import gpxpy
import gpxpy.geo
import gpxpy.gpx

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
EARTH_RADIUS_M = 6371000.0

Point = tuple[float, float, float, float | None, float]  # lat, lon, km, elevation, climb so far


class TrackProblem(Exception):
    """A GPX file that cannot stand for the course: `code` and `params` say why, in the race
    file checker's words (racefile.messages)."""

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


def _significance(xyz: list[tuple[float, float, float]]) -> list[float]:
    """Douglas-Peucker run once for every tolerance: a point is kept at tolerance T exactly when
    its significance exceeds T (how far it lies from the line that would skip it, capped by the
    significance of the point whose split found it). Splitting stops below FIRST_TOLERANCE_M."""
    significance = [0.0] * len(xyz)
    significance[0] = significance[-1] = math.inf
    stack = [(0, len(xyz) - 1, math.inf)]
    while stack:
        first, last, cap = stack.pop()
        ax, ay, az = xyz[first]
        dx, dy, dz = xyz[last][0] - ax, xyz[last][1] - ay, xyz[last][2] - az
        length2 = dx * dx + dy * dy + dz * dz
        worst, worst_at = 0.0, -1
        for i in range(first + 1, last):
            px, py, pz = xyz[i]
            px, py, pz = px - ax, py - ay, pz - az
            t = (px * dx + py * dy + pz * dz) / length2 if length2 else 0.0
            t = 0.0 if t < 0 else 1.0 if t > 1 else t
            ex, ey, ez = px - t * dx, py - t * dy, pz - t * dz
            off = ex * ex + ey * ey + ez * ez
            if off > worst:
                worst, worst_at = off, i
        worst = math.sqrt(worst)
        if worst > FIRST_TOLERANCE_M:
            significance[worst_at] = min(worst, cap)
            stack += [
                (first, worst_at, significance[worst_at]),
                (worst_at, last, significance[worst_at]),
            ]
    return significance


def simplify(points: list[Point], max_points: int = MAX_POINTS) -> tuple[list[Point], float]:
    """At most `max_points` of the track, none further than the returned tolerance (metres,
    position and height) from the full track; each kept point keeps its km measured on the full
    track, so distances stay true."""
    significance = _significance(_local_xyz(points))
    tolerance = FIRST_TOLERANCE_M
    while True:
        kept = [point for point, s in zip(points, significance, strict=True) if s > tolerance]
        if len(kept) <= max_points:
            return kept, tolerance
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
