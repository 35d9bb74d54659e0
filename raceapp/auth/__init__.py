"""Sign up, log in and log out."""

from __future__ import annotations

import click
from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user

from raceapp import clock
from raceapp.auth.forms import LoginForm, SignupForm
from raceapp.errors import DomainError
from raceapp.extensions import login_manager
from raceapp.links import safe_local_url
from raceapp.services import accounts
from raceapp.web import languages
from raceapp.web.ratelimits import by_submitted_email, limited

bp = Blueprint("auth", __name__, url_prefix="/auth", cli_group="users")

login_manager.login_view = "auth.login"
login_manager.login_message = _l("Log in to see your race kit.")
# The message is flashed in the reader's language (and stored in the session as text).
login_manager.localize_callback = str


@login_manager.user_loader
def _load_user(token: str):
    return accounts.load_user(token, now=clock.real_utcnow())


def _begin_session(user) -> None:
    # A fresh session on login: nothing set before (by anyone) carries over.
    session.clear()
    accounts.start_session(
        user, now=clock.real_utcnow(), lifetime=current_app.config["PERMANENT_SESSION_LIFETIME"]
    )
    session.permanent = True
    login_user(user)


@bp.route("/signup", methods=["GET", "POST"])
@limited("SIGNUP", by_submitted_email, methods=["POST"])
def signup():
    """Create a runner account and log in."""
    form = SignupForm()
    if request.method == "POST":
        if not form.validate():
            return render_template("auth/signup.html", form=form), 400
        try:
            user = accounts.sign_up(
                form.email.data,
                form.name.data,
                form.password.data,
                now=clock.real_utcnow(),
                # A visitor who chose a language keeps it on their new account.
                language=languages.chosen_language(),
            )
        except DomainError as exc:
            form.form_errors.append(exc.message)
            return render_template("auth/signup.html", form=form), exc.status
        _begin_session(user)
        flash(_("Welcome, %(name)s. Now join your race.", name=user.name))
        return redirect(url_for("events.index"))
    return render_template("auth/signup.html", form=form)


@bp.route("/login", methods=["GET", "POST"])
@limited("LOGIN", by_submitted_email, methods=["POST"], only_failures=True)
def login():
    """Log in with e-mail and password."""
    form = LoginForm()
    if request.method == "POST":
        if not form.validate():
            return render_template("auth/login.html", form=form), 400
        user = accounts.authenticate(form.email.data, form.password.data)
        if user is None:
            form.form_errors.append(_("Wrong e-mail or password."))
            return render_template("auth/login.html", form=form), 401
        _begin_session(user)
        response = redirect(safe_local_url(request.args.get("next"), url_for("kit.home")))
        # The account's language wins from now on, on this device too once logged out.
        return languages.remember(response, user.language) if user.language else response
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@login_required
def logout():
    """End this device's session for good."""
    accounts.end_session(current_user.session_token)
    logout_user()
    session.clear()
    flash(_("You are logged out."))
    return redirect(url_for("site.home"))


@bp.cli.command("create-organizer")
@click.argument("email")
@click.option("--name", default="Race organizer", show_default=True)
@click.option("--event", "events", multiple=True, required=True, help="Event slug (repeatable).")
@click.password_option()
def create_organizer_command(email: str, name: str, events: tuple[str, ...], password: str) -> None:
    """Create an organizer account (or add events to an existing one)."""
    try:
        accounts.create_organizer(email, name, password, list(events), now=clock.real_utcnow())
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"{email} organizes {', '.join(events)}")
