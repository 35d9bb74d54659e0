"""raceapp: the race kit in a trail runner's pocket. The application factory lives here."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, request
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from raceapp.config import CONFIGS, DEV_SECRET_KEY, PROJECT_ROOT
from raceapp.extensions import (
    babel,
    compress,
    csrf,
    db,
    htmx,
    limiter,
    login_manager,
    mailman,
    migrate,
)
from raceapp.mail.addresses import is_deliverable_address

# Endpoints that take a file larger than MAX_CONTENT_LENGTH, and the setting of their limit.
LARGE_UPLOADS = {
    "organizer.entries_upload": "UPLOAD_MAX_BYTES",
    "organizer.course_upload": "GPX_UPLOAD_MAX_BYTES",
}


def refuse_demo_data_in_production(app: Flask) -> None:
    """Stop (SystemExit, with the reason) before serving a database with the demo accounts in
    production; the local demo (RACEAPP_DEMO=1) and other settings may go on."""
    from sqlalchemy.exc import SQLAlchemyError

    from raceapp.services import demo

    if app.config["ENV_NAME"] != "production" or app.config["RACEAPP_DEMO"]:
        return
    with app.app_context():
        try:
            problems = demo.production_problems()
        except SQLAlchemyError:
            problems = []  # no schema yet: nothing to refuse
    if problems:
        raise SystemExit("raceapp will not start in production: " + "; ".join(problems))


def _refuse_unsafe_production(config) -> None:
    """Stop with a RuntimeError saying why, before a production app serves anyone with
    settings that are only good for development or the local demo."""
    if config["SECRET_KEY"] == DEV_SECRET_KEY:
        raise RuntimeError("SECRET_KEY must be set in production")
    if config["RACEAPP_DEMO"]:
        # The local demo: loopback only, mail to the local mailbox, preview open to all.
        config["TRUSTED_HOSTS"] = config["TRUSTED_HOSTS"] or ["127.0.0.1", "localhost"]
        return
    if not config["TRUSTED_HOSTS"]:
        raise RuntimeError(
            "TRUSTED_HOSTS must name the host(s) this app answers to in production "
            "(for example TRUSTED_HOSTS=raceapp.example.org): links it writes use them."
        )
    if config["PREVIEW_FOR_ALL"]:
        raise RuntimeError(
            "PREVIEW_FOR_ALL lets anyone see the app at another moment: it is for the demo "
            "(RACEAPP_DEMO=1, as `make run` sets). In production only organizers preview."
        )
    if config["MAIL_BACKEND"] != "smtp" or not config["MAIL_SERVER"]:
        raise RuntimeError(
            "MAIL_SERVER must name an SMTP server in production: sign-up, password reset and "
            "alerts by e-mail need it (see docs/deploy.md)."
        )
    for name in ("MAIL_DEFAULT_SENDER", "VAPID_CONTACT_EMAIL"):
        if not is_deliverable_address(config[name]):
            raise RuntimeError(
                f"{name} must be a real address of yours in production, not {config[name]!r}: "
                "runners reply to the sender, and push services (Apple's among them) refuse "
                "a contact they cannot reach."
            )


def create_app(config_name: str | None = None, **overrides) -> Flask:
    """Build and configure an application instance."""
    app = Flask(
        __name__,
        instance_path=os.environ.get("INSTANCE_PATH", str(PROJECT_ROOT / "instance")),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    app.url_map.converters["int"] = RowIdConverter
    config_name = config_name or os.environ.get("RACEAPP_ENV", "development")
    app.config.from_object(CONFIGS[config_name])
    app.config["ENV_NAME"] = config_name
    app.config.update(overrides)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = (
            f"sqlite:///{Path(app.instance_path) / 'raceapp.db'}"
        )
    app.config["SQLALCHEMY_DATABASE_URI"] = _normalise_db_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if not app.config.get("PUBLIC_URL"):
        hosts = app.config["TRUSTED_HOSTS"]
        app.config["PUBLIC_URL"] = f"https://{hosts[0]}" if hosts else "http://127.0.0.1:8000"
    if not app.config.get("MAIL_FILE_PATH"):
        app.config["MAIL_FILE_PATH"] = str(Path(app.instance_path) / "mail")
    if config_name == "production":
        _refuse_unsafe_production(app.config)

    if app.config["PROXY_COUNT"]:
        hops = app.config["PROXY_COUNT"]
        # Flask's documented way to wrap the WSGI app (a method, to the type checker).
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops
        )

    from raceapp.web import ratelimits  # noqa: F401  (registers the "database://" limit storage)

    # Before CSRF's check reads the body: the entry list and GPX uploads may be larger than any
    # other request (the limits are documented in docs/organizers.md).
    @app.before_request
    def larger_body_for_uploads() -> None:
        if request.endpoint in LARGE_UPLOADS:
            request.max_content_length = app.config[LARGE_UPLOADS[request.endpoint]]

    db.init_app(app)
    from raceapp import database

    # Registered after the extension's own teardown, so it runs before the session is removed.
    app.teardown_appcontext(database.end_read_only)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    htmx.init_app(app)
    limiter.init_app(app)
    compress.init_app(app)
    mailman.init_app(app)
    login_manager.session_protection = None  # sessions are server-side records (LoginSession)

    with app.app_context():
        database.configure_engine(db.engine)

    from raceapp import (
        account,
        alerts,
        auth,
        demo,
        devices,
        devtools,
        entries,
        events,
        kit,
        organizer,
        preview,
        races,
        shuttles,
        site,
        styleguide,
    )
    from raceapp.mail import worker as mail_worker
    from raceapp.mail.cli import mail_cli
    from raceapp.push import worker
    from raceapp.web import (
        assets,
        error_pages,
        guards,
        languages,
        security,
        template_helpers,
    )

    # JSON in pages and answers carries Japanese as it is, not as \u escapes (a third of the size).
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    babel.init_app(
        app,
        default_locale=app.config["DEFAULT_LANGUAGE"],
        default_translation_directories=str(PROJECT_ROOT / "raceapp" / "translations"),
        locale_selector=languages.select_language,
    )

    guards.register(app)
    for module in (
        site,
        preview,
        auth,
        events,
        entries,
        kit,
        shuttles,
        alerts,
        devices,
        organizer,
        races,
        demo,
        devtools,
        styleguide,
        account,
    ):
        app.register_blueprint(module.bp)
    error_pages.register(app)
    template_helpers.register(app)
    assets.register(app)
    security.register(app)
    languages.register(app)

    # The delivery thread starts with the first request, so CLI commands never start one.
    @app.before_request
    def start_delivery() -> None:
        worker.start_inline(app)
        mail_worker.start_inline(app)

    app.cli.add_command(mail_cli)

    return app


class RowIdConverter(IntegerConverter):
    """`<int:...>` in our URLs is a row id: a number no column can hold is simply not found
    (the database would refuse it with an error, not with "no such row")."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(url_map, *args, **kwargs)


def _normalise_db_url(url: str) -> str:
    # Platforms hand out postgres:// URLs; SQLAlchemy wants a driver name.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
