"""The upcoming demo race: a copy of a seed race moved to next weekend, with a course track drawn
for illustration, so that a newcomer sees live countdowns, the profile and "where am I" without
the preview.

The track is drawn, not surveyed: loops out of the venue with climbs adding up to the published
gain. Every page that shows it says it is not the real route.
"""

from __future__ import annotations

import math
import tomllib
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import gpxpy.gpx
import tomli_w

DEMO_SUFFIX = "-demo"
# Where the drawn course starts: the venue of the seed race it copies is close enough.
DEFAULT_CENTRE = (36.8585, 138.4050)


def next_weekend(today: date) -> date:
    """The Saturday of next weekend: at least three days ahead, so the countdown has days."""
    saturday = today + timedelta(days=(5 - today.weekday()) % 7)
    return saturday if (saturday - today).days >= 3 else saturday + timedelta(days=7)


def _shift(value: Any, delta: timedelta) -> Any:
    """Every date and time in a parsed race file, moved by `delta` (whole days for dates)."""
    if isinstance(value, datetime):
        return value + delta
    if isinstance(value, date):
        return value + timedelta(days=delta.days)
    if isinstance(value, dict):
        return {key: _shift(item, delta) for key, item in value.items()}
    if isinstance(value, list):
        return [_shift(item, delta) for item in value]
    return value


def demo_copy(seed_text: str, today: date) -> tuple[dict[str, Any], dict[str, str]]:
    """The seed race moved to next weekend and labelled as the demo, and the GPX files its
    categories name ({file name: GPX text})."""
    race = tomllib.loads(seed_text)
    event = race["event"]
    delta = timedelta(days=(next_weekend(today) - event["start_date"]).days)
    # The first start lands on Saturday when the seed race's first start was on its Saturday.
    first_start = min(
        (c["start"] for c in race["categories"] if isinstance(c.get("start"), datetime)),
        default=None,
    )
    if first_start is not None:
        delta = timedelta(days=(next_weekend(today) - first_start.date()).days)
    race = _shift(race, delta)
    event = race["event"]
    event["slug"] = event["slug"] + DEMO_SUFFIX
    event["name"] = {
        "en": f"{_text(event['name'], 'en')} (demo)",
        "ja": f"{_text(event['name'], 'ja')}（デモ）",
    }
    event["status"] = "on"
    event.pop("results_url", None)
    event["notes"] = [
        {
            "en": "Demo: a copy of the real race moved to next weekend so that the app can be "
            "tried live. The course track is drawn for illustration: it is not the real route.",
            "ja": "デモ：アプリを実際に試せるよう、実在の大会を来週末に移したコピーです。"
            "コースのGPXは説明用に描いたもので、実際のルートではありません。",
        },
        *event.get("notes", []),
    ]
    tracks: dict[str, str] = {}
    for category in race["categories"]:
        distance = category.get("distance_km")
        if not distance:
            continue
        name = f"{event['slug']}-{category['code']}.gpx"
        category["gpx"] = name
        category["gpx_illustrative"] = True
        tracks[name] = illustrative_gpx(
            float(distance), float(category.get("elevation_gain_m") or distance * 30)
        )
    return race, tracks


def _text(value: Any, language: str) -> str:
    if isinstance(value, dict):
        return value.get(language) or next(iter(value.values()))
    return value


def illustrative_gpx(
    distance_km: float,
    gain_m: float,
    centre: tuple[float, float] = DEFAULT_CENTRE,
    points_per_km: int = 40,
) -> str:
    """A drawn course of `distance_km`: petals out of the venue and back, climbing `gain_m`
    in all, as a GPX track with a point every 25 m (a watch's recording, roughly)."""
    petals = max(1, min(5, round(distance_km / 30)))
    steps = max(200, int(distance_km * points_per_km))
    shape = []
    for i in range(steps + 1):
        angle = math.pi * i / steps
        # A rose curve: each petal leaves the venue and comes back to it.
        radius = abs(math.sin(petals * angle)) + 0.02
        turn = 2 * angle + 0.3 * math.sin(7 * angle)
        shape.append((radius * math.cos(turn), radius * math.sin(turn)))
    length = sum(math.dist(a, b) for a, b in zip(shape, shape[1:], strict=False))
    scale_m = distance_km * 1000 / length
    lat0, lon0 = centre
    metres_per_degree = math.radians(1) * 6371000
    climbs = max(1, round(gain_m / 600))  # a climb of about 600 m
    amplitude = gain_m / (2 * climbs)
    gpx = gpxpy.gpx.GPX()
    gpx.name = "Illustrative course, not the real route"
    track = gpxpy.gpx.GPXTrack(name=gpx.name)
    segment = gpxpy.gpx.GPXTrackSegment()
    gpx.tracks.append(track)
    track.segments.append(segment)
    for i, (x, y) in enumerate(shape):
        share = i / steps
        elevation = 700 + amplitude * (1 - math.cos(2 * math.pi * climbs * share))
        # A little noise, as a real recording has: the climb counter must not count it.
        elevation += 1.5 * math.sin(i * 1.7)
        segment.points.append(
            gpxpy.gpx.GPXTrackPoint(
                latitude=lat0 + y * scale_m / metres_per_degree,
                longitude=lon0 + x * scale_m / (metres_per_degree * math.cos(math.radians(lat0))),
                elevation=round(elevation, 1),
            )
        )
    return gpx.to_xml()


def write_demo(seed: Path, folder: Path, today: date) -> Path:
    """Write the demo race file and its GPX files into `folder`; the race file's path."""
    race, tracks = demo_copy(seed.read_text(encoding="utf-8"), today)
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in tracks.items():
        (folder / name).write_text(text, encoding="utf-8")
    path = folder / f"{race['event']['slug']}.toml"
    path.write_text(tomli_w.dumps(race), encoding="utf-8")
    return path
