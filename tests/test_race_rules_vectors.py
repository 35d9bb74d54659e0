"""The server's pace and countdown rules against the vectors the offline script is tested with
too (tests/js/race-rules.test.js reads the same file)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from raceapp.services import pace
from raceapp.services.timing import format_countdown

VECTORS = json.loads((Path(__file__).parent / "vectors" / "race-rules.json").read_text())


def test_the_limits_are_the_servers():
    assert (VECTORS["limits"]["comfortable"], VECTORS["limits"]["out_of_reach"]) == (
        pace.COMFORTABLE_AT_LEAST,
        pace.OUT_OF_REACH_BELOW,
    )


@pytest.mark.parametrize("value, grade", VECTORS["grade"])
def test_grade(value, grade):
    assert pace.grade_for(value) == grade


@pytest.mark.parametrize("value, text", VECTORS["format_pace"])
def test_format_pace(value, text):
    assert pace.format_pace(value) == text


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
            "pace": pace.format_pace(leg.pace_min_per_km),
            "grade": leg.grade,
        }
        for leg in legs
    ]
    assert got == case["expect"]


@pytest.mark.parametrize("seconds, text", VECTORS["countdown"])
def test_countdown(seconds, text):
    assert format_countdown(seconds) == text
