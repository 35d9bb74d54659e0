"""Demo accounts for a first look: `flask demo setup` (idempotent)."""
from __future__ import annotations

import click
from flask import Blueprint
from sqlalchemy import select

from raceapp import clock
from raceapp.extensions import db
from raceapp.models import Event, User
from raceapp.services import accounts

bp = Blueprint("demo", __name__, cli_group="demo")

DEMO_RUNNER = ("runner@example.com", "Demo Runner", "trail-runner-2024")
DEMO_ORGANIZER = ("organizer@example.com", "Demo Organizer", "race-committee-2024")
DEMO_EVENT, DEMO_CATEGORY, DEMO_BIB = "okushinano-100-2024", "100k", "1001"


@bp.cli.command("setup")
def setup_command() -> None:
    """Create the demo runner (in the Okushinano 100 km) and an organizer of every event."""
    now = clock.real_utcnow()
    email, name, password = DEMO_RUNNER
    runner = db.session.scalar(select(User).where(User.email == email))
    if runner is None:
        runner = accounts.sign_up(email, name, password, now=now)
    event = db.session.scalar(select(Event).where(Event.slug == DEMO_EVENT))
    if event is None:
        raise click.ClickException(f"import races/{DEMO_EVENT}.toml first")
    if accounts.entry_for(runner, event) is None:
        accounts.join_category(runner, event, DEMO_CATEGORY, DEMO_BIB, now=now)
    slugs = list(db.session.scalars(select(Event.slug)))
    email, name, password = DEMO_ORGANIZER
    accounts.create_organizer(email, name, password, slugs, now=now)
    click.echo(f"demo runner {DEMO_RUNNER[0]} / {DEMO_RUNNER[2]}; "
               f"demo organizer {DEMO_ORGANIZER[0]} / {DEMO_ORGANIZER[2]}")
