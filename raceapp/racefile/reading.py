"""From bytes to TOML data: the size limit, the encoding (UTF-8, with or without the byte order
mark Windows editors write), and TOML syntax errors said so a person can fix them."""

from __future__ import annotations

import re
import tomllib
from typing import Any

from raceapp.racefile.messages import Problem, error

MAX_FILE_BYTES = 1_000_000
UTF8_BOM = b"\xef\xbb\xbf"
_HOW_TO_SAVE = (
    " Save it as UTF-8: in Notepad, File → Save as → Encoding “UTF-8”; in VS Code, click the "
    "encoding in the status bar → Save with Encoding → UTF-8; in TextEdit, Format → Make Plain "
    "Text, then save with “Unicode (UTF-8)”"
)


def decode(raw: bytes) -> tuple[str | None, Problem | None]:
    """The file's text, or why it cannot be read as a race file."""
    if len(raw) > MAX_FILE_BYTES:
        return None, error("", "file-too-large", limit="1 MB")
    if raw.startswith(UTF8_BOM):
        raw = raw[len(UTF8_BOM) :]
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError:
        pass
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        guess = " (it is saved as UTF-16, “Unicode” in some Windows editors)."
    else:
        try:
            raw.decode("cp932")
            guess = " (it looks like Shift_JIS, what Japanese Windows editors save by default)."
        except UnicodeDecodeError:
            guess = "."
    return None, error("", "not-utf8", guess=guess.rstrip(".") + "." + _HOW_TO_SAVE)


_BARE_KEY = re.compile(r"^\s*([^\s=\[\]#\"']+)\s*=")


def parse(text: str) -> tuple[dict[str, Any] | None, Problem | None]:
    """TOML data, or the first syntax error with its line."""
    try:
        return tomllib.loads(text), None
    except RecursionError:
        # Arrays or tables nested thousands deep: no race file looks like that.
        return None, error("", "toml-syntax", detail="nested too deeply")
    except tomllib.TOMLDecodeError as exc:
        detail = str(exc)
        match = re.search(r"line (\d+)", detail)
        line = int(match.group(1)) if match else None
        detail = re.sub(r"\s*\(at line \d+, column \d+\)", "", detail).rstrip(".")
        if line is not None:
            source = text.splitlines()[line - 1] if line <= len(text.splitlines()) else ""
            key = _BARE_KEY.match(source)
            if key and not key.group(1).isascii():
                return None, error("", "toml-key-not-ascii", key=key.group(1)).at(line)
        return None, error("", "toml-syntax", detail=detail.lower()).at(line)
