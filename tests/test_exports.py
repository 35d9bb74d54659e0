"""Spreadsheet exports open right in Excel on Japanese and English Windows: UTF-8 with a BOM,
CRLF line ends, the right columns, kanji intact, and no cell that runs as a formula."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from raceapp.extensions import db
from raceapp.models import Entry, OrganizerRole, ShuttleDeparture
from raceapp.services import shuttles
from raceapp.web.languages import COOKIE
from raceapp.web.spreadsheet import csv_text, safe_cell

BEFORE = datetime(2024, 5, 1, 12, 0, tzinfo=ZoneInfo("Asia/Tokyo"))  # Okushinano's month before


def as_excel_reads(body: bytes) -> list[list[str]]:
    """What Excel does with a CSV: a UTF-8 BOM says UTF-8 (else it would read Shift_JIS on
    Japanese Windows), records end with CRLF, fields follow RFC 4180 quoting."""
    assert body.startswith(b"\xef\xbb\xbf"), "no byte-order mark: Excel would read Shift_JIS"
    text = body[3:].decode("utf-8")
    records = text.split("\r\n")
    assert records[-1] == "", "the file ends with CRLF"
    assert all("\n" not in r or r.count('"') >= 2 for r in records), "a bare LF outside quotes"
    return list(csv.reader(io.StringIO(text, newline=""), dialect="excel"))


@pytest.mark.parametrize(
    "value, cell",
    [
        ("=1+2", "'=1+2"),
        ("+81 90 1234 5678", "'+81 90 1234 5678"),
        ("-5", "'-5"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("山田 太郎", "山田 太郎"),
        (None, ""),
        (42, "42"),
    ],
)
def test_no_cell_is_a_formula(value, cell):
    assert safe_cell(value) == cell


def test_quotes_commas_and_newlines_stay_in_their_cell():
    rows = as_excel_reads(csv_text(["a", "b"], [['Aki "fox", T', "two\nlines"]]).encode())
    assert rows == [["a", "b"], ['Aki "fox", T', "two\nlines"]]


@pytest.fixture
def listed(okushinano, make_user, make_entry, make_organizer, auth, frozen_clock):
    frozen_clock(BEFORE)
    runner = make_user("aki@example.com", "Aki")
    entry = make_entry(runner, okushinano, "100k", "1001")
    entry.name, entry.phone, entry.email = "山田 太郎", "+81 90 1234 5678", "aki@example.com"
    entry.emergency_contact = "山田 花子 090-0000-0000"
    db.session.add(
        Entry(
            event_id=okushinano.id,
            category_id=entry.category_id,
            bib="12",
            name='=HYPERLINK("http://x")',
            created_at=BEFORE,
        )
    )
    db.session.commit()
    departure = db.session.scalars(select(ShuttleDeparture).order_by(ShuttleDeparture.id)).first()
    shuttles.book(runner, departure.id, now=BEFORE, idempotency_key=None)
    make_organizer(okushinano)
    return {"event": okushinano, "entry": entry, "departure": departure}


def test_the_manifest_opens_in_excel_with_names_and_phones(client, auth, listed):
    auth.login("organizer@example.com")
    response = client.get(f"/organizer/departures/{listed['departure'].id}/manifest.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = as_excel_reads(response.get_data())
    assert rows[0] == ["Reference", "Name", "Bib", "Category", "Phone", "Booked at (Japan Time)"]
    (row,) = rows[1:]
    assert row[1:5] == ["山田 太郎", "1001", "100 km", "'+81 90 1234 5678"]
    assert "no-store" in response.headers["Cache-Control"]
    client.set_cookie(COOKIE, "ja")
    rows = as_excel_reads(
        client.get(f"/organizer/departures/{listed['departure'].id}/manifest.csv").get_data()
    )
    assert rows[0] == ["予約番号", "氏名", "ゼッケン", "種目", "電話番号", "予約日時（日本時間）"]


def test_the_entry_list_opens_in_excel_and_hides_contacts_from_read_only(
    client, auth, listed, make_user
):
    auth.login("organizer@example.com")
    response = client.get("/organizer/events/okushinano-100-2024/entries.csv")
    assert response.status_code == 200
    rows = as_excel_reads(response.get_data())
    assert rows[0] == [
        "Bib",
        "Name",
        "Category",
        "Status",
        "E-mail",
        "Phone",
        "Emergency contact",
    ]
    by_bib = {row[0]: row for row in rows[1:]}
    assert by_bib["1001"][1:] == [
        "山田 太郎",
        "100 km",
        "claimed",
        "aki@example.com",
        "'+81 90 1234 5678",
        "山田 花子 090-0000-0000",
    ]
    assert by_bib["12"][1] == '\'=HYPERLINK("http://x")' and by_bib["12"][3] == "not claimed"
    assert list(by_bib) == ["12", "1001"]  # bibs as numbers
    # A read-only member gets the list without anyone's contacts.
    auth.logout()
    member = make_user("member@example.com")
    db.session.add(OrganizerRole(user_id=member.id, event_id=listed["event"].id, role="read_only"))
    db.session.commit()
    auth.login("member@example.com")
    rows = as_excel_reads(
        client.get("/organizer/events/okushinano-100-2024/entries.csv").get_data()
    )
    assert rows[0] == ["Bib", "Name", "Category", "Status"]
    assert not any("aki@example.com" in cell for row in rows for cell in row)
