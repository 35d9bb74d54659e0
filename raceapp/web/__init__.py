"""Site-wide pages and helpers: home, health check, "preview as of", template filters."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user
from sqlalchemy import select

from raceapp import PROJECT_ROOT, clock
from raceapp.web import assets
from raceapp.extensions import db
from raceapp.models import Event
from raceapp.push.vapid import vapid_for
from raceapp.services import accounts, pace, timing
from raceapp.services.alerts import KIND_LABELS

bp = Blueprint("web", __name__)


@bp.before_app_request
def reject_nul_bytes():
    """No text field may hold NUL: PostgreSQL cannot store it and no human types it."""
    values = [*request.args.values(), *request.path.split("/")]
    if request.method == "POST" and request.mimetype in (
            "application/x-www-form-urlencoded", "multipart/form-data"):
        values += [*request.form.values(), *request.form.keys()]
    if any("\x00" in value for value in values):
        return render_template("errors/error.html", status=400,
                               message="The request contains characters that are not allowed."), 400
    return None


@bp.before_app_request
def load_preview() -> None:
    """Shift the clock for this request when the user chose to preview a moment."""
    raw = session.get("preview_as_of")
    if raw and accounts.may_preview(current_user):
        g.preview_as_of = datetime.fromisoformat(raw)


@bp.get("/")
def home():
    """Landing page: the runner's race first, then every event."""
    events = db.session.scalars(select(Event).order_by(Event.start_date.desc(), Event.name)).all()
    entry = accounts.current_entry(current_user)
    return render_template("home.html", events=events, entry=entry)


@bp.get("/sw.js")
def service_worker():
    """The service worker, served from the root so that it controls every page."""
    template = (PROJECT_ROOT / "service_worker" / "sw.js").read_text()
    response = Response(assets.service_worker_source(template), mimetype="text/javascript")
    # Always revalidated, so a deploy reaches phones on their next visit.
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = "/"
    # Browsers check for a new worker on every visit: unchanged, that costs a 304.
    response.add_etag()
    return response.make_conditional(request)


@bp.get("/manifest.webmanifest")
def manifest():
    """The web app manifest: install to the home screen, open on the race kit."""
    icon = lambda name, size, purpose="any": {  # noqa: E731
        "src": url_for("static", filename=f"icons/{name}"), "sizes": f"{size}x{size}",
        "type": "image/png", "purpose": purpose}
    body = {
        "name": "raceapp: your race kit", "short_name": "raceapp", "id": "/me",
        "description": "Cut-offs, gear, schedule, shuttles and alerts for trail races, offline.",
        "start_url": url_for("kit.home"), "scope": "/", "display": "standalone",
        "orientation": "portrait", "background_color": "#f4f4f2", "theme_color": "#14532d",
        "lang": "en",
        "icons": [icon("icon-192.png", 192), icon("icon-512.png", 512),
                  icon("maskable-512.png", 512, "maskable")],
    }
    response = Response(json.dumps(body), mimetype="application/manifest+json")
    response.cache_control.max_age = 3600
    return response


@bp.get("/offline")
def offline():
    """The page the service worker shows for a page it has not cached."""
    return render_template("offline.html")


@bp.get("/healthz")
def healthz():
    """Liveness probe for the process manager."""
    return {"ok": True}


@bp.post("/preview")
def preview():
    """Show every page as it will look at a chosen local moment of an event."""
    if not accounts.may_preview(current_user):
        return render_template("errors/error.html", status=403,
                               message="Only organizers can preview."), 403
    event = db.session.scalar(select(Event).where(Event.slug == request.form.get("event", "")))
    raw = (request.form.get("as_of") or "").strip()
    if event is None:
        return render_template("errors/error.html", status=404, message="No such event."), 404
    try:
        local = datetime.fromisoformat(raw)
        if local.tzinfo is not None or local.year < 2000 or local.year > 2100:
            raise ValueError
    except ValueError:
        return render_template(
            "errors/error.html", status=400,
            message="Give the moment as a local date and time, for example 2024-06-08T11:00."
        ), 400
    instant = local.replace(tzinfo=ZoneInfo(event.time_zone)).astimezone(timezone.utc)
    session["preview_as_of"] = instant.isoformat()
    session["preview_zone"] = event.time_zone
    flash(f"Previewing {event.name} as of {local:%a %d %b %Y %H:%M} ({event.time_zone}).")
    return redirect(request.form.get("next") if _is_local(request.form.get("next"))
                    else url_for("events.show", slug=event.slug))


@bp.post("/preview/end")
def end_preview():
    """Return to the real clock."""
    session.pop("preview_as_of", None)
    session.pop("preview_zone", None)
    flash("Back to the real time.")
    return redirect(url_for("web.home"))


def _is_local(target: str | None) -> bool:
    return bool(target) and target.startswith("/") and not target.startswith("//")


def register_template_helpers(app: Flask) -> None:
    """Filters that show instants in an event's zone, with the weekday."""

    def in_zone(instant: datetime | None, event: Event) -> datetime | None:
        return None if instant is None else instant.astimezone(ZoneInfo(event.time_zone))

    @app.template_filter("day_time")
    def day_time(instant: datetime | None, event: Event) -> str:
        local = in_zone(instant, event)
        return "" if local is None else local.strftime("%a %H:%M")

    @app.template_filter("full_day_time")
    def full_day_time(instant: datetime | None, event: Event) -> str:
        local = in_zone(instant, event)
        return "" if local is None else local.strftime("%a %d %b %Y, %H:%M")

    @app.template_filter("long_day")
    def long_day(instant: datetime | None, event: Event) -> str:
        local = in_zone(instant, event)
        return "" if local is None else local.strftime("%A %d %B")

    @app.template_filter("long_date")
    def long_date(value) -> str:
        return "" if value is None else value.strftime("%a %d %b %Y")

    app.add_template_filter(timing.format_elapsed, "elapsed")
    app.add_template_filter(pace.format_pace, "pace")
    app.add_template_global(
        lambda target, now: timing.format_countdown((target - now).total_seconds()),
        "countdown_text")

    @app.template_filter("hm")
    def hm(instant: datetime | None, event: Event, same_day_as: datetime | None = None) -> str:
        """"16:30", or "Sun 03:00" when it falls on another local day than `same_day_as`."""
        local = in_zone(instant, event)
        if local is None:
            return ""
        other = in_zone(same_day_as, event)
        if other is not None and other.date() != local.date():
            return local.strftime("%a %H:%M")
        return local.strftime("%H:%M")

    @app.template_filter("km")
    def km(value: float | None) -> str:
        return "" if value is None else f"{value:g} km"

    @app.template_filter("alert_label")
    def alert_label(kind: str) -> str:
        return KIND_LABELS.get(kind, kind)

    @app.template_filter("money")
    def money(value: int | None, currency: str | None) -> str:
        if value is None:
            return ""
        return f"¥{value:,}" if currency == "JPY" else f"{value:,} {currency or ''}".strip()

    def _push_key() -> str | None:
        # Pages of a logged-in runner carry the key, so the app can (re)subscribe on open.
        if not current_user.is_authenticated:
            return None
        vapid = vapid_for(current_app)
        return vapid.application_server_key if vapid else None

    @app.context_processor
    def inject() -> dict:
        preview = g.get("preview_as_of")
        if preview is not None:
            zone = ZoneInfo(session.get("preview_zone") or "UTC")
            preview = preview.astimezone(zone)
        return {"now": clock.utcnow(), "preview_as_of": preview,
                "may_preview": accounts.may_preview(current_user),
                "is_organizer_user": accounts.organizes_any(current_user),
                "push_key": _push_key(),
                "app_name": current_app.config.get("APP_NAME", "raceapp")}
