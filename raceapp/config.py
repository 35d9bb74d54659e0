"""Configuration classes, read from the environment (twelve-factor style)."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

# The checkout: templates, static files, the service worker and migrations live here.
PROJECT_ROOT = Path(__file__).resolve().parent.parent

DEV_SECRET_KEY = "dev-only-not-secret"


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def rate_limit_storage_uri(environ) -> str:
    """RATELIMIT_STORAGE_URI if given, else Redis at REDIS_URL, else the app's own database."""
    return environ.get("RATELIMIT_STORAGE_URI") or environ.get("REDIS_URL") or "database://"


class Config:
    """Defaults shared by every environment."""

    SECRET_KEY = os.environ.get("SECRET_KEY", DEV_SECRET_KEY)
    # None means "a SQLite file in the instance folder", filled in by the factory.
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL")
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}

    # A race weekend is Friday to Monday: a phone logged in on Friday must stay in.
    PERMANENT_SESSION_LIFETIME = timedelta(days=int(os.environ.get("SESSION_DAYS", "7")))
    REMEMBER_COOKIE_DURATION = timedelta(days=int(os.environ.get("SESSION_DAYS", "7")))
    # The server-side login session sets the lifetime; re-signing the cookie on every request
    # would only cost time and a Set-Cookie on every answer.
    SESSION_REFRESH_EACH_REQUEST = False
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
    # The entry list's CSV upload only (a 2 MB file and the form around it).
    UPLOAD_MAX_BYTES = 2 * 1024 * 1024 + 64 * 1024
    GPX_UPLOAD_MAX_BYTES = 20 * 1024 * 1024 + 64 * 1024  # a course's GPX file

    # The language of pages when neither the reader nor the race says otherwise.
    DEFAULT_LANGUAGE = os.environ.get("DEFAULT_LANGUAGE", "en")

    # argon2id at OWASP's minimum for ASVS (t=1, m=46 MiB, p=1): raise it, never lower it.
    ARGON2_TIME_COST = int(os.environ.get("ARGON2_TIME_COST", "1"))
    ARGON2_MEMORY_KIB = max(46 * 1024, int(os.environ.get("ARGON2_MEMORY_KIB", str(46 * 1024))))

    # Abuse limits (raceapp/ratelimits.py). The counters must be shared by every worker:
    # Redis when REDIS_URL is set, else the app's own database; "memory://" only for one process.
    RATELIMIT_STORAGE_URI = rate_limit_storage_uri(os.environ)
    # Said explicitly: Flask-Limiter otherwise keeps the previous app's choice.
    RATELIMIT_ENABLED = _bool("RATELIMIT_ENABLED", True)
    RATELIMIT_STRATEGY = "fixed-window"
    RATELIMIT_HEADERS_ENABLED = False  # the 429 page sets Retry-After itself
    # Runners at a venue share one address (its Wi-Fi, a carrier's NAT): the per-address limits
    # are roomy and the per-account ones tight. Only failed logins count.
    LOGIN_LIMIT_PER_ADDRESS = os.environ.get(
        "LOGIN_LIMIT_PER_ADDRESS", "30 per minute;300 per hour"
    )
    LOGIN_LIMIT_PER_ACCOUNT = os.environ.get("LOGIN_LIMIT_PER_ACCOUNT", "10 per 15 minutes")
    SIGNUP_LIMIT_PER_ADDRESS = os.environ.get(
        "SIGNUP_LIMIT_PER_ADDRESS", "20 per 10 minutes;100 per day"
    )
    SIGNUP_LIMIT_PER_ACCOUNT = os.environ.get("SIGNUP_LIMIT_PER_ACCOUNT", "5 per hour")
    # Joining names a bib: without a limit, taken bibs could be found by trying them all.
    JOIN_LIMIT_PER_ADDRESS = os.environ.get("JOIN_LIMIT_PER_ADDRESS", "60 per minute")
    JOIN_LIMIT_PER_ACCOUNT = os.environ.get("JOIN_LIMIT_PER_ACCOUNT", "10 per minute;30 per hour")
    BOOKING_LIMIT_PER_ADDRESS = os.environ.get("BOOKING_LIMIT_PER_ADDRESS", "300 per minute")
    BOOKING_LIMIT_PER_ACCOUNT = os.environ.get(
        "BOOKING_LIMIT_PER_ACCOUNT", "20 per minute;100 per hour"
    )
    # Every app open re-sends the subscription, so a runner's own limit allows plenty of opens.
    PUSH_SUBSCRIPTION_LIMIT_PER_ADDRESS = os.environ.get(
        "PUSH_SUBSCRIPTION_LIMIT_PER_ADDRESS", "600 per minute"
    )
    PUSH_SUBSCRIPTION_LIMIT_PER_ACCOUNT = os.environ.get(
        "PUSH_SUBSCRIPTION_LIMIT_PER_ACCOUNT", "30 per minute;300 per hour"
    )
    # Reverse proxies in front of the app; their X-Forwarded-* headers are trusted only then,
    # so the limits count the runner's address and not the proxy's.
    PROXY_COUNT = int(os.environ.get("PROXY_COUNT", "0"))

    # "Preview as of" lets anyone see the app at a chosen instant; organizers always may.
    PREVIEW_FOR_ALL = _bool("PREVIEW_FOR_ALL", False)
    # The one-command local demo (`make run`): production settings on the loopback address,
    # with public demo accounts and a banner on every page saying so. A real deployment
    # leaves it off, and then refuses to start with demo accounts or preview for all.
    RACEAPP_DEMO = _bool("RACEAPP_DEMO", False)
    # The host names this app answers to (Flask refuses any other Host header with a 400), so
    # the absolute links it writes (a calendar feed, a ticket's QR code) are never a stranger's.
    # Required in production; the local demo answers on the loopback address.
    TRUSTED_HOSTS = [
        h.strip() for h in os.environ.get("TRUSTED_HOSTS", "").split(",") if h.strip()
    ] or None

    # Names a deploy: a new value makes phones replace their cached app shell.
    RACEAPP_RELEASE = os.environ.get("RACEAPP_RELEASE", "")
    # Pages, scripts and styles go out compressed (brotli, else gzip): a slow mobile link.
    COMPRESS_ALGORITHM = ["br", "gzip"]
    COMPRESS_MIMETYPES = [
        "text/html",
        "text/css",
        "text/javascript",
        "application/javascript",
        "application/json",
        "application/manifest+json",
        "image/svg+xml",
        "text/calendar",
        "text/csv",
    ]
    COMPRESS_MIN_SIZE = 500

    # E-mail: an SMTP server when MAIL_SERVER is set (STARTTLS on 587 unless told otherwise);
    # without one, each message is written to a local mailbox (instance/mail) and the log, which
    # the demo shows at /dev/mail. Production refuses to start without a server.
    MAIL_SERVER = os.environ.get("MAIL_SERVER")
    MAIL_BACKEND = "smtp" if MAIL_SERVER else "raceapp.mail.mailbox"
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "587"))
    MAIL_USE_TLS = _bool("MAIL_USE_TLS", not _bool("MAIL_USE_SSL", False))
    MAIL_USE_SSL = _bool("MAIL_USE_SSL", False)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
    MAIL_TIMEOUT = float(os.environ.get("MAIL_TIMEOUT", "10"))
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "raceapp <no-reply@localhost>")
    MAIL_FILE_PATH = os.environ.get("MAIL_FILE_PATH")  # default: the instance folder's mail/
    # Account e-mails go out after the answer (a thread), so an address that has an account
    # and one that has not are answered equally fast; tests send them in the request.
    MAIL_SEND_AFTER_RESPONSE = _bool("MAIL_SEND_AFTER_RESPONSE", True)
    # Alerts by e-mail go through a durable outbox like push: "inline" drains it in a thread of
    # each app process, "off" leaves it to `flask mail worker` processes.
    MAIL_WORKER = os.environ.get("MAIL_WORKER", "inline")
    MAIL_BATCH = int(os.environ.get("MAIL_BATCH", "200"))
    # SMTP connections a worker keeps open at once; a batch is shared between them.
    MAIL_CONNECTIONS = int(os.environ.get("MAIL_CONNECTIONS", "4"))
    MAIL_RATE_PER_SECOND = float(os.environ.get("MAIL_RATE_PER_SECOND", "20"))  # 0: no limit
    MAIL_LEASE_SECONDS = int(os.environ.get("MAIL_LEASE_SECONDS", "60"))
    MAIL_MAX_ATTEMPTS = int(os.environ.get("MAIL_MAX_ATTEMPTS", "6"))
    MAIL_POLL_SECONDS = float(os.environ.get("MAIL_POLL_SECONDS", "2"))
    # Where links in e-mails sent by a worker point (no request to take the host from);
    # default: https:// and the first of TRUSTED_HOSTS.
    PUBLIC_URL = os.environ.get("PUBLIC_URL")
    SIGNUP_LINK_HOURS = 24
    PASSWORD_RESET_MINUTES = 60
    RESET_LIMIT_PER_ADDRESS = os.environ.get("RESET_LIMIT_PER_ADDRESS", "20 per 10 minutes")
    RESET_LIMIT_PER_ACCOUNT = os.environ.get("RESET_LIMIT_PER_ACCOUNT", "3 per hour")

    # Web Push. The VAPID private key (PEM) comes from the environment or a file, never from
    # the repository: `flask push vapid-keys` makes one. Without it, alerts are in-app only.
    VAPID_PRIVATE_KEY = os.environ.get("VAPID_PRIVATE_KEY")
    VAPID_PRIVATE_KEY_FILE = os.environ.get("VAPID_PRIVATE_KEY_FILE")
    # Push services write here when something is wrong with our messages (the JWT "sub").
    VAPID_CONTACT_EMAIL = os.environ.get("VAPID_CONTACT_EMAIL", "alerts@raceapp.example")
    # Endpoints must be https on one of these hosts ("*." also admits subdomains), so a client
    # can never make the server call an internal address.
    PUSH_ALLOWED_HOSTS = tuple(
        filter(
            None,
            os.environ.get(
                "PUSH_ALLOWED_HOSTS",
                ",".join(
                    (
                        "fcm.googleapis.com",
                        "android.googleapis.com",  # Chrome, Android
                        "updates.push.services.mozilla.com",
                        "*.push.services.mozilla.com",  # Firefox
                        "web.push.apple.com",
                        "*.push.apple.com",  # Safari
                        "*.notify.windows.com",  # Edge
                    )
                ),
            ).split(","),
        )
    )
    # Exact origins (scheme://host:port) allowed besides: a self-hosted push service, or tests.
    PUSH_EXTRA_ORIGINS = tuple(filter(None, os.environ.get("PUSH_EXTRA_ORIGINS", "").split(",")))
    # "inline": a delivery thread in each app process (single machine); "off": run
    # `flask push worker` processes instead.
    PUSH_WORKER = os.environ.get("PUSH_WORKER", "inline")
    # Requests in flight per worker (one per device at most): endpoints that hang hold only
    # their own, so healthy devices on the same push service are not kept waiting.
    PUSH_CONCURRENCY = int(os.environ.get("PUSH_CONCURRENCY", "1024"))
    PUSH_TIMEOUT_SECONDS = float(os.environ.get("PUSH_TIMEOUT_SECONDS", "5"))
    PUSH_BATCH = int(os.environ.get("PUSH_BATCH", "500"))
    # A claimed row is the worker's for this long; a live worker renews it every third of it
    # (its heartbeat), so a dead worker's rows go to another within one lease.
    PUSH_LEASE_SECONDS = int(os.environ.get("PUSH_LEASE_SECONDS", "15"))
    PUSH_POLL_SECONDS = float(os.environ.get("PUSH_POLL_SECONDS", "1"))
    PUSH_MAX_ATTEMPTS = int(os.environ.get("PUSH_MAX_ATTEMPTS", "8"))


class DevelopmentConfig(Config):
    DEBUG = True
    PREVIEW_FOR_ALL = _bool("PREVIEW_FOR_ALL", True)


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = _bool("COOKIE_SECURE", True)
    REMEMBER_COOKIE_SECURE = _bool("COOKIE_SECURE", True)
    # __Host-: the browser only takes the cookie over https, for this host alone, for every
    # path, so no subdomain can set or read it. Browsers refuse the prefix without Secure.
    if SESSION_COOKIE_SECURE:
        SESSION_COOKIE_NAME = "__Host-session"
        REMEMBER_COOKIE_NAME = "__Host-remember"


class TestingConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret"
    # Hashing at full cost is tested on its own (test_accounts); elsewhere a cheap hash keeps
    # hundreds of sign-ups and logins quick. Never used outside the tests.
    ARGON2_MEMORY_KIB = 1024
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL") or "sqlite://"
    RATELIMIT_ENABLED = _bool("RATELIMIT_ENABLED", False)  # the abuse-limit tests turn them on
    PREVIEW_FOR_ALL = False
    PUSH_WORKER = "off"  # tests run the worker themselves
    # Messages kept in memory, read by the tests (which start an SMTP server where they need one).
    MAIL_BACKEND = "smtp" if os.environ.get("MAIL_SERVER") else "locmem"
    MAIL_WORKER = "off"
    MAIL_RATE_PER_SECOND = 0.0
    MAIL_SEND_AFTER_RESPONSE = False


CONFIGS = {
    "development": DevelopmentConfig,
    "production": ProductionConfig,
    "testing": TestingConfig,
}
