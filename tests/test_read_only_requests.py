"""A request that only read ends with COMMIT on PostgreSQL (psycopg keeps its prepared
statements, which a rollback drops); anything written, pending or failed is never committed by
it."""

from __future__ import annotations

from sqlalchemy import select, text, update

from raceapp import database
from raceapp.extensions import db
from raceapp.models import Event


def _name(slug: str) -> str:
    db.session.rollback()
    return db.session.scalar(select(Event.name).where(Event.slug == slug))


def test_a_read_only_request_ends_its_transaction_without_changing_anything(app, okushinano):
    postgres = db.engine.dialect.name == "postgresql"
    with app.test_request_context("/me"):
        db.session.scalar(select(Event.name))
        assert db.session().in_transaction()
        database.end_read_only(None)
        # PostgreSQL: committed (nothing to commit but the read); SQLite: left to the rollback.
        assert db.session().in_transaction() is not postgres


def test_what_a_request_wrote_without_committing_is_never_committed(app, okushinano):
    slug, name = okushinano.slug, okushinano.name
    db.session.commit()
    # Written with a statement (no pending objects), then the request ends without commit.
    with app.test_request_context("/me"):
        db.session.execute(update(Event).where(Event.slug == slug).values(name="Written"))
        database.end_read_only(None)
        db.session.rollback()
    assert _name(slug) == name
    # Changed objects not yet flushed.
    with app.test_request_context("/me"):
        event = db.session.scalar(select(Event).where(Event.slug == slug))
        event.name = "Pending"
        database.end_read_only(None)
        db.session.rollback()
    assert _name(slug) == name
    # A request that failed, even if it only read.
    with app.test_request_context("/me"):
        db.session.execute(update(Event).where(Event.slug == slug).values(name="Failed"))
        database.end_read_only(RuntimeError("the view failed"))
        db.session.rollback()
    assert _name(slug) == name


def test_a_select_that_writes_is_not_taken_for_a_read(app):
    # Only statements that begin with SELECT count as reads; a CTE or a function call that
    # writes would begin otherwise, and ends in a rollback.
    with app.test_request_context("/me"):
        db.session.execute(text("SELECT 1"))
        connection = db.session.connection()
        assert not connection.info.get(database.WROTE)
        db.session.execute(text("WITH x AS (SELECT 1) SELECT * FROM x"))
        # SQLite keeps no note: its requests always end in a rollback.
        postgres = db.engine.dialect.name == "postgresql"
        assert bool(connection.info.get(database.WROTE)) is postgres
        db.session.rollback()
        assert not db.session.connection().info.get(database.WROTE)
