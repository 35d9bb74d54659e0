"""The runner's race kit: home, gear checklist, schedule, cut-offs with pace, and the kit as JSON.

The kit shows one of the runner's races at a time: the one they chose, else the next one (in
progress first, then the soonest upcoming). Every page reads the race as it stands.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime
from functools import wraps

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from itsdangerous import BadSignature, URLSafeSerializer
from jinja2_fragments.flask import render_block, render_blocks

from raceapp import clock
from raceapp.errors import DomainError
from raceapp.i18n import current_language, text_of
from raceapp.models import Entry, PersonalGearItem
from raceapp.services import (
    alerts,
    course,
    drop_outs,
    gear,
    kit,
    pace,
    race_state,
    safety,
    schedule,
    timing,
)
from raceapp.services.kit import RaceChoice
from raceapp.vocabulary import GETTING_BACK, PACE_GRADES
from raceapp.web import parts
from raceapp.web.http import is_htmx, not_modified, revalidate
from raceapp.web.qr import qr_svg

bp = Blueprint("kit", __name__)
bp.after_request(revalidate)

CHOSEN = "kit_event"  # the session key of the race the runner chose to look at


def _choice() -> tuple[RaceChoice | None, list[RaceChoice]]:
    races = kit.runner_races(current_user, clock.utcnow())
    return kit.pick(races, session.get(CHOSEN)), races


def race_required(view):
    """Log-in required, and a race to show: the view gets the runner's race first. Without
    one, pages lead to the join prompt and changes answer 409."""

    @wraps(view)
    @login_required
    @revalidated_cheaply
    def wrapper(*args, **kwargs):
        choice, _none = _choice()
        if choice is None:
            if request.method == "GET":
                return redirect(url_for("kit.home"))
            abort(409)
        return view(choice, *args, **kwargs)

    return wrapper


def _made_at() -> datetime | None:
    """When the runner ticked, on their phone (sent by an offline queue); None for 'now'."""
    raw = request.form.get("made_at", "").strip()
    return timing.parse_instant(raw) if raw else None


def _packed() -> bool:
    value = request.form.get("packed")
    if value not in ("0", "1"):
        raise DomainError(_("Say packed=1 or packed=0."))
    return value == "1"


def _kit_etag() -> str | None:
    """A validator for a kit page worked out without making the page: the runner's
    fingerprint (services.kit.kit_fingerprint), the minute (cut-offs and countdowns move with
    time), the page and its query, the device's session, the race chosen, the language and the
    deployed build. None when the page must be made anyway."""
    if request.method != "GET" or g.get("preview_as_of") is not None or session.get("_flashes"):
        return None
    parts_of_etag = (
        parts.build_salt(),
        clock.utcnow().strftime("%Y-%m-%dT%H:%M"),
        current_user.session_token,
        is_htmx(),
        request.full_path,
        session.get(CHOSEN),
        current_language(),
        kit.kit_fingerprint(current_user),
    )
    return hashlib.sha256(repr(parts_of_etag).encode()).hexdigest()[:32]


def revalidated_cheaply(view):
    """Phones revalidate the kit pages every time they open one: most of the time nothing
    changed, and one query says so, before any race state is worked out or a page made."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        etag = _kit_etag()
        if etag and request.if_none_match.contains_weak(etag):
            return not_modified(etag)
        response = make_response(view(*args, **kwargs))
        if etag and response.status_code == 200 and response.get_etag()[0] is None:
            response.set_etag(etag, weak=True)
        return response

    return wrapper


@bp.get("/me")
@login_required
@revalidated_cheaply
def home():
    """Race kit home: race state, next cut-off with countdown, gear readiness, ticket, help."""
    choice, races = _choice()
    if choice is None:
        return render_template("kit/home.html", view=None)
    view = kit.home(current_user, choice, races, now=clock.real_utcnow())
    ticket = view.booking and qr_svg(
        url_for("shuttles.check", reference=view.booking.reference, _external=True),
        _("Ticket QR code"),
    )
    return render_template(
        "kit/home.html",
        view=view,
        entry=view.entry,
        event=view.event,
        state=view.state,
        ticket_qr=ticket,
        # The race's banner, state and help are the same for the category's runners.
        part_key=parts.key(choice.event_state, choice.state.code, parts.phases(choice.state)),
        kit_urls=_kit_urls(view.entry, view.booking, view.alerts.feed),
        known_alerts=[i.alert.id for i in view.alerts.feed[:50]],
    )


@bp.post("/me/race")
@login_required
def switch_race():
    """Show another of the runner's races in the kit."""
    slug = request.form.get("event", "")
    if not any(c.event.slug == slug for c in kit.runner_races(current_user, clock.utcnow())):
        abort(404)
    session[CHOSEN] = slug
    return redirect(url_for("kit.home"), code=303)


def _page(choice: RaceChoice) -> dict:
    """What every kit page shows at its top: the race and its state."""
    return dict(
        choice=choice,
        entry=choice.entry,
        event=choice.event,
        state=choice.state,
        event_state=choice.event_state,
    )


@bp.get("/me/gear")
@race_required
def checklist(choice: RaceChoice):
    """The gear checklist of the runner's category, ticked one by one."""
    return render_template("kit/gear.html", **_page(choice), checklist=gear.checklist(choice.entry))


def _after_tick(choice: RaceChoice, anchor: str):
    if not is_htmx():
        return redirect(url_for("kit.checklist") + f"#{anchor}", code=303)
    checks = gear.checklist(choice.entry)
    row: gear.ChecklistRow | PersonalGearItem | None = next(
        (r for r in checks.mandatory + checks.recommended if f"item-{r.item.id}" == anchor), None
    )
    row = row or next((p for p in checks.personal if f"own-{p.id}" == anchor), None)
    return render_blocks(
        "kit/gear.html", ["item", "progress_oob"], **_page(choice), checklist=checks, row=row
    )


@bp.post("/me/gear/<int:item_id>")
@race_required
def tick(choice: RaceChoice, item_id: int):
    """Mark one item packed or not packed."""
    gear.tick(choice.entry, item_id, _packed(), now=clock.real_utcnow(), made_at=_made_at())
    return _after_tick(choice, f"item-{item_id}")


@bp.post("/me/gear/own")
@race_required
def add_own(choice: RaceChoice):
    """Add an item of the runner's own."""
    try:
        gear.add_personal(choice.entry, request.form.get("name", ""), now=clock.real_utcnow())
    except DomainError as exc:
        context = dict(
            **_page(choice), checklist=gear.checklist(choice.entry), own_error=exc.message
        )
        if is_htmx():
            # 422: htmx is configured to swap it, so the message shows under the field.
            return render_block("kit/gear.html", "personal", **context), 422
        return render_template("kit/gear.html", **context), exc.status
    return _after_own_change(choice)


def _after_own_change(choice: RaceChoice):
    if is_htmx():
        return render_blocks(
            "kit/gear.html",
            ["personal", "progress_oob"],
            **_page(choice),
            checklist=gear.checklist(choice.entry),
        )
    return redirect(url_for("kit.checklist") + "#own", code=303)


@bp.post("/me/gear/own/<int:item_id>")
@race_required
def tick_own(choice: RaceChoice, item_id: int):
    """Mark one of the runner's own items packed or not."""
    gear.tick_personal(
        choice.entry, item_id, _packed(), now=clock.real_utcnow(), made_at=_made_at()
    )
    return _after_tick(choice, f"own-{item_id}")


@bp.post("/me/gear/own/<int:item_id>/delete")
@race_required
def delete_own(choice: RaceChoice, item_id: int):
    """Remove one of the runner's own items."""
    gear.remove_personal(choice.entry, item_id)
    return _after_own_change(choice)


def calendar_serializer() -> URLSafeSerializer:
    """Signs the entry id of a calendar feed address (calendar apps send no cookie)."""
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="calendar")


@bp.get("/me/schedule")
@race_required
def schedule_page(choice: RaceChoice):
    """The weekend's schedule for the runner's category, by day, with now and next."""
    token = calendar_serializer().dumps(choice.entry.id)
    days = schedule.days(choice.event_state, choice.state.code, clock.utcnow())
    return render_template(
        "kit/schedule.html",
        **_page(choice),
        days=days,
        # The list is the same for the category's runners while no item starts or ends.
        part_key=parts.key(
            choice.event_state,
            choice.state.code,
            parts.phases(choice.state),
            tuple(row.phase for day in days for row in day.rows),
        ),
        # Calendar apps send no cookie: the address says which language to write it in.
        subscribe_url=url_for(
            "kit.calendar_feed", token=token, lang=current_language(), _external=True
        ),
    )


def _ics_response(entry: Entry) -> Response:
    state = race_state.of_event(entry.event, clock.utcnow())
    body = schedule.to_ics(state, entry.category.code, now=clock.real_utcnow())
    response = Response(body, mimetype="text/calendar")
    response.headers.set("Content-Disposition", "attachment", filename=f"{entry.event.slug}.ics")
    return response


@bp.get("/me/schedule.ics")
@race_required
def schedule_ics(choice: RaceChoice):
    """The runner's schedule as an iCalendar file to import."""
    return _ics_response(choice.entry)


@bp.get("/calendar/<token>.ics")
def calendar_feed(token: str):
    """The same file at a secret address a calendar app can subscribe to (no cookies there)."""
    try:
        entry_id = calendar_serializer().loads(token)
    except BadSignature:
        abort(404)
    return _ics_response(kit.entry_by_id(entry_id))


@bp.get("/me/help")
@race_required
def help_page(choice: RaceChoice):
    """Who to call, what to tell them, where the runner is (on tap): one tap from every kit
    page, kept for offline use."""
    return render_template(
        "kit/help.html",
        **_page(choice),
        numbers=safety.numbers(choice.event),
        dropped=drop_outs.of_entry(choice.entry),
        getting_back=GETTING_BACK,
    )


@bp.post("/me/drop-out")
@race_required
def drop_out(choice: RaceChoice):
    """Tell headquarters the runner stopped (sent at once, or later by the phone's queue)."""
    form = request.form
    if form.get("entry") and form.get("entry") != str(choice.entry.id):
        # Made for the runner's other race (the kit shows another one now).
        abort(409)
    raw_found = form.get("position_at", "").strip()
    position = (
        (form.get("latitude", ""), form.get("longitude", ""), form.get("accuracy", "0"))
        if form.get("attach_position") == "1" and form.get("latitude")
        else None
    )
    drop_outs.report(
        choice.entry,
        key=form.get("key", "") or uuid.uuid4().hex,
        made_at=_made_at(),
        checkpoint_id=form.get("checkpoint", ""),
        getting_back=form.get("getting_back", ""),
        note=form.get("note", "")[: drop_outs.NOTE_MAX + 1],
        position=position,
        position_at=timing.parse_instant(raw_found) if raw_found and position else None,
        now=clock.real_utcnow(),
    )
    if request.headers.get("X-Raceapp-Queued"):
        return "", 204
    flash(_("Your report was sent to headquarters. Take care on your way back."))
    return redirect(url_for("kit.help_page"), code=303)


@bp.get("/me/cutoffs")
@race_required
def cutoffs(choice: RaceChoice):
    """Cut-off table as it stands, countdown, and the pace helper."""
    now = clock.utcnow()
    state = choice.state
    category = choice.entry.category
    track = category.track
    context = dict(
        **_page(choice),
        now=now,
        comfortable=pace.COMFORTABLE_AT_LEAST,
        out_of_reach=pace.OUT_OF_REACH_BELOW,
        climb_source=course.climb_source(category),
        has_track=track is not None,
        # The same for every runner of the category at this state: made once (web.parts),
        # so the course, the table and the offline pace data are worked out only then.
        part_key=parts.key(
            choice.event_state,
            state.code,
            parts.phases(state),
            track and (track.id, track.source_sha256, track.imported_at.isoformat()),
        ),
        pace_data=lambda: _pace_data(choice),
        course_profile=lambda: course.profile(category, state.checkpoints),
        course_shape=lambda: course.shape(category),
        course_data=lambda: _course_data(choice),
    )
    status = 200
    raw_km, raw_cp = request.args.get("km"), request.args.get("checkpoint")
    if state.counts_down and (raw_km is not None or raw_cp is not None):
        context["at_km"] = raw_km or ""
        try:
            at_km = pace.position(raw_km, raw_cp, state)
            context.update(pace_rows=pace.plan(state, at_km, now), at_km=f"{at_km:g}")
        except pace.BadPosition as exc:
            context["pace_error"], status = exc.message, exc.status
    if is_htmx() and request.args:
        return render_block("kit/cutoffs.html", "pace", **context), status
    return render_template("kit/cutoffs.html", **context), status


def _pace_data(choice: RaceChoice) -> dict:
    """What static/pace.js needs to work out the same plan offline."""
    day_time = current_app.jinja_env.filters["day_time"]
    state = choice.state
    return {
        "distance_km": choice.entry.category.distance_km,
        "start": state.start.isoformat() if state.start else None,
        "preview_now": clock.utcnow().isoformat() if g.get("preview_as_of") else None,
        "comfortable": pace.COMFORTABLE_AT_LEAST,
        "out_of_reach": pace.OUT_OF_REACH_BELOW,
        "climb": course.climb_profile(choice.entry.category),
        "time_zone": choice.event.time_zone,
        # The server's own sentences, so that the offline answer reads the same.
        "messages": {
            **{
                code: pace.position_message(code, state.category.distance_km)
                for code in pace.POSITION_MESSAGES
            },
            "none_ahead": _("No cut-off lies ahead of km %(km)s.", km="{km}"),
            "needs": _("needs %(pace)s", pace="{pace}"),
            "detail": _("%(km)s km · cut-off %(time)s", km="{km}", time="{time}"),
            "climb": _("+%(metres)s m", metres="{metres}"),
            "arrival": _("at your pace so far: %(time)s", time="{time}"),
            "arrival_late": _("at your pace so far: %(time)s, too late", time="{time}"),
        },
        "grades": {code: str(label) for code, label in PACE_GRADES.items()},
        "headings": [_("To"), _("km to go"), _("Pace needed, per flat km")],
        "checkpoints": [
            {
                "id": cp.checkpoint.id,
                "name": text_of(cp.checkpoint),
                "km": cp.checkpoint.km,
                "cutoff": cp.at.isoformat() if cp.has_cutoff and cp.at else None,
                "cutoff_label": day_time(cp.at, choice.event) if cp.at else "",
            }
            for cp in state.checkpoints
        ],
    }


def _course_data(choice: RaceChoice) -> dict:
    """What static/course.js needs besides the track: the aid stations and the sentences."""
    state = choice.state
    return {
        "track_url": url_for("kit.course_track"),
        "time_zone": choice.event.time_zone,
        "checkpoints": [
            {
                "name": text_of(cp.checkpoint),
                "km": cp.checkpoint.km,
                "cutoff": cp.at.isoformat() if cp.has_cutoff and cp.at else None,
            }
            for cp in state.checkpoints
            if cp.status != "bypassed"
        ],
        "messages": {
            "finding": _("Finding your position…"),
            "unsupported": _(
                "This browser cannot tell its position: give your km in the pace helper."
            ),
            "denied": _(
                "This page may not know the phone's position: allow it in the browser's settings, "
                "or give your km in the pace helper."
            ),
            "failed": _(
                "No position was found. Try again in the open, or give your km in the pace helper."
            ),
            "no_track": _(
                "The course is not on this phone yet: open this page once with signal so that "
                "it is kept."
            ),
            "at": _(
                "You are at km %(km)s of the course (your position is known to within "
                "%(accuracy)s m).",
                km="{km}",
                accuracy="{accuracy}",
            ),
            "off": _(
                "You seem to be off the course: %(distance)s m from it. The nearest point of the "
                "course is at km %(km)s.",
                distance="{distance}",
                km="{km}",
            ),
            "imprecise": _(
                "The position is only known to within %(accuracy)s m, so the km may be wrong.",
                accuracy="{accuracy}",
            ),
            "passes": _(
                "The course passes here more than once (also at km %(others)s): this is the pass "
                "after the last km found on this phone.",
                others="{others}",
            ),
            "next": _(
                "Next aid station: %(name)s, km %(km)s: %(distance)s km and %(climb)s m of "
                "climbing from here.",
                name="{name}",
                km="{km}",
                distance="{distance}",
                climb="{climb}",
            ),
            "cutoff": _("Its cut-off is at %(time)s, in %(left)s.", time="{time}", left="{left}"),
            "cutoff_passed": _("Its cut-off (%(time)s) has passed.", time="{time}"),
            "none_ahead": _(
                "No aid station lies ahead: the finish is %(distance)s km away.",
                distance="{distance}",
            ),
            "use_km": _("Use km %(km)s in the pace helper", km="{km}"),
        },
    }


@bp.get("/me/course.json")
@race_required
def course_track(choice: RaceChoice):
    """The runner's course track, kept by the phone for "where am I" and Help offline."""
    data = course.track_data(choice.entry.category)
    if data is None:
        return {"error": _("This category has no course track.")}, 404
    return Response(json.dumps(data, separators=(",", ":")), mimetype="application/json")


def _kit_urls(entry: Entry, booking, feed) -> list[str]:
    """Every page of the runner's kit, for the service worker to keep for offline use."""
    urls = [
        url_for("kit.home"),
        url_for("kit.checklist"),
        url_for("kit.schedule_page"),
        url_for("kit.cutoffs"),
        url_for("kit.help_page"),
        url_for("alerts.feed"),
        url_for("kit.api_kit"),
        url_for("events.show", slug=entry.event.slug),
        url_for("events.category", slug=entry.event.slug, code=entry.category.code),
    ]
    if entry.event.shuttle_routes:
        urls.append(url_for("shuttles.timetable", slug=entry.event.slug))
    if entry.category.track is not None:
        urls.append(url_for("kit.course_track"))
    if booking:
        urls.append(url_for("shuttles.ticket", reference=booking.reference))
    urls += [url_for("alerts.show", alert_id=item.alert.id) for item in feed[:20]]
    return urls


@bp.get("/api/kit")
@login_required
@revalidated_cheaply
def api_kit():
    """The runner's whole kit as JSON, for offline use; answers 304 when unchanged."""
    choice, _none = _choice()
    if choice is None:
        # The phone's service worker drops the kit it kept when it reads this.
        return {"error": _("Join a race category first.")}, 409
    state = choice.state
    race = parts.part(
        "api-kit-race",
        parts.key(choice.event_state, state.code, parts.phases(state)),
        lambda: kit.race_data(choice),
    )
    feed = alerts.feed(current_user, limit=50)  # read once: the kit's and what to keep
    data = {**race, **kit.runner_data(current_user, choice, feed)}
    # What the phone may keep of the runner's own pages, every race included: the service
    # worker drops the others (a race they were withdrawn from, a cancelled seat).
    references, alert_ids = kit.private_pages(current_user, feed)
    data["keep"] = [url_for("shuttles.ticket", reference=r) for r in references] + [
        url_for("alerts.show", alert_id=i) for i in alert_ids
    ]
    body = json.dumps(data, ensure_ascii=False, sort_keys=True)
    # Written down last: its commit would make everything read above be read again.
    kit.note_synced(choice.entry, now=clock.real_utcnow())
    return Response(body, mimetype="application/json")
