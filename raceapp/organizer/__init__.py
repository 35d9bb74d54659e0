"""The organizer's desk: their events as they stand, upcoming first, with what each needs."""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask_login import current_user, login_required

from raceapp import clock
from raceapp.services import accounts, catalog

bp = Blueprint("organizer", __name__, url_prefix="/organizer")


@bp.get("/")
@login_required
def dashboard():
    """Events this organizer runs, upcoming first, with a preview control for each."""
    if not accounts.is_organizer(current_user):
        abort(403)
    return render_template(
        "organizer/dashboard.html", events=catalog.organized(current_user, now=clock.utcnow())
    )
