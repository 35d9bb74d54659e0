"""What the race-file checker says: one Problem per mistake, in sentences a race secretary can act
on, the same wording for the same kind of mistake everywhere, and never a Python repr.

Every sentence is a template here, keyed by a stable code (tests and `accept_warnings` use the
codes); N_() marks them for the message catalogue, which translates them where they are shown.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask_babel import gettext


def N_(text: str) -> str:  # noqa: N802  (the usual name of the marker)
    """Marks a message for extraction into the catalogue; translated where it is shown."""
    return text


ERROR, WARNING = "error", "warning"
DOCS = "docs/race-file.md"

TEMPLATES: dict[str, str] = {
    # Reading the file
    "file-too-large": N_("The file is larger than {limit}: a race file is a few hundred lines."),
    "cannot-read": N_("The file cannot be read: {reason}."),
    "not-utf8": N_("The file is not saved as UTF-8{guess}."),
    "toml-syntax": N_("This line is not valid TOML: {detail}."),
    "toml-key-not-ascii": N_(
        "“{key}” cannot be a key: keys are the English names listed in {docs}. Put the text "
        'in the value instead, such as name = "{key}" or name = {{ ja = "{key}" }}.'
    ),
    # The shape of the file
    "unknown-key": N_(
        "“{key}” is not a key of this section (a typo?); see {docs} for the keys allowed here."
    ),
    "missing": N_("“{key}” is required here but missing."),
    "wrong-type": N_("should be {wanted}, not {got}."),
    "wrong-duration": N_("should be hours:minutes such as “11:30”, not {got}."),
    "wrong-clock-time": N_("should be a time of day, 24-hour, such as “17:00”, not {got}."),
    "wrong-code": N_("should be lower-case letters, digits and dashes, such as “100k”, not {got}."),
    "wrong-slug": N_(
        "should be lower-case letters, digits and dashes, such as “okushinano-100-2024”, not {got}."
    ),
    "wrong-phone": N_("should be a phone number such as “+81 269 82 3111”, not {got}."),
    "wrong-url": N_("should be an address that starts with https:// or http://, not {got}."),
    "wrong-email": N_("should be an e-mail address, not {got}."),
    "wrong-currency": N_("should be a three-letter currency code such as “JPY”, not {got}."),
    "wrong-language": N_("“{key}” is not a language code: use two letters such as “ja” or “en”."),
    "wrong-form": N_("has the wrong form: {got}."),
    "wrong-colour": N_(
        "should be a colour written as “#” and six hex digits, such as “#c2410c”, not {got}."
    ),
    "text-empty": N_("should not be empty."),
    "text-too-long": N_("is too long: keep it to {limit} characters."),
    "too-small": N_("should be {limit} or more, not {got}."),
    "too-large": N_("should be {limit} or less, not {got}."),
    "not-more-than": N_("should be more than {limit}, not {got}."),
    "choice": N_("should be one of {choices}, not {got}."),
    "list-too-short": N_("should list at least one item."),
    # Time
    "bad-time-zone": N_("“{zone}” is not a time zone name such as “Asia/Tokyo” or “Europe/Paris”."),
    "time-skipped": N_(
        "{time} does not exist in {zone}: the clocks jump over it. Give a time "
        "before or after the change."
    ),
    "time-twice": N_(
        "{time} happens twice in {zone} (the clocks go back). Write {first} for "
        "the first ({first_name}) or {second} for the second ({second_name})."
    ),
    "offset-not-in-zone": N_(
        "{time} with the offset {offset} is not a time of {zone}: its offset then is {offsets}."
    ),
    "end-before-start": N_("is before the start ({start})."),
    "end-not-after-start": N_("is not after the start ({start})."),
    "duration-zero": N_("should be a time after the start, not {got}."),
    # Codes and references
    "duplicate-code": N_("The code “{code}” is used twice: here and at {other}."),
    "duplicate-gear-code": N_(
        "The code “{code}” is given to two gear items of {categories} (also at {other}). Give "
        'one of them its own code = "…".'
    ),
    "unknown-category": N_("No category has the code “{code}”."),
    "duplicate-slug": N_(
        "The race “{slug}” is in two files of this import: {files}. Import one of them."
    ),
    # Courses, cut-offs and distances
    "km-not-increasing": N_(
        "{km} km is not after the previous checkpoint ({previous} km): "
        "list checkpoints in course order."
    ),
    "km-beyond-distance": N_("{km} km is beyond the category's distance ({distance} km)."),
    "position-half": N_("Give both lat and lon of the aid station, or neither."),
    "leg-climbs-exceed": N_(
        "The climbs of the legs add up to {sum} m, more than the category's elevation gain "
        "({total} m): check both."
    ),
    "wrong-gpx-name": N_(
        "should be the name of a .gpx file next to the race file, such as “100k.gpx”, not {got}."
    ),
    "logo-form": N_(
        "should be an SVG document (“<svg …>…</svg>”) or a data: address of a PNG, JPEG or "
        "WebP image (“data:image/png;base64,…”)."
    ),
    "logo-not-svg": N_("is not an SVG image: it should be one <svg> element, with no DOCTYPE."),
    "logo-too-large": N_("is too large: a logo can be at most {limit}."),
    "logo-type": N_("is a {type} file: a logo should be SVG, PNG, JPEG or WebP."),
    "logo-not-image": N_("says it is {type} but is not: check the data: address."),
    "gpx-missing": N_("The GPX file cannot be read: {reason}. Put it next to the race file."),
    "gpx-too-large": N_(
        "The GPX file is larger than {limit}: export the course track alone, without photos or "
        "heart rate."
    ),
    "gpx-not-gpx": N_("The GPX file cannot be read as GPX: {reason}."),
    "gpx-no-track": N_("The GPX file has no track or route of two points or more."),
    "gpx-distance": N_(
        "The GPX track measures {measured} km but the category is {distance} km (at most "
        "{allowed} km apart is accepted): is it the file of this category?"
    ),
    "gpx-checkpoint-beyond": N_(
        "{name} at {km} km lies beyond the end of the GPX track ({measured} km)."
    ),
    "gpx-checkpoint-off": N_(
        "{name} stands {off} km away from the GPX track at its {km} km: check its km or its "
        "position."
    ),
    "gpx-not-uploaded": N_(
        "The GPX file “{name}” does not come with a race file sent from the browser: upload it "
        "under “Course tracks” on the race file page. Publishing leaves the tracks as they are."
    ),
    "cutoff-not-increasing": N_(
        "This cut-off ({cutoff}) is not later than the previous one ({previous})."
    ),
    "cutoff-after-limit": N_(
        "This cut-off ({cutoff}) is later than the category's time limit ({limit})."
    ),
    "finish-not-limit": N_(
        "The finish cut-off ({cutoff}) is not the category's time limit "
        "({limit}): one of the two is wrong."
    ),
    "cutoff-at-disagrees": N_(
        "{clock} is {from_clock} after the start, but cutoff_after says {cutoff}."
    ),
    "cutoff-at-not-after-start": N_("{clock} is not after the start ({start})."),
    "cutoff-at-needs-start": N_(
        "A clock time needs the category's start date and time: give "
        "start = 2024-06-08T05:00:00, or use cutoff_after."
    ),
    "cutoffs-without-start": N_(
        "Cut-offs are given but no start time, so their clock times cannot be shown."
    ),
    "two-departures": N_("Two departures of this bus leave at {time}."),
    "no-distance": N_("No distance is given: add distance_km (or distance_text)."),
    "pacer-km-mismatch": N_(
        "Pacers join at {place} at {km} km, but the checkpoint “{name}” is "
        "at {checkpoint_km} km. Check which is right with the organizer."
    ),
    "cancel-before-zero": N_(
        "Leave cancel_before out to let runners cancel until the bus leaves; 0:00 means the same."
    ),
    "not-provisional-field": N_(
        "“{name}” cannot be marked provisional here: it is not a field of this section."
    ),
    "unknown-warning": N_("“{name}” is not the code of a warning this section can have."),
}


@dataclass(frozen=True)
class Phrase:
    """Words inside a sentence ("the text “x”", "a date or a number"), translated with it."""

    template: str
    values: tuple[tuple[str, Any], ...] = ()

    def render(self, translate: Callable[[str], str] = lambda text: text) -> str:
        words = {key: _words(value, translate) for key, value in self.values}
        text = translate(self.template)
        # Words without blanks to fill are shown as written: "a table { … }" has braces.
        return text.format(**words) if words else text

    def __str__(self) -> str:
        return self.render()


def _words(value: Any, translate: Callable[[str], str]) -> Any:
    return value.render(translate) if isinstance(value, Phrase) else value


def phrase(template: str, /, **values: Any) -> Phrase:
    return Phrase(template, tuple(values.items()))


def either(words: list[Phrase]) -> Phrase:
    """ "a date or a number": alternatives, in the reader's language."""
    result = words[0]
    for word in words[1:]:
        result = phrase(N_("{first} or {second}"), first=result, second=word)
    return result


# Readable names of the types a field can have, for "should be X, not Y".
TYPE_WORDS = {
    "datetime": phrase(N_("a local date and time such as 2024-06-08T05:00:00")),
    "date": phrase(N_("a date such as 2024-06-08")),
    "str": phrase(N_("text in quotes")),
    "int": phrase(N_("a whole number")),
    "float": phrase(N_("a number")),
    "bool": phrase(N_("true or false")),
    "list": phrase(N_("a list [ … ]")),
    "dict": phrase(N_("a table { … }")),
    "model": phrase(N_("a table { … }")),
}


def shown(value: Any) -> Phrase | str:
    """A value as the person wrote it, in quotes where it is text; never a Python repr."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        text = value if len(value) <= 40 else value[:37] + "…"
        return phrase(N_("the text “{text}”"), text=text)
    if isinstance(value, (int, float)):
        return f"{value:g}" if isinstance(value, float) else str(value)
    if isinstance(value, datetime):
        return phrase(N_("the date and time {value}"), value=value.isoformat())
    if isinstance(value, date):
        return phrase(N_("the date {value}"), value=value.isoformat())
    if isinstance(value, list):
        return phrase(N_("a list"))
    if isinstance(value, dict):
        return phrase(N_("a table"))
    return phrase(N_("a value of another kind"))


@dataclass(frozen=True)
class Problem:
    """One mistake (or doubt) in a race file: where it is and what to do about it."""

    severity: str  # ERROR or WARNING
    path: str  # the field, such as "categories[0].checkpoints[3].km"
    code: str  # a key of TEMPLATES
    params: dict[str, Any] = field(default_factory=dict)
    line: int | None = None

    @property
    def message(self) -> str:
        return render(self.code, self.params)

    def message_in_reader_language(self) -> str:
        """The sentence in the language in force (the organizer's, on a page)."""
        return render(self.code, self.params, gettext)

    def at(self, line: int | None) -> Problem:
        return Problem(self.severity, self.path, self.code, self.params, line)

    def format(self, filename: str) -> str:
        """`file:line: error: field: sentence`, the way compilers say it."""
        where = f"{filename}:{self.line}" if self.line else filename
        path = f" {self.path}:" if self.path else ""
        return f"{where}: {self.severity}:{path} {self.message}"


def render(
    code: str, params: dict[str, Any], translate: Callable[[str], str] = lambda text: text
) -> str:
    """The sentence for a problem, in the language `translate` gives."""
    words = {key: _words(value, translate) for key, value in params.items()}
    return translate(TEMPLATES[code]).format(docs=DOCS, **words)


def error(path: str, what: str, /, **params: Any) -> Problem:
    return Problem(ERROR, path, what, params)


def warning(path: str, what: str, /, **params: Any) -> Problem:
    return Problem(WARNING, path, what, params)


def format_minutes(minutes: int) -> str:
    """690 -> "11 h 30 min", 1260 -> "21 h"."""
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest:02d} min" if rest else f"{hours} h"


# --- From the schema validator's errors ---------------------------------------------------------

_PATTERNS = (
    (r"\[01\]", "wrong-clock-time"),
    (r":\[0-5\]", "wrong-duration"),
    (r"\{1,79\}", "wrong-slug"),
    (r"\\\.gpx", "wrong-gpx-name"),
    (r"\{0,39\}", "wrong-code"),
    (r"\[0-9 \(\)-\]", "wrong-phone"),
    (r"https\?", "wrong-url"),
    (r"@", "wrong-email"),
    (r"\[A-Z\]\{3\}", "wrong-currency"),
    (r"\[0-9a-fA-F\]\{6\}", "wrong-colour"),
)


def from_validation(err: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The code and parameters for one error of the schema validator."""
    kind, value = err["type"], err.get("input")
    ctx = err.get("ctx") or {}
    key = str(err["loc"][-1]) if err["loc"] else ""
    if kind == "extra_forbidden":
        return "unknown-key", {"key": key}
    if kind == "missing":
        return "missing", {"key": key}
    if kind == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern", ""))
        for probe, code in _PATTERNS:
            if re.search(probe, pattern):
                return code, {"got": shown(value)}
        return "wrong-form", {"got": shown(value)}
    if kind == "string_too_short":
        return "text-empty", {}
    if kind == "string_too_long":
        return "text-too-long", {"limit": ctx.get("max_length")}
    if kind in ("greater_than_equal",):
        return "too-small", {"limit": ctx.get("ge"), "got": shown(value)}
    if kind in ("greater_than",):
        return "not-more-than", {"limit": ctx.get("gt"), "got": shown(value)}
    if kind in ("less_than_equal", "less_than"):
        return "too-large", {"limit": ctx.get("le", ctx.get("lt")), "got": shown(value)}
    if kind == "literal_error":
        choices = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        return "choice", {"choices": ", ".join(f"“{c}”" for c in choices), "got": shown(value)}
    if kind == "too_short":
        return "list-too-short", {}
    base = kind.split("_")[0]
    return "wrong-type", {"wanted": TYPE_WORDS.get(base, TYPE_WORDS["str"]), "got": shown(value)}
