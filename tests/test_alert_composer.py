"""The alert composer: while writing, who an alert would reach (the same numbers posting then
creates), what phones will show in each language and what it would do to the race; nothing is
written until it is posted."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from raceapp.extensions import db
from raceapp.models import Delivery, MailDelivery, PushSubscription
from raceapp.services import alerts
from raceapp.services.alerts import AlertDraft
from tests.helpers import db_snapshot

TOKYO = ZoneInfo("Asia/Tokyo")
RACE_EVE = datetime(2024, 6, 7, 17, 0, tzinfo=TOKYO)
FCM = "https://fcm.googleapis.com/fcm/send/"


@pytest.fixture
def field(app, okushinano, make_user, make_entry, make_organizer, frozen_clock):
    """Runners of every kind: push on one or two phones, e-mail only, asked for every alert
    by e-mail, neither; in the 100 km and the 50 km."""
    frozen_clock(RACE_EVE)

    def runner(email, category, *, phones=0, verified=False, every=False):
        user = make_user(email)
        make_entry(user, okushinano, category)
        user.email_verified_at = RACE_EVE if verified else None
        user.email_alerts = every
        for n in range(phones):
            db.session.add(
                PushSubscription(
                    user_id=user.id,
                    endpoint=f"{FCM}{email}-{n}",
                    p256dh="x",
                    auth="y",
                    created_at=RACE_EVE,
                    last_seen_at=RACE_EVE,
                )
            )
        db.session.commit()
        return user

    runner("a@example.com", "100k", phones=2, verified=True)
    runner("b@example.com", "100k", phones=1, verified=True, every=True)
    runner("c@example.com", "100k", verified=True)
    runner("d@example.com", "100k")
    runner("e@example.com", "50k", phones=1)
    runner("f@example.com", "50k", verified=True)
    return make_organizer(okushinano)


@pytest.mark.parametrize(
    "kind, category, expected",
    [
        # info: e-mail to those without push and to those who asked for every alert
        ("info", None, dict(runners=6, with_push=3, email_only=2, unreachable=1, devices=4)),
        ("info", "100k", dict(runners=4, with_push=2, email_only=1, unreachable=1, devices=3)),
        ("info", "50k", dict(runners=2, with_push=1, email_only=1, unreachable=0, devices=1)),
        # urgent: e-mail to every verified address as well
        (
            "cancellation",
            "50k",
            dict(runners=2, with_push=1, email_only=1, unreachable=0, devices=1),
        ),
    ],
)
def test_the_counts_are_the_deliveries_posting_creates(field, okushinano, kind, category, expected):
    draft = AlertDraft(kind=kind, title="Heads up", category_code=category)
    before = db_snapshot()
    preview = alerts.preview_alert(field, okushinano, draft, now=RACE_EVE)
    assert db_snapshot() == before  # nothing written
    got = {key: getattr(preview, key) for key in expected}
    assert got == expected
    alert = alerts.post_alert(field, okushinano, draft, now=RACE_EVE)
    pushed = db.session.scalar(
        select(func.count(func.distinct(Delivery.user_id))).where(Delivery.alert_id == alert.id)
    )
    mailed = set(
        db.session.scalars(select(MailDelivery.user_id).where(MailDelivery.alert_id == alert.id))
    )
    with_push = set(
        db.session.scalars(select(Delivery.user_id).where(Delivery.alert_id == alert.id))
    )
    assert (alert.audience_count, alert.device_count, alert.email_count) == (
        preview.runners,
        preview.devices,
        preview.emails,
    )
    assert pushed == preview.with_push and len(mailed - with_push) == preview.email_only
    assert preview.unreachable == alert.audience_count - pushed - len(mailed - with_push)


def test_the_effect_is_said_before_posting(field, okushinano):
    draft = AlertDraft(
        kind="start_delay", title="Start delayed", category_code="100k", delay_minutes=30
    )
    preview = alerts.preview_alert(field, okushinano, draft, now=RACE_EVE)
    assert preview.summary["en"] == "100 km start Sat 05:00 → Sat 05:30; 7 cut-offs move."
    assert "05:30" in preview.summary["ja"]
    # Nothing moved: the race is as it was.
    from raceapp.services import race_state

    state = race_state.of_event(okushinano, RACE_EVE).category("100k")
    assert state.delay_minutes == 0


def compose(client, auth, **form):
    token = auth.token("/organizer/events/okushinano-100-2024/alerts")
    return client.post(
        "/organizer/events/okushinano-100-2024/alerts/preview",
        data={"csrf_token": token, **form},
        headers={"HX-Request": "true"},
    )


def test_the_composer_shows_counts_notifications_and_effect(client, auth, field):
    auth.login("organizer@example.com")
    page = client.get("/organizer/events/okushinano-100-2024/alerts").get_data(as_text=True)
    assert 'id="composer-preview"' in page and "alerts/preview" in page
    everyone = compose(client, auth, kind="info").get_data(as_text=True)
    assert "It will reach 6 runners" in everyone and "(title)" in everyone
    fifty = compose(
        client,
        auth,
        kind="info",
        category="50k",
        title_en="Water at CP3",
        title_ja="CP3に給水あり",
        body_en="Refill there.",
    ).get_data(as_text=True)
    assert "It will reach 2 runners" in fifty
    # Each language's notification, as the service worker will show it.
    assert (
        "Water at CP3" in fifty and "CP3に給水あり" in fifty and "Okushinano 100 · 50 km" in fifty
    )
    delayed = compose(
        client, auth, kind="start_delay", category="100k", delay_minutes="30", title_en="Delay"
    ).get_data(as_text=True)
    assert "What it does:" in delayed and "05:30" in delayed
    # A draft posting would refuse says why, in place of the figures.
    bad = compose(client, auth, kind="start_delay", delay_minutes="soon", title_en="x")
    assert bad.status_code == 200 and "whole number of minutes" in bad.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Delivery)) == 0


def test_an_urgent_alert_goes_out_only_after_a_step_that_repeats_effect_and_count(
    client, auth, field
):
    import html
    import re

    from raceapp.models import Alert

    auth.login("organizer@example.com")
    token = auth.token("/organizer/events/okushinano-100-2024/alerts")
    form = {
        "csrf_token": token,
        "kind": "start_delay",
        "category": "100k",
        "delay_minutes": "30",
        "title_en": "Start delayed: fog",
        "body_en": "Wait at the hall.\nWe start at 05:30.",
    }
    asked = client.post("/organizer/events/okushinano-100-2024/alerts", data=form)
    page = asked.get_data(as_text=True)
    assert asked.status_code == 400  # refused without the confirmation
    assert db.session.scalar(select(func.count()).select_from(Alert)) == 0
    assert "It goes to 4 runners at once." in page
    assert "100 km start Sat 05:00 → Sat 05:30; 7 cut-offs move." in page
    assert "Post it to 4 runners" in page
    # The confirmation carries the form as written; sent with "I confirm", it posts.
    fields = dict(
        (name, html.unescape(value))
        for name, value in re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page)
    )
    assert fields["body_en"] == form["body_en"] and fields["delay_minutes"] == "30"
    posted = client.post(
        "/organizer/events/okushinano-100-2024/alerts", data={**fields, "confirm": "1"}
    )
    assert posted.status_code == 303
    alert = db.session.scalar(select(Alert))
    assert alert.audience_count == 4 and alert.body == form["body_en"]
    # Information goes out at once: no step.
    form.update(kind="info", title_en="Coffee at the start")
    assert client.post("/organizer/events/okushinano-100-2024/alerts", data=form).status_code == 303


def test_the_alert_page_shows_its_own_text_in_the_readers_language(client, auth, field, okushinano):
    from raceapp.web.languages import COOKIE

    alert = alerts.post_alert(
        field,
        okushinano,
        AlertDraft(
            kind="info",
            titles={"en": "Water at CP3", "ja": "CP3に給水あり"},
            bodies={"en": "Refill your flasks there.", "ja": "ボトルを補給してください。"},
        ),
        now=RACE_EVE,
    )
    auth.login("organizer@example.com")
    page = client.get(f"/organizer/alerts/{alert.id}").get_data(as_text=True)
    assert "What it says" in page and "Refill your flasks there." in page
    assert 'hx-trigger="every 20s"' in page or 'hx-trigger="every 2s"' in page
    client.set_cookie(COOKIE, "ja")
    assert "ボトルを補給してください。" in client.get(f"/organizer/alerts/{alert.id}").get_data(
        as_text=True
    )


# --- Audiences narrower than a category ---


@pytest.fixture
def bus_people(bus_event, runner_factory, make_user, make_organizer, frozen_clock):
    """The bus race the day before: two passengers of the 05:00, one of the 06:00, one
    without a seat."""
    from raceapp.services import shuttles
    from tests.helpers import departure

    five = departure(bus_event, "station-to-start", "05:00")
    six = departure(bus_event, "station-to-start", "06:00")
    people = {email: runner_factory(email) for email in ("a@x.jp", "b@x.jp", "c@x.jp", "d@x.jp")}
    day_before = datetime(2026, 6, 19, 12, 0, tzinfo=TOKYO)
    for email, dep in (("a@x.jp", five), ("b@x.jp", five), ("c@x.jp", six)):
        shuttles.book(people[email], dep.id, now=day_before, idempotency_key=None)
    return {"organizer": make_organizer(bus_event), "five": five, "six": six, **people}


def feed_titles(user) -> list[str]:
    return [item.alert.title for item in alerts.feed(user)]


def test_a_departures_passengers_alone_get_its_alert(bus_event, bus_people):
    now = datetime(2026, 6, 19, 18, 0, tzinfo=TOKYO)
    draft = AlertDraft(
        kind="info",
        title="05:00 bus leaves from stop 2",
        audience=f"departure:{bus_people['five'].id}",
    )
    preview = alerts.preview_alert(bus_people["organizer"], bus_event, draft, now=now)
    alert = alerts.post_alert(bus_people["organizer"], bus_event, draft, now=now)
    assert preview.runners == alert.audience_count == 2
    assert "05:00 bus leaves from stop 2" in feed_titles(bus_people["a@x.jp"])
    assert "05:00 bus leaves from stop 2" in feed_titles(bus_people["b@x.jp"])
    assert feed_titles(bus_people["c@x.jp"]) == [] and feed_titles(bus_people["d@x.jp"]) == []
    # Nobody else can open it either.
    from raceapp.errors import NotFound

    with pytest.raises(NotFound):
        alerts.readable(bus_people["d@x.jp"], alert.id)


def test_a_follow_up_goes_to_those_who_have_not_read(bus_event, bus_people):
    now = datetime(2026, 6, 19, 18, 0, tzinfo=TOKYO)
    first = alerts.post_alert(
        bus_people["organizer"], bus_event, AlertDraft("info", "Bib pick-up"), now=now
    )
    alerts.mark_read(bus_people["a@x.jp"], first.id, now=now)
    draft = AlertDraft("info", "Reminder: bib pick-up", audience=f"unread:{first.id}")
    preview = alerts.preview_alert(bus_people["organizer"], bus_event, draft, now=now)
    follow_up = alerts.post_alert(bus_people["organizer"], bus_event, draft, now=now)
    assert preview.runners == follow_up.audience_count == 3
    assert "Reminder: bib pick-up" not in feed_titles(bus_people["a@x.jp"])
    assert "Reminder: bib pick-up" in feed_titles(bus_people["d@x.jp"])


def test_runners_not_started_and_on_course(
    okushinano, make_user, make_entry, make_organizer, frozen_clock
):
    # 11:00 on race day: the 100 km (05:00) is on course, the 50 km starts at 11:00... 10:30.
    now = datetime(2024, 6, 8, 10, 30, tzinfo=TOKYO)
    frozen_clock(now)
    hundred, fifty = make_user("h@x.jp"), make_user("f@x.jp")
    make_entry(hundred, okushinano, "100k", "1")
    make_entry(fifty, okushinano, "50k", "2")
    organizer = make_organizer(okushinano)
    on = alerts.post_alert(
        organizer,
        okushinano,
        AlertDraft("weather", "Hail on the ridge", audience="on_course"),
        now=now,
    )
    waiting = alerts.post_alert(
        organizer, okushinano, AlertDraft("info", "Warm up inside", audience="not_started"), now=now
    )
    assert on.audience_count == 1 and waiting.audience_count == 1
    assert feed_titles(hundred) == ["Hail on the ridge"]
    assert feed_titles(fifty) == ["Warm up inside"]


def test_a_change_to_the_race_cannot_go_to_a_narrower_audience(
    okushinano, make_organizer, frozen_clock
):
    from raceapp.errors import DomainError

    frozen_clock(RACE_EVE)
    organizer = make_organizer(okushinano)
    for audience in ("on_course", "departure:999999", "nobody", "unread:abc"):
        with pytest.raises(DomainError):
            alerts.post_alert(
                organizer,
                okushinano,
                AlertDraft(
                    "cancellation" if audience == "on_course" else "info", "x", audience=audience
                ),
                now=RACE_EVE,
            )


def test_the_desk_offers_the_audiences_and_the_follow_up(client, auth, bus_event, bus_people):
    auth.login("organizer@example.com")
    desk = client.get("/organizer/events/bus-test/alerts").get_data(as_text=True)
    five = bus_people["five"].id
    assert f'value="audience:departure:{five}"' in desk and 'value="audience:on_course"' in desk
    token = auth.token("/organizer/events/bus-test/alerts")
    previewed = client.post(
        "/organizer/events/bus-test/alerts/preview",
        data={"csrf_token": token, "kind": "info", "category": f"audience:departure:{five}"},
        headers={"HX-Request": "true"},
    ).get_data(as_text=True)
    assert "It will reach 2 runners" in previewed
    posted = client.post(
        "/organizer/events/bus-test/alerts",
        data={
            "csrf_token": token,
            "kind": "info",
            "category": f"audience:departure:{five}",
            "title_en": "Stop 2",
        },
    )
    assert posted.status_code == 303
    page = client.get(posted.headers["Location"]).get_data(as_text=True)
    assert "for the passengers of the Sat 05:00 bus, Yamanaka Onsen → Kenmin no Mori" in page
    assert "Send a follow-up to the 2 runners who have not read it" in page
    alert_id = posted.headers["Location"].rsplit("/", 1)[-1]
    follow = client.get(f"/organizer/events/bus-test/alerts?follow_up={alert_id}").get_data(
        as_text=True
    )
    assert f'value="audience:unread:{alert_id}" selected' in follow and "Reminder: Stop 2" in follow
