"""Site-wide pages: home, the service worker, the web app manifest, the offline page, health."""

from __future__ import annotations

import json

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from raceapp import clock
from raceapp.config import PROJECT_ROOT
from raceapp.i18n import current_language, known
from raceapp.links import safe_local_url
from raceapp.racefile import logo as logo_files
from raceapp.services import accounts, catalog
from raceapp.web import assets, languages
from raceapp.web.error_pages import render_error

bp = Blueprint("site", __name__)


@bp.get("/")
def home():
    """Landing page: the runner's races first, then every race."""
    return render_template("home.html", view=catalog.home(current_user, now=clock.utcnow()))


# A logo's address carries its version: a new logo is a new address, so any copy may be kept.
# An SVG opened on its own is a document: nothing in it may run or load.
LOGO_CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox"


@bp.get("/logos/<slug>.<ext>")
def race_logo(slug: str, ext: str):
    """A race's logo, as its race file gave it."""
    logo = catalog.logo_of(slug)
    if logo is None or logo_files.EXTENSIONS.get(logo.content_type) != ext:
        abort(404)
    response = Response(logo.data, mimetype=logo.content_type)
    response.set_etag(logo.sha256)
    if request.args.get("v") == logo.sha256[:12]:
        response.cache_control.public = True
        response.cache_control.max_age = assets.YEAR
        response.cache_control.immutable = True
    else:
        response.cache_control.no_cache = True
    response.headers["Content-Security-Policy"] = LOGO_CSP
    return response.make_conditional(request)


@bp.get("/sw.js")
def service_worker():
    """The service worker, served from the root so that it controls every page."""
    template = (PROJECT_ROOT / "service_worker" / "sw.js").read_text()
    response = Response(assets.service_worker_source(template), mimetype="text/javascript")
    # Always revalidated, so a deploy reaches phones on their next visit.
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = "/"
    # Browsers check for a new worker on every visit: unchanged, that costs a 304.
    response.add_etag()
    return response.make_conditional(request)


@bp.get("/manifest.webmanifest")
def manifest():
    """The web app manifest: install to the home screen, open on the race kit."""

    def icon(name: str, size: int, purpose: str = "any") -> dict:
        return {
            "src": url_for("static", filename=f"icons/{name}"),
            "sizes": f"{size}x{size}",
            "type": "image/png",
            "purpose": purpose,
        }

    body = {
        # Installed from a Japanese page, the home screen says it in Japanese.
        "name": _("raceapp: your race kit"),
        "short_name": _("raceapp"),
        "id": "/me",
        "description": _("Cut-offs, gear, schedule, shuttles and alerts for trail races, offline."),
        "start_url": url_for("kit.home"),
        "scope": "/",
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#f3f4f1",  # the page background (--bg): the splash
        "theme_color": "#14532d",
        "lang": current_language(),
        "icons": [
            icon("icon-192.png", 192),
            icon("icon-512.png", 512),
            icon("maskable-512.png", 512, "maskable"),
        ],
    }
    response = Response(json.dumps(body, ensure_ascii=False), mimetype="application/manifest+json")
    response.cache_control.max_age = 3600
    return response


@bp.post("/language")
def choose_language():
    """One tap in the header: this page, and every page after it, in the chosen language."""
    language = known(request.form.get("language"))
    if language is None:
        return render_error(400, _("Choose Japanese or English."))
    if current_user.is_authenticated:
        accounts.set_language(current_user, language)
    back = safe_local_url(request.form.get("next"), url_for("site.home"))
    return languages.remember(redirect(back, code=303), language)


@bp.get("/offline")
def offline():
    """The page the service worker shows for a page it has not cached (one per language:
    `?lang=ja`)."""
    return render_template("offline.html")


@bp.get("/healthz")
def healthz():
    """Liveness probe for the process manager."""
    return {"ok": True}
