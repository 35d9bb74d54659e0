"""Error pages: every failure a runner can cause ends in a clear message and a 4xx.

A page for a browser, JSON for the push endpoint and other JSON callers, and for htmx a plain
text the page shows as it is (with `X-Error-Kind: csrf` when the page itself has expired).
"""

from __future__ import annotations

from flask import Flask, jsonify, make_response, render_template, request
from flask.wrappers import Response
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, SecurityError

from raceapp.errors import DomainError
from raceapp.web.http import is_htmx
from raceapp.web.ratelimits import TooManyAttempts, retry_after_seconds

MESSAGES = {
    400: _l("The request could not be understood."),
    403: _l("You are not allowed to do that."),
    404: _l("There is no such page."),
    405: _l("That action is not allowed here."),
    409: _l("That cannot be done now."),
    413: _l("What you sent is too large."),
    429: _l("Too many attempts. Wait a moment and try again."),
    500: _l("Something went wrong on our side. Try again in a moment."),
}
# The heading of the error page, by status.
HEADINGS = {
    400: _l("That didn't work"),
    401: _l("Not logged in"),
    403: _l("Not allowed"),
    404: _l("Not found"),
    405: _l("Not allowed"),
    409: _l("Not possible now"),
    413: _l("Too large"),
    429: _l("Slow down"),
}
# Uploads and the limit a person is told when a file is over it (docs/organizers.md).
UPLOAD_LIMITS = {
    "organizer.entries_upload": "2 MB",
    "organizer.course_upload": "20 MB",
    "organizer.race_file_preview": "200 KB",
    "organizer.race_file_publish": "200 KB",
}
EXPIRED = _l("This form has expired or was not sent from this site. Reload the page and try again.")


def render_error(status: int, message: str | None = None, *, kind: str = "error") -> Response:
    """The error as the caller can show it: a page, or for htmx the message alone."""
    message = str(message or MESSAGES.get(status, ""))
    if is_htmx():
        response = make_response(message, status)
        response.mimetype = "text/plain"
        response.headers["X-Error-Kind"] = kind
        return response
    return make_response(
        render_template(
            "errors/error.html",
            status=status,
            message=message,
            heading=HEADINGS.get(status, _l("Something went wrong")),
        ),
        status,
    )


def register(app: Flask) -> None:
    """Attach the handlers for HTTP errors, CSRF failures and domain errors."""

    @app.errorhandler(SecurityError)
    def untrusted_host(exc: SecurityError):
        # A Host header not in TRUSTED_HOSTS: no page can be made (it would link to that host).
        return Response("Unknown host.\n", status=400, mimetype="text/plain")

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        return render_error(400, EXPIRED, kind="csrf")

    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        response = render_error(exc.status, exc.message)
        if exc.status == 503:
            response.headers["Retry-After"] = "2"
        return response

    @app.errorhandler(RateLimitExceeded)
    @app.errorhandler(TooManyAttempts)
    def rate_limited(exc: Exception):
        seconds = retry_after_seconds()
        if seconds < 90:
            wait = ngettext("%(num)d second", "%(num)d seconds", seconds)
        elif seconds < 5400:
            wait = ngettext("%(num)d minute", "%(num)d minutes", round(seconds / 60))
        else:
            wait = ngettext("%(num)d hour", "%(num)d hours", round(seconds / 3600))
        message = _(
            "Too many attempts from this device, network or account. "
            "Please wait %(wait)s, then try again.",
            wait=wait,
        )
        if request.blueprint == "devices" or request.is_json:
            response = make_response(jsonify(error=message, retry_after=seconds), 429)
        else:
            response = render_error(429, message)
        response.headers["Retry-After"] = str(seconds)
        return response

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        code = exc.code or 500
        if code == 413 and request.endpoint in UPLOAD_LIMITS:
            # An upload over its documented limit: say the limit.
            return render_error(
                413,
                _(
                    "The file is too large: at most %(size)s. Check that it is the right file.",
                    size=UPLOAD_LIMITS[request.endpoint],
                ),
            )
        return render_error(code, MESSAGES.get(code) or exc.description)

    @app.errorhandler(500)
    def server_error(exc: Exception):
        return render_error(500)
