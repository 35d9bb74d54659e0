"""Checks that run before every request, whatever the blueprint."""

from __future__ import annotations

from flask import Flask, g, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from raceapp.web.error_pages import render_error

# While previewing another moment nothing is saved: the clock is not the real one, so a
# booking, a tick or an alert would carry a time that never happened. Ending the preview,
# logging in or out, a device's push subscription and the language are not race data and stay
# allowed.
WRITES_ALLOWED_IN_PREVIEW = frozenset(
    {"preview", "auth", "devices", "kit.switch_race", "site.choose_language"}
)
PREVIEW_REFUSAL = _l(
    "Preview: nothing is saved. Choose “Back to now” at the top of the page "
    "to book, tick or post for real."
)


def reject_nul_bytes():
    """No text field may hold NUL: PostgreSQL cannot store it and no human types it."""
    values = [*request.args.values(), *request.path.split("/")]
    if request.method == "POST" and request.mimetype in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        values += [*request.form.values(), *request.form.keys()]
    if any("\x00" in value for value in values):
        return render_error(400, _("The request contains characters that are not allowed."))
    return None


def refuse_writes_in_preview():
    """A write while previewing is refused with a message that says why (nothing is saved)."""
    if g.get("preview_as_of") is None or request.method in ("GET", "HEAD", "OPTIONS"):
        return None
    if {request.blueprint, request.endpoint} & WRITES_ALLOWED_IN_PREVIEW:
        return None
    return render_error(409, PREVIEW_REFUSAL)


def register(app: Flask) -> None:
    app.before_request(reject_nul_bytes)
