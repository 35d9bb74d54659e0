"""Alerts: organizers announce, the race state follows, runners read them.

An alert of a kind that changes the race carries its effect (raceapp.vocabulary says which
kinds do; services.race_state applies them). Posting writes the alert, its effect and one push
delivery per target device in one transaction, so a crash can lose nothing between "posted"
and "queued".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import Select, Subquery, func, insert, literal, or_, select, true, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from raceapp import localized
from raceapp.database import write_transaction
from raceapp.errors import DomainError, Forbidden, NotFound
from raceapp.extensions import db
from raceapp.i18n import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    NATIVE_NAMES,
    format_when,
    in_every_language,
    join_clauses,
    join_sentences,
    known,
    text_of,
)
from raceapp.links import is_safe_link
from raceapp.models import (
    Alert,
    AlertRead,
    AlertRecipient,
    Booking,
    Category,
    Delivery,
    DropOut,
    Entry,
    Event,
    MailDelivery,
    PushSubscription,
    ShuttleDeparture,
    ShuttleRoute,
    User,
    UTCDateTime,
    WaitlistEntry,
)
from raceapp.services import accounts, audit, race_state, reminders, team
from raceapp.services.race_state import CategoryState, EventState
from raceapp.services.timing import parse_local, zone_of
from raceapp.vocabulary import (
    ALERT_KINDS,
    ALERTS,
    AUDIENCES,
    BOOKED,
    BYPASSED,
    CHANGED,
    CHECKPOINT_STATUSES,
    DELAYED,
    IN_PROGRESS,
    OPEN,
    UPCOMING,
    VIEW,
    is_urgent,
)

TITLE_MAX, BODY_MAX, LINK_MAX = 120, 4000, 500
DELAY_MAX_MINUTES = 24 * 60


@dataclass(frozen=True)
class CheckpointChange:
    """One checkpoint in a course change: its category and km, and what becomes of it."""

    category_code: str
    km: float
    status: str | None = None  # bypassed, closed or open; None leaves it as it is
    cutoff_minutes: int | None = None  # a new cut-off, minutes after the start


@dataclass
class AlertDraft:
    kind: str
    # In the race's own language; `titles` and `bodies` carry each language a bilingual form
    # gave ({"ja": "…", "en": "…"}). Each runner gets the text in their language.
    title: str = ""
    body: str = ""
    titles: dict[str, str] = field(default_factory=dict)
    bodies: dict[str, str] = field(default_factory=dict)
    link: str | None = None
    category_code: str | None = None  # None: every runner of the event
    delay_minutes: int | None = None  # start_delay: from the published start
    extension_minutes: int | None = None  # cutoff_extension: how much later
    from_km: float | None = None  # cutoff_extension: from this checkpoint on (else those ahead)
    checkpoints: list[CheckpointChange] = field(default_factory=list)  # course_change
    new_start: str | None = None  # reinstate: a new local start time, optionally
    # A narrower audience (vocabulary.AUDIENCES): "departure:12", "on_course", "not_started",
    # "unread:34"; None: the category, or the whole event.
    audience: str | None = None


def require_organizer(user: User, event: Event) -> None:
    """Only a member of this event's team whose role posts alerts (headquarters) may go on."""
    if not team.may(user, event, ALERTS):
        raise Forbidden(_("Only the race's headquarters can post and follow alerts."))


@dataclass(frozen=True)
class AlertTexts:
    """What an alert says, in each language it was written in; the first is the main one."""

    titles: dict[str, str]
    bodies: dict[str, str]
    link: str | None

    @property
    def main(self) -> str:
        return next(iter(self.titles))

    def stored(self) -> dict:
        return {"title": self.titles, "body": {k: v for k, v in self.bodies.items() if v}}


def _clean_text(draft: AlertDraft, event: Event) -> AlertTexts:
    if draft.kind not in ALERT_KINDS:
        raise DomainError(_("Choose what kind of alert this is."))
    own = known(event.language) or DEFAULT_LANGUAGE
    raw_titles = {own: draft.title} if draft.title else {}
    raw_bodies = {own: draft.body} if draft.body else {}
    raw_titles.update({k: v for k, v in draft.titles.items() if v and v.strip()})
    raw_bodies.update({k: v for k, v in draft.bodies.items() if v and v.strip()})
    # The race's own language first: it is the main text, and what a device of a third
    # language falls back to.
    order = sorted(LANGUAGES, key=lambda language: language != own)
    titles, bodies = {}, {}
    for language in order:
        title = " ".join((raw_titles.get(language) or "").split())
        body = (raw_bodies.get(language) or "").strip().replace("\r\n", "\n")
        if len(title) > TITLE_MAX:
            raise DomainError(
                _(
                    "Keep the title to %(count)d characters; it is what the lock screen shows.",
                    count=TITLE_MAX,
                )
            )
        if len(body) > BODY_MAX:
            raise DomainError(_("Keep the text to %(count)d characters.", count=BODY_MAX))
        if body and not title:
            raise DomainError(
                _(
                    "The text in %(language)s needs a title in %(language)s too.",
                    language=NATIVE_NAMES[language],
                )
            )
        if title:
            titles[language], bodies[language] = title, body
    if not titles:
        raise DomainError(_("Give the alert a title."))
    link = (draft.link or "").strip() or None
    if link is not None and (len(link) > LINK_MAX or not is_safe_link(link)):
        raise DomainError(
            _("The link must be an https:// address or a page of this app (starting with /).")
        )
    return AlertTexts(titles, bodies, link)


def _scope(event: Event, draft: AlertDraft) -> Category | None:
    if not draft.category_code:
        return None
    category = next((c for c in event.categories if c.code == draft.category_code), None)
    if category is None:
        raise DomainError(_("That category is not part of this race."))
    return category


def _in_scope(state: EventState, category: Category | None) -> list[CategoryState]:
    return [state.category(category.code)] if category else list(state.categories)


def _effect(draft: AlertDraft, state: EventState, category: Category | None, now: datetime) -> dict:
    """Check that the change makes sense for the race as it stands; return its effect."""
    scope = _in_scope(state, category)
    name = text_of(category) if category else text_of(state.event)
    kind = draft.kind
    if kind == "cancellation":
        if (category and scope[0].cancelled) or (not category and state.cancelled):
            raise DomainError(_("%(name)s is already cancelled.", name=name))
        return {}
    if kind == "reinstate":
        if not ((category and scope[0].cancelled) or (not category and state.cancelled)):
            raise DomainError(
                _("%(name)s is not cancelled: there is nothing to put back on.", name=name)
            )
        if not draft.new_start:
            return {}
        if category is None:
            raise DomainError(_("A new start belongs to one category: choose the category."))
        start = parse_local(draft.new_start, state.event.time_zone)
        if start <= now:
            raise DomainError(_("The new start must be in the future."))
        return {"start": start.isoformat()}
    if kind == "start_delay":
        delay = draft.delay_minutes
        if delay is None or not 0 <= delay <= DELAY_MAX_MINUTES:
            raise DomainError(
                _(
                    "Give the delay in minutes after the published start (0 to %(max)d).",
                    max=DELAY_MAX_MINUTES,
                )
            )
        timed = [c for c in scope if c.published_start is not None and not c.cancelled]
        if not timed:
            raise DomainError(_("%(name)s has no published start time to delay.", name=name))
        started = [c for c in timed if c.start is not None and c.start <= now]
        if started:
            names = ", ".join(text_of(c.category) for c in started)
            raise DomainError(
                _(
                    "%(names)s has already started: a start delay can no longer apply. Extend "
                    "the cut-offs instead.",
                    names=names,
                )
            )
        return {"delay_minutes": delay}
    if kind == "cutoff_extension":
        minutes = draft.extension_minutes
        if minutes is None or not 1 <= minutes <= DELAY_MAX_MINUTES:
            raise DomainError(
                _("Give the extension in minutes (1 to %(max)d).", max=DELAY_MAX_MINUTES)
            )
        live = [c for c in scope if c.counts_down]
        if not live:
            raise DomainError(_("%(name)s has no cut-off left to extend.", name=name))
        if draft.from_km is not None:
            if category is None:
                raise DomainError(_("To extend from a checkpoint on, choose its category."))
            if not any(
                cp.checkpoint.km == draft.from_km and cp.has_cutoff for cp in scope[0].checkpoints
            ):
                raise DomainError(_("Choose a checkpoint of this category that has a cut-off."))
            return {"minutes": minutes, "from_km": draft.from_km}
        return {"minutes": minutes}
    if kind == "course_change":
        return {"checkpoints": _checkpoint_changes(draft, state, category)}
    return {}


def _checkpoint_changes(
    draft: AlertDraft, state: EventState, category: Category | None
) -> list[dict]:
    allowed = {c.code for c in _in_scope(state, category)}
    changes = []
    for change in draft.checkpoints:
        if change.category_code not in allowed:
            raise DomainError(
                _("A course change can only change checkpoints of the categories it is for.")
            )
        cat_state = state.category(change.category_code)
        match = next((cp for cp in cat_state.checkpoints if cp.checkpoint.km == change.km), None)
        if match is None:
            raise DomainError(
                _(
                    "%(category)s has no checkpoint at %(km)s km.",
                    category=text_of(cat_state.category),
                    km=format(change.km, "g"),
                )
            )
        if change.status is not None and change.status not in CHECKPOINT_STATUSES:
            raise DomainError(_("A checkpoint can be open, bypassed or closed."))
        if change.cutoff_minutes is not None:
            if change.cutoff_minutes <= 0:
                raise DomainError(_("A cut-off must be some time after the start."))
            if cat_state.start is None:
                raise DomainError(
                    _(
                        "%(category)s has no start time, so its cut-offs cannot be set.",
                        category=text_of(cat_state.category),
                    )
                )
        entry = {"category": change.category_code, "km": change.km}
        if change.status is not None and change.status != match.status:
            entry["status"] = change.status
        if change.cutoff_minutes is not None and change.cutoff_minutes != match.elapsed_minutes:
            entry["cutoff_minutes"] = change.cutoff_minutes
        if len(entry) > 2:
            changes.append(entry)
    return changes


def _check_cutoff_order(after: EventState, category: Category | None) -> None:
    """A course change may not leave cut-offs out of order along the course."""
    for cat_state in _in_scope(after, category):
        previous = None
        for cp in cat_state.checkpoints:
            if not cp.has_cutoff:
                continue
            if previous is not None and cp.at <= previous.at:  # type: ignore[operator]
                raise DomainError(
                    _(
                        "%(category)s: the cut-off at %(checkpoint)s (%(km)s km) would not be "
                        "later than the one at %(previous)s (%(previous_km)s km).",
                        category=text_of(cat_state.category),
                        checkpoint=text_of(cp.checkpoint),
                        km=format(cp.checkpoint.km, "g"),
                        previous=text_of(previous.checkpoint),
                        previous_km=format(previous.checkpoint.km, "g"),
                    )
                )
            previous = cp


def describe(before: EventState, after: EventState, kind: str, category: Category | None) -> str:
    """What the alert did to the race, in words, in the language in force: "100 km start Sat
    05:00 → 05:45; 7 cut-offs move." Shown on the alert page and carried by the push message."""
    zone = zone_of(after.event)

    def clock(instant: datetime | None) -> str:
        return format_when(instant.astimezone(zone), "day_time") if instant else ""

    name = text_of(category) if category else text_of(after.event)
    if kind == "cancellation":
        return _("%(name)s is cancelled.", name=name)
    parts = []
    if kind == "reinstate":
        parts.append(_("%(name)s is back on.", name=name))
    for new in _in_scope(after, category):
        old = before.category(new.code)
        label = text_of(new.category)
        if new.start != old.start and new.start is not None:
            moved = sum(
                1
                for a, b in zip(old.checkpoints, new.checkpoints, strict=True)
                if a.at != b.at and b.has_cutoff
            )
            start = _(
                "%(category)s start %(before)s → %(after)s",
                category=label,
                before=clock(old.start),
                after=clock(new.start),
            )
            if moved:
                parts.append(
                    ngettext(
                        "%(start)s; %(num)d cut-off moves.",
                        "%(start)s; %(num)d cut-offs move.",
                        moved,
                        start=start,
                    )
                )
            else:
                parts.append(_("%(start)s.", start=start))
            continue
        lines = []
        for a, b in zip(old.checkpoints, new.checkpoints, strict=True):
            where = _(
                "%(checkpoint)s (%(km)s km)",
                checkpoint=text_of(b.checkpoint),
                km=format(b.checkpoint.km, "g"),
            )
            if a.status != b.status:
                if b.status == OPEN:
                    lines.append(_("%(where)s open again", where=where))
                elif b.status == BYPASSED:
                    lines.append(_("%(where)s bypassed", where=where))
                else:
                    lines.append(_("%(where)s aid station closed", where=where))
            if a.at != b.at and b.has_cutoff:
                lines.append(
                    _(
                        "%(where)s cut-off %(before)s → %(after)s",
                        where=where,
                        before=clock(a.at),
                        after=clock(b.at),
                    )
                )
        if lines:
            parts.append(
                _("%(category)s: %(changes)s.", category=label, changes=join_clauses(lines))
            )
    return join_sentences(parts)


def _runners_in_scope(event: Event, category: Category | None):
    query = select(Entry.user_id).where(
        Entry.event_id == event.id, Entry.user_id.is_not(None), Entry.withdrawn_at.is_(None)
    )
    if category is not None:
        query = query.where(Entry.category_id == category.id)
    return query


@dataclass(frozen=True)
class Audience:
    """A narrower audience, checked against the race: its kind and what it refers to."""

    kind: str
    ref: int | None = None


def _audience(event: Event, draft: AlertDraft) -> Audience | None:
    """The draft's audience when narrower than a category (DomainError if it cannot be)."""
    raw = (draft.audience or "").strip()
    if not raw:
        return None
    kind, _sep, ref = raw.partition(":")
    if kind not in AUDIENCES or (kind in ("departure", "unread", "passenger")) != bool(ref):
        raise DomainError(_("Choose who the alert is for from the list."))
    if ALERT_KINDS.get(draft.kind) and ALERT_KINDS[draft.kind].changes_race:
        raise DomainError(
            _("A change to the race goes to the whole race or to a category: choose one of those.")
        )
    if draft.category_code:
        raise DomainError(_("Choose either a category or another audience, not both."))
    if not ref:
        return Audience(kind)
    if not ref.isdecimal() or len(ref) > 9:
        raise DomainError(_("Choose who the alert is for from the list."))
    number = int(ref)
    if kind == "departure":
        found = db.session.scalar(
            select(ShuttleDeparture.id)
            .join(ShuttleRoute, ShuttleRoute.id == ShuttleDeparture.route_id)
            .where(ShuttleDeparture.id == number, ShuttleRoute.event_id == event.id)
        )
    elif kind == "passenger":
        found = db.session.scalar(
            select(Booking.id)
            .join(ShuttleDeparture, ShuttleDeparture.id == Booking.departure_id)
            .join(ShuttleRoute, ShuttleRoute.id == ShuttleDeparture.route_id)
            .where(Booking.id == number, ShuttleRoute.event_id == event.id)
        )
    else:
        found = db.session.scalar(
            select(Alert.id).where(Alert.id == number, Alert.event_id == event.id)
        )
    if found is None:
        raise DomainError(_("Choose who the alert is for from the list."))
    return Audience(kind, number)


def _audience_runners(event: Event, audience: Audience, now: datetime):
    """The users a narrower audience is made of: runners listed in the race (not withdrawn),
    or for a bus, whoever holds a seat or waits for one."""
    runners = _runners_in_scope(event, None)
    # A bus's people are whoever holds a seat or waits for one, supporters included.
    if audience.kind == "departure":
        seated = select(Booking.user_id).where(
            Booking.departure_id == audience.ref, Booking.status == BOOKED
        )
        waiting = select(WaitlistEntry.user_id).where(WaitlistEntry.departure_id == audience.ref)
        return select(User.id.label("user_id")).where(
            or_(User.id.in_(seated), User.id.in_(waiting))
        )
    if audience.kind == "passenger":
        return select(Booking.user_id).where(Booking.id == audience.ref)
    if audience.kind in ("on_course", "not_started"):
        state = race_state.of_event(event, now)
        wanted = (IN_PROGRESS,) if audience.kind == "on_course" else (UPCOMING, CHANGED, DELAYED)
        codes = [c.category.id for c in state.categories if c.state in wanted]
        query = runners.where(Entry.category_id.in_(codes))
        if audience.kind == "on_course":  # those who reported they stopped are off it
            query = query.where(~Entry.id.in_(select(DropOut.entry_id)))
        return query
    # unread: who the earlier alert went to, less those who read it.
    earlier = db.session.get(Alert, audience.ref)
    assert earlier is not None
    went_to: Select
    if earlier.audience_kind:
        went_to = select(AlertRecipient.user_id).where(AlertRecipient.alert_id == earlier.id)
    else:
        went_to = select(Entry.user_id).where(Entry.event_id == event.id)
        if earlier.category_id:
            went_to = went_to.where(Entry.category_id == earlier.category_id)
    read = select(AlertRead.user_id).where(AlertRead.alert_id == earlier.id)
    return runners.where(Entry.user_id.in_(went_to), ~Entry.user_id.in_(read))


def post_alert(author: User, event: Event, draft: AlertDraft, *, now: datetime) -> Alert:
    """Publish an alert: change the race if its kind says so, and queue a push per device and
    the e-mails its kind calls for."""
    require_organizer(author, event)
    texts = _clean_text(draft, event)
    category = _scope(event, draft)
    with write_transaction():
        return _post(author, event, draft, texts, category, now)


def post_within(author: User | None, event: Event, draft: AlertDraft, *, now: datetime) -> Alert:
    """Post an alert inside the caller's write transaction, with the change it reports (a bus
    delayed or cancelled, a seat from the waitlist): both are written, or neither."""
    return _post(author, event, draft, _clean_text(draft, event), _scope(event, draft), now)


class _DryRun(Exception):
    """Ends a preview's transaction: everything it wrote is rolled back."""


@dataclass
class AlertPreview:
    """What posting a draft would do, worked out by posting it and rolling back: the same
    code, so the counts are the deliveries posting creates."""

    runners: int = 0
    with_push: int = 0  # runners with at least one phone that takes push
    email_only: int = 0  # runners reached by e-mail and no phone
    unreachable: int = 0  # runners who will see it only when they open the app
    devices: int = 0
    emails: int = 0
    summary: dict[str, str] = field(default_factory=dict)  # the effect, in each language
    # What the push message is made of (raceapp.push.message builds what a phone shows).
    outcome: dict = field(default_factory=dict)
    titles: dict[str, str] = field(default_factory=dict)
    bodies: dict[str, str] = field(default_factory=dict)
    category: Category | None = None


def preview_alert(author: User, event: Event, draft: AlertDraft, *, now: datetime) -> AlertPreview:
    """Who a draft would reach and what it would say and do, without posting it (DomainError
    for a draft posting would refuse)."""
    require_organizer(author, event)
    texts = _clean_text(draft, event)
    category = _scope(event, draft)
    out = AlertPreview()
    try:
        with write_transaction():
            alert = _post(author, event, draft, texts, category, now)
            pushed = select(Delivery.user_id).where(Delivery.alert_id == alert.id)
            out.runners, out.devices, out.emails = (
                alert.audience_count,
                alert.device_count,
                alert.email_count,
            )
            out.with_push = (
                db.session.scalar(
                    select(func.count(func.distinct(Delivery.user_id))).where(
                        Delivery.alert_id == alert.id
                    )
                )
                or 0
            )
            out.email_only = (
                db.session.scalar(
                    select(func.count())
                    .select_from(MailDelivery)
                    .where(MailDelivery.alert_id == alert.id, MailDelivery.user_id.not_in(pushed))
                )
                or 0
            )
            out.summary = dict((alert.outcome or {}).get("summary") or {})
            out.outcome = dict(alert.outcome or {})
            out.titles = {lang: localized.pick(texts.titles, lang) for lang in LANGUAGES}
            out.bodies = {lang: localized.pick(texts.bodies, lang) for lang in LANGUAGES}
            out.category = category
            raise _DryRun
    except _DryRun:
        pass
    db.session.expire_all()
    out.unreachable = max(out.runners - out.with_push - out.email_only, 0)
    return out


def _lock_race(event: Event) -> None:
    """Two organizers changing the same race at once apply one after the other (PostgreSQL;
    SQLite's write lock already orders them)."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(select(Event.id).where(Event.id == event.id).with_for_update())


def _post(
    author: User | None,
    event: Event,
    draft: AlertDraft,
    texts: AlertTexts,
    category: Category | None,
    now: datetime,
) -> Alert:
    """The alert and its deliveries, in the caller's write transaction."""
    _lock_race(event)
    before = race_state.of_event(event, now)
    alert = Alert(
        event_id=event.id,
        category_id=category.id if category else None,
        kind=draft.kind,
        title=texts.titles[texts.main],
        body=texts.bodies[texts.main],
        texts=texts.stored(),
        link=texts.link,
        effect=_effect(draft, before, category, now),
        outcome={},
        author_id=author.id if author is not None else None,
        created_at=now,
    )
    db.session.add(alert)
    db.session.flush()
    if author is not None:  # the app's own messages (a seat from the waitlist) are not logged
        audit.record(event, author, "alert.posted", now=now, title=alert.title, kind=draft.kind)
    if ALERT_KINDS[draft.kind].changes_race:
        after = race_state.of_event(event, now)
        if draft.kind == "course_change":
            _check_cutoff_order(after, category)
        scope_state = after.category(category.code).state if category else after.state
        reminders.reschedule(event, now=now)
        # Said once in every language: each runner reads it in theirs.
        alert.outcome = {
            "state": scope_state,
            "summary": in_every_language(lambda: describe(before, after, draft.kind, category)),
        }
    audience = _audience(event, draft)
    if audience is None:
        runners = _runners_in_scope(event, category)
    else:
        alert.audience_kind, alert.audience_ref = audience.kind, audience.ref
        chosen = _audience_runners(event, audience, now).distinct().subquery()
        db.session.execute(
            insert(AlertRecipient).from_select(
                ["alert_id", "user_id"], select(literal(alert.id), chosen.c.user_id)
            )
        )
        runners = select(AlertRecipient.user_id).where(AlertRecipient.alert_id == alert.id)
    alert.audience_count = (
        db.session.scalar(select(func.count()).select_from(runners.subquery())) or 0
    )
    device = _for_each_runner(
        runners,
        lambda user_id: select(PushSubscription.id, PushSubscription.user_id).where(
            PushSubscription.user_id == user_id
        ),
    )
    db.session.execute(
        insert(Delivery).from_select(
            ["alert_id", "subscription_id", "user_id", "status", "attempts", "next_attempt_at"],
            select(
                literal(alert.id),
                device.c.id,
                device.c.user_id,
                literal("pending"),
                literal(0),
                literal(now, UTCDateTime()),
            ),
        )
    )
    alert.device_count = (
        db.session.scalar(select(func.count()).where(Delivery.alert_id == alert.id)) or 0
    )
    urgent = is_urgent(draft.kind, alert.audience_kind)
    mailed = _for_each_runner(
        runners, lambda user_id: select(User.id).where(User.id == user_id, _mailed(urgent))
    )
    db.session.execute(
        insert(MailDelivery).from_select(
            ["alert_id", "user_id", "status", "attempts", "next_attempt_at"],
            select(
                literal(alert.id),
                mailed.c.id,
                literal("pending"),
                literal(0),
                literal(now, UTCDateTime()),
            ),
        )
    )
    alert.email_count = (
        db.session.scalar(select(func.count()).where(MailDelivery.alert_id == alert.id)) or 0
    )
    return alert


# --- Corrections ----------------------------------------------------------------------------


def organized_alert(user: User, alert_id: int) -> Alert:
    """An alert of an event whose headquarters the user is part of."""
    alert = db.session.get(Alert, alert_id)
    if alert is None:
        raise NotFound(_("No such alert."))
    require_organizer(user, alert.event)
    return alert


def changeable_alert(author: User, alert_id: int) -> Alert:
    """An alert the user may still correct or withdraw (not withdrawn already)."""
    alert = organized_alert(author, alert_id)
    if alert.retracted_at is not None:
        raise DomainError(_("This alert has been withdrawn: it can no longer be changed."))
    return alert


def edit_alert(author: User, alert_id: int, draft: AlertDraft, *, now: datetime) -> Alert:
    """Correct an alert's words and link: the correction goes to every phone and address the
    alert went to, replacing the earlier notification on phones, and says it is an update.
    What the alert did to the race stays: a different change is withdrawn and posted anew."""
    alert = changeable_alert(author, alert_id)
    draft.kind = alert.kind
    texts = _clean_text(draft, alert.event)
    stored = texts.stored()
    was = alert.texts or {"title": {texts.main: alert.title}, "body": {texts.main: alert.body}}
    if (stored["title"], stored["body"], texts.link) == (
        was.get("title"),
        {k: v for k, v in (was.get("body") or {}).items() if v},
        alert.link,
    ):
        raise DomainError(_("Nothing was changed: there is no correction to send."))
    with write_transaction():
        _lock_unwithdrawn(alert)
        alert.title, alert.body = texts.titles[texts.main], texts.bodies[texts.main]
        alert.texts, alert.link = stored, texts.link
        alert.revision = Alert.revision + 1  # in SQL: two corrections make two revisions
        alert.revised_at = now
        audit.record(alert.event, author, "alert.edited", now=now, title=alert.title)
        _send_again(alert, now)
    return alert


@dataclass
class Withdrawal:
    """What withdrawing an alert does: the race after it, in words, and who is told."""

    alert: Alert
    summary: dict[str, str] = field(default_factory=dict)
    state: str | None = None
    devices: int = 0
    emails: int = 0


def retract_alert(
    author: User,
    alert_id: int,
    reasons: dict[str, str] | None = None,
    *,
    now: datetime,
    dry_run: bool = False,
) -> Withdrawal:
    """Withdraw an alert: everyone it went to is told to disregard it (with the reason, in
    their language), and a change it made to the race is undone the way a reinstatement
    undoes a cancellation: the race state is folded again without it. `dry_run` says what it
    would do and changes nothing."""
    alert = changeable_alert(author, alert_id)
    event = alert.event
    cleaned = {}
    for language, reason in (reasons or {}).items():
        reason = (reason or "").strip().replace("\r\n", "\n")
        if language in LANGUAGES and reason:
            if len(reason) > BODY_MAX:
                raise DomainError(_("Keep the text to %(count)d characters.", count=BODY_MAX))
            cleaned[language] = reason
    out = Withdrawal(alert)
    try:
        with write_transaction():
            _lock_race(event)
            _lock_unwithdrawn(alert)
            if (alert.effect or {}).get("bus"):
                raise DomainError(
                    _(
                        "This alert announced a bus change: withdrawing it would not undo the "
                        "change. Correct it, or delay the bus again (0 puts it back on time)."
                    )
                )
            before = race_state.of_event(event, now)
            alert.retracted_at = now
            alert.revision = Alert.revision + 1
            alert.revised_at = now
            alert.texts = {**(alert.texts or {}), "withdrawn": cleaned}
            db.session.flush()
            if ALERT_KINDS[alert.kind].changes_race:
                after = race_state.of_event(event, now)
                # Said as the change that undoes it: a withdrawn cancellation puts the race
                # back on, a withdrawn reinstatement cancels it again.
                undo = {"cancellation": "reinstate", "reinstate": "cancellation"}
                kind = undo.get(alert.kind, alert.kind)
                category = alert.category
                out.state = after.category(category.code).state if category else after.state
                out.summary = in_every_language(lambda: describe(before, after, kind, category))
                alert.outcome = {
                    **(alert.outcome or {}),
                    "withdrawn": {"state": out.state, "summary": out.summary},
                }
                reminders.reschedule(event, now=now)
            audit.record(event, author, "alert.retracted", now=now, title=alert.title)
            out.devices, out.emails = _send_again(alert, now)
            if dry_run:
                raise _DryRun
    except _DryRun:
        db.session.expire_all()
    return out


def _lock_unwithdrawn(alert: Alert) -> None:
    """Inside the write transaction: the alert as it stands now (locked on PostgreSQL), and
    refused if someone withdrew it meanwhile."""
    query = select(Alert).where(Alert.id == alert.id).execution_options(populate_existing=True)
    if db.engine.dialect.name == "postgresql":
        query = query.with_for_update()
    db.session.execute(query)
    if alert.retracted_at is not None:
        raise DomainError(_("This alert has been withdrawn: it can no longer be changed."))


def _send_again(alert: Alert, now: datetime) -> tuple[int, int]:
    """Queue the alert's current revision to every device and address it went to (a device
    since signed out, or a subscription the push service dropped, is skipped). A row a worker
    holds loses its lease, so a result for the earlier revision is not written over it."""
    again = {
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "lease_until": None,
        "claimed_by": None,
        "last_status": None,
        "last_error": None,
        "sent_at": None,
    }
    devices = db.session.execute(  # type: ignore[attr-defined]
        update(Delivery)
        .where(
            Delivery.alert_id == alert.id,
            Delivery.subscription_id.is_not(None),
            Delivery.status != "gone",
        )
        .values(again)
    ).rowcount
    emails = db.session.execute(  # type: ignore[attr-defined]
        update(MailDelivery)
        .where(MailDelivery.alert_id == alert.id, MailDelivery.status != "gone")
        .values(again)
    ).rowcount
    return devices, emails


def _for_each_runner(runners: Select, rows_of: Callable[[Any], Select]) -> Subquery:
    """The rows `rows_of(user_id)` finds for each of `runners`, reached from the runners
    through an index, so that the cost grows with the race's runners and not with every
    race's. (PostgreSQL needs a lateral join for that: given `IN (runners)` it reads every
    push subscription or user of every race into a hash; SQLite joins by index anyway.)"""
    runner = runners.distinct().subquery()  # a runner entered twice is told once
    if db.engine.dialect.name == "postgresql":
        found = rows_of(runner.c.user_id).lateral()
        return select(*found.c).select_from(runner).join(found, true()).subquery()
    return rows_of(runner.c.user_id).subquery()


def _mailed(urgent: bool):
    """Who gets an alert by e-mail: for urgent kinds, every runner with a verified address;
    otherwise those of them who asked for every alert by e-mail or have no phone with push."""
    verified = User.email_verified_at.is_not(None)
    if urgent:
        return verified
    has_push = select(PushSubscription.id).where(PushSubscription.user_id == User.id).exists()
    return verified & (User.email_alerts.is_(True) | ~has_push)


def audience_name(alert: Alert) -> str:
    """Who a narrower audience was, named: the bus, the earlier alert, the passenger."""
    kind, ref = alert.audience_kind, alert.audience_ref
    if kind == "departure" and ref:
        departure = db.session.get(ShuttleDeparture, ref)
        if departure is not None:
            return _(
                "the passengers of the %(time)s bus, %(origin)s → %(destination)s",
                time=format_when(departure.leaves_at.astimezone(zone_of(alert.event)), "day_time"),
                origin=text_of(departure.route, "origin"),
                destination=text_of(departure.route, "destination"),
            )
    if kind == "unread" and ref:
        earlier = db.session.get(Alert, ref)
        if earlier is not None:
            return _("those who had not read “%(title)s”", title=text_of(earlier, "title"))
    if kind == "passenger" and ref:
        booking = db.session.get(Booking, ref)
        if booking is not None:
            return _(
                "%(name)s (ticket %(reference)s)",
                name=booking.user.name,
                reference=booking.reference,
            )
    return str(AUDIENCES.get(kind, "")).lower() if kind else ""


# --- Runners --------------------------------------------------------------------------------


def _visible_to(user: User):
    """Alerts of the runner's events: event-wide ones, those for their category, and those
    with a narrower audience that went to them."""
    entered = (
        select(Entry.id)
        .where(
            Entry.event_id == Alert.event_id,
            Entry.user_id == user.id,
            or_(Alert.category_id.is_(None), Alert.category_id == Entry.category_id),
        )
        .exists()
    )
    return select(Alert).where(
        or_(
            Alert.audience_kind.is_(None) & entered,
            # A bus's passengers may be supporters, with no entry in the race.
            Alert.id.in_(select(AlertRecipient.alert_id).where(AlertRecipient.user_id == user.id)),
        )
    )


@dataclass
class FeedItem:
    alert: Alert
    read: bool


def feed(user: User, *, limit: int = 100) -> list[FeedItem]:
    """The runner's alerts, newest first, each marked read or unread."""
    alerts = db.session.scalars(
        _visible_to(user).order_by(Alert.created_at.desc(), Alert.id.desc()).limit(limit)
    ).all()
    read = _read_ids(user, [a.id for a in alerts])
    return [FeedItem(a, a.id in read) for a in alerts]


def _read_ids(user: User, alert_ids: list[int]) -> set[int]:
    if not alert_ids:
        return set()
    return set(
        db.session.scalars(
            select(AlertRead.alert_id).where(
                AlertRead.user_id == user.id, AlertRead.alert_id.in_(alert_ids)
            )
        )
    )


@dataclass
class KitAlerts:
    """What the kit home shows of the alerts of the race on screen."""

    feed: list[FeedItem]
    unread_count: int
    unread: list[Alert]  # the newest few unread


def for_kit(user: User, entry: Entry, *, newest: int = 3, limit: int = 100) -> KitAlerts:
    """The kit home's alerts from one read of the feed (a race has far fewer than `limit`)."""
    items = [item for item in feed(user, limit=limit) if item.alert.event_id == entry.event_id]
    unread_alerts = [item.alert for item in items if not item.read]
    return KitAlerts(items, len(unread_alerts), unread_alerts[:newest])


def _find(user: User, alert_id: int) -> tuple[Alert, bool]:
    """The alert if the user may read it, and whether they are a runner it was for (else an
    organizer of its event)."""
    alert = db.session.scalar(_visible_to(user).where(Alert.id == alert_id))
    if alert is not None:
        return alert, True
    alert = db.session.get(Alert, alert_id)
    if alert is None or not accounts.is_organizer(user, alert.event, permission=VIEW):
        raise NotFound(_("No such alert."))
    return alert, False


def _insert_ignoring_duplicates(rows: list[dict]) -> None:
    if not rows:
        return
    dialect_insert = pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    db.session.execute(
        dialect_insert(AlertRead)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["alert_id", "user_id"])
    )


def readable(user: User, alert_id: int) -> tuple[Alert, bool]:
    """The alert if the user may read it, and whether they had already (a GET writes nothing:
    the page marks it read with a POST of its own)."""
    alert, for_runner = _find(user, alert_id)
    read = not for_runner or (
        db.session.scalar(
            select(AlertRead.alert_id).where(
                AlertRead.alert_id == alert.id, AlertRead.user_id == user.id
            )
        )
        is not None
    )
    return alert, read


def mark_read(user: User, alert_id: int, *, now: datetime) -> Alert:
    """Record that a runner it was for read this alert (once, however often they open it);
    an organizer looking at it is not counted as a reader."""
    alert, for_runner = _find(user, alert_id)
    if for_runner:
        with write_transaction():
            _insert_ignoring_duplicates(
                [{"alert_id": alert.id, "user_id": user.id, "read_at": now}]
            )
    return alert


def mark_all_read(user: User, *, now: datetime) -> int:
    """Mark every alert of the runner read; returns how many were unread."""
    unread_ids = db.session.scalars(
        _visible_to(user)
        .with_only_columns(Alert.id)
        .where(~Alert.id.in_(select(AlertRead.alert_id).where(AlertRead.user_id == user.id)))
    ).all()
    with write_transaction():
        _insert_ignoring_duplicates(
            [{"alert_id": alert_id, "user_id": user.id, "read_at": now} for alert_id in unread_ids]
        )
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
    # The e-mails, by status ("sent", "pending", "failed").
    mail: dict[str, int] = field(default_factory=dict)
    readers: list[tuple[User, str | None, datetime]] = field(default_factory=list)


def _figures(alerts: list[Alert]) -> list[Figures]:
    """Push and e-mail counts by status and read counts, in three grouped queries for all."""
    figures = {a.id: Figures(a) for a in alerts}
    if figures:
        for alert_id, status, count in db.session.execute(
            select(Delivery.alert_id, Delivery.status, func.count())
            .where(Delivery.alert_id.in_(figures))
            .group_by(Delivery.alert_id, Delivery.status)
        ):
            setattr(figures[alert_id], status, count)
        for alert_id, status, count in db.session.execute(
            select(MailDelivery.alert_id, MailDelivery.status, func.count())
            .where(MailDelivery.alert_id.in_(figures))
            .group_by(MailDelivery.alert_id, MailDelivery.status)
        ):
            figures[alert_id].mail[status] = count
        for alert_id, count in db.session.execute(
            select(AlertRead.alert_id, func.count())
            .where(AlertRead.alert_id.in_(figures))
            .group_by(AlertRead.alert_id)
        ):
            figures[alert_id].read = count
    return list(figures.values())


def event_alerts(user: User, event: Event) -> list[Figures]:
    """Every alert of the event, newest first, with its delivery and read figures."""
    require_organizer(user, event)
    return _figures(
        list(
            db.session.scalars(
                select(Alert)
                .where(
                    Alert.event_id == event.id,
                    # The app's messages to one passenger (a seat from the waitlist) are many
                    # and personal: the desk lists what headquarters posted.
                    or_(Alert.audience_kind.is_(None), Alert.audience_kind != "passenger"),
                )
                .order_by(Alert.created_at.desc(), Alert.id.desc())
            )
        )
    )


def alert_figures(user: User, alert_id: int) -> Figures:
    """One alert's delivery figures and who has read it (organizers of its event only)."""
    alert = organized_alert(user, alert_id)
    [figures] = _figures([alert])
    figures.readers = [
        (reader, bib, read_at)
        for reader, bib, read_at in db.session.execute(
            select(User, Entry.bib, AlertRead.read_at)
            .join(AlertRead, AlertRead.user_id == User.id)
            .outerjoin(Entry, (Entry.user_id == User.id) & (Entry.event_id == alert.event_id))
            .where(AlertRead.alert_id == alert.id)
            .order_by(AlertRead.read_at)
        )
    ]
    return figures
