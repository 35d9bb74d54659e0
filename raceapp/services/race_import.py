"""Create or update events from checked race files, all in one transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select

from raceapp.database import write_transaction
from raceapp.errors import DomainError
from raceapp.extensions import db
from raceapp.models import (
    BOOKED,
    Booking,
    Category,
    Checkpoint,
    Entry,
    Event,
    GearItem,
    ScheduleItem,
    ShuttleDeparture,
    ShuttleRoute,
)
from raceapp.racefile.loader import (
    NormalizedCategory,
    NormalizedRace,
    RaceFileReport,
    duration_minutes,
)


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


def import_reports(reports: list[RaceFileReport], *, now: datetime) -> list[ImportResult]:
    """Apply every checked race file in one transaction: all files land, or none."""
    bad = [r.filename for r in reports if not r.ok]
    if bad:
        raise DomainError(f"not imported, the check failed for: {', '.join(bad)}")
    results: list[ImportResult] = []
    with write_transaction():
        refusals: list[str] = []
        for report in reports:
            assert report.normalized is not None
            result, refused = _apply(report.normalized, report, now=now)
            results.append(result)
            refusals.extend(f"{report.filename}: {msg}" for msg in refused)
        if refusals:
            raise ImportRefused(refusals)
    return results


def _apply(
    norm: NormalizedRace, report: RaceFileReport, *, now: datetime
) -> tuple[ImportResult, list[str]]:
    race = norm.race
    ev_data = race.event
    event = db.session.scalar(select(Event).where(Event.slug == ev_data.slug))
    created = event is None
    if event is None:
        event = Event(slug=ev_data.slug, details={})
        db.session.add(event)
    # The status is what the file says of the race; alerts posted in the app apply on top of
    # it (services.race_state), so importing the file again never undoes them.
    _copy(
        ev_data,
        event,
        "name",
        "time_zone",
        "venue",
        "start_date",
        "end_date",
        "website",
        "hq_phone",
        "currency",
        "status",
        "status_note",
    )
    event.details = {
        "address": ev_data.address,
        "organizer": ev_data.organizer,
        "description": ev_data.description,
        "access": ev_data.access,
        "notes": ev_data.notes,
        "support_points": [p.model_dump() for p in race.support_points],
        "contacts": [c.model_dump() for c in race.contacts],
        "rules": race.rules.model_dump(),
        "results_url": ev_data.results_url,
    }
    event.source_name = report.filename.rsplit("/", 1)[-1]
    event.source_sha256 = report.sha256
    event.updated_at = now
    db.session.flush()

    refused: list[str] = []
    result = ImportResult(ev_data.slug, created, list(report.lines()))
    _apply_categories(event, norm, refused, result)
    _apply_schedule(event, norm)
    _apply_shuttles(event, norm, refused, result)
    db.session.flush()
    return result, refused


def _copy(source: object, target: object, *names: str) -> None:
    """Fields of the same name, from the checked file to the row."""
    for name in names:
        setattr(target, name, getattr(source, name))


def _apply_categories(
    event: Event, norm: NormalizedRace, refused: list[str], result: ImportResult
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
                f"category {code!r} is gone from the file but {entries} runner(s) "
                "entered it; keep it in the file or move those runners first"
            )
        else:
            event.categories.remove(category)
    gear_notes: dict[str, list[str]] = {}
    for gear_list in norm.race.gear.values():
        for cat_code in gear_list.categories:
            gear_notes.setdefault(cat_code, []).extend(gear_list.notes)
    for position, ncat in enumerate(norm.categories):
        kept = existing.get(ncat.section.code)
        if kept is None:
            kept = Category(code=ncat.section.code, details={})
            event.categories.append(kept)
        kept.position = position
        _fill_category(kept, ncat, gear_notes.get(ncat.section.code, []))


def _fill_category(category: Category, ncat: NormalizedCategory, gear_notes: list[str]) -> None:
    sec = ncat.section
    _copy(
        sec,
        category,
        "name",
        "distance_km",
        "distance_text",
        "elevation_gain_m",
        "start_location",
        "field_size",
        "fee",
    )
    _copy(ncat, category, "start_at", "start_date", "time_limit_minutes")
    category.details = {
        "pacer": sec.pacer,
        "pacer_from": sec.pacer_from,
        "pacer_from_km": sec.pacer_from_km,
        "pacer_fee": sec.pacer_fee,
        "drop_bag_km": sec.drop_bag_km,
        "awards": sec.awards,
        "points": sec.points,
        "notes": sec.notes,
        "gear_notes": list(dict.fromkeys(gear_notes)),
    }
    # Nothing references checkpoints: replace them wholesale.
    category.checkpoints.clear()
    for position, cp in enumerate(ncat.checkpoints):
        category.checkpoints.append(
            Checkpoint(
                position=position,
                label=cp.label,
                name=cp.name,
                km=cp.km,
                cutoff_minutes=cp.cutoff_minutes,
                is_finish=cp.is_finish,
                notes=cp.notes,
            )
        )
    # Gear items carry runners' ticks: update them in place by code.
    items = {g.code: g for g in category.gear_items}
    wanted = {g.code for g in ncat.gear}
    for code, item in items.items():
        if code not in wanted:
            category.gear_items.remove(item)
    for position, gear in enumerate(sorted(ncat.gear, key=lambda g: not g.mandatory)):
        kept_item = items.get(gear.code)
        if kept_item is None:
            kept_item = GearItem(code=gear.code)
            category.gear_items.append(kept_item)
        kept_item.position = position
        _copy(gear, kept_item, "name", "mandatory", "spec", "conditions")


def _apply_schedule(event: Event, norm: NormalizedRace) -> None:
    event.schedule_items.clear()
    for section, at, end in norm.schedule:
        event.schedule_items.append(
            ScheduleItem(
                starts_at=at,
                ends_at=end,
                kind=section.kind,
                title=section.title,
                details=section.details,
                location=section.location,
                category_codes=list(section.categories),
            )
        )


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
                    f"shuttle {code!r} is gone from the file but has {booked} "
                    "booking(s); keep it or cancel them first"
                )
            else:
                event.shuttle_routes.remove(route)
    for position, sec in enumerate(norm.race.shuttles):
        kept_route = routes.get(sec.code)
        if kept_route is None:
            kept_route = ShuttleRoute(code=sec.code)
            event.shuttle_routes.append(kept_route)
        route = kept_route
        route.position = position
        route.origin = sec.from_
        route.destination = sec.to
        route.fee = sec.fee
        route.reservation_required = sec.reservation
        route.supporters_allowed = sec.supporters_allowed
        route.category_codes = list(sec.categories)
        route.cancel_before_minutes = (
            duration_minutes(sec.cancel_before) if sec.cancel_before else 0
        )
        route.notes = "\n".join(sec.notes) or None
        # Departures will carry bookings: match them by their time.
        deps = {d.departs_at: d for d in route.departures}
        new = dict(norm.departures.get(sec.code, []))
        zone = norm.zone
        for at, dep in deps.items():
            if at not in new:
                if _booked(dep):
                    refused.append(
                        f"the {sec.code} departure at {at.astimezone(zone):%a %H:%M} "
                        f"is gone from the file but has {_booked(dep)} booking(s)"
                    )
                else:
                    route.departures.remove(dep)
        for at, seats in new.items():
            kept_dep = deps.get(at)
            if kept_dep is None:
                route.departures.append(ShuttleDeparture(departs_at=at, seats=seats, seats_taken=0))
            elif seats is not None and seats < kept_dep.seats_taken:
                # Bookings are kept: the bus keeps as many seats as are already sold.
                result.warnings.append(
                    f"warning: {sec.code} {at.astimezone(zone):%a %H:%M}: the file says {seats} "
                    f"seats but {kept_dep.seats_taken} are booked; keeping {kept_dep.seats_taken}"
                )
                kept_dep.seats = kept_dep.seats_taken
            else:
                kept_dep.seats = seats
