"""CSV files that open right in Excel on Japanese and English Windows.

- UTF-8 with a byte-order mark: without it, Excel on Japanese Windows reads a CSV as Shift_JIS
  and the names come out garbled.
- CRLF line ends, as Windows programs expect (the csv module's own).
- No cell a spreadsheet would run as a formula: a cell starting with = + - @ (or a tab or a
  carriage return, which some programs skip before reading the formula) gets a leading
  apostrophe, as OWASP recommends for CSV injection.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from flask import Response

BOM = "\ufeff"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """A cell's text, never a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_text(header: list[str], rows: Iterable[Iterable[object]]) -> str:
    """The whole file: BOM, header, rows, CRLF line ends, every cell made safe."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_cell(cell) for cell in header])
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return out.getvalue()


def csv_response(filename: str, header: list[str], rows: Iterable[Iterable[object]]) -> Response:
    """A CSV download, private to whoever asked for it."""
    response = Response(csv_text(header, rows), mimetype="text/csv")
    response.headers.set("Content-Disposition", "attachment", filename=filename)
    response.headers["Cache-Control"] = "private, no-store"
    return response
