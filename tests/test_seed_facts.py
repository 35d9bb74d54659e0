"""Imported races say what the source documents say."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from raceapp.extensions import db
from raceapp.models import Category
from raceapp.services import race_state

TOKYO = ZoneInfo("Asia/Tokyo")


def category(event, code) -> Category:
    return db.session.scalar(
        select(Category).where(Category.event_id == event.id, Category.code == code)
    )


def local(instant):
    return instant.astimezone(TOKYO)


def effective_start(cat: Category):
    return race_state.of_event(cat.event, datetime.now(TOKYO)).category(cat.code).start


def cutoff_instant(cat: Category, cp):
    state = race_state.of_event(cat.event, datetime.now(TOKYO)).category(cat.code)
    return next(c.at for c in state.checkpoints if c.checkpoint.id == cp.id)


# These tests only read: they share one database with every seed race imported once.
@pytest.fixture
def seed_races(seeded):
    return seeded.events


@pytest.fixture
def okushinano(seeded):
    return seeded.events["okushinano-100-2024"]


@pytest.fixture
def client(seeded):
    return seeded.client


def test_okushinano_100k_cutoff_4(okushinano):
    cat = category(okushinano, "100k")
    cp = cat.checkpoints[3]
    assert (cp.label, cp.name, cp.km, cp.cutoff_minutes) == (
        "Cut-off #4",
        "Nukasen Aid Station 2",
        72,
        15 * 60 + 30,
    )
    assert local(effective_start(cat)) == datetime(2024, 6, 8, 5, 0, tzinfo=TOKYO)
    at = local(cutoff_instant(cat, cp))
    assert at.strftime("%a %H:%M") == "Sat 20:30"


def test_okushinano_every_cutoff_and_finish(okushinano):
    expected = {
        "100k": [
            (27, "Sat 11:00"),
            (48, "Sat 16:30"),
            (58, "Sat 18:30"),
            (72, "Sat 20:30"),
            (84, "Sat 22:30"),
            (95, "Sun 00:30"),
            (100, "Sun 02:00"),
        ],
        "50k": [(23, "Sat 16:30"), (33, "Sat 18:30"), (50, "Sat 22:00")],
        "25k": [(13, "Sat 09:30"), (25, "Sat 12:30")],
    }
    for code, rows in expected.items():
        cat = category(okushinano, code)
        got = [
            (cp.km, local(cutoff_instant(cat, cp)).strftime("%a %H:%M")) for cp in cat.checkpoints
        ]
        assert got == rows, code
        assert cat.checkpoints[-1].is_finish


def test_okushinano_categories(okushinano):
    got = [
        (c.code, c.distance_km, c.elevation_gain_m, c.field_size, c.fee, c.time_limit_minutes)
        for c in okushinano.categories
    ]
    assert got == [
        ("100k", 100, 4800, 700, 25000, 21 * 60),
        ("50k", 50, 2500, 300, 12000, 660),
        ("25k", 25, 1500, 300, 8000, 330),
        ("kids", None, None, 300, 2000, None),
    ]
    kids = category(okushinano, "kids")
    assert kids.distance_text == "500 m to 2 km"
    assert local(kids.start_at).strftime("%a %H:%M") == "Sat 11:30"
    hundred = category(okushinano, "100k")
    assert hundred.details["pacer_fee"] == 10500 and hundred.details["drop_bag_km"] == 27


def test_okushinano_gear(okushinano):
    hundred = category(okushinano, "100k")
    mandatory = [g for g in hundred.gear_items if g.mandatory]
    recommended = [g for g in hundred.gear_items if not g.mandatory]
    assert len(mandatory) == 9 and len(recommended) == 6
    assert all(g.mandatory for g in hundred.gear_items[:9])  # mandatory come first
    blanket = next(g for g in mandatory if g.code == "survival-blanket")
    assert "130 cm × 200 cm" in blanket.spec
    poles = next(g for g in recommended if g.code == "poles")
    assert "48 km to 58 km" in poles.conditions
    short = category(okushinano, "25k")
    assert sum(g.mandatory for g in short.gear_items) == 5
    assert sum(not g.mandatory for g in short.gear_items) == 8
    assert category(okushinano, "kids").gear_items == []


def test_okushinano_shuttles_and_schedule(okushinano):
    routes = {r.code: r for r in okushinano.shuttle_routes}
    out = [local(d.departs_at).strftime("%a %H:%M") for d in routes["station-to-venue"].departures]
    back = [local(d.departs_at).strftime("%a %H:%M") for d in routes["venue-to-station"].departures]
    assert out == ["Fri 13:30", "Fri 15:30", "Fri 17:30", "Sat 09:00"]
    assert back == ["Fri 15:00", "Fri 17:00", "Sun 09:00"]
    assert all(r.fee == 500 and r.reservation_required for r in routes.values())
    assert all(d.seats is None for r in routes.values() for d in r.departures)  # not published
    starts = {
        i.title: local(i.starts_at).strftime("%a %H:%M")
        for i in okushinano.schedule_items
        if i.kind == "start"
    }
    assert starts == {
        "100 km start": "Sat 05:00",
        "25 km start": "Sat 07:00",
        "50 km start": "Sat 11:00",
        "Kids' race start": "Sat 11:30",
    }
    first = okushinano.schedule_items[0]
    assert local(first.starts_at).strftime("%a %H:%M") == "Fri 13:00"


def test_shinetsu_100_mile_cutoffs_cross_into_monday(seed_races):
    for slug, km, name in [
        ("shinetsu-five-mountains-163k", 143, "Togakushi"),
        ("shinetsu-five-mountains-160k", 142, "Togakushi Ski Area"),
    ]:
        cat = category(seed_races[slug], "100mi")
        assert local(effective_start(cat)).strftime("%a %Y-%m-%d %H:%M") == "Sat 2024-09-14 18:30"
        cp5 = cat.checkpoints[4]
        assert (cp5.label, cp5.name, cp5.km) == ("Cut-off #5", name, km)
        assert local(cutoff_instant(cat, cp5)).strftime("%a %H:%M") == "Mon 00:00"
        assert cp5.cutoff_minutes == 29 * 60 + 30
        finish = cat.checkpoints[-1]
        assert local(cutoff_instant(cat, finish)).strftime("%a %H:%M") == "Mon 03:30"
        assert cutoff_instant(cat, finish) - effective_start(cat) == timedelta(hours=33)


def test_shinetsu_160k_gear_and_pacers(seed_races):
    event = seed_races["shinetsu-five-mountains-160k"]
    for code in ("100mi", "110k"):
        cat = category(event, code)
        assert sum(g.mandatory for g in cat.gear_items) == 10
        assert sum(not g.mandatory for g in cat.gear_items) == 10
    short = category(event, "110k")
    sasagamine = next(cp for cp in short.checkpoints if cp.name.startswith("Sasagamine"))
    assert sasagamine.km == 65 and short.details["pacer_from_km"] == 63  # kept as published


def test_kagaspa_partial_data(seed_races):
    event = seed_races["kagaspa-2026"]
    cats = {c.code: c for c in event.categories}
    assert {c.distance_km for c in cats.values()} == {100, 50, 20}
    for cat in cats.values():
        assert cat.start_at is None and cat.start_date is not None
        assert all(cp.cutoff_minutes is None for cp in cat.checkpoints)
    assert sorted(c.start_date for c in cats.values()) == [date(2026, 6, 20)] * 2 + [
        date(2026, 6, 21)
    ]
    # "The cumulative elevation gain exceeds 5,000 meters in the 100 km race."
    assert cats["100k"].elevation_gain_m == 5000 and cats["100k"].details["elevation_gain_over"]


def test_kagaspa_climb_reads_as_over_5000_m(client, seed_races):
    html = client.get("/events/kagaspa-2026/100k").get_data(as_text=True)
    assert "over 5,000 m" in html


def test_pages_render_every_seed_event_and_category(client, seed_races):
    for event in seed_races.values():
        page = client.get(f"/events/{event.slug}")
        assert page.status_code == 200
        assert (
            event.name.encode() in page.data.replace(b"&#34;", b'"').replace(b"&#39;", b"'")
            or event.name.split(" (")[0].encode() in page.data
        )
        for cat in event.categories:
            assert client.get(f"/events/{event.slug}/{cat.code}").status_code == 200


def test_category_page_shows_clock_times_with_weekday(client, okushinano):
    html = client.get("/events/okushinano-100-2024/100k").get_data(as_text=True)
    assert "Nukasen Aid Station 2" in html and "Sat 20:30" in html and "15 h 30" in html
    assert "Sun 02:00" in html
