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
from typing import cast

from flask import current_app, request
from flask_login import current_user
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
    (`{name}_LIMIT_PER_ACCOUNT`); views decorated with the same name share the counters."""
    scope = name.lower()
    # Only failed logins count: a runner who types the password right does not use up the
    # limit (though an attacker failing on their e-mail can). Attempts already in flight when
    # the limit is reached still go through, at most one per worker thread.
    deduct_when = (lambda response: response.status_code == 401) if only_failures else None

    def decorate(view):
        for suffix, key_func in (("ADDRESS", by_address), ("ACCOUNT", account_key)):
            view = limiter.shared_limit(
                _configured(f"{name}_LIMIT_PER_{suffix}"),
                scope=f"{scope}-{suffix.lower()}",
                key_func=key_func,
                methods=methods,
                deduct_when=deduct_when,
            )(view)
        return view

    return decorate


def retry_after_seconds() -> int:
    """Seconds until the limit this request broke lets the client in again."""
    current = limiter.current_limit
    if current is None:
        return 60
    return max(1, int(current.reset_at - time.time()))
