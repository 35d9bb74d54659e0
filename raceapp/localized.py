"""Text a race gives in one language or in several: `"…"` (in the race's own language) or
`{"ja": "…", "en": "…"}`. The one rule for choosing which to show: the reader's language, else
the race's own, else any there is; never an empty string when some text exists."""

from __future__ import annotations

from typing import Any

Localized = str | dict[str, str]


def pick(value: Any, language: str, fallback: str | None = None) -> str:
    """The text of `value` in `language`, else in `fallback`, else the first one given."""
    if value is None:
        return ""
    if isinstance(value, dict):
        for choice in (language, fallback):
            if choice and value.get(choice):
                return str(value[choice])
        return next((str(text) for text in value.values() if text), "")
    return str(value)


def primary(value: Any, language: str) -> str:
    """The text in the race's own language (what a plain string in its file is written in)."""
    return pick(value, language)


def translations(value: Any) -> dict[str, str] | None:
    """The languages a text was given in, or None for a plain string."""
    return dict(value) if isinstance(value, dict) else None


def every_text(value: Any) -> list[str]:
    """Each language's version of a text (to match names whichever language they are in)."""
    if value is None:
        return []
    return [str(text) for text in value.values()] if isinstance(value, dict) else [str(value)]
