"""Alerts: the runner's feed, and the organizer's desk for posting them and following delivery."""
from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from jinja2_fragments.flask import render_block
from sqlalchemy import select

from raceapp import clock
from raceapp.extensions import db
from raceapp.kit import conditional
from raceapp.models import ALERT_KINDS, Event
from raceapp.push import worker
from raceapp.push.vapid import vapid_for
from raceapp.services import alerts, subscriptions
from raceapp.services.alerts import KIND_LABELS, AlertDraft
from raceapp.services.errors import DomainError

bp = Blueprint("alerts", __name__)
bp.after_request(conditional)


@bp.get("/me/alerts")
@login_required
def feed():
    """The runner's alerts, newest first, unread ones marked."""
    return render_template("alerts/feed.html", items=alerts.feed(current_user),
                           devices=subscriptions.devices_of(current_user),
                           push_ready=vapid_for(current_app) is not None)


@bp.get("/me/alerts/<int:alert_id>")
@login_required
def show(alert_id: int):
    """One alert; opening it counts as reading it."""
    alert = alerts.mark_read(current_user, alert_id, now=clock.real_utcnow())
    return render_template("alerts/show.html", alert=alert)


@bp.post("/me/alerts/<int:alert_id>/read")
@login_required
def mark_read(alert_id: int):
    """Mark one alert read (htmx swaps the item in place)."""
    alert = alerts.mark_read(current_user, alert_id, now=clock.real_utcnow())
    if request.headers.get("HX-Request") == "true":
        return render_block("alerts/feed.html", "item",
                            item=alerts.FeedItem(alert, read=True))
    return redirect(url_for("alerts.feed") + f"#alert-{alert.id}", code=303)


@bp.post("/me/alerts/read")
@login_required
def mark_all_read():
    """Mark every alert read."""
    alerts.mark_all_read(current_user, now=clock.real_utcnow())
    return redirect(url_for("alerts.feed"), code=303)


# --- Organizers -----------------------------------------------------------------------------

def _organized_event(slug: str) -> Event:
    event = db.session.scalar(select(Event).where(Event.slug == slug))
    if event is None:
        abort(404)
    alerts.require_organizer(current_user, event)
    return event


def _draft_from_form() -> AlertDraft:
    raw_delay = request.form.get("delay_minutes", "").strip()
    try:
        delay = int(raw_delay) if raw_delay else None
    except ValueError:
        raise DomainError("Give the delay as a whole number of minutes.") from None
    return AlertDraft(kind=request.form.get("kind", ""), title=request.form.get("title", ""),
                      body=request.form.get("body", ""), link=request.form.get("link"),
                      category_code=request.form.get("category") or None,
                      delay_minutes=delay)


def _desk(event: Event, **context):
    return render_template("alerts/desk.html", event=event, kinds=ALERT_KINDS,
                           labels=KIND_LABELS, figures=alerts.event_alerts(current_user, event),
                           push_ready=vapid_for(current_app) is not None, **context)


@bp.get("/organizer/events/<slug>/alerts")
@login_required
def desk(slug: str):
    """Post an alert to the event or a category; every alert with its delivery figures."""
    return _desk(_organized_event(slug), form={})


@bp.post("/organizer/events/<slug>/alerts")
@login_required
def post(slug: str):
    """Publish an alert: it changes the race if its kind says so, and goes to every phone."""
    event = _organized_event(slug)
    try:
        if request.form.get("kind") == "cancellation" and request.form.get("confirm") != "1":
            raise DomainError("Cancelling the race needs the 'I confirm' box ticked.")
        alert = alerts.post_alert(current_user, event, _draft_from_form(),
                                  now=clock.real_utcnow())
    except DomainError as exc:
        return _desk(event, form=request.form, error=exc.message), exc.status
    worker.wake(current_app._get_current_object())
    flash(f"Alert posted to {alert.audience_count} runners ({alert.device_count} devices).")
    return redirect(url_for("alerts.figures", alert_id=alert.id), code=303)


@bp.get("/organizer/alerts/<int:alert_id>")
@login_required
def figures(alert_id: int):
    """Delivery figures of one alert and who has read it; polled while sending."""
    figures = alerts.alert_figures(current_user, alert_id)
    if request.headers.get("HX-Request") == "true":
        return render_block("alerts/figures.html", "figures", f=figures, labels=KIND_LABELS)
    return render_template("alerts/figures.html", f=figures, labels=KIND_LABELS)
