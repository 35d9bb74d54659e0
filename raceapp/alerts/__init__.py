"""Alerts: the runner's feed, and the organizer's desk for posting them and following delivery."""

from __future__ import annotations

import json

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from jinja2_fragments.flask import render_block

from raceapp import clock
from raceapp.errors import DomainError
from raceapp.i18n import LANGUAGES, NATIVE_NAMES, speaking, text_of
from raceapp.models import Event
from raceapp.push import message
from raceapp.push.vapid import vapid_for
from raceapp.services import alerts, catalog, race_publish, race_state, subscriptions
from raceapp.services.alerts import AlertDraft, CheckpointChange
from raceapp.services.timing import parse_duration
from raceapp.vocabulary import ALERT_KINDS, AUDIENCES, CHANGE_KINDS, CHECKPOINT_STATUSES
from raceapp.web.http import is_htmx, revalidate
from raceapp.web.senders import wake_senders
from raceapp.web.template_helpers import day_time

bp = Blueprint("alerts", __name__)
bp.after_request(revalidate)


@bp.get("/me/alerts")
@login_required
def feed():
    """The runner's alerts, newest first, unread ones marked."""
    return render_template(
        "alerts/feed.html",
        items=alerts.feed(current_user),
        devices=subscriptions.devices_of(current_user),
        push_ready=vapid_for(current_app) is not None,
    )


@bp.get("/me/alerts/<int:alert_id>")
@login_required
def show(alert_id: int):
    """One alert. Opening it counts as reading it, through a POST the page makes: a GET
    changes nothing, so a link from another site cannot mark it read."""
    alert, read = alerts.readable(current_user, alert_id)
    return render_template("alerts/show.html", alert=alert, read=read)


@bp.post("/me/alerts/<int:alert_id>/read")
@login_required
def mark_read(alert_id: int):
    """Mark one alert read (htmx swaps the item in place)."""
    alert = alerts.mark_read(current_user, alert_id, now=clock.real_utcnow())
    if request.headers.get("X-Raceapp-Read") == "page":
        return "", 204  # the alert's own page said it was read: nothing to swap
    if is_htmx():
        return render_block("alerts/feed.html", "item", item=alerts.FeedItem(alert, read=True))
    return redirect(url_for("alerts.feed") + f"#alert-{alert.id}", code=303)


@bp.post("/me/alerts/read")
@login_required
def mark_all_read():
    """Mark every alert read."""
    alerts.mark_all_read(current_user, now=clock.real_utcnow())
    return redirect(url_for("alerts.feed"), code=303)


# --- Organizers -----------------------------------------------------------------------------


def _organized_event(slug: str) -> Event:
    event = catalog.event_by_slug(slug)
    alerts.require_organizer(current_user, event)
    return event


def _minutes(name: str, problem: str) -> int | None:
    raw = request.form.get(name, "").strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise DomainError(problem) from None


def _checkpoint_changes(event: Event) -> list[CheckpointChange]:
    """The course change's checkpoint fields: `cp-<category>-<km>-status` and `-cutoff`."""
    changes = []
    for category in event.categories:
        for cp in category.checkpoints:
            key = f"cp-{category.code}-{cp.km:g}"
            status = request.form.get(f"{key}-status", "").strip() or None
            raw_cutoff = request.form.get(f"{key}-cutoff", "").strip()
            if status is not None and status not in CHECKPOINT_STATUSES:
                raise DomainError(_("A checkpoint can be open, bypassed or closed."))
            problem = _(
                "Give the new cut-off at %(checkpoint)s as hours:minutes after the start, "
                "such as 11:30.",
                checkpoint=text_of(cp),
            )
            cutoff = parse_duration(raw_cutoff, problem) if raw_cutoff else None
            if status is not None or cutoff is not None:
                changes.append(CheckpointChange(category.code, cp.km, status, cutoff))
    return changes


AUDIENCE_PREFIX = "audience:"


def _audiences(event: Event, posted: list) -> list[tuple[str, str]]:
    """The desk's audiences besides the race and its categories: (value, label)."""
    choices = [
        (AUDIENCE_PREFIX + "on_course", str(AUDIENCES["on_course"])),
        (AUDIENCE_PREFIX + "not_started", str(AUDIENCES["not_started"])),
    ]
    for route in event.shuttle_routes:
        for departure in route.departures:
            choices.append(
                (
                    f"{AUDIENCE_PREFIX}departure:{departure.id}",
                    _(
                        "Passengers of %(time)s %(origin)s → %(destination)s",
                        time=day_time(departure.leaves_at, event),
                        origin=text_of(route, "origin"),
                        destination=text_of(route, "destination"),
                    ),
                )
            )
    for figures in posted[:10]:
        choices.append(
            (
                f"{AUDIENCE_PREFIX}unread:{figures.alert.id}",
                _("Not read yet: %(title)s", title=text_of(figures.alert, "title")),
            )
        )
    return choices


def _draft_from_form(event: Event) -> AlertDraft:
    kind = request.form.get("kind", "")
    for_whom = request.form.get("category", "").strip()
    raw_from = request.form.get("from_km", "").strip()
    try:
        from_km = float(raw_from) if raw_from else None
    except ValueError:
        raise DomainError(_("Choose the checkpoint from which cut-offs move.")) from None
    return AlertDraft(
        kind=kind,
        title=request.form.get("title", ""),
        body=request.form.get("body", ""),
        # The desk has a title and a text per language: `title_ja`, `body_en`, ...
        titles={language: request.form.get(f"title_{language}", "") for language in LANGUAGES},
        bodies={language: request.form.get(f"body_{language}", "") for language in LANGUAGES},
        link=request.form.get("link"),
        # "For": a category's code, or another audience ("audience:departure:12").
        category_code=None if for_whom.startswith(AUDIENCE_PREFIX) else (for_whom or None),
        audience=for_whom.removeprefix(AUDIENCE_PREFIX)
        if for_whom.startswith(AUDIENCE_PREFIX)
        else None,
        delay_minutes=_minutes("delay_minutes", _("Give the delay as a whole number of minutes."))
        if kind == "start_delay"
        else None,
        extension_minutes=(
            _minutes("extension_minutes", _("Give the extension as a whole number of minutes."))
            if kind == "cutoff_extension"
            else None
        ),
        from_km=from_km if kind == "cutoff_extension" else None,
        checkpoints=_checkpoint_changes(event) if kind == "course_change" else [],
        new_start=(request.form.get("new_start") or None) if kind == "reinstate" else None,
    )


def _desk(event: Event, **context):
    posted = alerts.event_alerts(current_user, event)  # the table, and the follow-up choices
    return render_template(
        "alerts/desk.html",
        event=event,
        kinds=ALERT_KINDS,
        event_state=race_state.of_event(event, clock.utcnow()),
        statuses=CHECKPOINT_STATUSES,
        # The race's own language first: what most of its runners read.
        text_languages=sorted(LANGUAGES, key=lambda language: language != event.language),
        native_names=NATIVE_NAMES,
        figures=posted,
        audiences=_audiences(event, posted),
        push_ready=vapid_for(current_app) is not None,
        **context,
    )


@bp.get("/organizer/events/<slug>/alerts")
@login_required
def desk(slug: str):
    """Post an alert to the event or a category; every alert with its delivery figures."""
    event = _organized_event(slug)
    follow_up = request.args.get("follow_up", "")
    if follow_up.isdecimal() and len(follow_up) < 10:
        # A reminder to those who have not read an alert yet.
        earlier = alerts.alert_figures(current_user, int(follow_up)).alert
        form = {"kind": "info", "category": f"{AUDIENCE_PREFIX}unread:{earlier.id}"}
        for language in LANGUAGES:
            with speaking(language):
                form[f"title_{language}"] = _(
                    "Reminder: %(title)s", title=text_of(earlier, "title", language)
                )
        return _desk(event, form=form)
    number = request.args.get("from_version", "")
    if number.isdecimal() and len(number) < 7:
        # Right after publishing a change runners must know about: the alert, written.
        saved = race_publish.version(event, int(number))
        form = {"kind": "rule_change"}
        for language in LANGUAGES:
            with speaking(language):
                form[f"title_{language}"] = _("Race information updated")
            changes = race_publish.changes_in(saved, language, for_runners=True)
            form[f"body_{language}"] = "\n".join(changes)
        return _desk(event, form=form)
    return _desk(event, form={})


@bp.post("/organizer/events/<slug>/alerts/preview")
@login_required
def preview(slug: str):
    """While composing: who the alert would reach, the notification as phones will show it
    in each language, and what it would do to the race (nothing is posted)."""
    event = _organized_event(slug)
    context: dict = {"event": event, "native_names": NATIVE_NAMES}
    try:
        draft = _preview_draft(event)
        found = alerts.preview_alert(current_user, event, draft, now=clock.real_utcnow())
    except DomainError as exc:
        context["preview_error"] = exc.message
    else:
        context["preview"] = found
        context["notifications"] = _notifications(event, draft, found)
    return render_block("alerts/desk.html", "composer_preview", **context)


def _preview_draft(event: Event) -> AlertDraft:
    """The form as it stands; a draft still without a title is previewed with a placeholder,
    so that the counts show from the first choice of audience."""
    draft = _draft_from_form(event)
    if not draft.title.strip() and not any(t.strip() for t in draft.titles.values()):
        draft.titles = {event.language or LANGUAGES[0]: _("(title)")}
    return draft


def _notifications(event: Event, draft: AlertDraft, found) -> dict[str, tuple[str, list[str]]]:
    """What a phone shows, in each language, built by the push message's own code."""
    shown = {}
    category = found.category
    for language in LANGUAGES:
        built = message.build(
            0,
            draft.kind,
            found.titles.get(language, ""),
            found.bodies.get(language, ""),
            text_of(event, "name", language),
            text_of(category, "name", language) if category is not None else None,
            event.id,
            category.id if category is not None else None,
            clock.real_utcnow().isoformat(),
            found.outcome,
            language=language,
        )
        data = json.loads(built.payload)
        shown[language] = (
            data["title"],
            [data[k] for k in ("event", "summary", "body") if data[k]],
        )
    return shown


@bp.post("/organizer/events/<slug>/alerts")
@login_required
def post(slug: str):
    """Publish an alert: it changes the race if its kind says so, and goes to every phone."""
    event = _organized_event(slug)
    try:
        kind = ALERT_KINDS.get(request.form.get("kind", ""))
        draft = _draft_from_form(event)
        if kind and (kind.urgent or kind.needs_confirm) and request.form.get("confirm") != "1":
            # An urgent alert goes out only after a step that repeats what it does and to
            # whom: a draft posting would refuse is said on the desk first.
            found = alerts.preview_alert(current_user, event, draft, now=clock.real_utcnow())
            return (
                render_template(
                    "alerts/confirm.html",
                    event=event,
                    kind=kind,
                    preview=found,
                    notifications=_notifications(event, draft, found),
                    native_names=NATIVE_NAMES,
                    fields=[(k, v) for k, v in request.form.items(multi=True) if k != "confirm"],
                ),
                400,
            )
        alert = alerts.post_alert(current_user, event, draft, now=clock.real_utcnow())
    except DomainError as exc:
        return _desk(event, form=request.form, error=exc.message), exc.status
    wake_senders()
    flash(
        _(
            "Alert posted to %(runners)s (%(devices)s, %(emails)s).",
            runners=ngettext("%(num)d runner", "%(num)d runners", alert.audience_count),
            devices=ngettext("%(num)d device", "%(num)d devices", alert.device_count),
            emails=ngettext("%(num)d e-mail", "%(num)d e-mails", alert.email_count),
        )
    )
    return redirect(url_for("alerts.figures", alert_id=alert.id), code=303)


@bp.get("/organizer/alerts/<int:alert_id>")
@login_required
def figures(alert_id: int):
    """Delivery figures of one alert and who has read it; polled while sending."""
    figures = alerts.alert_figures(current_user, alert_id)
    if is_htmx():
        return render_block("alerts/figures.html", "figures", f=figures)
    return render_template(
        "alerts/figures.html", f=figures, audience_label=alerts.audience_name(figures.alert)
    )


def _languages_of(alert) -> list[str]:
    """The languages the alert is written in, its first one first, then the others."""
    written = list(((alert.texts or {}).get("title") or {}).keys())
    return written + [language for language in LANGUAGES if language not in written]


@bp.route("/organizer/alerts/<int:alert_id>/edit", methods=["GET", "POST"])
@login_required
def edit(alert_id: int):
    """Correct an alert's words: the correction replaces the notification on phones that
    have not opened it, and says it is an update."""
    alert = alerts.changeable_alert(current_user, alert_id)
    languages = _languages_of(alert)
    if request.method == "POST":
        draft = AlertDraft(
            kind=alert.kind,
            titles={language: request.form.get(f"title_{language}", "") for language in LANGUAGES},
            bodies={language: request.form.get(f"body_{language}", "") for language in LANGUAGES},
            link=request.form.get("link"),
        )
        try:
            alerts.edit_alert(current_user, alert_id, draft, now=clock.real_utcnow())
        except DomainError as exc:
            return (
                render_template(
                    "alerts/edit.html",
                    alert=alert,
                    text_languages=languages,
                    native_names=NATIVE_NAMES,
                    change_kinds=CHANGE_KINDS,
                    form=request.form,
                    error=exc.message,
                ),
                exc.status,
            )
        wake_senders()
        flash(_("The correction is on its way to everyone the alert went to."))
        return redirect(url_for("alerts.figures", alert_id=alert_id), code=303)
    texts = alert.texts or {}
    form = {"link": alert.link or ""}
    for language in languages:
        form[f"title_{language}"] = (texts.get("title") or {}).get(language, "")
        form[f"body_{language}"] = (texts.get("body") or {}).get(language, "")
    if not texts:
        form[f"title_{languages[0]}"], form[f"body_{languages[0]}"] = alert.title, alert.body
    return render_template(
        "alerts/edit.html",
        alert=alert,
        text_languages=languages,
        native_names=NATIVE_NAMES,
        change_kinds=CHANGE_KINDS,
        form=form,
    )


@bp.route("/organizer/alerts/<int:alert_id>/retract", methods=["GET", "POST"])
@login_required
def retract(alert_id: int):
    """Withdraw an alert: the page says what withdrawing does (the race after it, who is told)
    before the organizer confirms; runners are told to disregard it."""
    reasons = {language: request.form.get(f"reason_{language}", "") for language in LANGUAGES}
    if request.method == "POST":
        alerts.retract_alert(current_user, alert_id, reasons, now=clock.real_utcnow())
        wake_senders()
        flash(_("The alert is withdrawn; everyone it went to is being told."))
        return redirect(url_for("alerts.figures", alert_id=alert_id), code=303)
    found = alerts.retract_alert(current_user, alert_id, now=clock.real_utcnow(), dry_run=True)
    alert = found.alert
    return render_template(
        "alerts/retract.html",
        alert=alert,
        withdrawal=found,
        text_languages=_languages_of(alert),
        native_names=NATIVE_NAMES,
        change_kinds=CHANGE_KINDS,
    )
