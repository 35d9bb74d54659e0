"""The race kit screens with the seed races and a frozen clock."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlalchemy import select

from raceapp.extensions import db
from raceapp.i18n import format_pace
from raceapp.models import GearItem, GearTick, PersonalGearItem
from raceapp.services import pace, race_state
from tests.helpers import csrf_from

TOKYO = ZoneInfo("Asia/Tokyo")


def jst(*args) -> datetime:
    return datetime(*args, tzinfo=TOKYO)


@pytest.fixture
def hundred(client, auth, okushinano, make_user, make_entry):
    """A logged-in runner in the Okushinano 100 km."""
    user = make_user("aki@example.com")
    entry = make_entry(user, okushinano, "100k", "1234")
    auth.login("aki@example.com")
    return entry


def text(response) -> str:
    return response.get_data(as_text=True)


def test_home_mid_race_shows_next_cutoff_and_countdown(client, hundred, frozen_clock):
    frozen_clock(jst(2024, 6, 8, 11, 0))
    html = text(client.get("/me"))
    assert "Kayanodaira Aid Station 1" in html and "48 km" in html and "Sat 16:30" in html
    countdown = re.search(
        r'<time class="countdown" data-countdown datetime="([^"]+)"[^>]*>([^<]+)<', html
    )
    assert countdown.group(2).startswith("5 h 30 min")
    assert datetime.fromisoformat(countdown.group(1)) == jst(2024, 6, 8, 16, 30)
    assert "0 of 9" in html and "mandatory items packed" in html


def test_home_before_start_and_after_finish(client, hundred, frozen_clock):
    frozen_clock(jst(2024, 6, 7, 20, 0))
    html = text(client.get("/me"))
    assert "Start in" in html and "9 h 00 min 00 s" in html
    frozen_clock(jst(2024, 6, 9, 2, 0))
    assert "The race is over" in text(client.get("/me"))


def test_home_shows_help_and_drop_out_rules(client, hundred):
    html = text(client.get("/me"))
    assert "How to drop out safely" in html
    assert "withdraw from the race only at the aid stations" in html


def test_home_without_entry_leads_to_join(client, auth, make_user, okushinano):
    make_user("new@example.com")
    auth.login("new@example.com")
    html = text(client.get("/me"))
    assert "Join your race" in html
    for url in ("/me/gear", "/me/schedule", "/me/cutoffs"):
        assert client.get(url).status_code == 302
    assert client.get("/api/kit").status_code == 409


def test_shinetsu_weekdays(client, auth, seed_races, make_user, make_entry, frozen_clock):
    user = make_user("mi@example.com")
    make_entry(user, seed_races["shinetsu-five-mountains-163k"], "100mi", "88")
    auth.login("mi@example.com")
    frozen_clock(datetime(2024, 9, 14, 6, 0, tzinfo=timezone.utc))  # Sat 15:00 JST
    html = text(client.get("/me/cutoffs"))
    for expected in ("Sun 05:00", "Sun 07:30", "Sun 14:00", "Sun 17:00", "Mon 00:00", "Mon 03:30"):
        assert expected in html
    assert "Start in" in html


def test_cutoff_states_mid_race(client, hundred, frozen_clock):
    frozen_clock(jst(2024, 6, 8, 17, 0))
    html = text(client.get("/me/cutoffs"))
    states = re.findall(r'<tr class="state-(\w+)">', html)
    assert states == ["passed", "passed", "next", "later", "later", "later", "later"]
    assert "1 h 30 min 00 s" in html  # to Kayanodaira 2 at 18:30


# --- pace -------------------------------------------------------------------------------------


def plan(event, at_km, now):
    return pace.plan(race_state.of_event(event, now).category("100k"), at_km, now)


# Okushinano publishes only the total climb of the 100 km, 4,800 m: 48 m a km, so each km of
# the course is 1.48 flat km (100 m of climb = 1 flat km).
FLAT = 1.48


def test_pace_hand_computed(okushinano):
    # 11:00 at km 30: Kayanodaira 1 (48 km, 16:30) is 18 km and 864 m up, 26.64 flat km, in
    # 330 min = 12:23 per flat km.
    rows = plan(okushinano, 30, jst(2024, 6, 8, 11, 0))
    first = rows[0].leg
    assert first.km == 48 and first.distance_km == 18
    assert first.climb_m == pytest.approx(864) and first.effort_km == pytest.approx(26.64)
    assert first.pace_min_per_km == pytest.approx(330 / 26.64)
    assert format_pace(first.pace_min_per_km) == "12:23 min/km"
    assert first.grade == "comfortable"
    # 6 h for the first 44.4 flat km: 8.108 min each, so the 26.64 to come take 216 min and the
    # runner would be there at 14:36, 114 min before the cut-off.
    assert first.arrival == jst(2024, 6, 8, 14, 36)
    assert first.margin_minutes == pytest.approx(114)
    # Every later cut-off too: finish is 70 km (103.6 flat km) in 15 h = 900 min.
    assert rows[-1].leg.pace_min_per_km == pytest.approx(900 / (70 * FLAT))
    assert [r.checkpoint.checkpoint.km for r in rows] == [48, 58, 72, 84, 95, 100]


def test_pace_tight_out_of_reach_and_passed(okushinano):
    # 15:30 at km 40: 8 km, 11.84 flat km, to km 48 in 60 min = 5:04 -> tight.
    tight = plan(okushinano, 40, jst(2024, 6, 8, 15, 30))[0].leg
    assert tight.pace_min_per_km == pytest.approx(60 / (8 * FLAT)) and tight.grade == "tight"
    # 16:00 at km 40: 30 min for the same -> out of reach.
    hard = plan(okushinano, 40, jst(2024, 6, 8, 16, 0))[0].leg
    assert hard.pace_min_per_km == pytest.approx(30 / (8 * FLAT))
    assert hard.grade == "out of reach"
    # 17:00 at km 40: the 48 km cut-off (16:30) has passed.
    late = plan(okushinano, 40, jst(2024, 6, 8, 17, 0))
    assert late[0].leg.grade == "passed" and late[0].leg.pace_min_per_km is None
    assert late[1].leg.km == 58 and late[1].leg.pace_min_per_km == pytest.approx(90 / (18 * FLAT))
    # At 12 h for 40 km the runner is slower than the cut-offs: the estimate says too late.
    assert late[0].leg.margin_minutes < 0


def test_pace_beyond_the_next_checkpoint(okushinano):
    # At km 61 (past Kayanodaira 2 at 58) at 18:00: next is Nukasen 2 (72 km, 20:30).
    rows = plan(okushinano, 61, jst(2024, 6, 8, 18, 0))
    assert rows[0].leg.km == 72
    assert rows[0].leg.pace_min_per_km == pytest.approx(150 / (11 * FLAT))


def test_pace_before_the_start_counts_from_the_gun(okushinano):
    rows = plan(okushinano, 0, jst(2024, 6, 7, 20, 0))
    assert rows[0].leg.pace_min_per_km == pytest.approx(360 / (27 * FLAT))
    assert rows[0].leg.arrival is None  # no pace so far to go by


def test_pace_counts_the_climb_of_each_leg_where_published(okushinano):
    category = next(c for c in okushinano.categories if c.code == "100k")
    # Published climbs per leg: the first leg has most of it.
    for cp, gain in zip(category.checkpoints, (2000, 500, 300, 600, 400, 600, 400), strict=True):
        cp.gain_m = gain
    rows = plan(okushinano, 27, jst(2024, 6, 8, 11, 0))
    assert rows[0].leg.climb_m == pytest.approx(500)  # 27 -> 48 km
    assert rows[0].leg.effort_km == pytest.approx(26)
    # Half-way through a leg, half its climb.
    rows = plan(okushinano, 37.5, jst(2024, 6, 8, 11, 0))
    assert rows[0].leg.climb_m == pytest.approx(250)


def test_pace_on_distance_alone_when_no_climb_is_published(okushinano):
    category = next(c for c in okushinano.categories if c.code == "100k")
    category.elevation_gain_m = None
    rows = plan(okushinano, 30, jst(2024, 6, 8, 11, 0))
    assert rows[0].leg.climb_m == 0 and rows[0].leg.pace_min_per_km == pytest.approx(330 / 18)


def test_pace_helper_page_and_fragment(client, hundred, frozen_clock):
    frozen_clock(jst(2024, 6, 8, 18, 0))
    page = text(client.get("/me/cutoffs?km=61"))
    # 11 km and 528 m up (16.28 flat km) in 150 min.
    assert "9:13 min/km" in page and "Nukasen Aid Station 2" in page
    assert "+528 m" in page and "spread evenly" in page
    fragment = client.get("/me/cutoffs?km=61", headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert text(fragment).lstrip().startswith('<div id="pace-helper"')
    assert "<html" not in text(fragment)
    assert "Vary" in fragment.headers and "HX-Request" in fragment.headers["Vary"]
    for bad, words in (
        ("abc", "number of km"),
        ("-5", "0 km or more"),
        ("150", "between 0 and 100 km"),
        ("nan", "number of km"),
        ("1e999", "number of km"),
        ("", "Say where you are"),
    ):
        for headers in ({}, {"HX-Request": "true"}):
            response = client.get(f"/me/cutoffs?km={bad}&checkpoint=", headers=headers)
            assert response.status_code == 422, bad
            body = text(response)
            # The message stands under the field, which is marked invalid.
            assert re.search(r'aria-invalid="true"', body), bad
            assert re.search(r'id="pace-message"[^>]*>[^<]*' + re.escape(words), body), bad
    by_checkpoint = text(client.get(f"/me/cutoffs?checkpoint={hundred.category.checkpoints[2].id}"))
    assert "Nukasen Aid Station 2" in by_checkpoint and "14 km" not in by_checkpoint


def test_pace_shows_slow_paces_in_hours_and_says_when_out_of_reach():
    assert format_pace(75.5) == "1:16 h/km"
    assert format_pace(59.99) == "59:59 min/km"


# --- gear -------------------------------------------------------------------------------------


def item(entry, code) -> GearItem:
    return next(g for g in entry.category.gear_items if g.code == code)


def post_tick(client, url, packed, htmx=False, **extra):
    token = csrf_from(text(client.get("/me/gear")))
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(url, data={"csrf_token": token, "packed": packed, **extra}, headers=headers)


def test_checklist_lists_mandatory_first_with_specs(client, hundred):
    html = text(client.get("/me/gear"))
    assert html.index("Mandatory") < html.index("Recommended")
    assert "At least 130 cm × 200 cm." in html
    assert "prohibited in the Kayanodaira area, 48 km to 58 km" in html
    assert "0 of 9 mandatory items packed" in html


def test_tick_without_javascript(client, hundred):
    blanket = item(hundred, "survival-blanket")
    response = post_tick(client, f"/me/gear/{blanket.id}", "1")
    assert response.status_code == 303 and response.headers["Location"].endswith(
        f"#item-{blanket.id}"
    )
    tick = db.session.scalar(select(GearTick))
    assert tick.packed and tick.user_id == hundred.user_id and tick.ticked_at is not None
    assert "1 of 9 mandatory items packed" in text(client.get("/me/gear"))
    post_tick(client, f"/me/gear/{blanket.id}", "0")
    db.session.expire_all()
    assert not db.session.scalar(select(GearTick)).packed


def test_tick_with_htmx_returns_the_row_and_progress(client, hundred):
    blanket = item(hundred, "survival-blanket")
    response = post_tick(client, f"/me/gear/{blanket.id}", "1", htmx=True)
    html = text(response)
    assert response.status_code == 200 and "<html" not in html
    assert html.lstrip().startswith(f'<li id="item-{blanket.id}" class="gear-row packed">')
    assert 'id="progress"' in html and 'hx-swap-oob="true"' in html and "1 of 9" in html


def test_latest_tick_by_phone_time_wins(client, hundred):
    blanket = item(hundred, "survival-blanket")
    now = datetime.now(timezone.utc)
    post_tick(
        client, f"/me/gear/{blanket.id}", "1", made_at=(now - timedelta(minutes=5)).isoformat()
    )
    post_tick(
        client, f"/me/gear/{blanket.id}", "0", made_at=(now - timedelta(minutes=10)).isoformat()
    )
    db.session.expire_all()
    assert db.session.scalar(select(GearTick)).packed  # the older "unpacked" did not win
    future = post_tick(
        client, f"/me/gear/{blanket.id}", "0", made_at=(now + timedelta(days=1)).isoformat()
    )
    assert future.status_code == 303
    db.session.expire_all()
    assert db.session.scalar(select(GearTick)).ticked_at <= datetime.now(timezone.utc)


def test_tick_bad_input_changes_nothing(client, hundred, okushinano):
    blanket = item(hundred, "survival-blanket")
    fifty = next(c for c in okushinano.categories if c.code == "50k")
    other_category_item = fifty.gear_items[0]
    for url, packed, extra, status in [
        (f"/me/gear/{blanket.id}", "yes", {}, 400),
        (f"/me/gear/{blanket.id}", "1", {"made_at": "yesterday"}, 400),
        (f"/me/gear/{blanket.id}", "1", {"made_at": "2024-06-08T10:00:00"}, 400),
        ("/me/gear/999999", "1", {}, 404),
        (f"/me/gear/{other_category_item.id}", "1", {}, 404),
    ]:
        assert post_tick(client, url, packed, **extra).status_code == status, (url, extra)
    assert db.session.scalar(select(GearTick)) is None
    response = client.post(f"/me/gear/{blanket.id}", data={"packed": "1"})
    assert response.status_code == 400  # no CSRF token
    assert db.session.scalar(select(GearTick)) is None


def test_runners_cannot_touch_each_others_ticks(
    client, auth, hundred, make_user, make_entry, okushinano
):
    blanket = item(hundred, "survival-blanket")
    post_tick(client, f"/me/gear/{blanket.id}", "1")
    token = csrf_from(text(client.get("/me/gear")))
    client.post("/me/gear/own", data={"csrf_token": token, "name": "Aki's salt tabs"})
    own = db.session.scalar(select(PersonalGearItem))
    auth.logout()
    other = make_user("ken@example.com")
    make_entry(other, okushinano, "100k", "999")
    auth.login("ken@example.com")
    html = text(client.get("/me/gear"))
    assert "0 of 9" in html and "Aki's salt tabs" not in html and "Aki&#39;s salt tabs" not in html
    assert json.loads(text(client.get("/api/kit")))["personal_gear"] == []
    assert post_tick(client, f"/me/gear/own/{own.id}", "1").status_code == 404
    token = csrf_from(text(client.get("/me/gear")))
    assert (
        client.post(f"/me/gear/own/{own.id}/delete", data={"csrf_token": token}).status_code == 404
    )
    post_tick(client, f"/me/gear/{blanket.id}", "0")  # ken's own tick, not aki's
    ticks = {(t.user_id, t.packed) for t in db.session.scalars(select(GearTick))}
    assert ticks == {(hundred.user_id, True), (other.id, False)}
    db.session.expire_all()
    assert db.session.get(PersonalGearItem, own.id) is not None


def test_personal_items(client, hundred):
    token = csrf_from(text(client.get("/me/gear")))
    response = client.post(
        "/me/gear/own",
        data={"csrf_token": token, "name": "  Salt   tablets "},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200 and "Salt tablets" in text(response)
    assert text(response).lstrip().startswith('<div id="own">')
    own = db.session.scalar(select(PersonalGearItem))
    assert post_tick(client, f"/me/gear/own/{own.id}", "1").status_code == 303
    db.session.expire_all()
    assert db.session.get(PersonalGearItem, own.id).packed
    bad = client.post("/me/gear/own", data={"csrf_token": token, "name": "   "})
    assert bad.status_code == 400 and "1 to 120 characters" in text(bad)
    fragment = client.post(
        "/me/gear/own",
        data={"csrf_token": token, "name": "x" * 121},
        headers={"HX-Request": "true"},
    )
    assert fragment.status_code == 422 and text(fragment).lstrip().startswith('<div id="own">')
    assert "1 to 120 characters" in text(fragment)
    assert (
        client.post(f"/me/gear/own/{own.id}/delete", data={"csrf_token": token}).status_code == 303
    )
    assert db.session.scalar(select(PersonalGearItem)) is None


# --- schedule ---------------------------------------------------------------------------------


def test_schedule_is_filtered_grouped_and_marked(client, hundred, frozen_clock):
    frozen_clock(jst(2024, 6, 8, 4, 30))
    html = text(client.get("/me/schedule"))
    assert "Friday 07 June" in html and "Saturday 08 June" in html and "Sunday 09 June" in html
    assert "100 km start" in html and "50 km start" not in html and "Kids" not in html
    assert re.search(r'state-now">\s*<span class="time">04:00–11:00', html)  # baggage storage
    assert re.search(r'state-next">\s*<span class="time">05:00', html)
    assert "Sun 03:00" in html  # baggage return ends the next day


def test_ics_parses_with_the_right_instants(client, hundred):
    response = client.get("/me/schedule.ics")
    assert response.mimetype == "text/calendar"
    cal = Calendar.from_ical(response.data)
    events = {str(e["summary"]): e for e in cal.walk("VEVENT")}
    start = events["100 km start · Okushinano 100"]
    assert start.decoded("dtstart") == jst(2024, 6, 8, 5, 0)
    assert start["dtstart"].params["TZID"] == "Asia/Tokyo"
    assert "50 km start · Okushinano 100" not in events
    finish = events["100 km finish cut-off · Okushinano 100"]
    assert finish.decoded("dtstart").astimezone(timezone.utc) == datetime(
        2024, 6, 8, 17, 0, tzinfo=timezone.utc
    )
    assert any(c.name == "VTIMEZONE" for c in cal.walk())
    assert len({str(e["uid"]) for e in events.values()}) == len(events)


def test_calendar_subscription_url(client, hundred):
    html = text(client.get("/me/schedule"))
    # Calendar apps send no cookie: the address carries the language to write the file in.
    url = re.search(r'href="webcal://localhost(/calendar/[^"]+\.ics\?lang=en)"', html).group(1)
    anonymous = client.application.test_client()
    assert anonymous.get(url).mimetype == "text/calendar"
    assert anonymous.get("/calendar/forged.ics").status_code == 404


# --- the kit as data --------------------------------------------------------------------------


def test_api_kit(client, hundred):
    kit = client.get("/api/kit").get_json()
    assert kit["event"]["slug"] == "okushinano-100-2024" and kit["entry"]["bib"] == "1234"
    cp4 = kit["checkpoints"][3]
    assert cp4 == {
        "label": "Cut-off #4",
        "name": "Nukasen Aid Station 2",
        "km": 72,
        "cutoff_after_minutes": 930,
        "cutoff": "2024-06-08T20:30:00+09:00",
        "finish": False,
        "status": "open",
    }
    assert kit["category"]["start"] == "2024-06-08T05:00:00+09:00"
    assert len(kit["gear"]) == 15 and all(g["packed"] is False for g in kit["gear"])
    # The real clock is long after the race.
    assert kit["drop_out"] and kit["event"]["state"] == "finished"


def test_kit_answers_304_and_changes_etag_after_a_tick(client, hundred):
    first = client.get("/api/kit")
    etag = first.headers["ETag"]
    again = client.get("/api/kit", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    page = client.get("/me/gear")
    assert (
        client.get("/me/gear", headers={"If-None-Match": page.headers["ETag"]}).status_code == 304
    )
    home = client.get("/me")
    assert client.get("/me", headers={"If-None-Match": home.headers["ETag"]}).status_code == 304
    post_tick(client, f"/me/gear/{item(hundred, 'cup').id}", "1")
    changed = client.get("/api/kit", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert "private" in changed.headers["Cache-Control"]


def test_etag_ignores_the_csrf_token_timestamp(client, hundred, monkeypatch):
    import itsdangerous.timed

    first = client.get("/me/gear")
    real = itsdangerous.timed.TimestampSigner.get_timestamp
    monkeypatch.setattr(
        itsdangerous.timed.TimestampSigner, "get_timestamp", lambda self: real(self) + 5
    )  # five seconds later: another token
    again = client.get("/me/gear", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
