"""Public event and category pages: what a runner reads before entering, as the race stands."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from raceapp import clock
from raceapp.services import accounts, catalog, race_state
from raceapp.web.http import private_page

bp = Blueprint("events", __name__, url_prefix="/events")
# Pages for a logged-in runner say which category they are in: never shared between people.
bp.after_request(private_page)


@bp.get("/")
def index():
    """Every race: those to come first, soonest first; then past races."""
    return render_template("events/index.html", catalog=catalog.events(clock.utcnow()))


@bp.get("/<slug>")
def show(slug: str):
    """Event overview: state, categories, schedule, shuttles, rules, contacts."""
    event = catalog.event_by_slug(slug)
    entry = accounts.entry_for(current_user, event) if current_user.is_authenticated else None
    return render_template(
        "events/show.html",
        event=event,
        entry=entry,
        event_state=race_state.of_event(event, clock.utcnow()),
        is_organizer=accounts.is_organizer(current_user, event),
    )


@bp.get("/<slug>/<code>")
def category(slug: str, code: str):
    """One category as it stands: state, start, cut-off table and gear list."""
    event = catalog.event_by_slug(slug)
    category = catalog.category_by_code(event, code)
    event_state = race_state.of_event(event, clock.utcnow())
    return render_template(
        "events/category.html",
        event=event,
        category=category,
        event_state=event_state,
        state=event_state.category(category.code),
    )
