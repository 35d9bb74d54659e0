"""Public event and category pages: what a runner reads before entering."""
from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask_login import current_user
from sqlalchemy import select

from raceapp import clock
from raceapp.extensions import db
from raceapp.models import Category, Event
from raceapp.services import accounts, timing

bp = Blueprint("events", __name__, url_prefix="/events")


def get_event_or_404(slug: str) -> Event:
    event = db.session.scalar(select(Event).where(Event.slug == slug))
    if event is None:
        abort(404)
    return event


@bp.get("/")
def index():
    """Every event, newest first."""
    events = db.session.scalars(select(Event).order_by(Event.start_date.desc(), Event.name)).all()
    return render_template("events/index.html", events=events)


@bp.get("/<slug>")
def show(slug: str):
    """Event overview: categories, schedule, shuttles, rules, contacts."""
    event = get_event_or_404(slug)
    entry = accounts.entry_for(current_user, event) if current_user.is_authenticated else None
    return render_template("events/show.html", event=event, entry=entry,
                           is_organizer=accounts.is_organizer(current_user, event))


@bp.get("/<slug>/<code>")
def category(slug: str, code: str):
    """One category: start, limits, cut-off table and gear list."""
    event = get_event_or_404(slug)
    cat = db.session.scalar(
        select(Category).where(Category.event_id == event.id, Category.code == code)
    )
    if cat is None:
        abort(404)
    now = clock.utcnow()
    return render_template("events/category.html", event=event, category=cat,
                           rows=timing.cutoff_table(cat, now), phase=timing.race_phase(cat, now),
                           start=timing.effective_start(cat))
