"""Unknown pages, wrong methods and oversized bodies get real pages and 4xx codes."""

from __future__ import annotations


def test_unknown_page_is_a_real_404_page(client, app):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "Not found" in html and "<html" in html and "Go to the start page" in html


def test_unknown_event_and_category(client, okushinano):
    assert client.get("/events/no-such-race").status_code == 404
    assert client.get("/events/okushinano-100-2024/999k").status_code == 404


def test_wrong_method_is_405(client, app):
    assert client.get("/auth/logout").status_code == 405
    assert client.delete("/events/").status_code == 405


def test_oversized_body_is_413(client, app):
    response = client.post("/auth/login", data={"email": "x" * (300 * 1024)})
    assert response.status_code == 413
    assert "too large" in response.get_data(as_text=True)


def test_health(client, app):
    assert client.get("/healthz").get_json() == {"ok": True}


def test_anonymous_pages(client, seed_races):
    for url in ("/", "/events/", "/auth/login", "/auth/signup"):
        assert client.get(url).status_code == 200, url


def test_service_worker_is_served_from_the_root(client, app):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Service-Worker-Allowed"] == "/"
    assert "no-cache" in response.headers["Cache-Control"]
    assert client.get("/offline").status_code == 200


GARBAGE = [
    "",
    " ",
    "x" * 5000,
    "<script>alert(1)</script>",
    "../../etc/passwd",
    "\x00",
    "🏔️",
    "2024-13-45T99:99",
    "-1",
    "1e309",
]


def test_no_form_answers_5xx_to_garbage(client, auth, okushinano, make_user, make_organizer):
    """Every form, fed nonsense with a valid CSRF token, answers a clear 4xx (or a redirect)."""
    from tests.helpers import csrf_from

    make_organizer(okushinano)
    auth.login("organizer@example.com")
    forms = {
        "/auth/signup": ("name", "email", "password"),
        "/auth/login": ("email", "password"),
        "/events/okushinano-100-2024/join": ("code",),
        "/events/okushinano-100-2024/join/email": ("entry",),
        "/events/okushinano-100-2024/follow": ("category",),
        "/organizer/events/okushinano-100-2024/race-file": ("text",),
        "/organizer/events/okushinano-100-2024/race-file/publish": (
            "text",
            "base_version",
            "digest",
            "filename",
        ),
        "/organizer/events/okushinano-100-2024/team": ("email", "role"),
        "/me/drop-out": ("getting_back", "key", "note", "checkpoint", "made_at", "latitude"),
        "/preview": ("event", "as_of"),
        "/events/okushinano-100-2024/leave": ("anything",),
    }
    for url, fields in forms.items():
        for value in GARBAGE:
            token = csrf_from(client.get("/events/").get_data(as_text=True))
            response = client.post(url, data={"csrf_token": token, **{f: value for f in fields}})
            assert response.status_code < 500, (url, value)
            if response.status_code >= 400:
                assert "<h1>" in response.get_data(as_text=True)
            if url == "/auth/login" and response.status_code == 302:
                auth.login("organizer@example.com")


def test_nul_bytes_are_refused_before_they_reach_the_database(client, app):
    assert client.get("/events/%00").status_code == 400
    assert client.get("/events/?q=a%00b").status_code == 400


def test_every_post_route_requires_a_csrf_token(
    app, client, auth, okushinano, make_user, make_entry
):
    """Walks the URL map, so a new state-changing route without CSRF protection fails here."""
    user = make_user("a@example.com")
    make_entry(user, okushinano, "100k", "5")
    auth.login("a@example.com")
    values = {
        "slug": okushinano.slug,
        "item_id": 1,
        "code": "100k",
        "departure_id": 1,
        "reference": "ABC-DEF",
        "alert_id": 1,
        "token": "a-token",
        "entry_id": 1,
        "number": 1,
        "upload_id": 1,
        "role_id": 1,
        "invitation_id": 1,
        "drop_out_id": 1,
    }
    changes = [
        (r, m)
        for r in app.url_map.iter_rules()
        for m in ("POST", "PUT", "PATCH", "DELETE")
        if m in r.methods
    ]
    assert len(changes) >= 10
    for rule, method in changes:
        url = rule.build({k: values[k] for k in rule.arguments}, append_unknown=False)[1]
        response = client.open(url, method=method, data={"packed": "1", "name": "x"})
        assert response.status_code == 400, (method, url)
        assert "expired" in response.get_data(as_text=True), url
