"""Property: any race file the checker accepts imports, and its kit works, whatever the names
(any script) and whenever the race runs (in the hours around clock changes)."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from raceapp.extensions import db
from raceapp.models import Event
from raceapp.racefile import check_text
from raceapp.services import accounts, kit, race_import, race_state
from raceapp.zones import local_candidates, offset_text
from tests.helpers import csrf_from

pytestmark = pytest.mark.slow

# Local times close to a clock change in zones that have them, and one without.
NEAR_CHANGES = {
    "Europe/Paris": [datetime(2026, 10, 25, 2, 30), datetime(2026, 3, 29, 2, 30)],
    "America/New_York": [datetime(2026, 11, 1, 1, 30), datetime(2026, 3, 8, 2, 30)],
    "Australia/Sydney": [datetime(2026, 4, 5, 2, 30), datetime(2026, 10, 4, 2, 30)],
    "Asia/Tokyo": [datetime(2026, 6, 20, 5, 0)],
}
NAMES = (
    st.text(
        alphabet=st.characters(codec="utf-8", categories=("Lu", "Ll", "Lo", "Nd", "Zs")),
        min_size=1,
        max_size=30,
    )
    .map(str.strip)
    .filter(bool)
)
COUNTER = itertools.count()


def local_value(wall: datetime, zone: ZoneInfo, pick_second: bool) -> datetime:
    """The wall time as a race file writes it: with an offset where a clock change makes it
    happen twice, moved out of the hour a change skips."""
    candidates = local_candidates(wall, zone)
    while not candidates:
        wall += timedelta(minutes=30)
        candidates = local_candidates(wall, zone)
    if len(candidates) == 2:
        chosen = candidates[1 if pick_second else 0]
        return datetime.fromisoformat(wall.isoformat() + offset_text(chosen))
    return wall


@st.composite
def race_files(draw) -> str:
    zone_name = draw(st.sampled_from(sorted(NEAR_CHANGES)))
    zone = ZoneInfo(zone_name)
    start = draw(st.sampled_from(NEAR_CHANGES[zone_name])) + timedelta(
        minutes=draw(st.integers(-240, 240))
    )
    # The start as the file writes it (moved out of a skipped hour), and the instant it is:
    # published cut-off clock times count from that instant, not from the skipped wall time.
    start_value = local_value(start, zone, draw(st.booleans()))
    start_instant = (
        start_value if start_value.tzinfo else start_value.replace(tzinfo=zone)
    ).astimezone(ZoneInfo("UTC"))
    legs = draw(
        st.lists(st.tuples(st.integers(1, 30), st.integers(30, 300)), min_size=1, max_size=6)
    )
    km, minutes, checkpoints = 0, 0, []
    for distance, duration in legs:
        km, minutes = km + distance, minutes + duration
        checkpoint = {
            "name": draw(NAMES),
            "km": km,
            "cutoff_after": f"{minutes // 60}:{minutes % 60:02d}",
        }
        if draw(st.booleans()):  # and the clock time, as published, near the change too
            wall = (start_instant + timedelta(minutes=minutes)).astimezone(zone)
            checkpoint["cutoff_at"] = datetime.fromisoformat(
                wall.replace(tzinfo=None).isoformat() + offset_text(wall)
            )
        checkpoints.append(checkpoint)
    name = draw(NAMES)
    languages = draw(st.sampled_from([None, "ja", "en"]))
    data = {
        "event": {
            "slug": f"prop-{next(COUNTER)}",
            "name": {"ja": name, "en": draw(NAMES)} if languages else name,
            "time_zone": zone_name,
            "start_date": start.date(),
        },
        "categories": [
            {
                "code": "c",
                "name": draw(NAMES),
                "distance_km": km,
                "start": start_value,
                "time_limit": checkpoints[-1]["cutoff_after"],
                "checkpoints": checkpoints,
            }
        ],
        "gear": {
            "all": {
                "categories": ["c"],
                "mandatory": [
                    {"name": gear_name}
                    for gear_name in draw(
                        st.lists(NAMES, max_size=4, unique_by=lambda n: n.casefold())
                    )
                ],
            }
        },
    }
    return tomli_w.dumps(data)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=race_files())
def test_an_accepted_file_imports_and_its_kit_works(app, make_user, text):
    report = check_text(text, "generated.toml")
    duplicate_codes = any(p.code == "duplicate-gear-code" for p in report.errors)
    if duplicate_codes:  # two names that only differ in case share a code: refused, rightly
        return
    assert report.ok, report.lines() + [text]
    race_import.import_reports([report], now=datetime.now(ZoneInfo("UTC")))
    event = db.session.scalar(select(Event).where(Event.slug == report.normalized.race.event.slug))
    user = make_user(f"{event.slug}@example.com")
    entry = accounts.join_category(user, event, "c", "1", now=datetime.now(ZoneInfo("UTC")))
    start = report.normalized.categories[0].start_at
    for moment in (
        start - timedelta(hours=1),
        start + timedelta(minutes=1),
        start + timedelta(days=2),
    ):
        choice = kit.RaceChoice(
            entry,
            race_state.of_event(event, moment),
            race_state.of_event(event, moment).category("c"),
        )
        data = kit.kit(user, choice)
        assert data["category"]["start"] is not None
        # Cut-offs come out in order, each an instant after the start.
        instants = [datetime.fromisoformat(cp["cutoff"]) for cp in data["checkpoints"]]
        assert instants == sorted(instants) and instants[0] > datetime.fromisoformat(
            data["category"]["start"]
        )
    client = app.test_client()
    token = csrf_from(client.get("/auth/login").get_data(as_text=True))
    client.post(
        "/auth/login",
        data={"email": user.email, "password": "correct horse battery", "csrf_token": token},
    )
    for url in (
        "/me",
        "/me/cutoffs",
        "/me/gear",
        "/me/schedule",
        "/me/schedule.ics",
        f"/events/{event.slug}",
        f"/events/{event.slug}/c",
    ):
        assert client.get(url).status_code == 200, url
