"""The entry list on the console: see and search it, import it from the registration site's
CSV (map the columns, read every problem, then apply), correct, move, withdraw; claim codes
printed or e-mailed."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from sqlalchemy import delete, select

from raceapp import clock
from raceapp.database import write_transaction
from raceapp.errors import DomainError, NotFound
from raceapp.extensions import db
from raceapp.i18n import current_language, text_of
from raceapp.mail import sending
from raceapp.models import PendingUpload
from raceapp.organizer import bp
from raceapp.organizer.common import event_for, permissions, require_confirmed
from raceapp.services import audit, entry_import, entry_list, timing
from raceapp.vocabulary import EDIT_ENTRIES, ENTRIES, PERSONAL_DATA
from raceapp.web.spreadsheet import csv_response

UPLOAD_HOURS = 24


@bp.get("/events/<slug>/entries")
@login_required
def entries(slug: str):
    """The entry list, searchable by bib, name or e-mail."""
    event, _role = event_for(slug, ENTRIES)
    may = permissions(event)
    number = request.args.get("page", "1")
    page = entry_list.search(
        event,
        request.args.get("q", ""),
        by_email=PERSONAL_DATA in may,
        page=int(number) if number.isdecimal() and len(number) < 7 else 1,
    )
    return render_template("organizer/entries.html", event=event, page=page, may=may)


@bp.get("/events/<slug>/entries.csv")
@login_required
def entries_csv(slug: str):
    """The entry list as CSV (opens right in Excel); contact columns only for those who may
    see personal data."""
    event, _role = event_for(slug, ENTRIES)
    personal = PERSONAL_DATA in permissions(event)
    header = [_("Bib"), _("Name"), _("Category"), _("Status")]
    if personal:
        header += [_("E-mail"), _("Phone"), _("Emergency contact")]
    rows = []
    for entry in entry_list.every_entry(event):
        if entry.withdrawn_at is not None:
            status = _("withdrawn")
        elif entry.user_id is not None:
            status = _("claimed")
        else:
            status = _("not claimed")
        name = entry.name or (entry.user.name if entry.user else "")
        row = [entry.bib or "", name, text_of(entry.category), status]
        if personal:
            row += [entry.email or "", entry.phone or "", entry.emergency_contact or ""]
        rows.append(row)
    day = clock.real_utcnow().astimezone(timing.zone_of(event)).strftime("%Y%m%d")
    return csv_response(f"{event.slug}-entries-{day}.csv", header, rows)


@bp.route("/events/<slug>/entries/<int:entry_id>", methods=["GET", "POST"])
@login_required
def entry_edit(slug: str, entry_id: int):
    """Correct an entry or move it to another category."""
    event, _role = event_for(slug, EDIT_ENTRIES)
    entry = entry_list.entry_of(event, entry_id)
    error = None
    if request.method == "POST":
        try:
            entry_list.correct(
                event,
                current_user,
                entry_id,
                name=request.form.get("name", ""),
                email=request.form.get("email", ""),
                phone=request.form.get("phone", ""),
                emergency_contact=request.form.get("emergency_contact", ""),
                category_code=request.form.get("category", ""),
                now=clock.real_utcnow(),
            )
        except DomainError as exc:
            error = exc.message
        else:
            flash(_("The entry of %(who)s is saved.", who=_who(entry)))
            return redirect(url_for("organizer.entries", slug=slug, q=entry.bib or ""))
    return (
        render_template(
            "organizer/entry_edit.html",
            event=event,
            entry=entry,
            form=request.form if request.method == "POST" else None,
            error=error,
        ),
        400 if error else 200,
    )


@bp.post("/events/<slug>/entries/<int:entry_id>/withdraw")
@login_required
def entry_withdraw(slug: str, entry_id: int):
    """Withdraw an entry (asked to confirm on the page first)."""
    event, _role = event_for(slug, EDIT_ENTRIES)
    require_confirmed(_("Tick “I confirm” to withdraw this entry."))
    entry = entry_list.withdraw(event, current_user, entry_id, now=clock.real_utcnow())
    flash(_("The entry of %(who)s is withdrawn.", who=_who(entry)))
    return redirect(url_for("organizer.entries", slug=slug))


@bp.post("/events/<slug>/entries/<int:entry_id>/reinstate")
@login_required
def entry_reinstate(slug: str, entry_id: int):
    """Put a withdrawn entry back on the list."""
    event, _role = event_for(slug, EDIT_ENTRIES)
    entry = entry_list.reinstate(event, current_user, entry_id, now=clock.real_utcnow())
    flash(_("Bib %(bib)s is back on the list, with a new claim code.", bib=entry.bib))
    return redirect(url_for("organizer.entries", slug=slug, q=entry.bib))


def _who(entry) -> str:
    """An entry as the organizer knows it: its bib, or the follower's name."""
    if entry.bib:
        return _("bib %(bib)s", bib=entry.bib)
    return entry.name or (entry.user.name if entry.user else _("a runner without a bib"))


# --- Import -----------------------------------------------------------------------------------


@bp.get("/events/<slug>/entries/import")
@login_required
def entries_import(slug: str):
    """Upload the entry list exported by the registration site."""
    event, _role = event_for(slug, EDIT_ENTRIES)
    return render_template(
        "organizer/entries_import.html",
        event=event,
        max_mb=entry_import.MAX_BYTES // (1024 * 1024),
    )


@bp.post("/events/<slug>/entries/import")
@login_required
def entries_upload(slug: str):
    """Keep the uploaded list for its review, and show the column mapping and every problem."""
    event, _role = event_for(slug, EDIT_ENTRIES)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(_("Choose the CSV file of the entry list."))
        return redirect(url_for("organizer.entries_import", slug=slug))
    raw = upload.stream.read(entry_import.MAX_BYTES + 1)
    table = entry_import.read_table(raw, upload.filename)  # a DomainError says what is wrong
    now = clock.real_utcnow()
    with write_transaction():
        # One list under review per organizer and race; old ones go.
        db.session.execute(
            delete(PendingUpload).where(
                (PendingUpload.created_at < now - timedelta(hours=UPLOAD_HOURS))
                | (
                    (PendingUpload.user_id == current_user.id)
                    & (PendingUpload.event_id == event.id)
                )
            )
        )
        pending = PendingUpload(
            event_id=event.id,
            user_id=current_user.id,
            filename=upload.filename[:255],
            data=raw,
            created_at=now,
        )
        db.session.add(pending)
    mapping = entry_import.guess_mapping(table.headers)
    return _review(event, pending, table, mapping)


def _pending(event, upload_id: int) -> PendingUpload:
    pending = db.session.scalar(
        select(PendingUpload).where(
            PendingUpload.id == upload_id,
            PendingUpload.event_id == event.id,
            PendingUpload.user_id == current_user.id,
            PendingUpload.created_at > clock.real_utcnow() - timedelta(hours=UPLOAD_HOURS),
        )
    )
    if pending is None:
        raise NotFound(_("This upload has expired. Upload the file again."))
    return pending


def _review(event, pending: PendingUpload, table, mapping, status: int = 200):
    plan = entry_import.check(event, table, mapping)
    return (
        render_template(
            "organizer/entries_review.html",
            event=event,
            pending=pending,
            table=table,
            mapping=mapping,
            plan=plan,
            fields=entry_import.MAPPABLE,
            labels=entry_import.FIELD_LABELS,
        ),
        status if plan.ok else 400,
    )


@bp.post("/events/<slug>/entries/import/<int:upload_id>")
@login_required
def entries_apply(slug: str, upload_id: int):
    """Check again with the columns as mapped; apply when asked and nothing is wrong."""
    event, _role = event_for(slug, EDIT_ENTRIES)
    pending = _pending(event, upload_id)
    table = entry_import.read_table(pending.data, pending.filename)
    mapping: dict[str, int | None] = {}
    for name in entry_import.MAPPABLE:
        value = request.form.get(f"map_{name}", "")
        mapping[name] = (
            int(value) if value.isdecimal() and int(value) < len(table.headers) else None
        )
    if request.form.get("apply") != "1":
        return _review(event, pending, table, mapping)
    plan = entry_import.check(event, table, mapping)
    if not plan.ok:
        return _review(event, pending, table, mapping, 400)
    summary = entry_import.apply(
        event, plan, current_user, filename=pending.filename, now=clock.real_utcnow()
    )
    with write_transaction():
        db.session.execute(delete(PendingUpload).where(PendingUpload.id == upload_id))
    flash(
        _(
            "Entry list imported: %(added)s added, %(updated)s updated, %(unchanged)s unchanged.",
            added=summary.added,
            updated=summary.updated,
            unchanged=summary.unchanged,
        )
    )
    return redirect(url_for("organizer.entries", slug=slug))


# --- Claim codes ------------------------------------------------------------------------------


@bp.get("/events/<slug>/entries/codes")
@login_required
def claim_codes(slug: str):
    """A printable sheet of the claim codes of entries not yet claimed."""
    event, _role = event_for(slug, EDIT_ENTRIES)
    return render_template(
        "organizer/claim_codes.html",
        event=event,
        rows=entry_list.unclaimed_with_codes(event, current_user, now=clock.real_utcnow()),
        join_url=url_for("entries.join", slug=slug, _external=True),
    )


@bp.post("/events/<slug>/entries/codes/send")
@login_required
def claim_codes_send(slug: str):
    """E-mail each unclaimed entry with an address its claim code."""
    event, _role = event_for(slug, EDIT_ENTRIES)
    require_confirmed(_("Tick “I confirm” to e-mail the codes."))
    rows = [
        (e, e.email, code)
        for e, code in entry_list.unclaimed_with_codes(event, current_user, now=clock.real_utcnow())
        if e.email
    ]
    language = event.language or current_language()
    link = url_for("entries.join", slug=slug, _external=True)
    # One SMTP connection for the whole list, after the answer.
    sending.send_batch(
        [
            sending.compose(
                "claim_code",
                address,
                language=language,
                event=event,
                entry=entry,
                code=code,
                link=link,
            )
            for entry, address, code in rows
        ]
    )
    with write_transaction():
        audit.record(
            event, current_user, "entry.code_sent", now=clock.real_utcnow(), count=len(rows)
        )
    current_app.logger.info("claim codes e-mailed for %s: %d", slug, len(rows))
    flash(
        ngettext(
            "The claim code was e-mailed to %(num)d entry.",
            "Claim codes were e-mailed to %(num)d entries.",
            len(rows),
        )
    )
    return redirect(url_for("organizer.entries", slug=slug))
