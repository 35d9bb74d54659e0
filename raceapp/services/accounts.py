"""Accounts: sign-up, password checks, organizer roles and a runner's entry in a race."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, g, has_request_context
from flask_babel import gettext as _
from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.exc import IntegrityError

from raceapp.database import rowcount, write_transaction
from raceapp.errors import Conflict, DomainError, NotFound
from raceapp.extensions import db
from raceapp.i18n import text_of
from raceapp.models import (
    EmailLink,
    Entry,
    Event,
    LoginSession,
    OrganizerRole,
    User,
)
from raceapp.services import claims, reminders
from raceapp.vocabulary import EMAIL_CHANGE, PASSWORD_RESET, ROLE_PERMISSIONS, SIGN_UP


class LinkSpent(DomainError):
    status = 410


MIN_PASSWORD = 8
COMMON_PASSWORDS = Path(__file__).resolve().parent.parent / "data" / "common-passwords.txt.gz"
MAX_PASSWORD = 256
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
BIB_RE = re.compile(r"^[A-Za-z0-9-]{1,12}$")


@lru_cache(maxsize=4)
def _hasher_for(time_cost: int, memory_kib: int) -> tuple[PasswordHasher, str]:
    hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)
    # Verifying against this keeps the response time the same for unknown e-mails.
    return hasher, hasher.hash("not-a-real-password")


def hasher() -> PasswordHasher:
    """argon2id with the configured cost: OWASP's minimum for ASVS (t=1, m=46 MiB, p=1) unless
    raised in config; only the test configuration lowers it, to keep the suite quick."""
    return _hasher_for(*_cost())[0]


def _cost() -> tuple[int, int]:
    config = current_app.config
    return config["ARGON2_TIME_COST"], config["ARGON2_MEMORY_KIB"]


def normalise_email(email: str) -> str:
    return email.strip().lower()


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The 20,000 most common passwords (raceapp/data/common-passwords.LICENSE says whence)."""
    with gzip.open(COMMON_PASSWORDS, "rt", encoding="utf-8") as lines:
        return frozenset(line.strip().lower() for line in lines if line.strip())


def validate_password(password: str, email: str = "") -> None:
    """Length, a list of known-bad passwords and the account's own e-mail name only: no
    composition rules (NIST 800-63B)."""
    if len(password) < MIN_PASSWORD:
        raise DomainError(
            _("Choose a password of at least %(count)d characters.", count=MIN_PASSWORD)
        )
    if len(password) > MAX_PASSWORD:
        raise DomainError(_("A password can be at most %(count)d characters.", count=MAX_PASSWORD))
    local = normalise_email(email).split("@")[0]
    # "aki.tanaka" as the password of aki.tanaka@…, or inside it ("aki.tanaka2026"): the first
    # guess of anyone who knows the address. Names shorter than 4 letters are not checked.
    if len(local) >= 4 and local in password.lower():
        raise DomainError(_("Choose a password that does not contain your e-mail address."))
    if password.strip().lower() in common_passwords():
        raise DomainError(
            _(
                "That password is one of the most common ones, the first an attacker "
                "tries. Choose another (a few unrelated words make a good one)."
            )
        )


def _check_sign_up(email: str, name: str, password: str) -> tuple[str, str]:
    email = normalise_email(email)
    name = name.strip()
    if not EMAIL_RE.match(email) or len(email) > 254:
        raise DomainError(_("Enter a valid e-mail address."))
    if not name or len(name) > 120:
        raise DomainError(_("Enter your name (up to 120 characters)."))
    validate_password(password, email)
    return email, name


def _add_user(user: User) -> User:
    taken = Conflict(_("An account with this e-mail already exists. Log in instead."))
    try:
        with write_transaction():
            if db.session.scalar(select(User.id).where(User.email == user.email)) is not None:
                raise taken
            db.session.add(user)
    except IntegrityError:
        raise taken from None
    return user


def sign_up(
    email: str, name: str, password: str, *, now: datetime, language: str | None = None
) -> User:
    """Create an account at once (the command line, the demo); runners sign up by e-mail link
    (request_sign_up)."""
    email, name = _check_sign_up(email, name, password)
    password_hash = hasher().hash(password)  # slow on purpose: before the write lock
    return _add_user(
        User(email=email, name=name, password_hash=password_hash, created_at=now, language=language)
    )


@dataclass(frozen=True)
class SignUpRequest:
    """What a sign-up form led to: a link to send to a new address, or the account that
    already has it (whose owner is told by e-mail; the page says the same either way)."""

    email: str
    name: str
    token: str | None = None
    existing: User | None = None


def request_sign_up(
    email: str,
    name: str,
    password: str,
    *,
    now: datetime,
    lifetime: timedelta,
    language: str | None = None,
) -> SignUpRequest:
    """Check a sign-up and keep it behind a link for the address; nothing tells the visitor
    whether the address already has an account."""
    email, name = _check_sign_up(email, name, password)
    # Hashed either way, so both answers take as long.
    password_hash = hasher().hash(password)
    existing = db.session.scalar(select(User).where(User.email == email))
    if existing is not None:
        return SignUpRequest(email, name, existing=existing)
    token = _new_link(
        SIGN_UP,
        email,
        now=now,
        lifetime=lifetime,
        name=name,
        password_hash=password_hash,
        language=language,
    )
    return SignUpRequest(email, name, token=token)


def _new_link(purpose: str, email: str, *, now: datetime, lifetime: timedelta, **fields) -> str:
    token = secrets.token_urlsafe(32)
    with write_transaction():
        db.session.add(
            EmailLink(
                purpose=purpose,
                token_sha256=_token_hash(token),
                email=email,
                created_at=now,
                expires_at=now + lifetime,
                **fields,
            )
        )
    return token


def open_link(token: str, purpose: str, *, now: datetime) -> EmailLink:
    """The unused, unexpired link behind `token` (not yet spent: a page can show its form)."""
    link = db.session.scalar(
        select(EmailLink).where(
            EmailLink.token_sha256 == _token_hash(token), EmailLink.purpose == purpose
        )
    )
    if link is None:
        raise NotFound(_("This link is not one of ours. Check that it was copied whole."))
    if link.used_at is not None:
        raise LinkSpent(_("This link has been used already. Each link works once."))
    if link.expires_at <= now:
        raise LinkSpent(_("This link has expired. Ask for a new one."))
    return link


def _spend(link: EmailLink, *, now: datetime) -> None:
    # One UPDATE that only an unused, unexpired link passes: two clicks at once spend it once.
    spent = rowcount(
        db.session.execute(
            update(EmailLink)
            .where(
                EmailLink.id == link.id,
                EmailLink.used_at.is_(None),
                EmailLink.expires_at > now,
            )
            .values(used_at=now)
        )
    )
    if spent != 1:
        raise LinkSpent(_("This link has been used already. Each link works once."))


def confirm_sign_up(token: str, *, now: datetime) -> User:
    """Open a sign-up link: the account is made, with its address verified."""
    link = open_link(token, SIGN_UP, now=now)
    taken = Conflict(_("An account with this e-mail already exists. Log in instead."))
    user = User(
        email=link.email,
        name=link.name or link.email,
        password_hash=link.password_hash or "",
        created_at=now,
        language=link.language,
        email_verified_at=now,
    )
    try:
        with write_transaction():
            _spend(link, now=now)
            if db.session.scalar(select(User.id).where(User.email == link.email)) is not None:
                raise taken
            db.session.add(user)
    except IntegrityError:
        raise taken from None
    return user


def request_password_reset(email: str, *, now: datetime, lifetime: timedelta):
    """A reset link for the account with this address, as (user, token); None when there is
    no such account (the page says the same either way)."""
    user = db.session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        return None
    token = _new_link(PASSWORD_RESET, user.email, now=now, lifetime=lifetime, user_id=user.id)
    return user, token


def reset_password(token: str, password: str, *, now: datetime) -> User:
    """Set a new password through a reset link; every session of the account ends."""
    link = open_link(token, PASSWORD_RESET, now=now)
    user = db.session.get(User, link.user_id)
    if user is None:
        raise NotFound(_("This link is not one of ours. Check that it was copied whole."))
    validate_password(password, user.email)
    password_hash = hasher().hash(password)
    with write_transaction():
        _spend(link, now=now)
        user.password_hash = password_hash
        # Whoever knew the old password is logged out everywhere, and older links are void.
        db.session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
        db.session.execute(
            update(EmailLink)
            .where(EmailLink.user_id == user.id, EmailLink.used_at.is_(None))
            .values(used_at=now)
        )
    return user


def authenticate(email: str, password: str) -> User | None:
    """Return the user whose password matches, upgrading an outdated hash on the way."""
    user = db.session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None or len(password) > MAX_PASSWORD:
        with contextlib.suppress(VerificationError):
            hasher().verify(_hasher_for(*_cost())[1], password[:MAX_PASSWORD] or "x")
        return None
    try:
        hasher().verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if hasher().check_needs_rehash(user.password_hash):
        new_hash = hasher().hash(password)
        with write_transaction():
            user.password_hash = new_hash
    return user


def password_matches(user: User, password: str) -> bool:
    """Whether `password` is the account's (asked again before changes that matter)."""
    if not password or len(password) > MAX_PASSWORD:
        return False
    try:
        return hasher().verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _require_password(user: User, password: str) -> None:
    if not password_matches(user, password):
        raise DomainError(_("That is not your current password."))


def change_password(
    user: User, current: str, new: str, *, keep_token: str | None, now: datetime
) -> None:
    """Set a new password; every other session of the account ends (this one stays)."""
    _require_password(user, current)
    validate_password(new, user.email)
    password_hash = hasher().hash(new)
    with write_transaction():
        db.session.execute(
            update(User).where(User.id == user.id).values(password_hash=password_hash)
        )
        others = delete(LoginSession).where(LoginSession.user_id == user.id)
        if keep_token:
            others = others.where(LoginSession.token_sha256 != _token_hash(keep_token))
        db.session.execute(others)
        db.session.execute(
            update(EmailLink)
            .where(EmailLink.user_id == user.id, EmailLink.used_at.is_(None))
            .where(EmailLink.purpose == PASSWORD_RESET)
            .values(used_at=now)
        )


def set_email_alerts(user: User, every_alert: bool) -> None:
    """Whether every alert comes by e-mail too, or only the urgent ones."""
    with write_transaction():
        db.session.execute(update(User).where(User.id == user.id).values(email_alerts=every_alert))


@dataclass(frozen=True)
class EmailChange:
    """A change of address asked for: a link for the new address, or None when another
    account has it (whose owner is then told instead; the page says the same)."""

    email: str
    token: str | None


def request_email_change(
    user: User, new_email: str, password: str, *, now: datetime, lifetime: timedelta
) -> EmailChange:
    """Check the password and keep the new address behind a link sent to it."""
    _require_password(user, password)
    email = normalise_email(new_email)
    if not EMAIL_RE.match(email) or len(email) > 254:
        raise DomainError(_("Enter a valid e-mail address."))
    if email == user.email:
        raise DomainError(_("That is already your address."))
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        return EmailChange(email, None)
    token = _new_link(EMAIL_CHANGE, email, now=now, lifetime=lifetime, user_id=user.id)
    return EmailChange(email, token)


def confirm_email_change(token: str, *, now: datetime) -> User:
    """Open a change-of-address link: the account moves to the new, now verified, address."""
    link = open_link(token, EMAIL_CHANGE, now=now)
    taken = Conflict(_("Another account uses this address now. Nothing was changed."))
    try:
        with write_transaction():
            _spend(link, now=now)
            user = db.session.get(User, link.user_id)
            if user is None:
                raise NotFound(_("This link is not one of ours. Check that it was copied whole."))
            if db.session.scalar(select(User.id).where(User.email == link.email)) is not None:
                raise taken
            user.email = link.email
            user.email_verified_at = now
    except IntegrityError:
        raise taken from None
    return user


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(user: User, *, now: datetime, lifetime: timedelta) -> str:
    """Record a new logged-in device and return its token (kept in the signed cookie)."""
    token = secrets.token_urlsafe(32)
    with write_transaction():
        db.session.add(
            LoginSession(
                token_sha256=_token_hash(token),
                user_id=user.id,
                created_at=now,
                expires_at=now + lifetime,
            )
        )
    user.session_token = token
    return token


def end_session(token: str | None) -> None:
    """Forget one device's session: its cookie, even replayed, no longer logs anyone in."""
    if token:
        with write_transaction():
            db.session.execute(
                delete(LoginSession).where(LoginSession.token_sha256 == _token_hash(token))
            )


# Asked on every request, so built once (SQLAlchemy keeps the compiled form of a statement
# object): the session, its user, and whether they organize (every page's navigation asks).
_SESSION_USER = (
    select(
        LoginSession.expires_at,
        User,
        select(OrganizerRole.id).where(OrganizerRole.user_id == User.id).exists(),
    )
    .join(User, User.id == LoginSession.user_id)
    .where(LoginSession.token_sha256 == bindparam("token_sha256"))
)


def load_user(token: str, *, now: datetime) -> User | None:
    """Resolve a session token to its user, or None when it was ended or has expired."""
    row = db.session.execute(_SESSION_USER, {"token_sha256": _token_hash(token)}).first()
    if row is None or row[0] <= now:
        return None
    user = row[1]
    user.session_token = token
    if has_request_context():
        g.organizes_any = bool(row[2])
    return user


def session_id_for(token: str | None) -> int | None:
    """The id of the login session behind a token (a device's subscription is tied to it)."""
    if not token:
        return None
    return db.session.scalar(
        select(LoginSession.id).where(LoginSession.token_sha256 == _token_hash(token))
    )


def is_organizer(user, event: Event | None = None, *, permission: str | None = None) -> bool:
    """Whether the user is in the team of the event (of any event, without one), with a role
    that grants `permission` when one is named (vocabulary.ROLE_PERMISSIONS)."""
    if not getattr(user, "is_authenticated", False):
        return False
    query = select(OrganizerRole.role).where(OrganizerRole.user_id == user.id)
    if event is not None:
        query = query.where(OrganizerRole.event_id == event.id)
    roles = set(db.session.scalars(query))
    if permission is None:
        return bool(roles)
    return any(permission in ROLE_PERMISSIONS[role] for role in roles)


def organizes_any(user) -> bool:
    """Whether the user organizes some event; asked by every page, so answered once a request."""
    if "organizes_any" not in g:
        g.organizes_any = is_organizer(user)
    return g.organizes_any


def may_preview(user) -> bool:
    return bool(current_app.config.get("PREVIEW_FOR_ALL")) or organizes_any(user)


def entry_for(user: User, event: Event) -> Entry | None:
    """The runner's entry in the event (a withdrawn one is not theirs any more)."""
    return db.session.scalar(
        select(Entry).where(
            Entry.user_id == user.id, Entry.event_id == event.id, Entry.withdrawn_at.is_(None)
        )
    )


def join_category(
    user: User, event: Event, category_code: str, bib: str, *, now: datetime
) -> Entry:
    """Put a runner straight on the entry list with a bib, claimed (the demo and tests do; runners
    claim their listed entry through services.claims)."""
    category, state = claims.joinable_category(event, category_code, now=now)
    bib = bib.strip()
    if not BIB_RE.match(bib):
        raise DomainError(_("A bib number is 1 to 12 letters, digits or dashes."))
    category_id, event_id, user_id = category.id, event.id, user.id
    try:
        with write_transaction():
            entry = db.session.scalar(
                select(Entry).where(Entry.user_id == user_id, Entry.event_id == event_id)
            )
            if entry is None:
                entry = Entry(
                    user_id=user_id,
                    event_id=event_id,
                    category_id=category_id,
                    bib=bib,
                    created_at=now,
                )
                db.session.add(entry)
            else:
                entry.category_id, entry.bib, entry.updated_at = category_id, bib, now
            db.session.flush()
            reminders.plan_eve(entry, state.category(category.code), now=now)
    except IntegrityError:
        raise Conflict(
            _(
                "Bib %(bib)s is already taken in %(race)s. Check the number.",
                bib=bib,
                race=text_of(event),
            )
        ) from None
    return entry


def set_language(user: User, language: str) -> None:
    """Remember the language the user chose in the app, for every device they log in on."""
    with write_transaction():
        user.language = language


def create_organizer(
    email: str, name: str, password: str, event_slugs: list[str], *, now: datetime
) -> User:
    """Create (or reuse) an account and make it organizer of the given events."""
    email = normalise_email(email)
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        user = sign_up(email, name, password, now=now)
    with write_transaction():
        for slug in event_slugs:
            event = db.session.scalar(select(Event).where(Event.slug == slug))
            if event is None:
                raise NotFound(
                    _("No event with the address %(slug)s: import its race file first.", slug=slug)
                )
            if not is_organizer(user, event):
                db.session.add(OrganizerRole(user_id=user.id, event_id=event.id))
    return user
