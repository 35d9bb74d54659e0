"""Hostile input: random and malformed values at every form and JSON endpoint and at the
race-file checker (Hypothesis), markup in every text a page shows, formula and header
injection in exports, path traversal and oversized bodies.

What must hold: never a 5xx; a refusal is a 4xx that says what went wrong and writes nothing.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from raceapp.extensions import db
from raceapp.models import Event, ShuttleDeparture, User
from raceapp.racefile import check_text
from raceapp.services import alerts, shuttles
from raceapp.services.race_import import import_reports
from tests.conftest import World
from tests.helpers import AUDIT_RACE, BEFORE, csrf_from, db_snapshot, import_files

# Hypothesis throws hundreds of inputs at every form: left out of `make test-fast`.
pytestmark = pytest.mark.slow

FUZZ = settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Values that have broken web apps before, next to Hypothesis's own text.
NASTY = [
    "",
    " ",
    "\x00",
    "\r\nSet-Cookie: evil=1",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "../../../../etc/passwd",
    '=HYPERLINK("http://evil")',
    "-1",
    "0",
    "99999999999999999999",
    "1e309",
    "NaN",
    "true",
    "2026-02-30T25:61",
    "9999-12-31T23:59",
    "\u202egnp.exe",
    "😀" * 50,
    "a" * 5000,
    "%00",
    "{{7*7}}",
    "${7*7}",
    "null",
    "[]",
    "{}",
    # Moments Python cannot hold once in UTC, and offsets no zone has.
    "9999-12-31T23:59:59-23:59",
    "0001-01-01T00:00:00+23:59",
    "2026-06-20T08:00:00+24:00",
    "2026-06-20T08:00:00Z+01:00",
    # Addresses parsers disagree about.
    "https://[::1",
    "https://%zz.example/",
    "https://exa mple.org/",
    "https://evil.example\\@good.example/",
    "/\\evil.example",
    "/%09/evil.example",
    # Control and format characters.
    "\x7f",
    "\u2028",
    "\ufeff",
    "a\tb\x0bc",
]
TEXT = st.one_of(st.text(max_size=200), st.sampled_from(NASTY))


def says_what_went_wrong(response) -> bool:
    """A refusal carries a message: JSON with "error", or a page with an alert or error text."""
    if response.is_json:
        return bool((response.get_json() or {}).get("error"))
    html = response.get_data(as_text=True)
    return bool(
        re.search(
            r'<p class="alert" role="alert">\s*\S|<small class="error">\s*\S|'
            r'class="card error-page"',
            html,
        )
    )


def check_answer(response, before) -> None:
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    if response.status_code >= 400:
        assert says_what_went_wrong(response), response.get_data(as_text=True)[:500]
        assert db_snapshot() == before, "a refused request wrote something"


def token_for(client) -> str:
    return csrf_from(client.get("/auth/login").get_data(as_text=True))


# (caller, URL, fields a real form sends)
FORMS = [
    ("anonymous", "/auth/login", ["email", "password"]),
    ("anonymous", "/auth/signup", ["email", "name", "password"]),
    ("other runner", "/events/audit-test/join", ["category", "bib"]),
    ("runner", "/me/gear/{gear_item_id}", ["packed", "made_at"]),
    ("runner", "/me/gear/own", ["name"]),
    ("runner", "/me/gear/own/{own_item_id}", ["packed", "made_at"]),
    (
        "organizer",
        "/organizer/events/audit-test/alerts",
        ["kind", "title", "body", "link", "category", "delay_minutes", "confirm"],
    ),
    ("organizer", "/preview", ["event", "as_of", "next"]),
    ("runner", "/shuttles/departures/{departure_id}/book", ["idempotency_key"]),
]


@pytest.mark.parametrize("actor,url,fields", FORMS, ids=[f[1] for f in FORMS])
def test_forms_answer_random_input_with_a_clear_4xx_or_success(
    audit_world: World, actor, url, fields
):
    client = audit_world.clients[actor]
    url = url.format(
        gear_item_id=audit_world.gear_item_id,
        own_item_id=audit_world.own_item_id,
        departure_id=audit_world.values["departure_id"],
    )
    token = token_for(client)

    @FUZZ
    @given(form=st.dictionaries(st.sampled_from(fields), TEXT))
    def post(form):
        before = db_snapshot()
        check_answer(client.post(url, data={**form, "csrf_token": token}), before)

    post()


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(TEXT, children, max_size=5),
    max_leaves=20,
)
SUBSCRIPTION_LIKE = st.fixed_dictionaries(
    {
        "endpoint": st.one_of(
            TEXT,
            st.just("https://fcm.googleapis.com/fcm/send/x"),
            st.just("http://127.0.0.1:6379/"),
            st.just("https://169.254.169.254/"),
        ),
        "keys": st.one_of(JSON, st.fixed_dictionaries({"p256dh": TEXT, "auth": TEXT})),
        "expirationTime": JSON,
    }
)


# Raw bodies no JSON library writes: lone surrogates (which JSON's escapes allow) and nesting
# deep enough to exhaust a recursive parser.
SURROGATE = st.sampled_from(["\\ud800", "\\udfff", "\\ud83d", "x\\udc00y"])
RAW_JSON = st.one_of(
    st.builds(lambda s: '{"endpoint": "https://fcm.googleapis.com/fcm/send/' + s + '"}', SURROGATE),
    st.builds(lambda s: '{"' + s + '": 1}', SURROGATE),
    st.builds(lambda s: '{"keys": {"p256dh": "' + s + '", "auth": "x"}}', SURROGATE),
    st.integers(min_value=1, max_value=2000).map(lambda n: "[" * n + "]" * n),
    st.integers(min_value=1, max_value=600).map(lambda n: '{"a":' * n + "1" + "}" * n),
)


@pytest.mark.parametrize("method", ["POST", "DELETE"])
def test_push_subscription_answers_random_json_with_a_clear_4xx(audit_world: World, method):
    client = audit_world.clients["runner"]
    token = token_for(client)

    @FUZZ
    @given(
        body=st.one_of(JSON, SUBSCRIPTION_LIKE, st.binary(max_size=300), RAW_JSON.map(str.encode))
    )
    def send(body):
        before = db_snapshot()
        data = body if isinstance(body, bytes) else json.dumps(body)
        response = client.open(
            "/push/subscription",
            method=method,
            data=data,
            headers={"Content-Type": "application/json", "X-CSRFToken": token},
        )
        check_answer(response, before)
        if method == "POST":
            assert response.status_code != 201, "a random body was taken as a subscription"

    send()


INT_ROUTES = [
    ("GET", "runner", "/me/alerts/{n}"),
    ("POST", "runner", "/me/alerts/{n}/read"),
    ("POST", "runner", "/me/gear/{n}"),
    ("POST", "runner", "/me/gear/own/{n}"),
    ("POST", "runner", "/me/gear/own/{n}/delete"),
    ("POST", "runner", "/shuttles/departures/{n}/book"),
    ("POST", "runner", "/shuttles/departures/{n}/waitlist"),
    ("POST", "runner", "/shuttles/departures/{n}/waitlist/leave"),
    ("GET", "organizer", "/organizer/alerts/{n}"),
    ("GET", "organizer", "/organizer/departures/{n}/manifest"),
    ("GET", "organizer", "/organizer/departures/{n}/manifest.csv"),
]


@pytest.mark.parametrize("method,actor,url", INT_ROUTES, ids=[r[2] for r in INT_ROUTES])
def test_ids_of_any_size_are_not_found_not_server_errors(audit_world: World, method, actor, url):
    client = audit_world.clients[actor]
    token = token_for(client)

    @FUZZ
    @given(
        n=st.one_of(
            st.integers(min_value=10**6, max_value=10**40),
            st.sampled_from([2**31 - 1, 2**31, 2**63 - 1, 2**63, 10**100]),
        )
    )
    def call(n):
        before = db_snapshot()
        response = client.open(url.format(n=n), method=method, data={"csrf_token": token})
        check_answer(response, before)
        assert 400 <= response.status_code < 500

    call()


@FUZZ
@given(text=st.text(max_size=2000))
def test_the_race_file_checker_reports_on_any_text(text):
    report = check_text(text, "fuzz.toml")
    assert report.ok or (report.problems and all(p.message for p in report.problems))


def mutations(lines: list[str]):
    """A valid race file with some lines replaced, removed, doubled or given a random value."""
    index = st.integers(min_value=0, max_value=len(lines) - 1)
    edit = st.one_of(
        st.tuples(st.just("value"), index, TEXT),
        st.tuples(
            st.just("value"),
            index,
            st.sampled_from(
                ['"x"', "-5", "1e400", "[]", "{}", "2026-13-01", "25:00", '"' + "a" * 400 + '"']
            ),
        ),
        st.tuples(st.just("drop"), index, st.just("")),
        st.tuples(st.just("double"), index, st.just("")),
        st.tuples(st.just("raw"), index, TEXT),
    )
    return st.lists(edit, min_size=1, max_size=4)


def apply(lines: list[str], edits) -> str:
    lines = list(lines)
    for kind, i, value in edits:
        i = min(i, len(lines) - 1)
        if kind == "value" and "=" in lines[i]:
            lines[i] = lines[i].split("=", 1)[0] + "= " + (value if value.strip() else '""')
        elif kind == "drop":
            del lines[i]
        elif kind == "double":
            lines.insert(i, lines[i])
        elif kind == "raw":
            lines[i] = value
        if not lines:
            lines = [""]
    return "\n".join(lines)


def test_a_damaged_race_file_is_reported_and_a_passing_one_imports_whole(app):
    lines = AUDIT_RACE.read_text().splitlines()

    @FUZZ
    @given(edits=mutations(lines))
    def check(edits):
        report = check_text(apply(lines, edits), "audit-race.toml")
        if not report.ok:
            assert report.problems and all(p.message for p in report.problems)
            return
        import_reports([report], now=datetime.now(timezone.utc))  # must not raise

    check()


# --- Markup in every text a page shows --------------------------------------------------

SCRIPT = '<script>alert("x")</script><img src=x onerror=alert(1)>'
ESCAPED = "&lt;script&gt;alert("


def test_markup_in_alerts_names_and_race_files_is_shown_as_text(
    app, client, auth, frozen_clock, make_user, make_entry, make_organizer, tmp_path
):
    frozen_clock(BEFORE)
    race = AUDIT_RACE.read_text()
    race = race.replace('name = "Audit Trail"', f"name = '''Audit {SCRIPT}'''")
    race = race.replace('name = "Mobile phone"', f"name = '''Phone {SCRIPT}'''")
    race = race.replace('title = "Start of the Long"', f"title = '''Start {SCRIPT}'''")
    race = race.replace('from = "Station"', f"from = '''Station {SCRIPT}'''")
    path = tmp_path / "audit-race.toml"
    path.write_text(race)
    import_files(path)
    event = db.session.scalar(select(Event).where(Event.slug == "audit-test"))
    runner = make_user("runner@example.com", name=f"Aki {SCRIPT}")
    make_entry(runner, event, "long", "101")
    organizer = make_organizer(event)
    alert = alerts.post_alert(
        organizer,
        event,
        alerts.AlertDraft(kind="info", title=f"Title {SCRIPT}", body=f"Body {SCRIPT}\nline two"),
        now=BEFORE,
    )
    departure = db.session.scalar(select(ShuttleDeparture).order_by(ShuttleDeparture.id).offset(1))
    booking = shuttles.book(runner, departure.id, now=BEFORE, idempotency_key=None)
    db.session.commit()
    auth.login("runner@example.com")
    token = token_for(client)
    client.post("/me/gear/own", data={"name": f"Socks {SCRIPT}", "csrf_token": token})
    pages = [
        "/me",
        "/me/gear",
        "/me/schedule",
        "/me/cutoffs",
        "/me/alerts",
        f"/me/alerts/{alert.id}",
        "/events/audit-test",
        "/events/audit-test/long",
        "/events/audit-test/shuttles",
        f"/shuttles/tickets/{booking.reference}",
        "/events/",
    ]
    auth.logout()
    auth.login("organizer@example.com")
    pages_for_organizer = [
        "/organizer/",
        "/organizer/events/audit-test/alerts",
        f"/organizer/alerts/{alert.id}",
        f"/organizer/departures/{departure.id}/manifest",
        f"/shuttles/check/{booking.reference}",
    ]
    for url in pages_for_organizer:
        html = client.get(url).get_data(as_text=True)
        assert "<script>alert" not in html and "<img src=x" not in html, url
        assert ESCAPED in html, url
    auth.logout()
    auth.login("runner@example.com")
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.get_data(as_text=True)
        assert "<script>alert" not in html and "<img src=x" not in html, url
        assert ESCAPED in html, url
    kit = client.get("/api/kit").get_json()
    assert SCRIPT in json.dumps(kit, ensure_ascii=False).replace("\\", "")  # data, not markup


# --- Exports, files and bodies -----------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["=1+2", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1", 'Aki "the fox", Tanaka', "two\nlines"]
)
def test_manifest_csv_cells_cannot_become_formulas_or_extra_rows(
    app, client, auth, frozen_clock, make_user, make_entry, make_organizer, name
):
    frozen_clock(BEFORE)
    import_files(AUDIT_RACE)
    event = db.session.scalar(select(Event).where(Event.slug == "audit-test"))
    runner = make_user("runner@example.com")
    make_entry(runner, event, "long", "101")
    db.session.execute(User.__table__.update().where(User.id == runner.id).values(name=name))
    departure = db.session.scalar(select(ShuttleDeparture).order_by(ShuttleDeparture.id))
    shuttles.book(runner, departure.id, now=BEFORE, idempotency_key=None)
    make_organizer(event)
    db.session.commit()
    auth.login("organizer@example.com")
    response = client.get(f"/organizer/departures/{departure.id}/manifest.csv")
    assert response.status_code == 200
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment; filename=") and "\n" not in disposition
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == 2  # header and one runner: a newline in a name stays in its cell
    assert any(cell in (name, "'" + name) for cell in rows[1]), rows
    assert not any(cell[:1] and cell[:1] in "=+-@\t\r" for cell in rows[1]), rows[1]


@pytest.mark.parametrize(
    "path",
    [
        "/static/../raceapp/config.py",
        "/static/%2e%2e/raceapp/config.py",
        "/static/..%2fraceapp%2fconfig.py",
        "/static/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/static//etc/passwd",
        "/static/..\\raceapp\\config.py",
        "/static/icons/../../app.py",
        "/calendar/..%2f..%2fetc%2fpasswd.ics",
        "/sw.js/../app.py",
        "/static/%00app.js",
    ],
)
def test_no_route_serves_a_file_outside_its_folder(client, app, path):
    response = client.get(path, follow_redirects=True)  # "//" is merged by a redirect first
    body = response.get_data(as_text=True)
    assert response.status_code in (400, 404), (path, response.status_code)
    assert "SECRET_KEY" not in body and "root:x:0:0" not in body and "create_app" not in body


def test_oversized_bodies_are_refused_with_a_page_and_write_nothing(audit_world: World):
    client = audit_world.clients["runner"]
    token = token_for(client)
    before = db_snapshot()
    form = client.post("/me/gear/own", data={"name": "x" * 300_000, "csrf_token": token})
    assert form.status_code == 413 and "Too large" in form.get_data(as_text=True)
    upload = client.post(
        "/me/gear/own",
        data={"csrf_token": token, "file": (io.BytesIO(b"x" * 300_000), "big.bin")},
        content_type="multipart/form-data",
    )
    assert upload.status_code == 413
    push = client.post(
        "/push/subscription",
        data=json.dumps({"endpoint": "x" * 5000}),
        headers={"Content-Type": "application/json", "X-CSRFToken": token},
    )
    assert push.status_code == 400 and "too large" in push.get_json()["error"]
    long_name = client.post("/me/gear/own", data={"name": "x" * 5000, "csrf_token": token})
    assert long_name.status_code == 400 and says_what_went_wrong(long_name)
    assert db_snapshot() == before
