"""The runner's whole race kit as data: what the phone caches for offline use."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, case, func, select

from raceapp.extensions import db
from raceapp.models import (
    Alert,
    AlertRead,
    Booking,
    Entry,
    Event,
    GearTick,
    Notice,
    OrganizerRole,
    PersonalGearItem,
    User,
    WaitlistEntry,
)
from raceapp.services import alerts, gear, schedule
from raceapp.services.timing import cutoff_instant, effective_start, finish_instant, zone_of


def _iso(instant: datetime | None, zone) -> str | None:
    return None if instant is None else instant.astimezone(zone).isoformat()


def _packed(model, packed_column):
    # Which rows are packed, as a count and a sum of ids: a tick shows even when an offline
    # tick carries an older time than the newest one. (Flips that cancel out in both are
    # left to the minute in the ETag.)
    return (func.coalesce(func.sum(case((packed_column, 1), else_=0)), 0),
            func.coalesce(func.sum(case((packed_column, model.id), else_=0)), 0))


def _each(*aggregates, where):
    return [select(aggregate).where(*where).scalar_subquery() for aggregate in aggregates]


_uid = bindparam("uid")
# The runner's current entry (their newest), as accounts.current_entry picks it.
_entry_id = (select(Entry.id).where(Entry.user_id == _uid)
             .order_by(Entry.created_at.desc()).limit(1).scalar_subquery())
_event_id = select(Entry.event_id).where(Entry.id == _entry_id).scalar_subquery()
_entered_events = select(Entry.event_id).where(Entry.user_id == _uid)
# Built once: asked on every open of the kit home, and SQLAlchemy remembers the compiled form
# of a statement object it has seen. One round trip: every figure is a scalar subquery.
_FINGERPRINT = select(
    *_each(Entry.id, Entry.event_id, Entry.category_id, Entry.bib,
           where=[Entry.id == _entry_id]),
    *_each(func.count(), func.max(GearTick.ticked_at), *_packed(GearTick, GearTick.packed),
           where=[GearTick.user_id == _uid]),
    *_each(func.count(), func.max(PersonalGearItem.id), func.max(PersonalGearItem.ticked_at),
           *_packed(PersonalGearItem, PersonalGearItem.packed),
           where=[PersonalGearItem.user_id == _uid]),
    *_each(func.count(), *_packed(Booking, Booking.status == "booked"),
           where=[Booking.user_id == _uid]),
    *_each(func.count(), func.max(WaitlistEntry.id), where=[WaitlistEntry.user_id == _uid]),
    *_each(func.count(), func.max(Notice.id),
           where=[Notice.user_id == _uid, Notice.read_at.is_(None)]),
    *_each(func.count(), where=[AlertRead.user_id == _uid]),
    # The alert list covers every race the runner entered, not only the current one.
    *_each(func.count(), func.max(Alert.id), where=[Alert.event_id.in_(_entered_events)]),
    *_each(Event.updated_at, Event.status, where=[Event.id == _event_id]),
    # The navigation shows organizers their desk.
    *_each(func.count(), where=[OrganizerRole.user_id == _uid]),
)


def home_fingerprint(user: User) -> tuple | None:
    """Everything the kit home is made of, summed up in one query: the runner's entry, their
    race's file, the alerts of their races, and their reads, ticks, own items, bookings,
    waitlist places, notices and organizer roles. Equal fingerprints (within the same minute) mean an equal page, so
    it need not be made. None when the runner has no entry."""
    row = db.session.execute(_FINGERPRINT, {"uid": user.id}).one()
    if row[0] is None:
        return None
    return (user.id, user.name, *row)


def kit(entry: Entry) -> dict[str, Any]:
    """Everything a runner needs offline. Nothing in it depends on the current time, so the
    same kit yields the same bytes and a conditional request can answer 304."""
    event, category = entry.event, entry.category
    zone = zone_of(event)
    checks = gear.checklist(entry)
    stamps = [event.updated_at, entry.created_at]
    stamps += [r.ticked_at for r in checks.mandatory + checks.recommended if r.ticked_at]
    stamps += [p.ticked_at for p in checks.personal]
    details = event.details or {}
    feed = alerts.feed(entry.user, limit=50)
    stamps += [item.alert.created_at for item in feed if item.alert.event_id == event.id]
    return {
        "version": max(stamps).isoformat(),
        "event": {
            "slug": event.slug, "name": event.name, "time_zone": event.time_zone,
            "venue": event.venue, "start_date": event.start_date and event.start_date.isoformat(),
            "end_date": event.end_date and event.end_date.isoformat(),
            "status": event.status, "status_note": event.status_note,
            "website": event.website,
        },
        "category": {
            "code": category.code, "name": category.name, "distance_km": category.distance_km,
            "distance_text": category.distance_text,
            "elevation_gain_m": category.elevation_gain_m,
            "start": _iso(effective_start(category), zone),
            "start_date": category.start_date and category.start_date.isoformat(),
            "start_delay_minutes": category.start_delay_minutes,
            "finish_cutoff": _iso(finish_instant(category), zone),
            "time_limit_minutes": category.time_limit_minutes,
            "status": category.status,
        },
        "entry": {"bib": entry.bib},
        "checkpoints": [
            {"label": cp.label, "name": cp.name, "km": cp.km,
             "cutoff_after_minutes": cp.cutoff_minutes,
             "cutoff": _iso(cutoff_instant(category, cp), zone), "finish": cp.is_finish}
            for cp in category.checkpoints
        ],
        "gear": [
            {"id": r.item.id, "code": r.item.code, "name": r.item.name,
             "mandatory": r.item.mandatory, "spec": r.item.spec,
             "conditions": r.item.conditions, "packed": r.packed,
             "ticked_at": _iso(r.ticked_at, zone)}
            for r in checks.mandatory + checks.recommended
        ],
        "personal_gear": [
            {"id": p.id, "name": p.name, "packed": p.packed, "ticked_at": _iso(p.ticked_at, zone)}
            for p in checks.personal
        ],
        "schedule": [
            {"title": i.title, "kind": i.kind, "start": _iso(i.starts_at, zone),
             "end": _iso(i.ends_at, zone), "details": i.details, "location": i.location}
            for i in schedule.items_for(event, category.code)
        ],
        "contacts": {"hq_phone": event.hq_phone, "people": details.get("contacts", [])},
        "drop_out": (details.get("rules") or {}).get("drop_out", []),
        "alerts": [
            {"id": a.id, "kind": a.kind, "title": a.title, "body": a.body, "link": a.link,
             "posted": _iso(a.created_at, zone), "read": item.read,
             "category": a.category.code if a.category else None}
            for item in feed if (a := item.alert).event_id == event.id
        ],
    }
