"""The one place that answers "what time is it": tests freeze it, previews shift it."""

from __future__ import annotations

from datetime import datetime, timezone

from flask import g, has_request_context

_frozen: datetime | None = None


def utcnow() -> datetime:
    """Return the current instant (aware, UTC), honouring a frozen clock or a preview."""
    if has_request_context():
        preview = g.get("preview_as_of")
        if preview is not None:
            return preview
    if _frozen is not None:
        return _frozen
    return datetime.now(timezone.utc)


def real_utcnow() -> datetime:
    """Return the wall-clock instant, ignoring previews (for audit stamps such as tick times)."""
    if _frozen is not None:
        return _frozen
    return datetime.now(timezone.utc)


def freeze(instant: datetime | None) -> None:
    """Pin the clock to an aware instant (None releases it); for tests and demos."""
    global _frozen
    if instant is not None and instant.tzinfo is None:
        raise ValueError("freeze() needs an aware datetime")
    _frozen = instant.astimezone(timezone.utc) if instant else None
