"""The race's team: invite by e-mail with a role, remove, cancel an invitation; and the page
an invited person opens from the e-mail."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from raceapp import clock
from raceapp.errors import DomainError
from raceapp.i18n import current_language
from raceapp.mail import sending
from raceapp.organizer import bp
from raceapp.organizer.common import event_for, require_confirmed
from raceapp.services import team
from raceapp.vocabulary import TEAM, TEAM_ROLES


def _page(event, error: str | None = None, form=None, status: int = 200):
    now = clock.real_utcnow()
    return (
        render_template(
            "organizer/team.html",
            event=event,
            members=team.members(event),
            invitations=team.pending_invitations(event, now=now),
            roles=TEAM_ROLES,
            error=error,
            form=form or {},
        ),
        status,
    )


@bp.get("/events/<slug>/team")
@login_required
def team_page(slug: str):
    """Who is in the race's team, with what role; invitations still open."""
    event, _role = event_for(slug, TEAM)
    return _page(event)


@bp.post("/events/<slug>/team")
@login_required
def team_invite(slug: str):
    """Invite someone by e-mail with a role; the link works for a week."""
    event, _role = event_for(slug, TEAM)
    email, role = request.form.get("email", ""), request.form.get("role", "")
    try:
        token = team.invite(event, current_user, email, role, now=clock.real_utcnow())
        sending.send(
            sending.compose(
                "team_invitation",
                email.strip(),
                language=current_language(),
                event=event,
                role=TEAM_ROLES[role],
                inviter=current_user.name,
                link=url_for("organizer.team_join", token=token, _external=True),
                days=team.INVITATION_DAYS,
            )
        )
    except DomainError as exc:
        return _page(event, exc.message, request.form, exc.status)
    flash(_("Invitation sent to %(email)s.", email=email.strip()))
    return redirect(url_for("organizer.team_page", slug=slug))


@bp.post("/events/<slug>/team/<int:role_id>/remove")
@login_required
def team_remove(slug: str, role_id: int):
    """Take someone off the team (asked to confirm on the page first)."""
    event, _role = event_for(slug, TEAM)
    require_confirmed(_("Tick “I confirm” to remove this person from the team."))
    team.remove_member(event, current_user, role_id, now=clock.real_utcnow())
    flash(_("Removed from the team."))
    return redirect(url_for("organizer.team_page", slug=slug))


@bp.post("/events/<slug>/team/invitations/<int:invitation_id>/cancel")
@login_required
def team_cancel_invitation(slug: str, invitation_id: int):
    """Cancel an invitation: its link stops working."""
    event, _role = event_for(slug, TEAM)
    require_confirmed(_("Tick “I confirm” to cancel this invitation."))
    team.cancel_invitation(event, current_user, invitation_id, now=clock.real_utcnow())
    flash(_("Invitation cancelled."))
    return redirect(url_for("organizer.team_page", slug=slug))


@bp.route("/join/<token>", methods=["GET", "POST"])
@login_required
def team_join(token: str):
    """Accept an invitation to a race's team (logged in with the invited address)."""
    now = clock.real_utcnow()
    invitation = team.open_invitation(token, now=now)
    if request.method == "POST":
        event = team.accept(token, current_user, now=now)
        flash(_("You are in the team of this race."))
        return redirect(url_for("organizer.event_page", slug=event.slug))
    return render_template(
        "organizer/team_join.html",
        invitation=invitation,
        role=TEAM_ROLES[invitation.role],
        mismatch=current_user.email.lower() != invitation.email,
    )
