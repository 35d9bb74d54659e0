"""Sign up, log in and log out."""

from __future__ import annotations

from datetime import timedelta

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
from raceapp.auth.forms import ForgotPasswordForm, LoginForm, NewPasswordForm, SignupForm
from raceapp.errors import DomainError
from raceapp.extensions import login_manager
from raceapp.i18n import current_language
from raceapp.links import safe_local_url
from raceapp.mail import sending
from raceapp.services import accounts
from raceapp.vocabulary import PASSWORD_RESET, SIGN_UP
from raceapp.web import languages
from raceapp.web.http import never_stored
from raceapp.web.ratelimits import by_submitted_email, limited

bp = Blueprint("auth", __name__, url_prefix="/auth", cli_group="users")
bp.after_request(never_stored)

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
    """Ask for an account: a link to finish it goes to the address given."""
    form = SignupForm()
    if request.method == "POST":
        if not form.validate():
            return render_template("auth/signup.html", form=form), 400
        config = current_app.config
        try:
            asked = accounts.request_sign_up(
                form.email.data,
                form.name.data,
                form.password.data,
                now=clock.real_utcnow(),
                lifetime=timedelta(hours=config["SIGNUP_LINK_HOURS"]),
                # A visitor who chose a language keeps it on their new account.
                language=languages.chosen_language(),
            )
            language = current_language()
            if asked.existing is not None:
                # The owner hears of it; the visitor sees what a new address would show.
                message = sending.compose(
                    "signup_existing",
                    asked.email,
                    language=asked.existing.language or language,
                    name=asked.existing.name,
                    login_link=url_for("auth.login", _external=True),
                    reset_link=url_for("auth.forgot_password", _external=True),
                )
            else:
                message = sending.compose(
                    "signup_confirm",
                    asked.email,
                    language=language,
                    name=asked.name,
                    link=url_for("auth.confirm", token=asked.token, _external=True),
                    hours=config["SIGNUP_LINK_HOURS"],
                )
            sending.send(message)
        except DomainError as exc:
            form.form_errors.append(exc.message)
            return render_template("auth/signup.html", form=form), exc.status
        return render_template("auth/check_inbox.html", email=asked.email, purpose="sign-up")
    return render_template("auth/signup.html", form=form)


@bp.route("/confirm/<token>", methods=["GET", "POST"])
def confirm(token: str):
    """Finish a sign-up from the e-mailed link (a button: mail scanners open links too)."""
    now = clock.real_utcnow()
    try:
        if request.method == "GET":
            link = accounts.open_link(token, SIGN_UP, now=now)
            return render_template("auth/confirm.html", email=link.email)
        user = accounts.confirm_sign_up(token, now=now)
    except DomainError as exc:
        return render_template("auth/link_problem.html", message=exc.message), exc.status
    _begin_session(user)
    flash(_("Welcome, %(name)s. Now join your race.", name=user.name))
    return redirect(url_for("events.index"))


@bp.route("/forgot", methods=["GET", "POST"])
@limited("RESET", by_submitted_email, methods=["POST"])
def forgot_password():
    """Ask for a link to choose a new password."""
    form = ForgotPasswordForm()
    if request.method == "POST":
        if not form.validate():
            return render_template("auth/forgot.html", form=form), 400
        minutes = current_app.config["PASSWORD_RESET_MINUTES"]
        found = accounts.request_password_reset(
            form.email.data, now=clock.real_utcnow(), lifetime=timedelta(minutes=minutes)
        )
        email = accounts.normalise_email(form.email.data)
        if found is not None:
            user, token = found
            try:
                sending.send(
                    sending.compose(
                        "password_reset",
                        user.email,
                        language=user.language or current_language(),
                        name=user.name,
                        link=url_for("auth.reset_password", token=token, _external=True),
                        minutes=minutes,
                    )
                )
            except DomainError as exc:
                form.form_errors.append(exc.message)
                return render_template("auth/forgot.html", form=form), exc.status
        return render_template("auth/check_inbox.html", email=email, purpose="password-reset")
    return render_template("auth/forgot.html", form=form)


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    """Choose a new password from the e-mailed link; every other device is logged out."""
    now = clock.real_utcnow()
    form = NewPasswordForm()
    try:
        link = accounts.open_link(token, PASSWORD_RESET, now=now)
    except DomainError as exc:
        return render_template("auth/link_problem.html", message=exc.message), exc.status
    if request.method == "POST":
        if not form.validate():
            return render_template("auth/reset.html", form=form, email=link.email), 400
        try:
            user = accounts.reset_password(token, form.password.data, now=now)
        except DomainError as exc:
            form.form_errors.append(exc.message)
            return render_template("auth/reset.html", form=form, email=link.email), exc.status
        _begin_session(user)
        flash(_("Your password is changed. Every other device is logged out."))
        response = redirect(url_for("kit.home"))
        return languages.remember(response, user.language) if user.language else response
    return render_template("auth/reset.html", form=form, email=link.email)


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
        # An organizer who runs no race of their own lands on their console, not the join page.
        landing = (
            url_for("organizer.dashboard")
            if accounts.is_organizer(user) and not user.entries
            else url_for("kit.home")
        )
        response = redirect(safe_local_url(request.args.get("next"), landing))
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
