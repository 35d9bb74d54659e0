"""On the day: headquarters delays or cancels one departure, and its passengers are told at
once with the next buses; a seat from the waitlist reaches the runner by push and e-mail."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from raceapp.errors import Conflict, DomainError, Forbidden
from raceapp.extensions import db
from raceapp.models import Booking, Delivery, MailDelivery, PushSubscription, Reminder
from raceapp.push import worker
from raceapp.services import alerts, reminders, shuttles
from tests.helpers import csrf_from, departure, subscribe

TOKYO = ZoneInfo("Asia/Tokyo")
MORNING = datetime(2026, 6, 20, 3, 30, tzinfo=TOKYO)


@pytest.fixture
def buses(bus_event, runner_factory, make_organizer, frozen_clock, push_service):
    """Two passengers of the 05:00 and one of the 06:00, each with a phone; one runner with
    no seat; every address confirmed."""
    five = departure(bus_event, "station-to-start", "05:00")
    six = departure(bus_event, "station-to-start", "06:00")
    people = {name: runner_factory(f"{name}@x.jp") for name in ("a", "b", "c", "d")}
    day_before = datetime(2026, 6, 19, 12, 0, tzinfo=TOKYO)
    for name, dep in (("a", five), ("b", five), ("c", six)):
        shuttles.book(people[name], dep.id, now=day_before, idempotency_key=None)
    for user in people.values():
        user.email_verified_at = day_before
        subscribe(user, push_service, day_before, language="en")
    db.session.commit()
    frozen_clock(MORNING)
    return {"organizer": make_organizer(bus_event), "five": five, "six": six, **people}


def pushed_to(push_service, buses) -> dict[str, list[dict]]:
    """What each person's phone received."""
    return {
        name: [
            received.payload
            for sub in db.session.scalars(
                select(PushSubscription).where(PushSubscription.user_id == buses[name].id)
            )
            for received in push_service.received_by(sub.endpoint)
        ]
        for name in ("a", "b", "c", "d")
    }


def test_a_cancelled_departure_alerts_exactly_its_passengers(app, bus_event, buses, push_service):
    alert = shuttles.cancel_departure(
        buses["organizer"], buses["five"].id, {"en": "The bus broke down."}, now=MORNING
    )
    db.session.commit()
    assert alert.audience_count == 2
    worker.drain(app)
    received = pushed_to(push_service, buses)
    assert [len(received[n]) for n in "abcd"] == [1, 1, 0, 0]
    payload = received["a"][0]
    assert payload["title"] == "Bus cancelled: Yamanaka Onsen Sat 05:00"
    assert "Next buses: Sat 06:00 (9 seats)." in payload["body"]
    assert "The bus broke down." in payload["body"]
    assert payload["urgent"] is True and payload["refresh"] is True
    # E-mail too, to the same two.
    mailed = set(
        db.session.scalars(select(MailDelivery.user_id).where(MailDelivery.alert_id == alert.id))
    )
    assert mailed == {buses["a"].id, buses["b"].id}
    # Their seats are released, the bus takes no booking, the reminders are off.
    seats = db.session.scalars(select(Booking).where(Booking.departure_id == buses["five"].id))
    assert {b.status for b in seats} == {"cancelled"}
    with pytest.raises(Conflict, match="cancelled"):
        shuttles.book(buses["d"], buses["five"].id, now=MORNING, idempotency_key=None)
    # ...and they can take the next bus.
    shuttles.book(buses["a"], buses["six"].id, now=MORNING, idempotency_key=None)
    with pytest.raises(Conflict, match="already cancelled"):
        shuttles.cancel_departure(buses["organizer"], buses["five"].id, {}, now=MORNING)


def test_a_delay_moves_the_bus_its_reminders_and_tells_its_passengers(
    app, client, auth, bus_event, buses, push_service
):
    alert = shuttles.delay_departure(buses["organizer"], buses["five"].id, 40, {}, now=MORNING)
    db.session.commit()
    five = db.session.get(type(buses["five"]), buses["five"].id)
    assert five.leaves_at == datetime(2026, 6, 20, 5, 40, tzinfo=TOKYO)
    reminder = db.session.scalar(
        select(Reminder)
        .join(Booking, Booking.id == Reminder.booking_id)
        .where(Booking.user_id == buses["a"].id, Booking.departure_id == five.id)
    )
    assert reminder.due_at == five.leaves_at - timedelta(minutes=reminders.BUS_REMINDER_MINUTES)
    worker.drain(app)
    received = pushed_to(push_service, buses)
    assert [len(received[n]) for n in "abcd"] == [1, 1, 0, 0]
    assert received["b"][0]["title"] == "Bus delayed: Yamanaka Onsen now leaves Sat 05:40"
    assert alert.audience_count == 2

    # After the timetable time, before it leaves: still the runner's next bus, still bookable.
    after_timetable = datetime(2026, 6, 20, 5, 10, tzinfo=TOKYO)
    assert shuttles.next_booking(buses["a"], bus_event, after_timetable).departure_id == five.id
    auth.login("a@x.jp")
    page = client.get("/events/bus-test/shuttles").get_data(as_text=True)
    assert "05:40" in page and "late: was 05:00" in page
    ticket = db.session.scalar(select(Booking).where(Booking.user_id == buses["a"].id))
    shown = client.get(f"/shuttles/tickets/{ticket.reference}").get_data(as_text=True)
    assert "Delayed 40 min: the timetable said 05:00." in shown


def test_bad_bus_changes_are_refused_and_change_nothing(bus_event, buses, make_user):
    organizer, five = buses["organizer"], buses["five"]
    for minutes in (-5, 6 * 60 + 1):
        with pytest.raises(DomainError, match="delay in minutes"):
            shuttles.delay_departure(organizer, five.id, minutes, {}, now=MORNING)
    with pytest.raises(DomainError, match="already leaves at that time"):
        shuttles.delay_departure(organizer, five.id, 0, {}, now=MORNING)
    late = datetime(2026, 6, 20, 5, 1, tzinfo=TOKYO)
    with pytest.raises(Conflict, match="already left"):
        shuttles.cancel_departure(organizer, five.id, {}, now=late)
    # A runner, or a team member who only reads manifests, cannot.
    with pytest.raises(Forbidden):
        shuttles.cancel_departure(buses["a"], five.id, {}, now=MORNING)
    db.session.rollback()
    assert db.session.get(type(five), five.id).cancelled_at is None
    assert db.session.get(type(five), five.id).delay_minutes == 0
    assert db.session.scalar(select(Delivery.id)) is None


def test_a_seat_from_the_waitlist_reaches_the_runner_by_push_and_email(
    app, bus_event, buses, push_service
):
    # The 05:00 is full (two seats): d queues, then b gives the seat back.
    shuttles.join_waitlist(buses["d"], buses["five"].id, now=MORNING)
    b_ticket = db.session.scalar(select(Booking).where(Booking.user_id == buses["b"].id))
    shuttles.cancel(buses["b"], b_ticket.reference, now=MORNING)
    db.session.commit()
    worker.drain(app)
    received = pushed_to(push_service, buses)
    assert [len(received[n]) for n in "abcd"] == [0, 0, 0, 1]
    payload = received["d"][0]
    assert payload["title"] == "You have a seat on the Sat 05:00 bus from Yamanaka Onsen"
    assert "Ticket" in payload["body"] and payload["urgent"] is True
    assert payload["url"].startswith("/me/alerts/")
    [mailed] = db.session.scalars(select(MailDelivery.user_id))
    assert mailed == buses["d"].id
    # Only d sees it; the desk does not list the app's own personal messages.
    assert [i.alert.title for i in alerts.feed(buses["d"])] == [payload["title"]]
    assert alerts.feed(buses["a"]) == []
    assert alerts.event_alerts(buses["organizer"], bus_event) == []


def test_the_manifest_page_delays_and_cancels(client, auth, bus_event, buses):
    five = buses["five"]
    auth.login("organizer@example.com")
    page = client.get(f"/organizer/departures/{five.id}/manifest").get_data(as_text=True)
    assert "Delay or cancel this bus" in page
    token = csrf_from(page)
    url = f"/organizer/departures/{five.id}"
    assert (
        client.post(f"{url}/delay", data={"csrf_token": token, "minutes": "soon"}).status_code
        == 400
    )
    response = client.post(f"{url}/delay", data={"csrf_token": token, "minutes": "15"})
    assert response.status_code == 303
    # Cancelling needs the box ticked.
    assert client.post(f"{url}/cancel", data={"csrf_token": token}).status_code == 400
    response = client.post(
        f"{url}/cancel", data={"csrf_token": token, "confirm": "1", "note_en": "Road closed."}
    )
    assert response.status_code == 303
    page = client.get(f"{url}/manifest").get_data(as_text=True)
    assert "2 passengers were told and their seats released." in page
    for ref in db.session.scalars(select(Booking.reference).where(Booking.departure_id == five.id)):
        assert ref in page  # who was on it, for the phone calls
    assert "Delay or cancel this bus" not in page


def test_supporters_on_a_bus_are_told_and_can_read_it(app, bus_event, buses, make_user):
    """The crew bus takes supporters, who have no entry in the race: a cancellation reaches
    them too, and they can open it."""
    crew = departure(bus_event, "crew", "15:00")
    friend = make_user("friend@example.com")
    shuttles.book(friend, crew.id, now=MORNING, idempotency_key=None)
    alert = shuttles.cancel_departure(buses["organizer"], crew.id, {}, now=MORNING)
    db.session.commit()
    assert alert.audience_count == 1
    assert [item.alert.id for item in alerts.feed(friend)] == [alert.id]
    assert alerts.readable(friend, alert.id)[0].id == alert.id


def test_a_long_stop_name_never_blocks_the_apps_own_messages(app, bus_event, buses):
    """A title the app writes (a seat from the waitlist, a bus change) is cut to fit: a runner
    giving back a seat is never refused because of a stop's name."""
    five = db.session.get(type(buses["five"]), buses["five"].id)
    five.route.origin = "Yamanaka Onsen Kiku no Yu Public Bath, North Parking Lot, Bus Stop 3 " * 2
    db.session.commit()
    shuttles.join_waitlist(buses["d"], five.id, now=MORNING)
    b_ticket = db.session.scalar(select(Booking).where(Booking.user_id == buses["b"].id))
    shuttles.cancel(buses["b"], b_ticket.reference, now=MORNING)  # d gets the seat
    alert = shuttles.delay_departure(buses["organizer"], five.id, 10, {}, now=MORNING)
    db.session.commit()
    assert len(alert.title) <= alerts.TITLE_MAX and alert.title.endswith("…")
    titles = [item.alert.title for item in alerts.feed(buses["d"])]
    assert len(titles) == 2 and all(len(t) <= alerts.TITLE_MAX for t in titles)


def test_a_bus_change_alert_cannot_be_withdrawn_only_corrected(app, bus_event, buses):
    alert = shuttles.delay_departure(buses["organizer"], buses["five"].id, 15, {}, now=MORNING)
    db.session.commit()
    with pytest.raises(DomainError, match="would not undo"):
        alerts.retract_alert(buses["organizer"], alert.id, now=MORNING)
    db.session.rollback()
    assert db.session.get(type(alert), alert.id).retracted_at is None
    alerts.edit_alert(
        buses["organizer"],
        alert.id,
        alerts.AlertDraft("info", titles={"en": "Bus late: 05:15 from Yamanaka Onsen"}),
        now=MORNING,
    )
