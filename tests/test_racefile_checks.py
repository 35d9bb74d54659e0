"""Every check of the race-file checker: the exact sentence, the line of the entry itself and the
field path, and nothing written when a file is refused."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from raceapp.extensions import db
from raceapp.models import Category, Checkpoint, Event, GearItem, ScheduleItem, ShuttleDeparture
from raceapp.racefile import check_bytes, check_file, check_text
from tests.helpers import RACES, import_files

OKUSHINANO = Path(__file__).resolve().parent.parent / "races" / "okushinano-100-2024.toml"


def snapshot() -> dict:
    """What the database holds, in enough detail to see any write."""
    counts = {
        m.__name__: db.session.scalar(select(func.count()).select_from(m))
        for m in (Event, Category, Checkpoint, GearItem, ScheduleItem, ShuttleDeparture)
    }
    hashes = sorted(db.session.execute(select(Event.slug, Event.source_sha256, Event.updated_at)))
    cutoffs = sorted(db.session.execute(select(Checkpoint.km, Checkpoint.cutoff_minutes)))
    return {"counts": counts, "events": hashes, "cutoffs": cutoffs}


@pytest.mark.parametrize("path", RACES, ids=lambda p: p.name)
def test_every_race_file_passes_the_check_without_warnings(runner, path):
    result = runner.invoke(args=["races", "check", str(path)])
    assert result.exit_code == 0, result.output
    assert "ok (0 warning(s))" in result.output


def mutated(tmp_path: Path, old: str, new: str) -> Path:
    text = OKUSHINANO.read_text()
    assert old in text, f"fixture text not found: {old!r}"
    out = tmp_path / "okushinano-100-2024.toml"
    out.write_text(text.replace(old, new, 1))
    return out


# Each case: (text to replace, replacement, field path, the line it must point at, the sentence)
CASES = {
    "unknown key": (
        "elevation_gain_m = 4800",
        "elevation_gian_m = 4800",
        "categories[0].elevation_gian_m",
        "elevation_gian_m = 4800",
        "“elevation_gian_m” is not a key of this section (a typo?); see docs/race-file.md for "
        "the keys allowed here.",
    ),
    "wrong type": (
        "field_size = 700",
        'field_size = "700"',
        "categories[0].field_size",
        'field_size = "700"',
        "should be a whole number, not the text “700”.",
    ),
    "Japanese where a number belongs": (
        "field_size = 700",
        'field_size = "七百"',
        "categories[0].field_size",
        'field_size = "七百"',
        "should be a whole number, not the text “七百”.",
    ),
    "wrong type in a list item": (
        "  km = 72\n",
        '  km = "72"\n',
        "categories[0].checkpoints[3].km",
        'km = "72"',
        "should be a number, not the text “72”.",
    ),
    "invalid time zone": (
        'time_zone = "Asia/Tokyo"',
        'time_zone = "Asia/Tokio"',
        "event.time_zone",
        'time_zone = "Asia/Tokio"',
        "“Asia/Tokio” is not a time zone name such as “Asia/Tokyo” or “Europe/Paris”.",
    ),
    "km not increasing": (
        "  km = 72\n",
        "  km = 47\n",
        "categories[0].checkpoints[3].km",
        "km = 47",
        "47 km is not after the previous checkpoint (58 km): list checkpoints in course order.",
    ),
    "km beyond the distance": (
        "  km = 95\n",
        "  km = 101\n",
        "categories[0].checkpoints[5].km",
        "km = 101",
        "101 km is beyond the category's distance (100 km).",
    ),
    "cut-offs not increasing": (
        'cutoff_after = "15:30"',
        'cutoff_after = "13:00"',
        "categories[0].checkpoints[3].cutoff_after",
        'cutoff_after = "13:00"',
        "This cut-off (13 h) is not later than the previous one (13 h 30 min).",
    ),
    "a cut-off later than the time limit is blamed on the cut-off": (
        'cutoff_after = "19:30"',
        'cutoff_after = "21:30"',
        "categories[0].checkpoints[5].cutoff_after",
        'cutoff_after = "21:30"',
        "This cut-off (21 h 30 min) is later than the category's time limit (21 h).",
    ),
    "finish cut-off not the time limit": (
        'cutoff_after = "21:00"',
        'cutoff_after = "20:30"',
        "categories[0].checkpoints[6].cutoff_after",
        'cutoff_after = "20:30"',
        "The finish cut-off (20 h 30 min) is not the category's time limit (21 h): one of the "
        "two is wrong.",
    ),
    "a cut-off at the start": (
        'cutoff_after = "6:00"',
        'cutoff_after = "0:00"',
        "categories[0].checkpoints[0].cutoff_after",
        'cutoff_after = "0:00"',
        "should be a time after the start, not 0:00.",
    ),
    "a time limit of nothing": (
        'time_limit = "21:00"',
        'time_limit = "0:00"',
        "categories[0].time_limit",
        'time_limit = "0:00"',
        "should be a time after the start, not 0:00.",
    ),
    "clock time and elapsed time disagree": (
        'cutoff_after = "15:30"',
        'cutoff_after = "15:30"\n  cutoff_at = 2024-06-08T21:30:00',
        "categories[0].checkpoints[3].cutoff_at",
        "cutoff_at = 2024-06-08T21:30:00",
        "Sat 2024-06-08 21:30 is 16 h 30 min after the start, but cutoff_after says 15 h 30 min.",
    ),
    "negative seats, on the departure's own line": (
        "    { at = 2024-06-07T13:30:00 },",
        "    { at = 2024-06-07T13:30:00, seats = -1 },",
        "shuttles[0].departures[0].seats",
        "{ at = 2024-06-07T13:30:00, seats = -1 },",
        "should be 0 or more, not -1.",
    ),
    "negative fee": (
        "fee = 25000",
        "fee = -25000",
        "categories[0].fee",
        "fee = -25000",
        "should be 0 or more, not -25000.",
    ),
    "duplicate category code": (
        'code = "25k"',
        'code = "100k"',
        "categories[2].code",
        'code = "100k"',
        "The code “100k” is used twice: here and at categories[0].",
    ),
    "duplicate shuttle code": (
        'code = "venue-to-station"',
        'code = "station-to-venue"',
        "shuttles[1].code",
        'code = "station-to-venue"',
        "The code “station-to-venue” is used twice: here and at shuttles[0].",
    ),
    "duplicate gear code, on the item's own line": (
        '{ code = "poison-remover", name',
        '{ code = "cup", name',
        "gear.long.recommended[2].code",
        '{ code = "cup", name = "Poison remover" },',
        "The code “cup” is given to two gear items of “100k”, “50k” (also at "
        'gear.all.mandatory[1]). Give one of them its own code = "…".',
    ),
    "unknown category in gear": (
        'categories = ["25k"]',
        'categories = ["26k"]',
        "gear.short.categories[0]",
        'categories = ["26k"]',
        "No category has the code “26k”.",
    ),
    "an offset the zone does not have": (
        "start = 2024-06-08T05:00:00",
        "start = 2024-06-08T05:00:00+01:00",
        "categories[0].start",
        "start = 2024-06-08T05:00:00+01:00",
        "2024-06-08 05:00 with the offset +01:00 is not a time of Asia/Tokyo: its offset then "
        "is +09:00.",
    ),
    "bad duration": (
        'time_limit = "21:00"',
        'time_limit = "21h"',
        "categories[0].time_limit",
        'time_limit = "21h"',
        "should be hours:minutes such as “11:30”, not the text “21h”.",
    ),
    "drop bags beyond the distance": (
        "drop_bag_km = 27",
        "drop_bag_km = 127",
        "categories[0].drop_bag_km",
        "drop_bag_km = 127",
        "127 km is beyond the category's distance (100 km).",
    ),
    "a language that is not one": (
        'name = "100 km"',
        'name = { jp = "100キロ", en = "100 km" }',
        "categories[0].name",
        'name = { jp = "100キロ", en = "100 km" }',
        "“jp” is not a language code: use two letters such as “ja” or “en”.",
    ),
    "a schedule item that ends before it starts": (
        "at = 2024-06-07T13:00:00\nend = 2024-06-07T18:00:00",
        "at = 2024-06-07T13:00:00\nend = 2024-06-07T12:00:00",
        "schedule[0].end",
        "end = 2024-06-07T12:00:00",
        "is not after the start (2024-06-07 13:00).",
    ),
    "a field that cannot be provisional": (
        "elevation_gain_m = 4800",
        'elevation_gain_m = 4800\nprovisional = ["fee"]',
        "categories[0].provisional[0]",
        'provisional = ["fee"]',
        "“fee” cannot be marked provisional here: it is not a field of this section.",
    ),
    "cancelling until departure said the long way": (
        "reservation = true\nsupporters_allowed = true",
        'reservation = true\ncancel_before = "0:00"\nsupporters_allowed = true',
        "shuttles[0].cancel_before",
        'cancel_before = "0:00"',
        "Leave cancel_before out to let runners cancel until the bus leaves; 0:00 means the same.",
    ),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_check_says_exactly_what_and_where_and_import_writes_nothing(app, runner, tmp_path, case):
    old, new, path, line_text, sentence = CASES[case]
    import_files(OKUSHINANO)  # the good version first: a failed re-import must not touch it
    before = snapshot()
    bad = mutated(tmp_path, old, new)

    report = check_file(bad)
    problem = next(p for p in report.errors if p.path == path)
    assert problem.message == sentence
    assert bad.read_text().splitlines()[problem.line - 1].strip() == line_text

    checked = runner.invoke(args=["races", "check", str(bad)])
    assert checked.exit_code == 1
    assert f"{bad}:{problem.line}: error: {path}: {sentence}" in checked.output

    imported = runner.invoke(args=["races", "import", str(bad)])
    assert imported.exit_code == 1
    assert "nothing imported" in imported.output
    db.session.expire_all()
    assert snapshot() == before


def test_no_message_carries_a_python_repr(tmp_path):
    """Whatever goes wrong, the sentences are for people: no {'…'}, datetime.…, <class …>."""
    outputs = []
    for old, new, *_ in CASES.values():
        outputs += check_file(mutated(tmp_path, old, new)).lines()
    for text in (
        '[event]\nslug = "x"\nname = "X"\ntime_zone = "UTC"\nstart_date = "soon"\n',
        '[event]\nslug = "x"\nname = { en = 1 }\ntime_zone = "UTC"\n',
        '[event]\nslug = "x"\nname = "X"\ntime_zone = "UTC"\n[[categories]]\n'
        'code = "a"\nname = "A"\nstart = 2026-06-01T07:00:00\ncheckpoints = [{}]\n',
        '[event]\nslug = "x"\nname = "X"\ntime_zone = "UTC"\nnotes = [{ a = 1 }]\n',
        "[event]\nslug = 'x'\nname = 'X'\ntime_zone = 'UTC'\nstart_date = 2026-06-01T07:00:00\n",
    ):
        outputs += check_text(text).lines()
    for line in outputs:
        for repr_mark in ("{'", "datetime.", "<class", "date(", "None"):
            assert repr_mark not in line, line


def test_the_line_of_an_entry_in_a_list_is_the_entry_itself(tmp_path):
    bad = mutated(
        tmp_path,
        '{ code = "bear-bell", name = "Bear bell" },',
        '{ code = "bear-bell", name = "" },',
    )
    problem = check_file(bad).errors[0]
    assert problem.path == "gear.all.recommended[1].name"
    assert (
        bad.read_text().splitlines()[problem.line - 1].strip()
        == '{ code = "bear-bell", name = "" },'
    )
    assert problem.message == "should not be empty."


def test_toml_syntax_error_names_the_line(tmp_path):
    bad = mutated(tmp_path, "fee = 25000", "fee = 25,000")
    report = check_file(bad)
    assert not report.ok
    assert report.errors[0].line == bad.read_text().splitlines().index("fee = 25,000") + 1
    assert report.errors[0].message.startswith("This line is not valid TOML:")


def test_a_key_in_japanese_says_to_put_japanese_in_the_value():
    report = check_text('[event]\nslug = "x"\n名前 = "奥信濃100"\ntime_zone = "Asia/Tokyo"\n')
    (problem,) = report.errors
    assert problem.line == 3
    assert problem.message == (
        "“名前” cannot be a key: keys are the English names listed in docs/race-file.md. Put "
        'the text in the value instead, such as name = "名前" or name = { ja = "名前" }.'
    )


# --- Encodings -------------------------------------------------------------------------------


def test_utf8_with_a_byte_order_mark_is_read_like_utf8():
    text = OKUSHINANO.read_text()
    assert check_bytes(b"\xef\xbb\xbf" + text.encode()).ok


@pytest.mark.parametrize(
    "encoding, words",
    [
        ("cp932", "it looks like Shift_JIS"),
        ("utf-16", "it is saved as UTF-16"),
    ],
)
def test_a_file_not_in_utf8_says_how_to_save_it(encoding, words):
    raw = '[event]\nslug = "x"\nname = "奥信濃100"\ntime_zone = "Asia/Tokyo"\n'.encode(encoding)
    (problem,) = check_bytes(raw, "x.toml").errors
    assert problem.message.startswith("The file is not saved as UTF-8")
    assert words in problem.message
    assert "Notepad, File → Save as → Encoding “UTF-8”" in problem.message


def test_unreadable_files(tmp_path):
    missing = check_file(tmp_path / "nope.toml")
    assert missing.errors[0].message == "The file cannot be read: No such file or directory."
    big = tmp_path / "big.toml"
    big.write_bytes(b"#" * 1_000_001)
    assert "larger than 1 MB" in check_file(big).errors[0].message


# --- Time: the hour a clock change repeats or skips ----------------------------------------------

DST = Path(__file__).parent / "data" / "dst-crossing.toml"


def test_the_repeated_autumn_hour_must_say_which():
    text = DST.read_text().replace("cutoff_at = 2024-10-27T04:00:00", "")
    text = text.replace(
        'cutoff_after = "6:00"\n  cutoff_at = 2024-10-27T00:00:00',
        'cutoff_after = "8:30"\n  cutoff_at = 2024-10-27T02:30:00',
    )
    report = check_text(text, "dst.toml")
    (problem,) = report.errors
    assert problem.path == "categories[0].checkpoints[0].cutoff_at"
    assert problem.message == (
        "2024-10-27 02:30 happens twice in Europe/Paris (the clocks go back). Write "
        "2024-10-27T02:30:00+02:00 for the first (CEST) or 2024-10-27T02:30:00+01:00 for the "
        "second (CET)."
    )
    # Either side can be written, and each means its own instant.
    first = check_text(text.replace("2024-10-27T02:30:00", "2024-10-27T02:30:00+02:00"))
    assert first.ok, first.lines()
    second = check_text(
        text.replace("2024-10-27T02:30:00", "2024-10-27T02:30:00+01:00").replace(
            'cutoff_after = "8:30"', 'cutoff_after = "9:30"'
        )
    )
    assert second.ok, second.lines()
    assert second.normalized.categories[0].checkpoints[0].cutoff_minutes == 9 * 60 + 30


def test_the_skipped_spring_hour_is_an_error():
    text = DST.read_text().replace("start = 2024-10-26T18:00:00", "start = 2024-03-31T02:30:00")
    problem = next(p for p in check_text(text).errors if p.path == "categories[0].start")
    assert problem.message == (
        "2024-03-31 02:30 does not exist in Europe/Paris: the clocks jump "
        "over it. Give a time before or after the change."
    )


def test_clock_times_across_a_clock_change_say_their_zone(client, app):
    """Two cut-offs an hour apart across the change never look like the same clock time."""
    text = DST.read_text().replace(
        'cutoff_after = "11:00"\n  cutoff_at = 2024-10-27T04:00:00',
        'cutoff_after = "8:30"\n  cutoff_at = 2024-10-27T02:30:00+02:00',
    )
    text = text.replace('name = "Finish"', 'name = "Finish"\n  label = "Finish"')
    text = text.replace(
        '  [[categories.checkpoints]]\n  name = "Finish"',
        '  [[categories.checkpoints]]\n  name = "Second pass"\n  km = 70\n'
        "  cutoff_at = 2024-10-27T02:30:00+01:00\n\n"
        '  [[categories.checkpoints]]\n  name = "Finish"',
    )
    path = Path(app.instance_path) / "dst.toml"
    path.write_text(text)
    import_files(path)
    html = client.get("/events/dst-crossing/80k").get_data(as_text=True)
    assert "Sun 02:30 CEST" in html and "Sun 02:30 CET" in html
    # A race with no clock change shows plain times.
    import_files(OKUSHINANO)
    plain = client.get("/events/okushinano-100-2024/100k").get_data(as_text=True)
    assert "Sat 16:30" in plain and "JST" not in plain


# --- Any language ---------------------------------------------------------------------------------

JAPANESE = """\
[event]
slug = "kijimadaira-trail"
name = { ja = "木島平トレイル", en = "Kijimadaira Trail" }
language = "ja"
time_zone = "Asia/Tokyo"
start_date = 2027-06-05

[[categories]]
code = "30k"
name = "30キロ"
distance_km = 30
start = 2027-06-05T07:00:00
time_limit = "8:00"

  [[categories.checkpoints]]
  name = "カヤの平"
  km = 15
  cutoff_after = "4:00"

[gear.all]
categories = ["30k"]
mandatory = [
    { name = "携帯電話" },
    { name = "レインウェア", spec = "フード付き" },
    { name = "水" },
]
"""


def test_a_file_written_in_japanese_only_imports_with_stable_codes(app, client):
    report = check_text(JAPANESE)
    assert report.ok, report.lines()
    codes = [g.code for g in report.normalized.categories[0].gear]
    assert len(set(codes)) == 3 and all(c.startswith("item-") for c in codes)
    assert codes == [g.code for g in check_text(JAPANESE).normalized.categories[0].gear]
    path = Path(app.instance_path) / "ja.toml"
    path.write_text(JAPANESE)
    import_files(path)
    html = client.get("/events/kijimadaira-trail/30k").get_data(as_text=True)
    assert "携帯電話" in html and "カヤの平" in html
    # A browser that asks for nothing gets the race's own language; one that asks for English
    # gets the English name from the table, and the Japanese category name as written.
    assert "<h1>木島平トレイル</h1>" in client.get("/events/kijimadaira-trail").get_data(
        as_text=True
    )
    english = client.get("/events/kijimadaira-trail", headers={"Accept-Language": "en-GB,en"})
    assert "<h1>Kijimadaira Trail</h1>" in english.get_data(as_text=True)
    assert "30キロ" in english.get_data(as_text=True)


def test_two_items_with_the_same_japanese_name_are_told_apart_by_code():
    text = JAPANESE.replace('{ name = "水" },', '{ name = "携帯電話" },')
    (problem,) = check_text(text).errors
    assert problem.path == "gear.all.mandatory[2].name"
    assert "is given to two gear items of “30k”" in problem.message


# --- Per-category facts, guesses and duplicates -------------------------------------------------


def test_the_pole_ban_shows_each_category_its_own_kilometres(client, okushinano):
    hundred = client.get("/events/okushinano-100-2024/100k").get_data(as_text=True)
    fifty = client.get("/events/okushinano-100-2024/50k").get_data(as_text=True)
    assert "48 km to 58 km" in hundred and "23 km to 33 km" not in hundred
    assert "23 km to 33 km" in fifty and "48 km to 58 km" not in fifty


def test_a_worked_out_start_is_never_shown_as_published(client, seed_races, frozen_clock):
    page = client.get("/events/shinetsu-five-mountains-163k/100mi").get_data(as_text=True)
    assert "not published" in page and "worked out from a cut-off" in page
    frozen_clock(datetime(2024, 9, 1, tzinfo=timezone.utc))  # before the race
    before = client.get("/events/shinetsu-five-mountains-163k").get_data(as_text=True)
    assert "to be confirmed" in before and "no year" in before


def test_a_past_race_shows_every_published_time_in_its_calendar(
    client, auth, seed_races, make_user, make_entry
):
    make_entry(make_user("k@example.com"), seed_races["kagaspa-2026"], "20k", "9")
    auth.login("k@example.com")
    ics = client.get("/me/schedule.ics").get_data(as_text=True)
    assert "SUMMARY:20 km start · KAGASPA by UTMB" in ics
    assert "DTSTART;VALUE=DATE:20260620" in ics


def test_the_same_race_twice_in_one_import_is_refused(app, runner, tmp_path):
    copy = tmp_path / "copy.toml"
    copy.write_text(OKUSHINANO.read_text())
    result = runner.invoke(args=["races", "import", str(OKUSHINANO), str(copy)])
    assert result.exit_code == 1
    assert "The race “okushinano-100-2024” is in two files of this import" in result.output
    assert db.session.scalar(select(func.count()).select_from(Event)) == 0


def test_an_accepted_warning_is_checked_first():
    text = next(p for p in RACES if "160k" in p.name).read_text()
    unaccepted = text.replace('accept_warnings = ["pacer-km-mismatch"]\n', "")
    (warning,) = check_text(unaccepted).warnings
    assert warning.path == "categories[1].pacer_from_km"
    assert warning.message == (
        "Pacers join at Sasagamine at 63 km, but the checkpoint “Sasagamine Green House” is at "
        "65 km. Check which is right with the organizer."
    )


def test_one_bad_file_means_no_file_is_imported(app, runner, tmp_path):
    bad = mutated(tmp_path, "fee = 25000", "fee = -1")
    result = runner.invoke(args=["races", "import", str(RACES[0]), str(bad)])
    assert result.exit_code == 1
    assert db.session.scalar(select(func.count()).select_from(Event)) == 0


def test_partial_race_without_times_is_valid():
    report = check_text(
        '[event]\nslug = "tiny"\nname = "Tiny"\ntime_zone = "UTC"\n'
        '[[categories]]\ncode = "x"\nname = "X"\nstart = 2026-06-20\ndistance_km = 5\n'
    )
    assert report.ok, report.lines()
    assert report.normalized.categories[0].start_at is None


def test_clock_cutoff_without_a_start_time_is_an_error():
    report = check_text(
        '[event]\nslug = "tiny"\nname = "Tiny"\ntime_zone = "UTC"\n'
        '[[categories]]\ncode = "x"\nname = "X"\nstart = 2026-06-20\n'
        '[[categories.checkpoints]]\nname = "A"\nkm = 1\n'
        "cutoff_at = 2026-06-20T10:00:00\n"
    )
    assert [p.path for p in report.errors] == ["categories[0].checkpoints[0].cutoff_at"]


def test_the_documented_examples_are_valid():
    doc = (Path(__file__).resolve().parent.parent / "docs" / "race-file.md").read_text()
    examples = [block.split("```", 1)[0] for block in doc.split("```toml\n")[1:]]
    complete = [e for e in examples if e.lstrip().startswith("[event]")]
    assert complete, "the reference has no complete example"
    for example in complete:
        report = check_text(example, "docs/race-file.md")
        assert report.ok, report.lines()
        assert report.warnings == []


def test_a_value_of_the_wrong_kind_where_a_table_may_stand_is_explained(app):
    """A name may be text or a table of languages; a number there is explained with both (a
    phrase with literal braces once broke the message itself)."""
    text = (RACES[0]).read_text(encoding="utf-8")
    start = text.index("[event]")
    line_end = text.index("\n", text.index("\nname", start) + 1)
    broken = text[: text.index("\nname", start) + 1] + "name = -5" + text[line_end:]
    report = check_text(broken, "broken.toml")
    assert not report.ok
    [problem] = [p for p in report.problems if p.path == "event.name"]
    assert "a table { … }" in problem.message and "-5" in problem.message
