"""Site-wide pages: home, the service worker, the web app manifest, the offline page, health."""

from __future__ import annotations

import json

from flask import Blueprint, Response, render_template, request, url_for
from flask_login import current_user

from raceapp import clock
from raceapp.config import PROJECT_ROOT
from raceapp.services import catalog
from raceapp.web import assets

bp = Blueprint("site", __name__)


@bp.get("/")
def home():
    """Landing page: the runner's races first, then every race."""
    return render_template("home.html", view=catalog.home(current_user, now=clock.utcnow()))


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
        "name": "raceapp: your race kit",
        "short_name": "raceapp",
        "id": "/me",
        "description": "Cut-offs, gear, schedule, shuttles and alerts for trail races, offline.",
        "start_url": url_for("kit.home"),
        "scope": "/",
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#f4f4f2",
        "theme_color": "#14532d",
        "lang": "en",
        "icons": [
            icon("icon-192.png", 192),
            icon("icon-512.png", 512),
            icon("maskable-512.png", 512, "maskable"),
        ],
    }
    response = Response(json.dumps(body), mimetype="application/manifest+json")
    response.cache_control.max_age = 3600
    return response


@bp.get("/offline")
def offline():
    """The page the service worker shows for a page it has not cached."""
    return render_template("offline.html")


@bp.get("/healthz")
def healthz():
    """Liveness probe for the process manager."""
    return {"ok": True}
