"""Shuttle buses: booking, idempotency, cancel and waitlist, tickets, manifests, bad input."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from raceapp.extensions import db
from raceapp.models import Booking, Notice, ShuttleDeparture, WaitlistEntry
from tests.helpers import book, csrf_from, departure

DATA = Path(__file__).parent / "data"
TOKYO = ZoneInfo("Asia/Tokyo")
BEFORE = datetime(2026, 6, 19, 12, 0, tzinfo=TOKYO)


def count_live(dep) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(Booking)
        .where(Booking.departure_id == dep.id, Booking.status == "booked")
    )


def test_timetable_shows_seats_states_and_fee(client, bus_event, frozen_clock):
    html = client.get("/events/bus-test/shuttles").get_data(as_text=True)
    assert "Saturday 20 June" in html and "05:00" in html and "¥500" in html
    assert "2 seats left" in html and "10 seats left" in html and "seats not limited" in html
    assert "Log in to book" in html
    fragment = client.get("/events/bus-test/shuttles", headers={"HX-Request": "true"})
    assert fragment.get_data(as_text=True).lstrip().startswith('<div id="departures"')
    assert "HX-Request" in fragment.headers["Vary"]
    frozen_clock(datetime(2026, 6, 20, 5, 30, tzinfo=TOKYO))
    assert "departed" in client.get("/events/bus-test/shuttles").get_data(as_text=True)


def test_seed_timetable_renders(client, okushinano):
    html = client.get("/events/okushinano-100-2024/shuttles").get_data(as_text=True)
    assert "JR Iiyama Station" in html and "Friday 07 June" in html and "13:30" in html


def test_book_shows_a_ticket_with_qr(client, auth, bus_event, runner_factory):
    runner_factory("a@example.com")
    auth.login("a@example.com")
    dep = departure(bus_event, "station-to-start", "05:00")
    response = book(client, dep)
    assert response.status_code == 303
    booking = db.session.scalar(select(Booking))
    assert response.headers["Location"].endswith(f"/shuttles/tickets/{booking.reference}")
    assert re.fullmatch(r"[A-HJ-NP-Z2-9]{3}-[A-HJ-NP-Z2-9]{3}", booking.reference)
    html = client.get(f"/shuttles/tickets/{booking.reference}").get_data(as_text=True)
    assert booking.reference in html and "<svg" in html and "Sat 20 Jun 2026, 05:00" in html
    assert "1 seat left" in client.get("/events/bus-test/shuttles").get_data(as_text=True)
    home = client.get("/me").get_data(as_text=True)
    assert booking.reference in home and "<svg" in home  # the ticket is on the kit home too


def test_double_submit_with_the_same_key_books_once(client, auth, bus_event, runner_factory):
    runner_factory("a@example.com")
    auth.login("a@example.com")
    dep = departure(bus_event, "station-to-start", "06:00")
    first = book(client, dep, key="same-key")
    second = book(client, dep, key="same-key")
    assert first.headers["Location"] == second.headers["Location"]
    third = book(client, dep, key="another-key")  # another tab: still one seat per runner
    assert third.headers["Location"] == first.headers["Location"]
    assert count_live(dep) == 1
    db.session.expire_all()
    assert db.session.get(ShuttleDeparture, dep.id).seats_taken == 1


def test_full_bus_says_full_and_offers_the_waitlist(client, auth, bus_event, runner_factory):
    dep = departure(bus_event, "station-to-start", "05:00")
    for email in ("a@example.com", "b@example.com"):
        runner_factory(email)
        auth.login(email)
        assert book(client, dep).status_code == 303
        auth.logout()
    runner_factory("c@example.com")
    auth.login("c@example.com")
    response = book(client, dep)
    assert response.status_code == 409
    assert "full" in response.get_data(as_text=True)
    assert "Join the waitlist" in response.get_data(as_text=True)
    assert count_live(dep) == 2


def test_cancel_frees_the_seat_for_the_first_on_the_waitlist(
    client, auth, bus_event, runner_factory
):
    dep = departure(bus_event, "station-to-start", "05:00")
    users = {
        email: runner_factory(email)
        for email in ("a@example.com", "b@example.com", "c@example.com", "d@example.com")
    }
    for email in ("a@example.com", "b@example.com"):
        auth.login(email)
        book(client, dep)
        auth.logout()
    for email in ("c@example.com", "d@example.com"):  # c queues first
        auth.login(email)
        token = csrf_from(client.get("/events/bus-test/shuttles").get_data(as_text=True))
        assert (
            client.post(
                f"/shuttles/departures/{dep.id}/waitlist", data={"csrf_token": token}
            ).status_code
            == 303
        )
        auth.logout()
    auth.login("a@example.com")
    a_booking = db.session.scalar(
        select(Booking).where(Booking.user_id == users["a@example.com"].id)
    )
    token = csrf_from(client.get(f"/shuttles/tickets/{a_booking.reference}").get_data(as_text=True))
    assert (
        client.post(
            f"/shuttles/tickets/{a_booking.reference}/cancel", data={"csrf_token": token}
        ).status_code
        == 303
    )
    db.session.expire_all()
    holders = {
        b.user_id
        for b in db.session.scalars(
            select(Booking).where(Booking.departure_id == dep.id, Booking.status == "booked")
        )
    }
    assert holders == {users["b@example.com"].id, users["c@example.com"].id}
    assert db.session.get(ShuttleDeparture, dep.id).seats_taken == 2
    notice = db.session.scalar(select(Notice).where(Notice.user_id == users["c@example.com"].id))
    assert "A seat freed up" in notice.text
    assert [w.user_id for w in db.session.scalars(select(WaitlistEntry))] == [
        users["d@example.com"].id
    ]
    auth.logout()
    auth.login("c@example.com")
    assert "A seat freed up" in client.get("/me").get_data(as_text=True)


def test_cancel_without_waitlist_frees_a_seat(client, auth, bus_event, runner_factory):
    runner_factory("a@example.com")
    auth.login("a@example.com")
    dep = departure(bus_event, "station-to-start", "06:00")
    book(client, dep)
    ref = db.session.scalar(select(Booking.reference))
    token = csrf_from(client.get(f"/shuttles/tickets/{ref}").get_data(as_text=True))
    client.post(f"/shuttles/tickets/{ref}/cancel", data={"csrf_token": token})
    client.post(f"/shuttles/tickets/{ref}/cancel", data={"csrf_token": token})  # twice: no harm
    db.session.expire_all()
    assert db.session.get(ShuttleDeparture, dep.id).seats_taken == 0
    assert "Cancelled" in client.get(f"/shuttles/tickets/{ref}").get_data(
        as_text=True
    ) or "cancelled" in client.get(f"/shuttles/tickets/{ref}").get_data(as_text=True)


def test_bad_input_changes_nothing(
    client, auth, bus_event, runner_factory, frozen_clock, make_user
):
    runner_factory("a@example.com")
    auth.login("a@example.com")
    early = departure(bus_event, "station-to-start", "05:00")
    later = departure(bus_event, "station-to-start", "06:00")
    token = csrf_from(client.get("/events/bus-test/shuttles").get_data(as_text=True))
    assert (
        client.post("/shuttles/departures/99999/book", data={"csrf_token": token}).status_code
        == 404
    )
    assert (
        client.post(
            f"/shuttles/departures/{later.id}/book", data={"idempotency_key": "x"}
        ).status_code
        == 400
    )  # no CSRF token
    bad_key = client.post(
        f"/shuttles/departures/{later.id}/book",
        data={"csrf_token": token, "idempotency_key": "<script>" * 20},
    )
    assert bad_key.status_code == 400 and "reload the page" in bad_key.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Booking)) == 0
    book(client, later, key="ok")
    ref = db.session.scalar(select(Booking.reference))
    frozen_clock(datetime(2026, 6, 20, 5, 30, tzinfo=TOKYO))  # 05:00 left; 06:00 cut-off at 05:00
    token = csrf_from(client.get("/events/bus-test/shuttles").get_data(as_text=True))
    departed = client.post(
        f"/shuttles/departures/{early.id}/book",
        data={"csrf_token": token, "idempotency_key": "late"},
    )
    assert departed.status_code == 409 and "already left" in departed.get_data(as_text=True)
    too_late = client.post(f"/shuttles/tickets/{ref}/cancel", data={"csrf_token": token})
    assert too_late.status_code == 409 and "too late to cancel" in too_late.get_data(as_text=True)
    db.session.expire_all()
    assert count_live(later) == 1 and count_live(early) == 0


def test_supporters_ride_only_where_allowed(client, auth, bus_event, make_user):
    make_user("crew@example.com")  # no entry: a supporter
    auth.login("crew@example.com")
    runners_only = departure(bus_event, "station-to-start", "05:00")
    crew_bus = departure(bus_event, "crew", "15:00")
    refused = book(client, runners_only)
    assert refused.status_code == 403 and "join your category" in refused.get_data(as_text=True)
    assert book(client, crew_bus, key="c").status_code == 303


def test_nobody_sees_or_cancels_anothers_booking(client, auth, bus_event, runner_factory):
    runner_factory("a@example.com")
    auth.login("a@example.com")
    book(client, departure(bus_event, "station-to-start", "05:00"))
    ref = db.session.scalar(select(Booking.reference))
    auth.logout()
    runner_factory("b@example.com")
    auth.login("b@example.com")
    assert client.get(f"/shuttles/tickets/{ref}").status_code == 404
    token = csrf_from(client.get("/events/bus-test/shuttles").get_data(as_text=True))
    assert (
        client.post(f"/shuttles/tickets/{ref}/cancel", data={"csrf_token": token}).status_code
        == 404
    )
    assert client.get(f"/shuttles/check/{ref}").status_code == 403
    dep = departure(bus_event, "station-to-start", "05:00")
    assert client.get(f"/organizer/departures/{dep.id}/manifest").status_code == 403
    assert client.get(f"/organizer/departures/{dep.id}/manifest.csv").status_code == 403
    db.session.expire_all()
    assert count_live(dep) == 1


def test_organizer_manifest_and_csv(client, auth, bus_event, runner_factory, make_organizer):
    user = runner_factory("a@example.com")
    user.name = '=HYPERLINK("http://evil")'
    db.session.commit()
    auth.login("a@example.com")
    dep = departure(bus_event, "station-to-start", "05:00")
    book(client, dep)
    ref = db.session.scalar(select(Booking.reference))
    auth.logout()
    make_organizer(bus_event)
    auth.login("organizer@example.com")
    desk = client.get(f"/organizer/events/{bus_event.slug}").get_data(as_text=True)
    assert f"/organizer/departures/{dep.id}/manifest" in desk and "1 booked of 2" in desk
    html = client.get(f"/organizer/departures/{dep.id}/manifest").get_data(as_text=True)
    assert ref in html and "1 booked of 2 seats" in html
    response = client.get(f"/organizer/departures/{dep.id}/manifest.csv")
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == [
        "\ufeffReference",
        "Name",
        "Bib",
        "Category",
        "Phone",
        "Booked at (Japan Time)",
    ]
    assert rows[1][0] == ref and rows[1][1].startswith("'=")  # no formula injection
    check = client.get(f"/shuttles/check/{ref}").get_data(as_text=True)
    assert "Valid" in check and "50 km" in check


def test_reimport_with_fewer_seats_keeps_bookings_and_warns(
    client, auth, runner, bus_event, runner_factory, tmp_path
):
    dep = departure(bus_event, "station-to-start", "06:00")
    for email in ("a@example.com", "b@example.com", "c@example.com"):
        runner_factory(email)
        auth.login(email)
        assert book(client, dep, key=email.split("@")[0]).status_code == 303
        auth.logout()
    text = (DATA / "shuttle-race.toml").read_text().replace("seats = 10", "seats = 1")
    changed = tmp_path / "bus.toml"
    changed.write_text(text)
    result = runner.invoke(args=["races", "import", str(changed)])
    assert result.exit_code == 0, result.output
    assert "the file says 1 seat but 3 are booked; keeping 3" in result.output
    db.session.expire_all()
    again = db.session.get(ShuttleDeparture, dep.id)
    assert again.seats == 3 and count_live(again) == 3


def test_the_database_refuses_overbooking_even_if_the_code_is_wrong(bus_event):
    from sqlalchemy.exc import IntegrityError

    dep = departure(bus_event, "station-to-start", "05:00")
    dep.seats_taken = 3  # more than its 2 seats
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_the_database_refuses_a_seat_and_a_waitlist_place_on_one_bus(bus_event, runner_factory):
    """Whatever the code does, one person holds one place per bus: a seat or a waitlist place."""
    from sqlalchemy.exc import IntegrityError

    from raceapp.services import shuttles
    from tests.helpers import BEFORE

    dep = departure(bus_event, "station-to-start", "05:00")
    user = runner_factory("a@example.com")
    shuttles.book(user, dep.id, now=BEFORE, idempotency_key=None)
    db.session.add(WaitlistEntry(user_id=user.id, departure_id=dep.id, created_at=BEFORE))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    other = runner_factory("b@example.com")
    db.session.add(WaitlistEntry(user_id=other.id, departure_id=dep.id, created_at=BEFORE))
    db.session.commit()
    db.session.add(
        Booking(
            reference="ABC-DEF",
            user_id=other.id,
            departure_id=dep.id,
            status="booked",
            created_at=BEFORE,
        )
    )
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_a_runner_with_a_seat_cannot_also_queue(client, auth, bus_event, runner_factory):
    from raceapp.services import shuttles
    from tests.helpers import BEFORE

    dep = departure(bus_event, "station-to-start", "05:00")
    holder = runner_factory("a@example.com")
    shuttles.book(holder, dep.id, now=BEFORE, idempotency_key=None)
    shuttles.book(runner_factory("b@example.com"), dep.id, now=BEFORE, idempotency_key=None)
    auth.login("a@example.com")
    token = csrf_from(client.get("/events/bus-test/shuttles").get_data(as_text=True))
    response = client.post(f"/shuttles/departures/{dep.id}/waitlist", data={"csrf_token": token})
    assert response.status_code == 409
    assert "You already have a seat on this bus." in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(WaitlistEntry)) == 0


def test_leaving_the_race_gives_back_places_on_runners_only_buses(
    client, auth, bus_event, runner_factory
):
    """A seat on a runners-only bus goes to the first on its waitlist; a place in a queue goes;
    a seat on a bus supporters may take stays (they may still ride as one)."""
    from raceapp.services import shuttles
    from tests.helpers import BEFORE

    full = departure(bus_event, "station-to-start", "05:00")
    later = departure(bus_event, "station-to-start", "06:00")
    crew = next(r for r in bus_event.shuttle_routes if r.code == "crew").departures[0]
    leaver = runner_factory("leaver@example.com")
    shuttles.book(leaver, full.id, now=BEFORE, idempotency_key=None)
    shuttles.book(runner_factory("b@example.com"), full.id, now=BEFORE, idempotency_key=None)
    waiting = runner_factory("c@example.com")
    shuttles.join_waitlist(waiting, full.id, now=BEFORE)
    shuttles.book(leaver, crew.id, now=BEFORE, idempotency_key=None)
    later.seats = 1
    shuttles.book(runner_factory("d@example.com"), later.id, now=BEFORE, idempotency_key=None)
    shuttles.join_waitlist(leaver, later.id, now=BEFORE)
    db.session.commit()

    auth.login("leaver@example.com")
    token = csrf_from(client.get("/events/bus-test").get_data(as_text=True))
    assert client.post("/events/bus-test/leave", data={"csrf_token": token}).status_code == 302
    db.session.rollback()
    live = {
        (b.user.email, b.departure_id)
        for b in db.session.scalars(select(Booking).where(Booking.status == "booked"))
    }
    assert ("leaver@example.com", full.id) not in live
    assert ("c@example.com", full.id) in live  # the first on the waitlist got the seat
    assert ("leaver@example.com", crew.id) in live  # supporters may ride this one
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(WaitlistEntry)
            .where(WaitlistEntry.departure_id == later.id)
        )
        == 0
    )
    assert db.session.get(ShuttleDeparture, full.id).seats_taken == 2
