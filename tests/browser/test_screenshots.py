"""Screenshots of the kit at phone size, from the running app.

`make screenshots` (RACEAPP_SCREENSHOTS=1) writes them to docs/screenshots/; otherwise they go
to a temporary folder, so the suite checks they can be taken without touching the repository.
"""
from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.browser.conftest import log_in
from tests.conftest import PASSWORD

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PNG = b"\x89PNG\r\n\x1a\n"


def test_kit_screenshots(live_server, phone, okushinano, make_user, make_entry, frozen_clock,
                         tmp_path):
    out = DOCS if os.environ.get("RACEAPP_SCREENSHOTS") == "1" else tmp_path
    out.mkdir(parents=True, exist_ok=True)
    user = make_user("runner@example.com", name="Demo Runner")
    make_entry(user, okushinano, "100k", "1001")
    moment = datetime(2024, 6, 8, 11, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    frozen_clock(moment)
    page = phone(device_scale_factor=2).new_page()
    page.clock.install(time=moment)
    log_in(page, live_server, "runner@example.com", PASSWORD)
    page.goto(f"{live_server}/me/gear")
    for i in (0, 2, 4, 5):
        page.locator(".checklist .gear-row").nth(i).locator("button.tick").click()
        page.wait_for_function(f"document.querySelectorAll('.gear-row.packed').length > {[0, 2, 4, 5].index(i)}")
    shots = {"checklist": "/me/gear", "home": "/me", "cutoffs": "/me/cutoffs"}
    for name, path in shots.items():
        page.goto(f"{live_server}{path}")
        page.screenshot(path=str(out / f"{name}.png"))
    for name in shots:
        assert (out / f"{name}.png").read_bytes().startswith(PNG)
