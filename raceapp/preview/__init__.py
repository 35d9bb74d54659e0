"""Preview: the whole app as it will look at a chosen local moment of an event.

The moment shifts the clock (raceapp.clock) for every page of this browser session; nothing
is saved while it lasts (raceapp.web.guards).
"""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, flash, g, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from raceapp.errors import DomainError
from raceapp.i18n import format_when, format_zone, text_of
from raceapp.links import safe_local_url
from raceapp.services import accounts, catalog, timing
from raceapp.web import guards
from raceapp.web.error_pages import render_error

bp = Blueprint("preview", __name__)


@bp.before_app_request
def load_preview():
    """Shift the clock for this request when the user chose to preview a moment."""
    raw = session.get("preview_as_of")
    if raw and accounts.may_preview(current_user):
        g.preview_as_of = datetime.fromisoformat(raw)
        return guards.refuse_writes_in_preview()
    return None


@bp.post("/preview")
def start():
    """Show every page as it will look at a chosen local moment of an event."""
    if not accounts.may_preview(current_user):
        return render_error(403, _("Only organizers can preview."))
    try:
        event = catalog.event_by_slug(request.form.get("event", ""))
        instant = timing.parse_local(request.form.get("as_of"), event.time_zone)
    except DomainError as exc:
        return render_error(exc.status, exc.message)
    session["preview_as_of"] = instant.isoformat()
    session["preview_zone"] = event.time_zone
    local = instant.astimezone(timing.zone_of(event))
    flash(
        _(
            "Previewing %(race)s as of %(when)s (%(zone)s).",
            race=text_of(event),
            when=format_when(local, "full_day_time"),
            zone=format_zone(event.time_zone),
        )
    )
    return redirect(
        safe_local_url(request.form.get("next"), url_for("events.show", slug=event.slug))
    )


@bp.post("/preview/end")
def end():
    """Return to the real clock."""
    session.pop("preview_as_of", None)
    session.pop("preview_zone", None)
    flash(_("Back to the real time."))
    return redirect(url_for("site.home"))
