"""The reader's language: an explicit choice (on the account, or in a cookie for visitors),
else what the browser asks for, else the race's own language. Every page, message, date and
race text follows it; so do `<html lang>`, Content-Language and the cached offline pages."""

from __future__ import annotations

import re

from flask import Flask, current_app, has_request_context, request
from flask_login import current_user
from werkzeug.wrappers import Response

from raceapp.extensions import db
from raceapp.i18n import DEFAULT_LANGUAGE, current_language, known
from raceapp.models import Event

COOKIE = "lang"
SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,79}")
COOKIE_DAYS = 365
# Pages fetched without the reader's cookie say their language in the address (`?lang=ja`):
# the service worker's offline page, and a calendar app's subscription.
ADDRESSED = frozenset({"site.offline", "kit.calendar_feed"})
# Responses whose words depend on the reader's language.
_WORDED = (
    "text/html",
    "application/json",
    "text/calendar",
    "text/csv",
    "application/manifest+json",
)


def chosen_language() -> str | None:
    """The language the person chose in the app, if they did."""
    if current_user and current_user.is_authenticated:
        mine = known(current_user.language)
        if mine:
            return mine
    return known(request.cookies.get(COOKIE))


def _browser_language() -> str | None:
    """The first language the browser asks for (by preference) that the app speaks: "en-GB"
    counts as English, and it beats a "ja" the browser likes less."""
    for value, _quality in request.accept_languages:  # most wanted first
        language = known(value)
        if language:
            return language
    return None


def _race_language() -> str | None:
    slug = (request.view_args or {}).get("slug")
    # Only a possible race address is looked up (an error page for a slug of NUL bytes must
    # not itself fail on the database).
    if not isinstance(slug, str) or not SLUG.fullmatch(slug):
        return None
    return known(db.session.query(Event.language).filter(Event.slug == slug).scalar())


def select_language() -> str | None:
    """Flask-Babel's locale selector (None outside a request: the default language)."""
    if not has_request_context():
        return None
    return (known(request.args.get("lang")) if request.endpoint in ADDRESSED else None) or (
        chosen_language()
        or _browser_language()
        or _race_language()
        or known(current_app.config["DEFAULT_LANGUAGE"])
        or DEFAULT_LANGUAGE
    )


def remember(response: Response, language: str) -> Response:
    """Keep a visitor's choice in a cookie (an account keeps it too)."""
    response.set_cookie(
        COOKIE,
        language,
        max_age=COOKIE_DAYS * 86400,
        samesite="Lax",
        secure=current_app.config["SESSION_COOKIE_SECURE"],
        httponly=True,
    )
    return response


def content_language(response: Response) -> Response:
    """Say which language the page is in, and that it depends on the asker's."""
    if response.mimetype in _WORDED:
        response.headers["Content-Language"] = current_language()
        response.vary.add("Accept-Language")
        response.vary.add("Cookie")
    return response


def register(app: Flask) -> None:
    app.after_request(content_language)
