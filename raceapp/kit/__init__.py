"""The runner's race kit: home, gear checklist, schedule, cut-offs with pace, and the kit as JSON."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from functools import wraps

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required
from itsdangerous import BadSignature, URLSafeSerializer
from jinja2_fragments.flask import render_block, render_blocks

from raceapp import clock
from raceapp.extensions import db
from raceapp.models import Entry
from raceapp.push.vapid import vapid_for
from raceapp.services import accounts, alerts, gear, kit, pace, schedule, shuttles, timing
from raceapp.services.errors import DomainError
from raceapp.shuttles import ticket_qr
from raceapp.web import assets

bp = Blueprint("kit", __name__)


@bp.after_request
def conditional(response: Response) -> Response:
    """Kit pages revalidate: an ETag of the body, 304 when the phone already has it."""
    response.vary.add("HX-Request")
    response.vary.add("Cookie")
    if request.method == "GET" and response.status_code == 200 and not response.is_streamed:
        response.headers["Cache-Control"] = "private, no-cache"
        if response.get_etag()[0] is not None:  # the view made a cheaper one (kit home)
            return response.make_conditional(request)
        body = response.get_data()
        # The signed CSRF token carries a timestamp, so it differs every second; any copy of it
        # stays valid for the session, so it must not make an unchanged page look changed.
        token = g.get("csrf_token")
        if token:
            body = body.replace(token.encode(), b"")
        response.set_etag(hashlib.sha256(body).hexdigest()[:32])
        response.make_conditional(request)
    return response


def entry_required(view):
    """Log-in required, and an entry: the view gets it first. Without one, pages lead to the
    join prompt and changes answer 409."""

    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        entry = accounts.current_entry(current_user)
        if entry is None:
            if request.method == "GET":
                return redirect(url_for("kit.home"))
            abort(409)
        return view(entry, *args, **kwargs)
    return wrapper


def _made_at() -> datetime | None:
    """When the runner ticked, on their phone (sent by an offline queue); None for 'now'."""
    raw = request.form.get("made_at", "").strip()
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise DomainError("made_at must be an ISO 8601 date-time with an offset.") from None
    if value.tzinfo is None:
        raise DomainError("made_at must include its UTC offset.")
    return value.astimezone(timezone.utc)


def _packed() -> bool:
    value = request.form.get("packed")
    if value not in ("0", "1"):
        raise DomainError("Say packed=1 or packed=0.")
    return value == "1"


def _home_etag() -> str | None:
    """A validator for the kit home made without making the page: the runner's fingerprint
    (services.kit.home_fingerprint), the minute (cut-offs and countdowns move with time), the
    device's session and the deployed build. None when the page must be made anyway."""
    if g.get("preview_as_of") is not None or session.get("_flashes"):
        return None
    fingerprint = kit.home_fingerprint(current_user)
    if fingerprint is None:
        return None
    salt = current_app.extensions.get("kit_home_salt")
    if salt is None:
        vapid = vapid_for(current_app)
        salt = current_app.extensions["kit_home_salt"] = json.dumps([
            current_app.config.get("RACEAPP_RELEASE", ""), assets.shell_urls(),
            vapid.application_server_key if vapid else None])
    parts = (salt, clock.utcnow().strftime("%Y-%m-%dT%H:%M"), current_user.session_token,
             request.headers.get("HX-Request"), fingerprint)
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:32]


@bp.get("/me")
@login_required
def home():
    """Race kit home: status, next cut-off with countdown, gear readiness, contacts."""
    # Phones revalidate the kit home every time it opens: most of the time nothing changed,
    # and one query says so without making the page.
    etag = _home_etag()
    if etag and request.if_none_match.contains_weak(etag):
        response = Response(status=304)
        response.set_etag(etag, weak=True)
        response.headers["Cache-Control"] = "private, no-cache"
        return response
    entry = accounts.current_entry(current_user)
    if entry is None:
        return render_template("kit/home.html", entry=None)
    now = clock.utcnow()
    category = entry.category
    rows = timing.cutoff_table(category, now)
    booking = shuttles.next_booking(current_user, clock.real_utcnow())
    kit_alerts = alerts.for_kit(current_user, entry)
    response = make_response(render_template(
        "kit/home.html", ticket_qr=ticket_qr(booking) if booking else None, entry=entry,
        event=entry.event, category=category,
        next_row=next((r for r in rows if r.state == "next"), None),
        phase=timing.race_phase(category, now), start=timing.effective_start(category),
        finish=timing.finish_instant(category), checklist=gear.checklist(entry), now=now,
        booking=booking,
        notices=shuttles.unread_notices(current_user),
        unread_count=kit_alerts.unread_count, unread_alerts=kit_alerts.unread,
        race_change=kit_alerts.race_change,
        kit_urls=_kit_urls(entry, booking, kit_alerts.feed),
        known_alerts=[i.alert.id for i in kit_alerts.feed[:50]],
    ))
    if etag:
        response.set_etag(etag, weak=True)
    return response


@bp.get("/me/gear")
@entry_required
def checklist(entry: Entry):
    """The gear checklist of the runner's category, ticked one by one."""
    return render_template("kit/gear.html", entry=entry, event=entry.event,
                           checklist=gear.checklist(entry))


def _after_tick(entry: Entry, anchor: str):
    if request.headers.get("HX-Request") != "true":
        return redirect(url_for("kit.checklist") + f"#{anchor}", code=303)
    checks = gear.checklist(entry)
    row = next((r for r in checks.mandatory + checks.recommended
                if f"item-{r.item.id}" == anchor), None)
    row = row or next((p for p in checks.personal if f"own-{p.id}" == anchor), None)
    return render_blocks("kit/gear.html", ["item", "progress_oob"], entry=entry,
                         event=entry.event, checklist=checks, row=row)


@bp.post("/me/gear/<int:item_id>")
@entry_required
def tick(entry: Entry, item_id: int):
    """Mark one item packed or not packed."""
    gear.tick(entry, item_id, _packed(), now=clock.real_utcnow(), made_at=_made_at())
    return _after_tick(entry, f"item-{item_id}")


@bp.post("/me/gear/own")
@entry_required
def add_own(entry: Entry):
    """Add an item of the runner's own."""
    try:
        gear.add_personal(entry, request.form.get("name", ""), now=clock.real_utcnow())
    except DomainError as exc:
        context = dict(entry=entry, event=entry.event, checklist=gear.checklist(entry),
                       own_error=exc.message)
        if request.headers.get("HX-Request") == "true":
            # 422: htmx is configured to swap it, so the message shows under the field.
            return render_block("kit/gear.html", "personal", **context), 422
        return render_template("kit/gear.html", **context), exc.status
    return _after_own_change(entry)


def _after_own_change(entry: Entry):
    if request.headers.get("HX-Request") == "true":
        return render_blocks("kit/gear.html", ["personal", "progress_oob"], entry=entry,
                             event=entry.event, checklist=gear.checklist(entry))
    return redirect(url_for("kit.checklist") + "#own", code=303)


@bp.post("/me/gear/own/<int:item_id>")
@entry_required
def tick_own(entry: Entry, item_id: int):
    """Mark one of the runner's own items packed or not."""
    gear.tick_personal(entry, item_id, _packed(), now=clock.real_utcnow(), made_at=_made_at())
    return _after_tick(entry, f"own-{item_id}")


@bp.post("/me/gear/own/<int:item_id>/delete")
@entry_required
def delete_own(entry: Entry, item_id: int):
    """Remove one of the runner's own items."""
    gear.remove_personal(entry, item_id)
    return _after_own_change(entry)


def _calendar_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt="calendar")


@bp.get("/me/schedule")
@entry_required
def schedule_page(entry: Entry):
    """The weekend's schedule for the runner's category, by day, with now and next."""
    now = clock.utcnow()
    token = _calendar_serializer().dumps(entry.id)
    return render_template("kit/schedule.html", entry=entry, event=entry.event,
                           days=schedule.days(entry.event, entry.category.code, now),
                           subscribe_url=url_for("kit.calendar_feed", token=token, _external=True))


def _ics_response(entry: Entry) -> Response:
    body = schedule.to_ics(entry.event, entry.category.code, now=clock.real_utcnow())
    response = Response(body, mimetype="text/calendar")
    response.headers.set("Content-Disposition", "attachment", filename=f"{entry.event.slug}.ics")
    return response


@bp.get("/me/schedule.ics")
@entry_required
def schedule_ics(entry: Entry):
    """The runner's schedule as an iCalendar file to import."""
    return _ics_response(entry)


@bp.get("/calendar/<token>.ics")
def calendar_feed(token: str):
    """The same file at a secret address a calendar app can subscribe to (no cookies there)."""
    try:
        entry_id = _calendar_serializer().loads(token)
    except BadSignature:
        abort(404)
    entry = db.session.get(Entry, entry_id) if isinstance(entry_id, int) else None
    if entry is None:
        abort(404)
    return _ics_response(entry)


@bp.get("/me/cutoffs")
@entry_required
def cutoffs(entry: Entry):
    """Cut-off table with states at the current time, countdown, and the pace helper."""
    now = clock.utcnow()
    category = entry.category
    rows = timing.cutoff_table(category, now)
    context = dict(entry=entry, event=entry.event, category=category, rows=rows, now=now,
                   next_row=next((r for r in rows if r.state == "next"), None),
                   phase=timing.race_phase(category, now),
                   start=timing.effective_start(category),
                   comfortable=pace.COMFORTABLE_AT_LEAST, out_of_reach=pace.OUT_OF_REACH_BELOW)
    context.update(_pace_context(category, now))
    context["pace_data"] = _pace_data(entry, rows)
    status = 400 if context.get("pace_error") else 200
    if request.headers.get("HX-Request") == "true" and request.args:
        return render_block("kit/cutoffs.html", "pace", **context), status
    return render_template("kit/cutoffs.html", **context), status


def _pace_data(entry: Entry, rows) -> dict:
    """What static/pace.js needs to work out the same plan offline."""
    day_time = current_app.jinja_env.filters["day_time"]
    start = timing.effective_start(entry.category)
    return {
        "distance_km": entry.category.distance_km,
        "start": start.isoformat() if start else None,
        "comfortable": pace.COMFORTABLE_AT_LEAST, "out_of_reach": pace.OUT_OF_REACH_BELOW,
        "checkpoints": [{"id": r.checkpoint.id, "name": r.checkpoint.name, "km": r.checkpoint.km,
                         "cutoff": r.at.isoformat() if r.at else None,
                         "cutoff_label": day_time(r.at, entry.event) if r.at else ""}
                        for r in rows],
    }


def _kit_urls(entry: Entry, booking, feed) -> list[str]:
    """Every page of the runner's kit, for the service worker to keep for offline use."""
    urls = [url_for("kit.home"), url_for("kit.checklist"), url_for("kit.schedule_page"),
            url_for("kit.cutoffs"), url_for("alerts.feed"), url_for("kit.api_kit"),
            url_for("events.show", slug=entry.event.slug)]
    if entry.event.shuttle_routes:
        urls.append(url_for("shuttles.timetable", slug=entry.event.slug))
    if booking:
        urls.append(url_for("shuttles.ticket", reference=booking.reference))
    urls += [url_for("alerts.show", alert_id=item.alert.id) for item in feed[:20]]
    return urls


def _pace_context(category, now) -> dict:
    raw_km = request.args.get("km", "").strip()
    raw_cp = request.args.get("checkpoint", "").strip()
    if not raw_km and not raw_cp:
        return {}
    try:
        if raw_cp == "start" and not raw_km:
            at_km = 0.0
        elif raw_km:
            at_km = float(raw_km.replace(",", "."))
            if at_km != at_km or at_km in (float("inf"), float("-inf")):
                raise ValueError
        else:
            at_km = next(cp.km for cp in category.checkpoints if str(cp.id) == raw_cp)
    except (ValueError, StopIteration):
        return {"pace_error": "Give your position as a number of km, e.g. 61 or 61.5.",
                "at_km": raw_km}
    try:
        return {"pace_rows": pace.plan(category, at_km, now), "at_km": at_km}
    except DomainError as exc:
        return {"pace_error": exc.message, "at_km": raw_km}


@bp.get("/api/kit")
@login_required
def api_kit():
    """The runner's whole kit as JSON, for offline use; answers 304 when unchanged."""
    entry = accounts.current_entry(current_user)
    if entry is None:
        return {"error": "Join a race category first."}, 409
    body = json.dumps(kit.kit(entry), ensure_ascii=False, sort_keys=True)
    return Response(body, mimetype="application/json")
