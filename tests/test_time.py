"""Time done right: elapsed cut-offs across a DST switch, the clock seam, "preview as of"."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from raceapp import clock
from raceapp.extensions import db
from raceapp.i18n import format_countdown
from raceapp.models import Category
from raceapp.racefile import check_text
from raceapp.services import race_state
from tests.helpers import csrf_from, import_files

DATA = Path(__file__).parent / "data"
PARIS = ZoneInfo("Europe/Paris")
UTC = timezone.utc


def test_cutoffs_across_a_daylight_saving_switch(app):
    import_files(DATA / "dst-crossing.toml")
    cat = db.session.scalar(select(Category).where(Category.code == "80k"))
    start = cat.start_at
    assert start == datetime(2024, 10, 26, 16, 0, tzinfo=UTC)  # 18:00 CEST = UTC+2
    state = race_state.of_event(cat.event, start).category(cat.code)
    before, after, finish = (cp.at for cp in state.checkpoints)
    assert before.astimezone(PARIS).strftime("%a %H:%M %Z") == "Sun 00:00 CEST"
    # 11 h after 18:00 CEST is 04:00 CET: the wall clock shows 11 h minus the hour given back.
    assert after.astimezone(PARIS).strftime("%a %H:%M %Z") == "Sun 04:00 CET"
    assert finish.astimezone(PARIS).strftime("%a %H:%M") == "Sun 07:00"
    assert (finish - start).total_seconds() == 14 * 3600


def test_wall_clock_arithmetic_would_be_caught(app):
    text = (
        (DATA / "dst-crossing.toml")
        .read_text()
        .replace("cutoff_at = 2024-10-27T04:00:00", "cutoff_at = 2024-10-27T05:00:00")
    )
    report = check_text(text)
    assert [p.path for p in report.errors] == ["categories[0].checkpoints[1].cutoff_at"]


def test_a_local_time_skipped_by_the_clocks_is_an_error():
    text = (
        (DATA / "dst-crossing.toml")
        .read_text()
        .replace("start = 2024-10-26T18:00:00", "start = 2024-03-31T02:30:00")
    )
    report = check_text(text)
    assert any(
        p.path == "categories[0].start" and "does not exist" in p.message for p in report.errors
    )


def test_the_clock_seam_freezes(frozen_clock):
    instant = frozen_clock(datetime(2024, 6, 8, 2, 0, tzinfo=UTC))
    assert clock.utcnow() == instant
    clock.freeze(None)
    assert abs((clock.utcnow() - datetime.now(UTC)).total_seconds()) < 5


def test_cutoff_states_and_phase_follow_the_clock(okushinano, frozen_clock):
    cat = next(c for c in okushinano.categories if c.code == "100k")
    tokyo = ZoneInfo("Asia/Tokyo")
    before = datetime(2024, 6, 8, 4, 0, tzinfo=tokyo)
    mid = datetime(2024, 6, 8, 11, 0, tzinfo=tokyo)
    after = datetime(2024, 6, 9, 2, 0, tzinfo=tokyo)

    def at(moment):
        return race_state.of_event(okushinano, moment).category(cat.code)

    assert at(before).state == "upcoming"
    assert at(mid).state == "in_progress"
    assert at(after).state == "finished"
    phases = [cp.phase for cp in at(mid).checkpoints]
    assert phases == ["passed", "next", "later", "later", "later", "later", "later"]


def test_pages_use_the_frozen_clock(client, okushinano, frozen_clock):
    frozen_clock(datetime(2024, 6, 8, 11, 0, tzinfo=ZoneInfo("Asia/Tokyo")))
    html = client.get("/events/okushinano-100-2024/100k").get_data(as_text=True)
    assert 'class="state-next"' in html
    assert html.index("state-passed") < html.index("state-next")


def preview(client, slug, as_of):
    token = csrf_from(client.get("/organizer/").get_data(as_text=True))
    return client.post("/preview", data={"event": slug, "as_of": as_of, "csrf_token": token})


def test_organizer_previews_a_moment(client, auth, okushinano, make_organizer):
    make_organizer(okushinano)
    auth.login("organizer@example.com")
    # Before: the real clock (2026) is long after the race.
    assert "The race is over" in client.get("/events/okushinano-100-2024/100k").get_data(
        as_text=True
    )
    response = preview(client, "okushinano-100-2024", "2024-06-08T11:00")
    assert response.status_code == 302
    html = client.get("/events/okushinano-100-2024/100k").get_data(as_text=True)
    assert "Preview: the app as of" in html and "Sat 08 Jun 2024 11:00</b> (Japan Time)" in html
    assert 'class="state-next"' in html and "The race is over" not in html
    token = csrf_from(html)
    client.post("/preview/end", data={"csrf_token": token})
    assert "Preview:" not in client.get("/events/").get_data(as_text=True)


def test_preview_rejects_bad_input_and_runners(client, auth, okushinano, make_organizer, make_user):
    make_organizer(okushinano)
    auth.login("organizer@example.com")
    assert preview(client, "okushinano-100-2024", "tomorrow").status_code == 400
    assert preview(client, "no-such-race", "2024-06-08T11:00").status_code == 404
    auth.logout()
    make_user("plain@example.com")
    auth.login("plain@example.com")
    token = csrf_from(client.get("/events/").get_data(as_text=True))
    response = client.post(
        "/preview",
        data={"event": "okushinano-100-2024", "as_of": "2024-06-08T11:00", "csrf_token": token},
    )
    assert response.status_code == 403


def test_countdown_counts_days_only_from_two_days_on():
    assert format_countdown(47 * 3600 + 59) == "47 h 00 min 59 s"
    assert format_countdown(3 * 86400 + 4 * 3600 + 5 * 60 + 9) == "3 days 4 h 05 min"
    assert format_countdown(0) == "0 h 00 min 00 s"
