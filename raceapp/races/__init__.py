"""Race files on the command line: `flask races check` and `flask races import`."""

from __future__ import annotations

import sys

import click
from flask import Blueprint

from raceapp import clock
from raceapp.errors import DomainError
from raceapp.racefile import check_file
from raceapp.services.race_import import import_reports

bp = Blueprint("races", __name__, cli_group="races")


def _check_all(files: tuple[str, ...]):
    reports = [check_file(f) for f in files]
    for report in reports:
        for line in report.lines():
            click.echo(line, err=True)
    return reports


@bp.cli.command("check")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
def check_command(files: tuple[str, ...]) -> None:
    """Validate race files; write nothing."""
    reports = _check_all(files)
    bad = [r for r in reports if not r.ok]
    for r in reports:
        if r.ok:
            click.echo(f"{r.filename}: ok ({len(r.warnings)} warning(s))")
    if bad:
        click.echo(f"{len(bad)} of {len(reports)} file(s) have errors", err=True)
        sys.exit(1)


@bp.cli.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
def import_command(files: tuple[str, ...]) -> None:
    """Validate race files, then create or update their events in one transaction."""
    reports = _check_all(files)
    if any(not r.ok for r in reports):
        click.echo("nothing imported: fix the errors above", err=True)
        sys.exit(1)
    try:
        results = import_reports(reports, now=clock.real_utcnow())
    except DomainError as exc:
        for message in getattr(exc, "messages", [exc.message]):
            click.echo(f"error: {message}", err=True)
        click.echo("nothing imported", err=True)
        sys.exit(1)
    for result in results:
        for warning in result.warnings:
            if warning.startswith("warning: "):  # what the import itself found
                click.echo(f"{result.slug}: {warning}", err=True)
        if result.created:
            click.echo(f"{result.slug}: created")
        elif result.changes:
            click.echo(f"{result.slug}: updated, {len(result.changes)} change(s):")
            for change in result.changes:
                click.echo(f"  {change.text}")
        else:
            click.echo(f"{result.slug}: updated, nothing a runner would notice changed")
