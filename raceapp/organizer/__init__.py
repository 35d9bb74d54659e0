"""The organizer's console: their races at a glance, race files published from the browser,
the entry list, the team and the log. Each page checks the caller's role in that race's team
(vocabulary.ROLE_PERMISSIONS); the rules live in raceapp/services."""

from __future__ import annotations

from flask import Blueprint, g

from raceapp.web.http import never_stored

bp = Blueprint("organizer", __name__, url_prefix="/organizer")
# Entry lists hold e-mails and phones, claim-code sheets are secrets: no copy stays on the
# device (a member removed from the team keeps nothing).
bp.after_request(never_stored)


@bp.context_processor
def _permissions() -> dict:
    # The console's tabs show only what the role allows (set by common.event_for).
    return {"may": g.get("console_may", set())}


# The views register themselves on the blueprint.
from raceapp.organizer import console, drop_out_pages, entry_pages, race_files, team_pages  # noqa: E402,F401
