"""Headquarters' list of runners who stopped: when, where, how they get back; kept up to date
on the page, and each marked accounted for once someone knows where they are."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from jinja2_fragments.flask import render_block

from raceapp import clock
from raceapp.organizer import bp
from raceapp.organizer.common import event_for, permissions
from raceapp.services import course, drop_outs
from raceapp.vocabulary import EDIT_ENTRIES, GETTING_BACK, VIEW
from raceapp.web.http import is_htmx


@bp.get("/events/<slug>/drop-outs")
@login_required
def drop_outs_page(slug: str):
    """Every runner who reported they stopped, those to account for first; the list block is
    refreshed every 30 seconds while the page is open."""
    event, _role = event_for(slug, VIEW)
    rows = drop_outs.for_event(event)
    context = dict(
        event=event,
        rows=rows,
        # Where on the course each reported position lies (the category's track, if any).
        on_course={
            d.id: course.on_course(d.entry.category, d.latitude, d.longitude, d.accuracy_m)
            for d in rows
            if d.latitude is not None and d.longitude is not None
        },
        getting_back=GETTING_BACK,
        may=permissions(event),
    )
    if is_htmx():
        return render_block("organizer/drop_outs.html", "list", **context)
    return render_template("organizer/drop_outs.html", **context)


@bp.post("/events/<slug>/drop-outs/<int:drop_out_id>/accounted")
@login_required
def drop_out_accounted(slug: str, drop_out_id: int):
    """Headquarters knows where this runner is and how they get back."""
    event, _role = event_for(slug, EDIT_ENTRIES)
    drop_outs.account_for(event, current_user, drop_out_id, now=clock.real_utcnow())
    flash(_("Marked as accounted for."))
    return redirect(url_for("organizer.drop_outs_page", slug=slug), code=303)
