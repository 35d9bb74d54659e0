"""Configuration classes, read from the environment (twelve-factor style)."""
from __future__ import annotations

import os
from datetime import timedelta

DEV_SECRET_KEY = "dev-only-not-secret"


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


class Config:
    """Defaults shared by every environment."""

    SECRET_KEY = os.environ.get("SECRET_KEY", DEV_SECRET_KEY)
    # None means "a SQLite file in the instance folder", filled in by the factory.
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL")
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}

    # A race weekend is Friday to Monday: a phone logged in on Friday must stay in.
    PERMANENT_SESSION_LIFETIME = timedelta(days=int(os.environ.get("SESSION_DAYS", "7")))
    REMEMBER_COOKIE_DURATION = timedelta(days=int(os.environ.get("SESSION_DAYS", "7")))
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _bool("COOKIE_SECURE", False)
    REMEMBER_COOKIE_SECURE = _bool("COOKIE_SECURE", False)

    # A cached page may be submitted hours after it was loaded (no signal on a ridge);
    # the token is bound to the session, which already expires.
    WTF_CSRF_TIME_LIMIT = None

    MAX_CONTENT_LENGTH = 256 * 1024

    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "10 per minute")
    SIGNUP_RATE_LIMIT = os.environ.get("SIGNUP_RATE_LIMIT", "5 per minute")

    # "Preview as of" lets anyone see the app at a chosen instant; organizers always may.
    PREVIEW_FOR_ALL = _bool("PREVIEW_FOR_ALL", False)

    RACES_DIR = os.environ.get("RACES_DIR", "races")


class DevelopmentConfig(Config):
    DEBUG = True
    PREVIEW_FOR_ALL = _bool("PREVIEW_FOR_ALL", True)


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = _bool("COOKIE_SECURE", True)
    REMEMBER_COOKIE_SECURE = _bool("COOKIE_SECURE", True)


class TestingConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret"
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL") or "sqlite://"
    RATELIMIT_ENABLED = False
    PREVIEW_FOR_ALL = False


CONFIGS = {
    "development": DevelopmentConfig,
    "production": ProductionConfig,
    "testing": TestingConfig,
}
