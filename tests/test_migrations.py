"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from raceapp import create_app
from raceapp.extensions import db


@pytest.fixture
def empty_database_url(tmp_path):
    """A brand-new empty database of the kind the suite runs on."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    name = f"raceapp_mig_{uuid.uuid4().hex[:8]}"
    admin = create_engine(
        make_url(url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_migrations_match_the_models(empty_database_url):
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=empty_database_url)
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
            triggers = trigger_names(conn)
        db.engine.dispose()
    assert diff == []
    # Rules across two tables are triggers, which the comparison above does not see.
    assert triggers == {"seat_not_with_a_waitlist_place", "waitlist_not_with_a_seat"}


def trigger_names(conn) -> set[str]:
    if conn.dialect.name == "postgresql":
        query = "SELECT DISTINCT trigger_name FROM information_schema.triggers"
    else:
        query = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
    return set(conn.execute(text(query)).scalars())


def test_the_models_make_the_same_triggers(app):
    with db.engine.connect() as conn:
        assert trigger_names(conn) == {"seat_not_with_a_waitlist_place", "waitlist_not_with_a_seat"}
