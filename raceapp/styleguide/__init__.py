"""The design system in one page (development only): each token and component of
static/app.css as the app draws it, light and dark, in the reader's language."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template

from raceapp.vocabulary import RACE_STATES
from raceapp.web.http import never_stored

bp = Blueprint("styleguide", __name__)
bp.after_request(never_stored)

# The colour tokens, by role: what a designer checks against each other for contrast.
COLOURS = (
    ("bg", "card", "surface-2", "ink", "muted", "line"),
    ("brand", "brand-text", "link", "accent", "focus"),
    ("danger", "danger-text", "danger-bg", "danger-ink"),
    ("ok", "ok-bg", "ok-ink", "warn-bg", "warn-ink", "warn-text"),
    ("info-bg", "info-ink", "neutral-bg", "neutral-ink", "highlight"),
)


@bp.before_request
def _only_in_development() -> None:
    if not (current_app.config["DEBUG"] or current_app.config["TESTING"]):
        abort(404)


@bp.get("/styleguide")
def page():
    """Every token and component of the stylesheet on one page."""
    return render_template("styleguide/page.html", colours=COLOURS, states=tuple(RACE_STATES))
