"""The organizer's desk: their events, and previewing the app at a chosen moment."""
from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask_login import current_user, login_required
from sqlalchemy import select

from raceapp import clock
from raceapp.extensions import db
from raceapp.models import Event, OrganizerRole
from raceapp.services import accounts

bp = Blueprint("organizer", __name__, url_prefix="/organizer")


@bp.get("/")
@login_required
def dashboard():
    """Events this organizer runs, with a preview control for each."""
    if not accounts.is_organizer(current_user):
        abort(403)
    events = db.session.scalars(
        select(Event).join(OrganizerRole, OrganizerRole.event_id == Event.id)
        .where(OrganizerRole.user_id == current_user.id).order_by(Event.start_date)
    ).all()
    return render_template("organizer/dashboard.html", events=events, now=clock.utcnow())
