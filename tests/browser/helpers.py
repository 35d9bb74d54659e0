"""Helpers the browser tests share: log in through the form, wait for an async condition,
and the first visit that caches the whole kit."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import select

from raceapp.extensions import db
from raceapp.models import ShuttleDeparture
from tests.helpers import DATA, PASSWORD, ROOT

CACHED_URLS = """async () => {
  const cache = await caches.open('raceapp-pages');
  return (await cache.keys()).map(r => new URL(r.url).pathname);
}"""


def log_in(page, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/auth/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("main form button[type=submit]")
    # A runner lands on their kit, an organizer who runs no race on the console.
    page.wait_for_url(lambda url: url in (f"{base}/me", f"{base}/organizer/"))


def eventually(page, script: str, timeout: float = 15) -> None:
    """Poll an async script in the page until it returns true (wait_for_function takes a
    returned promise for a true value)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(script):
        assert time.monotonic() < deadline, f"timed out waiting for {script}"
        time.sleep(0.1)


def visit_kit_online(page, base: str, race) -> None:
    log_in(page, base, "aki@example.com", PASSWORD)
    expected = {
        "/me",
        "/me/gear",
        "/me/schedule",
        "/me/cutoffs",
        "/me/help",
        "/me/alerts",
        "/api/kit",
        f"/shuttles/tickets/{race['booking'].reference}",
        f"/me/alerts/{race['alert'].id}",
    }
    eventually(
        page,
        f"""async () => {{
      const cached = await ({CACHED_URLS})();
      return {sorted(expected)!r}.every(u => cached.includes(u));
    }}""",
    )


def branded_file(folder: Path, colour: str) -> Path:
    """The Okushinano race file with its own colour and logo."""
    logo = (DATA / "logo.svg").read_text().strip()
    text = (ROOT / "races" / "okushinano-100-2024.toml").read_text()
    text = text.replace("[event]\n", f"[event]\ncolour = \"{colour}\"\nlogo = '''{logo}'''\n", 1)
    path = folder / "okushinano-100-2024.toml"
    path.write_text(text)
    return path


def first_departure_after(moment) -> ShuttleDeparture:
    """The first shuttle bus leaving after `moment` (a seat to book for a ticket)."""
    return db.session.scalars(
        select(ShuttleDeparture)
        .where(ShuttleDeparture.departs_at > moment)
        .order_by(ShuttleDeparture.departs_at)
    ).first()
