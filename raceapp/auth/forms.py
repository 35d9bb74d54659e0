"""Account forms (CSRF-protected through Flask-WTF)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from raceapp.services.accounts import MAX_PASSWORD, MIN_PASSWORD


class LoginForm(FlaskForm):
    email = EmailField("E-mail", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=MAX_PASSWORD)])


class SignupForm(FlaskForm):
    name = StringField(
        "Your name",
        validators=[
            DataRequired(),
            Length(max=120, message="Keep your name under 120 characters."),
        ],
    )
    email = EmailField("E-mail", validators=[DataRequired(), Length(max=254)])
    password = PasswordField(
        "Password",
        validators=[
            DataRequired(),
            Length(
                min=MIN_PASSWORD,
                max=MAX_PASSWORD,
                message=f"Choose a password of at least {MIN_PASSWORD} characters "
                f"(at most {MAX_PASSWORD}).",
            ),
        ],
        description=f"At least {MIN_PASSWORD} characters.",
    )
