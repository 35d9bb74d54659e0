"""Parts of the kit pages that are the same for every runner of a category, at one state of
the race, in one language: the cut-off table, the course profile, the schedule, the gear list's
words, the offline kit's race data. Each is made once per process and reused; only the
runner's own part (ticks, bookings, unread alerts) is made for each request.

A part's key says everything it is made from, so a part is never invalidated, only no longer
asked for: the race's version (services.race_state: the race file as imported and the changes
applied, corrections included), the category, the reader's language, the deployed build and
the part's own extras (the phase of each cut-off, the course track). Parts are not cached
while an organizer previews another moment.

Race data changes only through an import (a new version) or a course upload (the track is in
the key). Should anything else in this process write a race's rows, the key moves on too (the
generation below), so no page ever shows a part of a race that is no more.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from flask import current_app, g
from markupsafe import Markup
from sqlalchemy import event
from sqlalchemy.orm import Session

from raceapp.i18n import current_language
from raceapp.models import (
    Alert,
    Category,
    Checkpoint,
    CourseTrack,
    Event,
    GearItem,
    ScheduleItem,
    ShuttleDeparture,
    ShuttleRoute,
)
from raceapp.push.vapid import vapid_for
from raceapp.services.race_state import CategoryState, EventState
from raceapp.web import assets

T = TypeVar("T")
SIZE = 2000  # parts kept per process: a few per category, state and language
RACE_DATA = (
    Event,
    Category,
    Checkpoint,
    CourseTrack,
    GearItem,
    ScheduleItem,
    ShuttleRoute,
    ShuttleDeparture,
    Alert,
)
_generation = [0]  # bumped when this process writes any race's rows


def _note_race_writes(session: Session, _context) -> None:  # noqa: ANN001
    touched = (*session.new, *session.dirty, *session.deleted)
    if any(isinstance(row, RACE_DATA) for row in touched):
        _generation[0] += 1


def watch_race_data() -> None:
    """Move every part's key on when this process writes race data (once per process)."""
    if not event.contains(Session, "after_flush", _note_race_writes):
        event.listen(Session, "after_flush", _note_race_writes)


class PartCache:
    """A bounded map from a part's key to the part, least recently used out first; shared by a
    process's threads."""

    def __init__(self, size: int = SIZE):
        self.size = size
        self._parts: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.made = self.reused = 0

    def get_or_make(self, key: Hashable, make: Callable[[], T]) -> T:
        with self._lock:
            if key in self._parts:
                self._parts.move_to_end(key)
                self.reused += 1
                return self._parts[key]
        # Made outside the lock: two threads may both make a new part once; both are equal.
        part = make()
        with self._lock:
            self.made += 1
            self._parts[key] = part
            while len(self._parts) > self.size:
                self._parts.popitem(last=False)
        return part

    def clear(self) -> None:
        with self._lock:
            self._parts.clear()
            self.made = self.reused = 0


def cache() -> PartCache:
    """This app's parts (one cache per app, so tests never share one)."""
    return current_app.extensions.setdefault("raceapp_parts", PartCache())


def build_salt() -> str:
    """What the deployed build puts in every page: its release, its static files' addresses and
    its push key."""
    salt = current_app.extensions.get("raceapp_build_salt")
    if salt is None:
        vapid = vapid_for(current_app)
        salt = current_app.extensions["raceapp_build_salt"] = json.dumps(
            [
                current_app.config.get("RACEAPP_RELEASE", ""),
                assets.shell_urls(),
                vapid.application_server_key if vapid else None,
            ]
        )
    return salt


def phases(state: CategoryState) -> tuple:
    """What of a category's state moves with the clock: its state word and each cut-off's
    phase (passed, next, later)."""
    return (state.state, tuple(cp.phase for cp in state.checkpoints))


def key(event_state: EventState, category_code: str | None, *extras: Hashable) -> tuple | None:
    """The key of a part of one category's pages (None: make it afresh, as in a preview)."""
    if g.get("preview_as_of") is not None:
        return None
    return (
        _generation[0],
        event_state.version,
        event_state.state,
        category_code,
        current_language(),
        build_salt(),
        *extras,
    )


def part(name: str, part_key: tuple | None, make: Callable[[], T]) -> T:
    """The part called `name` under `part_key`, made by `make` when not kept yet."""
    if part_key is None:
        return make()
    return cache().get_or_make((name, *part_key), make)


def cached_part(name: str, part_key: tuple | None, *, caller: Callable[[], str]) -> Markup:
    """In a template: `{% call cached_part("cutoffs", part_key) %}…{% endcall %}` renders
    the block only when the part is not kept yet."""
    return part(name, part_key, lambda: Markup(caller()))
