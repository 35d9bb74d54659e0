"""The server's pace, course and countdown rules against the vectors the offline script is tested
with too (tests/js/race-rules.test.js reads the same file)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from raceapp.i18n import format_countdown, format_pace, format_when
from raceapp.services import course, pace

VECTORS = json.loads((Path(__file__).parent / "vectors" / "race-rules.json").read_text())


def test_the_limits_are_the_servers():
    limits = VECTORS["limits"]
    assert (limits["comfortable"], limits["out_of_reach"], limits["metres_up_per_flat_km"]) == (
        pace.COMFORTABLE_AT_LEAST,
        pace.OUT_OF_REACH_BELOW,
        pace.METRES_UP_PER_FLAT_KM,
    )


@pytest.mark.parametrize("value, grade", VECTORS["grade"])
def test_grade(value, grade):
    assert pace.grade_for(value) == grade


def by_language(section: str) -> list[tuple[str, float, str]]:
    return [
        (lang, value, text) for lang, cases in VECTORS[section].items() for value, text in cases
    ]


@pytest.mark.parametrize("language, value, text", by_language("format_pace"))
def test_format_pace(app, language, value, text):
    assert format_pace(value, language) == text


@pytest.mark.parametrize(
    "case", VECTORS["position"], ids=lambda c: repr(c["km"] or c["checkpoint"])
)
def test_position(case):
    args = (case["km"], case["checkpoint"], case["distance"], case["checkpoints"])
    if "error" in case:
        with pytest.raises(pace.BadPosition) as raised:
            pace.parse_position(*args)
        assert raised.value.code == case["error"]
    else:
        assert pace.parse_position(*args) == case["expect"]


@pytest.mark.parametrize("case", VECTORS["legs"], ids=lambda c: c["about"])
def test_legs(case):
    legs = pace.legs(
        datetime.fromisoformat(case["start"]),
        datetime.fromisoformat(case["now"]),
        case["at_km"],
        [(c["km"], datetime.fromisoformat(c["cutoff"])) for c in case["cutoffs"]],
        case["climb"],
    )
    got = [
        {
            "km": leg.km,
            "distance": leg.distance_km,
            "climb": round(leg.climb_m, 3),
            "effort": round(leg.effort_km, 3),
            "minutes": leg.minutes_left,
            "pace": format_pace(leg.pace_min_per_km, "en"),
            "grade": leg.grade,
            "margin": None if leg.margin_minutes is None else round(leg.margin_minutes, 1),
        }
        for leg in legs
    ]
    assert got == case["expect"]


@pytest.mark.parametrize("distance, climb, effort", VECTORS["effort"])
def test_effort(distance, climb, effort):
    assert pace.effort_km(distance, climb) == pytest.approx(effort)


@pytest.mark.parametrize("case", VECTORS["climb"], ids=lambda c: c["about"])
def test_climb_between(case):
    for start, end, metres in case["cases"]:
        assert course.climb_between(case["profile"], start, end) == pytest.approx(metres)


@pytest.mark.parametrize("case", VECTORS["match"], ids=lambda c: c["about"])
def test_match_position(case):
    found = course.match_position(
        VECTORS["tracks"][case["track"]],
        case["lat"],
        case["lon"],
        case["accuracy"],
        case["previous"],
    )
    assert {
        "km": round(found.km, 3),
        "off": round(found.off_m, 1),
        "off_course": found.off_course,
        "alternatives": [round(km, 3) for km in found.alternatives],
    } == case["expect"]


@pytest.mark.parametrize("language, seconds, text", by_language("countdown"))
def test_countdown(app, language, seconds, text):
    assert format_countdown(seconds, language) == text


@pytest.mark.parametrize("instant, zone, language, text", VECTORS["clock"])
def test_clock(app, instant, zone, language, text):
    local = datetime.fromisoformat(instant).astimezone(ZoneInfo(zone))
    assert format_when(local, "day_time", language) == text
