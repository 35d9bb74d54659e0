"""The Help page: the country's emergency numbers always, the race's numbers when it published
them (never invented), what to read out, one tap from every kit page and kept offline."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from raceapp.extensions import db
from raceapp.services import safety

EVE = datetime(2024, 6, 7, 17, 0, tzinfo=ZoneInfo("Asia/Tokyo"))


@pytest.fixture
def runner(client, auth, okushinano, make_user, make_entry, frozen_clock):
    frozen_clock(EVE)
    user = make_user("aki@example.com", name="Aki Tanaka")
    make_entry(user, okushinano, "100k", "1001")
    auth.login("aki@example.com")
    return user


def test_the_country_s_numbers_always_and_no_invented_race_number(client, runner, okushinano):
    assert okushinano.hq_phone is None  # the seed publishes none
    html = client.get("/me/help").get_data(as_text=True)
    assert 'href="tel:119"' in html and 'href="tel:110"' in html
    assert "Ambulance and fire" in html and "Police" in html
    assert "has not published a phone number" in html
    assert "Aki Tanaka" in html and "1001" in html
    # Nothing that looks like a race number was made up.
    assert html.count('href="tel:') == 2


def test_the_race_s_published_numbers_and_another_country(client, runner, okushinano):
    okushinano.hq_phone = "+81 26-000-0000"
    okushinano.details = {
        **okushinano.details,
        "country": "FR",
        "contacts": [{"role": "Medical", "name": "Dr. Sato", "phone": "090 1111 2222"}],
    }
    db.session.commit()
    html = client.get("/me/help").get_data(as_text=True)
    assert 'href="tel:+81260000000"' in html and "Race headquarters" in html
    assert 'href="tel:09011112222"' in html and "Medical · Dr. Sato" in html
    for number in ("15", "17", "18", "112"):
        assert f'href="tel:{number}"' in html
    assert "has not published" not in html


def test_a_country_the_app_does_not_know_gets_no_guess(client, runner, okushinano):
    okushinano.details = {**okushinano.details, "country": "AQ"}
    db.session.commit()
    html = client.get("/me/help").get_data(as_text=True)
    assert "does not know the emergency numbers" in html
    assert 'href="tel:' not in html


def test_the_country_comes_from_the_time_zone_when_the_file_does_not_say(okushinano):
    assert safety.country_of(okushinano) == "JP"


def test_help_is_one_tap_from_every_kit_page_and_kept_offline(client, runner):
    for path in ("/me", "/me/gear", "/me/schedule", "/me/cutoffs", "/me/alerts", "/me/help"):
        html = client.get(path).get_data(as_text=True)
        assert 'href="/me/help"' in html, path
    assert "/me/help" in client.get("/me").get_data(as_text=True).split("data-kit-urls='")[1]


def test_help_in_japanese(client, runner):
    client.set_cookie("lang", "ja")
    html = client.get("/me/help").get_data(as_text=True)
    assert "救急・消防" in html and "警察" in html and "伝えること" in html
