"""One truth about the race everywhere: each kind of change, in each place a runner sees the race.

A table: for every change an organizer can make (cancel the event or one category, delay a
start, extend the cut-offs, bypass a checkpoint on a course change, put a category back on)
and every place that shows race state (kit home, cut-offs, schedule, checklist, shuttle
timetable and booking, ticket, public event and category pages, join form, /api/kit, .ics,
push payload), what that place shows. The other category must be left as it was.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlalchemy import select

from raceapp.extensions import db
from raceapp.models import Event, ShuttleDeparture, User
from raceapp.services import alerts, race_state, shuttles
from raceapp.services.alerts import AlertDraft, CheckpointChange
from tests.helpers import PASSWORD, csrf_from, import_files, push_payload

TOKYO = ZoneInfo("Asia/Tokyo")
EVE = datetime(2027, 6, 11, 12, 0, tzinfo=TOKYO)
RACE = Path(__file__).parent / "data" / "state-race.toml"


@dataclass
class World:
    event: Event
    clients: dict
    booking_ref: str
    other_bus_id: int
    alert: object | None = None


def _client(app, email):
    client = app.test_client()
    if email:
        token = csrf_from(client.get("/auth/login").get_data(as_text=True))
        client.post("/auth/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
    return client


@pytest.fixture
def world(app, frozen_clock, make_user, make_entry, make_organizer) -> World:
    frozen_clock(EVE)
    import_files(RACE)
    event = db.session.scalar(select(Event).where(Event.slug == "state-test"))
    long_runner, short_runner = make_user("long@example.com"), make_user("short@example.com")
    make_entry(long_runner, event, "long", "101")
    make_entry(short_runner, event, "short", "201")
    make_entry(make_user("late@example.com"), event, "long", "102")
    make_user("new@example.com")
    make_organizer(event)
    long_bus, other_long_bus = sorted(
        (d for r in event.shuttle_routes if r.code == "long-start" for d in r.departures),
        key=lambda d: d.departs_at,
    )
    booking = shuttles.book(long_runner, long_bus.id, now=EVE, idempotency_key=None)
    db.session.commit()
    clients = {who: _client(app, f"{who}@example.com") for who in ("long", "short", "late", "new")}
    clients["anonymous"] = _client(app, None)
    return World(event, clients, booking.reference, other_long_bus.id)


def post(world: World, kind: str, title: str, **kw):
    organizer = db.session.scalar(select(User).where(User.email == "organizer@example.com"))
    return alerts.post_alert(organizer, world.event, AlertDraft(kind, title, **kw), now=EVE)


def change(world: World, kind: str) -> None:
    """Apply one change from the table to the world."""
    if kind == "cancel event":
        world.alert = post(world, "cancellation", "Typhoon: race cancelled")
    elif kind == "cancel long":
        world.alert = post(world, "cancellation", "Long cancelled: snow", category_code="long")
    elif kind == "delay long":
        world.alert = post(
            world, "start_delay", "Long start delayed: fog", category_code="long", delay_minutes=45
        )
    elif kind == "extend long":
        world.alert = post(
            world,
            "cutoff_extension",
            "Heat: cut-offs extended",
            category_code="long",
            extension_minutes=30,
        )
    elif kind == "bypass long":
        world.alert = post(
            world,
            "course_change",
            "Landslide: Alpha Hut bypassed",
            category_code="long",
            checkpoints=[CheckpointChange("long", 20, status="bypassed")],
        )
    elif kind == "reinstate long":
        post(world, "cancellation", "Long cancelled: snow", category_code="long")
        world.alert = post(
            world,
            "reinstate",
            "Long back on: snow cleared",
            category_code="long",
            new_start="2027-06-12 07:00",
        )
    else:
        raise AssertionError(kind)
    db.session.commit()


# --- The places -------------------------------------------------------------------------------


def page(world: World, who: str, url: str) -> str:
    response = world.clients[who].get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data(as_text=True)


def book(world: World, who: str = "late") -> str:
    client = world.clients[who]
    token = csrf_from(client.get("/events/state-test/shuttles").get_data(as_text=True))
    response = client.post(
        f"/shuttles/departures/{world.other_bus_id}/book",
        data={"csrf_token": token, "idempotency_key": f"k-{who}"},
    )
    return f"status {response.status_code} " + response.get_data(as_text=True)


def ics(world: World, who: str = "long") -> str:
    calendar = Calendar.from_ical(world.clients[who].get("/me/schedule.ics").data)
    lines = []
    for item in calendar.walk("VEVENT"):
        start = item.decoded("dtstart").astimezone(TOKYO).strftime("%H:%M")
        lines.append(f"{item['summary']} | {start} | {item['status']} | seq {item['sequence']}")
    return "\n".join(lines)


PLACES = {
    "kit home": lambda w: page(w, "long", "/me"),
    "cut-offs": lambda w: page(w, "long", "/me/cutoffs"),
    "schedule": lambda w: page(w, "long", "/me/schedule"),
    "checklist": lambda w: page(w, "long", "/me/gear"),
    "timetable": lambda w: page(w, "long", "/events/state-test/shuttles"),
    "booking": book,
    "ticket": lambda w: page(w, "long", f"/shuttles/tickets/{w.booking_ref}"),
    "event page": lambda w: page(w, "anonymous", "/events/state-test"),
    "category page": lambda w: page(w, "anonymous", "/events/state-test/long"),
    "join form": lambda w: page(w, "new", "/events/state-test/join"),
    "api kit": lambda w: json.dumps(
        w.clients["long"].get("/api/kit").get_json(), ensure_ascii=False
    ),
    "ics": ics,
    "push payload": lambda w: json.dumps(push_payload(w.alert), ensure_ascii=False),
}

COUNTDOWN = re.compile(r"data-countdown")
# Each check: ("has", text), ("lacks", text) or ("re", pattern) on what the place shows.
Has, Lacks, Re = "has", "lacks", "re"

EXPECTED: dict[str, dict[str, list[tuple[str, str]]]] = {
    "cancel event": {
        "kit home": [
            (Has, "State Trail cancelled"),
            (Has, "Typhoon: race cancelled"),
            (Has, "this race will not take place"),
            (Lacks, "data-countdown"),
        ],
        "cut-offs": [
            (Has, "no cut-offs apply"),
            (Lacks, "data-countdown"),
            (Lacks, "Pace helper"),
            (Has, "struck"),
        ],
        "schedule": [
            (Re, r"pill-danger\">cancelled</span> <b>Long start"),
            (Re, r"pill-danger\">cancelled</span> <b>Race briefing"),
        ],
        "checklist": [(Has, 'data-state="cancelled"')],
        "timetable": [(Has, "does not run"), (Lacks, "Book a seat")],
        "booking": [(Has, "status 409"), (Has, "This bus does not run: State Trail is cancelled")],
        "ticket": [(Has, "This bus does not run")],
        "event page": [
            (Re, r'class="card hero" data-state="cancelled"'),
            (Lacks, "Log in to join"),
        ],
        "category page": [(Re, r'class="card hero" data-state="cancelled"')],
        "join form": [
            (Has, "is cancelled: there is no category to join"),
            (Lacks, 'name="category"'),
        ],
        "api kit": [
            (Has, '"state": "cancelled"'),
            (Lacks, '"state": "upcoming"'),
            (Re, r'"cutoff": null, "cutoff_after_minutes": 300'),
        ],
        "ics": [(Has, "Cancelled: Long start"), (Has, "CANCELLED | seq 1"), (Lacks, "CONFIRMED")],
        "push payload": [
            (Has, '"state": "cancelled"'),
            (Has, '"refresh": true'),
            (Has, "State Trail is cancelled."),
        ],
    },
    "cancel long": {
        "kit home": [
            (Has, "Long cancelled"),
            (Has, "Long cancelled: snow"),
            (Lacks, "data-countdown"),
        ],
        "cut-offs": [(Has, "no cut-offs apply"), (Lacks, "data-countdown"), (Lacks, "Pace helper")],
        "schedule": [
            (Re, r"cancelled</span> <b>Long start"),
            (Lacks, "cancelled</span> <b>Race briefing"),
        ],
        "checklist": [(Has, 'data-state="cancelled"')],
        "timetable": [(Has, "does not run"), (Has, "Book a seat")],
        "booking": [(Has, "status 409"), (Has, "races it serves are cancelled")],
        "ticket": [(Has, "This bus does not run")],
        "event page": [
            (Re, r'class="card hero" data-state="upcoming"'),
            (Re, r'data-state="cancelled">\s*<strong>Long'),
            (Re, r'data-state="upcoming">\s*<strong>Short'),
        ],
        "category page": [
            (Re, r'class="card hero" data-state="cancelled"'),
            (Has, "cancelled</dd>"),
        ],
        "join form": [(Lacks, 'value="long"'), (Has, 'value="short"')],
        "api kit": [
            (Re, r'"category": \{[^}]*"state": "cancelled"'),
            (Re, r'"event": \{[^}]*"state": "upcoming"'),
        ],
        "ics": [
            (Has, "Cancelled: Long start"),
            (Has, "Race briefing · State Trail | 05:30 | CONFIRMED"),
        ],
        "push payload": [(Has, '"state": "cancelled"'), (Has, "Long is cancelled.")],
    },
    "delay long": {
        "kit home": [
            (Has, "Start delayed"),
            (Has, "delayed 45 min from 06:00"),
            (Re, r'data-countdown datetime="2027-06-11T21:45:00\+00:00"'),
        ],
        "cut-offs": [
            (Has, "Sat 11:45"),
            (Lacks, "Sat 11:00"),
            (Has, "data-countdown"),
            (Has, "Pace helper"),
        ],
        "schedule": [(Has, "06:45"), (Has, "Moved 45 min later: was 06:00")],
        "checklist": [(Has, 'data-state="delayed"')],
        "timetable": [(Lacks, "does not run"), (Has, "Book a seat")],
        "booking": [(Has, "status 303")],
        "ticket": [(Lacks, "does not run")],
        "event page": [
            (Has, "Start Sat 06:45 (delayed 45 min)"),
            (Re, r'data-state="delayed">\s*<strong>Long'),
        ],
        "category page": [(Has, "Sat 12 Jun 2027, 06:45"), (Has, "Start delayed by 45 min")],
        "join form": [(Has, "Start Sat 06:45 (delayed 45 min)")],
        "api kit": [
            (Has, '"start": "2027-06-12T06:45:00+09:00"'),
            (Has, '"delay_minutes": 45'),
            (Has, '"cutoff": "2027-06-12T11:45:00+09:00"'),
        ],
        "ics": [
            (Has, "Long start · State Trail | 06:45 | CONFIRMED | seq 1"),
            (Has, "Long finish cut-off · State Trail | 18:45"),
        ],
        "push payload": [
            (Has, "Long start Sat 06:00 → Sat 06:45; 3 cut-offs move."),
            (Has, '"state": "delayed"'),
        ],
    },
    "extend long": {
        "kit home": [
            (Has, "Long changed"),
            (Has, "Heat: cut-offs extended"),
            (Re, r'data-countdown datetime="2027-06-11T21:00:00\+00:00"'),
        ],
        "cut-offs": [(Has, "Sat 11:30"), (Has, "+30 min"), (Has, "Sat 18:30")],
        "schedule": [(Has, "Moved 30 min later: was 18:00"), (Lacks, "was 06:00")],
        "checklist": [(Has, 'data-state="changed"')],
        "timetable": [(Has, "Book a seat")],
        "booking": [(Has, "status 303")],
        "ticket": [(Lacks, "does not run")],
        "event page": [(Re, r'data-state="changed">\s*<strong>Long')],
        "category page": [(Has, "Sat 11:30"), (Has, "+30 min")],
        "join form": [(Has, 'value="long"')],
        "api kit": [
            (Has, '"cutoff": "2027-06-12T11:30:00+09:00"'),
            (Has, '"start": "2027-06-12T06:00:00+09:00"'),
        ],
        "ics": [
            (Has, "Long finish cut-off · State Trail | 18:30 | CONFIRMED | seq 1"),
            (Has, "Long start · State Trail | 06:00"),
        ],
        "push payload": [
            (Has, "Alpha Hut (20 km) cut-off Sat 11:00 → Sat 11:30"),
            (Has, '"refresh": true'),
        ],
    },
    "bypass long": {
        "kit home": [(Has, "Long changed"), (Has, "Landslide: Alpha Hut bypassed")],
        "cut-offs": [
            (Re, r'struck">\s*<td class="num">20</td>'),
            (Has, "bypassed"),
            (Lacks, ">Alpha Hut (20 km)</option>"),
        ],
        "schedule": [(Has, "Long start")],
        "checklist": [(Has, 'data-state="changed"')],
        "timetable": [(Has, "Book a seat")],
        "booking": [(Has, "status 303")],
        "ticket": [(Lacks, "does not run")],
        "event page": [(Re, r'data-state="changed">\s*<strong>Long')],
        "category page": [(Has, "bypassed"), (Has, "<s>Sat 11:00</s>")],
        "join form": [(Has, 'value="long"')],
        "api kit": [
            (
                Re,
                r'"cutoff": null, "cutoff_after_minutes": 300, "finish": false, '
                r'"km": 20(\.0)?, "label": null, "name": "Alpha Hut", "status": "bypassed"',
            )
        ],
        "ics": [(Has, "seq 1")],
        "push payload": [(Has, "Long: Alpha Hut (20 km) bypassed.")],
    },
    "reinstate long": {
        "kit home": [
            (Has, "Long is back on"),
            (Has, "Long back on: snow cleared"),
            (Re, r'data-countdown datetime="2027-06-11T22:00:00\+00:00"'),
        ],
        "cut-offs": [(Has, "Sat 12:00"), (Has, "data-countdown"), (Has, "Pace helper")],
        "schedule": [(Has, "Moved 1 h later: was 06:00"), (Lacks, "pill-danger")],
        "checklist": [(Has, 'data-state="delayed"')],
        "timetable": [(Lacks, "does not run")],
        "booking": [(Has, "status 303")],
        "ticket": [(Lacks, "does not run")],
        "event page": [(Re, r'data-state="delayed">\s*<strong>Long'), (Has, "Start Sat 07:00")],
        "category page": [(Has, "Sat 12 Jun 2027, 07:00")],
        "join form": [(Has, 'value="long"')],
        "api kit": [(Has, '"start": "2027-06-12T07:00:00+09:00"')],
        "ics": [(Has, "Long start · State Trail | 07:00 | CONFIRMED | seq 2")],
        "push payload": [
            (Has, "Long is back on. Long start Sat 06:00 → Sat 07:00"),
            (Has, '"state": "delayed"'),
        ],
    },
}

CASES = [(kind, place) for kind in EXPECTED for place in PLACES]


def unmet(world: World, expected: dict[str, list[tuple[str, str]]]) -> list[str]:
    """The checks of a table that what each place shows fails."""
    failures = []
    for place, show in PLACES.items():
        shown = show(world)
        for check, value in expected[place]:
            ok = (
                value in shown
                if check == Has
                else value not in shown
                if check == Lacks
                else re.search(value, shown) is not None
            )
            if not ok:
                failures.append(f"{place}: {check} {value!r}")
    return failures


@pytest.mark.parametrize("kind", EXPECTED)
def test_the_table_covers_every_place(kind):
    assert set(EXPECTED[kind]) == set(PLACES)


@pytest.mark.parametrize("kind", list(EXPECTED))
def test_each_change_shows_in_each_place(world, kind):
    before_short = {url: page(world, "short", url) for url in ("/me", "/me/cutoffs")}
    change(world, kind)
    failures = unmet(world, EXPECTED[kind])
    assert failures == [], "\n".join(failures)
    if kind != "cancel event":
        # The other category is left as it was (apart from the state of the whole event).
        assert "data-countdown" in page(world, "short", "/me")
        short = world.clients["short"].get("/api/kit").get_json()
        assert short["category"]["state"] == "upcoming"
        assert short["category"]["start"] == "2027-06-12T09:00:00+09:00"
        assert "banner-status" not in page(world, "short", "/me/cutoffs")
        assert before_short["/me/cutoffs"].count("Sat 11:30") == page(
            world, "short", "/me/cutoffs"
        ).count("Sat 11:30")


def test_a_finished_race_says_so_and_never_on(world, frozen_clock):
    frozen_clock(datetime(2027, 6, 13, 12, 0, tzinfo=TOKYO))
    for url in ("/events/state-test", "/events/state-test/long", "/me", "/events/"):
        html = page(world, "long", url)
        assert 'data-state="finished"' in html, url
        assert 'data-state="upcoming"' not in html, url
    assert "The race is over" in page(world, "long", "/me")
    assert "See results" not in page(world, "long", "/me")


def test_a_category_without_a_time_limit_ends_with_its_day(app, okushinano):
    kids_day = datetime(2024, 6, 8, 23, 0, tzinfo=TOKYO)
    assert race_state.of_event(okushinano, kids_day).category("kids").state == "in_progress"
    next_day = datetime(2024, 6, 9, 0, 0, tzinfo=TOKYO)
    assert race_state.of_event(okushinano, next_day).category("kids").state == "finished"


def test_a_rules_only_file_is_not_a_race(client, seed_races, make_user, auth):
    rules = seed_races["fields-trail-rules"]
    assert race_state.of_event(rules, EVE).state == "rules"
    assert "fields-trail-rules" not in client.get("/events/").get_data(as_text=True)
    page_html = client.get("/events/fields-trail-rules").get_data(as_text=True)
    assert "not a race you can join" in page_html and "Join this race" not in page_html
    make_user("r@example.com")
    auth.login("r@example.com")
    join = client.get("/events/fields-trail-rules/join").get_data(as_text=True)
    assert "no race to join" in join
    token = csrf_from(client.get("/events/").get_data(as_text=True))
    refused = client.post(
        "/events/fields-trail-rules/join",
        data={"csrf_token": token, "category": "race", "bib": "1"},
    )
    assert refused.status_code == 400


def test_the_kit_opens_on_the_next_race_and_switches(world, seed_races, make_entry, frozen_clock):
    runner = db.session.scalar(select(User).where(User.email == "long@example.com"))
    make_entry(runner, seed_races["okushinano-100-2024"], "50k", "555")
    make_entry(runner, seed_races["kagaspa-2026"], "20k", "556")
    db.session.commit()
    client = world.clients["long"]
    # 2026-11: KAGASPA (June 2026) and Okushinano (2024) are past; State Trail (2027) is next.
    frozen_clock(datetime(2026, 11, 28, 12, 0, tzinfo=TOKYO))
    home = client.get("/me").get_data(as_text=True)
    assert "<h1>Long" in home and "My races" in home
    assert home.index("State Trail") < home.index("KAGASPA") < home.index("Okushinano")
    # The ticket shown belongs to the race on screen.
    assert world.booking_ref in home
    token = csrf_from(home)
    assert (
        client.post("/me/race", data={"csrf_token": token, "event": "kagaspa-2026"}).status_code
        == 303
    )
    other = client.get("/me").get_data(as_text=True)
    assert "<h1>20 km" in other and world.booking_ref not in other
    assert client.get("/api/kit").get_json()["event"]["slug"] == "kagaspa-2026"
    assert (
        client.post("/me/race", data={"csrf_token": token, "event": "no-such"}).status_code == 404
    )
    # During KAGASPA, it opens on KAGASPA (in progress comes first) for a new session.
    frozen_clock(datetime(2026, 6, 20, 12, 0, tzinfo=TOKYO))
    fresh = _client(client.application, "long@example.com")
    assert "<h1>20 km" in fresh.get("/me").get_data(as_text=True)


def test_a_delay_after_the_start_is_refused_with_a_reason(world, frozen_clock):
    organizer_client = _client(world.clients["long"].application, "organizer@example.com")
    frozen_clock(datetime(2027, 6, 12, 6, 30, tzinfo=TOKYO))
    token = csrf_from(
        organizer_client.get("/organizer/events/state-test/alerts").get_data(as_text=True)
    )
    response = organizer_client.post(
        "/organizer/events/state-test/alerts",
        data={
            "csrf_token": token,
            "kind": "start_delay",
            "category": "long",
            "title": "Late",
            "delay_minutes": "30",
        },
    )
    assert response.status_code == 400
    assert "Long has already started" in response.get_data(as_text=True)


def test_preview_is_the_real_app_at_another_moment(world):
    organizer = _client(world.clients["long"].application, "organizer@example.com")
    token = csrf_from(organizer.get("/organizer/").get_data(as_text=True))
    assert (
        organizer.post(
            "/preview",
            data={"csrf_token": token, "event": "state-test", "as_of": "2027-06-12 10:00"},
        ).status_code
        == 302
    )
    html = organizer.get("/events/state-test/shuttles").get_data(as_text=True)
    # Departures before 10:00 have left; nothing can be booked while previewing.
    assert "departed" in html and "Preview: nothing is saved" in html
    title = re.search(
        r"<title>(.*?)</title>", organizer.get("/events/state-test").get_data(as_text=True), re.S
    ).group(1)
    assert "<" not in title and "csrf" not in title
    token = csrf_from(html)
    departure = db.session.scalar(
        select(ShuttleDeparture).order_by(ShuttleDeparture.departs_at.desc()).limit(1)
    )
    refused = organizer.post(
        f"/shuttles/departures/{departure.id}/book", data={"csrf_token": token}
    )
    assert refused.status_code == 409 and "Preview: nothing is saved" in refused.get_data(
        as_text=True
    )


@pytest.mark.parametrize(
    "as_of, message",
    [
        ("2024-10-27 02:30", "happens twice"),
        ("2024-03-31 02:30", "does not exist"),
    ],
)
def test_preview_refuses_a_local_time_a_clock_change_makes_unclear(
    client, auth, app, make_organizer, as_of, message
):
    import_files(Path(__file__).parent / "data" / "dst-crossing.toml")
    event = db.session.scalar(select(Event).where(Event.time_zone == "Europe/Paris"))
    make_organizer(event)
    auth.login("organizer@example.com")
    token = csrf_from(client.get("/organizer/").get_data(as_text=True))
    response = client.post(
        "/preview", data={"csrf_token": token, "event": event.slug, "as_of": as_of}
    )
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    if message == "happens twice":
        assert "+02:00" in response.get_data(as_text=True)
        chosen = client.post(
            "/preview",
            data={"csrf_token": token, "event": event.slug, "as_of": "2024-10-27 02:30+01:00"},
        )
        assert chosen.status_code == 302


# Once a change is withdrawn, every place shows the race as published again.
AS_PUBLISHED: dict[str, list[tuple[str, str]]] = {
    "kit home": [
        (Lacks, "State Trail cancelled"),
        (Lacks, "Start delayed"),
        (Re, r'data-countdown datetime="2027-06-11T21:00:00\+00:00"'),
    ],
    "cut-offs": [
        (Has, "Sat 11:00"),
        (Has, "data-countdown"),
        (Lacks, "no cut-offs apply"),
        (Lacks, "+30 min"),
        (Lacks, "bypassed"),
    ],
    "schedule": [(Lacks, "pill-danger"), (Lacks, "Moved")],
    "checklist": [(Has, 'data-state="upcoming"')],
    "timetable": [(Lacks, "does not run"), (Has, "Book a seat")],
    "booking": [(Has, "status 303")],
    "ticket": [(Lacks, "does not run")],
    "event page": [(Re, r'class="card hero" data-state="upcoming"')],
    "category page": [(Re, r'class="card hero" data-state="upcoming"'), (Lacks, "bypassed")],
    "join form": [(Has, 'value="long"')],
    "api kit": [
        (Lacks, '"state": "cancelled"'),
        (Lacks, '"status": "bypassed"'),
        (Has, '"start": "2027-06-12T06:00:00+09:00"'),
        (Has, '"cutoff": "2027-06-12T11:00:00+09:00"'),
    ],
    "ics": [(Lacks, "Cancelled:"), (Has, "Long start · State Trail | 06:00 | CONFIRMED")],
    "push payload": [(Has, '"title": "Withdrawn: '), (Has, '"refresh": true')],
}


@pytest.mark.parametrize(
    "kind", ["cancel event", "cancel long", "delay long", "extend long", "bypass long"]
)
def test_withdrawing_a_change_puts_the_race_back_everywhere(world, kind):
    change(world, kind)
    organizer = db.session.scalar(select(User).where(User.email == "organizer@example.com"))
    alerts.retract_alert(organizer, world.alert.id, now=EVE)
    db.session.commit()
    failures = unmet(world, AS_PUBLISHED)
    assert failures == [], "\n".join(failures)
    # The phone is told what withdrawing did to the race, like any change.
    payload = push_payload(world.alert)
    assert payload["state"] == "upcoming"
    if kind.startswith("cancel"):
        assert "is back on" in payload["summary"]


def test_withdrawing_a_reinstatement_cancels_again(world):
    change(world, "reinstate long")
    organizer = db.session.scalar(select(User).where(User.email == "organizer@example.com"))
    alerts.retract_alert(organizer, world.alert.id, now=EVE)
    db.session.commit()
    assert world.clients["long"].get("/api/kit").get_json()["category"]["state"] == "cancelled"
    assert push_payload(world.alert)["summary"] == "Long is cancelled."
