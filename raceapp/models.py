"""Thin typed models. Rules live in raceapp/services; these only hold data."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    event,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from raceapp.extensions import db
from raceapp.vocabulary import (
    ALERT_KINDS,
    BOOKED,
    BOOKING_STATUSES,
    DELIVERY_STATUSES,
    EMAIL_LINK_PURPOSES,
    FILE_STATUSES,
    GETTING_BACK,
    HEADQUARTERS,
    REMINDER_KINDS,
    REMINDER_STATUSES,
    TEAM_ROLES,
    sql_in,
)

# Flask-SQLAlchemy makes db.Model at run time; type checkers see the declarative base it
# extends (same columns, same mapping).
if TYPE_CHECKING:
    from raceapp.extensions import Base as Model
else:
    Model = db.Model


class UTCDateTime(TypeDecorator):
    """Stores instants as naive UTC and hands them back aware, on SQLite and PostgreSQL alike."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=timezone.utc)


class User(UserMixin, Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The language the runner chose in the app ("ja", "en"); None: follow the browser.
    language: Mapped[str | None] = mapped_column(String(12))
    # When the runner proved the address is theirs (a sign-up link); None for accounts made
    # before that, or by an administrator.
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Every alert by e-mail too, not only the urgent ones (which go to every verified address).
    email_alerts: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    entries: Mapped[list[Entry]] = relationship(back_populates="user", passive_deletes=True)
    organizer_roles: Mapped[list[OrganizerRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )

    # Set by the login code: the token of the server-side session this request runs under.
    # Not a column: SQLAlchemy is told to leave this plain annotation alone.
    __allow_unmapped__ = True
    session_token: str | None = None

    def get_id(self) -> str | None:
        return self.session_token


class LoginSession(Model):
    """A server-side record of one logged-in device; deleting it ends that session for good."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()


class EmailLink(Model):
    """A link sent by e-mail (finish a sign-up, choose a new password): only its hash is kept;
    it works once, until it expires."""

    __tablename__ = "email_links"
    __table_args__ = (CheckConstraint(sql_in("purpose", EMAIL_LINK_PURPOSES), name="purpose"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[str] = mapped_column(String(20))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(254))
    # A password reset's account; a sign-up has none until the link is opened.
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    # A sign-up waiting for its link: the name and the (hashed) password it was made with.
    name: Mapped[str | None] = mapped_column(String(120))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    language: Mapped[str | None] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Event(Model):
    __tablename__ = "events"
    __table_args__ = (CheckConstraint(sql_in("status", FILE_STATUSES), name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    time_zone: Mapped[str] = mapped_column(String(64))
    # The language plain texts of its race file are written in.
    language: Mapped[str] = mapped_column(String(12), default="en", server_default="en")
    venue: Mapped[str | None] = mapped_column(String(300))
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    website: Mapped[str | None] = mapped_column(String(500))
    hq_phone: Mapped[str | None] = mapped_column(String(40))
    currency: Mapped[str | None] = mapped_column(String(3))
    # What the race file says of itself; alerts change the race on top of it
    # (services.race_state folds them: the only place that answers "what is the state").
    status: Mapped[str] = mapped_column(String(16), default="on")
    status_note: Mapped[str | None] = mapped_column(Text)
    # Display-only facts of the race file (rules, contacts, support points, notes).
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    # Texts the race file gives in several languages: {"name": {"ja": "…", "en": "…"}}; the
    # columns hold the text in the race's own language.
    texts: Mapped[dict] = mapped_column(JSON, default=dict)
    source_name: Mapped[str | None] = mapped_column(String(255))
    source_sha256: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    categories: Mapped[list[Category]] = relationship(
        back_populates="event", cascade="all, delete-orphan", order_by="Category.position"
    )
    schedule_items: Mapped[list[ScheduleItem]] = relationship(
        back_populates="event", cascade="all, delete-orphan", order_by="ScheduleItem.starts_at"
    )
    shuttle_routes: Mapped[list[ShuttleRoute]] = relationship(
        back_populates="event", cascade="all, delete-orphan", order_by="ShuttleRoute.position"
    )


class Category(Model):
    __tablename__ = "categories"
    __table_args__ = (UniqueConstraint("event_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(120))
    distance_km: Mapped[float | None] = mapped_column(Float)
    distance_text: Mapped[str | None] = mapped_column(String(80))
    elevation_gain_m: Mapped[int | None] = mapped_column(Integer)
    # The published start: an instant when the time is known, else only the local date.
    # A delay announced by an alert is not stored here: services.race_state applies it.
    start_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    start_date: Mapped[date | None] = mapped_column(Date)
    start_location: Mapped[str | None] = mapped_column(String(300))
    time_limit_minutes: Mapped[int | None] = mapped_column(Integer)
    field_size: Mapped[int | None] = mapped_column(Integer)
    fee: Mapped[int | None] = mapped_column(Integer)
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    # Texts the race file gives in several languages: {"name": {"ja": "…", "en": "…"}}; the
    # columns hold the text in the race's own language.
    texts: Mapped[dict] = mapped_column(JSON, default=dict)

    event: Mapped[Event] = relationship(back_populates="categories")
    checkpoints: Mapped[list[Checkpoint]] = relationship(
        back_populates="category", cascade="all, delete-orphan", order_by="Checkpoint.position"
    )
    gear_items: Mapped[list[GearItem]] = relationship(
        back_populates="category", cascade="all, delete-orphan", order_by="GearItem.position"
    )
    entries: Mapped[list[Entry]] = relationship(back_populates="category")
    track: Mapped[CourseTrack | None] = relationship(
        back_populates="category", cascade="all, delete-orphan", uselist=False
    )


class Checkpoint(Model):
    __tablename__ = "checkpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(
        ForeignKey("categories.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    label: Mapped[str | None] = mapped_column(String(60))
    name: Mapped[str] = mapped_column(String(200))
    km: Mapped[float] = mapped_column(Float)
    # Elapsed time after the start: the instant is always start + this (never a wrapped clock).
    cutoff_minutes: Mapped[int | None] = mapped_column(Integer)
    is_finish: Mapped[bool] = mapped_column(Boolean, default=False)
    notes: Mapped[str | None] = mapped_column(Text)
    # The climb and descent of the leg that ends here, where the race publishes them.
    gain_m: Mapped[int | None] = mapped_column(Integer)
    loss_m: Mapped[int | None] = mapped_column(Integer)
    # Where the aid station stands, if the race file says: checked against the course track.
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    # Texts the race file gives in several languages: {"name": {"ja": "…", "en": "…"}}; the
    # columns hold the text in the race's own language.
    texts: Mapped[dict] = mapped_column(JSON, default=dict)

    category: Mapped[Category] = relationship(back_populates="checkpoints")


class EventLogo(Model):
    """A race's logo from its race file (SVG, PNG, JPEG or WebP), served at its own address."""

    __tablename__ = "event_logos"

    event_id: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), primary_key=True
    )
    content_type: Mapped[str] = mapped_column(String(40))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))

    event: Mapped[Event] = relationship()


class CourseTrack(Model):
    """A category's course from its GPX file, simplified to what a phone needs."""

    __tablename__ = "course_tracks"

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(
        ForeignKey("categories.id", ondelete="CASCADE"), unique=True
    )
    source_name: Mapped[str] = mapped_column(String(200))
    source_sha256: Mapped[str] = mapped_column(String(64))
    # A drawn track standing in for the real route (the demo race): the pages say so.
    illustrative: Mapped[bool] = mapped_column(Boolean, default=False)
    distance_km: Mapped[float] = mapped_column(Float)  # measured on the full track
    gain_m: Mapped[int] = mapped_column(Integer)
    loss_m: Mapped[int] = mapped_column(Integer)
    # [[lat, lon, km, elevation or null, climb so far in m], ...]: see services.course.
    points: Mapped[list] = mapped_column(JSON)
    tolerance_m: Mapped[float] = mapped_column(Float)  # how far the simplified line may stray
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime())

    category: Mapped[Category] = relationship(back_populates="track")


class GearItem(Model):
    __tablename__ = "gear_items"
    __table_args__ = (UniqueConstraint("category_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(
        ForeignKey("categories.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(80))
    name: Mapped[str] = mapped_column(String(200))
    mandatory: Mapped[bool] = mapped_column(Boolean)
    spec: Mapped[str | None] = mapped_column(Text)
    conditions: Mapped[str | None] = mapped_column(Text)
    # Texts the race file gives in several languages: {"name": {"ja": "…", "en": "…"}}; the
    # columns hold the text in the race's own language.
    texts: Mapped[dict] = mapped_column(JSON, default=dict)

    category: Mapped[Category] = relationship(back_populates="gear_items")


class ScheduleItem(Model):
    __tablename__ = "schedule_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(30))
    title: Mapped[str] = mapped_column(String(300))
    details: Mapped[str | None] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(String(300))
    # Category codes this concerns; empty means everyone.
    category_codes: Mapped[list] = mapped_column(JSON, default=list)
    # Texts the race file gives in several languages: {"name": {"ja": "…", "en": "…"}}; the
    # columns hold the text in the race's own language.
    texts: Mapped[dict] = mapped_column(JSON, default=dict)

    event: Mapped[Event] = relationship(back_populates="schedule_items")


class ShuttleRoute(Model):
    __tablename__ = "shuttle_routes"
    __table_args__ = (UniqueConstraint("event_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    code: Mapped[str] = mapped_column(String(60))
    origin: Mapped[str] = mapped_column(String(200))
    destination: Mapped[str] = mapped_column(String(200))
    fee: Mapped[int | None] = mapped_column(Integer)
    reservation_required: Mapped[bool] = mapped_column(Boolean, default=False)
    supporters_allowed: Mapped[bool] = mapped_column(Boolean, default=False)
    # Bookings can be cancelled until this many minutes before departure.
    cancel_before_minutes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Category codes whose runners this bus serves; empty means everyone. A bus whose every
    # category is cancelled does not run.
    category_codes: Mapped[list] = mapped_column(JSON, default=list)
    notes: Mapped[str | None] = mapped_column(Text)
    # Texts the race file gives in several languages: {"name": {"ja": "…", "en": "…"}}; the
    # columns hold the text in the race's own language.
    texts: Mapped[dict] = mapped_column(JSON, default=dict)

    event: Mapped[Event] = relationship(back_populates="shuttle_routes")
    departures: Mapped[list[ShuttleDeparture]] = relationship(
        back_populates="route", cascade="all, delete-orphan", order_by="ShuttleDeparture.departs_at"
    )


class ShuttleDeparture(Model):
    __tablename__ = "shuttle_departures"
    __table_args__ = (
        UniqueConstraint("route_id", "departs_at"),
        CheckConstraint("seats IS NULL OR seats >= 0", name="seats_not_negative"),
        # The last line of defence against overbooking, whatever the code does.
        CheckConstraint(
            "seats_taken >= 0 AND (seats IS NULL OR seats_taken <= seats)", name="not_overbooked"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    route_id: Mapped[int] = mapped_column(
        ForeignKey("shuttle_routes.id", ondelete="CASCADE"), index=True
    )
    departs_at: Mapped[datetime] = mapped_column(UTCDateTime())
    seats: Mapped[int | None] = mapped_column(Integer)  # None: capacity not limited/published
    seats_taken: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # On the day (a breakdown, a closed road): headquarters delays or cancels one departure.
    # `departs_at` stays the timetable's, so a re-imported race file still matches it.
    delay_minutes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    route: Mapped[ShuttleRoute] = relationship(back_populates="departures")

    @property
    def leaves_at(self) -> datetime:
        """When the bus leaves: the timetable's time, moved by a delay."""
        return self.departs_at + timedelta(minutes=self.delay_minutes or 0)


class Booking(Model):
    """One seat on one departure for one person."""

    __tablename__ = "bookings"
    __table_args__ = (
        # A retried or double-submitted form carries the same key: one booking, never two.
        UniqueConstraint("user_id", "idempotency_key"),
        # One live booking per person per departure.
        Index(
            "uq_bookings_one_live_seat",
            "user_id",
            "departure_id",
            unique=True,
            sqlite_where=text("status = 'booked'"),
            postgresql_where=text("status = 'booked'"),
        ),
        CheckConstraint(sql_in("status", BOOKING_STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(12), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    departure_id: Mapped[int] = mapped_column(
        ForeignKey("shuttle_departures.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(12), default=BOOKED)
    idempotency_key: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # At the bus door: when the ticket was first scanned (the earliest scan wins, even one
    # made offline and sent later).
    boarded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()
    departure: Mapped[ShuttleDeparture] = relationship()


class WaitlistEntry(Model):
    """A place in the queue for a full departure; the first in line gets the next free seat."""

    __tablename__ = "waitlist_entries"
    __table_args__ = (UniqueConstraint("user_id", "departure_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    departure_id: Mapped[int] = mapped_column(
        ForeignKey("shuttle_departures.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()


class Notice(Model):
    """An in-app message to one user (e.g. "you got a seat from the waitlist")."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)
    # {"text": {"ja": "…", "en": "…"}}: written in every language, read in the user's.
    texts: Mapped[dict | None] = mapped_column(JSON)
    link: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Entry(Model):
    """A runner's place in a category, with their bib."""

    __tablename__ = "entries"
    __table_args__ = (UniqueConstraint("user_id", "event_id"), UniqueConstraint("event_id", "bib"))

    id: Mapped[int] = mapped_column(primary_key=True)
    # None once the runner deleted their account: the entry stays for the organizer.
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    category_id: Mapped[int] = mapped_column(
        ForeignKey("categories.id", ondelete="CASCADE"), index=True
    )
    # None: a runner who follows a race that allows open sign-up, without a listed entry.
    bib: Mapped[str | None] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # From the organizer's entry list (None for an open sign-up).
    name: Mapped[str | None] = mapped_column(String(120))
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    phone: Mapped[str | None] = mapped_column(String(40))
    emergency_contact: Mapped[str | None] = mapped_column(String(200))
    # The claim code printed or e-mailed to the runner: only its hash is kept. It works once.
    claim_code_sha256: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Random salt of the current code (services.claims derives the code from it and the
    # app's secret, so the organizer can print it again; a new salt voids the old code).
    claim_nonce: Mapped[str | None] = mapped_column(String(32))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Withdrawn by the organizer: the runner loses the race's kit at their next sync.
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When the runner's phone last fetched the whole kit for offline use.
    kit_synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User | None] = relationship(back_populates="entries")
    event: Mapped[Event] = relationship()
    category: Mapped[Category] = relationship(back_populates="entries")


class DropOut(Model):
    """A runner's report that they stopped: where, how they get back; headquarters marks them
    accounted for. Made on the phone (perhaps offline), so it carries the moment it was made
    and a key that makes a replayed report the same one."""

    __tablename__ = "drop_outs"
    __table_args__ = (
        UniqueConstraint("entry_id"),
        UniqueConstraint("client_key"),
        CheckConstraint(sql_in("getting_back", GETTING_BACK), name="getting_back"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    client_key: Mapped[str] = mapped_column(String(64))
    # When the runner made the report (the phone's clock), and when it reached the server.
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    checkpoint_id: Mapped[int | None] = mapped_column(
        ForeignKey("checkpoints.id", ondelete="SET NULL")
    )
    # The checkpoint's name when it was reported (checkpoints are replaced on re-import).
    place: Mapped[str | None] = mapped_column(String(300))
    getting_back: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    # Only when the runner chose to attach the position their phone found.
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    # When the phone found that position (it may be older than the report).
    position_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    accounted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    accounted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    entry: Mapped[Entry] = relationship()


class GearTick(Model):
    """One runner's packed/not-packed state of one gear item, with when it was set."""

    __tablename__ = "gear_ticks"
    __table_args__ = (UniqueConstraint("user_id", "gear_item_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    gear_item_id: Mapped[int] = mapped_column(
        ForeignKey("gear_items.id", ondelete="CASCADE"), index=True
    )
    packed: Mapped[bool] = mapped_column(Boolean)
    ticked_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PersonalGearItem(Model):
    """An item a runner adds to their own checklist for an event."""

    __tablename__ = "personal_gear_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    packed: Mapped[bool] = mapped_column(Boolean, default=False)
    ticked_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OrganizerRole(Model):
    """A member of a race's team, with what they may do (vocabulary.TEAM_ROLES)."""

    __tablename__ = "organizer_roles"
    __table_args__ = (
        UniqueConstraint("user_id", "event_id"),
        CheckConstraint(sql_in("role", TEAM_ROLES), name="role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20), default=HEADQUARTERS, server_default=HEADQUARTERS)

    user: Mapped[User] = relationship(back_populates="organizer_roles")
    event: Mapped[Event] = relationship()


class TeamInvitation(Model):
    """An invitation to join a race's team, sent by e-mail: only its token's hash is kept."""

    __tablename__ = "team_invitations"
    __table_args__ = (CheckConstraint(sql_in("role", TEAM_ROLES), name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    role: Mapped[str] = mapped_column(String(20))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    event: Mapped[Event] = relationship()
    invited_by: Mapped[User | None] = relationship()


class RaceFileVersion(Model):
    """A race file as it was published, with who published it and when; any can be restored."""

    __tablename__ = "race_file_versions"
    __table_args__ = (UniqueConstraint("event_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    source_name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    # None: imported from the command line.
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The number of the version this one brought back, when it was a restore.
    restored_from: Mapped[int | None] = mapped_column(Integer)
    # What it changed, as the preview said it ({"changes": [...], "warnings": [...]}).
    summary: Mapped[dict] = mapped_column(JSON, default=dict)

    published_by: Mapped[User | None] = relationship()


class PendingUpload(Model):
    """A file an organizer uploaded and is still reviewing (the entry list between its preview
    and its import): kept in the database so any app server can finish the job."""

    __tablename__ = "pending_uploads"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AuditRecord(Model):
    """One change made on the organizer's console: who, when, what."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_event_at", "event_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Kept when the account goes, so the log still says who.
    actor: Mapped[str] = mapped_column(String(254))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    # One of services.audit.ACTIONS; `details` fills its sentence.
    action: Mapped[str] = mapped_column(String(40))
    details: Mapped[dict] = mapped_column(JSON, default=dict)


class Alert(Model):
    """An organizer's announcement to every runner of an event, or of one category."""

    __tablename__ = "alerts"
    __table_args__ = (
        CheckConstraint(sql_in("kind", ALERT_KINDS), name="kind"),
        Index("ix_alerts_event_created", "event_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    # None: the whole event.
    category_id: Mapped[int | None] = mapped_column(
        ForeignKey("categories.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    # In the first language the organizer wrote it in; `texts` has each language they gave:
    # {"title": {"ja": "…", "en": "…"}, "body": {...}}. Each runner gets theirs.
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text, default="")
    texts: Mapped[dict | None] = mapped_column(JSON)
    link: Mapped[str | None] = mapped_column(String(500))
    # What the alert does to the race, for the kinds that change it (services.race_state
    # reads it): {"delay_minutes": 45}, {"minutes": 30, "from_km": 48}, {"start": "<ISO>"},
    # {"checkpoints": [{"category": "100k", "km": 48, "status": "bypassed"}]}; for a bus
    # delayed or cancelled from its manifest, what was announced: {"bus": "delay", ...}.
    effect: Mapped[dict] = mapped_column(JSON, default=dict)
    # The race right after it: {"state": ..., "summary": "100 km start 05:00 → 05:45"};
    # what the push message and the alert page say the alert did.
    outcome: Mapped[dict] = mapped_column(JSON, default=dict)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # A narrower audience than an event or a category (vocabulary.AUDIENCES): who it went to
    # is then listed in alert_recipients. `audience_ref`: the departure or the earlier alert.
    audience_kind: Mapped[str | None] = mapped_column(String(20))
    audience_ref: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Runners it was for when posted (entries in scope), and the devices it was queued to.
    audience_count: Mapped[int] = mapped_column(Integer, default=0)
    device_count: Mapped[int] = mapped_column(Integer, default=0)
    email_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # A correction or the withdrawal goes out again to every phone and address it went to:
    # each is a new revision (phones replace the earlier notification, e-mails say "updated").
    revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    revised_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Withdrawn: runners are told to disregard it, and what it did to the race is undone.
    retracted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    event: Mapped[Event] = relationship()
    category: Mapped[Category | None] = relationship()
    author: Mapped[User | None] = relationship()


class AlertRecipient(Model):
    """A runner an alert with a narrower audience went to (they alone see it)."""

    __tablename__ = "alert_recipients"

    alert_id: Mapped[int] = mapped_column(
        ForeignKey("alerts.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class AlertRead(Model):
    """One runner has read one alert."""

    __tablename__ = "alert_reads"
    __table_args__ = (UniqueConstraint("alert_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    read_at: Mapped[datetime] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()


class PushSubscription(Model):
    """A browser's push subscription: one per device, tied to the login session that made it,
    so logging out of that device removes it."""

    __tablename__ = "push_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    login_session_id: Mapped[int | None] = mapped_column(
        ForeignKey("login_sessions.id", ondelete="CASCADE"), index=True
    )
    endpoint: Mapped[str] = mapped_column(String(1024), unique=True)
    p256dh: Mapped[str] = mapped_column(String(100))
    auth: Mapped[str] = mapped_column(String(40))
    user_agent: Mapped[str | None] = mapped_column(String(200))
    # The language of the pages this device shows: its alerts are written in it.
    language: Mapped[str | None] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Delivery(Model):
    """One alert to one device: the durable outbox a push worker drains."""

    __tablename__ = "push_deliveries"
    __table_args__ = (
        UniqueConstraint("alert_id", "subscription_id"),
        CheckConstraint(sql_in("status", DELIVERY_STATUSES), name="status"),
        # Workers look for due pending rows only; the index stays as small as the backlog.
        Index(
            "ix_push_deliveries_due",
            "next_attempt_at",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    # Kept when the subscription is removed (logout, 404/410), so the figures stay.
    subscription_id: Mapped[int | None] = mapped_column(
        ForeignKey("push_subscriptions.id", ondelete="SET NULL"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # A worker owns a claimed row until then; after that another worker may take it over.
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(300))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class MailDelivery(Model):
    """One alert e-mailed to one runner: the durable outbox the mail worker drains (the same
    claim, lease and retry rules as push deliveries)."""

    __tablename__ = "mail_deliveries"
    __table_args__ = (
        UniqueConstraint("alert_id", "user_id"),
        CheckConstraint(sql_in("status", DELIVERY_STATUSES), name="status"),
        Index(
            "ix_mail_deliveries_due",
            "next_attempt_at",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    # The SMTP reply code of the last attempt.
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(300))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Reminder(Model):
    """A reminder due at a time (the evening before the race, or before a booked bus): the
    outbox row the mail worker sends it from. Its due time follows the race as it stands."""

    __tablename__ = "reminders"
    __table_args__ = (
        # An evening reminder belongs to an entry, a bus reminder to a booking: one each.
        UniqueConstraint("entry_id"),
        UniqueConstraint("booking_id"),
        CheckConstraint(sql_in("kind", REMINDER_KINDS), name="kind"),
        CheckConstraint(sql_in("status", REMINDER_STATUSES), name="status"),
        Index(
            "ix_reminders_due",
            "due_at",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("entries.id", ondelete="CASCADE"))
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id", ondelete="CASCADE"))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(300))


class RateLimitCounter(Model):
    """One fixed-window counter of the abuse limits, shared by every app process."""

    __tablename__ = "rate_limit_counters"

    # A key names the limit and who it counts: an address, or a hash of an account.
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    hits: Mapped[int] = mapped_column(Integer)
    # Epoch seconds (the unit the limits library works in); the window ends then.
    expires_at: Mapped[float] = mapped_column(Float, index=True)


# --- Rules that span two tables --------------------------------------------------------------
# One place per person per bus: a seat or a waitlist place, never both. A unique index cannot
# span two tables, so a trigger on each side refuses the second (as a constraint violation,
# which the services turn into a clear answer). Writers take the departure's row lock first,
# so two requests cannot both pass the check.
ONE_PLACE_PER_BUS = "a seat and a waitlist place on one departure"

_SQLITE_TRIGGERS = (
    f"""CREATE TRIGGER waitlist_not_with_a_seat BEFORE INSERT ON waitlist_entries
    WHEN EXISTS (SELECT 1 FROM bookings WHERE bookings.user_id = NEW.user_id
                 AND bookings.departure_id = NEW.departure_id AND bookings.status = '{BOOKED}')
    BEGIN SELECT RAISE(ABORT, '{ONE_PLACE_PER_BUS}'); END""",
    f"""CREATE TRIGGER seat_not_with_a_waitlist_place BEFORE INSERT ON bookings
    WHEN NEW.status = '{BOOKED}' AND EXISTS (SELECT 1 FROM waitlist_entries
        WHERE waitlist_entries.user_id = NEW.user_id
        AND waitlist_entries.departure_id = NEW.departure_id)
    BEGIN SELECT RAISE(ABORT, '{ONE_PLACE_PER_BUS}'); END""",
)
_POSTGRESQL_TRIGGERS = (
    f"""CREATE OR REPLACE FUNCTION one_place_per_bus() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_TABLE_NAME = 'waitlist_entries' THEN
        IF EXISTS (SELECT 1 FROM bookings WHERE user_id = NEW.user_id
                   AND departure_id = NEW.departure_id AND status = '{BOOKED}') THEN
          RAISE EXCEPTION '{ONE_PLACE_PER_BUS}' USING ERRCODE = 'unique_violation';
        END IF;
      ELSIF NEW.status = '{BOOKED}' AND EXISTS (SELECT 1 FROM waitlist_entries
            WHERE user_id = NEW.user_id AND departure_id = NEW.departure_id) THEN
        RAISE EXCEPTION '{ONE_PLACE_PER_BUS}' USING ERRCODE = 'unique_violation';
      END IF;
      RETURN NEW;
    END $$""",
    """CREATE TRIGGER waitlist_not_with_a_seat BEFORE INSERT ON waitlist_entries
    FOR EACH ROW EXECUTE FUNCTION one_place_per_bus()""",
    """CREATE TRIGGER seat_not_with_a_waitlist_place BEFORE INSERT ON bookings
    FOR EACH ROW EXECUTE FUNCTION one_place_per_bus()""",
)
TRIGGERS = {"sqlite": _SQLITE_TRIGGERS, "postgresql": _POSTGRESQL_TRIGGERS}


def _create_triggers(target, connection, **kw) -> None:
    for statement in TRIGGERS.get(connection.dialect.name, ()):
        connection.exec_driver_sql(statement)


# Both tables exist once the later of the two is created (create_all orders them).
event.listen(WaitlistEntry.__table__, "after_create", _create_triggers)
