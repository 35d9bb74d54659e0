"""Security headers and cookies: a strict CSP everywhere, HSTS over https, __Host- cookies."""

from __future__ import annotations

import pytest

from raceapp import create_app
from raceapp.config import DEV_SECRET_KEY, ProductionConfig
from raceapp.extensions import db
from tests.helpers import PRODUCTION_MAIL


def test_every_response_carries_a_strict_policy(client):
    for url in ("/", "/events/", "/auth/login", "/sw.js", "/manifest.webmanifest", "/nowhere"):
        headers = client.get(url).headers
        csp = headers["Content-Security-Policy"]
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, url
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp, url
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"
        assert "Strict-Transport-Security" not in headers  # plain http: HSTS means nothing


def test_hsts_over_https(client):
    response = client.get("/", base_url="https://raceapp.example")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=63072000")


def test_production_cookies_are_host_only_secure_and_http_only(tmp_path):
    app = create_app(
        "production",
        SECRET_KEY="x" * 48,
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'p.db'}",
        TRUSTED_HOSTS=["raceapp.example"],
        **PRODUCTION_MAIL,
    )
    assert ProductionConfig.SESSION_COOKIE_SECURE
    assert app.config["SESSION_COOKIE_NAME"] == "__Host-session"
    assert app.config["REMEMBER_COOKIE_NAME"] == "__Host-remember"
    assert app.config["SESSION_COOKIE_HTTPONLY"] and app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    # The log-in form puts its CSRF token in the session: the session cookie is set.
    response = app.test_client().get("/auth/login", base_url="https://raceapp.example")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("__Host-session=") and "Secure" in cookie and "HttpOnly" in cookie
    assert "Path=/" in cookie and "Domain" not in cookie


def test_production_refuses_the_development_secret_key(tmp_path):
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app("production", SECRET_KEY=DEV_SECRET_KEY, INSTANCE_PATH=str(tmp_path))


# --- The demo is never production ------------------------------------------------------------


def test_production_refuses_preview_for_all_unless_it_is_the_demo(database_url):
    from raceapp import create_app

    settings = dict(
        SQLALCHEMY_DATABASE_URI=database_url,
        SECRET_KEY="s" * 40,
        PREVIEW_FOR_ALL=True,
        TRUSTED_HOSTS=["raceapp.example"],
    )
    with pytest.raises(RuntimeError, match="PREVIEW_FOR_ALL"):
        create_app("production", **settings)
    demo = create_app("production", RACEAPP_DEMO=True, **settings)
    assert demo.config["PREVIEW_FOR_ALL"]


def test_the_demo_says_so_on_every_page(app, client):
    assert "banner-demo" not in client.get("/").get_data(as_text=True)
    app.config["RACEAPP_DEMO"] = True
    for url in ("/", "/events/", "/auth/login"):
        assert "Do not use it for a real race." in client.get(url).get_data(as_text=True)


def test_a_production_start_refuses_a_database_with_the_demo_accounts(
    app, database_url, okushinano
):
    """gunicorn.conf.py's on_starting runs this check before any worker serves a page."""
    from raceapp import refuse_demo_data_in_production
    from raceapp.services import demo
    from tests.helpers import ROOT

    assert "refuse_demo_data_in_production(create_app())" in (ROOT / "gunicorn.conf.py").read_text()
    settings = dict(
        SQLALCHEMY_DATABASE_URI=database_url,
        SECRET_KEY="s" * 40,
        TRUSTED_HOSTS=["raceapp.example"],
        **PRODUCTION_MAIL,
    )
    production = create_app("production", **settings)
    refuse_demo_data_in_production(production)  # no demo accounts: starts
    demo.set_up(now=okushinano.updated_at)
    db.session.commit()
    with pytest.raises(SystemExit, match="demo accounts with published passwords"):
        refuse_demo_data_in_production(production)
    refuse_demo_data_in_production(create_app("production", RACEAPP_DEMO=True, **settings))
    with production.app_context():
        db.engine.dispose()


def test_links_the_app_writes_name_only_hosts_it_trusts(database_url, tmp_path):
    """A forged Host header cannot put a stranger's address in a calendar feed or a ticket's
    QR code: production answers only to its configured hosts, and refuses to start without."""
    settings = dict(SQLALCHEMY_DATABASE_URI=database_url, SECRET_KEY="s" * 40, **PRODUCTION_MAIL)
    with pytest.raises(RuntimeError, match="TRUSTED_HOSTS"):
        create_app("production", **settings)
    app = create_app("production", TRUSTED_HOSTS=["raceapp.example"], **settings)
    client = app.test_client()
    assert client.get("/auth/login", base_url="https://raceapp.example").status_code == 200
    forged = client.get("/auth/login", base_url="https://evil.example")
    assert forged.status_code == 400
    with app.test_request_context("/", base_url="https://raceapp.example"):
        from flask import url_for

        assert url_for("site.home", _external=True) == "https://raceapp.example/"
    with app.app_context():
        db.engine.dispose()
    # The local demo answers on the loopback address without naming it.
    demo = create_app("production", RACEAPP_DEMO=True, **settings)
    assert demo.config["TRUSTED_HOSTS"] == ["127.0.0.1", "localhost"]


def test_forms_tied_to_a_session_and_account_pages_are_never_stored(app, client, make_user):
    """A copy kept by the phone (its service worker keeps pages for offline use) would carry
    an old session's form token, or an account's address after logging out."""
    for url in ("/auth/login", "/auth/signup", "/auth/forgot"):
        assert client.get(url).headers["Cache-Control"] == "no-store", url
    make_user("aki@example.com")
    from tests.helpers import PASSWORD, csrf_from

    token = csrf_from(client.get("/auth/login").get_data(as_text=True))
    client.post(
        "/auth/login", data={"email": "aki@example.com", "password": PASSWORD, "csrf_token": token}
    )
    assert client.get("/account/").headers["Cache-Control"] == "no-store"
    assert "no-store" not in client.get("/me").headers.get("Cache-Control", "")


def test_only_the_staff_page_at_the_bus_door_may_open_the_camera(
    client, auth, bus_event, make_organizer
):
    from tests.helpers import departure

    make_organizer(bus_event)
    auth.login("organizer@example.com")
    five = departure(bus_event, "station-to-start", "05:00")
    board = client.get(f"/organizer/departures/{five.id}/board")
    assert board.status_code == 200
    assert "camera=(self)" in board.headers["Permissions-Policy"]
    for url in ("/", "/events/", f"/organizer/departures/{five.id}/manifest", "/me"):
        assert "camera=()" in client.get(url).headers["Permissions-Policy"], url
