"""Publishing a race file from the organizer's console: check, preview the exact change, then
publish in one transaction as a new version; any earlier version can be restored the same way.

The preview is the import itself, run in a transaction that is rolled back: what it shows is
what publishing does. Publishing names the version it was previewed against; if another
organizer published in between, it is refused (the event's row lock makes the check and the
write one step), and the organizer reviews the new preview.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from raceapp.database import write_transaction
from raceapp.errors import Conflict, DomainError, NotFound
from raceapp.extensions import db
from raceapp.models import Event, RaceFileVersion, User
from raceapp.racefile.loader import RaceFileReport, check_bytes, check_text
from raceapp.racefile.messages import Problem, error, warning
from raceapp.services.race_import import (
    ImportRefused,
    ImportResult,
    _apply,
    latest_version,
    record_version,
)

# Uploads larger than this are refused before they are read (a race file is a few KB).
MAX_BYTES = 200 * 1024


class VersionChanged(Conflict):
    """Someone published another version after this preview was made."""


class _DryRun(Exception):
    pass


@dataclass
class Preview:
    report: RaceFileReport
    base_version: int
    result: ImportResult | None = None
    refusals: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def publishable(self) -> bool:
        return self.result is not None and not self.refusals and not self.problems

    @property
    def affects_runners(self) -> bool:
        changes = self.result.changes if self.result else []
        return any(getattr(change, "affects_runners", True) for change in changes)


def current_version(event: Event) -> int:
    """The number of the version in force (0: none kept, for a race imported before versions)."""
    return latest_version(event.id)


def versions(event: Event) -> list[RaceFileVersion]:
    """Every published version, newest first."""
    return list(
        db.session.scalars(
            select(RaceFileVersion)
            .where(RaceFileVersion.event_id == event.id)
            .order_by(RaceFileVersion.number.desc())
        )
    )


def version(event: Event, number: int) -> RaceFileVersion:
    found = db.session.scalar(
        select(RaceFileVersion).where(
            RaceFileVersion.event_id == event.id, RaceFileVersion.number == number
        )
    )
    if found is None:
        raise NotFound(_("This race has no version %(number)s.", number=number))
    return found


def read(raw: bytes, filename: str) -> RaceFileReport:
    """Check an uploaded file; too large a file is refused before it is read."""
    if len(raw) > MAX_BYTES:
        report = RaceFileReport(filename)
        report.problems.append(error("", "cannot-read", reason=_("the file is larger than 200 KB")))
        return report
    report = check_bytes(raw, filename)
    if report.race is not None:
        # GPX files named in the file do not come with it: say where they go.
        report.problems.extend(
            warning(f"categories[{i}].gpx", "gpx-not-uploaded", name=cat.gpx)
            for i, cat in enumerate(report.race.categories)
            if cat.gpx
        )
    return report


def _same_race(event: Event, report: RaceFileReport) -> list[Problem]:
    assert report.normalized is not None
    slug = report.normalized.race.event.slug
    if slug == event.slug:
        return []
    return [
        error(
            "event.slug",
            "cannot-read",
            reason=_(
                "this file is for the race “%(other)s”, not “%(this)s”", other=slug, this=event.slug
            ),
        )
    ]


def preview(event: Event, report: RaceFileReport, *, now: datetime) -> Preview:
    """What publishing this checked file would change, without changing anything."""
    base = current_version(event)
    out = Preview(report=report, base_version=base)
    if not report.ok:
        return out
    out.problems = _same_race(event, report)
    if out.problems:
        return out
    assert report.normalized is not None
    try:
        with write_transaction():
            out.result, out.refusals = _apply(report.normalized, report, now=now)
            raise _DryRun
    except _DryRun:
        pass
    db.session.expire_all()
    return out


def publish(
    event: Event,
    report: RaceFileReport,
    *,
    base_version: int,
    by: User | None,
    now: datetime,
    restored_from: int | None = None,
) -> tuple[RaceFileVersion, ImportResult]:
    """Apply the file as the next version, if nobody published since `base_version`."""
    if not report.ok or report.normalized is None or report.text is None:
        raise DomainError(_("The file has errors: nothing was published."))
    if _same_race(event, report):
        raise DomainError(_("This file is for another race: nothing was published."))
    try:
        return _publish(event, report, base_version, by, now, restored_from)
    except IntegrityError:  # another version got this number first (the command line)
        raise VersionChanged(
            _("Another version was published while you were reviewing: review the changes again.")
        ) from None


def _publish(
    event: Event,
    report: RaceFileReport,
    base_version: int,
    by: User | None,
    now: datetime,
    restored_from: int | None,
) -> tuple[RaceFileVersion, ImportResult]:
    assert report.normalized is not None
    event_id = event.id
    with write_transaction():
        # The event's row lock: two organizers publishing at once take turns here.
        db.session.execute(select(Event.id).where(Event.id == event_id).with_for_update())
        current = current_version(event)
        if current != base_version:
            latest = version(event, current)
            who = latest.published_by.name if latest.published_by else _("the command line")
            raise VersionChanged(
                _(
                    "Version %(number)s was published by %(who)s while you were reviewing: "
                    "nothing was published. Review the changes again against it.",
                    number=current,
                    who=who,
                )
            )
        result, refusals = _apply(report.normalized, report, now=now)
        if refusals:
            raise ImportRefused(refusals)
        row = record_version(
            event.slug, report, result, by=by, now=now, restored_from=restored_from
        )
    return row, result


def changes_in(saved: RaceFileVersion, language: str, *, for_runners: bool = False) -> list[str]:
    """What a version changed (or only what runners must know of it), in the reader's
    language (kept in each language it was described in)."""
    changes = (saved.summary or {}).get("for_runners" if for_runners else "changes") or {}
    if isinstance(changes, list):  # one language only
        return [str(change) for change in changes]
    return list(changes.get(language) or next(iter(changes.values()), []))


def report_of(saved: RaceFileVersion) -> RaceFileReport:
    """A stored version, checked again (the checker may have learnt something since)."""
    return check_text(saved.text, saved.source_name)
