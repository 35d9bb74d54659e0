"""Runners get their bib only through the organizer's entry list: a verified e-mail that
matches the entry, or the entry's claim code. Codes work once and cannot be guessed."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from raceapp.extensions import db
from raceapp.models import Entry, Reminder
from raceapp.services import claims, entry_list
from tests.helpers import csrf_from

# A week before the race: entries open, the evening reminder still ahead.
RACE_EVE = datetime(2024, 6, 1, 12, 0, tzinfo=ZoneInfo("Asia/Tokyo"))


@pytest.fixture
def listed(okushinano):
    """Factory: an entry on the organizer's list, not claimed, with its code."""

    def make(bib: str, code: str = "100k", email: str | None = None, name: str = "山田 太郎"):
        category = next(c for c in okushinano.categories if c.code == code)
        entry = Entry(
            event_id=okushinano.id,
            category_id=category.id,
            bib=bib,
            name=name,
            email=email,
            created_at=RACE_EVE,
        )
        db.session.add(entry)
        db.session.flush()
        claims.assign_code(entry)
        db.session.commit()
        return entry, claims.code_for(entry)

    return make


def post(client, url, **data):
    token = csrf_from(client.get("/events/okushinano-100-2024/join").get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data})


JOIN = "/events/okushinano-100-2024/join"


def test_a_code_claims_its_entry_once(client, auth, okushinano, make_user, listed, frozen_clock):
    frozen_clock(RACE_EVE)
    entry, code = listed("1234")
    assert code and len(claims.normalise_code(code)) == 16
    runner = make_user("a@example.com")
    auth.login("a@example.com")
    # Typed loosely: lower case, spaces, O for zero.
    typed = code.lower().replace("-", " ").replace("0", "o")
    assert post(client, JOIN, code=typed).status_code == 302
    db.session.refresh(entry)
    assert entry.user_id == runner.id and entry.claimed_at is not None
    assert entry.claim_code_sha256 is None  # spent
    assert "1234" in client.get("/me").get_data(as_text=True)
    # The evening reminder is planned for the claimed entry.
    assert db.session.scalar(select(Reminder).where(Reminder.entry_id == entry.id)) is not None
    auth.logout()
    make_user("b@example.com")
    auth.login("b@example.com")
    response = post(client, JOIN, code=code)
    assert response.status_code == 404
    db.session.refresh(entry)
    assert entry.user_id == runner.id


def test_wrong_and_malformed_codes_change_nothing(
    client, auth, okushinano, make_user, listed, frozen_clock
):
    frozen_clock(RACE_EVE)
    listed("1")
    make_user("a@example.com")
    auth.login("a@example.com")
    before = db.session.scalar(
        select(func.count()).select_from(Entry).where(Entry.user_id.is_not(None))
    )
    cases = [
        ("", 400, "16 letters"),
        ("123", 400, "16 letters"),
        ("ZZZZ-ZZZZ-ZZZZ-ZZZZ", 404, "does not match"),
    ]
    for code, status, words in cases:
        response = post(client, JOIN, code=code)
        assert response.status_code == status, code
        assert words in response.get_data(as_text=True)
    after = db.session.scalar(
        select(func.count()).select_from(Entry).where(Entry.user_id.is_not(None))
    )
    assert before == after == 0


def test_a_verified_email_claims_the_entry_listed_with_it(
    client, auth, okushinano, make_user, listed, frozen_clock
):
    frozen_clock(RACE_EVE)
    entry, _code = listed("77", email="Runner@Example.com")
    other, _ = listed("78", email="someone@example.com")
    runner = make_user("runner@example.com")
    auth.login("runner@example.com")
    # Not verified yet: no match offered, and a forged claim is refused.
    assert "bib 77" not in client.get(JOIN).get_data(as_text=True)
    assert post(client, JOIN + "/email", entry=str(entry.id)).status_code == 404
    runner.email_verified_at = RACE_EVE
    db.session.commit()
    page = client.get(JOIN).get_data(as_text=True)
    assert "bib 77" in page and "bib 78" not in page
    # Somebody else's entry, by its id: refused.
    assert post(client, JOIN + "/email", entry=str(other.id)).status_code == 404
    assert post(client, JOIN + "/email", entry=str(entry.id)).status_code == 302
    db.session.refresh(entry)
    assert entry.user_id == runner.id


def test_one_entry_per_runner_per_race_and_one_runner_per_bib(
    client, auth, okushinano, make_user, listed, frozen_clock
):
    frozen_clock(RACE_EVE)
    _first, code1 = listed("10")
    _second, code2 = listed("11")
    make_user("a@example.com")
    auth.login("a@example.com")
    assert post(client, JOIN, code=code1).status_code == 302
    response = post(client, JOIN, code=code2)
    assert response.status_code == 409 and "bib 10" in response.get_data(as_text=True)
    # The database's rule, whatever the code does: one bib once per race.
    category = okushinano.categories[0]
    db.session.add(
        Entry(event_id=okushinano.id, category_id=category.id, bib="10", created_at=RACE_EVE)
    )
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_open_sign_up_only_where_the_race_file_allows_it(
    client, auth, okushinano, make_user, listed, frozen_clock
):
    frozen_clock(RACE_EVE)
    runner = make_user("a@example.com")
    auth.login("a@example.com")
    follow = "/events/okushinano-100-2024/follow"
    response = post(client, follow, category="100k")
    assert response.status_code == 409 and "entry list" in response.get_data(as_text=True)
    okushinano.details = {**okushinano.details, "open_signup": True}
    db.session.commit()
    assert post(client, follow, category="100k").status_code == 302
    entry = db.session.scalar(select(Entry).where(Entry.user_id == runner.id))
    assert entry.bib is None and entry.category.code == "100k"
    assert "Okushinano" in client.get("/me").get_data(as_text=True)
    # A listed entry takes the follower's place.
    listed_entry, code = listed("500")
    assert post(client, JOIN, code=code).status_code == 302
    mine = db.session.scalars(select(Entry).where(Entry.user_id == runner.id)).all()
    assert [e.bib for e in mine] == ["500"]


def test_leaving_gives_the_entry_back_to_the_list_with_a_new_code(
    client, auth, okushinano, make_user, listed, frozen_clock
):
    frozen_clock(RACE_EVE)
    entry, code = listed("42")
    make_user("a@example.com")
    auth.login("a@example.com")
    assert post(client, JOIN, code=code).status_code == 302
    assert post(client, "/events/okushinano-100-2024/leave").status_code == 302
    db.session.refresh(entry)
    assert entry.user_id is None and entry.bib == "42"
    fresh = claims.code_for(entry)
    assert fresh and fresh != code
    assert post(client, JOIN, code=code).status_code == 404  # the old code stays spent
    assert post(client, JOIN, code=fresh).status_code == 302


def test_a_withdrawn_runner_loses_the_kit_at_the_next_sync(
    client, auth, okushinano, make_user, make_organizer, listed, frozen_clock
):
    frozen_clock(RACE_EVE)
    entry, code = listed("9")
    make_user("a@example.com")
    auth.login("a@example.com")
    assert post(client, JOIN, code=code).status_code == 302
    assert client.get("/api/kit").status_code == 200
    db.session.refresh(entry)
    assert entry.kit_synced_at is not None
    organizer = make_organizer(okushinano)
    entry_list.withdraw(okushinano, organizer, entry.id, now=RACE_EVE)
    # The phone's next sync: no race, and its service worker drops what it kept.
    assert client.get("/api/kit").status_code == 409
    db.session.refresh(entry)
    assert entry.user_id is None and entry.withdrawn_at is not None
    assert claims.code_for(entry) is None
    entry_list.reinstate(okushinano, organizer, entry.id, now=RACE_EVE)
    db.session.refresh(entry)
    assert entry.withdrawn_at is None and claims.code_for(entry)
