"""Security headers on every response: a strict Content-Security-Policy and its companions.

No inline script or style anywhere (htmx runs with allowEval false and its indicator styles
off), so the policy needs neither 'unsafe-inline' nor 'unsafe-eval'.
"""

from __future__ import annotations

from flask import Flask, g, request
from flask.wrappers import Response

CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "manifest-src 'self'",
        "worker-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
HSTS = "max-age=63072000; includeSubDomains"
# The Help page asks for the phone's position when the runner taps (this site only); the
# camera is off everywhere but the staff page at the bus door, which scans tickets with it.
PERMISSIONS = "camera=(), microphone=(), geolocation=(self)"
CAMERA_PERMISSIONS = "camera=(self), microphone=(), geolocation=(self)"


def allow_camera(response: Response) -> Response:
    """Let this page (and only it) open the camera."""
    response.headers["Permissions-Policy"] = CAMERA_PERMISSIONS
    return response


def allow_style(source: str) -> None:
    """Allow one inline style on this page by its hash (a race's colour): never 'unsafe-inline'."""
    g.setdefault("style_sources", []).append(source)


def add_headers(response: Response) -> Response:
    headers = response.headers
    # A 304 has no body: the page kept by the browser keeps the policy it came with (a 304's
    # headers replace the kept ones, and this one does not know the page's inline style).
    if response.status_code != 304:
        sources = " ".join(["style-src 'self'", *g.get("style_sources", [])])
        headers.setdefault("Content-Security-Policy", CSP.replace("style-src 'self'", sources))
    headers.setdefault("X-Content-Type-Options", "nosniff")
    # Secret URLs (the calendar feed) must not leak to other sites through the Referer.
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Permissions-Policy", PERMISSIONS)
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def register(app: Flask) -> None:
    app.after_request(add_headers)
