"""What every console page needs: the event, if the caller's role allows the page; what that
role allows (for the page to offer only that); and the confirm box of destructive steps."""

from __future__ import annotations

from flask import g, request
from flask_login import current_user

from raceapp.errors import DomainError
from raceapp.models import Event
from raceapp.services import catalog, team
from raceapp.vocabulary import ROLE_PERMISSIONS


def event_for(slug: str, permission: str) -> tuple[Event, str]:
    """The event and the caller's role in its team; 404 for outsiders, 403 for a role that
    lacks the permission. Every console view starts here, so the role is looked up once a
    request: what it allows is kept for the page (`permissions`, and `may` in templates)."""
    event = catalog.event_by_slug(slug)
    role = team.require(current_user, event, permission)
    g.console_may = set(ROLE_PERMISSIONS[role])
    g.console_event = event.id
    return event, role


def permissions(event: Event) -> set[str]:
    """What the caller may do in this event (after `event_for` in the same request)."""
    if g.get("console_event") == event.id:
        return set(g.console_may)
    return set(team.permissions(current_user, event))


def require_confirmed(message: str) -> None:
    """A destructive step goes only with its "I confirm" box ticked."""
    if request.form.get("confirm") != "1":
        raise DomainError(message)
