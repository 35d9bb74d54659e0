"""Template filters and globals: instants shown in the event's zone with the weekday, and what
every page needs to know about the person looking at it."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, current_app, g, request, session, url_for
from flask_login import current_user

from raceapp import clock, i18n, localized, vocabulary
from raceapp.models import Event
from raceapp.push.vapid import vapid_for
from raceapp.services import accounts, branding, race_publish, team, timing
from raceapp.vocabulary import alert_kind
from raceapp.web import parts, security


def _in_zone(instant: datetime | None, event: Event) -> datetime | None:
    return None if instant is None else instant.astimezone(ZoneInfo(event.time_zone))


def _clock(local: datetime, style: str, event: Event) -> str:
    # Across a clock change the same wall time happens twice: say which (CEST or CET).
    text = i18n.format_when(local, style)
    return f"{text} {local.tzname()}" if timing.crosses_clock_change(event) else text


def day_time(instant: datetime | None, event: Event) -> str:
    """ "Sat 05:30" / "8日(土) 05:30" in the event's zone ("Sun 02:30 CEST" when the clocks
    change that weekend)."""
    local = _in_zone(instant, event)
    return "" if local is None else _clock(local, "day_time", event)


def full_day_time(instant: datetime | None, event: Event) -> str:
    """ "Sat 08 Jun 2024, 05:30" / "2024年6月8日(土) 05:30"."""
    local = _in_zone(instant, event)
    return "" if local is None else _clock(local, "full_day_time", event)


def long_day(instant: datetime | None, event: Event) -> str:
    """ "Saturday 08 June" / "6月8日(土)": a heading for one day."""
    local = _in_zone(instant, event)
    return "" if local is None else i18n.format_when(local, "long_day")


def long_date(value: date | None) -> str:
    """ "Sat 08 Jun 2024" / "2024年6月8日(土)"."""
    return i18n.format_when(value, "long_date")


def short_date(value: date | None) -> str:
    """ "Sat 08 Jun" / "6月8日(土)"."""
    return i18n.format_when(value, "short_date")


def day_heading(value: date | None) -> str:
    """A day of the schedule: "Saturday 08 June" / "6月8日(土)"."""
    return i18n.format_when(value, "long_day")


def hm(instant: datetime | None, event: Event, same_day_as: datetime | None = None) -> str:
    """ "16:30", or "Sun 03:00" when it falls on another local day than `same_day_as`."""
    local = _in_zone(instant, event)
    if local is None:
        return ""
    other = _in_zone(same_day_as, event)
    if other is not None and other.date() != local.date():
        return _clock(local, "day_time", event)
    return _clock(local, "time", event)


def km(value: float | None) -> str:
    return "" if value is None else f"{value:g} km"


def reader_language() -> str:
    """The language the person reading the page reads."""
    return i18n.current_language()


def tr(obj: Any, field: str) -> str:
    """A text of a race (a row's column, or a value of its details) in the reader's language,
    falling back to the race's own language: `event|tr('name')`."""
    return i18n.text_of(obj, field)


def loc(value: Any) -> str:
    """A text given as "…" or { ja = "…", en = "…" }, in the reader's language."""
    return localized.pick(value, reader_language())


def _push_key() -> str | None:
    # Pages of a logged-in runner carry the key, so the app can (re)subscribe on open.
    if not current_user.is_authenticated:
        return None
    vapid = vapid_for(current_app)
    return vapid.application_server_key if vapid else None


def race_brand(event: Event | None) -> branding.Brand | None:
    """The race's own colour for its pages (None: the app's), its inline style allowed by hash."""
    colour = (event.details or {}).get("colour") if isinstance(event, Event) else None
    if not colour:
        return None
    brand = branding.brand(colour)
    security.allow_style(brand.csp_hash())
    return brand


def race_logo_url(event: Event | None) -> str | None:
    """The address of the race's logo (its version in it), or None when it has none."""
    if not isinstance(event, Event):
        return None
    kept = (event.details or {}).get("logo")
    if not kept:
        return None
    version, ext = kept.split(".", 1)
    return url_for("site.race_logo", slug=event.slug, ext=ext, v=version)


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
        "language": reader_language(),
        "languages": [(code, i18n.NATIVE_NAMES[code]) for code in i18n.LANGUAGES],
        "here": request.full_path.rstrip("?") if request else "/",
    }


def register(app: Flask) -> None:
    """Make the filters and the page context available to every template."""
    for function in (
        day_time,
        full_day_time,
        long_day,
        long_date,
        short_date,
        day_heading,
        hm,
        km,
        tr,
        loc,
    ):
        app.add_template_filter(function)
    app.add_template_filter(i18n.format_money, "money")
    app.add_template_filter(i18n.format_date_range, "date_range")
    app.add_template_filter(i18n.format_zone, "zone")
    app.add_template_filter(i18n.format_number, "number")
    app.add_template_filter(i18n.format_elapsed, "elapsed")
    app.add_template_filter(i18n.format_duration, "moved")
    app.add_template_filter(i18n.format_hours_minutes, "h_mm")
    app.add_template_filter(i18n.format_pace, "pace")
    app.add_template_global(vocabulary.race_state, "state_word")
    app.add_template_global(race_brand)
    app.add_template_global(race_logo_url)
    app.add_template_filter(
        lambda version, for_runners=False: race_publish.changes_in(
            version, reader_language(), for_runners=for_runners
        ),
        "version_changes",
    )
    # What the reader's role in a race's team allows: the console shows only those pages.
    app.add_template_global(lambda event: team.permissions(current_user, event), "console_may")
    app.add_template_filter(lambda kind: alert_kind(kind).label, "alert_label")
    app.add_template_filter(lambda grade: vocabulary.PACE_GRADES[grade], "grade_label")
    app.add_template_filter(lambda code: i18n.NATIVE_NAMES.get(code, code), "language_name")
    app.add_template_global(
        lambda target, now: i18n.format_countdown((target - now).total_seconds()),
        "countdown_text",
    )
    app.add_template_global(parts.cached_part)
    parts.watch_race_data()
    app.context_processor(_page_context)
