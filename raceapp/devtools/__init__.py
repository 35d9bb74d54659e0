"""Pages for the local demo and development only: the mail the app would have sent."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template

from raceapp.mail.mailbox import MAILBOX_BACKEND, one_stored_mail, stored_mail
from raceapp.web.http import never_stored

bp = Blueprint("devtools", __name__, url_prefix="/dev")
bp.after_request(never_stored)


@bp.before_request
def _only_with_a_local_mailbox() -> None:
    # Only where mail goes to the local mailbox and the app is the demo or in development:
    # the messages hold sign-up and reset links for anyone's address.
    config = current_app.config
    if config["MAIL_BACKEND"] != MAILBOX_BACKEND or not (config["RACEAPP_DEMO"] or config["DEBUG"]):
        abort(404)


@bp.get("/mail/")
def mail():
    """The e-mails the app would have sent, newest first."""
    messages = stored_mail(current_app.config["MAIL_FILE_PATH"])
    return render_template("devtools/mail.html", messages=messages)


@bp.get("/mail/<key>")
def mail_message(key: str):
    """One of them, as its recipient would read it."""
    message = one_stored_mail(current_app.config["MAIL_FILE_PATH"], key)
    if message is None:
        abort(404)
    return render_template("devtools/mail_message.html", message=message)
