"""The kit pages reuse what is the same for every runner of a category (web.parts), and never
show a part that no longer holds: a change of the race, the language, the clock or the
runner's own data brings a new page."""

from __future__ import annotations

import re
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from flask import g

from raceapp import clock
from raceapp.extensions import db
from raceapp.models import Alert, Entry, GearItem
from raceapp.racefile.gpx import read_gpx
from raceapp.services import alerts, course, demo_race, race_state
from raceapp.web import parts
from tests.helpers import PASSWORD, ROOT, csrf_from, import_files

PAGES = ("/me", "/me/cutoffs", "/me/schedule", "/api/kit")


def _client(app, email: str):
    client = app.test_client()
    token = csrf_from(client.get("/auth/login").get_data(as_text=True))
    answer = client.post(
        "/auth/login", data={"email": email, "password": PASSWORD, "csrf_token": token}
    )
    assert answer.status_code == 302
    return client


@pytest.fixture
def field(app, okushinano, make_user, make_entry, make_organizer, frozen_clock):
    """Two runners of the 100 km with their own clients, and the race's organizer; the clock
    an hour before the start."""
    start = race_state.of_event(okushinano, clock.utcnow()).category("100k").start
    frozen_clock(start - timedelta(hours=1))
    first = make_entry(make_user("first@example.com"), okushinano, "100k", "7")
    second = make_entry(make_user("second@example.com"), okushinano, "100k", "8")
    organizer = make_organizer(okushinano)
    db.session.commit()
    return {
        "event": okushinano,
        "organizer": organizer,
        "entries": (first.id, second.id),
        "first": _client(app, "first@example.com"),
        "second": _client(app, "second@example.com"),
    }


def text(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


@pytest.fixture
def another_process():
    """`fetch(client, path)`: the page as a server process that did not make the change
    itself would make it: only what the database says may give a part a new key (this
    process's count of its own writes is put back as it was)."""
    kept = parts._generation[0]

    def fetch(client, path: str) -> str:
        parts._generation[0] = kept
        db.session.expire_all()
        return text(client.get(path))

    yield fetch
    parts._generation[0] = kept


def test_runners_of_a_category_share_the_race_parts_and_keep_their_own(app, field):
    cache = parts.cache()
    for path in PAGES:
        text(field["first"].get(path))
    made = cache.made
    assert made >= len(PAGES)
    pages = {path: text(field["second"].get(path)) for path in PAGES}
    assert cache.made == made, "the second runner of the category made the race parts again"
    assert cache.reused >= made
    # What is the runner's own is never shared.
    first_id, second_id = field["entries"]
    assert '<span class="bib-tag">#8</span>' in pages["/me"] and "#7<" not in pages["/me"]
    assert f'data-entry="{second_id}"' in pages["/me/cutoffs"]
    assert '"bib": "8"' in pages["/api/kit"]


def test_the_runner_s_own_data_is_never_taken_from_a_part(app, field):
    first, second = field["first"], field["second"]
    entry = db.session.get(Entry, field["entries"][0])
    item = db.session.scalars(
        db.select(GearItem).where(
            GearItem.category_id == entry.category_id, GearItem.mandatory.is_(True)
        )
    ).first()
    home = text(first.get("/me"))
    token = csrf_from(home)
    total = re.search(r"(\d+) of (\d+)", home).group(2)
    assert f"0 of {total}" in home
    first.post(f"/me/gear/{item.id}", data={"packed": "1", "csrf_token": token})
    assert f"1 of {total}" in text(first.get("/me"))
    assert f"0 of {total}" in text(second.get("/me"))
    kit = text(first.get("/api/kit"))
    assert re.search(rf'"id": {item.id}, "mandatory": true, "name": "[^"]*", "packed": true', kit)
    assert '"packed": true' not in text(second.get("/api/kit"))


def test_a_change_of_the_race_brings_new_parts_in_every_process(app, field, another_process):
    event, organizer, client = field["event"], field["organizer"], field["first"]
    before = {path: text(client.get(path)) for path in PAGES}
    now = clock.utcnow()

    def fresh(path):
        return another_process(client, path)

    delayed = alerts.post_alert(
        organizer,
        event,
        alerts.AlertDraft(kind="start_delay", title="Start delayed by 30 min", delay_minutes=30),
        now=now,
    )
    db.session.commit()
    cutoffs = fresh("/me/cutoffs")
    assert cutoffs != before["/me/cutoffs"] and "30 min start delay" in cutoffs
    assert "Start delayed by 30 min" in fresh("/me")
    assert '"delay_minutes": 30' in fresh("/api/kit")
    assert "Moved 30 min later" in fresh("/me/schedule")

    alerts.edit_alert(
        organizer, delayed.id, alerts.AlertDraft(kind="", title="Start 30 min later"), now=now
    )
    db.session.commit()
    assert "Start 30 min later" in fresh("/me")
    assert "Start 30 min later" in fresh("/api/kit")

    alerts.retract_alert(organizer, delayed.id, {"en": "Sent by mistake"}, now=now)
    db.session.commit()
    assert "start delay" not in fresh("/me/cutoffs")
    assert '"delay_minutes": 0' in fresh("/api/kit")

    # The race file imported again, changed.
    source = ROOT / "races" / "okushinano-100-2024.toml"
    renamed = source.read_text().replace(
        'name = "Okushinano 100"', 'name = "Okushinano One Hundred"'
    )
    with tempfile.TemporaryDirectory() as folder:
        changed = Path(folder) / "okushinano-100-2024.toml"
        changed.write_text(renamed)
        import_files(changed)
    db.session.commit()
    for page in ("/me", "/me/cutoffs", "/api/kit"):
        assert "Okushinano One Hundred" in fresh(page), page


def test_a_course_track_brings_new_parts(app, field, another_process):
    client = field["first"]
    page = another_process(client, "/me/cutoffs")
    assert "data-shape" not in page and "only the total climb" in page
    category = next(c for c in field["event"].categories if c.code == "100k")
    drawn = demo_race.illustrative_gpx(category.distance_km, 1000, points_per_km=5)
    course.store(
        category,
        read_gpx(drawn.encode()),
        source_name="100k.gpx",
        illustrative=True,
        now=clock.utcnow(),
    )
    db.session.commit()
    page = another_process(client, "/me/cutoffs")
    assert "data-shape" in page and "only the total climb" not in page


def test_the_language_and_the_clock_have_parts_of_their_own(app, field, frozen_clock):
    client = field["first"]
    english = text(client.get("/me/cutoffs"))
    japanese = text(client.get("/me/cutoffs", headers={"Accept-Language": "ja"}))
    assert "Checkpoint" in english and "Checkpoint" not in japanese
    assert "関門" in japanese or "チェックポイント" in japanese
    # English again (the signed CSRF token in the page carries the second, so not the bytes).
    again = text(client.get("/me/cutoffs"))
    token = re.compile(
        r'name="csrf-token" content="[^"]*"|"X-CSRFToken": "[^"]*"|value="[^"]*\.[^"]*\.[^"]*"'
    )
    assert token.sub("", again) == token.sub("", english)
    # The first cut-off passes: the table and the home say so.
    state = race_state.of_event(field["event"], clock.utcnow()).category("100k")
    first = next(cp for cp in state.checkpoints if cp.has_cutoff)
    frozen_clock(first.at + timedelta(minutes=1))
    later = text(client.get("/me/cutoffs"))
    assert "pill-passed" not in english and "pill-passed" in later
    home_before = text(client.get("/me"))
    frozen_clock(first.at + timedelta(minutes=2))
    home_after = text(client.get("/me"))
    countdown = re.compile(r"data-countdown[^>]*>([^<]+)<")
    assert countdown.search(home_before).group(1) != countdown.search(home_after).group(1)


def test_a_preview_is_never_cached(app, field):
    state = race_state.of_event(field["event"], clock.utcnow())
    with app.test_request_context("/me"):
        assert parts.key(state, "100k") is not None
        g.preview_as_of = clock.utcnow()
        assert parts.key(state, "100k") is None
        made = []
        assert parts.part("x", None, lambda: made.append(1) or "a") == "a"
        assert parts.part("x", None, lambda: made.append(1) or "a") == "a"
        assert made == [1, 1]


def test_the_cache_keeps_the_most_recently_used_parts_only():
    cache = parts.PartCache(size=2)
    assert cache.get_or_make("a", lambda: 1) == 1
    assert cache.get_or_make("b", lambda: 2) == 2
    assert cache.get_or_make("a", lambda: 0) == 1  # kept, and now the most recent
    assert cache.get_or_make("c", lambda: 3) == 3  # "b" goes
    assert cache.get_or_make("b", lambda: 4) == 4
    assert cache.get_or_make("a", lambda: 5) == 5  # "a" went when "b" came back
    assert (cache.made, cache.reused) == (5, 1)


def test_a_write_of_race_data_in_this_process_moves_every_key_on(app, field):
    state = race_state.of_event(field["event"], clock.utcnow())
    with app.test_request_context("/me"):
        before = parts.key(state, "100k")
        alert = db.session.scalars(db.select(Alert)).first()
        assert alert is None
        category = next(c for c in field["event"].categories if c.code == "100k")
        category.elevation_gain_m = (category.elevation_gain_m or 0) + 1
        db.session.flush()
        assert parts.key(state, "100k") != before
