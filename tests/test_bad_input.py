"""Five kinds of bad input that once made a 500, each now a clear 4xx that writes nothing: a
date out of range, a field of the wrong JSON type, JSON nested too deep, text that is not
Unicode (a lone surrogate), and a malformed address. Found by a probe; each has its own test
here, and tests/test_hostile_input.py throws the same classes at every endpoint."""

from __future__ import annotations

import json

import pytest

from tests.conftest import World
from tests.helpers import csrf_from, db_snapshot


def refused(response, before) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.get_data()[:300])
    assert db_snapshot() == before


def token(client) -> str:
    return csrf_from(client.get("/auth/login").get_data(as_text=True))


@pytest.mark.parametrize(
    "made_at",
    [
        "9999-12-31T23:59:59-23:59",  # past the last datetime once in UTC
        "0001-01-01T00:00:00+23:59",  # before the first one
        "2026-06-20T08:00:00+24:00",
        "2026-06-20T08:00:00+99:99",
    ],
)
def test_a_tick_made_at_an_impossible_moment(audit_world: World, made_at):
    client = audit_world.clients["runner"]
    before = db_snapshot()
    response = client.post(
        f"/me/gear/{audit_world.gear_item_id}",
        data={"packed": "1", "made_at": made_at, "csrf_token": token(client)},
    )
    refused(response, before)


@pytest.mark.parametrize(
    "body",
    [
        {"email": 42, "password": "x"},
        {"email": ["a@example.com"], "password": {"x": 1}},
        {"email": None, "password": None},
    ],
)
def test_a_login_sent_as_json_with_values_of_the_wrong_type(app, client, body):
    before = db_snapshot()
    response = client.post("/auth/login", json={**body, "csrf_token": token(client)})
    refused(response, before)


def test_json_nested_deeper_than_any_subscription(audit_world: World):
    client = audit_world.clients["runner"]
    before = db_snapshot()
    for method in ("POST", "DELETE"):
        response = client.open(
            "/push/subscription",
            method=method,
            data="[" * 2000 + "]" * 2000,
            headers={"Content-Type": "application/json", "X-CSRFToken": token(client)},
        )
        refused(response, before)
        assert "error" in response.get_json()


@pytest.mark.parametrize(
    "body",
    [
        '{"endpoint": "https://fcm.googleapis.com/fcm/send/\\ud800"}',
        '{"endpoint": "\\udfff", "keys": {"p256dh": "\\ud83d", "auth": "x"}}',
    ],
)
def test_text_that_is_not_unicode(audit_world: World, body):
    client = audit_world.clients["runner"]
    before = db_snapshot()
    for method in ("POST", "DELETE"):
        response = client.open(
            "/push/subscription",
            method=method,
            data=body,
            headers={"Content-Type": "application/json", "X-CSRFToken": token(client)},
        )
        refused(response, before)


@pytest.mark.parametrize(
    "link",
    ["https://[::1", "https://[::1]:99999/x", "https://exa mple.org/", "https://%zz.example/"],
)
def test_an_alert_link_that_is_not_an_address(audit_world: World, link):
    client = audit_world.clients["organizer"]
    url = "/organizer/events/audit-test/alerts"
    page = client.get(url).get_data(as_text=True)
    before = db_snapshot()
    response = client.post(
        url, data={"kind": "info", "title": "Water", "link": link, "csrf_token": csrf_from(page)}
    )
    refused(response, before)
    assert "https://" in response.get_data(as_text=True)


def test_a_raw_json_body_on_a_form_route_is_a_clear_refusal(audit_world: World):
    """Forms take form fields: a JSON body is not read as one (whatever its values)."""
    client = audit_world.clients["runner"]
    before = db_snapshot()
    response = client.post(
        "/me/gear/own",
        data=json.dumps({"name": ["x"] * 3}),
        headers={"Content-Type": "application/json", "X-CSRFToken": token(client)},
    )
    refused(response, before)
