"""The runner's whole race kit as data: what the phone caches for offline use."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from raceapp.models import Entry
from raceapp.services import alerts, gear, schedule
from raceapp.services.timing import cutoff_instant, effective_start, finish_instant, zone_of


def _iso(instant: datetime | None, zone) -> str | None:
    return None if instant is None else instant.astimezone(zone).isoformat()


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
