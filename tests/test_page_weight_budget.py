"""The page weight budget, counted without a browser: what a phone downloads on its first visit
to the kit home (the page, every style sheet and script it links, the service worker), as
sent gzip-compressed, stays under 60 KB in each language; a repeat visit answers 304s
(bench/page_weight.py measures both in Chromium on a slow link: docs/benchmarks.md)."""

from __future__ import annotations

import gzip
import re

import pytest

from raceapp.i18n import LANGUAGES

FIRST_VISIT_BUDGET = 60 * 1024
REPEAT_VISIT_BUDGET = 5 * 1024


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_first_visit_to_the_kit_home_stays_under_60_kb(
    client, auth, okushinano, make_user, make_entry, language
):
    make_entry(make_user("runner@example.com"), okushinano, "100k", "1001")
    auth.login("runner@example.com")
    headers = {"Accept-Encoding": "gzip", "Accept-Language": language}
    page = client.get("/me", headers=headers)
    assert page.status_code == 200
    compressed = page.headers.get("Content-Encoding") == "gzip"
    html = (gzip.decompress(page.data) if compressed else page.data).decode()
    assets = re.findall(
        r'<(?:script|link rel="stylesheet")[^>]+(?:src|href)="(/static/[^"]+)"', html
    )
    assert any(a.startswith("/static/app.css") for a in assets) and len(assets) >= 8
    sent = len(page.data)
    for url in [*assets, "/sw.js"]:
        response = client.get(url, headers=headers)
        assert response.status_code == 200, url
        sent += len(response.data)
    assert sent < FIRST_VISIT_BUDGET, f"{sent / 1024:.1f} KB"

    # A repeat visit: the page answers 304 to the phone that has it (static files are not even
    # asked for: their addresses carry their content's hash).
    again = client.get("/me", headers={**headers, "If-None-Match": page.headers["ETag"]})
    assert again.status_code == 304 and len(again.data) < REPEAT_VISIT_BUDGET
