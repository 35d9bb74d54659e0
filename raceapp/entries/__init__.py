"""A runner's entry in a race: claim it from the organizer's list (by the verified e-mail it
was listed with, or by its claim code), follow a race open to everyone, or leave."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from raceapp import clock
from raceapp.errors import DomainError
from raceapp.i18n import text_of
from raceapp.services import accounts, catalog, claims, race_state, shuttles
from raceapp.web.ratelimits import by_user, limited

bp = Blueprint("entries", __name__)


def _page(event, *, error: str | None = None, status: int = 200, code: str = ""):
    state = race_state.of_event(event, clock.utcnow())
    offered = [c for c in state.categories if state.is_race and c.joinable]
    return (
        render_template(
            "entries/join.html",
            event=event,
            event_state=state,
            entry=accounts.entry_for(current_user, event),
            matches=claims.matching_entries(current_user, event),
            open_signup=bool((event.details or {}).get("open_signup")),
            offered=offered,
            error=error,
            code=code,
        ),
        status,
    )


@bp.get("/events/<slug>/join")
@login_required
def join(slug: str):
    """How to get into this race: the entry listed with the runner's e-mail, a claim code, or
    (where the race allows it) following it without a bib."""
    return _page(catalog.event_by_slug(slug))


def _joined(entry):
    if entry.bib:
        flash(_("You are in %(race)s, bib %(bib)s.", race=text_of(entry.event), bib=entry.bib))
    else:
        flash(_("You follow %(race)s.", race=text_of(entry.event)))
    return redirect(url_for("kit.home"))


@bp.post("/events/<slug>/join")
@limited("JOIN", by_user, methods=["POST"])
@login_required
def claim_code(slug: str):
    """Claim an entry with its code (tries are limited per account and per address)."""
    event = catalog.event_by_slug(slug)
    code = request.form.get("code", "")[:64]
    try:
        entry = claims.claim_by_code(current_user, event, code, now=clock.real_utcnow())
    except DomainError as exc:
        return _page(event, error=exc.message, status=exc.status, code=code)
    return _joined(entry)


@bp.post("/events/<slug>/join/email")
@login_required
def claim_email(slug: str):
    """Claim the entry the organizer listed with the runner's verified e-mail address."""
    event = catalog.event_by_slug(slug)
    entry_id = request.form.get("entry", "")
    if not entry_id.isdecimal() or len(entry_id) > 9:
        return _page(event, error=_("Choose your entry."), status=400)
    try:
        entry = claims.claim_by_email(current_user, event, int(entry_id), now=clock.real_utcnow())
    except DomainError as exc:
        return _page(event, error=exc.message, status=exc.status)
    return _joined(entry)


@bp.post("/events/<slug>/follow")
@login_required
def follow(slug: str):
    """Follow a race open to everyone, in a category, without a bib."""
    event = catalog.event_by_slug(slug)
    try:
        entry = claims.follow(
            current_user, event, request.form.get("category", ""), now=clock.real_utcnow()
        )
    except DomainError as exc:
        return _page(event, error=exc.message, status=exc.status)
    return _joined(entry)


@bp.post("/events/<slug>/leave")
@login_required
def leave(slug: str):
    """Leave this event (a listed entry goes back to the list)."""
    event = catalog.event_by_slug(slug)
    shuttles.leave_race(current_user, event, now=clock.real_utcnow())
    flash(_("You have left %(race)s.", race=text_of(event)))
    return redirect(url_for("events.show", slug=slug))
