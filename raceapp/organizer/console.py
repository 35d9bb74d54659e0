"""The dashboard (every race of the organizer, upcoming first) and one race's console."""

from __future__ import annotations

from flask import abort, render_template
from flask_login import current_user, login_required

from raceapp import clock
from raceapp.organizer import bp
from raceapp.organizer.common import event_for, permissions
from raceapp.services import accounts, audit, catalog, race_publish, race_state, team
from raceapp.services import dashboard as counts
from raceapp.vocabulary import VIEW


@bp.get("/")
@login_required
def dashboard():
    """Races this organizer runs, upcoming first, each with its state and figures."""
    if not accounts.is_organizer(current_user):
        abort(403)
    events = catalog.organized(current_user, now=clock.utcnow())
    every = [s.event for s in events.upcoming + events.past]
    return render_template(
        "organizer/dashboard.html",
        events=events,
        figures=counts.figures_for(every),
        roles={e.id: team.permissions(current_user, e) for e in every},
    )


@bp.get("/events/<slug>")
@login_required
def event_page(slug: str):
    """One race's console: figures per category, the published versions, the latest log."""
    event, role = event_for(slug, VIEW)
    return render_template(
        "organizer/event.html",
        event=event,
        role=role,
        may=permissions(event),
        event_state=race_state.of_event(event, clock.utcnow()),
        figures=counts.figures(event),
        versions=race_publish.versions(event)[:5],
        log=audit.latest(event, limit=10),
        sentence=audit.sentence,
    )


@bp.get("/events/<slug>/log")
@login_required
def log_page(slug: str):
    """Every change made on the console for this race: who, when, what."""
    event, role = event_for(slug, VIEW)
    return render_template(
        "organizer/log.html", event=event, log=audit.latest(event), sentence=audit.sentence
    )
