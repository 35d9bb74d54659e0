"""Boarding at the bus door: a ticket scanned twice is refused the second time, scans made
offline on two phones keep the earliest, a ticket for another departure is flagged, a
cancelled one refused; only the race's organizers and shuttle staff board."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from raceapp.errors import DomainError, Forbidden, NotFound
from raceapp.extensions import db
from raceapp.models import Booking, OrganizerRole
from raceapp.services import shuttles
from tests.helpers import departure

TOKYO = ZoneInfo("Asia/Tokyo")
MORNING = datetime(2026, 6, 20, 4, 50, tzinfo=TOKYO)


@pytest.fixture
def tickets(bus_event, runner_factory, make_user, make_organizer, frozen_clock):
    five, six = (
        departure(bus_event, "station-to-start", "05:00"),
        departure(bus_event, "station-to-start", "06:00"),
    )
    aki, ben = runner_factory("aki@example.com"), runner_factory("ben@example.com")
    first = shuttles.book(aki, five.id, now=MORNING - timedelta(days=1), idempotency_key=None)
    second = shuttles.book(ben, six.id, now=MORNING - timedelta(days=1), idempotency_key=None)
    staff = make_user("staff@example.com")
    db.session.add(OrganizerRole(user_id=staff.id, event_id=bus_event.id, role="shuttle_staff"))
    db.session.commit()
    frozen_clock(MORNING)  # at the bus door
    return {"five": five, "six": six, "aki": first, "ben": second, "staff": staff}


def test_a_ticket_scanned_twice_is_refused_the_second_time(tickets):
    staff, five = tickets["staff"], tickets["five"]
    ref = tickets["aki"].reference
    first = shuttles.board(staff, ref, five.id, scanned_at=None, now=MORNING)
    assert first.boarded_now and not first.other_departure
    again = shuttles.board(
        staff, ref.lower(), five.id, scanned_at=None, now=MORNING + timedelta(minutes=3)
    )
    assert not again.boarded_now and again.booking.boarded_at == MORNING


def test_two_phones_offline_keep_the_earliest_scan(tickets):
    staff, five, ref = tickets["staff"], tickets["five"], tickets["aki"].reference
    # The second phone syncs first with its later scan, then the first phone's earlier one.
    shuttles.board(
        staff,
        ref,
        five.id,
        scanned_at=MORNING + timedelta(minutes=2),
        now=MORNING + timedelta(minutes=9),
    )
    late = shuttles.board(
        staff, ref, five.id, scanned_at=MORNING, now=MORNING + timedelta(minutes=10)
    )
    assert not late.boarded_now
    db.session.expire_all()
    assert db.session.scalar(select(Booking.boarded_at).where(Booking.reference == ref)) == MORNING
    # A scan's clock is never trusted beyond the server's.
    ben = tickets["ben"].reference
    ahead = shuttles.board(
        staff, ben, tickets["six"].id, scanned_at=MORNING + timedelta(days=3), now=MORNING
    )
    assert ahead.booking.boarded_at == MORNING


def test_a_ticket_for_another_departure_is_flagged_not_boarded(tickets):
    found = shuttles.board(
        tickets["staff"], tickets["ben"].reference, tickets["five"].id, scanned_at=None, now=MORNING
    )
    assert found.other_departure and not found.boarded_now
    assert found.booking.boarded_at is None


def test_cancelled_unknown_and_strangers_are_refused(tickets, bus_event, make_user):
    staff, five = tickets["staff"], tickets["five"]
    shuttles.cancel(tickets["aki"].user, tickets["aki"].reference, now=MORNING - timedelta(hours=5))
    with pytest.raises(DomainError, match="cancelled"):
        shuttles.board(staff, tickets["aki"].reference, five.id, scanned_at=None, now=MORNING)
    with pytest.raises(NotFound):
        shuttles.board(staff, "ZZZ-ZZZ", five.id, scanned_at=None, now=MORNING)
    with pytest.raises(Forbidden):
        shuttles.board(
            tickets["ben"].user,
            tickets["ben"].reference,
            tickets["six"].id,
            scanned_at=None,
            now=MORNING,
        )


def test_staff_mode_over_http(client, auth, tickets):
    auth.login("staff@example.com")
    url = f"/organizer/departures/{tickets['five'].id}/board"
    page = client.get(url).get_data(as_text=True)
    assert "Ticket code" in page and "0 of 1 passenger on board." in page
    token = auth.token(url)
    ref = tickets["aki"].reference
    ok = client.post(
        url, data={"csrf_token": token, "reference": ref}, headers={"HX-Request": "true"}
    )
    body = ok.get_data(as_text=True)
    assert ok.status_code == 200 and "On board" in body and "1 of 1 passenger on board." in body
    twice = client.post(url, data={"csrf_token": token, "reference": ref}).get_data(as_text=True)
    assert "Already on board since 04:50" in twice and "departure 05:00" in twice
    other = client.post(url, data={"csrf_token": token, "reference": tickets["ben"].reference})
    assert "Another departure: not boarded." in other.get_data(as_text=True)
    unknown = client.post(url, data={"csrf_token": token, "reference": "ZZZ-ZZZ"})
    assert unknown.status_code == 404 and "no such ticket" in unknown.get_data(as_text=True)
    manifest = client.get(f"/organizer/departures/{tickets['five'].id}/manifest").get_data(
        as_text=True
    )
    assert "04:50" in manifest  # the manifest shows when they boarded
