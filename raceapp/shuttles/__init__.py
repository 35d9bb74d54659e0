"""Shuttle buses: timetable with live seats, booking, tickets with QR codes, waitlist, manifests."""

from __future__ import annotations

import secrets

from flask import (
    Blueprint,
    Response,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from jinja2_fragments.flask import render_block
from markupsafe import Markup

from raceapp import clock
from raceapp.errors import DomainError
from raceapp.i18n import LANGUAGES, NATIVE_NAMES, format_zone, text_of
from raceapp.models import Booking
from raceapp.services import catalog, race_state, shuttles, team, timing
from raceapp.vocabulary import ALERTS
from raceapp.web.http import is_htmx, private_page
from raceapp.web.qr import qr_svg
from raceapp.web.ratelimits import by_user, limited
from raceapp.web.security import allow_camera
from raceapp.web.senders import wake_senders
from raceapp.web.spreadsheet import csv_response

bp = Blueprint("shuttles", __name__)


def _timetable_context(event, message: str | None = None) -> dict:
    now = clock.utcnow()
    state = race_state.of_event(event, now)
    return dict(
        event=event,
        event_state=state,
        rows=shuttles.timetable(state, current_user, now),
        now=now,
        message=message,
        idempotency_key=secrets.token_urlsafe(16),
    )


@bp.get("/events/<slug>/shuttles")
def timetable(slug: str):
    """Departures by day and direction with seats left; polled by htmx to stay current."""
    context = _timetable_context(catalog.event_by_slug(slug))
    if is_htmx():
        response = Response(render_block("shuttles/timetable.html", "departures", **context))
    else:
        response = Response(render_template("shuttles/timetable.html", **context))
    return private_page(response)


@bp.post("/shuttles/departures/<int:departure_id>/book")
@limited("BOOKING", by_user, methods=["POST"])
@login_required
def book(departure_id: int):
    """Book one seat; a repeated submit of the same form returns the same booking."""
    try:
        booking = shuttles.book(
            current_user,
            departure_id,
            now=clock.real_utcnow(),
            idempotency_key=request.form.get("idempotency_key"),
        )
    except DomainError as exc:
        return _timetable_with_error(departure_id, exc)
    return redirect(url_for("shuttles.ticket", reference=booking.reference), code=303)


def _timetable_with_error(departure_id: int, exc: DomainError):
    """The departure's timetable again, with what went wrong above it."""
    try:
        departure = shuttles.find_departure(departure_id)
    except DomainError:
        raise exc from None
    return render_template(
        "shuttles/timetable.html", **_timetable_context(departure.route.event, exc.message)
    ), exc.status


@bp.post("/shuttles/tickets/<reference>/cancel")
@limited("BOOKING", by_user, methods=["POST"])
@login_required
def cancel(reference: str):
    """Give a seat back (until the route's cancellation cut-off)."""
    booking = shuttles.booking_for(current_user, reference)
    try:
        shuttles.cancel(current_user, reference, now=clock.real_utcnow())
    except DomainError as exc:
        return render_template(
            "shuttles/ticket.html", **_ticket_context(booking), message=exc.message
        ), exc.status
    flash(_("Seat %(reference)s cancelled.", reference=reference))
    return redirect(
        url_for("shuttles.timetable", slug=booking.departure.route.event.slug), code=303
    )


@bp.post("/shuttles/departures/<int:departure_id>/waitlist")
@limited("BOOKING", by_user, methods=["POST"])
@login_required
def join_waitlist(departure_id: int):
    """Queue for a full bus."""
    try:
        shuttles.join_waitlist(current_user, departure_id, now=clock.real_utcnow())
    except DomainError as exc:
        return _timetable_with_error(departure_id, exc)
    departure = shuttles.find_departure(departure_id)
    flash(_("You are on the waitlist. If a seat frees up, it is yours and you will be told."))
    return redirect(url_for("shuttles.timetable", slug=departure.route.event.slug), code=303)


@bp.post("/shuttles/departures/<int:departure_id>/waitlist/leave")
@limited("BOOKING", by_user, methods=["POST"])
@login_required
def leave_waitlist(departure_id: int):
    """Leave the queue of a bus."""
    departure = shuttles.find_departure(departure_id)
    shuttles.leave_waitlist(current_user, departure_id)
    flash(_("You left the waitlist."))
    return redirect(url_for("shuttles.timetable", slug=departure.route.event.slug), code=303)


def ticket_qr(booking: Booking) -> Markup:
    """The ticket's QR code: the address of the driver's check page for this booking."""
    return qr_svg(
        url_for("shuttles.check", reference=booking.reference, _external=True),
        _("Ticket QR code"),
    )


def _ticket_context(booking: Booking) -> dict:
    departure = booking.departure
    event = departure.route.event
    state = race_state.of_event(event, clock.utcnow())
    return dict(
        booking=booking,
        departure=departure,
        route=departure.route,
        event=event,
        event_state=state,
        runs=state.route_runs(departure.route),
        qr=ticket_qr(booking),
        deadline=shuttles.cancel_deadline(booking),
        now=clock.utcnow(),
    )


@bp.get("/shuttles/tickets/<reference>")
@login_required
def ticket(reference: str):
    """The runner's ticket: reference and QR code; made to be kept for offline use."""
    booking = shuttles.booking_for(current_user, reference)
    return private_page(
        Response(render_template("shuttles/ticket.html", **_ticket_context(booking)))
    )


@bp.get("/shuttles/check/<reference>")
@login_required
def check(reference: str):
    """What the driver sees after scanning a ticket: valid or not (organizers only)."""
    booking, entry = shuttles.ticket_check(current_user, reference)
    event = booking.departure.route.event
    return render_template(
        "shuttles/check.html",
        booking=booking,
        entry=entry,
        event=event,
        departure=booking.departure,
        route=booking.departure.route,
    )


@bp.get("/organizer/departures/<int:departure_id>/manifest")
@login_required
def manifest(departure_id: int):
    """Who is on this bus (organizers of the event only)."""
    departure = shuttles.organized_departure(current_user, departure_id)
    return render_template(
        "shuttles/manifest.html",
        departure=departure,
        route=departure.route,
        event=departure.route.event,
        rows=shuttles.manifest(departure),
        told=shuttles.told_passengers(departure),
        may_operate=team.may(current_user, departure.route.event, ALERTS),
        text_languages=sorted(LANGUAGES, key=lambda code: code != departure.route.event.language),
        native_names=NATIVE_NAMES,
        now=clock.utcnow(),
    )


def _notes() -> dict[str, str]:
    """The organizer's own words added to a bus alert, per language (`note_ja`, `note_en`)."""
    return {language: request.form.get(f"note_{language}", "")[:1000] for language in LANGUAGES}


@bp.post("/organizer/departures/<int:departure_id>/delay")
@login_required
def delay(departure_id: int):
    """Delay a departure (0: back on time); its passengers are alerted with the next buses."""
    raw = request.form.get("minutes", "").strip()
    if not raw.isdecimal() or len(raw) > 4:
        raise DomainError(_("Give the delay as a whole number of minutes."))
    alert = shuttles.delay_departure(
        current_user, departure_id, int(raw), _notes(), now=clock.real_utcnow()
    )
    wake_senders()
    flash(
        ngettext(
            "Delay announced to %(num)d passenger.",
            "Delay announced to %(num)d passengers.",
            alert.audience_count,
        )
    )
    return redirect(url_for("shuttles.manifest", departure_id=departure_id), code=303)


@bp.post("/organizer/departures/<int:departure_id>/cancel")
@login_required
def cancel_departure(departure_id: int):
    """Cancel a departure; its passengers are alerted with the next buses and their seats go."""
    if request.form.get("confirm") != "1":
        raise DomainError(_("Tick the box to confirm that this bus does not run."))
    alert = shuttles.cancel_departure(current_user, departure_id, _notes(), now=clock.real_utcnow())
    wake_senders()
    flash(
        ngettext(
            "Cancellation announced to %(num)d passenger.",
            "Cancellation announced to %(num)d passengers.",
            alert.audience_count,
        )
    )
    return redirect(url_for("shuttles.manifest", departure_id=departure_id), code=303)


@bp.route("/organizer/departures/<int:departure_id>/board", methods=["GET", "POST"])
@login_required
def board(departure_id: int):
    """Staff mode at the bus door: a ticket's code in, "on board" or why not out."""
    departure = shuttles.organized_departure(current_user, departure_id)
    event = departure.route.event
    context: dict[str, object] = dict(departure=departure, route=departure.route, event=event)
    status = 200
    if request.method == "POST":
        raw_at = request.form.get("scanned_at", "").strip()
        try:
            scanned_at = timing.parse_instant(raw_at) if raw_at else None
            context["boarding"] = shuttles.board(
                current_user,
                request.form.get("reference", "")[:20],
                departure.id,
                scanned_at=scanned_at,
                now=clock.real_utcnow(),
            )
        except DomainError as exc:
            context["refused"], status = exc.message, exc.status
    rows = shuttles.manifest(departure)
    context.update(on_board=sum(1 for b, _e in rows if b.boarded_at), booked=len(rows))
    if is_htmx():
        return render_block("shuttles/board.html", "result", **context), status
    return allow_camera(make_response(render_template("shuttles/board.html", **context), status))


@bp.get("/organizer/departures/<int:departure_id>/manifest.csv")
@login_required
def manifest_csv(departure_id: int):
    """The manifest as CSV, for printing or a spreadsheet (opens right in Excel)."""
    departure = shuttles.organized_departure(current_user, departure_id)
    event = departure.route.event
    header = [
        _("Reference"),
        _("Name"),
        _("Bib"),
        _("Category"),
        _("Phone"),
        _("Booked at (%(zone)s)", zone=format_zone(event.time_zone)),
    ]
    zone = timing.zone_of(event)
    rows = [
        [
            booking.reference,
            (entry.name if entry and entry.name else booking.user.name),
            entry.bib if entry else "",
            text_of(entry.category) if entry else _("supporter"),
            entry.phone if entry else "",
            booking.created_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
        ]
        for booking, entry in shuttles.manifest(departure)
    ]
    local = departure.departs_at.astimezone(timing.zone_of(event))
    name = f"{event.slug}-{departure.route.code}-{local:%Y%m%d-%H%M}.csv"
    return csv_response(name, header, rows)
