"""Every route of the app, called by four people, answers as docs/security.md says.

The route table in docs/security.md is the rule; this test walks the app's URL map, so a
route added without a row (or a row left after its route is gone) fails here.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from raceapp import create_app
from raceapp.extensions import db
from tests.conftest import World
from tests.helpers import PASSWORD, csrf_from, db_snapshot, subscription

# Every route called by four people: left out of `make test-fast`.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
TABLE = ROOT / "docs" / "security.md"
AUDIT_RACE = Path(__file__).parent / "data" / "audit-race.toml"
TOKYO = ZoneInfo("Asia/Tokyo")
BEFORE = datetime(2026, 6, 19, 12, 0, tzinfo=TOKYO)
# The organizer is the race's headquarters; shuttle staff and read-only members are in its team
# with those roles (vocabulary.ROLE_PERMISSIONS).
ACTORS = ("anonymous", "runner", "other runner", "organizer", "shuttle staff", "read-only")
# Who acts first matters only for routes that change something: the owner goes last, so
# nobody else's call finds the runner's things already gone, and the narrower roles go before
# headquarters, so nothing they may not touch is gone already.
ORDER = ("anonymous", "other runner", "read-only", "shuttle staff", "organizer", "runner")
OUTCOMES = {"yes", "login", "no"}
ROW = re.compile(
    r"^\|\s*(GET|POST|PUT|PATCH|DELETE)\s*\|\s*`([^`]+)`\s*\|([^|]*)\|"
    r"\s*(\w+)\s*\|\s*(\w+)\s*\|\s*(\w+)\s*\|\s*(\w+)\s*\|\s*(\w+)\s*\|\s*(\w+)\s*\|\s*$"
)


def documented_routes() -> dict[tuple[str, str], dict[str, str]]:
    """(method, rule) -> {actor: outcome}, read from the table in docs/security.md."""
    table = {}
    for line in TABLE.read_text().splitlines():
        match = ROW.match(line.strip())
        if match:
            method, rule, _who, *outcomes = match.groups()
            assert set(outcomes) <= OUTCOMES, line
            assert (method, rule) not in table, f"{method} {rule} is in the table twice"
            table[(method, rule)] = dict(zip(ACTORS, outcomes, strict=True))
    return table


def app_routes() -> set[tuple[str, str]]:
    app = create_app("testing")
    return {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


DOCUMENTED = documented_routes()
ROUTES = sorted(app_routes())


def test_every_route_has_a_row_and_every_row_a_route():
    assert sorted(set(ROUTES) - set(DOCUMENTED)) == [], "routes missing from docs/security.md"
    assert sorted(set(DOCUMENTED) - set(ROUTES)) == [], "rows for routes that do not exist"


def url_for_route(audit_world: World, method: str, rule: str) -> str:
    values = dict(audit_world.values)
    if rule.startswith("/me/gear/own/"):
        values["item_id"] = audit_world.own_item_id
    elif rule.startswith("/me/gear/"):
        values["item_id"] = audit_world.gear_item_id
    if "/waitlist" in rule:
        values["departure_id"] = audit_world.values["full_departure_id"]

    def fill(match: re.Match) -> str:
        return str(values[match.group(1)])

    return re.sub(r"<(?:\w+:)?(\w+)>", fill, rule)


def form_for(method: str, rule: str, actor: str) -> dict:
    """What a real page would send: enough for the call to succeed when it is allowed."""
    forms = {
        "/auth/login": {"email": "runner@example.com", "password": PASSWORD},
        "/auth/signup": {
            "email": f"new-{actor.replace(' ', '-')}@example.com",
            "name": "New Runner",
            "password": PASSWORD,
        },
        "/auth/forgot": {"email": "runner@example.com"},
        "/account/alerts": {"every_alert": "1"},
        "/account/password": {"current": PASSWORD, "new": "a brand new password"},
        "/account/email": {
            "email": f"moved-{actor.replace(' ', '-')}@example.com",
            "password": PASSWORD,
        },
        "/account/delete": {"password": PASSWORD},
        "/auth/reset/<token>": {"password": "a brand new password"},
        "/events/<slug>/join": {"code": "AAAA-BBBB-CCCC-DDDD"},
        "/events/<slug>/join/email": {"entry": "1"},
        "/events/<slug>/follow": {"category": "long"},
        "/organizer/alerts/<int:alert_id>/edit": {"title_en": f"Corrected by {actor}"},
        "/organizer/departures/<int:departure_id>/delay": {"minutes": "20"},
        "/organizer/departures/<int:departure_id>/cancel": {"confirm": "1"},
        "/organizer/events/<slug>/entries/<int:entry_id>": {
            "name": "名簿 太郎",
            "category": "short",
        },
        "/organizer/events/<slug>/entries/<int:entry_id>/withdraw": {"confirm": "1"},
        "/organizer/events/<slug>/entries/codes/send": {"confirm": "1"},
        "/organizer/events/<slug>/entries/import/<int:upload_id>": {
            "map_bib": "0",
            "map_name": "1",
            "map_category": "2",
        },
        "/organizer/events/<slug>/race-file/publish": {
            "text": AUDIT_RACE.read_text(),
            "digest": hashlib.sha256(AUDIT_RACE.read_text().encode()).hexdigest(),
            "base_version": "2",
            "filename": "audit-race.toml",
        },
        "/organizer/events/<slug>/team": {"email": "new@example.com", "role": "read_only"},
        "/organizer/events/<slug>/team/<int:role_id>/remove": {"confirm": "1"},
        "/organizer/events/<slug>/course/<code>/remove": {"confirm": "1"},
        "/organizer/events/<slug>/team/invitations/<int:invitation_id>/cancel": {"confirm": "1"},
        "/me/drop-out": {"getting_back": "own", "key": f"key-{actor.replace(' ', '-')}-drop"},
        "/me/gear/<int:item_id>": {"packed": "1"},
        "/me/race": {"event": "audit-test"},
        "/me/gear/own": {"name": "Buff"},
        "/me/gear/own/<int:item_id>": {"packed": "1"},
        "/organizer/events/<slug>/alerts": {
            "kind": "info",
            "title": "Water at CP2",
            "body": "Refill there.",
        },
        "/preview": {"event": "audit-test", "as_of": "2026-06-20T08:00"},
        "/language": {"language": "ja"},
        "/shuttles/departures/<int:departure_id>/book": {
            "idempotency_key": f"key-{actor.replace(' ', '-')}"
        },
    }
    return forms.get(rule, {})


def call(audit_world: World, actor: str, method: str, rule: str):
    client = audit_world.clients[actor]
    url = url_for_route(audit_world, method, rule)
    if method == "GET":
        return client.get(url)
    page = client.get("/auth/login" if actor == "anonymous" else "/events/")
    token = csrf_from(page.get_data(as_text=True))
    if rule.startswith("/push/"):
        return client.open(
            url,
            method=method,
            data=json.dumps(subscription()),
            headers={"Content-Type": "application/json", "X-CSRFToken": token},
        )
    form = form_for(method, rule, actor)
    if rule.endswith("/board"):  # the runner's own ticket, shown at another bus's door
        form["reference"] = audit_world.values["reference"]
    return client.open(url, method=method, data={**form, "csrf_token": token})


def runners_things(audit_world: World) -> dict[str, list[tuple]]:
    """The rows that belong to the runner: nobody else's call may change them."""
    db.session.commit()
    things = {}
    for table in db.metadata.sorted_tables:
        for column, owner in (
            ("user_id", audit_world.runner_id),
            ("entry_id", audit_world.entry_id),
        ):
            if column in table.c:
                rows = db.session.execute(table.select().where(table.c[column] == owner))
                things[table.name] = sorted(map(tuple, rows.all()), key=repr)
    return things


def outcome(response) -> str:
    status = response.status_code
    assert status < 500, f"server error {status}"
    location = response.headers.get("Location", "")
    if status == 401 or (300 <= status < 400 and "/auth/login" in location):
        return "login"
    if status in (403, 404, 409):
        return "no"
    assert status < 400, f"answered {status}: {response.get_data(as_text=True)[:300]}"
    return "yes"


@pytest.mark.parametrize("method,rule", ROUTES, ids=[f"{m} {r}" for m, r in ROUTES])
def test_route_answers_each_caller_as_documented(audit_world, method, rule):
    expected = DOCUMENTED.get((method, rule))
    seen = {}
    for actor in ORDER:
        before, runners_before = db_snapshot(), runners_things(audit_world)
        try:
            seen[actor] = outcome(call(audit_world, actor, method, rule))
        except AssertionError as exc:
            seen[actor] = f"error ({exc})"
        if seen[actor] in ("login", "no"):
            assert db_snapshot() == before, f"{actor}: refused, yet something was written"
        if actor != "runner" and not rule.startswith("/auth/"):
            assert runners_things(audit_world) == runners_before, (
                f"{actor} changed the runner's things"
            )
    assert expected is not None, f"{method} {rule} has no row in docs/security.md"
    assert seen == expected


def test_the_ticket_check_tells_non_organizers_nothing_about_references(audit_world: World):
    """A runner scanning references learns nothing: real or made up, the answer is the same."""
    client = audit_world.clients["other runner"]
    reference = audit_world.values["reference"]
    real = client.get(f"/shuttles/check/{reference}")
    made_up = client.get("/shuttles/check/ZZZ-ZZZ")
    assert real.status_code == made_up.status_code == 403

    # The page links back to the address asked for (the language switch): nothing else differs
    # (but the form token, signed with the second it was made in).
    def page(response, asked: str) -> str:
        body = response.get_data(as_text=True).replace(asked, "?")
        body = re.sub(r'(csrf[-_]token"\s+(?:value|content)=")[^"]*', r"\1", body)
        return re.sub(r'("X-CSRFToken": ")[^"]*', r"\1", body)

    assert page(real, reference) == page(made_up, "ZZZ-ZZZ")
