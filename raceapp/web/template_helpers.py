"""Template filters and globals: instants shown in the event's zone with the weekday, and what
every page needs to know about the person looking at it."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, current_app, g, session
from flask_login import current_user

from raceapp import clock, localized, vocabulary
from raceapp.models import Event
from raceapp.push.vapid import vapid_for
from raceapp.services import accounts, pace, timing
from raceapp.vocabulary import alert_kind


def _in_zone(instant: datetime | None, event: Event) -> datetime | None:
    return None if instant is None else instant.astimezone(ZoneInfo(event.time_zone))


def _clock(local: datetime, pattern: str, event: Event) -> str:
    # Across a clock change the same wall time happens twice: say which (CEST or CET).
    text = local.strftime(pattern)
    return f"{text} {local.tzname()}" if timing.crosses_clock_change(event) else text


def day_time(instant: datetime | None, event: Event) -> str:
    """ "Sat 05:30" in the event's zone ("Sun 02:30 CEST" when the clocks change that weekend)."""
    local = _in_zone(instant, event)
    return "" if local is None else _clock(local, "%a %H:%M", event)


def full_day_time(instant: datetime | None, event: Event) -> str:
    local = _in_zone(instant, event)
    return "" if local is None else _clock(local, "%a %d %b %Y, %H:%M", event)


def long_day(instant: datetime | None, event: Event) -> str:
    local = _in_zone(instant, event)
    return "" if local is None else local.strftime("%A %d %B")


def long_date(value) -> str:
    return "" if value is None else value.strftime("%a %d %b %Y")


def hm(instant: datetime | None, event: Event, same_day_as: datetime | None = None) -> str:
    """ "16:30", or "Sun 03:00" when it falls on another local day than `same_day_as`."""
    local = _in_zone(instant, event)
    if local is None:
        return ""
    other = _in_zone(same_day_as, event)
    if other is not None and other.date() != local.date():
        return _clock(local, "%a %H:%M", event)
    return _clock(local, "%H:%M", event)


def km(value: float | None) -> str:
    return "" if value is None else f"{value:g} km"


def money(value: int | None, currency: str | None) -> str:
    if value is None:
        return ""
    return f"¥{value:,}" if currency == "JPY" else f"{value:,} {currency or ''}".strip()


def reader_language() -> str:
    """The language the person reading the page reads."""
    return g.get("language") or "en"


def tr(obj: Any, field: str) -> str:
    """A text of a race (a row's column, or a value of its details) in the reader's language,
    falling back to the race's own language: `event|tr('name')`."""
    if obj is None:
        return ""
    if isinstance(obj, dict):
        return localized.pick(obj.get(field), reader_language())
    texts = (getattr(obj, "texts", None) or {}).get(field)
    if texts:
        return localized.pick(texts, reader_language())
    value = getattr(obj, field, None)
    return "" if value is None else str(value)


def loc(value: Any) -> str:
    """A text given as "…" or { ja = "…", en = "…" }, in the reader's language."""
    return localized.pick(value, reader_language())


def _push_key() -> str | None:
    # Pages of a logged-in runner carry the key, so the app can (re)subscribe on open.
    if not current_user.is_authenticated:
        return None
    vapid = vapid_for(current_app)
    return vapid.application_server_key if vapid else None


def _page_context() -> dict:
    preview = g.get("preview_as_of")
    if preview is not None:
        preview = preview.astimezone(ZoneInfo(session.get("preview_zone") or "UTC"))
    return {
        "now": clock.utcnow(),
        "preview_as_of": preview,
        "may_preview": accounts.may_preview(current_user),
        "is_organizer_user": accounts.organizes_any(current_user),
        "push_key": _push_key(),
    }


def register(app: Flask) -> None:
    """Make the filters and the page context available to every template."""
    for function in (day_time, full_day_time, long_day, long_date, hm, km, money, tr, loc):
        app.add_template_filter(function)
    app.add_template_filter(timing.format_elapsed, "elapsed")
    app.add_template_filter(timing.format_duration, "moved")
    app.add_template_filter(timing.format_hours_minutes, "h_mm")
    app.add_template_global(vocabulary.race_state, "state_word")
    app.add_template_filter(pace.format_pace, "pace")
    app.add_template_filter(lambda kind: alert_kind(kind).label, "alert_label")
    app.add_template_global(
        lambda target, now: timing.format_countdown((target - now).total_seconds()),
        "countdown_text",
    )
    app.context_processor(_page_context)
