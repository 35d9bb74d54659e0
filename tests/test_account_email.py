"""Accounts by e-mail: a sign-up finished from a link, nothing that tells whether an address
has an account, password reset by a single-use link, and real SMTP delivery (retried on a
temporary failure, given up on a permanent one, never hanging a request for ever)."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from raceapp import create_app
from raceapp.extensions import db
from raceapp.mail import sending
from raceapp.mail.addresses import is_deliverable_address
from raceapp.models import EmailLink, LoginSession, User
from tests.helpers import (
    PASSWORD,
    csrf_from,
    link_in,
    open_sign_up_link,
    sent_mail,
    sign_up,
)
from tests.mail_server import html_part, text_part

NEW_PASSWORD = "kumano kodo at dawn"


def page_without_tokens(response) -> str:
    return re.sub(
        r'value="[^"]{20,}"|content="[^"]{20,}"|"X-CSRFToken": "[^"]+"',
        "",
        response.get_data(as_text=True),
    )


def forgot(client, email: str, **environ):
    token = csrf_from(client.get("/auth/forgot").get_data(as_text=True))
    return client.post(
        "/auth/forgot", data={"email": email, "csrf_token": token}, environ_base=environ
    )


def choose_password(client, path: str, password: str = NEW_PASSWORD):
    page = client.get(path)
    assert page.status_code == 200, page.get_data(as_text=True)
    token = csrf_from(page.get_data(as_text=True))
    return client.post(path, data={"password": password, "csrf_token": token})


# --- Sign-up without enumeration ------------------------------------------------------------


def test_signing_up_with_a_known_address_looks_the_same_and_tells_its_owner(app, make_user):
    owner = make_user("aki@example.com", "Aki Owner")
    new = sign_up(app.test_client(), email="someone-new@example.com")
    known = sign_up(app.test_client(), email="aki@example.com", name="Mallory")
    assert new.status_code == known.status_code == 200
    # The same page, but for the address each visitor typed.
    assert page_without_tokens(new).replace("someone-new@example.com", "X") == page_without_tokens(
        known
    ).replace("aki@example.com", "X")
    # The owner is told, with a way in; no second account and no sign-up link exist for it.
    to_owner = sent_mail(app)[-1]
    assert to_owner.to == ["aki@example.com"]
    assert "You already have an account" in to_owner.subject
    assert "Hello Aki Owner," in to_owner.body and "Mallory" not in to_owner.body
    assert link_in(to_owner, "/auth/login") and link_in(to_owner, "/auth/forgot")
    assert db.session.scalar(select(func.count()).select_from(User)) == 1
    assert db.session.scalar(select(EmailLink).where(EmailLink.email == "aki@example.com")) is None
    assert db.session.get(User, owner.id).name == "Aki Owner"


def test_a_sign_up_link_opened_after_the_address_got_an_account_is_refused(app):
    first, second = app.test_client(), app.test_client()
    sign_up(first)
    sign_up(second, name="Aki Again")
    first_link = link_in(sent_mail(app)[0], "/auth/confirm/")
    assert open_sign_up_link(app, second).status_code == 302  # the second link, opened first
    page = first.get(first_link)
    response = first.post(first_link, data={"csrf_token": csrf_from(page.get_data(as_text=True))})
    assert response.status_code == 409 and "already exists" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(User)) == 1


def test_a_sign_up_link_expires(app, client, frozen_clock):
    start = frozen_clock(datetime(2026, 11, 28, 9, 0, tzinfo=timezone.utc))
    sign_up(client)
    frozen_clock(start + timedelta(hours=app.config["SIGNUP_LINK_HOURS"], seconds=1))
    response = client.get(link_in(sent_mail(app)[-1], "/auth/confirm/"))
    assert response.status_code == 410 and "expired" in response.get_data(as_text=True)
    assert client.get("/auth/confirm/not-a-real-token").status_code == 404


def test_the_sign_up_email_is_in_the_visitors_language(app, client):
    client.set_cookie("lang", "ja")
    sign_up(client, name="秋山")
    [message] = sent_mail(app)
    assert "メールアドレスの確認" in message.subject
    assert "秋山さん" in message.body
    assert message.extra_headers["Content-Language"] == "ja"


# --- Password reset ----------------------------------------------------------------------------


def test_forgot_password_sends_a_single_use_link_and_logs_out_everywhere(app, make_user):
    user = make_user("aki@example.com")
    other_phone = app.test_client()
    token = csrf_from(other_phone.get("/auth/login").get_data(as_text=True))
    other_phone.post(
        "/auth/login", data={"email": "aki@example.com", "password": PASSWORD, "csrf_token": token}
    )
    assert other_phone.get("/me").status_code == 200

    client = app.test_client()
    asked = forgot(client, "Aki@Example.com ")
    assert asked.status_code == 200 and "If an account uses" in asked.get_data(as_text=True)
    [message] = sent_mail(app)
    assert message.to == ["aki@example.com"] and "Choose a new password" in message.subject
    path = link_in(message, "/auth/reset/")
    done = choose_password(client, path)
    assert done.status_code == 302 and done.headers["Location"] == "/me"
    assert client.get("/me").status_code == 200
    # The other phone (who knew the old password) is out; the old password no longer works.
    assert other_phone.get("/me").status_code == 302
    assert (
        db.session.scalar(
            select(func.count()).select_from(LoginSession).where(LoginSession.user_id == user.id)
        )
        == 1
    )
    fresh = app.test_client()
    token = csrf_from(fresh.get("/auth/login").get_data(as_text=True))
    old = fresh.post(
        "/auth/login", data={"email": "aki@example.com", "password": PASSWORD, "csrf_token": token}
    )
    assert old.status_code == 401
    # Single use.
    again = client.get(path)
    assert again.status_code == 410 and "used already" in again.get_data(as_text=True)


def test_forgot_password_says_the_same_for_unknown_addresses_and_sends_nothing(app, make_user):
    make_user("aki@example.com")
    known = forgot(app.test_client(), "aki@example.com")
    unknown = forgot(app.test_client(), "nobody@example.com")
    assert known.status_code == unknown.status_code == 200
    assert page_without_tokens(known).replace("aki@example.com", "X") == page_without_tokens(
        unknown
    ).replace("nobody@example.com", "X")
    assert [m.to for m in sent_mail(app)] == [["aki@example.com"]]


def test_forgot_password_takes_as_long_for_unknown_addresses(
    app, make_user, smtp_server, monkeypatch
):
    """Mail goes out after the answer, so a known address is not answered more slowly."""
    monkeypatch.setattr(sending, "RETRY_DELAYS", (0.01,))
    make_user("aki@example.com")
    app.config["MAIL_SEND_AFTER_RESPONSE"] = True
    smtp_server.answer("hang")  # even a mail server that never answers does not slow the page

    def timed(email: str) -> float:
        client = app.test_client()
        begun = time.perf_counter()
        assert forgot(client, email).status_code == 200
        return time.perf_counter() - begun

    known = sorted(timed("aki@example.com") for _ in range(5))[2]
    unknown = sorted(timed("nobody@example.com") for _ in range(5))[2]
    assert known < 0.5 and unknown < 0.5
    assert abs(known - unknown) < 0.1
    deadline = time.monotonic() + 10
    while len(smtp_server.received) < 4:  # the four after the hung one
        assert time.monotonic() < deadline, smtp_server.handler.attempts
        time.sleep(0.05)


def test_a_reset_link_expires_after_an_hour(app, make_user, frozen_clock):
    make_user("aki@example.com")
    start = frozen_clock(datetime(2026, 11, 28, 9, 0, tzinfo=timezone.utc))
    client = app.test_client()
    forgot(client, "aki@example.com")
    path = link_in(sent_mail(app)[-1], "/auth/reset/")
    frozen_clock(start + timedelta(minutes=59))
    assert client.get(path).status_code == 200
    frozen_clock(start + timedelta(minutes=60))
    expired = client.get(path)
    assert expired.status_code == 410 and "expired" in expired.get_data(as_text=True)


def test_a_reset_link_changes_only_its_own_account(app, make_user):
    aki = make_user("aki@example.com")
    ben = make_user("ben@example.com")
    before = db.session.get(User, ben.id).password_hash
    client = app.test_client()
    forgot(client, "aki@example.com")
    choose_password(client, link_in(sent_mail(app)[-1], "/auth/reset/"))
    db.session.expire_all()
    assert db.session.get(User, ben.id).password_hash == before
    assert db.session.get(User, aki.id).password_hash != before
    # A sign-up link is not a reset link, nor the other way round.
    sign_up(app.test_client(), email="carol@example.com")
    signup_token = link_in(sent_mail(app)[-1], "/auth/confirm/").rsplit("/", 1)[1]
    assert client.get(f"/auth/reset/{signup_token}").status_code == 404


def test_a_new_password_follows_the_password_rules_and_keeps_the_link(app, make_user):
    make_user("aki.tanaka@example.com")
    client = app.test_client()
    forgot(client, "aki.tanaka@example.com")
    path = link_in(sent_mail(app)[-1], "/auth/reset/")
    for bad, words in [
        ("short", "at least 8"),
        ("password1", "most common"),
        ("aki.tanaka99", "e-mail"),
    ]:
        response = choose_password(client, path, bad)
        assert response.status_code == 400 and words in response.get_data(as_text=True), bad
    assert choose_password(client, path).status_code == 302


def test_reset_requests_are_limited_per_account(app, make_user):
    from raceapp.extensions import limiter

    make_user("aki@example.com")
    app.config.update(RATELIMIT_ENABLED=True, RESET_LIMIT_PER_ACCOUNT="2 per hour")
    limiter.init_app(app)
    assert (
        forgot(app.test_client(), "aki@example.com", REMOTE_ADDR="203.0.113.1").status_code == 200
    )
    assert (
        forgot(app.test_client(), "aki@example.com", REMOTE_ADDR="203.0.113.2").status_code == 200
    )
    refused = forgot(app.test_client(), "aki@example.com", REMOTE_ADDR="203.0.113.3")
    assert refused.status_code == 429
    assert len(sent_mail(app)) == 2
    # Unknown addresses are limited the same way, so the limit tells nothing either.
    for address in ("203.0.113.4", "203.0.113.5"):
        forgot(app.test_client(), "nobody@example.com", REMOTE_ADDR=address)
    assert (
        forgot(app.test_client(), "nobody@example.com", REMOTE_ADDR="203.0.113.6").status_code
        == 429
    )


# --- Real SMTP ----------------------------------------------------------------------------------


def test_mail_reaches_a_real_smtp_server_as_text_and_html(app, client, smtp_server):
    client.set_cookie("lang", "ja")
    sign_up(client, name="秋山")
    [received] = smtp_server.received
    assert received["X-Envelope-To"] == "aki@example.com"
    assert received.get_content_type() == "multipart/alternative"
    assert "メールアドレスの確認" in received["Subject"]
    assert "raceapp" in received["Subject"]
    link = re.search(r"https?://\S+/auth/confirm/\S+", text_part(received)).group(0)
    assert f'href="{link}"' in html_part(received)
    assert received["Content-Language"] == "ja"


def test_a_temporary_failure_is_retried(app, client, smtp_server, monkeypatch):
    monkeypatch.setattr(sending, "RETRY_DELAYS", (0.01, 0.01))
    smtp_server.answer("451 4.3.0 Try again later")
    assert sign_up(client).status_code == 200
    assert smtp_server.handler.attempts == 2 and len(smtp_server.received) == 1


def test_a_permanent_failure_is_not_retried_and_the_page_says_so(app, client, smtp_server):
    smtp_server.answer("550 5.1.1 No such mailbox")
    response = sign_up(client)
    assert response.status_code == 503
    assert "could not send the e-mail" in response.get_data(as_text=True)
    assert smtp_server.handler.attempts == 1 and smtp_server.received == []


def test_a_server_that_never_answers_times_out(app, client, smtp_server, monkeypatch):
    monkeypatch.setattr(sending, "RETRY_DELAYS", (0.01,))
    smtp_server.use_with(app, MAIL_TIMEOUT=0.5)
    smtp_server.answer("hang", "hang")
    begun = time.monotonic()
    response = sign_up(client)
    assert response.status_code == 503
    assert time.monotonic() - begun < 5


def test_no_mail_server_at_all_is_a_clear_503(app, client, smtp_server, monkeypatch):
    monkeypatch.setattr(sending, "RETRY_DELAYS", ())
    smtp_server.controller.stop()
    smtp_server.controller.start = lambda: None  # the fixture's stop() must not fail
    smtp_server.controller.stop = lambda: None
    response = sign_up(client)
    assert response.status_code == 503
    assert "Try again in a few minutes" in response.get_data(as_text=True)


# --- Settings and the demo's mailbox ----------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "ok"),
    [
        ("alerts@okushinano-trail.jp", True),
        ("raceapp <no-reply@mail.raceapp.org>", True),
        ("mailto:hq@kagaspa.jp", True),
        ("alerts@raceapp.example", False),
        ("no-reply@localhost", False),
        ("raceapp <no-reply@localhost>", False),
        ("x@example.com", False),
        ("x@host.test", False),
        ("not an address", False),
        ("", False),
    ],
)
def test_which_addresses_can_receive_mail(address, ok):
    assert is_deliverable_address(address) is ok


def test_production_refuses_to_start_without_real_mail_settings(database_url):
    settings = dict(
        SQLALCHEMY_DATABASE_URI=database_url,
        SECRET_KEY="s" * 40,
        TRUSTED_HOSTS=["raceapp.example.org"],
    )
    with pytest.raises(RuntimeError, match="MAIL_SERVER"):
        create_app("production", MAIL_BACKEND="raceapp.mail.mailbox", MAIL_SERVER=None, **settings)
    mail = dict(MAIL_BACKEND="smtp", MAIL_SERVER="smtp.okushinano-trail.jp")
    with pytest.raises(RuntimeError, match="MAIL_DEFAULT_SENDER"):
        create_app("production", **mail, **settings)
    mail["MAIL_DEFAULT_SENDER"] = "Okushinano 100 <no-reply@okushinano-trail.jp>"
    with pytest.raises(RuntimeError, match="VAPID_CONTACT_EMAIL"):
        create_app("production", **mail, **settings)
    create_app("production", VAPID_CONTACT_EMAIL="hq@okushinano-trail.jp", **mail, **settings)
    # The local demo keeps its mail in the local mailbox.
    demo = create_app("production", RACEAPP_DEMO=True, MAIL_SERVER=None, **settings)
    assert demo.config["MAIL_BACKEND"] == "raceapp.mail.mailbox"


def test_the_demo_keeps_its_mail_in_a_local_mailbox_shown_at_dev_mail(app, tmp_path):
    from raceapp.extensions import mailman

    app.config.update(
        MAIL_BACKEND="raceapp.mail.mailbox",
        MAIL_FILE_PATH=str(tmp_path / "mail"),
        RACEAPP_DEMO=True,
    )
    mailman.init_app(app)
    client = app.test_client()
    sign_up(client, name="Aki")
    index = client.get("/dev/mail/").get_data(as_text=True)
    assert "Confirm your e-mail address" in index and "aki@example.com" in index
    key = re.search(r'href="/dev/mail/([^"]+)"', index).group(1)
    one = client.get(f"/dev/mail/{key}").get_data(as_text=True)
    link = re.search(r'href="(https?://[^"]+/auth/confirm/[^"]+)"', one).group(1)
    assert client.get(link).status_code == 200
    assert client.get("/dev/mail/no-such-key").status_code == 404
    # Not outside the demo or development: the messages hold anyone's links.
    app.config["RACEAPP_DEMO"] = False
    assert client.get("/dev/mail/").status_code == 404
