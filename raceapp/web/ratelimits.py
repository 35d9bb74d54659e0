"""Abuse limits: who is counted, where the counters live, and the limits on each endpoint.

Flask-Limiter does the limiting. Its counters must be shared by every gunicorn worker (a
per-process counter lets an attacker multiply the limit by the worker count), so they live in
Redis when REDIS_URL is set and otherwise in the app's own database (`DatabaseStorage`).
"""

from __future__ import annotations

import hashlib
import ipaddress
import time
from collections.abc import Callable
from functools import wraps
from typing import cast

from flask import current_app, g, make_response, request
from flask_login import current_user
from limits import parse_many
from limits.storage import Storage
from sqlalchemy import Table, case, delete, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from raceapp.database import write_connection
from raceapp.extensions import db, limiter
from raceapp.models import RateLimitCounter

PRUNE_EVERY_SECONDS = 300
COUNTERS = cast(Table, RateLimitCounter.__table__)


class DatabaseStorage(Storage):
    """Fixed-window counters in the `rate_limit_counters` table ("database://").

    Each hit is one atomic upsert in its own short transaction, apart from the request's
    session, so a limited request that fails later still counts and nothing it writes waits
    on the counter. The windows follow the wall clock, as the limits library computes them.
    """

    STORAGE_SCHEME = ["database"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self._pruned_at = 0.0

    @property
    def base_exceptions(self):
        return SQLAlchemyError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        table = COUNTERS
        dialect = db.engine.dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        expired = table.c.expires_at <= now
        upsert = insert(table).values(key=key, hits=amount, expires_at=now + expiry)
        statement = upsert.on_conflict_do_update(
            index_elements=[table.c.key],
            set_={
                "hits": case((expired, amount), else_=table.c.hits + amount),
                "expires_at": case((expired, now + expiry), else_=table.c.expires_at),
            },
        ).returning(table.c.hits)
        with write_connection(db.engine) as conn:
            hits = conn.execute(statement).scalar_one()
        if now - self._pruned_at > PRUNE_EVERY_SECONDS:
            self._pruned_at = now
            self._prune(now)
        return hits

    def _prune(self, now: float) -> None:
        # Best effort, in its own transaction: two processes pruning at once may get in each
        # other's way, and a count must never fail for that.
        table = COUNTERS
        try:
            with write_connection(db.engine) as conn:
                conn.execute(delete(table).where(table.c.expires_at < now))
        except SQLAlchemyError:
            current_app.logger.warning("pruning expired rate-limit counters failed", exc_info=True)

    def _row(self, key: str):
        table = COUNTERS
        with db.engine.connect() as conn:
            return conn.execute(
                select(table.c.hits, table.c.expires_at).where(
                    table.c.key == key, table.c.expires_at > time.time()
                )
            ).first()

    def get(self, key: str) -> int:
        row = self._row(key)
        return row.hits if row else 0

    def get_expiry(self, key: str) -> float:
        row = self._row(key)
        return row.expires_at if row else time.time()

    def check(self) -> bool:
        try:
            with db.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except SQLAlchemyError:
            return False

    def reset(self) -> int | None:
        with write_connection(db.engine) as conn:
            return conn.execute(delete(COUNTERS)).rowcount

    def clear(self, key: str) -> None:
        with write_connection(db.engine) as conn:
            conn.execute(delete(COUNTERS).where(COUNTERS.c.key == key))


def by_address() -> str:
    """The client's address (behind a proxy, PROXY_COUNT makes this the real one). An IPv6
    client counts by its /64: one subscriber holds the whole block and can hop within it."""
    raw = request.remote_addr or "unknown"
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return f"ip:{raw}"
    if address.version == 6:
        if address.ipv4_mapped:
            return f"ip:{address.ipv4_mapped}"
        return f"ip:{ipaddress.ip_network(f'{address}/64', strict=False)}"
    return f"ip:{address}"


def _account(name: str) -> str:
    # Counter keys never hold an e-mail address in the clear.
    digest = hashlib.sha256(name.strip().lower().encode()).hexdigest()[:32]
    return f"account:{digest}"


def by_submitted_email() -> str:
    """The account a login or sign-up names; the address when the form names none."""
    email = request.form.get("email", "")
    return _account(email) if email.strip() else by_address()


def by_user() -> str:
    """The logged-in account; the address for anonymous callers (who are refused anyway)."""
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    return by_address()


def _configured(name: str) -> Callable[[], str]:
    return lambda: current_app.config[name]


def limited(
    name: str, account_key: Callable[[], str], *, methods: list[str], only_failures: bool = False
):
    """Limit a view per address (`{name}_LIMIT_PER_ADDRESS`) and per account
    (`{name}_LIMIT_PER_ACCOUNT`); views decorated with the same name share the counters.

    With `only_failures`, only answers of 401 count (a runner who types the password right
    does not use up the limit): each attempt is counted when it starts, atomically, and given
    back when it succeeds, so concurrent attempts cannot slip past the limit."""
    scope = name.lower()
    keys = (("ADDRESS", by_address), ("ACCOUNT", account_key))

    def decorate(view):
        if only_failures:
            return _charged_attempts(view, name, keys, methods)
        for suffix, key_func in keys:
            view = limiter.shared_limit(
                _configured(f"{name}_LIMIT_PER_{suffix}"),
                scope=f"{scope}-{suffix.lower()}",
                key_func=key_func,
                methods=methods,
            )(view)
        return view

    return decorate


def _charged_attempts(view, name: str, keys, methods: list[str]):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if request.method not in methods or not limiter.enabled:
            return view(*args, **kwargs)
        storage = limiter.storage
        charged, wait = [], 0.0
        for suffix, key_func in keys:
            who = key_func()
            for item in parse_many(current_app.config[f"{name}_LIMIT_PER_{suffix}"]):
                key = item.key_for(f"attempts/{name.lower()}-{suffix.lower()}", who)
                # One atomic increment: the count each attempt sees is its own.
                hits = storage.incr(key, item.get_expiry())
                charged.append((key, item))
                if hits > item.amount:
                    wait = max(wait, storage.get_expiry(key) - time.time())
        if wait:
            g.retry_after = max(1, int(wait))
            raise TooManyAttempts()
        response = make_response(view(*args, **kwargs))
        if response.status_code != 401:
            for key, item in charged:
                storage.incr(key, item.get_expiry(), amount=-1)  # a success does not count
        return response

    return wrapper


class TooManyAttempts(Exception):
    """Raised when an attempt is over its limit; answered like any other limit (a 429)."""


def retry_after_seconds() -> int:
    """Seconds until the limit this request broke lets the client in again."""
    if g.get("retry_after"):
        return int(g.retry_after)
    current = limiter.current_limit
    if current is None:
        return 60
    return max(1, int(current.reset_at - time.time()))
