"""Every page in Japanese, for every kind of visitor and in every state of the race: no English
word left in it.

The race (tests/data/japanese-race.toml) is written in Japanese, so a Japanese reader's page
may hold Latin letters only where they are a proper noun, a unit or a code: the short list
below. Every GET route of the app is asked for by an anonymous visitor, a runner and an
organizer; then the race is delayed, changed, cancelled, put back on, run and finished, and
everything is asked for again; then the forms are sent wrong, so that their error messages
show. Text is what a person reads: the words between tags, the attributes a browser shows or
reads out, and the sentences a page hands its scripts (JSON in the page).
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from raceapp.extensions import db
from raceapp.models import Event, User
from raceapp.services import alerts, gear, shuttles
from raceapp.services.alerts import AlertDraft, CheckpointChange
from raceapp.web.languages import COOKIE
from tests.conftest import console_things
from tests.helpers import PASSWORD, csrf_from, import_files

pytestmark = pytest.mark.slow

TOKYO = ZoneInfo("Asia/Tokyo")
RACE = Path(__file__).parent / "data" / "japanese-race.toml"
EVE = datetime(2027, 6, 11, 12, 0, tzinfo=TOKYO)
# Latin words a Japanese page may hold: the app's name, the other language's own name on the
# switch (written in that language, as language menus do), and nothing else. Shorter ones
# ("km", "min", "QR", "CSV", ".ics") are units and codes.
# Names written in Latin on Japanese sites too: the app, a language, formats, the browser.
ALLOWED = {"raceapp", "English", "JSON", "TOML", "Safari"}
# A word: four Latin letters or more, not part of a code with digits (a ticket "P3Y-BG4").
WORD = re.compile(r"(?<![\w-])[A-Za-z][A-Za-z'-]{3,}(?![\w-])")
# Not words: e-mail and web addresses, paths (an example link), file names, ticket references
# ("JPM-PCS"), claim codes ("EMXN-TGEP-DWDC-MNRE", random, so sometimes all letters) and the
# placeholders a page hands its scripts ("{km}").
NOT_WORDS = re.compile(
    r"\S+@\S+|\S*://\S*|(?<!\S)/\S*|\S+\.toml\b|\b[A-Z0-9]{3}-[A-Z0-9]{3}\b"
    r"|\b[0-9A-Z]{4}(?:-[0-9A-Z]{4}){3}\b|\{\w+\}"
)
SHOWN_ATTRIBUTES = {"title", "aria-label", "placeholder", "alt", "data-confirm", "data-done"}
# Routes that are not pages: the files, and data for programs (/api/kit's words are the race's
# and the states' codes, the data export's are field names, the course track is numbers; their
# sentences are checked through the pages that show them).
NOT_PAGES = {
    "static",
    "site.service_worker",
    "site.healthz",
    "kit.api_kit",
    "kit.course_track",
    "account.export",
}


class ReadableText(HTMLParser):
    """The words of a page a person reads or hears."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0
        self._json = False
        self._figures: list[bool] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        # A race file shown as it was published (`<pre translate="no">`) is data, not text.
        if tag in ("style", "script") or attrs.get("class") == "brand":
            self._skip += 1
            self._json = attrs.get("type") == "application/json"
        if tag == "input" and attrs.get("type") == "hidden":
            return
        if tag == "meta" or tag == "link":
            return
        self.parts += [value for name, value in attrs.items() if name in SHOWN_ATTRIBUTES and value]

        if tag == "pre" and attrs.get("translate") == "no":
            self._skip += 1
        # What the English reader gets, shown to the organizer on purpose (an alert's
        # notification on an English phone) and marked as English.
        if tag == "figure" and attrs.get("lang") not in (None, "ja"):
            self._skip += 1
            self._figures.append(True)
        elif tag == "figure":
            self._figures.append(False)

    def handle_endtag(self, tag):
        if tag == "pre" and self._skip:
            self._skip -= 1
            return
        if tag == "figure" and self._figures:
            if self._figures.pop():
                self._skip -= 1
            return
        if tag in ("style", "script") or (tag == "a" and self._skip and not self._json):
            self._skip -= 1
            self._json = False

    def handle_data(self, data):
        if self._skip and self._json:
            self.parts += strings_in(json.loads(data))
        elif not self._skip:
            self.parts.append(data)


# Data a page hands its scripts that nobody reads: the race's time zone ("Asia/Tokyo").
NOT_READ_KEYS = {"time_zone"}


def strings_in(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() if k not in NOT_READ_KEYS for s in strings_in(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings_in(v)]
    return []


def english_in(body: str, mimetype: str) -> list[str]:
    if mimetype == "text/html":
        parser = ReadableText()
        parser.feed(body)
        text = " ".join(parser.parts)
    elif mimetype == "text/calendar":
        text = " ".join(
            line.split(":", 1)[1]
            for line in body.replace("\r\n ", "").splitlines()
            if line.startswith(("SUMMARY", "DESCRIPTION", "LOCATION", "X-WR-CALNAME"))
        )
    elif mimetype == "text/csv":
        text = body.splitlines()[0]
    elif mimetype == "application/manifest+json":
        manifest = json.loads(body)
        text = " ".join(manifest[key] for key in ("name", "short_name", "description"))
    else:
        text = body
    return sorted({w for w in WORD.findall(NOT_WORDS.sub(" ", text)) if w not in ALLOWED})


@pytest.fixture
def race(app, frozen_clock, make_user, make_entry, make_organizer):
    """The Japanese race with a runner who has one of everything, and their clients."""
    frozen_clock(EVE)
    import_files(RACE)
    event = db.session.scalar(select(Event).where(Event.slug == "japanese-test"))
    runner = make_user("runner@example.com", name="山田 太郎")
    entry = make_entry(runner, event, "long", "101")
    make_entry(make_user("short@example.com", name="佐藤 次郎"), event, "short", "201")
    organizer = make_organizer(event)
    organizer.name = "大会事務局"
    first, second = sorted(
        (d for r in event.shuttle_routes if r.code == "long-start" for d in r.departures),
        key=lambda d: d.departs_at,
    )
    booking = shuttles.book(runner, first.id, now=EVE, idempotency_key=None)
    for n in (1, 2):
        filler = make_user(f"filler{n}@example.com", name=f"鈴木 {n}")
        make_entry(filler, event, "long", f"30{n}")
        shuttles.book(filler, second.id, now=EVE, idempotency_key=None)
    shuttles.join_waitlist(runner, second.id, now=EVE)
    gear.add_personal(entry, "塩タブレット", now=EVE)
    alert = alerts.post_alert(
        organizer,
        event,
        AlertDraft(
            "weather",
            titles={"ja": "午後は雷雨の予報です"},
            bodies={"ja": "雨具を持ってください。"},
        ),
        now=EVE,
    )
    db.session.commit()
    clients = {}
    for who, email in (
        ("anonymous", None),
        ("runner", "runner@example.com"),
        ("organizer", "organizer@example.com"),
    ):
        client = app.test_client()
        client.set_cookie(COOKIE, "ja")
        if email:
            token = csrf_from(client.get("/auth/login").get_data(as_text=True))
            client.post(
                "/auth/login", data={"email": email, "password": PASSWORD, "csrf_token": token}
            )
        clients[who] = client
    from raceapp.kit import calendar_serializer

    values = {
        "slug": event.slug,
        "code": "long",
        "departure_id": first.id,
        "alert_id": alert.id,
        "reference": booking.reference,
        "token": calendar_serializer().dumps(entry.id),
        "key": "no-such-message",
        "ext": "svg",  # the race has no logo: its address answers 404, in Japanese
    }
    # The console's pages: an unclaimed entry, a published version, an upload under review.
    values.update(console_things(event, organizer, make_user, RACE, now=EVE))
    return {"event": event, "clients": clients, "values": values, "organizer": organizer}


def get_routes(app) -> list:
    return sorted(
        (rule for rule in app.url_map.iter_rules() if "GET" in rule.methods),
        key=lambda rule: rule.rule,
    )


def every_page(app, race, state: str) -> list[str]:
    """Each GET page as each visitor gets it, and its htmx fragment: the English found."""
    found = []
    for rule in get_routes(app):
        if rule.endpoint in NOT_PAGES:
            continue
        url = rule.build(race["values"], append_unknown=False)[1]
        for who, client in race["clients"].items():
            for headers in ({}, {"HX-Request": "true"}):
                response = client.get(url, headers=headers)
                if 300 <= response.status_code < 400:
                    continue
                words = english_in(response.get_data(as_text=True), response.mimetype)
                if words:
                    found.append(f"{state} · {who} · {url} {headers or ''}: {words}")
    return found


def organizer_posts(race, kind: str, title: str, **kw) -> None:
    alerts.post_alert(
        race["organizer"],
        race["event"],
        AlertDraft(kind, titles={"ja": title}, **kw),
        now=EVE,
    )
    db.session.commit()


STATES = {
    "upcoming": lambda race: None,
    "delayed": lambda race: organizer_posts(
        race, "start_delay", "霧のためスタートを遅らせます", category_code="long", delay_minutes=45
    ),
    "extended": lambda race: organizer_posts(
        race,
        "cutoff_extension",
        "暑さのため関門を延長します",
        category_code="long",
        extension_minutes=30,
    ),
    "course changed": lambda race: organizer_posts(
        race,
        "course_change",
        "土砂崩れのためカヤの平を経由しません",
        category_code="long",
        checkpoints=[
            CheckpointChange("long", 20, status="bypassed"),
            CheckpointChange("long", 35, status="closed", cutoff_minutes=540),
        ],
    ),
    "category cancelled": lambda race: organizer_posts(
        race, "cancellation", "ロングは中止します", category_code="long"
    ),
    "reinstated": lambda race: (
        organizer_posts(race, "cancellation", "ロングは中止します", category_code="long"),
        organizer_posts(
            race,
            "reinstate",
            "ロングを開催します",
            category_code="long",
            new_start="2027-06-12 07:00",
        ),
    ),
    "cancelled": lambda race: organizer_posts(race, "cancellation", "台風のため大会を中止します"),
}
MOMENTS = {
    "during the race": datetime(2027, 6, 12, 10, 0, tzinfo=TOKYO),
    "after the race": datetime(2027, 6, 14, 12, 0, tzinfo=TOKYO),
}


@pytest.mark.parametrize("state", list(STATES))
def test_every_page_in_every_state_is_japanese(app, race, state):
    STATES[state](race)
    found = every_page(app, race, state)
    assert found == [], "\n".join(found)


@pytest.mark.parametrize("moment", list(MOMENTS))
def test_every_page_during_and_after_the_race_is_japanese(app, race, frozen_clock, moment):
    frozen_clock(MOMENTS[moment])
    found = every_page(app, race, moment)
    assert found == [], "\n".join(found)


def sent(client, url: str, data: dict):
    """Send a form of the page at `url`, with that page's CSRF token."""
    token = csrf_from(client.get(url).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data})


def test_error_messages_are_japanese(app, race):
    """Forms sent wrong, refusals and error pages, as each visitor meets them."""
    anonymous, runner, organizer = (
        race["clients"][w] for w in ("anonymous", "runner", "organizer")
    )
    slug, values = race["event"].slug, race["values"]
    pages = {
        "wrong password": anonymous.post(
            "/auth/login",
            data={
                "email": "runner@example.com",
                "password": "wrong-password",
                "csrf_token": csrf_from(anonymous.get("/auth/login").get_data(as_text=True)),
            },
        ),
        "empty sign-up": anonymous.post(
            "/auth/signup",
            data={"csrf_token": csrf_from(anonymous.get("/auth/signup").get_data(as_text=True))},
        ),
        "expired form": anonymous.post("/auth/login", data={"email": "x"}),
        "not found": anonymous.get("/events/no-such-race"),
        "not allowed": runner.get(f"/organizer/events/{slug}/alerts"),
        "bad claim code": sent(runner, f"/events/{slug}/join", {"code": "!!"}),
        "bad position": runner.get("/me/cutoffs?km=abc", headers={"HX-Request": "true"}),
        "beyond the course": runner.get("/me/cutoffs?km=999"),
        "empty own item": runner.post(
            "/me/gear/own",
            data={
                "name": "",
                "csrf_token": csrf_from(runner.get("/me/gear").get_data(as_text=True)),
            },
        ),
        "bus full": runner.post(
            f"/shuttles/departures/{values['departure_id'] + 1}/book",
            data={
                "csrf_token": csrf_from(
                    runner.get(f"/events/{slug}/shuttles").get_data(as_text=True)
                )
            },
        ),
        "alert without title": sent(
            organizer, f"/organizer/events/{slug}/alerts", {"kind": "info"}
        ),
        "delay too long": sent(
            organizer,
            f"/organizer/events/{slug}/alerts",
            {"kind": "start_delay", "title_ja": "遅延", "delay_minutes": "99999"},
        ),
        "cancellation not confirmed": sent(
            organizer,
            f"/organizer/events/{slug}/alerts",
            {"kind": "cancellation", "title_ja": "中止"},
        ),
        "bad preview moment": organizer.post(
            "/preview",
            data={
                "event": slug,
                "as_of": "tomorrow",
                "csrf_token": csrf_from(organizer.get(f"/events/{slug}").get_data(as_text=True)),
            },
        ),
    }
    found = {}
    for name, response in pages.items():
        assert 400 <= response.status_code < 500, (name, response.status_code)
        words = english_in(response.get_data(as_text=True), response.mimetype)
        if words:
            found[name] = words
    assert found == {}


def test_the_alerts_of_a_japanese_organizer_reach_each_runner_in_their_language(app, race):
    """Both texts posted; each reader sees theirs, and the summary of what changed too."""
    organizer_posts(
        race,
        "start_delay",
        "霧のためスタートを45分遅らせます",
        category_code="long",
        delay_minutes=45,
    )
    english = race["clients"]["runner"]
    english.set_cookie(COOKIE, "en")
    alert = alerts.post_alert(
        race["organizer"],
        race["event"],
        AlertDraft(
            "info",
            titles={"ja": "受付は17時までです", "en": "Registration closes at 17:00"},
            bodies={"ja": "お早めにお越しください。", "en": "Please come early."},
        ),
        now=EVE,
    )
    db.session.commit()
    feed_en = english.get("/me/alerts").get_data(as_text=True)
    assert "Registration closes at 17:00" in feed_en and "受付は17時までです" not in feed_en
    assert "Long 50 km start Sat 06:00 → Sat 06:45" in english.get("/me").get_data(as_text=True)
    japanese = race["clients"]["runner"]
    japanese.set_cookie(COOKIE, "ja")
    page = japanese.get(f"/me/alerts/{alert.id}").get_data(as_text=True)
    assert "受付は17時までです" in page and "お早めにお越しください。" in page
    home = japanese.get("/me").get_data(as_text=True)
    assert "ロング 50kmのスタート 12日(土) 06:00 → 12日(土) 06:45" in home
    stored = db.session.get(type(alert), alert.id)
    assert stored.texts["title"] == {
        "ja": "受付は17時までです",
        "en": "Registration closes at 17:00",
    }
    assert (
        db.session.scalar(select(User.language).where(User.email == "runner@example.com")) is None
    )


def test_the_check_finds_english_where_there_is_some(app, race):
    """The same pages for a reader who chose English: the check sees their words (so an empty
    finding above means Japanese, not a page the check could not read)."""
    runner = race["clients"]["runner"]
    runner.set_cookie(COOKIE, "en")
    for url, words in (
        ("/me", {"Gear", "Schedule", "Help"}),
        ("/me/cutoffs", {"Checkpoint", "Pace"}),
        (f"/organizer/events/{race['event'].slug}/alerts", set()),
    ):
        response = runner.get(url)
        assert words <= set(english_in(response.get_data(as_text=True), response.mimetype))
    assert "Organizer" not in english_in(runner.get("/me").get_data(as_text=True), "text/html")
