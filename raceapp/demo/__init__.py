"""Demo accounts for a first look: `flask demo setup` (idempotent)."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Blueprint, current_app

from raceapp import clock
from raceapp.errors import DomainError
from raceapp.services import demo

bp = Blueprint("demo", __name__, cli_group="demo")


@bp.cli.command("setup")
def setup_command() -> None:
    """Create the demo runner (in the Okushinano 100 km and its demo copy next weekend) and an
    organizer of every event."""
    if current_app.config["ENV_NAME"] == "production" and not current_app.config["RACEAPP_DEMO"]:
        raise click.ClickException(
            "Demo accounts have published passwords: not in production (set RACEAPP_DEMO=1 "
            "for the local demo)."
        )
    try:
        demo.set_up(now=clock.real_utcnow(), folder=Path(current_app.instance_path) / "demo")
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(
        f"demo runner {demo.DEMO_RUNNER[0]} / {demo.DEMO_RUNNER[2]}; "
        f"demo organizer {demo.DEMO_ORGANIZER[0]} / {demo.DEMO_ORGANIZER[2]}"
    )
