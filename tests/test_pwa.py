"""Installable and light: the manifest, versioned static files, the service worker's build."""

from __future__ import annotations

import json
import re

from raceapp import create_app
from tests.helpers import stylesheet_colours


def test_manifest_makes_the_app_installable_on_the_kit(client):
    response = client.get("/manifest.webmanifest")
    assert response.mimetype == "application/manifest+json"
    manifest = response.json
    assert manifest["display"] == "standalone" and manifest["start_url"] == "/me"
    assert manifest["name"] and manifest["short_name"] and manifest["theme_color"]
    sizes = {(i["sizes"], i["purpose"]) for i in manifest["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes
    for icon in manifest["icons"]:
        assert client.get(icon["src"]).status_code == 200
    page = client.get("/").get_data(as_text=True)
    for needed in (
        'rel="manifest"',
        'rel="apple-touch-icon"',
        "apple-mobile-web-app-capable",
        'name="theme-color"',
    ):
        assert needed in page


def test_splash_colours_are_the_page_s_and_every_iphone_launch_screen_exists(client):
    light, dark = stylesheet_colours()
    light_bg, dark_bg = light["bg"], dark["bg"]
    manifest = client.get("/manifest.webmanifest").json
    assert manifest["background_color"] == light_bg  # Android's splash: the page's own colour
    page = client.get("/").get_data(as_text=True)
    links = re.findall(
        r'<link rel="apple-touch-startup-image" media="([^"]+)" href="([^"]+)"', page
    )
    assert len(links) == 10
    for media, href in links:
        width, height, ratio = (
            int(x)
            for x in re.search(
                r"device-width: (\d+)px\) and \(device-height: (\d+)px\) and "
                r"\(-webkit-device-pixel-ratio: (\d)\)",
                media,
            ).groups()
        )
        scheme = re.search(r"prefers-color-scheme: (light|dark)", media).group(1)
        assert f"splash-{width * ratio}x{height * ratio}-{scheme}.png" in href
        image = client.get(href)
        assert image.status_code == 200 and image.data.startswith(b"\x89PNG")
    assert {light_bg, dark_bg} == {"#f3f4f1", "#0e1310"}


def test_static_files_have_versioned_urls_cached_for_a_year_and_compressed(client):
    page = client.get("/").get_data(as_text=True)
    css = re.search(r'href="(/static/app\.css\?v=[0-9a-f]{12})"', page).group(1)
    response = client.get(css, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert response.headers["Content-Encoding"] == "br"
    assert "immutable" in response.headers["Cache-Control"]
    assert "max-age=31536000" in response.headers["Cache-Control"]
    assert "no-cache" not in response.headers["Cache-Control"]
    assert "Accept-Encoding" in response.headers["Vary"]


def test_the_service_worker_carries_its_build_and_revalidates(client, app):
    response = client.get("/sw.js")
    assert response.headers["Service-Worker-Allowed"] == "/"
    assert response.headers["Cache-Control"] == "no-cache"
    build = json.loads(
        re.match(r"const BUILD = (\{.*\});", response.get_data(as_text=True)).group(1)
    )
    # The offline page in each language, so that a reader of either gets theirs.
    assert build["offline"] == {"ja": "/offline?lang=ja", "en": "/offline?lang=en"}
    assert set(build["offline"].values()) <= set(build["shell"])
    assert any("htmx" in url for url in build["shell"])
    assert any("messages.js" in url for url in build["shell"])
    assert all("?v=" in url for url in build["shell"] if url.startswith("/static/"))
    again = client.get("/sw.js", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304

    # A new release is a new worker version (phones then replace their shell).
    other = create_app(
        "testing",
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        RACEAPP_RELEASE="next",
    ).test_client()
    other_build = json.loads(
        re.match(r"const BUILD = (\{.*\});", other.get("/sw.js").get_data(as_text=True)).group(1)
    )
    assert other_build["version"] != build["version"]
    assert other_build["shell"] == build["shell"]
