"""Sign-up, log-in, sessions that really end, joining a race, organizer roles."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from raceapp.extensions import db
from raceapp.models import EmailLink, Entry, LoginSession, OrganizerRole, User
from raceapp.services import accounts
from tests.helpers import PASSWORD, csrf_from, link_in, open_sign_up_link, sent_mail, sign_up


def signup(client, **fields):
    return sign_up(client, **fields)


def test_signup_sends_a_link_that_makes_the_account_hashed_with_argon2id(client, app):
    response = signup(client)
    assert response.status_code == 200
    assert "We sent a link to <strong>aki@example.com</strong>" in response.get_data(as_text=True)
    # Nothing exists and nobody is logged in until the link is opened.
    assert db.session.scalar(select(User).where(User.email == "aki@example.com")) is None
    assert client.get("/me").status_code == 302
    [message] = sent_mail(app)
    assert message.to == ["aki@example.com"] and "Confirm your e-mail address" in message.subject
    assert message.alternatives[0][1] == "text/html"
    opened = open_sign_up_link(app, client)
    assert opened.status_code == 302 and opened.headers["Location"] == "/events/"
    user = db.session.scalar(select(User).where(User.email == "aki@example.com"))
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    assert user.email_verified_at is not None and user.name == "Aki"
    assert client.get("/me").status_code == 200
    # The link worked once.
    again = client.get(link_in(message, "/auth/confirm/"))
    assert again.status_code == 410 and "used already" in again.get_data(as_text=True)


def test_signup_bad_input_is_a_clear_4xx_and_writes_nothing(client, app, make_user):
    cases = [
        ({"email": "not-an-email"}, 400, "valid e-mail"),
        ({"password": "short"}, 400, "at least 8"),
        ({"name": ""}, 400, "This field is required"),
        ({"password": "x" * 300}, 400, "256"),
        # In the list of common passwords shipped with the app, whatever the case.
        ({"password": "password1"}, 400, "most common"),
        ({"password": "Sunshine1"}, 400, "most common"),
        ({"password": "qwertyuiop"}, 400, "most common"),
    ]
    for fields, status, words in cases:
        response = signup(client, **fields)
        assert response.status_code == status, fields
        assert words in response.get_data(as_text=True), fields
    assert db.session.scalar(select(User).where(User.email == "aki@example.com")) is None
    assert db.session.scalar(select(EmailLink)) is None
    assert sent_mail(app) == []


def test_post_without_csrf_token_fails_with_400(client, app, make_user):
    make_user("a@example.com")
    response = client.post("/auth/login", data={"email": "a@example.com", "password": PASSWORD})
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)


def test_login_wrong_password_and_unknown_email(auth, make_user):
    make_user("a@example.com")
    assert auth.login("a@example.com", "wrong password").status_code == 401
    assert auth.login("nobody@example.com").status_code == 401
    ok = auth.login("A@Example.com ")
    assert ok.status_code == 302 and ok.headers["Location"] == "/me"


def test_login_redirects_only_to_local_pages(client, make_user):
    make_user("a@example.com")
    for target, expected in [
        ("/events/", "/events/"),
        ("https://evil.example/", "/me"),
        ("//evil.example", "/me"),
    ]:
        token = csrf_from(client.get("/auth/login").get_data(as_text=True))
        response = client.post(
            f"/auth/login?next={target}",
            data={"email": "a@example.com", "password": PASSWORD, "csrf_token": token},
        )
        assert response.headers["Location"] == expected


def test_session_is_permanent_for_a_race_weekend(client, auth, make_user):
    make_user("a@example.com")
    auth.login("a@example.com")
    cookie = client.get_cookie("session")
    assert cookie.expires is not None and cookie.http_only


def test_logout_really_ends_the_session(client, auth, make_user):
    make_user("a@example.com")
    auth.login("a@example.com")
    stolen = client.get_cookie("session").value
    assert client.get("/me").status_code == 200
    assert auth.logout().status_code == 302
    assert db.session.scalar(select(LoginSession)) is None
    client.set_cookie("session", stolen)  # replay the cookie from before the logout
    response = client.get("/me")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_login_starts_a_new_session(client, auth, make_user):
    make_user("a@example.com")
    client.get("/auth/login")
    with client.session_transaction() as sess:
        sess["planted"] = "by an attacker"
    auth.login("a@example.com")
    with client.session_transaction() as sess:
        assert "planted" not in sess


def test_old_hashes_are_upgraded_on_login(auth, make_user):
    user = make_user("a@example.com")
    user.password_hash = PasswordHasher(time_cost=1, memory_cost=512).hash(PASSWORD)
    db.session.commit()
    assert auth.login("a@example.com").status_code == 302
    db.session.expire_all()
    assert not accounts.hasher().check_needs_rehash(db.session.get(User, user.id).password_hash)


def test_every_real_configuration_hashes_at_owasps_minimum_or_above(monkeypatch):
    from argon2 import extract_parameters

    from raceapp import create_app
    from raceapp.config import DevelopmentConfig, ProductionConfig

    for config in (DevelopmentConfig, ProductionConfig):
        assert (config.ARGON2_TIME_COST, config.ARGON2_MEMORY_KIB) >= (1, 46 * 1024)
    with create_app("development").app_context():
        params = extract_parameters(accounts.hasher().hash("a long enough password"))
    assert (params.type.name, params.time_cost, params.memory_cost, params.parallelism) == (
        "ID",
        1,
        46 * 1024,
        1,
    )


def test_pages_that_need_login_redirect(client):
    for url in ("/me", "/organizer/", "/events/okushinano-100-2024/join"):
        response = client.get(url)
        assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_create_organizer_command(runner, okushinano):
    result = runner.invoke(
        args=["users", "create-organizer", "boss@example.com", "--event", okushinano.slug],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    role = db.session.scalar(select(OrganizerRole))
    assert role.user.email == "boss@example.com" and role.event_id == okushinano.id
    bad = runner.invoke(
        args=["users", "create-organizer", "x@example.com", "--event", "nope"],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert bad.exit_code != 0 and "No event" in bad.output


def test_only_organizers_see_the_desk(client, auth, okushinano, make_user, make_organizer):
    make_user("a@example.com")
    auth.login("a@example.com")
    assert client.get("/organizer/").status_code == 403
    auth.logout()
    make_organizer(okushinano)
    auth.login("organizer@example.com")
    html = client.get("/organizer/").get_data(as_text=True)
    assert "Okushinano 100" in html and "/organizer/events/okushinano-100-2024" in html
    assert "Preview" in client.get("/organizer/events/okushinano-100-2024").get_data(as_text=True)


def test_demo_setup_is_idempotent(runner, seed_races):
    for _ in range(2):
        result = runner.invoke(args=["demo", "setup"])
        assert result.exit_code == 0, result.output
    claimed = db.session.scalars(
        select(Entry).where(Entry.user_id.is_not(None)).order_by(Entry.id)
    ).all()
    # The demo runner, in the seed race and in its upcoming copy (next weekend, drawn course).
    assert [(e.event.slug, e.user.email, e.category.code, e.bib) for e in claimed] == [
        ("okushinano-100-2024", "runner@example.com", "100k", "1001"),
        ("okushinano-100-2024-demo", "runner@example.com", "100k", "1001"),
    ]
    upcoming = claimed[1].event
    assert upcoming.categories[0].start_at > datetime.now(timezone.utc)
    assert upcoming.categories[0].track.illustrative
    organizer = db.session.scalar(select(User).where(User.email == "organizer@example.com"))
    assert organizer is not None
    # The demo race's entry list, imported once: twelve entries, one claimed, eleven to claim.
    bibs = db.session.scalars(
        select(Entry.bib).where(Entry.event_id == claimed[0].event_id).order_by(Entry.bib)
    ).all()
    assert len(bibs) == 12 and bibs[0] == "1001"
    assert db.session.scalar(select(Entry.name).where(Entry.bib == "1002")) == "山田 太郎"


def test_no_composition_rules_only_length_and_the_common_list():
    from raceapp.services.accounts import common_passwords, validate_password

    assert len(common_passwords()) > 19_000
    validate_password("trail running under the stars")  # long, all lower case: fine
    validate_password("やまのぼりがすき!")  # any script counts


@pytest.mark.parametrize(
    "email, password",
    [
        ("aki.tanaka@example.com", "aki.tanaka"),
        ("aki.tanaka@example.com", "AKI.TANAKA2026!"),
        ("trailrunner@example.com", "my trailrunner pass"),
    ],
)
def test_a_password_holding_the_email_name_is_refused(app, email, password):
    from raceapp.errors import DomainError
    from raceapp.services import accounts

    with pytest.raises(DomainError, match="does not contain your e-mail"):
        accounts.sign_up(email, "Aki", password, now=datetime.now(timezone.utc))


def test_a_short_email_name_does_not_rule_out_passwords(app):
    from raceapp.services import accounts

    accounts.sign_up("ak@example.com", "Aki", "kakeru ak trail", now=datetime.now(timezone.utc))
