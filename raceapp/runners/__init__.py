"""A runner's own race: join a category with a bib, switch, or leave."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length

from raceapp import clock
from raceapp.events import get_event_or_404
from raceapp.services import accounts
from raceapp.services.errors import DomainError

bp = Blueprint("runners", __name__)


class JoinForm(FlaskForm):
    category = SelectField("Category", validators=[DataRequired()], validate_choice=False)
    bib = StringField("Bib number", validators=[DataRequired(), Length(max=12)])


@bp.route("/events/<slug>/join", methods=["GET", "POST"])
@login_required
def join(slug: str):
    """Enter a category of this event (or switch to another) with a bib number."""
    event = get_event_or_404(slug)
    entry = accounts.entry_for(current_user, event)
    form = JoinForm()
    form.category.choices = [(c.code, c.name) for c in event.categories]
    if request.method == "GET":
        if entry is not None:
            form.category.data = entry.category.code
            form.bib.data = entry.bib
        else:
            form.category.data = request.args.get("category")
        return render_template("runners/join.html", event=event, form=form, entry=entry)
    if not form.validate():
        return render_template("runners/join.html", event=event, form=form, entry=entry), 400
    try:
        accounts.join_category(current_user, event, form.category.data, form.bib.data,
                               now=clock.real_utcnow())
    except DomainError as exc:
        form.form_errors.append(exc.message)
        return render_template("runners/join.html", event=event, form=form,
                               entry=entry), exc.status
    flash(f"You are in {event.name}, bib {form.bib.data.strip()}.")
    return redirect(url_for("kit.home"))


@bp.post("/events/<slug>/leave")
@login_required
def leave(slug: str):
    """Withdraw from this event."""
    event = get_event_or_404(slug)
    accounts.leave_event(current_user, event)
    flash(f"You have left {event.name}.")
    return redirect(url_for("events.show", slug=slug))
