"""The write-transaction mechanism: a lock time-out becomes "busy, try again" and writes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from raceapp.database import write_transaction
from raceapp.errors import Busy
from raceapp.extensions import db
from raceapp.models import Notice


def test_a_locked_database_is_busy_and_nothing_is_half_written(app, make_user):
    user = make_user()
    with pytest.raises(Busy), write_transaction():
        db.session.add(Notice(user_id=user.id, text="half", created_at=user.created_at))
        db.session.flush()
        raise OperationalError("UPDATE ...", {}, Exception("database is locked"))
    assert db.session.scalar(select(func.count()).select_from(Notice)) == 0


def test_busy_answers_503_with_retry_after(app, client):
    @app.get("/_busy")
    def _busy():
        raise Busy("The system is busy. Try again in a moment.")

    response = client.get("/_busy")
    assert response.status_code == 503 and response.headers["Retry-After"] == "2"
    assert "Try again in a moment" in response.get_data(as_text=True)
