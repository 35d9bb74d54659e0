"""Engine set-up (SQLite pragmas, explicit BEGIN) and the one way services write:
`with write_transaction():`, which takes the write lock first and commits or rolls back."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import event, or_, select, update
from sqlalchemy.engine import Connection, CursorResult, Engine, Result
from sqlalchemy.exc import OperationalError

from raceapp.errors import Busy
from raceapp.extensions import db

BUSY_TIMEOUT_MS = 5000


def configure_engine(engine: Engine) -> None:
    """Turn on WAL, a busy timeout and foreign keys for SQLite; on PostgreSQL, note which
    transactions wrote (see end_read_only)."""
    if engine.dialect.name == "postgresql":
        _note_writes(engine)
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # noqa: ANN001
        # Let SQLAlchemy emit BEGIN itself (pysqlite's own would be DEFERRED, too late to lock).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # noqa: ANN001
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


WROTE = "raceapp_wrote"  # in a connection's info: its transaction ran more than SELECTs


def _note_writes(engine: Engine) -> None:
    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn, _cursor, statement, _params, _context, _many):  # noqa: ANN001
        if statement.lstrip()[:6].upper() != "SELECT":
            conn.info[WROTE] = True

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _ended(conn):  # noqa: ANN001
        conn.info.pop(WROTE, None)


def end_read_only(error: BaseException | None = None) -> None:
    """End a request that only read with COMMIT rather than the session's ROLLBACK: the same
    for the data, but psycopg forgets its prepared statements on every rollback, so without
    this PostgreSQL plans every query of every request anew (several milliseconds for the kit
    home's fingerprint). Anything written, pending or failed still ends in a rollback."""
    if error is not None or db.engine.dialect.name != "postgresql":
        return
    session = db.session()
    if not session.in_transaction() or session.new or session.dirty or session.deleted:
        return
    connection = session.connection()
    if connection.info.get(WROTE) or connection.invalidated:
        return
    session.commit()


def _begin_write() -> None:
    """Make the next statements run in a transaction that holds SQLite's write lock.

    In WAL mode a DEFERRED transaction that has read cannot start writing once another
    connection has committed ("database is locked", whatever the busy timeout), so a unit of
    work that writes ends any read transaction and begins IMMEDIATE. PostgreSQL needs nothing.
    """
    if db.engine.dialect.name != "sqlite":
        return
    db.session().connection(execution_options={"sqlite_begin": "IMMEDIATE"})


@contextmanager
def write_transaction() -> Iterator[None]:
    """Run a read-then-write unit of work holding the write lock from its first statement.

    SQLite: BEGIN IMMEDIATE, so two writers never both read and then fail to upgrade.
    PostgreSQL: an ordinary transaction; callers lock rows they read (FOR UPDATE).
    """
    session = db.session()
    if session.in_transaction():
        session.commit()
    try:
        # Inside the try: waiting longer than the busy timeout for the lock is "busy, try
        # again" (503), not a server error.
        _begin_write()
        yield
        session.commit()
    except OperationalError:
        session.rollback()
        raise Busy(_("The system is busy. Try again in a moment.")) from None
    except BaseException:
        session.rollback()
        raise


@contextmanager
def write_connection(engine: Engine) -> Iterator[Connection]:
    """The same rule for work done apart from a request's session (the push outbox, the
    abuse-limit counters): one short transaction on its own connection, holding SQLite's
    write lock from BEGIN, committed on leaving the block."""
    with engine.connect() as conn:
        conn = conn.execution_options(sqlite_begin="IMMEDIATE")  # ignored by PostgreSQL
        with conn.begin():
            yield conn


def rowcount(result: Result) -> int:
    """How many rows an UPDATE or DELETE touched (its result is a cursor result)."""
    assert isinstance(result, CursorResult)
    return result.rowcount


def lease_due(
    conn: Connection, model, due_column, *, worker: str, now: datetime, until: datetime, limit: int
) -> list[int]:
    """Lease up to `limit` pending rows of an outbox table whose `due_column` has come and
    whose lease (if any) has ended: mark them with the worker, the new lease and one more
    attempt, and return their ids, oldest due first. On PostgreSQL concurrent workers take
    different rows (`FOR UPDATE SKIP LOCKED`); on SQLite the caller's write lock serialises."""
    due = (
        select(model.id)
        .where(
            model.status == "pending",
            due_column <= now,
            or_(model.lease_until.is_(None), model.lease_until < now),
        )
        .order_by(due_column, model.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(
        conn.execute(
            update(model)
            .where(model.id.in_(due.scalar_subquery()))
            .values(lease_until=until, claimed_by=worker, attempts=model.attempts + 1)
            .returning(model.id)
        ).scalars()
    )
