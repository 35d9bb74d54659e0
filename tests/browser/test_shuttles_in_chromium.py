"""Booking a shuttle seat in a real browser at phone size."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from raceapp.extensions import db
from raceapp.models import Event
from tests.browser.helpers import log_in
from tests.helpers import PASSWORD, import_files

DATA = Path(__file__).resolve().parents[1] / "data"


def test_book_a_seat_and_see_the_ticket(
    live_server, phone, app, make_user, make_entry, frozen_clock, tmp_path
):
    frozen_clock(datetime(2026, 6, 19, 12, 0, tzinfo=ZoneInfo("Asia/Tokyo")))
    import_files(DATA / "shuttle-race.toml")
    event = db.session.scalar(select(Event).where(Event.slug == "bus-test"))
    make_entry(make_user("aki@example.com"), event, "50k", "77")
    page = phone().new_page()
    log_in(page, live_server, "aki@example.com", PASSWORD)
    page.goto(f"{live_server}/events/bus-test/shuttles")
    first = page.locator(".departure").first
    assert "2 seats left" in first.inner_text()
    first.locator("button:has-text('Book a seat')").click()
    page.wait_for_url("**/shuttles/tickets/*")
    assert page.locator(".ticket .qr svg").is_visible()
    reference = page.inner_text(".ticket-ref")
    assert len(reference) == 7
    page.screenshot(path=str(tmp_path / "ticket.png"))
    if os.environ.get("RACEAPP_SCREENSHOTS") == "1":
        page.screenshot(
            path=str(Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "ticket.png")
        )
    page.goto(f"{live_server}/events/bus-test/shuttles")
    assert "1 seat left" in page.locator(".departure").first.inner_text()
    assert reference in page.locator(".departure").first.inner_text()
