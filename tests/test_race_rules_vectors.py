"""The server's pace and countdown rules against the vectors the offline script is tested with
too (tests/js/race-rules.test.js reads the same file)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from raceapp.i18n import format_countdown, format_pace
from raceapp.services import pace

VECTORS = json.loads((Path(__file__).parent / "vectors" / "race-rules.json").read_text())


def test_the_limits_are_the_servers():
    assert (VECTORS["limits"]["comfortable"], VECTORS["limits"]["out_of_reach"]) == (
        pace.COMFORTABLE_AT_LEAST,
        pace.OUT_OF_REACH_BELOW,
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
    )
    got = [
        {
            "km": leg.km,
            "distance": leg.distance_km,
            "minutes": leg.minutes_left,
            "pace": format_pace(leg.pace_min_per_km, "en"),
            "grade": leg.grade,
        }
        for leg in legs
    ]
    assert got == case["expect"]


@pytest.mark.parametrize("language, seconds, text", by_language("countdown"))
def test_countdown(app, language, seconds, text):
    assert format_countdown(seconds, language) == text
