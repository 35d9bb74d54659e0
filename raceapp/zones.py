"""Wall-clock times in a time zone: the instants one can mean. zoneinfo itself never says that
a local time falls in the hour a clock change repeats or skips (fold=0 picks silently)."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo


def local_candidates(wall: datetime, zone: ZoneInfo) -> list[datetime]:
    """The instants a wall-clock time can mean in a zone: one; two in the hour a clock change
    repeats; none in the hour it skips."""
    found: list[datetime] = []
    for fold in (0, 1):
        aware = wall.replace(tzinfo=zone, fold=fold)
        back = aware.astimezone(timezone.utc).astimezone(zone).replace(tzinfo=None)
        if back == wall and all(aware.utcoffset() != f.utcoffset() for f in found):
            found.append(aware)
    return found


def offset_text(instant: datetime) -> str:
    """+09:00, as an ISO date-time writes the offset."""
    text = instant.strftime("%z")
    return f"{text[:3]}:{text[3:]}"
