"""Create or update events from checked race files, all in one transaction, and say what changed.

Runners' things stay attached to what is still in the file: entries to categories (by code),
gear ticks to gear items (by code), bookings to departures (by time). Removing a category
someone entered, or a departure someone booked, is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, select

from raceapp.database import write_transaction
from raceapp.errors import DomainError
from raceapp.extensions import db
from raceapp.i18n import LANGUAGES, current_language, speaking
from raceapp.localized import primary, translations
from raceapp.models import (
    Booking,
    Category,
    Checkpoint,
    Entry,
    Event,
    EventLogo,
    GearItem,
    RaceFileVersion,
    ScheduleItem,
    ShuttleDeparture,
    ShuttleRoute,
    User,
)
from raceapp.racefile.loader import (
    NormalizedCategory,
    NormalizedRace,
    RaceFileReport,
    duration_minutes,
)
from raceapp.racefile.logo import Logo
from raceapp.services import audit, course, reminders
from raceapp.services.race_diff import Change, day_time, describe_changes, snapshot
from raceapp.vocabulary import BOOKED


class ImportRefused(DomainError):
    """The files are valid but applying them would throw away runners' data."""

    def __init__(self, messages: list[str]):
        super().__init__("; ".join(messages))
        self.messages = messages


@dataclass
class ImportResult:
    slug: str
    created: bool
    warnings: list[str] = field(default_factory=list)
    # What this import changed, each in one sentence in the language in force
    # ("Start of 100 km: Sat 05:00 → Sat 05:30"): services.race_diff.
    changes: list[Change] = field(default_factory=list)
    # The same sentences in every language, kept with the version for readers of either.
    changes_in: dict[str, list[str]] = field(default_factory=dict)
    # Those of them runners must know about (what an alert after publishing says).
    for_runners_in: dict[str, list[str]] = field(default_factory=dict)


def import_reports(reports: list[RaceFileReport], *, now: datetime) -> list[ImportResult]:
    """Apply every checked race file in one transaction: all files land, or none."""
    bad = [r.filename for r in reports if not r.ok]
    if bad:
        raise DomainError(f"Nothing was imported: the check failed for {', '.join(bad)}.")
    by_slug: dict[str, list[str]] = {}
    for report in reports:
        assert report.normalized is not None
        by_slug.setdefault(report.normalized.race.event.slug, []).append(report.filename)
    twice = [
        f"The race “{slug}” is in two files of this import: {', '.join(files)}."
        for slug, files in by_slug.items()
        if len(files) > 1
    ]
    if twice:
        raise ImportRefused(twice)
    results: list[ImportResult] = []
    with write_transaction():
        refusals: list[str] = []
        for report in reports:
            assert report.normalized is not None
            result, refused = _apply(report.normalized, report, now=now)
            results.append(result)
            refusals.extend(f"{report.filename}: {msg}" for msg in refused)
            if not refused:
                record_version(result.slug, report, result, by=None, now=now)
        if refusals:
            raise ImportRefused(refusals)
    return results


def latest_version(event_id: int) -> int:
    """The number of the event's newest kept version (0: none yet)."""
    return (
        db.session.scalar(
            select(func.coalesce(func.max(RaceFileVersion.number), 0)).where(
                RaceFileVersion.event_id == event_id
            )
        )
        or 0
    )


def record_version(
    slug: str,
    report: RaceFileReport,
    result: ImportResult,
    *,
    by: User | None,
    now: datetime,
    restored_from: int | None = None,
) -> RaceFileVersion:
    """Keep the applied file as the event's next version, and say so in its log (inside the
    caller's transaction, after the event's row lock where publishers may race)."""
    event = db.session.scalar(select(Event).where(Event.slug == slug))
    assert event is not None
    # The event's row lock: a console publish and a command-line import take turns.
    db.session.execute(select(Event.id).where(Event.id == event.id).with_for_update())
    number = latest_version(event.id) + 1
    row = RaceFileVersion(
        event_id=event.id,
        number=number,
        source_name=report.filename.rsplit("/", 1)[-1][:255],
        sha256=report.sha256 or "",
        text=report.text or "",
        published_by_id=by.id if by is not None else None,
        published_at=now,
        restored_from=restored_from,
        summary={
            "changes": result.changes_in,
            "for_runners": result.for_runners_in,
            "warnings": [str(w) for w in result.warnings],
        },
    )
    db.session.add(row)
    if restored_from is not None:
        audit.record(
            event, by, "race_file.restored", now=now, restored=restored_from, number=number
        )
    else:
        audit.record(event, by, "race_file.published", now=now, number=number, file=row.source_name)
    return row


def _texts(row: Any, language: str, **values: Any) -> None:
    """Set text columns to the race's own language and keep every language in `texts`."""
    texts = dict(row.texts or {})
    for name, value in values.items():
        setattr(row, name, primary(value, language) if value is not None else None)
        several = translations(value)
        if several:
            texts[name] = several
        else:
            texts.pop(name, None)
    row.texts = texts


def _apply_logo(event: Event, logo: Logo | None) -> str | None:
    """Keep the logo the file gives (read by the checker), or drop the one it no longer gives."""
    kept = db.session.get(EventLogo, event.id) if event.id is not None else None
    if logo is None:
        if kept is not None:
            db.session.delete(kept)
        return None
    if kept is None:
        kept = EventLogo(event=event)
        db.session.add(kept)
    kept.content_type, kept.data, kept.sha256 = logo.content_type, logo.data, logo.sha256
    return logo.version


def _copy(source: object, target: object, *names: str) -> None:
    """Fields of the same name, from the checked file to the row."""
    for name in names:
        setattr(target, name, getattr(source, name))


def _apply(
    norm: NormalizedRace, report: RaceFileReport, *, now: datetime
) -> tuple[ImportResult, list[str]]:
    race = norm.race
    ev_data = race.event
    language = ev_data.language
    event = db.session.scalar(select(Event).where(Event.slug == ev_data.slug))
    created = event is None
    if event is None:
        event = Event(slug=ev_data.slug, details={}, texts={})
        db.session.add(event)
    before = None if created else snapshot(event)
    # The status is what the file says of the race; alerts posted in the app apply on top of
    # it (services.race_state), so importing the file again never undoes them.
    _copy(
        ev_data,
        event,
        "time_zone",
        "language",
        "start_date",
        "end_date",
        "website",
        "hq_phone",
        "currency",
        "status",
    )
    _texts(event, language, name=ev_data.name, venue=ev_data.venue, status_note=ev_data.status_note)
    event.details = {
        "address": ev_data.address,
        "organizer": ev_data.organizer,
        "description": ev_data.description,
        "access": ev_data.access,
        "notes": ev_data.notes,
        "reminder_time": ev_data.reminder_time,
        "open_signup": ev_data.open_signup,
        "country": ev_data.country,
        "support_points": [p.model_dump() for p in race.support_points],
        "contacts": [c.model_dump() for c in race.contacts],
        "rules": race.rules.model_dump(),
        "results_url": ev_data.results_url,
        "colour": ev_data.colour,
        # The logo's version (the start of its hash): its address, and a change the diff sees.
        "logo": _apply_logo(event, norm.logo),
        "provisional": ev_data.provisional,
        "provisional_note": ev_data.provisional_note,
    }
    event.source_name = report.filename.rsplit("/", 1)[-1]
    event.source_sha256 = report.sha256
    event.updated_at = now
    db.session.flush()

    refused: list[str] = []
    result = ImportResult(ev_data.slug, created, list(report.lines()))
    _apply_categories(event, norm, refused, result, report, now)
    _apply_schedule(event, norm)
    _apply_shuttles(event, norm, refused, result)
    db.session.flush()
    if before is not None:
        db.session.expire(event)
        after = snapshot(event)
        # Said once in each language (kept with the version); the reader's are the result's.
        for language in LANGUAGES:
            with speaking(language):
                described = describe_changes(before, after, norm)
            result.changes_in[language] = [str(change) for change in described]
            result.for_runners_in[language] = [
                str(change) for change in described if change.affects_runners
            ]
            if language == current_language():
                result.changes = described
        # Start days, reminder time, buses: the runners' reminders follow the new file.
        reminders.reschedule(event, now=now)
    return result, refused


def _apply_categories(
    event: Event,
    norm: NormalizedRace,
    refused: list[str],
    result: ImportResult,
    report: RaceFileReport,
    now: datetime,
) -> None:
    existing = {c.code: c for c in event.categories}
    wanted = {c.section.code for c in norm.categories}
    for code, category in existing.items():
        if code in wanted:
            continue
        entries = db.session.scalar(
            select(func.count()).select_from(Entry).where(Entry.category_id == category.id)
        )
        if entries:
            refused.append(
                _(
                    "the category “%(code)s” is gone from the file but %(num)d runner(s) "
                    "entered it: keep it in the file, or move those runners first",
                    code=code,
                    num=entries,
                )
            )
        else:
            event.categories.remove(category)
    gear_notes: dict[str, list[Any]] = {}
    for gear_list in norm.race.gear.values():
        for cat_code in gear_list.categories:
            gear_notes.setdefault(cat_code, []).extend(gear_list.notes)
    for position, ncat in enumerate(norm.categories):
        kept = existing.get(ncat.section.code)
        if kept is None:
            kept = Category(code=ncat.section.code, details={}, texts={})
            event.categories.append(kept)
        kept.position = position
        _fill_category(kept, ncat, gear_notes.get(ncat.section.code, []), norm)
        _apply_track(kept, ncat, report, now)


def _apply_track(
    category: Category, ncat: NormalizedCategory, report: RaceFileReport, now: datetime
) -> None:
    """The category's course track: the GPX file the race file names, read beside it. A file
    sent from the browser comes without its GPX and leaves tracks alone (they are uploaded on
    the console's race file page)."""
    sec = ncat.section
    if not report.tracks_read:
        return
    if sec.gpx is None:
        category.track = None
        return
    track = report.tracks.get(sec.code)
    if track is None:
        return
    stored = category.track
    if (
        stored is not None
        and stored.source_sha256 == track.sha256
        and stored.illustrative == sec.gpx_illustrative
    ):
        return
    course.store(
        category,
        track,
        source_name=sec.gpx.rsplit("/", 1)[-1],
        illustrative=sec.gpx_illustrative,
        now=now,
    )


def _fill_category(
    category: Category, ncat: NormalizedCategory, gear_notes: list[Any], norm: NormalizedRace
) -> None:
    sec = ncat.section
    language = norm.race.event.language
    _copy(sec, category, "distance_km", "elevation_gain_m", "field_size", "fee")
    _copy(ncat, category, "start_at", "start_date", "time_limit_minutes")
    _texts(
        category,
        language,
        name=sec.name,
        distance_text=sec.distance_text,
        start_location=sec.start_location,
    )
    category.details = {
        "pacer": sec.pacer,
        "pacer_from": sec.pacer_from,
        "pacer_from_km": sec.pacer_from_km,
        "pacer_fee": sec.pacer_fee,
        "drop_bag_km": sec.drop_bag_km,
        "awards": sec.awards,
        "points": sec.points,
        "notes": sec.notes,
        "gear_notes": [note for i, note in enumerate(gear_notes) if note not in gear_notes[:i]],
        "provisional": sec.provisional,
        "provisional_note": sec.provisional_note,
        "elevation_gain_over": sec.elevation_gain_over,
    }
    # Nothing references checkpoints: replace them wholesale.
    category.checkpoints.clear()
    for position, cp in enumerate(ncat.checkpoints):
        row = Checkpoint(
            position=position,
            km=cp.km,
            cutoff_minutes=cp.cutoff_minutes,
            is_finish=cp.is_finish,
            gain_m=cp.gain_m,
            loss_m=cp.loss_m,
            latitude=cp.lat,
            longitude=cp.lon,
            texts={},
        )
        _texts(row, language, name=cp.name, label=cp.label, notes=cp.notes)
        category.checkpoints.append(row)
    # Gear items carry runners' ticks: update them in place by code.
    items = {g.code: g for g in category.gear_items}
    wanted = {g.code for g in ncat.gear}
    for code, item in items.items():
        if code not in wanted:
            category.gear_items.remove(item)
    for position, gear in enumerate(sorted(ncat.gear, key=lambda g: not g.mandatory)):
        kept_item = items.get(gear.code)
        if kept_item is None:
            kept_item = GearItem(code=gear.code, texts={})
            category.gear_items.append(kept_item)
        kept_item.position = position
        kept_item.mandatory = gear.mandatory
        _texts(kept_item, language, name=gear.name, spec=gear.spec, conditions=gear.conditions)


def _apply_schedule(event: Event, norm: NormalizedRace) -> None:
    event.schedule_items.clear()
    for section, at, end in norm.schedule:
        item = ScheduleItem(
            starts_at=at,
            ends_at=end,
            kind=section.kind,
            category_codes=list(section.categories),
            texts={},
        )
        _texts(
            item,
            norm.race.event.language,
            title=section.title,
            details=section.details,
            location=section.location,
        )
        event.schedule_items.append(item)


def _booked(departure: ShuttleDeparture) -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Booking)
            .where(Booking.departure_id == departure.id, Booking.status == BOOKED)
        )
        or 0
    )


def _apply_shuttles(
    event: Event, norm: NormalizedRace, refused: list[str], result: ImportResult
) -> None:
    routes = {r.code: r for r in event.shuttle_routes}
    wanted = {r.code for r in norm.race.shuttles}
    for code, route in routes.items():
        if code not in wanted:
            booked = sum(_booked(d) for d in route.departures)
            if booked:
                refused.append(
                    ngettext(
                        "the bus “%(code)s” is gone from the file but has %(num)d booking: "
                        "keep it, or cancel the booking first",
                        "the bus “%(code)s” is gone from the file but has %(num)d bookings: "
                        "keep it, or cancel them first",
                        booked,
                        code=code,
                    )
                )
            else:
                event.shuttle_routes.remove(route)
    for position, sec in enumerate(norm.race.shuttles):
        kept_route = routes.get(sec.code)
        if kept_route is None:
            kept_route = ShuttleRoute(code=sec.code, texts={})
            event.shuttle_routes.append(kept_route)
        route = kept_route
        route.position = position
        route.fee = sec.fee
        route.reservation_required = sec.reservation
        route.supporters_allowed = sec.supporters_allowed
        route.category_codes = list(sec.categories)
        route.cancel_before_minutes = (
            duration_minutes(sec.cancel_before) if sec.cancel_before else 0
        )
        language = norm.race.event.language
        _texts(route, language, origin=sec.from_, destination=sec.to)
        route.notes = "\n".join(primary(note, language) for note in sec.notes) or None
        # Departures will carry bookings: match them by their time.
        deps = {d.departs_at: d for d in route.departures}
        new = dict(norm.departures.get(sec.code, []))
        for at, dep in deps.items():
            if at not in new:
                if _booked(dep):
                    refused.append(
                        ngettext(
                            "the %(code)s departure at %(when)s is gone from the file but has "
                            "%(num)d booking",
                            "the %(code)s departure at %(when)s is gone from the file but has "
                            "%(num)d bookings",
                            _booked(dep),
                            code=sec.code,
                            when=day_time(at, event),
                        )
                    )
                else:
                    route.departures.remove(dep)
        for at, seats in new.items():
            kept_dep = deps.get(at)
            if kept_dep is None:
                route.departures.append(ShuttleDeparture(departs_at=at, seats=seats, seats_taken=0))
            elif seats is not None and seats < kept_dep.seats_taken:
                # Bookings are kept: the bus keeps as many seats as are already sold.
                # "warning: " marks what the import found (the command line prints those).
                result.warnings.append(
                    "warning: "
                    + ngettext(
                        "%(code)s %(when)s: the file says %(num)d seat but %(booked)d are "
                        "booked; keeping %(booked)d",
                        "%(code)s %(when)s: the file says %(num)d seats but %(booked)d are "
                        "booked; keeping %(booked)d",
                        seats,
                        code=sec.code,
                        when=day_time(at, event),
                        booked=kept_dep.seats_taken,
                    )
                )
                kept_dep.seats = kept_dep.seats_taken
            else:
                kept_dep.seats = seats


# --- What changed --------------------------------------------------------------------------------
# `snapshot` and `describe_changes` live in services.race_diff.
