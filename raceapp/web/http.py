"""HTTP details in one place: htmx requests, and the cache policy of private pages."""

from __future__ import annotations

import hashlib
import json

from flask import g
from flask_babel import gettext as _
from htmx_flask import request
from werkzeug.wrappers import Response


def is_htmx() -> bool:
    """Whether this request was made by htmx (and wants a fragment)."""
    return bool(request.htmx)


def private_page(response: Response) -> Response:
    """A page made for one person: phones may keep it but must revalidate it every time, and
    the same URL answers a page and an htmx fragment (so no cache may mix them up)."""
    response.vary.add("HX-Request")
    response.vary.add("Cookie")
    if request.method == "GET" and response.status_code in (200, 304):
        response.headers["Cache-Control"] = "private, no-cache"
    return response


def never_stored(response: Response) -> Response:
    """A page no cache may keep, the phone's own included: forms whose token belongs to this
    moment's session (log in, sign up, password links) and account pages. A stale copy of a
    form shown on a slow line would only fail when sent."""
    response.headers["Cache-Control"] = "no-store"
    response.vary.add("Cookie")
    return response


def revalidate(response: Response) -> Response:
    """`private_page`, plus an ETag so that a phone that has the page gets a 304."""
    response = private_page(response)
    if request.method != "GET" or response.status_code != 200 or response.is_streamed:
        return response
    if response.get_etag()[0] is not None:  # the view made a cheaper one (kit home)
        return response.make_conditional(request)
    body = response.get_data()
    # The signed CSRF token carries a timestamp, so it differs every second; any copy of it
    # stays valid for the session, so it must not make an unchanged page look changed.
    token = g.get("csrf_token")
    if token:
        body = body.replace(token.encode(), b"")
    response.set_etag(hashlib.sha256(body).hexdigest()[:32])
    return response.make_conditional(request)


def not_modified(etag: str) -> Response:
    """A 304 for a page whose validator the view worked out without making the page."""
    response = Response(status=304)
    response.set_etag(etag, weak=True)
    return private_page(response)


class BadJSON(ValueError):
    """A request body that is not JSON this app can take (the message says why)."""


# A subscription is two levels deep; nothing the app takes needs more than a few.
JSON_MAX_DEPTH = 8


def _plain(value: object, depth: int = 0) -> object:
    """`value` if it is JSON of sane depth whose every text is Unicode (no lone surrogates,
    which JSON's \\ud800 escapes allow and no database can store)."""
    if depth > JSON_MAX_DEPTH:
        raise BadJSON(_("The JSON is nested too deeply."))
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise BadJSON(_("The JSON holds text that is not valid Unicode.")) from None
    elif isinstance(value, list):
        for item in value:
            _plain(item, depth + 1)
    elif isinstance(value, dict):
        for key, item in value.items():
            _plain(key, depth + 1)
            _plain(item, depth + 1)
    return value


def json_body(max_bytes: int) -> object:
    """The request's JSON body, checked once for every JSON endpoint: a size limit, valid JSON
    (however deep it tries to go), Unicode text. Raises BadJSON otherwise."""
    if request.content_length is None or request.content_length > max_bytes:
        raise BadJSON(_("The body is missing or too large."))
    if not request.is_json:
        raise BadJSON(_("Send JSON (Content-Type: application/json)."))
    raw = request.get_data(cache=True)
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        raise BadJSON(_("The body is not valid JSON.")) from None
    return _plain(value)
