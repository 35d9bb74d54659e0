"""The organizer's console in Chromium: publish a changed race file from the browser and see
it on the runner's kit; import the entry list from a Shift-JIS CSV. Screenshots of the
dashboard, the diff and the import on a laptop and a phone (`make screenshots` writes them to
docs/screenshots/; otherwise a temporary folder)."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from raceapp.extensions import db
from raceapp.models import Entry
from tests.browser.helpers import log_in
from tests.helpers import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "screenshots"
LAPTOP = {"width": 1280, "height": 900}
SLUG = "okushinano-100-2024"
MOMENT = datetime(2024, 5, 20, 10, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
ENTRIES = (
    "ゼッケン,氏名,メールアドレス,種目,電話番号,緊急連絡先\r\n"
    "1001,Demo Runner,runner@example.com,100k,090-1234-5678,\r\n"
    "1002,山田 太郎,taro@example.com,100k,090-2222-3333,山田 花子 090-4444-5555\r\n"
    "2001,髙橋 花子,hanako@example.com,50k,080-1111-2222,\r\n"
    "3001,佐藤 健,,25k,070-3333-4444,\r\n"
)


def out_folder(tmp_path: Path) -> Path:
    out = DOCS if os.environ.get("RACEAPP_SCREENSHOTS") == "1" else tmp_path
    out.mkdir(parents=True, exist_ok=True)
    return out


def test_an_organizer_publishes_a_changed_race_file_and_the_runner_sees_it(
    live_server, phone, okushinano, make_user, make_entry, make_organizer, frozen_clock, tmp_path
):
    out = out_folder(tmp_path)
    frozen_clock(MOMENT)
    runner = make_user("runner@example.com", name="Demo Runner")
    make_entry(runner, okushinano, "100k", "1001")
    make_organizer(okushinano)
    changed = tmp_path / "okushinano-100-2024.toml"
    changed.write_text(
        (ROOT / "races" / f"{SLUG}.toml")
        .read_text()
        .replace("start = 2024-06-08T05:00:00", "start = 2024-06-08T05:30:00", 1)
    )
    laptop = phone(viewport=LAPTOP, is_mobile=False, has_touch=False).new_page()
    laptop.clock.install(time=MOMENT)
    log_in(laptop, live_server, "organizer@example.com", PASSWORD)
    assert laptop.url.endswith("/organizer/")
    assert "okushinano 100" in laptop.inner_text("main").lower()
    laptop.screenshot(path=str(out / "console-dashboard.png"), full_page=True)
    laptop.goto(f"{live_server}/organizer/events/{SLUG}/race-file")
    laptop.set_input_files("input[name=file]", str(changed))
    laptop.click("main form button[type=submit]")
    laptop.wait_for_url(f"{live_server}/organizer/events/{SLUG}/race-file")
    changes = laptop.inner_text(".changes")
    assert "Start of 100 km: Sat 05:00 → Sat 05:30" in changes
    laptop.screenshot(path=str(out / "console-diff.png"), full_page=True)
    laptop.click("button:has-text('Publish version 2')")
    laptop.wait_for_url("**/race-file/versions/2/published")
    assert "Write the alert" in laptop.inner_text("main")
    # The runner's kit, on their phone: the new start.
    page = phone(device_scale_factor=2).new_page()
    page.clock.install(time=MOMENT)
    log_in(page, live_server, "runner@example.com", PASSWORD)
    page.goto(f"{live_server}/me/cutoffs")
    assert "05:30" in page.inner_text("main")
    # The console on a phone: the diff page fits, with nothing wider than the screen.
    small = phone(device_scale_factor=2).new_page()
    small.clock.install(time=MOMENT)
    log_in(small, live_server, "organizer@example.com", PASSWORD)
    small.screenshot(path=str(out / "console-dashboard-phone.png"), full_page=True)
    console = f"/organizer/events/{SLUG}"
    # In Japanese too: the version's changes and the console read as Japanese race sites write.
    small.context.add_cookies([{"name": "lang", "value": "ja", "url": live_server}])
    small.goto(f"{live_server}{console}/race-file/versions/2")
    assert "のスタート：" in small.inner_text("main")
    (out / "ja").mkdir(exist_ok=True)
    small.goto(f"{live_server}{console}")
    small.screenshot(path=str(out / "ja" / "console-event.png"), full_page=True)
    for path in ("/organizer/", console, f"{console}/race-file", f"{console}/entries"):
        small.goto(live_server + path)
        width = small.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path} is {width} px wide"


def test_an_organizer_imports_the_entry_list_and_a_runner_claims_by_e_mail(
    live_server, phone, okushinano, make_user, make_organizer, frozen_clock, tmp_path
):
    out = out_folder(tmp_path)
    frozen_clock(MOMENT)
    make_organizer(okushinano)
    csv = tmp_path / "entries.csv"
    csv.write_bytes(ENTRIES.encode("cp932"))
    laptop = phone(viewport=LAPTOP, is_mobile=False, has_touch=False).new_page()
    laptop.clock.install(time=MOMENT)
    log_in(laptop, live_server, "organizer@example.com", PASSWORD)
    laptop.goto(f"{live_server}/organizer/events/{SLUG}/entries/import")
    laptop.set_input_files("input[name=file]", str(csv))
    laptop.click("main form button[type=submit]")
    laptop.wait_for_selector("text=Shift-JIS")
    assert "髙橋 花子" in laptop.inner_text("main")
    laptop.screenshot(path=str(out / "console-entry-import.png"), full_page=True)
    laptop.click("button[name=apply][value='1']")
    laptop.wait_for_url(f"{live_server}/organizer/events/{SLUG}/entries")
    assert "山田 太郎" in laptop.inner_text("main")
    laptop.screenshot(path=str(out / "console-entries.png"), full_page=True)
    # A runner whose confirmed address is on the list claims bib 1002 with one tap.
    taro = make_user("taro@example.com", name="Taro")
    taro.email_verified_at = MOMENT
    db.session.commit()
    page = phone(device_scale_factor=2).new_page()
    page.clock.install(time=MOMENT)
    log_in(page, live_server, "taro@example.com", PASSWORD)
    page.goto(f"{live_server}/events/{SLUG}/join")
    page.screenshot(path=str(out / "claim-entry.png"), full_page=True)
    page.click("text=This is me: bib 1002")
    page.wait_for_url(f"{live_server}/me")
    assert "#1002" in page.inner_text("main")
    db.session.expire_all()
    assert db.session.scalar(select(Entry.user_id).where(Entry.bib == "1002")) == taro.id
