"""A race's team: who may do what on the organizer's console, and invitations by e-mail."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import select, update

from raceapp.database import write_transaction
from raceapp.errors import Conflict, DomainError, Forbidden, NotFound
from raceapp.extensions import db
from raceapp.models import Event, OrganizerRole, TeamInvitation, User
from raceapp.services import audit
from raceapp.services.accounts import EMAIL_RE, normalise_email
from raceapp.vocabulary import HEADQUARTERS, ROLE_PERMISSIONS, TEAM_ROLES

INVITATION_DAYS = 7


def role_of(user, event: Event) -> str | None:
    """The user's role in the event's team, or None."""
    if not getattr(user, "is_authenticated", False):
        return None
    return db.session.scalar(
        select(OrganizerRole.role).where(
            OrganizerRole.user_id == user.id, OrganizerRole.event_id == event.id
        )
    )


def permissions(user, event: Event) -> frozenset[str]:
    """Everything the user's role in the event's team allows (nothing outside the team)."""
    role = role_of(user, event)
    return ROLE_PERMISSIONS[role] if role else frozenset()


def may(user, event: Event, permission: str) -> bool:
    """Whether the user's role in the event's team grants the permission."""
    role = role_of(user, event)
    return role is not None and permission in ROLE_PERMISSIONS[role]


def require(user, event: Event, permission: str) -> str:
    """The user's role, if it grants the permission; otherwise NotFound (not a member: the page
    does not exist for them) or a 403 that names what their role lacks."""
    role = role_of(user, event)
    if role is None:
        raise NotFound(_("This page does not exist, or is not yours."))
    if permission not in ROLE_PERMISSIONS[role]:
        raise Forbidden(
            _("Your role in this race (%(role)s) does not allow this.", role=TEAM_ROLES[role])
        )
    return role


@dataclass
class Member:
    role: OrganizerRole
    user: User


def members(event: Event) -> list[Member]:
    """The event's team, headquarters first."""
    rows = db.session.execute(
        select(OrganizerRole, User)
        .join(User, User.id == OrganizerRole.user_id)
        .where(OrganizerRole.event_id == event.id)
        .order_by(OrganizerRole.role, User.email)
    ).all()
    return [Member(role, user) for role, user in rows]


def pending_invitations(event: Event, *, now: datetime) -> list[TeamInvitation]:
    return list(
        db.session.scalars(
            select(TeamInvitation)
            .where(
                TeamInvitation.event_id == event.id,
                TeamInvitation.accepted_at.is_(None),
                TeamInvitation.revoked_at.is_(None),
                TeamInvitation.expires_at > now,
            )
            .order_by(TeamInvitation.created_at)
        )
    )


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invite(event: Event, by: User, email: str, role: str, *, now: datetime) -> str:
    """Invite an address to the team with a role; the token goes in the e-mailed link."""
    if role not in TEAM_ROLES:
        raise DomainError(_("Choose one of the roles offered."))
    email = normalise_email(email)
    if not EMAIL_RE.match(email):
        raise DomainError(_("Enter an e-mail address that can receive mail."))
    token = secrets.token_urlsafe(32)
    with write_transaction():
        member = db.session.scalar(
            select(OrganizerRole.id)
            .join(User, User.id == OrganizerRole.user_id)
            .where(OrganizerRole.event_id == event.id, User.email == email)
        )
        if member is not None:
            raise Conflict(_("%(email)s is already in this race's team.", email=email))
        # One open invitation per address: a new one (another role) replaces the earlier.
        _cancel_open(event.id, email, now=now)
        db.session.add(
            TeamInvitation(
                event_id=event.id,
                email=email,
                role=role,
                token_sha256=_hash(token),
                invited_by_id=by.id,
                created_at=now,
                expires_at=now + timedelta(days=INVITATION_DAYS),
            )
        )
        audit.record(event, by, "team.invited", now=now, email=email, role=role)
    return token


def open_invitation(token: str, *, now: datetime) -> TeamInvitation:
    """The invitation a link carries, while it can still be accepted."""
    invitation = db.session.scalar(
        select(TeamInvitation).where(TeamInvitation.token_sha256 == _hash(token))
    )
    if (
        invitation is None
        or invitation.accepted_at is not None
        or invitation.revoked_at is not None
        or invitation.expires_at <= now
    ):
        raise NotFound(
            _("This invitation has expired, was used or was cancelled. Ask for a new one.")
        )
    return invitation


def _lock_event(event_id: int) -> None:
    """The event's row lock: team changes of one race take turns (so two members removing
    each other cannot leave it without headquarters)."""
    db.session.execute(select(Event.id).where(Event.id == event_id).with_for_update())


def _cancel_open(event_id: int, email: str, *, now: datetime) -> None:
    """Cancel the open invitations of an address to a race (their links stop working)."""
    db.session.execute(
        update(TeamInvitation)
        .where(
            TeamInvitation.event_id == event_id,
            TeamInvitation.email == email,
            TeamInvitation.accepted_at.is_(None),
            TeamInvitation.revoked_at.is_(None),
        )
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )


def accept(token: str, user: User, *, now: datetime) -> Event:
    """Join the team with the invitation's role. Only the invited address may accept; an
    existing member keeps their role (an invitation never changes one)."""
    with write_transaction():
        invitation = open_invitation(token, now=now)
        _lock_event(invitation.event_id)
        if normalise_email(user.email) != invitation.email:
            raise Forbidden(
                _(
                    "This invitation is for %(email)s. Log in with that address to accept it.",
                    email=invitation.email,
                )
            )
        invitation.accepted_at = now
        existing = db.session.scalar(
            select(OrganizerRole).where(
                OrganizerRole.user_id == user.id, OrganizerRole.event_id == invitation.event_id
            )
        )
        if existing is not None:
            return invitation.event
        db.session.add(
            OrganizerRole(user_id=user.id, event_id=invitation.event_id, role=invitation.role)
        )
        audit.record(
            invitation.event, user, "team.joined", now=now, email=user.email, role=invitation.role
        )
        return invitation.event


def remove_member(event: Event, by: User, role_id: int, *, now: datetime) -> None:
    """Take someone off the team. The last headquarters member cannot leave it headless."""
    with write_transaction():
        _lock_event(event.id)
        role = db.session.scalar(
            select(OrganizerRole).where(
                OrganizerRole.id == role_id, OrganizerRole.event_id == event.id
            )
        )
        if role is None:
            raise NotFound(_("This person is not in the team."))
        if role.role == HEADQUARTERS:
            others = db.session.scalar(
                select(OrganizerRole.id).where(
                    OrganizerRole.event_id == event.id,
                    OrganizerRole.role == HEADQUARTERS,
                    OrganizerRole.id != role.id,
                )
            )
            if others is None:
                raise Conflict(
                    _(
                        "A race needs someone at headquarters: invite another before "
                        "removing this one."
                    )
                )
        audit.record(event, by, "team.revoked", now=now, email=role.user.email)
        # An invitation still open for the address would let them back in.
        _cancel_open(event.id, normalise_email(role.user.email), now=now)
        db.session.delete(role)


def cancel_invitation(event: Event, by: User, invitation_id: int, *, now: datetime) -> None:
    """Cancel an invitation that was not accepted yet: its link stops working."""
    with write_transaction():
        invitation = db.session.scalar(
            select(TeamInvitation).where(
                TeamInvitation.id == invitation_id,
                TeamInvitation.event_id == event.id,
                TeamInvitation.accepted_at.is_(None),
                TeamInvitation.revoked_at.is_(None),
            )
        )
        if invitation is None:
            raise NotFound(_("This invitation was already used or cancelled."))
        invitation.revoked_at = now
        audit.record(event, by, "team.invitation_revoked", now=now, email=invitation.email)
