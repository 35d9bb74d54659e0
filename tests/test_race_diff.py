"""Publishing a race file says what it changes, in words and numbers: one table of edits to one
small race, each with the sentences it must produce and whether runners must be told; the
sentences in Japanese; and what is kept or refused because runners use it."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

import pytest
from flask_babel import force_locale, get_translations
from sqlalchemy import select

from raceapp.extensions import db
from raceapp.models import Booking, Event
from raceapp.racefile import check_text
from raceapp.services.race_diff import BUS, Change, describe_changes, snapshot
from raceapp.services.race_import import ImportRefused, ImportResult, import_reports
from tests.helpers import departure

BASE = """\
[event]
slug = "diff-test"
name = { en = "Kurohime Trail", ja = "黒姫トレイル" }
time_zone = "Asia/Tokyo"
venue = "Kurohime Hall"
start_date = 2026-06-19
end_date = 2026-06-21
hq_phone = "+81 26 000 0000"
status = "on"
currency = "JPY"

[[categories]]
code = "100k"
name = { en = "100 km", ja = "100キロ" }
distance_km = 100
elevation_gain_m = 5000
start = 2026-06-20T05:00:00
time_limit = "22:00"

  [[categories.checkpoints]]
  label = "A1"
  name = "Togakushi"
  km = 20
  cutoff_after = "5:00"

  [[categories.checkpoints]]
  label = "A3"
  name = { en = "Kurohime", ja = "黒姫" }
  km = 48
  cutoff_after = "10:00"

  [[categories.checkpoints]]
  label = "Finish"
  name = "Kurohime Hall"
  km = 100
  cutoff_after = "22:00"

[[categories]]
code = "25k"
name = "25 km"
distance_km = 25
start = 2026-06-20T09:00:00
time_limit = "6:00"

[gear.all]
categories = ["100k", "25k"]
mandatory = [
    { code = "phone", name = "Mobile phone" },
    { code = "blanket", name = "Survival blanket", spec = "At least 130 cm × 200 cm." },
]
recommended = [
    { code = "poles", name = "Poles" },
]

[[schedule]]
at = 2026-06-19T17:00:00
kind = "briefing"
title = "Race briefing"

[[schedule]]
at = 2026-06-20T05:00:00
kind = "start"
title = "100 km start"
categories = ["100k"]

[[shuttles]]
code = "kitano-to-start"
from = { en = "Kitano", ja = "北野" }
to = { en = "Start", ja = "スタート" }
seats = 45
reservation = true
departures = [
    { at = 2026-06-20T04:10:00 },
    { at = 2026-06-20T08:00:00, seats = 20 },
]
"""

TEN_K = """
[[categories]]
code = "10k"
name = "10 km"
distance_km = 10
start = 2026-06-20T10:00:00
"""

RETURN_BUS = """
[[shuttles]]
code = "finish-to-kitano"
from = "Finish"
to = "Kitano"
departures = [{ at = 2026-06-20T20:00:00 }]
"""

NOJIRI = """
  [[categories.checkpoints]]
  label = "A4"
  name = "Nojiri"
  km = 60
  cutoff_after = "13:00"
"""


def edit(*replacements: tuple[str, str]) -> Callable[[str], str]:
    """Replace each text, which must be in the file exactly once (so no case tests nothing)."""

    def apply(text: str) -> str:
        for old, new in replacements:
            assert text.count(old) == 1, old
            text = text.replace(old, new)
        return text

    return apply


def after(anchor: str, addition: str) -> tuple[str, str]:
    """Insert `addition` right after `anchor`."""
    return anchor, anchor + addition


@dataclass
class Case:
    what: str
    change: Callable[[str], str]
    # Each sentence in English, and whether runners must know.
    expected: list[tuple[str, bool]]


A3 = """
  [[categories.checkpoints]]
  label = "A3"
  name = { en = "Kurohime", ja = "黒姫" }
  km = 48
  cutoff_after = "10:00"
"""

CASES = [
    # The event
    Case(
        "event name",
        edit(('en = "Kurohime Trail"', 'en = "Kurohime Mountain Trail"')),
        [("Name: Kurohime Trail → Kurohime Mountain Trail", False)],
    ),
    Case(
        "event dates",
        edit(("end_date = 2026-06-21", "end_date = 2026-06-22")),
        # Babel's range, with thin spaces around the dash.
        [
            (
                "Dates: Fri, Jun 19\u2009–\u2009Sun, Jun 21, 2026"
                " → Fri, Jun 19\u2009–\u2009Mon, Jun 22, 2026",
                False,
            )
        ],
    ),
    Case(
        "venue",
        edit(('venue = "Kurohime Hall"', 'venue = "Kurohime Community Hall"')),
        [("Venue: Kurohime Hall → Kurohime Community Hall", False)],
    ),
    Case(
        "venue in another language only",
        edit(('venue = "Kurohime Hall"', 'venue = { en = "Kurohime Hall", ja = "黒姫ホール" }')),
        [("Also changed: venue", False)],
    ),
    Case(
        "HQ phone",
        edit(('hq_phone = "+81 26 000 0000"', 'hq_phone = "+81 26 000 1111"')),
        [("HQ phone: +81 26 000 0000 → +81 26 000 1111", False)],
    ),
    Case(
        "status",
        edit(('status = "on"', 'status = "cancelled"\nstatus_note = "Heavy rain."')),
        [("Status: on → cancelled", True), ("Also changed: status note", False)],
    ),
    Case(
        "open sign-up",
        edit(('currency = "JPY"', 'currency = "JPY"\nopen_signup = true')),
        [("Open sign-up on: runners not on the entry list may follow the race", False)],
    ),
    Case(
        "fields said together",
        edit(('currency = "JPY"', 'currency = "JPY"\nwebsite = "https://example.org"')),
        [("Also changed: website", False)],
    ),
    # Categories
    Case(
        "start",
        edit(("start = 2026-06-20T05:00:00", "start = 2026-06-20T05:30:00")),
        [("Start of 100 km: Sat 05:00 → Sat 05:30", True)],
    ),
    Case(
        "start a week later: the date says which Saturday",
        edit(("start = 2026-06-20T05:00:00", "start = 2026-06-27T05:00:00")),
        [("Start of 100 km: Sat 20 Jun 2026, 05:00 → Sat 27 Jun 2026, 05:00", True)],
    ),
    Case(
        "start time withdrawn",
        edit(("start = 2026-06-20T09:00:00", "start = 2026-06-20")),
        [("Start of 25 km: Sat 20 Jun 2026, 09:00 → Sat 20 Jun, time not published", True)],
    ),
    Case(
        "time limit, and the finish cut-off with it",
        edit(('time_limit = "22:00"', 'time_limit = "23:00"'), ('"22:00"', '"23:00"')),
        [
            ("100 km: time limit 22:00 → 23:00", True),
            (
                "100 km: cut-off at Kurohime Hall (100 km) 22:00 → 23:00 after the start"
                " (Sun 03:00 → Sun 04:00)",
                True,
            ),
        ],
    ),
    Case(
        "distance",
        edit(("distance_km = 100", "distance_km = 102")),
        [("100 km: distance 100 km → 102 km", True)],
    ),
    Case(
        "elevation gain",
        edit(("elevation_gain_m = 5000", "elevation_gain_m = 5200")),
        [("100 km: elevation gain 5,000 m → 5,200 m", False)],
    ),
    Case(
        "category added",
        edit(after('time_limit = "6:00"\n', TEN_K)),
        [("Category added: 10 km", False)],
    ),
    Case(
        "category removed",
        edit(
            ('[[categories]]\ncode = "25k"\nname = "25 km"\ndistance_km = 25\n', ""),
            ('start = 2026-06-20T09:00:00\ntime_limit = "6:00"\n', ""),
            ('categories = ["100k", "25k"]', 'categories = ["100k"]'),
        ),
        [("Category removed: 25 km", True)],
    ),
    Case(
        "category fields said together",
        edit(("distance_km = 25\n", 'distance_km = 25\nfee = 5000\npacer = "No pacers."\n')),
        [("25 km: also changed: entry fee and pacers", False)],
    ),
    # Checkpoints
    Case(
        "cut-off",
        edit(('cutoff_after = "10:00"', 'cutoff_after = "10:30"')),
        [
            (
                "100 km: cut-off at Kurohime (48 km) 10:00 → 10:30 after the start"
                " (Sat 15:00 → Sat 15:30)",
                True,
            )
        ],
    ),
    Case(
        "cut-off removed",
        edit(('  km = 48\n  cutoff_after = "10:00"\n', "  km = 48\n")),
        [
            (
                "100 km: cut-off at Kurohime (48 km) removed; it was 10:00 after the start"
                " (Sat 15:00)",
                True,
            )
        ],
    ),
    Case(
        "checkpoint removed",
        edit((A3, "")),
        [("100 km: checkpoint A3 (Kurohime, 48 km) removed", True)],
    ),
    Case(
        "checkpoint added",
        edit(after(A3, NOJIRI)),
        [
            (
                "100 km: checkpoint A4 (Nojiri, 60 km) added, cut-off 13:00 after the start"
                " (Sat 18:00)",
                True,
            )
        ],
    ),
    Case(
        "checkpoint moved",
        edit(("  km = 48\n", "  km = 49\n")),
        [("100 km: checkpoint Kurohime moved 48 km → 49 km", True)],
    ),
    Case(
        "checkpoint renamed",
        edit(('name = "Togakushi"', 'name = "Togakushi Camp"')),
        [("100 km: checkpoint at 20 km renamed: Togakushi → Togakushi Camp", False)],
    ),
    # Gear
    Case(
        "mandatory gear added",
        edit(
            after('{ code = "phone", name = "Mobile phone" },\n', '    { name = "Head torch" },\n')
        ),
        [("100 km and 25 km: mandatory gear added: Head torch", True)],
    ),
    Case(
        "recommended gear removed",
        edit(('    { code = "poles", name = "Poles" },\n', "")),
        [("100 km and 25 km: recommended gear removed: Poles", False)],
    ),
    Case(
        "gear became mandatory",
        edit(
            ('    { code = "poles", name = "Poles" },\n', ""),
            after(
                '{ code = "phone", name = "Mobile phone" },\n',
                '    { code = "poles", name = "Poles" },\n',
            ),
        ),
        [("100 km and 25 km: Poles became mandatory", True)],
    ),
    Case(
        "gear no longer mandatory",
        edit(
            ('    { code = "phone", name = "Mobile phone" },\n', ""),
            after(
                '{ code = "poles", name = "Poles" },\n',
                '    { code = "phone", name = "Mobile phone" },\n',
            ),
        ),
        [("100 km and 25 km: Mobile phone is no longer mandatory", False)],
    ),
    Case(
        "gear specification",
        edit(("At least 130 cm", "At least 140 cm")),
        [
            (
                "100 km and 25 km: Survival blanket, specification “At least 130 cm × 200 cm.”"
                " → “At least 140 cm × 200 cm.”",
                False,
            )
        ],
    ),
    Case(
        "gear name in another language only",
        edit(
            (
                '{ code = "poles", name = "Poles" }',
                '{ code = "poles", name = { en = "Poles", ja = "ポール" } }',
            )
        ),
        [("100 km: also changed: gear texts", False), ("25 km: also changed: gear texts", False)],
    ),
    # The schedule
    Case(
        "schedule item moved",
        edit(("at = 2026-06-19T17:00:00", "at = 2026-06-19T18:00:00")),
        [("Race briefing: Fri 17:00 → Fri 18:00", False)],
    ),
    Case(
        "schedule item added",
        edit(
            after(
                'categories = ["100k"]\n',
                "\n[[schedule]]\nat = 2026-06-21T12:00:00\nend = 2026-06-21T13:00:00\n"
                'kind = "awards"\ntitle = "Awards"\n',
            )
        ),
        [("Schedule item added: Awards, Sun 12:00–13:00", False)],
    ),
    Case(
        "schedule item removed",
        edit(
            (
                '[[schedule]]\nat = 2026-06-19T17:00:00\nkind = "briefing"\n'
                'title = "Race briefing"\n',
                "",
            )
        ),
        [("Schedule item removed: Race briefing, Fri 17:00", False)],
    ),
    # The buses
    Case(
        "fewer seats",
        edit(("{ at = 2026-06-20T04:10:00 }", "{ at = 2026-06-20T04:10:00, seats = 40 }")),
        [("Departure Sat 04:10 Kitano → Start: seats 45 → 40", True)],
    ),
    Case(
        "more seats",
        edit(("{ at = 2026-06-20T04:10:00 }", "{ at = 2026-06-20T04:10:00, seats = 50 }")),
        [("Departure Sat 04:10 Kitano → Start: seats 45 → 50", False)],
    ),
    Case(
        "departure added",
        edit(after("{ at = 2026-06-20T04:10:00 },\n", "    { at = 2026-06-20T06:00:00 },\n")),
        [("Departure Sat 06:00 Kitano → Start added, seats: 45", False)],
    ),
    Case(
        "departure removed",
        edit(("    { at = 2026-06-20T08:00:00, seats = 20 },\n", "")),
        [("Departure Sat 08:00 Kitano → Start removed", True)],
    ),
    Case(
        "bus added",
        edit(after("seats = 20 },\n]\n", RETURN_BUS)),
        [("Bus added: Finish → Kitano, 1 departure", False)],
    ),
    Case(
        "bus removed",
        lambda text: text[: text.index("[[shuttles]]")],
        [("Bus removed: Kitano → Start", True)],
    ),
    Case(
        "bus fields said together",
        edit(("reservation = true", "reservation = false\nfee = 500")),
        [("Bus Kitano → Start: also changed: fare and reservation", False)],
    ),
    # Several at once, in the order: event, categories, checkpoints, gear, schedule, buses.
    Case(
        "several",
        edit(
            ("start = 2026-06-20T05:00:00", "start = 2026-06-20T05:30:00"),
            ("at = 2026-06-20T05:00:00", "at = 2026-06-20T05:30:00"),
            ('status = "on"', 'status = "changed"'),
        ),
        [
            ("Status: on → changed", True),
            ("Start of 100 km: Sat 05:00 → Sat 05:30", True),
            ("100 km start: Sat 05:00 → Sat 05:30", False),
        ],
    ),
]


def import_text(text: str) -> ImportResult:
    report = check_text(text, "diff-test.toml")
    assert report.ok, report.lines()
    (result,) = import_reports([report], now=datetime.now(timezone.utc))
    return result


@pytest.fixture
def race(app) -> Event:
    import_text(BASE)
    return db.session.scalar(select(Event).where(Event.slug == "diff-test"))


@pytest.mark.parametrize("case", CASES, ids=[case.what for case in CASES])
def test_each_edit_says_what_it_changes(race, case):
    result = import_text(case.change(BASE))
    assert [(c.text, c.affects_runners) for c in result.changes] == case.expected
    assert all(isinstance(c, Change) and c.warning is None for c in result.changes)


def test_the_same_file_again_changes_nothing(race):
    assert import_text(BASE).changes == []


def book(event: Event, make_runners, hhmm: str, seats: int) -> None:
    """`seats` runners of the 100 km, each with a seat on the bus leaving at `hhmm`."""
    dep = departure(event, "kitano-to-start", hhmm)
    for n, user in enumerate(make_runners(event, "100k", seats)):
        db.session.add(
            Booking(
                reference=f"T{hhmm[:2]}-{n:04d}",
                user_id=user.id,
                departure_id=dep.id,
                status="booked",
                created_at=datetime.now(timezone.utc),
            )
        )
    dep.seats_taken = seats
    db.session.commit()


def test_fewer_seats_than_booked_keeps_the_seats_and_says_so(race, make_runners):
    book(race, make_runners, "04:10", 42)
    result = import_text(
        edit(("{ at = 2026-06-20T04:10:00 }", "{ at = 2026-06-20T04:10:00, seats = 40 }"))(BASE)
    )
    assert result.changes == [
        Change(
            BUS,
            "Departure Sat 04:10 Kitano → Start: seats 45 → 40; 42 booked",
            affects_runners=True,
            warning="42 seats are already booked: the bus keeps 42 seats",
        )
    ]
    assert (
        "warning: kitano-to-start Sat 04:10: the file says 40 seats but 42 are booked; keeping 42"
        in result.warnings
    )
    assert departure(race, "kitano-to-start", "04:10").seats == 42


def preview(event: Event, text: str) -> list[str]:
    """What the file would change, said against the race as it is (the import is refused)."""
    report = check_text(text, "diff-test.toml")
    assert report.ok and report.normalized is not None
    now = snapshot(event)
    return [c.text for c in describe_changes(now, now, report.normalized)]


def test_removing_what_runners_use_is_refused_and_says_how_many(race, make_runners):
    make_runners(race, "25k", 14)
    book(race, make_runners, "08:00", 3)
    text = edit(
        ('[[categories]]\ncode = "25k"\nname = "25 km"\ndistance_km = 25\n', ""),
        ('start = 2026-06-20T09:00:00\ntime_limit = "6:00"\n', ""),
        ('categories = ["100k", "25k"]', 'categories = ["100k"]'),
        ("    { at = 2026-06-20T08:00:00, seats = 20 },\n", ""),
    )(BASE)
    with pytest.raises(ImportRefused) as refused:
        import_text(text)
    assert refused.value.messages == [
        "diff-test.toml: the category “25k” is gone from the file but 14 runner(s) entered it: "
        "keep it in the file, or move those runners first",
        "diff-test.toml: the kitano-to-start departure at Sat 08:00 is gone from the file but "
        "has 3 bookings",
    ]
    assert preview(race, text) == [
        "Category removed: 25 km — 14 runners entered it: refused, move them first",
        "Departure Sat 08:00 Kitano → Start removed — 3 seats booked: refused, cancel the "
        "bookings first",
    ]


# The Japanese of the sentences below is the translators' to write (the catalogue gets them
# with `make messages`); here it is given to the catalogue in force for the test only, to show
# every word goes through it and dates through Babel.
JAPANESE = {
    "Start of %(category)s: %(before)s → %(after)s": (
        "%(category)sのスタート：%(before)s → %(after)s"
    ),
    "Departure %(when)s %(route)s: seats %(before)s → %(after)s; %(booked)s booked": (
        "%(when)s発 %(route)s：座席 %(before)s → %(after)s（予約 %(booked)s）"
    ),
    ("%(num)d seat is already booked: the bus keeps %(num)d seat", 0): (
        "すでに%(num)d席が予約済みのため、バスは%(num)d席のままです"
    ),
}


def test_the_changes_are_said_in_the_organizers_language(app, race, make_runners, monkeypatch):
    book(race, make_runners, "04:10", 42)
    text = edit(
        ("start = 2026-06-20T05:00:00", "start = 2026-06-20T05:30:00"),
        ("{ at = 2026-06-20T04:10:00 }", "{ at = 2026-06-20T04:10:00, seats = 40 }"),
    )(BASE)
    with app.test_request_context(), force_locale("ja"):
        for msgid, msgstr in JAPANESE.items():
            monkeypatch.setitem(get_translations()._catalog, msgid, msgstr)
        changes = import_text(text).changes
    assert [(c.text, c.warning) for c in changes] == [
        ("100キロのスタート：20日(土) 05:00 → 20日(土) 05:30", None),
        (
            "20日(土) 04:10発 北野 → スタート：座席 45 → 40（予約 42）",
            "すでに42席が予約済みのため、バスは42席のままです",
        ),
    ]
    for change in changes:
        assert not re.search("[A-Za-z]", change.text + (change.warning or ""))
