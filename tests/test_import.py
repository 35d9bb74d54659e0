"""Re-importing a changed race file updates in place and keeps what runners made."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import func, select

from raceapp.extensions import db
from raceapp.models import Category, Entry, Event, GearItem, GearTick, ShuttleDeparture
from tests.helpers import import_files

OKUSHINANO = Path(__file__).resolve().parent.parent / "races" / "okushinano-100-2024.toml"


def tick(user, item) -> GearTick:
    t = GearTick(
        user_id=user.id, gear_item_id=item.id, packed=True, ticked_at=datetime.now(timezone.utc)
    )
    db.session.add(t)
    db.session.commit()
    return t


def gear(code, cat_code="100k") -> GearItem:
    return db.session.scalar(
        select(GearItem).join(Category).where(GearItem.code == code, Category.code == cat_code)
    )


def test_reimport_updates_in_place_and_keeps_entries_and_ticks(
    tmp_path, okushinano, make_user, make_entry
):
    runner_ = make_user()
    entry = make_entry(runner_, okushinano, "100k", "42")
    blanket = gear("survival-blanket")
    kept = tick(runner_, blanket)
    doomed_id = tick(runner_, gear("poison-remover")).id
    event_id, category_id, kept_id, blanket_id = (
        okushinano.id,
        entry.category_id,
        kept.id,
        blanket.id,
    )

    text = OKUSHINANO.read_text()
    text = text.replace('spec = "At least 130 cm × 200 cm."', 'spec = "At least 140 cm × 200 cm."')
    text = text.replace('    { code = "poison-remover", name = "Poison remover" },\n', "")
    text = text.replace('cutoff_after = "15:30"', 'cutoff_after = "15:00"')
    changed = tmp_path / "okushinano.toml"
    changed.write_text(text)
    import_files(changed)
    db.session.expire_all()

    assert db.session.scalar(select(Event.id).where(Event.slug == okushinano.slug)) == event_id
    assert db.session.get(Entry, entry.id).category_id == category_id
    assert db.session.get(GearTick, kept_id).gear_item_id == blanket_id
    assert "140 cm" in db.session.get(GearItem, blanket_id).spec
    assert db.session.get(GearTick, doomed_id) is None  # its item is gone from the file
    cat = db.session.get(Category, category_id)
    assert cat.checkpoints[3].cutoff_minutes == 15 * 60


def test_removing_a_category_with_runners_is_refused(
    runner, tmp_path, okushinano, make_user, make_entry
):
    make_entry(make_user(), okushinano, "25k", "7")
    text = OKUSHINANO.read_text()
    start = text.index('[[categories]]\ncode = "25k"')
    end = text.index('[[categories]]\ncode = "kids"')
    text = text[:start] + text[end:]
    text = text.replace('categories = ["100k", "50k", "25k"]', 'categories = ["100k", "50k"]')
    text = text.replace('categories = ["25k"]', 'categories = ["kids"]')
    changed = tmp_path / "okushinano.toml"
    changed.write_text(text)
    before = db.session.scalar(select(func.count()).select_from(Category))
    result = runner.invoke(args=["races", "import", str(changed)])
    assert result.exit_code == 1
    assert "the category “25k” is gone from the file but 1 runner(s) entered it" in result.output
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Category)) == before
    assert (
        db.session.scalar(select(Event.source_sha256).where(Event.id == okushinano.id))
        == okushinano.source_sha256
    )


def test_reimport_keeps_departures_by_time_and_updates_seats(tmp_path, okushinano):
    first = db.session.scalar(select(ShuttleDeparture).order_by(ShuttleDeparture.departs_at))
    text = OKUSHINANO.read_text().replace(
        "{ at = 2024-06-07T13:30:00 },", "{ at = 2024-06-07T13:30:00, seats = 45 },"
    )
    changed = tmp_path / "okushinano.toml"
    changed.write_text(text)
    import_files(changed)
    db.session.expire_all()
    again = db.session.get(ShuttleDeparture, first.id)
    assert again is not None and again.seats == 45


def test_import_command_reports_created_then_updated(runner, app):
    first = runner.invoke(args=["races", "import", str(OKUSHINANO)])
    assert first.exit_code == 0 and "okushinano-100-2024: created" in first.output
    second = runner.invoke(args=["races", "import", str(OKUSHINANO)])
    assert second.exit_code == 0 and "okushinano-100-2024: updated" in second.output
    assert db.session.scalar(select(func.count()).select_from(Event)) == 1


def test_a_corrected_file_says_what_changed_and_keeps_what_runners_made(
    runner, tmp_path, okushinano, make_user, make_entry
):
    entry = make_entry(make_user(), okushinano, "100k", "42")
    tick(entry.user, gear("cup"))
    text = OKUSHINANO.read_text()
    text = text.replace("start = 2024-06-08T05:00:00", "start = 2024-06-08T05:30:00")
    text = text.replace('cutoff_after = "15:30"', 'cutoff_after = "16:00"')
    text = text.replace('    { code = "poison-remover", name = "Poison remover" },\n', "")
    text = text.replace(
        "    { at = 2024-06-07T17:30:00 },\n", "    { at = 2024-06-07T17:30:00, seats = 40 },\n"
    )
    changed = tmp_path / "okushinano.toml"
    changed.write_text(text)
    result = runner.invoke(args=["races", "import", str(changed)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[lines.index("okushinano-100-2024: updated, 4 change(s):") + 1 :] == [
        "  Start of 100 km: Sat 05:00 → Sat 05:30",
        "  100 km: cut-off at Nukasen Aid Station 2 (72 km) 15:30 → 16:00 after the start"
        " (Sat 20:30 → Sat 21:30)",
        # The same change in two categories is said once.
        "  100 km and 50 km: recommended gear removed: Poison remover",
        "  Departure Fri 17:30 JR Iiyama Station → Cupid of Romance Snow Resort (venue):"
        " seats not limited → 40",
    ]
    db.session.expire_all()
    assert db.session.get(Entry, entry.id) is not None
    assert db.session.scalar(select(func.count()).select_from(GearTick)) == 1
    again = runner.invoke(args=["races", "import", str(changed)])
    assert "nothing a runner would notice changed" in again.output
