"""The organizer's entry-list import: CSV files as Japanese registration sites export them
(CP932, Japanese headers), every problem reported with its line, nothing written unless the
whole file is right, and a re-import that updates entries without losing their runners."""

from __future__ import annotations

import csv
import io
import random
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from raceapp.errors import DomainError
from raceapp.extensions import db
from raceapp.models import AuditRecord, Category, Entry, GearItem, GearTick, Reminder
from raceapp.services import audit, claims, entry_import, gear
from raceapp.services.entry_import import (
    MAX_BYTES,
    MAX_ROWS,
    Summary,
    check,
    guess_mapping,
    read_table,
)
from tests.helpers import db_snapshot

# A month before the Okushinano 100 (2024-06-08), so a claimed entry has its evening reminder.
NOW = datetime(2024, 5, 1, 3, 0, tzinfo=timezone.utc)
LATER = NOW + timedelta(days=7)
HEADER = ["ゼッケン番号", "氏名", "メールアドレス", "種目", "電話番号", "緊急連絡先"]

# The log's lines about entries (the race's import from the command line is logged too).
ENTRY_LOG = AuditRecord.action.like("entr%")


def csv_bytes(
    rows: list[list[str]],
    header: list[str] | None = None,
    encoding: str = "utf-8",
    delimiter: str = ",",
) -> bytes:
    """A CSV file as a spreadsheet or a registration site writes it."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(HEADER if header is None else header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def plan_for(event, raw: bytes, filename: str = "entries.csv"):
    table = read_table(raw, filename)
    return check(event, table, guess_mapping(table.headers))


def run_import(event, raw: bytes, by, *, now: datetime = NOW, filename: str = "entries.csv"):
    plan = plan_for(event, raw, filename)
    assert plan.ok, plan.problems
    return entry_import.apply(event, plan, by, filename=filename, now=now)


def entries_of(event) -> dict[str, Entry]:
    db.session.expire_all()
    return {e.bib: e for e in db.session.scalars(select(Entry).where(Entry.event_id == event.id))}


def category(event, code: str) -> Category:
    return next(c for c in event.categories if c.code == code)


def where(plan) -> set[tuple[int | None, str | None]]:
    return {(p.line, p.field) for p in plan.problems}


@pytest.fixture
def organizer(okushinano, make_organizer):
    return make_organizer(okushinano)


# --- reading files ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "read_as", "name"),
    [
        ("utf-8", "UTF-8", "UTF-8"),
        ("utf-8-sig", "utf-8-sig", "UTF-8 (BOM)"),
        # 髙 is in CP932 (Windows' Shift-JIS) but not in plain Shift_JIS.
        ("cp932", "cp932", "Shift-JIS (CP932)"),
    ],
)
def test_files_in_each_encoding_store_the_names_exactly(
    okushinano, organizer, encoding, read_as, name
):
    names = ["山田 太郎", "髙橋　花子", "ﾀﾅｶ ｲﾁﾛｳ"]
    raw = csv_bytes(
        [
            ["1001", names[0], "Taro.Yamada@Runners.jp", "100km", "090-1234-5678", "山田花子"],
            ["2001", names[1], "hanako@runners.jp", "50 km", "", ""],
            ["3001", names[2], "", "25k", "", ""],
        ],
        encoding=encoding,
    )
    if encoding == "utf-8-sig":
        assert raw.startswith(b"\xef\xbb\xbf")
    table = read_table(raw, "entries.csv")
    assert table.encoding.lower() == read_as.lower() and table.encoding_name == name
    assert table.headers == HEADER and table.lines == [2, 3, 4]

    summary = entry_import.apply(
        okushinano,
        check(okushinano, table, guess_mapping(table.headers)),
        organizer,
        filename="entries.csv",
        now=NOW,
    )

    assert summary == Summary(added=3, updated=0, unchanged=0)
    stored = entries_of(okushinano)
    assert [stored[bib].name for bib in ("1001", "2001", "3001")] == names
    first = stored["1001"]
    assert first.email == "taro.yamada@runners.jp"
    assert (first.phone, first.emergency_contact) == ("090-1234-5678", "山田花子")
    assert [stored[bib].category.code for bib in ("1001", "2001", "3001")] == ["100k", "50k", "25k"]
    assert stored["3001"].email is None and stored["3001"].phone is None
    assert all(e.user_id is None and e.created_at == NOW == e.updated_at for e in stored.values())


@pytest.mark.parametrize("delimiter", [",", "\t", ";"])
def test_the_delimiter_is_found(okushinano, delimiter):
    raw = csv_bytes(
        [["1001", "Yamada, Taro", "", "100k", "", ""]], encoding="cp932", delimiter=delimiter
    )
    table = read_table(raw, "entries.txt")
    assert table.delimiter == delimiter
    assert table.rows == [["1001", "Yamada, Taro", "", "100k", "", ""]]


def test_cells_are_trimmed_blank_rows_skipped_and_lines_counted_in_the_file(okushinano):
    raw = (
        "ゼッケン,氏名,種目\r\n"
        "\r\n"
        " 1001 ,　山田 太郎　, 100k \r\n"
        ",,\r\n"
        '1002,"Multi\r\nline",50k\r\n'
        "1003,Sato,\r\n"
    ).encode()
    table = read_table(raw, "entries.csv")
    assert table.rows[0] == ["1001", "山田 太郎", "100k"]
    # The record with a line break in a quoted cell starts on line 5; the next one on 7.
    assert table.lines == [3, 5, 7]
    plan = check(okushinano, table, guess_mapping(table.headers))
    assert where(plan) == {(5, "name"), (7, "category")}
    assert "line break" in plan.problems[0].message


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b"PK\x03\x04" + random.Random(1).randbytes(4000), "spreadsheet workbook"),
        (b"\xd0\xcf\x11\xe0" + random.Random(2).randbytes(4000), "spreadsheet workbook"),
        (b"\x00\x01", "not a text file"),
        (b"bib,name\r\n1,\x00Yamada\r\n", "not a text file"),
        (b"%PDF-1.7\n" + bytes(range(1, 9)) * 50, "not a text file"),
        (b"bib,name,category\r\n1,\xff\xfe\xfd,100k\r\n", "neither UTF-8 nor Shift-JIS"),
    ],
)
def test_binary_files_are_refused_with_a_clear_message(okushinano, raw, words):
    with pytest.raises(DomainError) as refused:
        read_table(raw, "entries.xlsx")
    assert words in refused.value.message


def test_random_bytes_are_refused(okushinano):
    for seed in range(20):
        with pytest.raises(DomainError):
            read_table(random.Random(seed).randbytes(2000), "entries.csv")


def test_an_empty_or_headless_file_is_refused(okushinano):
    for raw in (b"", b" \r\n\r\n", "\ufeff".encode()):
        with pytest.raises(DomainError, match="empty"):
            read_table(raw, "entries.csv")
    with pytest.raises(DomainError, match="no entries"):
        read_table(csv_bytes([]), "entries.csv")


def test_a_file_over_the_size_limit_is_refused(okushinano):
    row = "1001,山田 太郎,taro@runners.jp,100k,090-1234-5678,山田花子\r\n".encode()
    raw = csv_bytes([]) + row * (3 * 1024 * 1024 // len(row))
    assert len(raw) > MAX_BYTES
    with pytest.raises(DomainError) as refused:
        read_table(raw, "entries.csv")
    assert "larger than 2 MB" in refused.value.message


def test_a_file_with_too_many_rows_is_refused(okushinano):
    raw = b"bib,name,category\n" + b"".join(b"%d,R,25k\n" % i for i in range(MAX_ROWS + 1))
    assert len(raw) < MAX_BYTES
    with pytest.raises(DomainError, match="more than 20,000 entries"):
        read_table(raw, "entries.csv")
    # Exactly the limit is fine.
    lines = raw.splitlines(keepends=True)
    assert len(read_table(b"".join(lines[:-1]), "entries.csv").rows) == MAX_ROWS


def test_fingerprint_names_the_upload(okushinano):
    raw = csv_bytes([["1", "A", "", "100k", "", ""]])
    assert entry_import.fingerprint(raw) == read_table(raw, "a.csv").sha256
    assert entry_import.fingerprint(raw) != entry_import.fingerprint(raw + b"\r\n2,B,,50k,,\r\n")


# --- which column is which ----------------------------------------------------------------


def test_mapping_from_japanese_headers_as_registration_sites_write_them():
    headers = [
        "No.",
        "ゼッケン番号",
        "氏名",
        "氏名（カナ）",
        "郵便番号",
        "種目",
        "メールアドレス",
        "携帯電話番号",
        "緊急連絡先氏名",
        "緊急連絡先電話番号",
    ]
    assert guess_mapping(headers) == {
        "bib": 1,
        "name": 2,
        "email": 6,
        "category": 5,
        "phone": 7,
        "emergency_contact": 9,
        "family_name": None,
        "given_name": None,
    }


def test_mapping_from_english_and_full_width_headers():
    assert guess_mapping(
        ["Phone number", "Bib Number", "Full Name", "Race", "E-mail", "Emergency contact"]
    ) == {
        "bib": 1,
        "name": 2,
        "email": 4,
        "category": 3,
        "phone": 0,
        "emergency_contact": 5,
        "family_name": None,
        "given_name": None,
    }
    mapping = guess_mapping(["ＢＩＢ", "ＮＡＭＥ", "カテゴリー", "メール"])
    assert (mapping["bib"], mapping["name"], mapping["category"], mapping["email"]) == (0, 1, 2, 3)
    # Nothing is guessed from headers that name none of the fields (a postal code is no bib).
    assert set(guess_mapping(["郵便番号", "住所", "性別"]).values()) == {None}


def test_family_and_given_name_columns_are_joined(okushinano, organizer):
    raw = csv_bytes(
        [["山田", "太郎", "ヤマダ", "タロウ", "100k", "1001"]],
        header=["姓", "名", "セイ", "メイ", "種目", "ナンバーカード"],
    )
    mapping = guess_mapping(read_table(raw, "a.csv").headers)
    assert (mapping["name"], mapping["family_name"], mapping["given_name"]) == (None, 0, 1)
    run_import(okushinano, raw, organizer)
    assert entries_of(okushinano)["1001"].name == "山田 太郎"
    # With a full-name column the two parts are not used.
    assert guess_mapping(["姓", "名", "氏名"])["family_name"] is None


def test_missing_columns_are_problems_of_the_whole_file(okushinano):
    plan = plan_for(
        okushinano, csv_bytes([["山田 太郎", "taro@runners.jp"]], header=["氏名", "e-mail"])
    )
    assert not plan.ok and plan.rows == []
    assert where(plan) == {(None, "bib"), (None, "category")}
    assert all("No column is chosen" in p.message for p in plan.problems)
    # A file of one column reads (a comma is assumed) and says what is missing.
    table = read_table(b"bib\n1001\n1002\n", "bibs.csv")
    assert (table.delimiter, table.headers) == (",", ["bib"])
    assert where(check(okushinano, table, guess_mapping(table.headers))) == {
        (None, "name"),
        (None, "category"),
    }


def test_a_mapping_with_a_column_twice_or_out_of_range_is_refused(okushinano):
    table = read_table(csv_bytes([["1", "A", "", "100k", "", ""]]), "a.csv")
    plan = check(okushinano, table, {"bib": 0, "name": 0, "category": 3})
    assert where(plan) == {(None, "name")} and "both" in plan.problems[0].message
    plan = check(okushinano, table, {"bib": 0, "name": 1, "category": 17})
    assert (None, "category") in where(plan)


# --- checking rows ------------------------------------------------------------------------


def test_every_problem_is_reported_with_its_line_and_nothing_is_written(okushinano, organizer):
    raw = csv_bytes(
        [
            ["1001", "山田 太郎", "taro@runners.jp", "100k", "", ""],  # 2: fine
            ["1002", "佐藤"],  # 3: too few cells
            ["", "鈴木 一郎", "", "50k", "", ""],  # 4: no bib
            ["1001", "田中 次郎", "", "50k", "", ""],  # 5: bib of line 2 again
            ["1005", "高橋 三郎", "", "200km", "", ""],  # 6: no such category
            ["1006", '=HYPERLINK("http://evil.example","x")', "", "25k", "", ""],  # 7
            ["1007", "伊藤 四郎", "ito@", "25k", "", ""],  # 8: not an address
            ["1008", "渡辺 五郎", "", "25k", "090-1234-5678 内線2", ""],  # 9: not a phone number
            ["1009.0", "中村 六郎", "", "25k", "", ""],  # 10: Excel made the bib a number
            ["1010", "名" * 121, "", "25k", "", ""],  # 11: too long
            ["1011", "小林 七郎", "", "", "", ""],  # 12: no category
            ["1012", "加藤 八郎", "", "25k", "", "-cmd|' /C calc'!A0"],  # 13: a formula
            ["1013", "吉田 九郎", "", "25k", "", "", "", "extra"],  # 14: shifted columns
            ["1014", "", "", "25k", "", ""],  # 15: no name
        ]
    )
    before = db_snapshot()
    plan = plan_for(okushinano, raw)

    assert not plan.ok
    assert where(plan) == {
        (3, None),
        (4, "bib"),
        (2, "bib"),
        (5, "bib"),
        (6, "category"),
        (7, "name"),
        (8, "email"),
        (9, "phone"),
        (10, "bib"),
        (11, "name"),
        (12, "category"),
        (13, "emergency_contact"),
        (14, None),
        (15, "name"),
    }
    assert [p.line for p in plan.problems] == sorted(p.line or 0 for p in plan.problems)
    says = {(p.line, p.field): p.message for p in plan.problems}
    assert "has 2 cells where the header has 6" in says[3, None]
    assert says[2, "bib"] == says[5, "bib"] and "lines 2, 5" in says[2, "bib"]
    assert "200km is not a category of this race" in says[6, "category"]
    assert "100 km, 50 km, 25 km" in says[6, "category"]
    assert "formulas are not accepted" in says[7, "name"]
    assert "formulas are not accepted" in says[13, "emergency_contact"]
    assert "at most 120" in says[11, "name"]
    assert "missing its quotes" in says[14, None]
    # Only rows without problems are planned, and a plan with problems is not applied.
    assert plan.rows == []
    with pytest.raises(DomainError, match="nothing was imported"):
        entry_import.apply(okushinano, plan, organizer, filename="entries.csv", now=NOW)
    assert db_snapshot() == before


def test_phone_numbers_as_people_write_them(okushinano, organizer):
    raw = csv_bytes(
        [
            ["1", "A", "", "100k", "+81 90-1234-5678", ""],
            ["2", "B", "", "100k", "０９０－１２３４－５６７８", ""],
            ["3", "C", "", "100k", "(03) 1234 5678", ""],
            ["4", "D", "", "100k", "090ー1234ー5678", ""],
            ["5", "E", "", "100k", "-", ""],
            ["6", "F", "", "100k", "9" * 41, ""],
        ]
    )
    plan = plan_for(okushinano, raw)
    assert where(plan) == {(6, "phone"), (7, "phone")}
    assert "at most 40" in plan.problems[1].message
    phones = {row.bib: row.phone for row in plan.rows}
    assert phones == {
        "1": "+81 90-1234-5678",
        "2": "090-1234-5678",
        "3": "(03) 1234 5678",
        "4": "090-1234-5678",
    }


def test_families_may_share_an_address_and_addresses_are_folded(okushinano, organizer):
    raw = csv_bytes(
        [
            ["1", "山田 太郎", "yamada.family@runners.jp", "100k", "", ""],
            ["2", "山田 花子", "Yamada.Family@Runners.jp", "50k", "", ""],
            ["3", "山田 一郎", "ｉｃｈｉｒｏ＠ｒｕｎｎｅｒｓ．ｊｐ", "kids", "", ""],
        ]
    )
    assert run_import(okushinano, raw, organizer) == Summary(3, 0, 0)
    emails = {bib: e.email for bib, e in entries_of(okushinano).items()}
    assert emails == {
        "1": "yamada.family@runners.jp",
        "2": "yamada.family@runners.jp",
        "3": "ichiro@runners.jp",
    }


def test_bibs_are_folded_and_a_bib_twice_in_any_case_is_a_duplicate(okushinano):
    raw = csv_bytes(
        [
            ["１００１", "A", "", "100k", "", ""],
            ["A12", "B", "", "100k", "", ""],
            ["a12", "C", "", "100k", "", ""],
        ]
    )
    plan = plan_for(okushinano, raw)
    assert where(plan) == {(3, "bib"), (4, "bib")}
    assert [row.bib for row in plan.rows] == ["1001"]


def test_a_category_is_found_by_code_name_translation_and_full_width_text(okushinano, organizer):
    long = category(okushinano, "100k")
    long.texts = {**(long.texts or {}), "name": {"en": "100 km", "ja": "ロング"}}
    db.session.commit()
    cells = ["100k", "100 km", "100KM", "１００ｋｍ", "１００　ｋｍ", "ロング", "ﾛﾝｸﾞ", " 100km "]
    raw = csv_bytes([[str(i), f"Runner {i}", "", cell, "", ""] for i, cell in enumerate(cells)])
    plan = plan_for(okushinano, raw)
    assert plan.ok, plan.problems
    assert {row.category_id for row in plan.rows} == {long.id}
    # The kids' category by its long English name, whatever the case and spaces.
    raw = csv_bytes([["9", "Kid", "", "elementary school student/PRESCHOOLER", "", ""]])
    assert plan_for(okushinano, raw).rows[0].category_id == category(okushinano, "kids").id


def test_a_category_name_two_categories_share_must_be_a_code(okushinano):
    category(okushinano, "50k").texts = {"name": {"en": "50 km", "ja": "ミドル"}}
    category(okushinano, "25k").texts = {"name": {"en": "25 km", "ja": "ミドル"}}
    db.session.commit()
    plan = plan_for(okushinano, csv_bytes([["1", "A", "", "ミドル", "", ""]]))
    assert where(plan) == {(2, "category")}
    assert "more than one category" in plan.problems[0].message
    assert "50k, 25k" in plan.problems[0].message


# --- applying -----------------------------------------------------------------------------


def test_each_new_entry_gets_its_own_claim_code_and_the_import_is_logged(okushinano, organizer):
    raw = csv_bytes([[str(1000 + i), f"Runner {i}", "", "100k", "", ""] for i in range(50)])
    assert run_import(okushinano, raw, organizer, filename="runnet-0501.csv") == Summary(50, 0, 0)
    stored = entries_of(okushinano)
    codes = {claims.code_for(e) for e in stored.values()}
    assert None not in codes and len(codes) == 50
    assert len({e.claim_code_sha256 for e in stored.values()}) == 50
    [record] = db.session.scalars(
        select(AuditRecord).where(ENTRY_LOG, AuditRecord.event_id == okushinano.id)
    )
    assert (record.action, record.user_id, record.at) == ("entries.imported", organizer.id, NOW)
    assert record.details == {"file": "runnet-0501.csv", "added": "50", "updated": "0"}
    assert audit.sentence(record) == (
        "Imported the entry list runnet-0501.csv: 50 added, 0 updated"
    )


def test_reimport_updates_a_claimed_entry_and_keeps_its_runner_code_and_ticks(
    okushinano, organizer, make_user
):
    first = csv_bytes(
        [
            ["1001", "山田 太郎", "taro@runners.jp", "100k", "090-1111-1111", ""],
            ["1002", "佐藤 花子", "hanako@runners.jp", "100k", "", ""],
            ["1003", "鈴木 一郎", "", "50k", "", ""],
        ]
    )
    run_import(okushinano, first, organizer)
    stored = entries_of(okushinano)
    runner = make_user("taro@runners.jp", "Taro")
    claimed = claims.claim_by_code(runner, okushinano, claims.code_for(stored["1001"]), now=NOW)
    claimed_id, claimed_at = claimed.id, claimed.claimed_at
    item = db.session.scalar(
        select(GearItem).where(GearItem.category_id == category(okushinano, "100k").id)
    )
    gear.tick(claimed, item.id, True, now=NOW)
    unclaimed_code = claims.code_for(stored["1002"])

    # The runner moved to the 50 km and changed phone; 1002 unchanged; 1003 renamed.
    second = csv_bytes(
        [
            ["1001", "山田 太郎", "taro@runners.jp", "50k", "090-2222-2222", "山田花子 090-3333"],
            ["1002", "佐藤 花子", "Hanako@Runners.jp", "100k", "", ""],
            ["1003", "鈴木 一朗", "", "50k", "", ""],
            ["1004", "新井 四郎", "", "25k", "", ""],
        ]
    )
    plan = plan_for(okushinano, second)
    assert (plan.to_add, plan.to_update, plan.unchanged, plan.not_in_file) == (1, 2, 1, 0)
    by_bib = {row.bib: row for row in plan.rows}
    assert by_bib["1001"].claimed and by_bib["1001"].changes == (
        "category",
        "phone",
        "emergency_contact",
    )
    assert by_bib["1003"].changes == ("name",)
    summary = entry_import.apply(okushinano, plan, organizer, filename="second.csv", now=LATER)
    assert summary == Summary(added=1, updated=2, unchanged=1)

    stored = entries_of(okushinano)
    moved = stored["1001"]
    assert (moved.id, moved.user_id, moved.claimed_at) == (claimed_id, runner.id, claimed_at)
    assert moved.category.code == "50k" and moved.phone == "090-2222-2222"
    assert moved.claim_code_sha256 is None and moved.updated_at == LATER
    assert db.session.scalar(
        select(GearTick.packed).where(
            GearTick.user_id == runner.id, GearTick.gear_item_id == item.id
        )
    )
    assert (
        db.session.scalar(select(Reminder.status).where(Reminder.entry_id == claimed_id))
        == "pending"
    )
    assert claims.code_for(stored["1002"]) == unclaimed_code
    assert stored["1002"].updated_at == NOW  # unchanged rows are not touched
    assert stored["1003"].name == "鈴木 一朗" and stored["1003"].updated_at == LATER
    assert claims.code_for(stored["1004"]) is not None
    records = db.session.scalars(
        select(AuditRecord)
        .where(ENTRY_LOG, AuditRecord.event_id == okushinano.id)
        .order_by(AuditRecord.id)
    ).all()
    assert [r.details for r in records] == [
        {"file": "entries.csv", "added": "3", "updated": "0"},
        {"file": "second.csv", "added": "1", "updated": "2"},
    ]


def test_entries_not_in_the_file_stay(okushinano, organizer):
    rows = [[str(1000 + i), f"Runner {i}", "", "100k", "", ""] for i in range(5)]
    run_import(okushinano, csv_bytes(rows), organizer)
    plan = plan_for(okushinano, csv_bytes(rows[:2]))
    assert (plan.to_add, plan.unchanged, plan.not_in_file) == (0, 2, 3)
    assert any("3 entries of this race are not in this file" in note for note in plan.notes)
    entry_import.apply(okushinano, plan, organizer, filename="part.csv", now=LATER)
    assert len(entries_of(okushinano)) == 5


def test_the_same_file_twice_changes_nothing_the_second_time(okushinano, organizer):
    raw = csv_bytes([["1001", "山田 太郎", "taro@runners.jp", "100k", "", ""]])
    run_import(okushinano, raw, organizer)
    code = claims.code_for(entries_of(okushinano)["1001"])
    assert run_import(okushinano, raw, organizer, now=LATER) == Summary(0, 0, 1)
    entry = entries_of(okushinano)["1001"]
    assert (entry.updated_at, claims.code_for(entry)) == (NOW, code)


def test_a_withdrawn_entry_is_updated_but_not_reinstated(okushinano, organizer):
    raw = csv_bytes([["1001", "山田 太郎", "", "100k", "", ""]])
    run_import(okushinano, raw, organizer)
    entries_of(okushinano)["1001"].withdrawn_at = NOW
    db.session.commit()
    plan = plan_for(okushinano, csv_bytes([["1001", "山田 太朗", "", "100k", "", ""]]))
    assert plan.rows[0].withdrawn and plan.not_in_file == 0
    assert any("does not reinstate" in note for note in plan.notes)
    entry_import.apply(okushinano, plan, organizer, filename="again.csv", now=LATER)
    entry = entries_of(okushinano)["1001"]
    assert entry.name == "山田 太朗" and entry.withdrawn_at == NOW


def test_a_bib_differing_only_in_case_updates_the_entry(okushinano, organizer):
    run_import(okushinano, csv_bytes([["A12", "Aki", "", "100k", "", ""]]), organizer)
    plan = plan_for(okushinano, csv_bytes([["a12", "Aki Sato", "", "100k", "", ""]]))
    assert (plan.to_add, plan.to_update) == (0, 1) and plan.rows[0].bib == "A12"
    entry_import.apply(okushinano, plan, organizer, filename="again.csv", now=LATER)
    assert {bib: e.name for bib, e in entries_of(okushinano).items()} == {"A12": "Aki Sato"}


def test_a_file_without_addresses_says_how_runners_claim(okushinano):
    plan = plan_for(okushinano, csv_bytes([["1", "A", "100k"]], header=["bib", "name", "race"]))
    assert plan.ok and any("claim codes" in note for note in plan.notes)
    plan = plan_for(okushinano, csv_bytes([["1", "A", "", "100k", "", ""]]))
    assert any("1 entry has no e-mail address" in note for note in plan.notes)


def test_a_category_removed_after_the_check_refuses_the_whole_import(okushinano, organizer):
    plan = plan_for(okushinano, csv_bytes([["1", "Kid", "", "kids", "", ""]]))
    db.session.delete(category(okushinano, "kids"))
    db.session.commit()
    with pytest.raises(DomainError, match="categories changed"):
        entry_import.apply(okushinano, plan, organizer, filename="a.csv", now=NOW)
    assert db.session.scalar(select(func.count()).select_from(Entry)) == 0
    assert db.session.scalar(select(func.count()).select_from(AuditRecord).where(ENTRY_LOG)) == 0


def test_a_reimport_without_a_column_keeps_what_the_list_had(okushinano, make_organizer):
    """An export without phones (or e-mails) updates names and categories and erases nothing."""
    from raceapp.services import entry_import as ei

    organizer = make_organizer(okushinano)
    first = b"bib,name,email,category,phone\r\n7,Aki,aki@example.com,100k,090-1\r\n"
    table = ei.read_table(first, "first.csv")
    ei.apply(
        okushinano,
        ei.check(okushinano, table, ei.guess_mapping(table.headers)),
        organizer,
        filename="first.csv",
        now=NOW,
    )
    second = b"bib,name,category\r\n7,Aki Tanaka,50k\r\n"
    table = ei.read_table(second, "second.csv")
    plan = ei.check(okushinano, table, ei.guess_mapping(table.headers))
    assert plan.ok and plan.to_update == 1
    assert any("keep what they have" in note for note in plan.notes)
    ei.apply(okushinano, plan, organizer, filename="second.csv", now=NOW)
    entry = db.session.scalar(select(Entry).where(Entry.bib == "7"))
    assert (entry.name, entry.category.code) == ("Aki Tanaka", "50k")
    assert (entry.email, entry.phone) == ("aki@example.com", "090-1")
