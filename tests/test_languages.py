"""Two languages: how dates, durations, paces and money read in each (in the race's zone), which
language a reader gets (their choice, on the account or in a cookie, else the browser's, else
the race's), and what follows the language: headers, the manifest, exports, cached pages,
texts written once for readers of either language."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlalchemy import select

from raceapp import i18n
from raceapp.extensions import db
from raceapp.models import Notice, PushSubscription, User
from raceapp.web.languages import COOKIE
from tests.helpers import FCM, PASSWORD, csrf_from, open_sign_up_link

TOKYO = ZoneInfo("Asia/Tokyo")
PARIS = ZoneInfo("Europe/Paris")


def text(response) -> str:
    return response.get_data(as_text=True)


# --- Formatting, both languages --------------------------------------------------------------


@pytest.mark.parametrize(
    "style, english, japanese",
    [
        ("day_time", "Sat 05:30", "8日(土) 05:30"),
        ("full_day_time", "Sat 08 Jun 2024, 05:30", "2024年6月8日(土) 05:30"),
        ("long_day", "Saturday 08 June", "6月8日(土)"),
        ("time", "05:30", "05:30"),
    ],
)
def test_instants_read_as_each_language_writes_them(app, style, english, japanese):
    saturday = datetime(2024, 6, 8, 5, 30, tzinfo=TOKYO)
    assert i18n.format_when(saturday, style, "en") == english
    assert i18n.format_when(saturday, style, "ja") == japanese


def test_the_day_is_the_day_in_the_races_zone_whatever_the_servers(app):
    # 20:30 UTC on Friday is Saturday 05:30 in Japan: the weekday is Japan's.
    instant = datetime(2024, 6, 7, 20, 30, tzinfo=ZoneInfo("UTC"))
    assert i18n.format_when(instant.astimezone(TOKYO), "day_time", "ja") == "8日(土) 05:30"
    assert i18n.format_when(instant.astimezone(PARIS), "day_time", "ja") == "7日(金) 22:30"
    assert i18n.format_when(date(2024, 6, 9), "long_date", "ja") == "2024年6月9日(日)"
    assert i18n.format_when(date(2024, 6, 9), "long_date", "en") == "Sun 09 Jun 2024"


@pytest.mark.parametrize(
    "start, end, english, japanese",
    [
        # CLDR puts thin spaces around the dash in English.
        (
            date(2024, 6, 7),
            date(2024, 6, 9),
            "Fri, Jun 7\u2009–\u2009Sun, Jun 9, 2024",
            "2024年6月7日(金)～9日(日)",
        ),
        (
            date(2024, 6, 29),
            date(2024, 7, 1),
            "Sat, Jun 29\u2009–\u2009Mon, Jul 1, 2024",
            "2024年6月29日(土)～7月1日(月)",
        ),
        (date(2024, 6, 7), None, "Fri, Jun 7, 2024", "2024年6月7日(金)"),
    ],
)
def test_a_race_weekend_reads_as_one_range(app, start, end, english, japanese):
    assert i18n.format_date_range(start, end, "en") == english
    assert i18n.format_date_range(start, end, "ja") == japanese


@pytest.mark.parametrize(
    "minutes, english, japanese",
    [(690, "11 h 30", "11時間30分"), (1260, "21 h", "21時間"), (65, "1 h 05", "1時間05分")],
)
def test_elapsed_times(app, minutes, english, japanese):
    assert i18n.format_elapsed(minutes, "en") == english
    assert i18n.format_elapsed(minutes, "ja") == japanese


@pytest.mark.parametrize(
    "minutes, english, japanese",
    [(45, "45 min", "45分"), (-45, "45 min", "45分"), (90, "1 h 30", "1時間30分")],
)
def test_durations_in_prose(app, minutes, english, japanese):
    assert i18n.format_duration(minutes, "en") == english
    assert i18n.format_duration(minutes, "ja") == japanese


def test_countdowns_and_paces(app):
    assert i18n.format_countdown(5 * 3600 + 30 * 60, "ja") == "5時間30分00秒"
    assert i18n.format_countdown(3 * 86400 + 4 * 3600 + 5 * 60, "ja") == "3日4時間05分"
    assert i18n.format_countdown(5 * 3600 + 30 * 60, "en") == "5 h 30 min 00 s"
    assert i18n.format_pace(12.5, "ja") == "12分30秒/km"
    assert i18n.format_pace(75.5, "ja") == "1時間16分/km"
    assert i18n.format_pace(12.5, "en") == "12:30 min/km"


def test_money_numbers_and_zones(app):
    assert i18n.format_money(25000, "JPY", "ja") == "25,000円"
    assert i18n.format_money(25000, "JPY", "en") == "¥25,000"
    assert i18n.format_money(500, None, "ja") == "500"
    assert i18n.format_number(2800, "ja") == "2,800"
    assert i18n.format_zone("Asia/Tokyo", "ja") == "日本時間"
    assert i18n.format_zone("Asia/Tokyo", "en") == "Japan Time"
    assert i18n.format_zone("Not/AZone", "en") == "Not/AZone"


def test_outside_a_request_everything_is_english():
    assert i18n.current_language() == "en"
    assert i18n.format_countdown(60) == "0 h 01 min 00 s"


def test_a_text_given_in_both_languages_falls_back_but_is_never_empty(app):
    row = type("Row", (), {"texts": {"name": {"ja": "木島平", "en": ""}}, "name": "Kijimadaira"})()
    assert i18n.text_of(row, "name", "en") == "木島平"
    assert i18n.text_of(row, "name", "ja") == "木島平"
    plain = type("Row", (), {"texts": None, "name": "Cupid of Romance Snow Resort"})()
    assert i18n.text_of(plain, "name", "ja") == "Cupid of Romance Snow Resort"


# --- Pages in both languages, in the race's zone ----------------------------------------------


@pytest.fixture
def hundred(client, auth, okushinano, make_user, make_entry, frozen_clock):
    frozen_clock(datetime(2024, 6, 8, 11, 0, tzinfo=TOKYO))
    user = make_user("aki@example.com")
    make_entry(user, okushinano, "100k", "1234")
    auth.login("aki@example.com")
    return user


def test_the_cutoffs_page_in_japanese(client, hundred):
    client.set_cookie(COOKIE, "ja")
    html = text(client.get("/me/cutoffs"))
    assert '<html lang="ja">' in html
    assert "8日(土) 16:30" in html and "11時間30分" in html  # Kayanodaira 1, 48 km
    assert "5時間30分00秒" in html  # counting down to 16:30 from 11:00
    assert "時刻は日本時間の現地時刻です。" in html
    page = text(client.get("/me/cutoffs?km=30"))
    assert "12分23秒/km" in page and "余裕あり" in page


def test_the_same_page_in_english(client, hundred):
    html = text(client.get("/me/cutoffs", headers={"Accept-Language": "en-US,en;q=0.9"}))
    assert '<html lang="en">' in html and "Sat 16:30" in html and "11 h 30" in html
    assert "5 h 30 min 00 s" in html and "Clock times in Japan Time." in html


def test_the_pace_helper_offline_gets_the_pages_language(client, hundred):
    client.set_cookie(COOKIE, "ja")
    html = text(client.get("/me/cutoffs"))
    assert '"needs": "必要ペース {pace}"' in html and '"comfortable": "余裕あり"' in html
    assert '"headings": ["関門", "残り km", "必要ペース（平地換算）"]' in html


# --- Which language -------------------------------------------------------------------------


def test_a_visitor_gets_the_browsers_language(client, okushinano):
    assert '<html lang="ja">' in text(client.get("/", headers={"Accept-Language": "ja-JP,ja"}))
    response = client.get("/", headers={"Accept-Language": "fr-FR,en-GB;q=0.8,ja;q=0.5"})
    assert '<html lang="en">' in text(response)
    assert response.headers["Content-Language"] == "en"
    assert {"Accept-Language", "Cookie"} <= set(response.vary)


def test_with_no_wish_a_race_page_is_in_the_races_language(client, app, tmp_path):
    from tests.helpers import DATA, import_files

    import_files(DATA / "japanese-race.toml")
    assert '<html lang="ja">' in text(client.get("/events/japanese-test"))
    assert '<html lang="en">' in text(client.get("/events/"))  # no race: the app's default


def test_one_tap_switches_and_a_visitor_keeps_it_in_a_cookie(client, okushinano):
    page = text(client.get("/events/okushinano-100-2024", headers={"Accept-Language": "ja"}))
    assert '<html lang="ja">' in page and 'value="en"' in page
    response = client.post(
        "/language",
        data={
            "language": "en",
            "next": "/events/okushinano-100-2024",
            "csrf_token": csrf_from(page),
        },
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/events/okushinano-100-2024")
    assert f"{COOKIE}=en" in response.headers["Set-Cookie"]
    again = text(client.get("/events/okushinano-100-2024", headers={"Accept-Language": "ja"}))
    assert '<html lang="en">' in again


@pytest.mark.parametrize("language, status", [("fr", 400), ("", 400), ("ja", 303)])
def test_only_the_apps_languages_can_be_chosen(client, language, status):
    token = csrf_from(text(client.get("/auth/login")))
    response = client.post("/language", data={"language": language, "csrf_token": token})
    assert response.status_code == status
    if status == 400:
        assert "Set-Cookie" not in response.headers or COOKIE not in response.headers["Set-Cookie"]


def test_the_way_back_stays_on_this_site(client):
    token = csrf_from(text(client.get("/auth/login")))
    response = client.post(
        "/language", data={"language": "ja", "next": "//evil.example/x", "csrf_token": token}
    )
    assert response.headers["Location"] == "/"


def test_the_choice_is_kept_on_the_account_across_logins_and_devices(
    app, client, auth, make_user, okushinano
):
    make_user("aki@example.com")
    auth.login("aki@example.com")
    token = csrf_from(text(client.get("/me")))
    client.post("/language", data={"language": "ja", "csrf_token": token})
    assert db.session.scalar(select(User.language).where(User.email == "aki@example.com")) == "ja"
    auth.logout()
    other_phone = app.test_client()  # no cookie, a browser that asks for English
    token = csrf_from(text(other_phone.get("/auth/login")))
    login = other_phone.post(
        "/auth/login",
        data={"email": "aki@example.com", "password": PASSWORD, "csrf_token": token},
        headers={"Accept-Language": "en"},
    )
    assert f"{COOKIE}=ja" in login.headers["Set-Cookie"]  # kept after logging out too
    assert '<html lang="ja">' in text(other_phone.get("/me", headers={"Accept-Language": "en"}))


def test_a_visitors_choice_goes_onto_the_account_they_make(client):
    client.set_cookie(COOKIE, "ja")
    token = csrf_from(text(client.get("/auth/signup")))
    client.post(
        "/auth/signup",
        data={
            "name": "秋山",
            "email": "new@example.com",
            "password": PASSWORD,
            "csrf_token": token,
        },
    )
    open_sign_up_link(client.application, client)
    assert db.session.scalar(select(User.language).where(User.email == "new@example.com")) == "ja"


def test_switching_is_allowed_while_previewing(app, client, auth, make_organizer, okushinano):
    make_organizer(okushinano)
    auth.login("organizer@example.com")
    page = text(client.get("/events/okushinano-100-2024"))
    client.post(
        "/preview",
        data={"event": okushinano.slug, "as_of": "2024-06-08 11:00", "csrf_token": csrf_from(page)},
    )
    token = csrf_from(text(client.get("/events/okushinano-100-2024")))
    assert client.post("/language", data={"language": "ja", "csrf_token": token}).status_code == 303


# --- What follows the language --------------------------------------------------------------


def test_the_manifest_installs_in_the_readers_language(client):
    japanese = client.get("/manifest.webmanifest", headers={"Accept-Language": "ja"}).get_json()
    assert japanese["lang"] == "ja" and japanese["short_name"] == "レースキット"
    assert japanese["name"] == "raceapp レースキット"
    english = client.get("/manifest.webmanifest", headers={"Accept-Language": "en"}).get_json()
    assert english["lang"] == "en" and english["short_name"] == "raceapp"


def test_the_offline_page_comes_in_each_language(client):
    assert "オフラインです" in text(client.get("/offline?lang=ja"))
    assert "You are offline" in text(client.get("/offline?lang=en"))


def test_the_kit_home_validator_changes_with_the_language(client, hundred):
    english = client.get("/me", headers={"Accept-Language": "en"})
    etag = english.headers["ETag"]
    assert (
        client.get("/me", headers={"If-None-Match": etag, "Accept-Language": "en"}).status_code
        == 304
    )
    japanese = client.get("/me", headers={"If-None-Match": etag, "Accept-Language": "ja"})
    assert japanese.status_code == 200 and '<html lang="ja">' in text(japanese)


def test_calendar_exports_follow_the_language(client, hundred):
    client.set_cookie(COOKIE, "ja")
    calendar = Calendar.from_ical(client.get("/me/schedule.ics").data)
    summaries = [str(e["summary"]) for e in calendar.walk("VEVENT")]
    assert any(s.endswith("・Okushinano 100") for s in summaries), summaries
    # A subscription address carries the language: calendar apps send no cookie.
    page = text(client.get("/me/schedule"))
    assert "lang=ja" in page


def test_the_manifest_csv_has_japanese_headings(
    app, client, auth, hundred, make_organizer, okushinano
):
    from raceapp.models import ShuttleDeparture

    departure = db.session.scalars(select(ShuttleDeparture)).first()
    auth.logout()
    make_organizer(okushinano)
    auth.login("organizer@example.com")
    client.set_cookie(COOKIE, "ja")
    csv = text(client.get(f"/organizer/departures/{departure.id}/manifest.csv"))
    assert csv.splitlines()[0] == "\ufeff予約番号,氏名,ゼッケン,種目,電話番号,予約日時（日本時間）"


def test_a_device_subscribes_in_the_language_of_its_pages(app, client, hundred):
    from tests.helpers import subscription

    client.set_cookie(COOKIE, "ja")
    token = csrf_from(text(client.get("/me")))
    response = client.post(
        "/push/subscription",
        json=subscription(FCM + "device-1"),
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 201
    assert db.session.scalar(select(PushSubscription.language)) == "ja"


def test_a_notice_is_written_in_both_languages_and_read_in_ones_own(
    app, client, auth, bus_event, make_user, make_entry
):
    """A seat freed from the waitlist: the runner reads the notice in their language."""
    from raceapp.services import shuttles
    from tests.helpers import BEFORE, departure

    bus = departure(bus_event, "station-to-start", "05:00")
    users = []
    for n in range(bus.seats + 1):
        user = make_user(f"r{n}@example.com")
        make_entry(user, bus_event, "50k", f"9{n:02d}")
        users.append(user)
    bookings = [shuttles.book(u, bus.id, now=BEFORE, idempotency_key=None) for u in users[:-1]]
    shuttles.join_waitlist(users[-1], bus.id, now=BEFORE)
    shuttles.cancel(users[0], bookings[0].reference, now=BEFORE)
    notice = db.session.scalar(select(Notice))
    assert set(notice.texts["text"]) == {"ja", "en"}
    assert notice.texts["text"]["ja"].startswith("空席が出ました。")
    auth.login(users[-1].email)
    client.set_cookie(COOKIE, "ja")
    assert "空席が出ました。" in text(client.get("/me"))
    client.set_cookie(COOKIE, "en")
    assert "A seat freed up" in text(client.get("/me"))
