"""The reader's language below the web layer: which one is in force, how to write in each, and
how instants, durations, paces and money read in it.

Sentences come from the message catalogue (Flask-Babel's gettext); names of days and months,
digit grouping and currency words come from Babel's locale data. The patterns below only say
which parts a date shows and in what order, the way each language's race sites write it:
"Sat 05:30" and "8日(土) 05:30". Outside a request (the CLI, the push worker without
`speaking`) everything is in English.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

from babel.dates import (
    format_date,
    format_datetime,
    format_interval,
    get_timezone,
    get_timezone_location,
)
from babel.numbers import format_currency, format_decimal
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _

from raceapp import localized

# Japanese first: every seed race is in Japan and most of their runners read it first.
LANGUAGES = ("ja", "en")
DEFAULT_LANGUAGE = "en"
# The name of each language in itself, for the switch in the header.
NATIVE_NAMES = {"ja": "日本語", "en": "English"}

# fmt: off
_DATE_PATTERNS = {
    #                 English                     Japanese
    "day_time":      ("EEE HH:mm",                "d日(E) HH:mm"),
    "full_day_time": ("EEE dd MMM yyyy, HH:mm",   "y年M月d日(E) HH:mm"),
    "long_day":      ("EEEE dd MMMM",             "M月d日(E)"),
    "long_date":     ("EEE dd MMM yyyy",          "y年M月d日(E)"),
    "short_date":    ("EEE dd MMM",               "M月d日(E)"),
    "time":          ("HH:mm",                    "HH:mm"),
}
# fmt: on


def current_language() -> str:
    """The language in force: the reader's in a request, else the one `speaking` set."""
    locale = get_locale()
    language = locale.language if locale is not None else None
    return language if language in LANGUAGES else DEFAULT_LANGUAGE


def known(language: str | None) -> str | None:
    """`language` if the app speaks it ("ja-JP" counts as "ja"), else None."""
    base = (language or "").replace("_", "-").split("-")[0].lower()
    return base if base in LANGUAGES else None


@contextmanager
def speaking(language: str | None) -> Iterator[str]:
    """Write in `language` for a while (an alert to a runner who reads another language)."""
    chosen = known(language) or DEFAULT_LANGUAGE
    with force_locale(chosen):
        yield chosen


def in_every_language(make: Callable[[], object]) -> dict[str, str]:
    """`make()` written once per language: {"ja": "…", "en": "…"}, for texts made once and
    read later by runners of either language (alert outcomes, notices)."""
    texts = {}
    for language in LANGUAGES:
        with speaking(language):
            texts[language] = str(make())
    return texts


# --- Dates and times ---------------------------------------------------------------------------


def format_when(value: datetime | date | None, style: str, language: str | None = None) -> str:
    """A local date or time in one of the styles above ("day_time", "long_date", ...)."""
    if value is None:
        return ""
    language = known(language) or current_language()
    english, japanese = _DATE_PATTERNS[style]
    pattern = japanese if language == "ja" else english
    if isinstance(value, datetime):
        return format_datetime(value, pattern, locale=language)
    return format_date(value, pattern, locale=language)


# --- Durations, paces, numbers -----------------------------------------------------------------


def _in(language: str | None, make: Callable[[], str]) -> str:
    if language is None:
        return make()
    with speaking(language):
        return make()


def format_elapsed(minutes: int | None, language: str | None = None) -> str:
    """Time after the start: 690 -> "11 h 30" / "11時間30分", 1260 -> "21 h" / "21時間"."""
    if minutes is None:
        return ""
    hours, rest = divmod(minutes, 60)
    if rest:
        return _in(language, lambda: _("%(hours)d h %(minutes)02d", hours=hours, minutes=rest))
    return _in(language, lambda: _("%(hours)d h", hours=hours))


def format_hours_minutes(minutes: int | None) -> str:
    """690 -> "11:30": elapsed time as races publish it (and as forms take it)."""
    if minutes is None:
        return ""
    hours, rest = divmod(minutes, 60)
    return f"{hours}:{rest:02d}"


def format_duration(minutes: int, language: str | None = None) -> str:
    """A span of time in prose: 45 -> "45 min" / "45分", 90 -> "1 h 30" / "1時間30分"
    (the sign is dropped: the sentence around it says earlier or later)."""
    minutes = abs(minutes)
    if minutes >= 60:
        return format_elapsed(minutes, language)
    return _in(language, lambda: _("%(minutes)d min", minutes=minutes))


def format_countdown(seconds: float, language: str | None = None) -> str:
    """Time left as the countdown shows it: "5 h 30 min 00 s" / "5時間30分00秒"; from two days
    on, "3 days 4 h 05 min" / "3日4時間05分" (on race day runners think in hours). The phone
    writes the same (static/race-rules.js, from the catalogue in static/messages.js)."""
    total = max(int(seconds), 0)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours >= 48:
        return _in(
            language,
            lambda: _(
                "%(days)d days %(hours)d h %(minutes)02d min",
                days=hours // 24,
                hours=hours % 24,
                minutes=minutes,
            ),
        )
    return _in(
        language,
        lambda: _(
            "%(hours)d h %(minutes)02d min %(seconds)02d s",
            hours=hours,
            minutes=minutes,
            seconds=secs,
        ),
    )


def format_pace(pace: float | None, language: str | None = None) -> str:
    """12.5 min/km -> "12:30 min/km" / "12分30秒/km"; from an hour per km on, "1:05 h/km" /
    "1時間05分/km". Rounds half to even, as the phone does."""
    if pace is None:
        return ""
    total = round(pace * 60)  # seconds per km
    if total >= 3600:
        minutes = round(total / 60)
        return _in(
            language,
            lambda: _("%(hours)d:%(minutes)02d h/km", hours=minutes // 60, minutes=minutes % 60),
        )
    return _in(
        language,
        lambda: _("%(minutes)d:%(seconds)02d min/km", minutes=total // 60, seconds=total % 60),
    )


def format_number(value: float | int | None, language: str | None = None) -> str:
    """1234 -> "1,234" with the language's separators."""
    if value is None:
        return ""
    return format_decimal(value, locale=known(language) or current_language())


def format_money(value: int | None, currency: str | None, language: str | None = None) -> str:
    """A fee as the language writes it: "¥25,000" in English, "25,000円" in Japanese."""
    if value is None:
        return ""
    language = known(language) or current_language()
    if not currency:
        return format_decimal(value, locale=language)
    # Japanese sites write amounts with the currency's name after them (円), not the sign.
    if language == "ja":
        return format_currency(value, currency, locale=language, format_type="name")
    return format_currency(value, currency, locale=language)


# --- Race texts -------------------------------------------------------------------------------


def text_of(obj: Any, field: str = "name", language: str | None = None) -> str:
    """A text of a race (a row's column, or a value of its details) in the reader's language,
    falling back to the race's own: `text_of(event)`, `text_of(checkpoint, "label")`."""
    if obj is None:
        return ""
    language = known(language) or current_language()
    if isinstance(obj, dict):
        return localized.pick(obj.get(field), language)
    texts = (getattr(obj, "texts", None) or {}).get(field)
    if texts:
        return localized.pick(texts, language)
    value = getattr(obj, field, None)
    return "" if value is None else str(value)


def join_clauses(parts: list[str]) -> str:
    """Clauses of one sentence: "A bypassed; B cut-off 11:00 → 11:30" / "A 通過なし、B …"."""
    # Translators: what separates the clauses of one sentence (Japanese: "、").
    return _("; ").join(parts)


def join_sentences(parts: list[str]) -> str:
    """Sentences one after the other: Japanese puts no space between them."""
    return ("" if current_language() == "ja" else " ").join(parts)


def format_date_range(start: date | None, end: date | None, language: str | None = None) -> str:
    """A race weekend: "Fri, Jun 7 – Sun, Jun 9, 2024" / "2024年6月7日(金)～9日(日)", as each
    language shortens a range (Babel's interval formats); one day alone when they agree."""
    if start is None:
        return ""
    language = known(language) or current_language()
    return format_interval(start, end or start, "yMMMEd", locale=language)


def format_zone(zone: str, language: str | None = None) -> str:
    """A time zone as people say it: "Japan Time" / "日本時間" (Babel's zone names)."""
    language = known(language) or current_language()
    try:
        return get_timezone_location(get_timezone(zone), locale=language)
    except LookupError:
        return zone
