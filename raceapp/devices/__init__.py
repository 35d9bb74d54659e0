"""A runner's devices: push subscriptions over HTTP, and the `flask push` commands that make
the VAPID key and run delivery workers (raceapp.push does the delivering)."""

from __future__ import annotations

import asyncio
import os
import signal
import stat
import threading
from pathlib import Path

import click
from flask import Blueprint, current_app, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user

from raceapp import clock
from raceapp.errors import DomainError
from raceapp.i18n import current_language
from raceapp.push import worker
from raceapp.push.vapid import Vapid, generate_private_key_pem, vapid_for
from raceapp.services import subscriptions
from raceapp.web.http import BadJSON, json_body
from raceapp.web.ratelimits import by_user, limited

bp = Blueprint("devices", __name__, url_prefix="/push", cli_group="push")

# A subscription is an endpoint and two short keys: anything bigger is not one.
SUBSCRIPTION_BODY_MAX = 4096


def _error(message: str, status: int = 400):
    return jsonify(error=message), status


def _json_body():
    if not current_user.is_authenticated:
        return None, _error(_("Log in to turn on alerts."), 401)
    try:
        return json_body(SUBSCRIPTION_BODY_MAX), None
    except BadJSON as exc:
        return None, _error(str(exc))


@bp.post("/subscription")
@limited("PUSH_SUBSCRIPTION", by_user, methods=["POST", "DELETE"])
def subscribe():
    """Store or refresh this device's push subscription."""
    data, problem = _json_body()
    if problem:
        return problem
    if vapid_for(current_app) is None:
        return _error(_("Push alerts are not set up on this server."), 503)
    try:
        subscriptions.subscribe(
            current_user,
            data,
            session_token=current_user.session_token,
            user_agent=request.headers.get("User-Agent"),
            # Every page load sends the subscription again: a language switch follows at once.
            language=current_language(),
            allowed_hosts=tuple(current_app.config["PUSH_ALLOWED_HOSTS"]),
            extra_origins=tuple(current_app.config["PUSH_EXTRA_ORIGINS"]),
            now=clock.real_utcnow(),
        )
    except DomainError as exc:
        return _error(exc.message)
    return jsonify(ok=True, devices=subscriptions.devices_of(current_user)), 201


@bp.delete("/subscription")
@limited("PUSH_SUBSCRIPTION", by_user, methods=["POST", "DELETE"])
def unsubscribe():
    """Turn alerts off on this device."""
    data, problem = _json_body()
    if problem:
        return problem
    try:
        removed = subscriptions.unsubscribe(
            current_user, data.get("endpoint") if isinstance(data, dict) else None
        )
    except DomainError as exc:
        return _error(exc.message)
    return jsonify(ok=True, removed=removed)


@bp.cli.command("worker")
@click.option("--once", is_flag=True, help="Send what is due now, then exit.")
def worker_command(once: bool) -> None:
    """Deliver queued alerts (run several, on several machines, against PostgreSQL)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if vapid_for(app) is None:
        raise click.ClickException(
            "Set VAPID_PRIVATE_KEY or VAPID_PRIVATE_KEY_FILE first "
            "(make a key with `flask push vapid-keys`)."
        )
    if once:
        stats = worker.drain(app)
        click.echo(f"claimed {stats.claimed}: {stats.results}")
        return
    stop = threading.Event()

    def stop_soon(*_) -> None:
        stop.set()
        worker.wake(app)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop_soon)
    click.echo(f"push worker {worker.worker_id()} running; Ctrl-C to stop")
    asyncio.run(worker.run(app, stop=stop))


@bp.cli.command("vapid-keys")
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    default=None,
    help="Where to write the private key (default: the instance folder).",
)
@click.option(
    "--force",
    is_flag=True,
    help="Replace an existing key (every device must then subscribe again).",
)
def vapid_keys_command(out: str | None, force: bool) -> None:
    """Generate the VAPID key pair; the private key goes to a file only this user can read."""
    path = Path(out or Path(current_app.instance_path) / "vapid_private.pem")
    if path.exists() and not force:
        click.echo(f"{path} exists; keeping it (use --force to replace it).")
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = generate_private_key_pem()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, stat.S_IRUSR | stat.S_IWUSR)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    key = Vapid(pem, "unused@example.org").application_server_key
    click.echo(
        f"Wrote {path}.\nSet VAPID_PRIVATE_KEY_FILE={path}\nApplication server key (public): {key}"
    )
