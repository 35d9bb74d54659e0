"""Static assets with content-versioned URLs, so they can be cached for a year and a deploy
still reaches every phone: a changed file gets a new URL, and a new service worker version."""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

from flask import Flask, current_app, request, url_for
from flask.wrappers import Response

from raceapp.i18n import LANGUAGES

# The app shell the service worker precaches: what every page needs, plus the offline page.
# (Notification icons are not in it: a push only ever arrives with a connection.)
SHELL_FILES = (
    "app.css",
    "messages.js",
    "app.js",
    "install.js",
    "push.js",
    "offline.js",
    "tick-queue.js",
    "race-rules.js",
    "countdown.js",
    "pace.js",
    "help.js",
    "vendor/htmx/htmx-2.0.11.min.js",
)
YEAR = 365 * 24 * 3600
# iPhone launch screens (scripts/make_icons.py draws them): (CSS width, CSS height, pixel ratio),
# each in the light and the dark theme's page colour.
LAUNCH_SCREEN_SIZES = ((375, 667, 2), (390, 844, 3), (393, 852, 3), (414, 896, 2), (430, 932, 3))
SCHEMES = ("light", "dark")


# (media query, static file) of each iPhone launch screen, for the pages' <link> tags.
LAUNCH_SCREENS = tuple(
    (
        f"screen and (device-width: {width}px) and (device-height: {height}px) and "
        f"(-webkit-device-pixel-ratio: {ratio}) and (orientation: portrait) and "
        f"(prefers-color-scheme: {scheme})",
        f"icons/splash-{width * ratio}x{height * ratio}-{scheme}.png",
    )
    for width, height, ratio in LAUNCH_SCREEN_SIZES
    for scheme in SCHEMES
)


@lru_cache(maxsize=256)
def _digest(path: str, mtime_ns: int) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


def file_version(filename: str) -> str | None:
    """A short hash of a static file's content (None if there is no such file)."""
    path = Path(current_app.static_folder or "") / filename
    try:
        return _digest(str(path), path.stat().st_mtime_ns)
    except OSError:
        return None


def add_static_version(endpoint: str, values: dict) -> None:
    """url_for('static', filename=...) gets ?v=<content hash>."""
    if endpoint == "static" and "v" not in values:
        version = file_version(values.get("filename", ""))
        if version:
            values["v"] = version


def cache_static(response: Response) -> Response:
    """A versioned static URL never changes content: let browsers keep it for a year."""
    if request.endpoint != "static":
        return response
    if (
        response.status_code == 200
        and response.mimetype in current_app.config["COMPRESS_MIMETYPES"]
    ):
        # Read the (small) file, so the compression step compresses it whole.
        response.direct_passthrough = False
        response.set_data(response.get_data())
    if request.args.get("v") and response.status_code == 200:
        response.cache_control.no_cache = None
        response.cache_control.public = True
        response.cache_control.max_age = YEAR
        response.cache_control.immutable = True
    return response


def offline_urls() -> dict[str, str]:
    """The offline page in each language: the service worker shows the reader's."""
    return {language: url_for("site.offline", lang=language) for language in LANGUAGES}


def shell_urls() -> list[str]:
    return [url_for("static", filename=f) for f in SHELL_FILES] + list(offline_urls().values())


def service_worker_source(template: str) -> str:
    """The service worker with its build (version and shell URLs) written in; any change to
    the worker, the shell or RACEAPP_RELEASE makes a new version, which replaces the old."""
    shell = shell_urls()
    release = current_app.config.get("RACEAPP_RELEASE", "")
    version = hashlib.sha256(json.dumps([template, shell, release]).encode()).hexdigest()[:12]
    build = json.dumps(
        {
            "version": version,
            "shell": shell,
            "offline": offline_urls(),
            "queue": url_for("static", filename="tick-queue.js"),
            "messages": url_for("static", filename="messages.js"),
            "icon": url_for("static", filename="icons/icon-192.png"),
            "badge": url_for("static", filename="icons/badge-96.png"),
        }
    )
    return f"const BUILD = {build};\n{template}"


def register(app: Flask) -> None:
    app.url_defaults(add_static_version)
    app.jinja_env.globals["launch_screens"] = LAUNCH_SCREENS
    app.after_request(cache_static)
