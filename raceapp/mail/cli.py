"""`flask mail worker`: send queued alert e-mails (several, on several machines)."""

from __future__ import annotations

import signal
import threading

import click
from flask import current_app
from flask.cli import AppGroup

from raceapp.mail import worker

mail_cli = AppGroup("mail", help="E-mail delivery.")


@mail_cli.command("worker")
@click.option("--once", is_flag=True, help="Send what is due now, then exit.")
def worker_command(once: bool) -> None:
    """Send queued alert e-mails (run several, on several machines, against PostgreSQL)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if once:
        click.echo(f"sent or tried {worker.drain(app)}")
        return
    stop = threading.Event()

    def stop_soon(*_) -> None:
        stop.set()
        worker.wake(app)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop_soon)
    click.echo(f"mail worker {worker.worker_id()} running; Ctrl-C to stop")
    worker.run(app, stop=stop)
