"""Security headers and cookies: a strict CSP everywhere, HSTS over https, __Host- cookies."""

from __future__ import annotations

import pytest

from raceapp import create_app
from raceapp.config import DEV_SECRET_KEY, ProductionConfig


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
        "production", SECRET_KEY="x" * 48, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'p.db'}"
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
