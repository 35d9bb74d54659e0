"""Read a race file, check it, and turn it into normalized data: the steps in order.

reading (bytes → text → TOML data) → schema (structure and types) → checks (meaning) →
lines (where each problem is) → one report.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from raceapp.localized import primary
from raceapp.racefile import gpx as course_files
from raceapp.racefile import lines as line_map
from raceapp.racefile import reading
from raceapp.racefile.checks import (
    Checker,
    NormalizedCategory,
    NormalizedCheckpoint,
    NormalizedGear,
    NormalizedRace,
    code_for,
    duration_minutes,
)
from raceapp.racefile.messages import (
    ERROR,
    TYPE_WORDS,
    WARNING,
    Problem,
    either,
    error,
    from_validation,
    shown,
)
from raceapp.racefile.schema import RaceFile

MAX_FILE_BYTES = reading.MAX_FILE_BYTES

__all__ = [
    "NormalizedCategory",
    "NormalizedCheckpoint",
    "NormalizedGear",
    "NormalizedRace",
    "Problem",
    "RaceFileReport",
    "check_bytes",
    "check_file",
    "check_text",
    "code_for",
    "duration_minutes",
]


@dataclass
class RaceFileReport:
    """Everything the checker found, and the normalized race when there were no errors."""

    filename: str
    problems: list[Problem] = field(default_factory=list)
    race: RaceFile | None = None
    normalized: NormalizedRace | None = None
    sha256: str | None = None
    # The file's text as read (kept as a published version of the race).
    text: str | None = None
    # The GPX tracks the file names, read from beside it, by category code. A race file sent
    # from the browser comes alone: its categories keep the tracks they have.
    tracks: dict[str, course_files.Track] = field(default_factory=dict)
    tracks_read: bool = False

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == WARNING]

    @property
    def ok(self) -> bool:
        return not self.errors and self.normalized is not None

    def lines(self) -> list[str]:
        return [p.format(self.filename) for p in self.problems]


def path_str(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


_UNION_TAGS = {
    "datetime",
    "date",
    "str",
    "int",
    "float",
    "bool",
    "none",
    "constrained-str",
    "dict[constrained-str,constrained-str]",
    "dict[str,constrained-str]",
}


def _validation_problems(exc: ValidationError) -> list[Problem]:
    """One problem per field, however many ways the validator found it wrong."""
    grouped: dict[str, list[Any]] = {}
    for err in exc.errors():
        # Union members add their type to the path; fold them into one message per field.
        loc = [
            part
            for part in err["loc"]
            if not (
                isinstance(part, str)
                and (part in _UNION_TAGS or part.startswith(("function-", "constrained-", "dict[")))
            )
        ]
        if loc and loc[-1] == "[key]":  # a table by language with a key that is not one
            language = str(loc[-2]) if len(loc) > 1 else ""
            grouped.setdefault(path_str(tuple(loc[:-2])), []).append(
                {"type": "language_key", "loc": tuple(loc), "input": language}
            )
            continue
        grouped.setdefault(path_str(tuple(loc)), []).append(err)
    problems = []
    for path, errs in grouped.items():
        if any(e["type"] == "language_key" for e in errs):
            key = next(e["input"] for e in errs if e["type"] == "language_key")
            problems.append(error(path, "wrong-language", key=key))
            continue
        type_errors = [e for e in errs if e["type"].endswith("_type")]
        if len(errs) > 1 and len(type_errors) == len(errs):
            words = dict.fromkeys(
                TYPE_WORDS.get(e["type"].split("_")[0], TYPE_WORDS["str"]) for e in errs
            )
            problems.append(
                error(
                    path, "wrong-type", wanted=either(list(words)), got=shown(errs[0].get("input"))
                )
            )
            continue
        # A value of the right type but a wrong form says what is wrong with the form.
        specific = [e for e in errs if not e["type"].endswith("_type")] or errs
        code, params = from_validation(specific[0])
        problems.append(error(path, code, **params))
    return problems


def check_text(text: str, filename: str = "<race file>") -> RaceFileReport:
    """Parse and check a race file's text; the report holds problems and normalized data."""
    report = RaceFileReport(filename, sha256=hashlib.sha256(text.encode()).hexdigest(), text=text)
    data, problem = reading.parse(text)
    if problem is not None:
        report.problems.append(problem)
        return report
    lines = line_map.locate_lines(text)
    try:
        race = RaceFile.model_validate(data)
    except ValidationError as exc:
        report.problems.extend(
            p.at(line_map.line_for(p.path, lines)) for p in _validation_problems(exc)
        )
        return report
    checker = Checker(race)
    normalized = checker.run()
    report.problems.extend(p.at(line_map.line_for(p.path, lines)) for p in checker.problems)
    report.race = race
    report.normalized = normalized if not report.errors else None
    return report


def check_bytes(raw: bytes, filename: str = "<race file>") -> RaceFileReport:
    """Check a race file as it was saved (any encoding problem is said plainly)."""
    text, problem = reading.decode(raw)
    if problem is not None or text is None:
        report = RaceFileReport(filename)
        report.problems.append(problem or error("", "cannot-read", reason="no text"))
        return report
    return check_text(text, filename)


def check_file(path: str | Path) -> RaceFileReport:
    """Read and check one race file from disk."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        report = RaceFileReport(str(path))
        report.problems.append(error("", "cannot-read", reason=exc.strerror or "unknown error"))
        return report
    report = check_bytes(raw, str(path))
    if report.race is not None and report.text is not None:
        _read_tracks(report, path.parent)
    return report


def _read_tracks(report: RaceFileReport, folder: Path) -> None:
    """Read and check the GPX file each category names, beside the race file."""
    assert report.race is not None and report.text is not None
    lines = line_map.locate_lines(report.text)
    language = report.race.event.language
    report.tracks_read = True
    for i, cat in enumerate(report.race.categories):
        if cat.gpx is None:
            continue
        base = f"categories[{i}]"
        found: list[Problem] = []
        try:
            path = folder / cat.gpx
            if path.stat().st_size > course_files.MAX_GPX_BYTES:
                raise course_files.TrackProblem("gpx-too-large", limit="20 MB")
            track = course_files.read_gpx(path.read_bytes())
        except OSError as exc:
            found.append(error(f"{base}.gpx", "gpx-missing", reason=exc.strerror or str(exc)))
        except course_files.TrackProblem as problem:
            found.append(error(f"{base}.gpx", problem.code, **problem.params))
        else:
            aid_stations = [
                (primary(cp.name, language), cp.km, cp.lat, cp.lon) for cp in cat.checkpoints
            ]
            for where, code, params in course_files.check(track, cat.distance_km, aid_stations):
                found.append(error(f"{base}.{where or 'gpx'}", code, **params))
            if not found:
                report.tracks[cat.code] = track
        report.problems.extend(p.at(line_map.line_for(p.path, lines)) for p in found)
    if report.errors:
        report.normalized = None
