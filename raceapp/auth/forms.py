"""Account forms (CSRF-protected through Flask-WTF); labels and messages in the reader's
language (lazy: the form class is made once, read in many languages)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from raceapp.services.accounts import MAX_PASSWORD, MIN_PASSWORD

REQUIRED = _l("This field is required.")


def new_password_field(label) -> PasswordField:
    """A password the runner chooses: its length rules said once, for every form."""
    return PasswordField(
        label,
        validators=[
            DataRequired(message=REQUIRED),
            Length(
                min=MIN_PASSWORD,
                max=MAX_PASSWORD,
                message=_l(
                    "Choose a password of at least %(min)d characters (at most %(max)d).",
                    min=MIN_PASSWORD,
                    max=MAX_PASSWORD,
                ),
            ),
        ],
        description=_l("At least %(count)d characters.", count=MIN_PASSWORD),
    )


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(message=REQUIRED), Length(max=254)])
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(message=REQUIRED), Length(max=MAX_PASSWORD)],
    )


class SignupForm(FlaskForm):
    name = StringField(
        _l("Your name"),
        validators=[
            DataRequired(message=REQUIRED),
            Length(max=120, message=_l("Keep your name under 120 characters.")),
        ],
    )
    email = EmailField(_l("E-mail"), validators=[DataRequired(message=REQUIRED), Length(max=254)])
    password = new_password_field(_l("Password"))


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(message=REQUIRED), Length(max=254)])


class NewPasswordForm(FlaskForm):
    password = new_password_field(_l("New password"))
