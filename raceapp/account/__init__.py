"""The runner's account: alerts by e-mail, password, address, their data, and deleting it."""

from __future__ import annotations

import json
from datetime import timedelta

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, logout_user

from raceapp import clock
from raceapp.errors import DomainError
from raceapp.i18n import current_language
from raceapp.mail import sending
from raceapp.services import account_data, accounts
from raceapp.vocabulary import EMAIL_CHANGE
from raceapp.web.http import never_stored
from raceapp.web.ratelimits import by_user, limited

bp = Blueprint("account", __name__, url_prefix="/account")
bp.after_request(never_stored)

EMAIL_CHANGE_HOURS = 24


def _page(status: int = 200, **errors: str):
    return render_template("account/settings.html", errors=errors), status


@bp.get("/")
@login_required
def settings():
    """The account's settings, on one page."""
    return _page()


@bp.post("/alerts")
@login_required
def email_alerts():
    """Choose whether every alert comes by e-mail, or only the urgent ones."""
    accounts.set_email_alerts(current_user, request.form.get("every_alert") == "1")
    flash(_("Saved."))
    return redirect(url_for("account.settings"), code=303)


@bp.post("/password")
@login_required
@limited("RESET", by_user, methods=["POST"])
def password():
    """Change the password; every other device is logged out."""
    try:
        accounts.change_password(
            current_user,
            request.form.get("current", ""),
            request.form.get("new", ""),
            keep_token=current_user.session_token,
            now=clock.real_utcnow(),
        )
    except DomainError as exc:
        return _page(exc.status, password=exc.message)
    flash(_("Your password is changed. Every other device is logged out."))
    return redirect(url_for("account.settings"), code=303)


@bp.post("/email")
@login_required
@limited("RESET", by_user, methods=["POST"])
def email():
    """Ask to move the account to a new address: a link goes there to confirm it."""
    try:
        change = accounts.request_email_change(
            current_user,
            request.form.get("email", ""),
            request.form.get("password", ""),
            now=clock.real_utcnow(),
            lifetime=timedelta(hours=EMAIL_CHANGE_HOURS),
        )
        if change.token is None:
            # That address has an account: its owner hears of it; this page says the same.
            message = sending.compose(
                "email_taken",
                change.email,
                language=current_language(),
                login_link=url_for("auth.login", _external=True),
            )
        else:
            message = sending.compose(
                "email_change",
                change.email,
                language=current_language(),
                name=current_user.name,
                link=url_for("account.confirm_email", token=change.token, _external=True),
                hours=EMAIL_CHANGE_HOURS,
            )
        sending.send(message)
    except DomainError as exc:
        return _page(exc.status, email=exc.message)
    flash(
        _(
            "We sent a link to %(email)s. Your address changes when you open it.",
            email=change.email,
        )
    )
    return redirect(url_for("account.settings"), code=303)


@bp.route("/email/<token>", methods=["GET", "POST"])
def confirm_email(token: str):
    """Confirm a new address from the e-mailed link (a button: mail scanners open links)."""
    now = clock.real_utcnow()
    try:
        if request.method == "GET":
            link = accounts.open_link(token, EMAIL_CHANGE, now=now)
            return render_template("account/confirm_email.html", email=link.email)
        user = accounts.confirm_email_change(token, now=now)
    except DomainError as exc:
        return render_template("auth/link_problem.html", message=exc.message), exc.status
    flash(_("Your address is now %(email)s.", email=user.email))
    target = "account.settings" if current_user.is_authenticated else "auth.login"
    return redirect(url_for(target), code=303)


@bp.get("/data.json")
@login_required
def export():
    """Download everything stored about the runner, as JSON."""
    data = account_data.export(current_user, now=clock.real_utcnow())
    body = json.dumps(data, ensure_ascii=False, indent=2)
    return Response(
        body,
        mimetype="application/json",
        headers={
            "Content-Disposition": 'attachment; filename="raceapp-my-data.json"',
            "Cache-Control": "no-store",
        },
    )


@bp.post("/delete")
@login_required
def delete():
    """Delete the account for good (the password is asked again)."""
    try:
        account_data.delete_account(
            current_user, request.form.get("password", ""), now=clock.real_utcnow()
        )
    except DomainError as exc:
        return _page(exc.status, delete=exc.message)
    logout_user()
    session.clear()
    flash(_("Your account is deleted. Your entries stay with the organizer, without your name."))
    current_app.logger.info("an account was deleted at its owner's request")
    return redirect(url_for("site.home"), code=303)
