"""One rule decides what a safe local URL is: after the browser's own clean-up, never another
host. Every redirect (login, preview) and every alert link goes through it."""

from __future__ import annotations

import pytest

from raceapp.links import is_safe_link, is_safe_local_url, safe_local_url
from tests.helpers import PASSWORD, csrf_from


@pytest.mark.parametrize(
    "target",
    [
        "/me",
        "/events/okushinano-100-2024?x=1#shuttles",
        "/me/alerts/3",
        "/%E6%97%A5",
    ],
)
def test_local_paths_are_safe(target):
    assert is_safe_local_url(target)


@pytest.mark.parametrize(
    "target",
    [
        "/\\evil.example",
        "//evil.example",
        "https:evil.example",
        "javascript:alert(1)",
        "/\t/evil.example",
        "/%09/evil.example",
        "/\n/evil.example",
        "\\\\evil.example",
        "/%2F/evil.example",
        "/%5Cevil.example",
        "https://evil.example/",
        "evil.example",
        "",
        None,
        42,
        "/x\r\nSet-Cookie: a=b",
        "/" + "a" * 3000,
        " /me",
    ],
)
def test_anything_that_could_leave_the_site_is_refused(target):
    assert not is_safe_local_url(target)
    assert safe_local_url(target, "/fallback") == "/fallback"


@pytest.mark.parametrize(
    "link, ok",
    [
        ("https://okushinano100.example/news", True),
        ("/events/okushinano-100-2024", True),
        ("http://plain.example/", False),
        ("https://[::1", False),
        ("https://evil.example\\@good.example/", False),
        ("https://good.example:8443/x", False),
        ("javascript:alert(1)", False),
        ("//evil.example", False),
    ],
)
def test_alert_links(link, ok):
    assert is_safe_link(link) is ok


def test_login_and_preview_redirects_use_the_rule(
    client, auth, make_user, okushinano, make_organizer
):
    make_user("a@example.com")
    for target in ("/\\evil.example", "/%09/evil.example", "//evil.example", "/me/gear"):
        response = client.post(
            f"/auth/login?next={target}",
            data={"email": "a@example.com", "password": PASSWORD, "csrf_token": auth.token()},
        )
        expected = "/me/gear" if target == "/me/gear" else "/me"
        assert response.headers["Location"] == expected, target
        auth.logout()
    make_organizer(okushinano)
    auth.login("organizer@example.com")
    for target, expected in (("/\\evil.example", "/events/okushinano-100-2024"), ("/me", "/me")):
        token = csrf_from(client.get("/organizer/").get_data(as_text=True))
        response = client.post(
            "/preview",
            data={
                "csrf_token": token,
                "event": "okushinano-100-2024",
                "as_of": "2024-06-08 11:00",
                "next": target,
            },
        )
        assert response.headers["Location"] == expected, target
