"""A runner's entry in a race: join a category with a bib, switch category, or leave."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length

from raceapp import clock
from raceapp.errors import DomainError
from raceapp.i18n import text_of
from raceapp.services import accounts, catalog, race_state, shuttles
from raceapp.web.ratelimits import by_user, limited

bp = Blueprint("entries", __name__)


class JoinForm(FlaskForm):
    category = SelectField(
        _l("Category"),
        validate_choice=False,
        validators=[DataRequired(message=_l("Choose one of the categories offered."))],
    )
    bib = StringField(
        _l("Bib number"),
        validators=[DataRequired(message=_l("Enter your bib number.")), Length(max=12)],
    )


@bp.route("/events/<slug>/join", methods=["GET", "POST"])
@limited("JOIN", by_user, methods=["POST"])
@login_required
def join(slug: str):
    """Enter a category of this event (or switch to another) with a bib number; cancelled
    and finished categories are not offered."""
    event = catalog.event_by_slug(slug)
    entry = accounts.entry_for(current_user, event)
    state = race_state.of_event(event, clock.utcnow())
    offered = [c for c in state.categories if state.is_race and c.joinable]
    form = JoinForm()
    form.category.choices = [(c.code, text_of(c.category)) for c in offered]
    context = dict(event=event, form=form, entry=entry, offered=offered, event_state=state)
    if request.method == "GET":
        if entry is not None:
            form.category.data = entry.category.code
            form.bib.data = entry.bib
        else:
            form.category.data = request.args.get("category")
        return render_template("entries/join.html", **context)
    valid = form.validate()
    if valid and form.category.data not in {c.code for c in offered}:
        form.category.errors.append(_("Choose one of the categories offered."))
        valid = False
    if not valid:
        return render_template("entries/join.html", **context), 400
    try:
        accounts.join_category(
            current_user, event, form.category.data, form.bib.data, now=clock.real_utcnow()
        )
    except DomainError as exc:
        form.form_errors.append(exc.message)
        return render_template("entries/join.html", **context), exc.status
    flash(_("You are in %(race)s, bib %(bib)s.", race=text_of(event), bib=form.bib.data.strip()))
    return redirect(url_for("kit.home"))


@bp.post("/events/<slug>/leave")
@login_required
def leave(slug: str):
    """Withdraw from this event."""
    event = catalog.event_by_slug(slug)
    shuttles.leave_race(current_user, event, now=clock.real_utcnow())
    flash(_("You have left %(race)s.", race=text_of(event)))
    return redirect(url_for("events.show", slug=slug))
