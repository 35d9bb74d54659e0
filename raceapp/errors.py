"""Error pages: every failure a runner can cause ends in a clear page and a 4xx."""
from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from raceapp.ratelimits import retry_after_seconds
from raceapp.services.errors import DomainError

MESSAGES = {
    400: "The request could not be understood.",
    403: "You are not allowed to do that.",
    404: "There is no such page.",
    405: "That action is not allowed here.",
    413: "What you sent is too large.",
    429: "Too many attempts. Wait a moment and try again.",
    500: "Something went wrong on our side. Try again in a moment.",
}


def render_error(status: int, message: str | None = None):
    return render_template(
        "errors/error.html", status=status, message=message or MESSAGES.get(status, "")
    ), status


def register(app: Flask) -> None:
    """Attach the handlers for HTTP errors, CSRF failures and domain errors."""

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        return render_error(400, "This form has expired or was not sent from this site. "
                                 "Reload the page and try again.")

    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        body, status = render_error(exc.status, exc.message)
        return (body, status, {"Retry-After": "2"}) if status == 503 else (body, status)

    @app.errorhandler(RateLimitExceeded)
    def rate_limited(exc: RateLimitExceeded):
        seconds = retry_after_seconds()
        wait = (f"{seconds} seconds" if seconds < 90
                else f"{round(seconds / 60)} minutes" if seconds < 5400
                else f"{round(seconds / 3600)} hours")
        message = (f"Too many attempts from this device, network or account. "
                   f"Please wait {wait}, then try again.")
        headers = {"Retry-After": str(seconds)}
        if request.blueprint == "push" or request.is_json:
            return jsonify(error=message, retry_after=seconds), 429, headers
        return *render_error(429, message), headers

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        return render_error(exc.code or 500, MESSAGES.get(exc.code or 500, exc.description))

    @app.errorhandler(500)
    def server_error(exc: Exception):
        return render_error(500)
