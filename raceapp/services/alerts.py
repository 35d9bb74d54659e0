"""Alerts: organizers announce, the race state follows, runners read them.

Posting writes the alert, its effect on the race and one push delivery per target device in
one transaction, so a crash can lose nothing between "posted" and "queued".
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import func, insert, literal, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from raceapp.database import write_transaction
from raceapp.extensions import db
from raceapp.models import (
    ALERT_KINDS,
    Alert,
    AlertRead,
    Category,
    Delivery,
    Entry,
    Event,
    PushSubscription,
    User,
    UTCDateTime,
)
from raceapp.services import accounts
from raceapp.services.errors import DomainError, Forbidden, NotFound

KIND_LABELS = {
    "info": "Information",
    "rule_change": "Rule change",
    "course_change": "Course change",
    "weather": "Weather",
    "start_delay": "Start delay",
    "cancellation": "Cancellation",
}
# Kinds that change the race: the event or category is then shown as "changed".
CHANGES_RACE = frozenset({"rule_change", "course_change", "start_delay"})
TITLE_MAX, BODY_MAX, LINK_MAX = 120, 4000, 500
DELAY_MAX_MINUTES = 24 * 60


@dataclass
class AlertDraft:
    kind: str
    title: str
    body: str = ""
    link: str | None = None
    category_code: str | None = None  # None: every runner of the event
    delay_minutes: int | None = None


def require_organizer(user: User, event: Event) -> None:
    """Only an organizer of this event may go on."""
    if not accounts.is_organizer(user, event):
        raise Forbidden("Only the organizers of this race can do that.")


def _clean(draft: AlertDraft, event: Event) -> tuple[Category | None, AlertDraft]:
    if draft.kind not in ALERT_KINDS:
        raise DomainError("Choose what kind of alert this is.")
    title = " ".join((draft.title or "").split())
    if not title:
        raise DomainError("Give the alert a title.")
    if len(title) > TITLE_MAX:
        raise DomainError(f"Keep the title to {TITLE_MAX} characters; it is what the lock "
                          "screen shows.")
    body = (draft.body or "").strip().replace("\r\n", "\n")
    if len(body) > BODY_MAX:
        raise DomainError(f"Keep the text to {BODY_MAX} characters.")
    link = (draft.link or "").strip() or None
    if link is not None:
        parts = urlsplit(link)
        local = link.startswith("/") and not link.startswith("//") and not parts.scheme
        if len(link) > LINK_MAX or not (local or (parts.scheme == "https" and parts.hostname)):
            raise DomainError("The link must be an https:// address or a page of this app "
                              "(starting with /).")
    category = None
    if draft.category_code:
        category = next((c for c in event.categories if c.code == draft.category_code), None)
        if category is None:
            raise DomainError("That category is not part of this race.")
    delay = None
    if draft.kind == "start_delay":
        if draft.delay_minutes is None or not 0 <= draft.delay_minutes <= DELAY_MAX_MINUTES:
            raise DomainError("Give the delay in minutes after the published start "
                              f"(0 to {DELAY_MAX_MINUTES}).")
        delay = draft.delay_minutes
    return category, AlertDraft(draft.kind, title, body, link, draft.category_code, delay)


def _apply_to_race(event: Event, category: Category | None, draft: AlertDraft) -> None:
    categories = [category] if category else list(event.categories)
    if draft.kind == "start_delay":
        for c in categories:
            c.start_delay_minutes = draft.delay_minutes
    if draft.kind == "cancellation":
        if category:
            category.status = "cancelled"
        else:
            event.status, event.status_note = "cancelled", draft.title
    elif draft.kind in CHANGES_RACE:
        if category:
            if category.status == "on":
                category.status = "changed"
        elif event.status == "on":
            event.status, event.status_note = "changed", draft.title


def _runners_in_scope(event: Event, category: Category | None):
    query = select(Entry.user_id).where(Entry.event_id == event.id)
    if category is not None:
        query = query.where(Entry.category_id == category.id)
    return query


def post_alert(author: User, event: Event, draft: AlertDraft, *, now: datetime) -> Alert:
    """Publish an alert: change the race if its kind says so, and queue a push per device."""
    require_organizer(author, event)
    category, draft = _clean(draft, event)
    with write_transaction():
        if db.engine.dialect.name == "postgresql":
            # Two organizers changing the same race at once apply one after the other.
            db.session.execute(select(Event.id).where(Event.id == event.id).with_for_update())
        alert = Alert(event_id=event.id, category_id=category.id if category else None,
                      kind=draft.kind, title=draft.title, body=draft.body, link=draft.link,
                      delay_minutes=draft.delay_minutes, author_id=author.id, created_at=now)
        db.session.add(alert)
        _apply_to_race(event, category, draft)
        db.session.flush()
        runners = _runners_in_scope(event, category)
        alert.audience_count = db.session.scalar(
            select(func.count()).select_from(runners.subquery())) or 0
        db.session.execute(insert(Delivery).from_select(
            ["alert_id", "subscription_id", "user_id", "status", "attempts", "next_attempt_at"],
            select(literal(alert.id), PushSubscription.id, PushSubscription.user_id,
                   literal("pending"), literal(0), literal(now, UTCDateTime()))
            .where(PushSubscription.user_id.in_(runners))))
        alert.device_count = db.session.scalar(
            select(func.count()).where(Delivery.alert_id == alert.id)) or 0
    return alert


# --- Runners --------------------------------------------------------------------------------

def _visible_to(user: User):
    """Alerts of the runner's events: event-wide ones, and those for their category."""
    return (select(Alert).join(Entry, (Entry.event_id == Alert.event_id)
                               & (Entry.user_id == user.id))
            .where(or_(Alert.category_id.is_(None), Alert.category_id == Entry.category_id)))


@dataclass
class FeedItem:
    alert: Alert
    read: bool


def feed(user: User, *, limit: int = 100) -> list[FeedItem]:
    """The runner's alerts, newest first, each marked read or unread."""
    alerts = db.session.scalars(_visible_to(user).order_by(
        Alert.created_at.desc(), Alert.id.desc()).limit(limit)).all()
    read = _read_ids(user, [a.id for a in alerts])
    return [FeedItem(a, a.id in read) for a in alerts]


def _read_ids(user: User, alert_ids: list[int]) -> set[int]:
    if not alert_ids:
        return set()
    return set(db.session.scalars(select(AlertRead.alert_id).where(
        AlertRead.user_id == user.id, AlertRead.alert_id.in_(alert_ids))))


@dataclass
class KitAlerts:
    """What the kit home shows of the alerts."""

    feed: list[FeedItem]
    unread_count: int
    unread: list[Alert]  # the newest few unread
    race_change: Alert | None  # the newest alert that changed or cancelled the runner's race


def for_kit(user: User, entry: Entry, *, newest: int = 3, limit: int = 100) -> KitAlerts:
    """The kit home's alerts from one read of the feed (a race has far fewer than `limit`)."""
    items = feed(user, limit=limit)
    unread_alerts = [item.alert for item in items if not item.read]
    change = next((item.alert for item in items
                   if item.alert.event_id == entry.event_id
                   and item.alert.category_id in (None, entry.category_id)
                   and item.alert.kind in CHANGES_RACE | {"cancellation"}), None)
    return KitAlerts(items, len(unread_alerts), unread_alerts[:newest], change)


def _find(user: User, alert_id: int) -> tuple[Alert, bool]:
    """The alert if the user may read it, and whether they are a runner it was for (else an
    organizer of its event)."""
    alert = db.session.scalar(_visible_to(user).where(Alert.id == alert_id))
    if alert is not None:
        return alert, True
    alert = db.session.get(Alert, alert_id)
    if alert is None or not accounts.is_organizer(user, alert.event):
        raise NotFound("No such alert.")
    return alert, False


def _insert_ignoring_duplicates(rows: list[dict]) -> None:
    if not rows:
        return
    dialect_insert = pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    db.session.execute(dialect_insert(AlertRead).values(rows).on_conflict_do_nothing(
        index_elements=["alert_id", "user_id"]))


def mark_read(user: User, alert_id: int, *, now: datetime) -> Alert:
    """Record that a runner it was for read this alert (once, however often they open it);
    an organizer looking at it is not counted as a reader."""
    alert, for_runner = _find(user, alert_id)
    if for_runner:
        with write_transaction():
            _insert_ignoring_duplicates([{"alert_id": alert.id, "user_id": user.id,
                                          "read_at": now}])
    return alert


def mark_all_read(user: User, *, now: datetime) -> int:
    """Mark every alert of the runner read; returns how many were unread."""
    unread_ids = db.session.scalars(_visible_to(user).with_only_columns(Alert.id).where(
        ~Alert.id.in_(select(AlertRead.alert_id).where(AlertRead.user_id == user.id)))).all()
    with write_transaction():
        _insert_ignoring_duplicates([{"alert_id": alert_id, "user_id": user.id,
                                      "read_at": now} for alert_id in unread_ids])
    return len(unread_ids)


# --- Organizers -----------------------------------------------------------------------------

@dataclass
class Figures:
    alert: Alert
    sent: int = 0
    failed: int = 0
    gone: int = 0
    pending: int = 0
    read: int = 0
    readers: list[tuple[User, str | None, datetime]] = field(default_factory=list)


def _figures(alerts: list[Alert]) -> list[Figures]:
    """Delivery counts by status and read counts, in two grouped queries for all of them."""
    figures = {a.id: Figures(a) for a in alerts}
    if figures:
        for alert_id, status, count in db.session.execute(
                select(Delivery.alert_id, Delivery.status, func.count())
                .where(Delivery.alert_id.in_(figures)).group_by(Delivery.alert_id, Delivery.status)):
            setattr(figures[alert_id], status, count)
        for alert_id, count in db.session.execute(
                select(AlertRead.alert_id, func.count()).where(AlertRead.alert_id.in_(figures))
                .group_by(AlertRead.alert_id)):
            figures[alert_id].read = count
    return list(figures.values())


def event_alerts(user: User, event: Event) -> list[Figures]:
    """Every alert of the event, newest first, with its delivery and read figures."""
    require_organizer(user, event)
    return _figures(list(db.session.scalars(
        select(Alert).where(Alert.event_id == event.id)
        .order_by(Alert.created_at.desc(), Alert.id.desc()))))


def alert_figures(user: User, alert_id: int) -> Figures:
    """One alert's delivery figures and who has read it (organizers of its event only)."""
    alert = db.session.get(Alert, alert_id)
    if alert is None:
        raise NotFound("No such alert.")
    require_organizer(user, alert.event)
    [figures] = _figures([alert])
    figures.readers = [
        (reader, bib, read_at) for reader, bib, read_at in db.session.execute(
            select(User, Entry.bib, AlertRead.read_at)
            .join(AlertRead, AlertRead.user_id == User.id)
            .outerjoin(Entry, (Entry.user_id == User.id) & (Entry.event_id == alert.event_id))
            .where(AlertRead.alert_id == alert.id).order_by(AlertRead.read_at))]
    return figures
