"""Staff mode at the bus door in real Chromium: a ticket's QR code read on the phone from a
photo or the live camera, with no signal, kept there, and sent when signal returns."""

from __future__ import annotations

import os
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import segno
from sqlalchemy import select

from raceapp.extensions import db
from raceapp.models import Booking, OrganizerRole
from raceapp.services import shuttles
from tests.browser.conftest import ARGS, CHROMIUM, PHONE
from tests.browser.helpers import CACHED_URLS, eventually, log_in
from tests.helpers import PASSWORD, departure

TOKYO = ZoneInfo("Asia/Tokyo")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def booked_with_staff(bus_event, runner_factory, make_user, hhmm: str):
    """A runner's seat on the departure at `hhmm`, and shuttle staff to board it."""
    bus = departure(bus_event, "station-to-start", hhmm)
    runner = runner_factory("aki@example.com")
    booking = shuttles.book(
        runner, bus.id, now=datetime(2026, 6, 19, 12, 0, tzinfo=TOKYO), idempotency_key=None
    )
    staff = make_user("staff@example.com")
    db.session.add(OrganizerRole(user_id=staff.id, event_id=bus_event.id, role="shuttle_staff"))
    db.session.commit()
    return bus, booking


def test_a_ticket_photographed_offline_boards_when_signal_returns(
    gunicorn, phone, bus_event, runner_factory, make_user, tmp_path
):
    five, booking = booked_with_staff(bus_event, runner_factory, make_user, "05:00")
    base = gunicorn.start().url
    # The ticket's QR code, photographed: the address of its check page.
    picture = tmp_path / "ticket.png"
    segno.make(f"{base}/shuttles/check/{booking.reference}", error="m").save(
        str(picture), scale=8, border=4
    )
    context = phone()
    page = context.new_page()
    log_in(page, base, "staff@example.com", PASSWORD)
    url = f"/organizer/departures/{five.id}/board"
    page.goto(base + url)
    eventually(page, f"async () => (await ({CACHED_URLS})()).includes('{url}')")
    context.set_offline(True)
    page.reload()
    before = datetime.now(TOKYO) - timedelta(milliseconds=100)
    page.set_input_files("[data-board-photo]", str(picture))
    page.wait_for_selector("#board-result:has-text('kept on this phone')")
    after = datetime.now(TOKYO) + timedelta(milliseconds=100)
    assert booking.reference in page.inner_text("#board-result")
    db.session.rollback()
    assert db.session.scalar(select(Booking.boarded_at)) is None
    # The same ticket again on this phone: said at once, still offline.
    page.set_input_files("[data-board-photo]", str(picture))
    page.wait_for_selector("#board-result:has-text('Already scanned on this phone')")
    time.sleep(1.5)
    context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    page.wait_for_selector("#board-result:has-text('On board')")
    db.session.rollback()
    boarded = db.session.scalar(select(Booking.boarded_at))
    # Boarded at the moment of the scan, not of the sync (at least 1.5 s later).
    assert boarded is not None and before <= boarded <= after
    assert "1 of 1 passenger on board." in page.inner_text("#board-result")
    if os.environ.get("RACEAPP_SCREENSHOTS") == "1":
        page.screenshot(path=str(SCREENSHOTS / "staff-mode.png"))
        page.goto(f"{base}/organizer/departures/{five.id}/manifest")
        page.screenshot(path=str(SCREENSHOTS / "manifest-phone.png"), full_page=True)


def _camera_file(path: Path, text: str, width: int = 640, height: int = 480) -> Path:
    """A camera's video (Y4M, one grey frame Chromium loops) of a ticket's QR code held up."""
    rows = list(segno.make(text, error="m").matrix_iter(scale=6, border=4))
    top, left = (height - len(rows)) // 2, (width - len(rows[0])) // 2
    luma = bytearray([235]) * (width * height)  # white paper
    for y, row in enumerate(rows):
        for x, dark in enumerate(row):
            if dark:
                luma[(top + y) * width + left + x] = 16
    chroma = bytes([128]) * (width * height // 4)
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        out.write(b"FRAME\n" + bytes(luma) + chroma + chroma)
    return path


def test_the_live_camera_boards_a_ticket_offline_then_syncs(
    browser, gunicorn, bus_event, runner_factory, make_user, tmp_path
):
    six, booking = booked_with_staff(bus_event, runner_factory, make_user, "06:00")
    base = gunicorn.start().url
    video = _camera_file(tmp_path / "camera.y4m", f"{base}/shuttles/check/{booking.reference}")
    # A phone whose camera sees the ticket: Chromium's stand-in camera plays the file.
    camera_browser = browser.browser_type.launch(
        executable_path=CHROMIUM,
        args=[
            *ARGS,
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ],
    )
    try:
        context = camera_browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
        context.grant_permissions(["camera"], origin=base)
        page = context.new_page()
        log_in(page, base, "staff@example.com", PASSWORD)
        url = f"/organizer/departures/{six.id}/board"
        page.goto(base + url)
        eventually(page, f"async () => (await ({CACHED_URLS})()).includes('{url}')")
        context.set_offline(True)
        page.reload()
        page.click("[data-board-camera]")
        page.wait_for_selector("#board-result:has-text('kept on this phone')", timeout=15000)
        assert booking.reference in page.inner_text("#board-result")
        assert page.get_attribute("[data-board-camera]", "aria-pressed") == "true"
        db.session.rollback()
        assert db.session.scalar(select(Booking.boarded_at)) is None
        context.set_offline(False)
        page.evaluate("window.dispatchEvent(new Event('online'))")
        page.wait_for_selector("#board-result:has-text('1 of 1 passenger on board.')")
        db.session.rollback()
        assert db.session.scalar(select(Booking.boarded_at)) is not None
        if os.environ.get("RACEAPP_SCREENSHOTS") == "1":
            page.screenshot(path=str(SCREENSHOTS / "staff-mode-camera.png"))
        page.click("[data-board-camera]")  # the camera goes off again
        assert page.is_hidden("[data-board-video]")
        # The manifest came onto the phone with staff mode: it opens with no signal.
        context.set_offline(True)
        page.goto(f"{base}/organizer/departures/{six.id}/manifest")
        assert booking.reference in page.inner_text("main")
        context.set_offline(False)
        context.close()
    finally:
        camera_browser.close()
