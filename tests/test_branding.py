"""A race's colour on its pages: taken from the race file, adjusted until white text on it and
it as text meet WCAG AA (4.5:1) in both themes, allowed by the page's policy by its hash only,
and a wrong colour refused by the checker with its line."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest

from raceapp.racefile.loader import check_text
from raceapp.services.branding import AA, DARK_SURFACES, LIGHT_SURFACES, WHITE, brand, contrast
from tests.helpers import ROOT, import_files, stylesheet_colours

OKUSHINANO = ROOT / "races" / "okushinano-100-2024.toml"


@pytest.mark.parametrize(
    "colour",
    ["#ffcc00", "#c2410c", "#1e3a8a", "#000000", "#ffffff", "#14532d", "#e11d48", "#7dd3fc"],
)
def test_every_colour_comes_out_within_contrast_limits(colour):
    tokens = brand(colour)
    assert contrast(tokens.fill, WHITE) >= AA  # white text on the header and buttons
    for surface in (WHITE, *LIGHT_SURFACES):
        assert contrast(tokens.text_light, surface) >= AA
    for surface in DARK_SURFACES:
        assert contrast(tokens.text_dark, surface) >= AA
    assert contrast(tokens.mark, tokens.fill) >= 3  # the wordmark's large bold "app"


def test_a_colour_with_enough_contrast_is_kept_as_it_is():
    assert brand("#1E3A8A").fill == "#1e3a8a"
    assert brand("#1e3a8a").text_light == "#1e3a8a"
    assert brand("#ffcc00").text_dark == "#ffcc00"  # yellow is readable on the dark theme
    assert brand("#ffcc00").fill != "#ffcc00"  # but white on yellow is not


def test_contrast_is_wcag_s_ratio():
    assert contrast("#000000", "#ffffff") == pytest.approx(21)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
    with pytest.raises(ValueError):
        brand("orange")


def test_the_surfaces_are_the_stylesheet_s():
    light, dark = stylesheet_colours()
    assert (light["card"], light["bg"]) == LIGHT_SURFACES
    assert (dark["card"], dark["bg"]) == DARK_SURFACES


def coloured(tmp_path, colour: str):
    text = OKUSHINANO.read_text().replace("[event]\n", f'[event]\ncolour = "{colour}"\n', 1)
    path = tmp_path / OKUSHINANO.name
    path.write_text(text)
    return path


def test_the_race_s_pages_take_its_colour_allowed_by_hash(app, client, tmp_path):
    import_files(coloured(tmp_path, "#ffcc00"))
    response = client.get("/events/okushinano-100-2024")
    page = response.get_data(as_text=True)
    style = re.search(r"<style>(.*?)</style>", page).group(1)
    tokens = brand("#ffcc00")
    assert f"--brand:{tokens.fill}" in style and f"--link:{tokens.text_dark}" in style
    assert (
        f'name="theme-color" media="(prefers-color-scheme: light)" content="{tokens.fill}"' in page
    )
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    policy = response.headers["Content-Security-Policy"]
    assert f"style-src 'self' 'sha256-{digest}';" in policy
    assert "unsafe-inline" not in policy
    # A page that is not the race's keeps the app's colours and the plain policy.
    other = client.get("/auth/login")
    assert "<style>" not in other.get_data(as_text=True)
    assert "style-src 'self';" in other.headers["Content-Security-Policy"]


def test_a_race_without_a_colour_has_the_app_s(app, client):
    import_files(OKUSHINANO)
    page = client.get("/events/okushinano-100-2024").get_data(as_text=True)
    assert "<style>" not in page


def test_a_wrong_colour_is_refused_with_its_line(app):
    text = OKUSHINANO.read_text().replace("[event]\n", '[event]\ncolour = "#ffcc0"\n', 1)
    report = check_text(text, "okushinano.toml")
    assert not report.ok
    [problem] = report.errors
    assert problem.path == "event.colour" and problem.code == "wrong-colour"
    assert problem.line == text.splitlines().index('colour = "#ffcc0"') + 1
