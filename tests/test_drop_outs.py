"""A runner who stops tells headquarters from the Help page (sent later if there is no
signal): one report per runner, a resent report is the same report, headquarters sees the
list, marks each accounted for, and only the runner and the race's team see any of it."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from raceapp.extensions import db
from raceapp.models import AuditRecord, DropOut, OrganizerRole
from tests.helpers import csrf_from, db_snapshot

DURING = datetime(2024, 6, 8, 11, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
HELP = "/me/help"


@pytest.fixture
def runner(client, auth, okushinano, make_user, make_entry, frozen_clock):
    frozen_clock(DURING)
    user = make_user("aki@example.com", name="Aki Tanaka")
    entry = make_entry(user, okushinano, "100k", "1001")
    auth.login("aki@example.com")
    return entry


def report(client, **fields):
    token = csrf_from(client.get(HELP).get_data(as_text=True))
    data = {"csrf_token": token, "getting_back": "own", "key": "report-0001", **fields}
    return client.post("/me/drop-out", data=data)


def test_a_report_reaches_headquarters_and_the_kit_says_the_runner_stopped(
    client, auth, runner, okushinano, make_organizer
):
    checkpoint = runner.category.checkpoints[2]
    made = (DURING - timedelta(minutes=20)).isoformat()
    response = report(
        client,
        checkpoint=str(checkpoint.id),
        getting_back="shuttle",
        note="Twisted ankle, walking slowly.",
        made_at=made,
        attach_position="1",
        latitude="36.75012",
        longitude="138.41234",
        accuracy="12",
    )
    assert response.status_code == 303
    row = db.session.scalar(select(DropOut))
    assert (row.entry_id, row.getting_back, row.place) == (runner.id, "shuttle", checkpoint.name)
    assert row.reported_at == DURING - timedelta(minutes=20)  # when it was made on the phone
    assert (row.latitude, row.longitude, row.accuracy_m) == (36.75012, 138.41234, 12)
    assert "You have stopped" in client.get("/me").get_data(as_text=True)
    assert "your report reached headquarters" in client.get(HELP).get_data(as_text=True)
    # Headquarters' list.
    auth.logout()
    organizer = make_organizer(okushinano)
    auth.login("organizer@example.com")
    page = client.get(f"/organizer/events/{okushinano.slug}/drop-outs").get_data(as_text=True)
    assert "Bib 1001" in page and checkpoint.name in page and "Twisted ankle" in page
    assert "36.75012" in page
    token = csrf_from(page)
    done = client.post(
        f"/organizer/events/{okushinano.slug}/drop-outs/{row.id}/accounted",
        data={"csrf_token": token},
    )
    assert done.status_code == 303
    db.session.refresh(row)
    assert row.accounted_at is not None and row.accounted_by_id == organizer.id
    assert db.session.scalar(
        select(AuditRecord.action).where(AuditRecord.action == "drop_out.accounted")
    )


def test_a_report_sent_twice_is_one_report_and_a_new_one_corrects_it(client, runner):
    assert report(client).status_code == 303
    assert report(client, note="again, same key").status_code == 303
    row = db.session.scalar(select(DropOut))
    assert row.note is None  # the same key: the first report stands
    assert report(client, key="report-0002", getting_back="with_staff").status_code == 303
    assert db.session.scalar(select(func.count()).select_from(DropOut)) == 1
    db.session.refresh(row)
    assert row.getting_back == "with_staff"
    # Sent later by the phone's queue: a 204, no page.
    token = csrf_from(client.get(HELP).get_data(as_text=True))
    queued = client.post(
        "/me/drop-out",
        data={"csrf_token": token, "getting_back": "own", "key": "report-0003"},
        headers={"X-Raceapp-Queued": "1"},
    )
    assert queued.status_code == 204


def test_bad_reports_change_nothing(client, runner, okushinano):
    other_category = next(c for c in okushinano.categories if c.code != "100k")
    cases = [
        {"getting_back": "teleport"},
        {"checkpoint": str(other_category.checkpoints[0].id)},
        {"checkpoint": "not-a-number"},
        {"key": "short"},
        {"attach_position": "1", "latitude": "91", "longitude": "10"},
        {"made_at": "yesterday"},
        {"note": "x" * 1001},
    ]
    before = db_snapshot()
    for fields in cases:
        response = report(client, **fields)
        assert response.status_code == 400, fields
        assert "<h1>" in response.get_data(as_text=True)
    assert db_snapshot() == before


def test_only_the_runner_and_the_race_s_team_see_a_report(
    client, auth, runner, okushinano, make_user, make_entry
):
    report(client, note="private note")
    auth.logout()
    other = make_user("other@example.com")
    make_entry(other, okushinano, "100k", "1002")
    auth.login("other@example.com")
    assert "private note" not in client.get(HELP).get_data(as_text=True)
    assert client.get(f"/organizer/events/{okushinano.slug}/drop-outs").status_code == 404
    auth.logout()
    staff = make_user("staff@example.com")
    db.session.add(OrganizerRole(user_id=staff.id, event_id=okushinano.id, role="shuttle_staff"))
    db.session.commit()
    auth.login("staff@example.com")
    assert client.get(f"/organizer/events/{okushinano.slug}/drop-outs").status_code == 403


def test_a_late_copy_does_not_undo_a_correction_and_followers_cannot_report(
    client, auth, runner, okushinano, make_user
):
    from raceapp.services import claims

    later = DURING.isoformat()
    earlier = (DURING - timedelta(minutes=30)).isoformat()
    assert (
        report(client, key="report-late", getting_back="with_staff", made_at=later).status_code
        == 303
    )
    # The phone's copy of an earlier report arrives after it: headquarters keeps the later one.
    assert (
        report(client, key="report-early", getting_back="own", made_at=earlier).status_code == 303
    )
    assert db.session.scalar(select(DropOut.getting_back)) == "with_staff"
    # A position carries when it was found.
    found = (DURING - timedelta(minutes=5)).isoformat()
    report(
        client,
        key="report-third",
        made_at=later,
        attach_position="1",
        latitude="36.7",
        longitude="138.4",
        accuracy="30",
        position_at=found,
    )
    row = db.session.scalar(select(DropOut))
    assert row.position_at == DURING - timedelta(minutes=5)
    # Someone following an open race without a bib cannot send people out looking for them.
    auth.logout()
    okushinano.details = {**okushinano.details, "open_signup": True}
    db.session.commit()
    follower = make_user("fan@example.com", name="Bib 1001 · Aki Tanaka")
    claims.follow(follower, okushinano, "100k", now=DURING)
    auth.login("fan@example.com")
    response = report(client, key="report-fan1")
    assert response.status_code == 409
    assert db.session.scalar(select(func.count()).select_from(DropOut)) == 1
