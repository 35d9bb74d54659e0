"""The organizer's entry list, imported from a CSV file (RUNNET, moshicom or a spreadsheet).

Three steps; the first two only read:

1. `read_table(raw, filename)` decodes the upload (UTF-8 with or without BOM, UTF-16 with a
   BOM, else Shift-JIS as CP932, the way Japanese registration sites and Excel export it),
   finds the delimiter and returns the header and the rows with their line numbers. A file that
   is empty, too large, too long or not text is refused with a `DomainError`.
2. `guess_mapping(table.headers)` proposes which column holds each of `FIELDS`, from Japanese
   and English header names; the organizer may correct it. `check(event, table, mapping)`
   validates every row and returns a `Plan`: what would be added, updated or left unchanged,
   and every problem with its line, so the organizer can fix the file before anything changes.
3. `apply(event, plan, by, filename=..., now=...)` writes a plan without problems in one
   transaction: every row or none. Entries are matched by bib; a re-import updates a runner's
   details and category but never deletes or recreates an entry, so a claimed entry keeps its
   runner, and their gear ticks and bookings (which hang off the runner) stay. Entries that are
   not in the file are left as they are (`Plan.not_in_file` counts them).

Between the preview and the confirmation (two requests) the view keeps the uploaded bytes on
the server (a row of its own, or a file in the instance folder named by `fingerprint(raw)`: a
2 MB file fits in neither a hidden field nor the session). On confirmation it runs `read_table`
and `check` again on them and applies that fresh plan, which reflects the entries as they are
by then; `Plan.sha256` (the fingerprint) shows that the confirmed file is the one previewed.
`apply` reads the entries again by bib inside its transaction, so its `Summary` is what really
changed.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from raceapp.database import write_transaction
from raceapp.errors import Conflict, DomainError
from raceapp.extensions import db
from raceapp.i18n import format_number, text_of
from raceapp.models import Category, Entry, Event, User
from raceapp.services import audit, claims, race_state, reminders
from raceapp.services.accounts import BIB_RE, EMAIL_RE, normalise_email

# The largest upload read: some 7,000 entries even of a wide export (addresses and all, about
# 300 bytes a row), more than a trail race's field, and small enough to keep on the server
# between preview and confirmation. A longer list can be split: imports add up.
MAX_BYTES = 2 * 1024 * 1024
# Rows after the header; a longer file is a mistake (or should be split: imports add up).
MAX_ROWS = 20_000

FIELDS = ("bib", "name", "email", "category", "phone", "emergency_contact")
REQUIRED = ("bib", "name", "category")
# "姓" and "名" in two columns, joined (family name first) when no column holds the full name.
NAME_PARTS = ("family_name", "given_name")
# Every key of a mapping: what a mapping form offers a column choice for.
MAPPABLE = FIELDS + NAME_PARTS

FIELD_LABELS = {
    "bib": _l("bib number"),
    "name": _l("name"),
    "email": _l("e-mail address"),
    "category": _l("category"),
    "phone": _l("phone number"),
    "emergency_contact": _l("emergency contact"),
    "family_name": _l("family name"),
    "given_name": _l("given name"),
}

# The columns' lengths in models.Entry.
MAX_LENGTHS = {"name": 120, "email": 254, "phone": 40, "emergency_contact": 200}

ENCODING_NAMES = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 (BOM)",
    "utf-16": "UTF-16",
    "cp932": "Shift-JIS (CP932)",
}
DELIMITERS = ",\t;"

# Header names, compared after _key(): exact names first, then names a header contains.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "bib": (
        "ゼッケン",
        "ゼッケン番号",
        "ゼッケンno",
        "ナンバーカード",
        "ナンバーカード番号",
        "ナンバー",
        "番号",
        "bib",
        "bibnumber",
        "bibno",
        "racenumber",
        "number",
    ),
    "name": ("氏名", "名前", "お名前", "選手名", "氏名漢字", "name", "fullname", "runner"),
    "email": (
        "メールアドレス",
        "メール",
        "eメール",
        "eメールアドレス",
        "email",
        "emailaddress",
        "mail",
        "mailaddress",
    ),
    "category": (
        "種目",
        "参加種目",
        "エントリー種目",
        "部門",
        "カテゴリー",
        "カテゴリ",
        "コース",
        "category",
        "race",
        "distance",
        "course",
    ),
    "phone": ("電話番号", "携帯電話", "携帯電話番号", "携帯番号", "電話", "phone", "mobile", "tel"),
    "emergency_contact": (
        "緊急連絡先",
        "緊急連絡先電話番号",
        "緊急連絡先電話",
        "emergencycontact",
        "emergency",
    ),
    "family_name": ("姓", "氏", "苗字", "名字", "姓漢字", "lastname", "familyname", "surname"),
    "given_name": ("名", "名漢字", "firstname", "givenname"),
}
# Only these are looked for inside longer headers: "番号" or "number" alone would take the
# phone number or the postal code, "race" the race number, "名" any header with a name in it.
CONTAINED: dict[str, tuple[str, ...]] = {
    "bib": ("ゼッケン", "ナンバーカード", "bib", "racenumber"),
    "name": ("氏名", "名前", "選手名", "fullname", "name"),
    "email": ("メール", "email", "mail"),
    "category": ("種目", "部門", "カテゴリ", "コース", "category", "distance", "course"),
    "phone": ("電話", "携帯", "phone", "mobile", "tel"),
    "emergency_contact": ("緊急", "emergency"),
}
# A header with one of these in it is not that field, whatever else it contains.
NOT_CONTAINED: dict[str, tuple[str, ...]] = {
    "name": (
        "カナ",
        "かな",
        "フリガナ",
        "ふりがな",
        "ローマ字",
        "kana",
        "furigana",
        "romaji",
        "team",
        "club",
        "チーム",
        "所属",
        "緊急",
        "emergency",
        "大会",
        "event",
        "race",
        "ゼッケン",
        "ナンバーカード",
        "bib",
    ),
    "email": ("緊急", "emergency"),
    "phone": ("緊急", "emergency"),
}
_KEY_DROPS = set("-_./・:()[]【】「」*※'\"")

# A cell a spreadsheet would run as a formula when the list is exported and opened again.
_FORMULA_START = ("=", "@")
_SIGNED = ("+", "-")
_PHONE_RE = re.compile(r"^[0-9 ()+\-]+$")
# Dashes people type in phone numbers (after NFKC): hyphen, dashes, minus, the long vowel mark.
_DASHES = str.maketrans(dict.fromkeys("‐‑‒–—―−ー", "-"))
# What Python's CP932 codec makes of the bytes 0xA0 and 0xFD-0xFF, which Shift-JIS leaves
# undefined: private-use characters no text has, so such a file is not CP932.
_CP932_UNDEFINED = frozenset("\uf8f0\uf8f1\uf8f2\uf8f3")
# File signatures of what people upload instead of the CSV.
_WORKBOOKS = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")


@dataclass(frozen=True)
class Table:
    """An uploaded file read as text: the header and the rows, with their line numbers."""

    headers: list[str]
    rows: list[list[str]]
    # lines[i] is the line of the file where rows[i] starts (the header is usually line 1).
    lines: list[int]
    encoding: str
    delimiter: str
    filename: str
    sha256: str
    header_line: int = 1

    @property
    def encoding_name(self) -> str:
        """The encoding as the preview names it: "Shift-JIS (CP932)"."""
        return ENCODING_NAMES.get(self.encoding, self.encoding)

    def numbered(self) -> Iterator[tuple[int, list[str]]]:
        """Each row with its line number."""
        return zip(self.lines, self.rows, strict=True)


@dataclass(frozen=True)
class RowProblem:
    """What is wrong with one line of the file (`line` None: with the file or the mapping)."""

    line: int | None
    field: str | None
    message: str


@dataclass(frozen=True)
class PlannedRow:
    """One valid row and what importing it does."""

    line: int
    bib: str
    name: str
    email: str | None
    category_id: int
    phone: str | None
    emergency_contact: str | None
    action: str  # "add", "update" or "unchanged"
    entry_id: int | None = None
    # The fields an update changes, for the preview.
    changes: tuple[str, ...] = ()
    claimed: bool = False
    withdrawn: bool = False


@dataclass
class Plan:
    """The checked file: its rows, its problems and what importing it would change."""

    rows: list[PlannedRow] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    to_add: int = 0
    to_update: int = 0
    unchanged: int = 0
    # Entries of the event (with a bib, not withdrawn) that the file does not list: they stay.
    not_in_file: int = 0
    # Sentences for the preview that are not problems (no e-mail column, withdrawn entries).
    notes: list[str] = field(default_factory=list)
    sha256: str = ""
    filename: str = ""

    @property
    def ok(self) -> bool:
        """Whether the plan may be applied."""
        return not self.problems


@dataclass(frozen=True)
class Summary:
    """What an import changed."""

    added: int
    updated: int
    unchanged: int


def fingerprint(raw: bytes) -> str:
    """The upload's SHA-256 (hex): the name to keep it under between preview and confirm."""
    return hashlib.sha256(raw).hexdigest()


# --- reading the file ---------------------------------------------------------------------


def read_table(raw: bytes, filename: str) -> Table:
    """Decode and parse an uploaded CSV file, or refuse it with a DomainError."""
    if not raw.strip():
        raise DomainError(_("The file is empty. Export the entry list again and upload it."))
    if len(raw) > MAX_BYTES:
        raise DomainError(
            _(
                "The file is larger than %(limit)s MB, the most that can be imported at once. "
                "Split the list into several files, each with the header row, and import each.",
                limit=MAX_BYTES // 1024 // 1024,
            )
        )
    if raw.startswith(_WORKBOOKS):
        raise DomainError(
            _(
                "This is a spreadsheet workbook, not a CSV file. Save it as CSV (in Excel: "
                "File, Save As, CSV UTF-8) and upload that file."
            )
        )
    text, encoding = _decode(raw)
    delimiter = _delimiter(text)
    headers: list[str] | None = None
    header_line = 1
    rows: list[list[str]] = []
    lines: list[int] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    start = 1
    try:
        for record in reader:
            # The record began on the line after the previous one ended (cells may span lines).
            line, start = start, reader.line_num + 1
            cells = [cell.strip() for cell in record]
            if not any(cells):
                continue
            if headers is None:
                headers, header_line = cells, line
                continue
            if len(rows) == MAX_ROWS:
                raise DomainError(
                    _(
                        "The file has more than %(limit)s entries. Split it into several files, "
                        "each with the header row, and import each.",
                        limit=format_number(MAX_ROWS),
                    )
                )
            rows.append(cells)
            lines.append(line)
    except csv.Error as error:
        raise DomainError(
            _(
                "Line %(line)s cannot be read as CSV (%(error)s). Check its quotes, or export "
                "the list again.",
                line=start,
                error=str(error),
            )
        ) from None
    if headers is None:
        raise DomainError(_("The file is empty. Export the entry list again and upload it."))
    if not rows:
        raise DomainError(
            _("The file has a header row but no entries. Export the entry list again.")
        )
    return Table(
        headers=headers,
        rows=rows,
        lines=lines,
        encoding=encoding,
        delimiter=delimiter,
        filename=filename,
        sha256=fingerprint(raw),
        header_line=header_line,
    )


def _not_text() -> DomainError:
    return DomainError(
        _(
            "This file is not a text file. Export the entry list as CSV (comma or tab "
            "separated) and upload that."
        )
    )


def _decode(raw: bytes) -> tuple[str, str]:
    """The text and the codec that read it: UTF-8 (BOM or not), UTF-16 with a BOM, CP932."""
    candidates: tuple[str, ...]
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # Excel's "Unicode text": the only encoding here with NUL bytes in it.
        candidates = ("utf-16",)
    elif b"\x00" in raw:
        raise _not_text()
    elif raw.startswith(codecs.BOM_UTF8):
        candidates = ("utf-8-sig",)
    else:
        candidates = ("utf-8", "cp932")
    for encoding in candidates:
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        if encoding == "cp932" and any(ch in _CP932_UNDEFINED for ch in text):
            continue
        # Old Windows tools end a file with Ctrl-Z; any other control character is binary
        # (CP932 reads most bytes as something, so this is what tells noise from text).
        text = text.rstrip("\x1a")
        if any(_is_control(ch) and ch not in "\t\r\n" for ch in text):
            raise _not_text()
        return text, encoding
    raise DomainError(
        _(
            "The file's characters cannot be read: it is neither UTF-8 nor Shift-JIS. Export "
            "the entry list again as CSV (UTF-8 if you can choose)."
        )
    )


def _is_control(ch: str) -> bool:
    return unicodedata.category(ch) == "Cc"


def _delimiter(text: str) -> str:
    """Comma, tab or semicolon: what csv.Sniffer finds, if the header has it; else the one the
    header has most of; else a comma (a file of one column)."""
    # A small sample: the sniffer's work grows fast with its input (a crafted 64 KB line takes
    # seconds), and a few lines tell the delimiter.
    sample_lines = [line for line in text[:4096].splitlines()[:20] if line.strip()]
    if not sample_lines:
        return ","
    header = sample_lines[0]
    try:
        found = csv.Sniffer().sniff("\n".join(sample_lines), delimiters=DELIMITERS).delimiter
        if found in header:
            return found
    except csv.Error:
        pass
    counts = {candidate: header.count(candidate) for candidate in DELIMITERS}
    best = max(DELIMITERS, key=lambda candidate: counts[candidate])
    return best if counts[best] else ","


# --- which column is which ----------------------------------------------------------------


def _key(text: str) -> str:
    """A name as compared: full-width folded (NFKC), any case, no spaces or punctuation."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in folded if not ch.isspace() and ch not in _KEY_DROPS)


def guess_mapping(headers: list[str]) -> dict[str, int | None]:
    """Which column (0-based) holds each field and name part, from the header names."""
    keys = [_key(header) for header in headers]
    mapping: dict[str, int | None] = dict.fromkeys(MAPPABLE)
    used: set[int] = set()
    # Exact names first, in FIELDS order, so "電話番号" is the phone and not a bib "番号".
    for name in MAPPABLE:
        synonyms = {_key(s) for s in SYNONYMS[name]}
        for index, key in enumerate(keys):
            if index not in used and key in synonyms:
                mapping[name] = index
                used.add(index)
                break
    # Then headers that contain a name, longest match first: "緊急連絡先電話" is the
    # emergency contact (5 characters) rather than a phone (2).
    candidates = []
    for name, contained in CONTAINED.items():
        if mapping[name] is not None:
            continue
        excluded = [_key(word) for word in NOT_CONTAINED.get(name, ())]
        for index, key in enumerate(keys):
            if index in used or any(word in key for word in excluded):
                continue
            score = max((len(_key(s)) for s in contained if _key(s) in key), default=0)
            if score:
                candidates.append((-score, index, name))
    for _score, index, name in sorted(candidates):
        if mapping[name] is None and index not in used:
            mapping[name] = index
            used.add(index)
    # Two name columns are only for when no column holds the whole name.
    if mapping["name"] is not None or None in (mapping["family_name"], mapping["given_name"]):
        mapping["family_name"] = mapping["given_name"] = None
    return mapping


# --- checking the rows --------------------------------------------------------------------


def _looks_like_formula(value: str) -> bool:
    """Whether a spreadsheet would run the cell: "=", "@", or "+"/"-" before something other
    than a digit or a space ("+81 90…" and "-5" are data, "+A1" and "-cmd|…" are not)."""
    if not value:
        return False
    # A leading tab or carriage return also starts one (cells are stripped, but this check
    # must not depend on it).
    if value.startswith(_FORMULA_START) or value[0] in "\t\r":
        return True
    return value[0] in _SIGNED and len(value) > 1 and not (value[1].isdigit() or value[1] == " ")


def _category_index(categories: list[Category]) -> dict[str, set[int]]:
    """Each way of writing a category (its code, its name in every language) to its ids."""
    index: dict[str, set[int]] = {}
    for category in categories:
        names = [category.code, category.name]
        translated = (category.texts or {}).get("name")
        if isinstance(translated, dict):
            names.extend(str(value) for value in translated.values())
        elif isinstance(translated, str):
            names.append(translated)
        for name in names:
            if name and _key(name):
                index.setdefault(_key(name), set()).add(category.id)
    return index


def _plan_problem(field_name: str | None, message: str) -> RowProblem:
    return RowProblem(None, field_name, message)


def _check_mapping(table: Table, mapping: Mapping[str, int | None]) -> list[RowProblem]:
    """What is wrong with the chosen columns (nothing can be checked row by row then)."""
    problems = []
    chosen: dict[int, str] = {}
    for name in MAPPABLE:
        index = mapping.get(name)
        if index is None:
            continue
        if not isinstance(index, int) or not 0 <= index < len(table.headers):
            problems.append(
                _plan_problem(
                    name,
                    _(
                        "The column chosen for the %(field)s is not in the file. Choose it again.",
                        field=FIELD_LABELS[name],
                    ),
                )
            )
        elif index in chosen:
            problems.append(
                _plan_problem(
                    name,
                    _(
                        "Column %(column)s is chosen for both the %(first)s and the %(second)s. "
                        "Choose one column for each.",
                        column=table.headers[index] or str(index + 1),
                        first=FIELD_LABELS[chosen[index]],
                        second=FIELD_LABELS[name],
                    ),
                )
            )
        else:
            chosen[index] = name
    has_name = mapping.get("name") is not None or all(
        mapping.get(part) is not None for part in NAME_PARTS
    )
    for name in REQUIRED:
        if mapping.get(name) is None and not (name == "name" and has_name):
            problems.append(
                _plan_problem(
                    name,
                    _(
                        "No column is chosen for the %(field)s, which every entry needs. "
                        "Choose the column that holds it.",
                        field=FIELD_LABELS[name],
                    ),
                )
            )
    return problems


@dataclass(frozen=True)
class _Values:
    """One row's values as they would be stored."""

    name: str
    email: str | None
    category_id: int
    phone: str | None
    emergency_contact: str | None


@dataclass(frozen=True)
class _Context:
    """What checking a row needs besides the row."""

    table: Table
    columns: dict[str, int | None]
    needed: int
    categories: list[Category]
    by_key: dict[str, set[int]]
    offered: str


def check(event: Event, table: Table, mapping: Mapping[str, int | None]) -> Plan:
    """Check every row of the table against the event; nothing is written."""
    plan = Plan(sha256=table.sha256, filename=table.filename)
    categories = list(event.categories)
    if not categories:
        plan.problems.append(
            _plan_problem(
                "category",
                _(
                    "This event has no categories yet. Publish its race file with the "
                    "categories, then import the entry list."
                ),
            )
        )
    plan.problems.extend(_check_mapping(table, mapping))
    if plan.problems:
        return plan

    columns = {name: mapping.get(name) for name in MAPPABLE}
    context = _Context(
        table=table,
        columns=columns,
        needed=max(index for index in columns.values() if index is not None) + 1,
        categories=categories,
        by_key=_category_index(categories),
        offered=", ".join(text_of(category) for category in categories),
    )
    existing = list(
        db.session.scalars(select(Entry).where(Entry.event_id == event.id, Entry.bib.is_not(None)))
    )
    exact = {entry.bib: entry for entry in existing}
    folded = {str(entry.bib).upper(): entry for entry in existing}
    kept = [name for name in OPTIONAL_KEPT if columns.get(name) is None]
    bib_lines: dict[str, list[int]] = {}

    for line, cells in table.numbered():
        bib, values, problems = _check_row(line, cells, context)
        if bib is not None:
            bib_lines.setdefault(bib.upper(), []).append(line)
        plan.problems.extend(problems)
        if bib is None or values is None or problems:
            continue
        entry = exact.get(bib) or folded.get(bib.upper())
        if entry is not None and kept:
            # A column the file does not have keeps what the list had (an export without
            # phones must not erase them).
            kept_values: dict[str, Any] = {name: _current(entry, name) for name in kept}
            values = replace(values, **kept_values)
        changes = () if entry is None else _changes(entry, values)
        if entry is None:
            action = "add"
        else:
            action = "update" if changes else "unchanged"
        plan.rows.append(
            PlannedRow(
                line=line,
                # An existing entry keeps its bib as the app has it ("a12" matches "A12").
                bib=entry.bib if entry is not None and entry.bib else bib,
                name=values.name,
                email=values.email,
                category_id=values.category_id,
                phone=values.phone,
                emergency_contact=values.emergency_contact,
                action=action,
                entry_id=entry.id if entry is not None else None,
                changes=changes,
                claimed=entry is not None and entry.user_id is not None,
                withdrawn=entry is not None and entry.withdrawn_at is not None,
            )
        )

    for lines in bib_lines.values():
        if len(lines) > 1:
            listed = ", ".join(str(number) for number in lines)
            plan.problems.extend(
                RowProblem(
                    line,
                    "bib",
                    _(
                        "This bib number is on lines %(lines)s: each bib may appear only once.",
                        lines=listed,
                    ),
                )
                for line in lines
            )
    plan.problems.sort(key=lambda problem: problem.line or 0)
    # Plan.rows holds only rows without a problem (a duplicate bib is found after its rows).
    wrong = {problem.line for problem in plan.problems}
    plan.rows = [row for row in plan.rows if row.line not in wrong]
    plan.to_add = sum(row.action == "add" for row in plan.rows)
    plan.to_update = sum(row.action == "update" for row in plan.rows)
    plan.unchanged = sum(row.action == "unchanged" for row in plan.rows)
    plan.not_in_file = sum(
        1
        for entry in existing
        if entry.withdrawn_at is None and str(entry.bib).upper() not in bib_lines
    )
    plan.notes = _notes(plan, mapping)
    return plan


def _check_row(
    line: int, cells: list[str], context: _Context
) -> tuple[str | None, _Values | None, list[RowProblem]]:
    """One row's bib (if it is a valid one), its values (if all are valid) and its problems."""
    problems: list[RowProblem] = []

    def problem(name: str | None, message: str) -> None:
        problems.append(RowProblem(line, name, message))

    headers = len(context.table.headers)
    if len(cells) < context.needed:
        problem(
            None,
            _(
                "This row has %(cells)s cells where the header has %(columns)s. A comma, a "
                "quote or a value may be missing.",
                cells=len(cells),
                columns=headers,
            ),
        )
        return None, None, problems
    if len(cells) > headers and any(cells[headers:]):
        # The columns shifted right: a value with a comma in it lost its quotes.
        problem(
            None,
            _(
                "This row has %(cells)s cells where the header has %(columns)s. A value with a "
                "comma in it may be missing its quotes.",
                cells=len(cells),
                columns=headers,
            ),
        )
        return None, None, problems

    raw = {name: "" if index is None else cells[index] for name, index in context.columns.items()}
    refused: set[str] = set()
    for name, value in raw.items():
        if _looks_like_formula(value):
            problem(
                name,
                _(
                    "The %(field)s looks like a spreadsheet formula (%(value)s); formulas are "
                    "not accepted. Enter the value itself.",
                    field=FIELD_LABELS[name],
                    value=value[:40],
                ),
            )
            refused.add(name)
        elif any(_is_control(ch) for ch in value):
            problem(
                name,
                _(
                    "The %(field)s has a line break or a tab in it. Put it on one line.",
                    field=FIELD_LABELS[name],
                ),
            )
            refused.add(name)

    # Full-width digits and letters, as typed on a Japanese keyboard, are folded (NFKC).
    bib: str | None = unicodedata.normalize("NFKC", raw["bib"]).strip()
    if "bib" in refused:
        bib = None
    elif not bib:
        problem("bib", _("The bib number is empty. Every entry needs one."))
        bib = None
    elif not BIB_RE.match(bib):
        problem(
            "bib",
            _("%(bib)s is not a bib number: use 1 to 12 letters, digits or dashes.", bib=bib[:40]),
        )
        bib = None

    # The name as written (kanji, kana, spaces and all); two columns joined family name first.
    if context.columns["name"] is not None:
        name = raw["name"]
    else:
        name = " ".join(part for part in (raw["family_name"], raw["given_name"]) if part)
    if refused & {"name", "family_name", "given_name"}:
        pass
    elif not name:
        problem("name", _("The name is empty. Every entry needs the runner's name."))
    elif len(name) > MAX_LENGTHS["name"]:
        problem("name", _too_long("name", len(name)))

    category_id = None if "category" in refused else _category_of(raw["category"], context, problem)

    email = normalise_email(unicodedata.normalize("NFKC", raw["email"]))
    if "email" in refused or not email:
        pass
    elif len(email) > MAX_LENGTHS["email"]:
        problem("email", _too_long("email", len(email)))
    elif not EMAIL_RE.match(email):
        problem(
            "email",
            _(
                "%(email)s is not an e-mail address. Correct it, or leave the cell empty.",
                email=email[:60],
            ),
        )

    phone = unicodedata.normalize("NFKC", raw["phone"]).translate(_DASHES).strip()
    if "phone" in refused or not phone:
        pass
    elif len(phone) > MAX_LENGTHS["phone"]:
        problem("phone", _too_long("phone", len(phone)))
    elif not _PHONE_RE.match(phone) or not any(ch.isdigit() for ch in phone):
        problem(
            "phone",
            _(
                "The phone number %(phone)s may have only digits, spaces, dashes, parentheses "
                "and a plus sign.",
                phone=phone[:40],
            ),
        )

    emergency = raw["emergency_contact"]
    if "emergency_contact" not in refused and len(emergency) > MAX_LENGTHS["emergency_contact"]:
        problem("emergency_contact", _too_long("emergency_contact", len(emergency)))

    if problems or category_id is None:
        return bib, None, problems
    values = _Values(
        name=name,
        email=email or None,
        category_id=category_id,
        phone=phone or None,
        emergency_contact=emergency or None,
    )
    return bib, values, problems


def _too_long(name: str, length: int) -> str:
    return _(
        "The %(field)s is %(length)s characters long; at most %(limit)s fit.",
        field=FIELD_LABELS[name],
        length=length,
        limit=MAX_LENGTHS[name],
    )


def _category_of(text: str, context: _Context, problem: Callable[[str, str], None]) -> int | None:
    """The id of the category a cell names ("100km", "１００ｋｍ", "ロング"), or a problem."""
    if not text:
        problem(
            "category",
            _("The category is empty. Use one of: %(categories)s.", categories=context.offered),
        )
        return None
    ids = context.by_key.get(_key(text), set())
    if len(ids) == 1:
        return next(iter(ids))
    if ids:
        problem(
            "category",
            _(
                "%(value)s matches more than one category. Use a category's code: %(codes)s.",
                value=text[:60],
                codes=", ".join(c.code for c in context.categories if c.id in ids),
            ),
        )
        return None
    problem(
        "category",
        _(
            "%(value)s is not a category of this race. Use one of: %(categories)s.",
            value=text[:60],
            categories=context.offered,
        ),
    )
    return None


# Fields a re-import leaves as they are when the file has no column for them.
OPTIONAL_KEPT = ("email", "phone", "emergency_contact")


def _current(entry: Entry, name: str) -> str | None:
    """An entry's value of a field, as the file's would be written."""
    value = getattr(entry, name)
    return normalise_email(value) if name == "email" and value else value


def _changes(entry: Entry, values: _Values) -> tuple[str, ...]:
    """The fields whose value in the file differs from the entry's."""
    pairs = {
        "name": (entry.name, values.name),
        "email": (normalise_email(entry.email) if entry.email else None, values.email),
        "category": (entry.category_id, values.category_id),
        "phone": (entry.phone, values.phone),
        "emergency_contact": (entry.emergency_contact, values.emergency_contact),
    }
    return tuple(name for name, (old, new) in pairs.items() if old != new)


def _notes(plan: Plan, mapping: Mapping[str, int | None]) -> list[str]:
    """What the preview should say besides the counts and the problems."""
    notes = []
    no_email = sum(row.email is None for row in plan.rows)
    withdrawn = sum(row.withdrawn for row in plan.rows)
    kept = [name for name in OPTIONAL_KEPT if mapping.get(name) is None]
    if kept and any(row.entry_id is not None for row in plan.rows):
        notes.append(
            _(
                "Entries already on the list keep what they have for what this file does not "
                "hold: %(fields)s.",
                fields=", ".join(str(FIELD_LABELS[name]) for name in kept),
            )
        )
    if mapping.get("email") is None:
        notes.append(
            _(
                "No column holds e-mail addresses: runners can claim their entries only with "
                "their claim codes."
            )
        )
    elif no_email:
        notes.append(
            ngettext(
                "%(num)s entry has no e-mail address: that runner can claim it only with its "
                "claim code.",
                "%(num)s entries have no e-mail address: those runners can claim them only "
                "with their claim codes.",
                no_email,
            )
        )
    if withdrawn:
        notes.append(
            ngettext(
                "%(num)s entry in the file was withdrawn: the import updates its details but "
                "does not reinstate it.",
                "%(num)s entries in the file were withdrawn: the import updates their details "
                "but does not reinstate them.",
                withdrawn,
            )
        )
    if plan.not_in_file:
        notes.append(
            ngettext(
                "%(num)s entry of this race is not in this file: it stays. Withdraw it on its "
                "own if needed.",
                "%(num)s entries of this race are not in this file: they stay. Withdraw them "
                "one by one if needed.",
                plan.not_in_file,
            )
        )
    return notes


# --- writing ------------------------------------------------------------------------------


def apply(event: Event, plan: Plan, by: User, *, filename: str, now: datetime) -> Summary:
    """Add and update the plan's entries in one transaction (all rows or none) and log it."""
    if not plan.ok:
        raise DomainError(
            _(
                "The entry list has problems, so nothing was imported. Correct the file and "
                "upload it again."
            )
        )
    event_id = event.id
    category_ids = {row.category_id for row in plan.rows}
    added = updated = unchanged = 0
    try:
        with write_transaction():
            codes = dict(
                db.session.execute(
                    select(Category.id, Category.code).where(Category.event_id == event_id)
                ).all()
            )
            if not category_ids <= codes.keys():
                # A race file published since the check removed a category.
                raise Conflict(
                    _(
                        "The race's categories changed since the list was checked, so nothing "
                        "was imported. Upload the file again."
                    )
                )
            # Read again here: a runner may have claimed, or another import run, since check().
            existing = list(
                db.session.scalars(
                    select(Entry)
                    .where(Entry.event_id == event_id, Entry.bib.is_not(None))
                    .with_for_update()
                )
            )
            exact = {entry.bib: entry for entry in existing}
            folded = {str(entry.bib).upper(): entry for entry in existing}
            new: list[Entry] = []
            moved: list[Entry] = []
            for row in plan.rows:
                entry = exact.get(row.bib) or folded.get(row.bib.upper())
                values = _Values(
                    name=row.name,
                    email=row.email,
                    category_id=row.category_id,
                    phone=row.phone,
                    emergency_contact=row.emergency_contact,
                )
                if entry is None:
                    entry = Entry(
                        event_id=event_id,
                        bib=row.bib,
                        created_at=now,
                        updated_at=now,
                        **asdict(values),
                    )
                    db.session.add(entry)
                    new.append(entry)
                    added += 1
                    continue
                changes = _changes(entry, values)
                if not changes:
                    unchanged += 1
                    continue
                # Only the list's own fields: the runner, the claim, the code stay.
                for name, value in asdict(values).items():
                    setattr(entry, name, value)
                entry.updated_at = now
                updated += 1
                if "category" in changes and entry.user_id is not None:
                    moved.append(entry)
            db.session.flush()
            for entry in new:
                claims.assign_code(entry)  # needs the id the flush gave
            if moved:
                # A runner moved to another category: their evening reminder follows its start.
                state = race_state.of_event(event, now)
                for entry in moved:
                    if entry.withdrawn_at is None:
                        reminders.plan_eve(entry, state.category(codes[entry.category_id]), now=now)
            audit.record(
                event, by, "entries.imported", now=now, file=filename, added=added, updated=updated
            )
            db.session.flush()
    except IntegrityError:
        # PostgreSQL: another import added the same bib between our read and our write.
        raise Conflict(
            _(
                "The entry list changed while it was being imported, so nothing was imported. "
                "Upload the file again."
            )
        ) from None
    return Summary(added=added, updated=updated, unchanged=unchanged)
