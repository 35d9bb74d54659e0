"""The demo: a runner entered in the Okushinano 100 km and in its upcoming demo copy (next
weekend, with an illustrative course track), and an organizer of every race, for a first look at
a machine where `make run` just imported the seed races."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from flask_babel import gettext as _
from sqlalchemy import func, select

from raceapp.database import write_transaction
from raceapp.errors import DomainError, NotFound
from raceapp.extensions import db
from raceapp.models import Entry, Event, User
from raceapp.racefile.loader import check_file
from raceapp.services import accounts, catalog, demo_race, entry_import, race_import

DEMO_RUNNER = ("runner@example.com", "Demo Runner", "kijimadaira-trail-2024")
DEMO_ORGANIZER = ("organizer@example.com", "Demo Organizer", "race-committee-2024")
DEMO_EVENT, DEMO_CATEGORY, DEMO_BIB = "okushinano-100-2024", "100k", "1001"


DEMO_EMAILS = (DEMO_RUNNER[0], DEMO_ORGANIZER[0])


def accounts_present() -> list[str]:
    """The demo accounts this database holds (their passwords are in the README)."""
    return list(db.session.scalars(select(User.email).where(User.email.in_(DEMO_EMAILS))))


def production_problems() -> list[str]:
    """Why this database must not be served as a real race's app, in sentences (empty: fine).
    A deployment that is not the demo refuses to start while any is true."""
    problems = []
    present = accounts_present()
    if present:
        problems.append(
            "demo accounts with published passwords exist: "
            + ", ".join(present)
            + " (delete them, or run the demo with RACEAPP_DEMO=1)"
        )
    return problems


SEED_RACES = Path(__file__).resolve().parent.parent.parent / "races"


def import_upcoming(folder: Path, *, now: datetime) -> Event:
    """Write and import the demo copy of the demo race, moved to next weekend (again each
    time the weekend has passed)."""
    path = demo_race.write_demo(SEED_RACES / f"{DEMO_EVENT}.toml", folder, now.date())
    report = check_file(path)
    if not report.ok:
        raise DomainError(
            "The demo race file does not pass the check: " + "; ".join(report.lines())
        )
    race_import.import_reports([report], now=now)
    return catalog.event_by_slug(DEMO_EVENT + demo_race.DEMO_SUFFIX)


def set_up(*, now: datetime, folder: Path | None = None) -> None:
    """Create (or keep) the demo accounts and, given a folder to write it in, the upcoming demo
    race; run it as often as you like."""
    email, name, password = DEMO_RUNNER
    runner = db.session.scalar(select(User).where(User.email == email))
    if runner is None:
        runner = accounts.sign_up(email, name, password, now=now)
        # Its address counts as confirmed, so the demo shows alerts by e-mail (at /dev/mail).
        with write_transaction():
            runner.email_verified_at = now
    try:
        event = catalog.event_by_slug(DEMO_EVENT)
    except NotFound:
        raise NotFound(_("Import races/%(slug)s.toml first.", slug=DEMO_EVENT)) from None
    if accounts.entry_for(runner, event) is None:
        accounts.join_category(runner, event, DEMO_CATEGORY, DEMO_BIB, now=now)
    if folder is not None:
        upcoming = import_upcoming(folder, now=now)
        if accounts.entry_for(runner, upcoming) is None:
            accounts.join_category(runner, upcoming, DEMO_CATEGORY, DEMO_BIB, now=now)
    email, name, password = DEMO_ORGANIZER
    organizer = accounts.create_organizer(
        email, name, password, list(db.session.scalars(select(Event.slug))), now=now
    )
    _entry_list(event, organizer, now=now)


DEMO_ENTRIES = Path(__file__).resolve().parent.parent / "data" / "demo-entries.csv"


def _entry_list(event: Event, organizer: User, *, now: datetime) -> None:
    """The demo race's entry list, as a registration site would export it (made-up runners),
    so the console has entries to show, claim codes to print and a runner to claim one."""
    listed = db.session.scalar(
        select(func.count()).select_from(Entry).where(Entry.event_id == event.id)
    )
    if listed and listed > 1:  # imported already (the demo runner's own entry is the one)
        return
    table = entry_import.read_table(DEMO_ENTRIES.read_bytes(), DEMO_ENTRIES.name)
    plan = entry_import.check(event, table, entry_import.guess_mapping(table.headers))
    entry_import.apply(event, plan, organizer, filename=DEMO_ENTRIES.name, now=now)
