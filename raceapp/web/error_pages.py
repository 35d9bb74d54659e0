"""Error pages: every failure a runner can cause ends in a clear message and a 4xx.

A page for a browser, JSON for the push endpoint and other JSON callers, and for htmx a plain
text the page shows as it is (with `X-Error-Kind: csrf` when the page itself has expired).
"""

from __future__ import annotations

from flask import Flask, jsonify, make_response, render_template, request
from flask.wrappers import Response
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from raceapp.errors import DomainError
from raceapp.web.http import is_htmx
from raceapp.web.ratelimits import retry_after_seconds

MESSAGES = {
    400: "The request could not be understood.",
    403: "You are not allowed to do that.",
    404: "There is no such page.",
    405: "That action is not allowed here.",
    409: "That cannot be done now.",
    413: "What you sent is too large.",
    429: "Too many attempts. Wait a moment and try again.",
    500: "Something went wrong on our side. Try again in a moment.",
}
EXPIRED = "This form has expired or was not sent from this site. Reload the page and try again."


def render_error(status: int, message: str | None = None, *, kind: str = "error") -> Response:
    """The error as the caller can show it: a page, or for htmx the message alone."""
    message = message or MESSAGES.get(status, "")
    if is_htmx():
        response = make_response(message, status)
        response.mimetype = "text/plain"
        response.headers["X-Error-Kind"] = kind
        return response
    return make_response(
        render_template("errors/error.html", status=status, message=message), status
    )


def register(app: Flask) -> None:
    """Attach the handlers for HTTP errors, CSRF failures and domain errors."""

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
    def rate_limited(exc: RateLimitExceeded):
        seconds = retry_after_seconds()
        wait = (
            f"{seconds} seconds"
            if seconds < 90
            else f"{round(seconds / 60)} minutes"
            if seconds < 5400
            else f"{round(seconds / 3600)} hours"
        )
        message = (
            f"Too many attempts from this device, network or account. "
            f"Please wait {wait}, then try again."
        )
        if request.blueprint == "devices" or request.is_json:
            response = make_response(jsonify(error=message, retry_after=seconds), 429)
        else:
            response = render_error(429, message)
        response.headers["Retry-After"] = str(seconds)
        return response

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        return render_error(exc.code or 500, MESSAGES.get(exc.code or 500, exc.description))

    @app.errorhandler(500)
    def server_error(exc: Exception):
        return render_error(500)
