"""Every check of the race-file checker: the message names the field, and nothing is written."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from raceapp.extensions import db
from raceapp.models import Category, Checkpoint, Event, GearItem, ScheduleItem, ShuttleDeparture
from raceapp.racefile import check_file, check_text
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
def test_every_race_file_passes_the_check(runner, path):
    result = runner.invoke(args=["races", "check", str(path)])
    assert result.exit_code == 0, result.output
    assert "ok" in result.output


def mutated(tmp_path: Path, old: str, new: str, count: int = 1) -> Path:
    text = OKUSHINANO.read_text()
    assert text.count(old) >= count, f"fixture text not found: {old!r}"
    out = tmp_path / "okushinano-100-2024.toml"
    out.write_text(text.replace(old, new, count))
    return out


# Each case: (text to replace, replacement, field path expected in the message, words expected)
CASES = {
    "unknown key": (
        "elevation_gain_m = 4800",
        "elevation_gian_m = 4800",
        "categories[0].elevation_gian_m",
        "unknown key",
    ),
    "wrong type": (
        "field_size = 700",
        'field_size = "700"',
        "categories[0].field_size",
        "whole number",
    ),
    "wrong type in a list item": (
        "  km = 72\n",
        '  km = "72"\n',
        "categories[0].checkpoints[3].km",
        "number",
    ),
    "invalid time zone": (
        'time_zone = "Asia/Tokyo"',
        'time_zone = "Asia/Tokio"',
        "event.time_zone",
        "not an IANA time zone",
    ),
    "km not increasing": (
        "  km = 72\n",
        "  km = 47\n",
        "categories[0].checkpoints[3].km",
        "not after the previous",
    ),
    "km beyond the distance": (
        "  km = 95\n",
        "  km = 101\n",
        "categories[0].checkpoints[5].km",
        "beyond the category's distance",
    ),
    "cut-offs not increasing": (
        'cutoff_after = "15:30"',
        'cutoff_after = "13:00"',
        "categories[0].checkpoints[3].cutoff_after",
        "not later than",
    ),
    "final cut-off not the time limit": (
        'cutoff_after = "21:00"',
        'cutoff_after = "20:30"',
        "categories[0].checkpoints[6].cutoff_after",
        "is not the time limit",
    ),
    "offset and clock disagree": (
        'cutoff_after = "15:30"',
        'cutoff_after = "15:30"\n  cutoff_at = 2024-06-08T21:30:00',
        "categories[0].checkpoints[3].cutoff_at",
        "16 h 30 min after the start, but cutoff_after says 15 h 30 min",
    ),
    "negative seats": (
        "    { at = 2024-06-07T13:30:00 },",
        "    { at = 2024-06-07T13:30:00, seats = -1 },",
        "shuttles[0].departures[0].seats",
        "greater than or equal to 0",
    ),
    "negative fee": (
        "fee = 25000",
        "fee = -25000",
        "categories[0].fee",
        "greater than or equal to 0",
    ),
    "duplicate category code": (
        'code = "50k"',
        'code = "100k"',
        "categories[1].code",
        "duplicate code '100k'",
    ),
    "duplicate shuttle code": (
        'code = "venue-to-station"',
        'code = "station-to-venue"',
        "shuttles[1].code",
        "duplicate code",
    ),
    "duplicate gear code": (
        '{ code = "poison-remover", name',
        '{ code = "cup", name',
        "gear.long.recommended[2].code",
        "duplicate gear code 'cup'",
    ),
    "unknown category in gear": (
        'categories = ["25k"]',
        'categories = ["26k"]',
        "gear.short.categories[0]",
        "no category has code '26k'",
    ),
    "offset date-time": (
        "start = 2024-06-08T05:00:00",
        "start = 2024-06-08T05:00:00+09:00",
        "categories[0].start",
        "without a UTC offset",
    ),
    "bad duration": (
        'time_limit = "21:00"',
        'time_limit = "21h"',
        "categories[0].time_limit",
        "hours:minutes",
    ),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_check_reports_the_field_and_import_writes_nothing(app, runner, tmp_path, case):
    old, new, path, words = CASES[case]
    import_files(OKUSHINANO)  # the good version first: a failed re-import must not touch it
    before = snapshot()
    bad = mutated(tmp_path, old, new)

    checked = runner.invoke(args=["races", "check", str(bad)])
    assert checked.exit_code == 1
    line = next(out for out in checked.output.splitlines() if path + ":" in out)
    assert words in line
    assert line.startswith(f"{bad}:")  # the file (and line) come first
    assert ": error:" in line

    imported = runner.invoke(args=["races", "import", str(bad)])
    assert imported.exit_code == 1
    assert "nothing imported" in imported.output
    db.session.expire_all()
    assert snapshot() == before


def test_messages_carry_the_line_number(tmp_path):
    bad = mutated(tmp_path, "  km = 72\n", "  km = 47\n")
    report = check_file(bad)
    problem = next(p for p in report.errors if p.path == "categories[0].checkpoints[3].km")
    assert bad.read_text().splitlines()[problem.line - 1].strip() == "km = 47"


def test_toml_syntax_error_names_the_line(tmp_path):
    bad = mutated(tmp_path, "fee = 25000", "fee = 25,000")
    report = check_file(bad)
    assert not report.ok
    assert report.errors[0].line == bad.read_text().splitlines().index("fee = 25,000") + 1
    assert "not valid TOML" in report.errors[0].message


def test_unreadable_and_non_utf8_files(tmp_path):
    missing = check_file(tmp_path / "nope.toml")
    assert "cannot read" in missing.errors[0].message
    latin = tmp_path / "latin.toml"
    latin.write_bytes(b'[event]\nname = "Caf\xe9"\n')
    assert "not UTF-8" in check_file(latin).errors[0].message


def test_seed_contradiction_is_a_warning_not_an_error():
    report = check_file(
        Path(__file__).resolve().parent.parent / "races" / "shinetsu-five-mountains-160k.toml"
    )
    assert report.ok
    (warning,) = [w for w in report.warnings if w.path == "categories[1].pacer_from_km"]
    assert "63 km" in warning.message and "65 km" in warning.message


def test_one_bad_file_means_no_file_is_imported(app, runner, tmp_path):
    bad = mutated(tmp_path, "fee = 25000", "fee = -1")
    good = RACES[0]
    result = runner.invoke(args=["races", "import", str(good), str(bad)])
    assert result.exit_code == 1
    assert db.session.scalar(select(func.count()).select_from(Event)) == 0


def test_partial_race_without_times_is_valid():
    report = check_text(
        '[event]\nslug = "tiny"\nname = "Tiny"\ntime_zone = "UTC"\n'
        '[[categories]]\ncode = "x"\nname = "X"\nstart = 2026-06-20\n'
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


def test_the_documented_example_is_valid():
    doc = (Path(__file__).resolve().parent.parent / "docs" / "race-file.md").read_text()
    example = doc.split("```toml\n", 1)[1].split("```", 1)[0]
    report = check_text(example, "docs/race-file.md")
    assert report.ok, report.lines()
    assert report.warnings == []
