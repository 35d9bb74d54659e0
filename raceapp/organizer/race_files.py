"""Race files from the browser: upload or paste, read every problem, preview the exact change,
publish as a new version; restore an earlier version the same way."""

from __future__ import annotations

import hashlib

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from raceapp import clock
from raceapp.errors import DomainError
from raceapp.organizer import bp
from raceapp.organizer.common import event_for, require_confirmed
from raceapp.racefile.gpx import MAX_GPX_BYTES
from raceapp.racefile.loader import RaceFileReport, check_text
from raceapp.services import course, race_publish, team
from raceapp.services.race_import import ImportRefused
from raceapp.vocabulary import PUBLISH, VIEW


def _uploaded() -> RaceFileReport | None:
    """The file sent with the form (uploaded or pasted), checked; None when there is none."""
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        raw = upload.stream.read(race_publish.MAX_BYTES + 1)
        return race_publish.read(raw, upload.filename)
    pasted = request.form.get("text", "")
    if pasted.strip():
        return race_publish.read(pasted.encode("utf-8"), _("pasted text"))
    return None


def _digest(text: str | None) -> str:
    """The file's fingerprint as the confirm form will send it back: browsers send a
    textarea's line ends as CRLF, so they count as LF here."""
    return hashlib.sha256(_lf(text or "").encode()).hexdigest()


def _lf(text: str) -> str:
    return text.replace("\r\n", "\n")


def _preview_page(event, report: RaceFileReport, *, restoring: int | None = None):
    preview = race_publish.preview(event, report, now=clock.real_utcnow())
    status = 200 if preview.publishable else 400
    return (
        render_template(
            "organizer/race_file_preview.html",
            event=event,
            preview=preview,
            restoring=restoring,
            digest=_digest(report.text),
        ),
        status,
    )


@bp.get("/events/<slug>/race-file")
@login_required
def race_file(slug: str):
    """The race file's page: upload or paste a new version; the versions published so far."""
    event, _role = event_for(slug, VIEW)
    return _race_file_page(event)


@bp.post("/events/<slug>/course/<code>")
@login_required
def course_upload(slug: str, code: str):
    """Check an uploaded GPX file against the category and keep it as its course track."""
    event, _role = event_for(slug, PUBLISH)
    upload = request.files.get("gpx")
    if upload is None or not upload.filename:
        flash(_("Choose a GPX file."))
        return redirect(url_for("organizer.race_file", slug=slug, _anchor="course"), code=303)
    raw = upload.stream.read(MAX_GPX_BYTES + 1)
    try:
        row = course.upload_track(
            event, code, raw, upload.filename, by=current_user, now=clock.real_utcnow()
        )
    except course.TrackRefused as exc:
        return _race_file_page(event, refused={code: exc.messages}), 422
    flash(
        _(
            "The course track of %(category)s is kept: %(km)s km, %(metres)s m of climbing.",
            category=row.category.name,
            km=f"{row.distance_km:.1f}",
            metres=f"{row.gain_m:,}",
        )
    )
    return redirect(url_for("organizer.race_file", slug=slug, _anchor="course"), code=303)


@bp.post("/events/<slug>/course/<code>/remove")
@login_required
def course_remove(slug: str, code: str):
    """Take a category's course track away."""
    event, _role = event_for(slug, PUBLISH)
    require_confirmed(_("Tick “I confirm” to remove the course track."))
    course.remove_track(event, code, by=current_user, now=clock.real_utcnow())
    flash(_("The course track is removed."))
    return redirect(url_for("organizer.race_file", slug=slug, _anchor="course"), code=303)


def _race_file_page(event, refused: dict[str, list[str]] | None = None) -> str:
    return render_template(
        "organizer/race_file.html",
        event=event,
        versions=race_publish.versions(event),
        may_publish=_may(event),
        max_kb=race_publish.MAX_BYTES // 1024,
        refused=refused or {},
    )


def _may(event) -> bool:
    return team.may(current_user, event, PUBLISH)


@bp.post("/events/<slug>/race-file")
@login_required
def race_file_preview(slug: str):
    """Check the uploaded file and show what publishing it would change."""
    event, _role = event_for(slug, PUBLISH)
    report = _uploaded()
    if report is None:
        flash(_("Choose a race file, or paste its text."))
        return redirect(url_for("organizer.race_file", slug=slug))
    return _preview_page(event, report)


@bp.post("/events/<slug>/race-file/publish")
@login_required
def race_file_publish(slug: str):
    """Publish the previewed file as the next version, unless another came first."""
    event, _role = event_for(slug, PUBLISH)
    text = _lf(request.form.get("text", ""))
    name = request.form.get("filename", "")[:255] or _("pasted text")
    base, restored = request.form.get("base_version", ""), request.form.get("restored_from", "")
    numbers = [base] + ([restored] if restored else [])
    if not all(n.isdecimal() and len(n) <= 6 for n in numbers):
        raise DomainError(_("The form was incomplete. Upload the file again."))
    # A restore names a version of this race (NotFound for any other number).
    restored_from = race_publish.version(event, int(restored)).number if restored else None
    base_number = int(base)
    if _digest(text) != request.form.get("digest"):
        raise DomainError(_("The file changed after its preview. Upload it again."))
    report = check_text(text, name)
    try:
        saved, result = race_publish.publish(
            event,
            report,
            base_version=base_number,
            by=current_user,
            now=clock.real_utcnow(),
            restored_from=restored_from,
        )
    except race_publish.VersionChanged as exc:
        flash(exc.message)
        return _preview_page(event, report, restoring=restored_from)[0], 409
    except ImportRefused as exc:
        flash(exc.message)
        return _preview_page(event, report, restoring=restored_from)[0], 409
    flash(_("Version %(number)s is published.", number=saved.number))
    if any(getattr(change, "affects_runners", False) for change in result.changes):
        return redirect(url_for("organizer.race_file_published", slug=slug, number=saved.number))
    return redirect(url_for("organizer.race_file", slug=slug))


@bp.get("/events/<slug>/race-file/versions/<int:number>/published")
@login_required
def race_file_published(slug: str, number: int):
    """After publishing a change runners must know about: offer the matching alert."""
    event, _role = event_for(slug, PUBLISH)
    saved = race_publish.version(event, number)
    return render_template("organizer/race_file_published.html", event=event, saved=saved)


@bp.get("/events/<slug>/race-file/versions/<int:number>")
@login_required
def race_file_version(slug: str, number: int):
    """One published version's text, who published it and when."""
    event, _role = event_for(slug, VIEW)
    saved = race_publish.version(event, number)
    return render_template(
        "organizer/race_file_version.html",
        event=event,
        saved=saved,
        current=race_publish.current_version(event),
        may_publish=_may(event),
    )


@bp.post("/events/<slug>/race-file/versions/<int:number>/restore")
@login_required
def race_file_restore(slug: str, number: int):
    """Preview bringing an earlier version back; publishing it makes a new version."""
    event, _role = event_for(slug, PUBLISH)
    saved = race_publish.version(event, number)
    return _preview_page(event, race_publish.report_of(saved), restoring=number)
