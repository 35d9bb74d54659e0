"""Alerts over HTTP: posting, what they change in the race, the feed, figures, authorization."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from raceapp.errors import DomainError
from raceapp.extensions import db
from raceapp.models import Alert, AlertRead, Event
from raceapp.services import alerts, race_state
from raceapp.services.alerts import AlertDraft
from tests.helpers import RACES, csrf_from, import_files

TOKYO = ZoneInfo("Asia/Tokyo")
RACE_EVE = datetime(2024, 6, 7, 17, 0, tzinfo=TOKYO)


@pytest.fixture
def people(app, okushinano, make_user, make_entry, make_organizer, frozen_clock):
    frozen_clock(RACE_EVE)
    hundred, fifty = make_user("aki@example.com", "Aki"), make_user("ben@example.com", "Ben")
    make_entry(hundred, okushinano, "100k", "101")
    make_entry(fifty, okushinano, "50k", "501")
    return {"organizer": make_organizer(okushinano), "hundred": hundred, "fifty": fifty}


def text(response) -> str:
    return response.get_data(as_text=True)


def post_form(client, auth, slug="okushinano-100-2024", **form):
    token = auth.token(f"/organizer/events/{slug}/alerts")
    return client.post(f"/organizer/events/{slug}/alerts", data={"csrf_token": token, **form})


def as_organizer(auth):
    auth.login("organizer@example.com")


def test_organizer_posts_an_alert_and_runners_see_it_unread(client, auth, people):
    as_organizer(auth)
    response = post_form(
        client,
        auth,
        kind="weather",
        title="Thunderstorms after 14:00",
        body="Carry the waterproof jacket.\nCP4 may close early.",
    )
    assert response.status_code == 303
    alert = db.session.scalar(select(Alert))
    assert response.headers["Location"].endswith(f"/organizer/alerts/{alert.id}")
    assert alert.audience_count == 2
    auth.logout()

    auth.login("aki@example.com")
    home = text(client.get("/me"))
    assert "Thunderstorms after 14:00" in home and "1 unread" in home
    feed = text(client.get("/me/alerts"))
    assert "Thunderstorms after 14:00" in feed and "Mark read" in feed and "New" in feed
    page = text(client.get(f"/me/alerts/{alert.id}"))
    assert "Carry the waterproof jacket." in page and "Fri 07 Jun" in page
    # The GET changed nothing (a link from another site cannot mark it read); the page says
    # it was read with a POST of its own.
    assert "1 unread" in text(client.get("/me"))
    assert f'data-mark-read="/me/alerts/{alert.id}/read"' in page
    read = client.post(
        f"/me/alerts/{alert.id}/read",
        headers={"X-CSRFToken": csrf_from(page), "X-Raceapp-Read": "page"},
    )
    assert read.status_code == 204
    assert "All read" in text(client.get("/me"))
    assert "data-mark-read" not in text(client.get(f"/me/alerts/{alert.id}"))
    assert "Mark read" not in text(client.get("/me/alerts"))


def test_feed_is_newest_first_and_mark_read_swaps_the_item(
    client, auth, people, okushinano, frozen_clock
):
    org = people["organizer"]
    first = alerts.post_alert(
        org, okushinano, AlertDraft("info", "Bib pick-up opens"), now=RACE_EVE
    )
    second = alerts.post_alert(
        org, okushinano, AlertDraft("info", "Briefing moved"), now=RACE_EVE + timedelta(minutes=5)
    )
    auth.login("aki@example.com")
    feed = text(client.get("/me/alerts"))
    assert feed.index("Briefing moved") < feed.index("Bib pick-up opens")
    token = csrf_from(feed)

    fragment = client.post(
        f"/me/alerts/{first.id}/read", headers={"HX-Request": "true", "X-CSRFToken": token}
    )
    assert fragment.status_code == 200
    body = text(fragment)
    assert body.strip().startswith(f'<li id="alert-{first.id}"') and "Mark read" not in body
    assert "<html" not in body
    assert "1 unread" in text(client.get("/me"))

    client.post("/me/alerts/read", data={"csrf_token": token})
    assert "All read" in text(client.get("/me"))
    assert db.session.scalar(select(func.count()).select_from(AlertRead)) == 2
    assert second.id  # both read, once each


def state_of(event, now=RACE_EVE):
    db.session.expire_all()
    return race_state.of_event(db.session.get(Event, event.id), now)


def test_cancelling_the_event_needs_confirmation_and_shows_a_banner(
    client, auth, people, okushinano
):
    as_organizer(auth)
    refused = post_form(client, auth, kind="cancellation", title="Race cancelled: typhoon")
    assert refused.status_code == 400 and "I confirm" in text(refused)
    assert db.session.scalar(select(func.count()).select_from(Alert)) == 0

    assert (
        post_form(
            client, auth, kind="cancellation", title="Race cancelled: typhoon", confirm="1"
        ).status_code
        == 303
    )
    assert state_of(okushinano).state == "cancelled"
    # Cancelling twice says so instead of alerting everyone again.
    again = post_form(client, auth, kind="cancellation", title="Again", confirm="1")
    assert again.status_code == 400 and "already cancelled" in text(again)
    auth.logout()
    auth.login("ben@example.com")
    home = text(client.get("/me"))
    assert "Okushinano 100 cancelled" in home and "Race cancelled: typhoon" in home
    kit = json.loads(client.get("/api/kit").data)
    assert kit["event"]["state"] == "cancelled" and kit["category"]["state"] == "cancelled"


def test_cancelling_one_category_leaves_the_others_on(client, auth, people, okushinano):
    alerts.post_alert(
        people["organizer"],
        okushinano,
        AlertDraft("cancellation", "100 km cancelled: snow on the ridge", category_code="100k"),
        now=RACE_EVE,
    )
    state = state_of(okushinano)
    assert state.category("100k").state == "cancelled"
    assert state.category("50k").state == "upcoming"
    assert state.state == "upcoming"

    auth.login("aki@example.com")
    assert "100 km cancelled" in text(client.get("/me"))
    auth.logout()
    auth.login("ben@example.com")
    home = text(client.get("/me"))
    assert "cancelled" not in home.lower().replace("pill-cancelled", "")
    # The 50 km runner does not even see the 100 km alert.
    assert "snow on the ridge" not in text(client.get("/me/alerts"))


def test_a_start_delay_moves_every_cutoff(client, auth, people, okushinano):
    before = [cp.at for cp in state_of(okushinano).category("100k").checkpoints]
    alert = alerts.post_alert(
        people["organizer"],
        okushinano,
        AlertDraft(
            "start_delay", "Start delayed 45 min: fog", category_code="100k", delay_minutes=45
        ),
        now=RACE_EVE,
    )
    hundred = state_of(okushinano).category("100k")
    assert [cp.at for cp in hundred.checkpoints] == [at + timedelta(minutes=45) for at in before]
    assert hundred.state == "delayed" and hundred.delay_minutes == 45
    assert alert.outcome["summary"]["en"] == "100 km start Sat 05:00 → Sat 05:45; 7 cut-offs move."

    auth.login("aki@example.com")
    kit = json.loads(client.get("/api/kit").data)
    assert kit["category"]["start"].startswith("2024-06-08T05:45:00+09:00")
    assert kit["alerts"][0]["id"] == alert.id
    cutoffs = text(client.get("/me/cutoffs"))
    assert "05:45" in cutoffs
    assert "Start delayed" in text(client.get("/me"))
    assert "Sat 05:00 → Sat 05:45" in text(client.get(f"/me/alerts/{alert.id}"))

    # A later delay replaces it (it is the delay from the published start, not added).
    alerts.post_alert(
        people["organizer"],
        okushinano,
        AlertDraft("start_delay", "Start delayed 30 min", category_code="100k", delay_minutes=30),
        now=RACE_EVE,
    )
    hundred = state_of(okushinano).category("100k")
    assert hundred.start == hundred.published_start + timedelta(minutes=30)


def test_a_delay_after_the_start_is_refused(people, okushinano):
    started = datetime(2024, 6, 8, 6, 0, tzinfo=TOKYO)
    with pytest.raises(DomainError, match="already started"):
        alerts.post_alert(
            people["organizer"],
            okushinano,
            AlertDraft("start_delay", "Late", category_code="100k", delay_minutes=30),
            now=started,
        )
    assert db.session.scalar(select(func.count()).select_from(Alert)) == 0


def test_a_course_change_marks_the_race_changed(client, auth, people, okushinano):
    alerts.post_alert(
        people["organizer"],
        okushinano,
        AlertDraft("course_change", "Landslide: reroute after CP3"),
        now=RACE_EVE,
    )
    assert state_of(okushinano).state == "changed"
    auth.login("ben@example.com")
    home = text(client.get("/me"))
    assert "Okushinano 100 changed" in home and "Landslide: reroute after CP3" in home


def test_reimporting_the_race_file_keeps_a_cancellation_made_in_the_app(people, okushinano):
    alerts.post_alert(
        people["organizer"], okushinano, AlertDraft("cancellation", "Cancelled"), now=RACE_EVE
    )
    import_files(next(p for p in RACES if "okushinano" in p.name))
    assert state_of(okushinano).state == "cancelled"


@pytest.mark.parametrize(
    "form, message",
    [
        ({"kind": "info", "title": "  "}, "Give the alert a title"),
        ({"kind": "info", "title": "x" * 121}, "120 characters"),
        ({"kind": "shout", "title": "Hi"}, "what kind of alert"),
        ({"kind": "info", "title": "Hi", "link": "javascript:alert(1)"}, "link must be"),
        ({"kind": "info", "title": "Hi", "link": "//evil.example/x"}, "link must be"),
        ({"kind": "info", "title": "Hi", "link": "/\\evil.example/x"}, "link must be"),
        ({"kind": "info", "title": "Hi", "link": "http://plain.example/"}, "link must be"),
        ({"kind": "info", "title": "Hi", "category": "999k"}, "not part of this race"),
        ({"kind": "start_delay", "title": "Late"}, "delay in minutes"),
        ({"kind": "start_delay", "title": "Late", "delay_minutes": "-5"}, "delay in minutes"),
        ({"kind": "start_delay", "title": "Late", "delay_minutes": "soon"}, "whole number"),
        ({"kind": "cutoff_extension", "title": "Later"}, "extension in minutes"),
        (
            {"kind": "cutoff_extension", "title": "Later", "extension_minutes": "0"},
            "extension in minutes",
        ),
        (
            {
                "kind": "cutoff_extension",
                "title": "Later",
                "extension_minutes": "30",
                "from_km": "48",
            },
            "choose its category",
        ),
        (
            {
                "kind": "course_change",
                "title": "Reroute",
                "category": "50k",
                "cp-100k-48-status": "bypassed",
            },
            "only change checkpoints of the categories",
        ),
        (
            {"kind": "course_change", "title": "Reroute", "cp-100k-48-status": "flooded"},
            "open, bypassed or closed",
        ),
        (
            {"kind": "course_change", "title": "Reroute", "cp-100k-48-cutoff": "soon"},
            "hours:minutes",
        ),
        (
            {"kind": "course_change", "title": "Reroute", "cp-100k-58-cutoff": "11:00"},
            "would not be later",
        ),
        ({"kind": "reinstate", "title": "Back on", "confirm": "1"}, "is not cancelled"),
        ({"kind": "reinstate", "title": "Back on"}, "I confirm"),
        ({"kind": "info", "title": "Hi", "body": "x" * 4001}, "4000 characters"),
    ],
)
def test_bad_alerts_are_refused_and_change_nothing(client, auth, people, okushinano, form, message):
    as_organizer(auth)
    response = post_form(client, auth, **form)
    assert response.status_code == 400
    assert message in text(response)
    assert db.session.scalar(select(func.count()).select_from(Alert)) == 0


def test_only_organizers_of_the_event_post_or_see_figures(
    client, auth, people, okushinano, seed_races, make_organizer
):
    alert = alerts.post_alert(
        people["organizer"], okushinano, AlertDraft("info", "Hello"), now=RACE_EVE
    )
    make_organizer(seed_races["kagaspa-2026"], "kaga@example.com")
    desk, figures = "/organizer/events/okushinano-100-2024/alerts", f"/organizer/alerts/{alert.id}"

    assert client.get(desk).status_code == 302  # anonymous: log in first
    for email in ("aki@example.com", "kaga@example.com"):
        auth.login(email)
        assert client.get(desk).status_code == 403, email
        assert client.get(figures).status_code == 403, email
        token = csrf_from(text(client.get("/events/")))
        refused = client.post(
            desk,
            data={
                "csrf_token": token,
                "kind": "cancellation",
                "title": "Fake cancellation",
                "confirm": "1",
            },
        )
        assert refused.status_code == 403, email
        auth.logout()
    assert state_of(okushinano).state == "upcoming"
    assert db.session.scalar(select(func.count()).select_from(Alert)) == 1

    as_organizer(auth)
    assert client.get(desk).status_code == 200
    page = text(client.get(figures))
    assert "Push to phones" in page and "Nobody has opened it yet" in page


def test_runners_only_see_alerts_of_their_own_events(
    client, auth, people, okushinano, seed_races, make_user, make_entry, make_organizer
):
    kaga = seed_races["kagaspa-2026"]
    kaga_org = make_organizer(kaga, "kaga@example.com")
    other = alerts.post_alert(kaga_org, kaga, AlertDraft("info", "Kaga only"), now=RACE_EVE)
    scoped = alerts.post_alert(
        people["organizer"],
        okushinano,
        AlertDraft("info", "For the 100 km", category_code="100k"),
        now=RACE_EVE,
    )
    auth.login("ben@example.com")  # 50 km runner of Okushinano
    assert client.get(f"/me/alerts/{other.id}").status_code == 404
    assert client.get(f"/me/alerts/{scoped.id}").status_code == 404
    token = csrf_from(text(client.get("/me/alerts")))
    assert client.post(f"/me/alerts/{other.id}/read", data={"csrf_token": token}).status_code == 404
    feed = text(client.get("/me/alerts"))
    assert "Kaga only" not in feed and "For the 100 km" not in feed
    assert db.session.scalar(select(func.count()).select_from(AlertRead)) == 0


def test_figures_show_who_read_it(client, auth, people, okushinano):
    alert = alerts.post_alert(
        people["organizer"], okushinano, AlertDraft("info", "Hello"), now=RACE_EVE
    )
    auth.login("aki@example.com")
    page = text(client.get(f"/me/alerts/{alert.id}"))
    client.post(f"/me/alerts/{alert.id}/read", headers={"X-CSRFToken": csrf_from(page)})
    auth.logout()
    as_organizer(auth)
    page = text(client.get(f"/organizer/alerts/{alert.id}"))
    assert re.search(r"Read by 1", page) and "Aki" in page and "#101" in page
    desk = text(client.get("/organizer/events/okushinano-100-2024/alerts"))
    assert "Hello" in desk
    # Polled while sending: the figures fragment alone.
    fragment = text(client.get(f"/organizer/alerts/{alert.id}", headers={"HX-Request": "true"}))
    assert fragment.strip().startswith('<section id="figures"') and "<html" not in fragment
