"""A race's logo from its race file: an SVG document or a data: URI of a PNG, JPEG or WebP
image, checked with its line; kept apart from the event, served at an address that carries
its version, where nothing in it can run; gone when the file no longer gives it."""

from __future__ import annotations

import base64
import re

import pytest
from sqlalchemy import select

from raceapp.extensions import db
from raceapp.models import EventLogo
from raceapp.racefile.loader import check_text
from raceapp.racefile.logo import MAX_LOGO_BYTES, LogoProblem, read_logo
from tests.helpers import ROOT, import_files

OKUSHINANO = ROOT / "races" / "okushinano-100-2024.toml"
SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10">'
    '<circle cx="5" cy="5" r="4" fill="#c2410c"/></svg>'
)
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def with_logo(text: str) -> str:
    return OKUSHINANO.read_text().replace("[event]\n", f"[event]\nlogo = '''{text}'''\n", 1)


def write(tmp_path, text: str):
    path = tmp_path / OKUSHINANO.name
    path.write_text(text)
    return path


def test_an_svg_and_a_png_data_uri_are_read():
    assert read_logo(SVG).content_type == "image/svg+xml"
    uri = "data:image/png;base64," + base64.b64encode(PNG).decode()
    logo = read_logo(uri)
    assert (logo.content_type, logo.data) == ("image/png", PNG)
    assert re.fullmatch(r"[0-9a-f]{12}\.png", logo.version)


@pytest.mark.parametrize(
    "text,code",
    [
        ("logo.png", "logo-form"),
        ("<html><body>hi</body></html>", "logo-not-svg"),
        ("<svg xmlns='http://www.w3.org/2000/svg'>", "logo-not-svg"),
        (
            "<!DOCTYPE svg [<!ENTITY a 'aaaa'>]><svg xmlns='http://www.w3.org/2000/svg'>&a;</svg>",
            "logo-not-svg",
        ),
        ("data:image/png;base64," + base64.b64encode(b"GIF89a....").decode(), "logo-not-image"),
        ("data:image/gif;base64," + base64.b64encode(b"GIF89a....").decode(), "logo-type"),
        ("data:image/png;base64,@@@not base64", "logo-form"),
        (SVG.replace("</svg>", "<!--" + "x" * MAX_LOGO_BYTES + "--></svg>"), "logo-too-large"),
    ],
)
def test_a_logo_the_app_cannot_use_is_refused(text, code):
    with pytest.raises(LogoProblem) as refused:
        read_logo(text)
    assert refused.value.code == code


def test_the_checker_names_the_line_of_a_wrong_logo():
    text = with_logo("logo.png")
    report = check_text(text, "okushinano.toml")
    [problem] = report.errors
    assert (problem.path, problem.code) == ("event.logo", "logo-form")
    assert problem.line == next(i for i, line in enumerate(text.splitlines(), 1) if "logo" in line)


def test_the_race_pages_show_the_logo_at_its_versioned_address(app, client, tmp_path):
    import_files(write(tmp_path, with_logo(SVG)))
    page = client.get("/events/okushinano-100-2024").get_data(as_text=True)
    src = re.search(r'<img class="race-logo" src="([^"]+)"', page).group(1)
    assert re.fullmatch(r"/logos/okushinano-100-2024\.svg\?v=[0-9a-f]{12}", src)
    served = client.get(src)
    assert served.status_code == 200 and served.mimetype == "image/svg+xml"
    assert served.get_data(as_text=True) == SVG
    assert "immutable" in served.headers["Cache-Control"]
    # Opened on its own, nothing in the SVG may run or load.
    assert served.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert "sandbox" in served.headers["Content-Security-Policy"]
    again = client.get(src, headers={"If-None-Match": served.headers["ETag"]})
    assert again.status_code == 304
    # Without its version (or with an old one) the address must be revalidated.
    assert "no-cache" in client.get("/logos/okushinano-100-2024.svg").headers["Cache-Control"]
    assert client.get("/logos/okushinano-100-2024.png").status_code == 404
    assert client.get("/logos/no-such-race.svg").status_code == 404


def test_a_new_file_without_the_logo_takes_it_away(app, client, tmp_path):
    import_files(write(tmp_path, with_logo(SVG)))
    assert db.session.scalar(select(EventLogo)) is not None
    import_files(OKUSHINANO)
    assert db.session.scalar(select(EventLogo)) is None
    page = client.get("/events/okushinano-100-2024").get_data(as_text=True)
    assert "race-logo" not in page
    assert client.get("/logos/okushinano-100-2024.svg").status_code == 404


def test_a_changed_logo_gets_a_new_address(app, client, tmp_path):
    import_files(write(tmp_path, with_logo(SVG)))
    first = re.search(r'src="(/logos/[^"]+)"', client.get("/events/okushinano-100-2024").text)
    uri = "data:image/png;base64," + base64.b64encode(PNG).decode()
    import_files(write(tmp_path, with_logo(uri)))
    second = re.search(r'src="(/logos/[^"]+)"', client.get("/events/okushinano-100-2024").text)
    assert first.group(1) != second.group(1) and ".png?v=" in second.group(1)
    assert client.get(second.group(1)).data == PNG
