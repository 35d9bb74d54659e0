"""What every console page needs: the event, if the caller's role allows the page."""

from __future__ import annotations

from flask_login import current_user

from raceapp.models import Event
from raceapp.services import catalog, team


def event_for(slug: str, permission: str) -> tuple[Event, str]:
    """The event and the caller's role in its team; 404 for outsiders, 403 for a role that
    lacks the permission."""
    event = catalog.event_by_slug(slug)
    role = team.require(current_user, event, permission)
    return event, role


def permissions(event: Event) -> set[str]:
    """What the caller may do in this event, for the page to offer only that."""
    return set(team.permissions(current_user, event))
