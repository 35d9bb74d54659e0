"""Read a race file, check it, and turn it into normalized data with UTC instants."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError

from raceapp.racefile.schema import CategorySection, GearItemSection, RaceFile

MAX_FILE_BYTES = 1_000_000


@dataclass(frozen=True)
class Problem:
    severity: str  # "error" or "warning"
    path: str
    message: str
    line: int | None = None

    def format(self, filename: str) -> str:
        where = f"{filename}:{self.line}" if self.line else filename
        path = f" {self.path}:" if self.path else ""
        return f"{where}: {self.severity}:{path} {self.message}"


@dataclass
class RaceFileReport:
    """Everything the checker found, and the normalized race when there were no errors."""

    filename: str
    problems: list[Problem] = field(default_factory=list)
    race: RaceFile | None = None
    normalized: NormalizedRace | None = None
    sha256: str | None = None

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors and self.normalized is not None

    def lines(self) -> list[str]:
        return [p.format(self.filename) for p in self.problems]


@dataclass
class NormalizedCheckpoint:
    name: str
    km: float
    label: str | None
    cutoff_minutes: int | None
    is_finish: bool
    notes: str | None


@dataclass
class NormalizedGear:
    code: str
    name: str
    mandatory: bool
    spec: str | None
    conditions: str | None


@dataclass
class NormalizedCategory:
    section: CategorySection
    start_at: datetime | None
    start_date: date | None
    time_limit_minutes: int | None
    checkpoints: list[NormalizedCheckpoint]
    gear: list[NormalizedGear]


@dataclass
class NormalizedRace:
    race: RaceFile
    zone: ZoneInfo
    categories: list[NormalizedCategory]
    schedule: list[tuple[Any, datetime, datetime | None]]
    departures: dict[str, list[tuple[datetime, int | None]]]


def duration_minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def format_minutes(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest:02d} min" if rest else f"{hours} h"


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "item"


def local_to_utc(local: datetime, zone: ZoneInfo) -> datetime:
    return local.replace(tzinfo=zone).astimezone(timezone.utc)


def local_time_exists(local: datetime, zone: ZoneInfo) -> bool:
    """False for wall-clock times skipped by a daylight-saving jump."""
    there_and_back = local_to_utc(local, zone).astimezone(zone).replace(tzinfo=None)
    return there_and_back == local


def path_str(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


_TYPE_WORDS = {
    "datetime": "a local date-time (2024-06-08T05:00:00)",
    "date": "a date (2024-06-08)",
    "str": "text in quotes",
    "int": "a whole number",
    "float": "a number",
    "bool": "true or false",
    "list": "a list [ ... ]",
    "dict": "a table",
    "model": "a table",
    "none": "nothing",
}
_UNION_TAGS = {"datetime", "date", "str", "int", "float", "bool", "none", "constrained-str"}


def _describe(value: Any) -> str:
    kinds = {
        bool: "true/false",
        int: "a number",
        float: "a number",
        str: "text",
        list: "a list",
        dict: "a table",
        datetime: "a date-time",
        date: "a date",
    }
    kind = kinds.get(type(value), type(value).__name__)
    shown = repr(value)
    if len(shown) > 40:
        shown = shown[:37] + "..."
    return f"{kind} ({shown})" if not isinstance(value, (list, dict)) else kind


def _message(err: dict[str, Any]) -> str:
    kind = err["type"]
    value = err.get("input")
    if kind == "extra_forbidden":
        return "unknown key (a typo?); see docs/race-file.md for the keys allowed here"
    if kind == "missing":
        return "required, but missing"
    if kind.endswith("_type") or kind.endswith("_parsing"):
        wanted = _TYPE_WORDS.get(kind.split("_")[0], kind.split("_")[0])
        return f"should be {wanted}, not {_describe(value)}"
    if kind == "string_pattern_mismatch":
        pattern = err.get("ctx", {}).get("pattern", "")
        if ":[0-5]" in pattern:
            return f'should be hours:minutes such as "11:30", not {value!r}'
        if "a-z0-9" in pattern:
            return f"should be lower-case letters, digits and dashes, not {value!r}"
        return f"has the wrong form: {value!r}"
    if kind == "literal_error":
        return f"{err['msg'].replace('Input should be', 'should be')}, not {value!r}"
    if kind in {"greater_than_equal", "greater_than", "less_than_equal"}:
        return f"{err['msg'].replace('Input should be', 'should be')}, not {value!r}"
    return err["msg"].replace("Input should be", "should be")


def _validation_problems(exc: ValidationError) -> list[Problem]:
    grouped: dict[str, list[Any]] = {}
    for err in exc.errors():
        loc = list(err["loc"])
        # Union members add their type as a last path element; fold them into one message.
        while (
            loc
            and isinstance(loc[-1], str)
            and (loc[-1] in _UNION_TAGS or loc[-1].startswith(("function-", "constrained-")))
        ):
            loc.pop()
        grouped.setdefault(path_str(tuple(loc)), []).append(err)
    problems = []
    for path, errs in grouped.items():
        if len(errs) > 1 and all(e["type"].endswith("_type") for e in errs):
            wanted = " or ".join(_TYPE_WORDS.get(e["type"].split("_")[0], e["type"]) for e in errs)
            message = f"should be {wanted}, not {_describe(errs[0].get('input'))}"
        else:
            message = "; ".join(dict.fromkeys(_message(e) for e in errs))
        problems.append(Problem("error", path, message))
    return problems


def locate_lines(text: str) -> dict[str, int]:
    """Map field paths to line numbers for the usual TOML layout (best effort)."""
    lines: dict[str, int] = {}
    arrays: dict[str, int] = {}
    current = ""
    in_multiline = False

    def resolve(parts: list[str]) -> str:
        out = ""
        for part in parts:
            out = f"{out}.{part}" if out else part
            if out in arrays:
                out = f"{out}[{arrays[out] - 1}]"
        return out

    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if in_multiline:
            if stripped.count('"""') % 2 == 1:
                in_multiline = False
            continue
        if stripped.startswith("[["):
            parts = [p.strip().strip('"') for p in stripped[2:].split("]]")[0].split(".")]
            parent = resolve(parts[:-1])
            key = f"{parent}.{parts[-1]}" if parent else parts[-1]
            arrays[key] = arrays.get(key, 0) + 1
            current = f"{key}[{arrays[key] - 1}]"
            lines.setdefault(current, number)
            lines.setdefault(key, number)
        elif stripped.startswith("["):
            parts = [p.strip().strip('"') for p in stripped[1:].split("]")[0].split(".")]
            current = resolve(parts)
            lines.setdefault(current, number)
        elif "=" in stripped and not stripped.startswith("#"):
            key = stripped.split("=", 1)[0].strip().strip('"')
            full = f"{current}.{key}" if current else key
            lines.setdefault(full, number)
            if stripped.split("=", 1)[1].count('"""') % 2 == 1:
                in_multiline = True
    return lines


def _line_for(path: str, lines: dict[str, int]) -> int | None:
    probe = path
    while probe:
        if probe in lines:
            return lines[probe]
        cut = max(probe.rfind("."), probe.rfind("["))
        probe = probe[:cut] if cut > 0 else ""
    return None


class _Checker:
    """Semantic checks on a structurally valid race file."""

    def __init__(self, race: RaceFile):
        self.race = race
        self.problems: list[Problem] = []
        self.zone: ZoneInfo | None = None

    def error(self, path: str, message: str) -> None:
        self.problems.append(Problem("error", path, message))

    def warn(self, path: str, message: str) -> None:
        self.problems.append(Problem("warning", path, message))

    def local(self, value: datetime, path: str) -> datetime | None:
        """Interpret a local date-time in the event zone, or report why it can't be."""
        if value.tzinfo is not None:
            self.error(
                path, "write a local date-time without a UTC offset; the zone is event.time_zone"
            )
            return None
        if self.zone is None:
            return None
        if not local_time_exists(value, self.zone):
            self.error(
                path,
                f"{value:%Y-%m-%d %H:%M} does not exist in {self.zone.key} "
                "(the clocks jump over it)",
            )
            return None
        return local_to_utc(value, self.zone)

    def run(self) -> NormalizedRace | None:
        race = self.race
        ev = race.event
        try:
            if ".." in ev.time_zone or ev.time_zone.startswith("/"):
                raise ValueError
            self.zone = ZoneInfo(ev.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            self.error(
                "event.time_zone",
                f'{ev.time_zone!r} is not an IANA time zone (such as "Asia/Tokyo")',
            )
        if ev.start_date and ev.end_date and ev.end_date < ev.start_date:
            self.error("event.end_date", "is before event.start_date")

        codes: dict[str, int] = {}
        for i, cat in enumerate(race.categories):
            if cat.code in codes:
                self.error(
                    f"categories[{i}].code",
                    f"duplicate code {cat.code!r} (also categories[{codes[cat.code]}])",
                )
            codes.setdefault(cat.code, i)

        gear_by_cat = self.gear(codes)
        categories = [
            self.category(i, cat, gear_by_cat.get(cat.code, []))
            for i, cat in enumerate(race.categories)
        ]
        schedule = self.schedule(codes)
        departures = self.shuttles(codes)
        if any(p.severity == "error" for p in self.problems) or self.zone is None:
            return None
        return NormalizedRace(race, self.zone, categories, schedule, departures)

    def gear(self, codes: dict[str, int]) -> dict[str, list[NormalizedGear]]:
        by_cat: dict[str, list[NormalizedGear]] = {}
        seen: dict[tuple[str, str], str] = {}
        for list_code, gear_list in self.race.gear.items():
            for j, cat_code in enumerate(gear_list.categories):
                if cat_code not in codes:
                    self.error(
                        f"gear.{list_code}.categories[{j}]", f"no category has code {cat_code!r}"
                    )
            for kind in ("mandatory", "recommended"):
                items: list[GearItemSection] = getattr(gear_list, kind)
                for k, item in enumerate(items):
                    code = item.code or slugify(item.name)
                    path = f"gear.{list_code}.{kind}[{k}]"
                    for cat_code in gear_list.categories:
                        key = (cat_code, code)
                        if key in seen:
                            self.error(
                                f"{path}.{'code' if item.code else 'name'}",
                                f"duplicate gear code {code!r} for category "
                                f"{cat_code!r} (also {seen[key]})",
                            )
                            continue
                        seen[key] = path
                        by_cat.setdefault(cat_code, []).append(
                            NormalizedGear(
                                code, item.name, kind == "mandatory", item.spec, item.conditions
                            )
                        )
        return by_cat

    def category(
        self, i: int, cat: CategorySection, gear: list[NormalizedGear]
    ) -> NormalizedCategory:
        base = f"categories[{i}]"
        start_at: datetime | None = None
        start_date: date | None = None
        if isinstance(cat.start, datetime):
            start_at = self.local(cat.start, f"{base}.start")
            start_date = cat.start.date()
        elif isinstance(cat.start, date):
            start_date = cat.start
        if cat.distance_km is None and cat.distance_text is None:
            self.warn(f"{base}.distance_km", "no distance given")
        time_limit = duration_minutes(cat.time_limit) if cat.time_limit else None

        checkpoints: list[NormalizedCheckpoint] = []
        prev_km: float | None = None
        prev_cut: int | None = None
        for j, cp in enumerate(cat.checkpoints):
            path = f"{base}.checkpoints[{j}]"
            if prev_km is not None and cp.km <= prev_km:
                self.error(
                    f"{path}.km",
                    f"{cp.km:g} km is not after the previous checkpoint ({prev_km:g} km)",
                )
            if cat.distance_km is not None and cp.km > cat.distance_km:
                self.error(
                    f"{path}.km",
                    f"{cp.km:g} km is beyond the category's distance ({cat.distance_km:g} km)",
                )
            prev_km = cp.km
            minutes = duration_minutes(cp.cutoff_after) if cp.cutoff_after else None
            if cp.cutoff_at is not None:
                if not isinstance(cat.start, datetime):
                    self.error(
                        f"{path}.cutoff_at",
                        "needs the category's start date and time to be derived",
                    )
                else:
                    at = self.local(cp.cutoff_at, f"{path}.cutoff_at")
                    if at is not None and start_at is not None:
                        from_clock = int((at - start_at).total_seconds() // 60)
                        if from_clock <= 0:
                            self.error(f"{path}.cutoff_at", "is not after the start")
                        elif minutes is not None and minutes != from_clock:
                            self.error(
                                f"{path}.cutoff_at",
                                f"{cp.cutoff_at:%a %Y-%m-%d %H:%M} is "
                                f"{format_minutes(from_clock)} after the start, but "
                                f"cutoff_after says {format_minutes(minutes)}",
                            )
                        minutes = from_clock if minutes is None else minutes
            if minutes is not None:
                if prev_cut is not None and minutes <= prev_cut:
                    self.error(
                        f"{path}.cutoff_after" if cp.cutoff_after else f"{path}.cutoff_at",
                        f"cut-off {format_minutes(minutes)} is not later than the "
                        f"previous one ({format_minutes(prev_cut)})",
                    )
                prev_cut = minutes
                if cat.start is None:
                    self.warn(
                        f"{base}.start",
                        "cut-offs are given but no start: their clock times cannot be shown",
                    )
            checkpoints.append(
                NormalizedCheckpoint(cp.name, cp.km, cp.label, minutes, False, cp.notes)
            )
        if checkpoints:
            last = checkpoints[-1]
            last_path = f"{base}.checkpoints[{len(checkpoints) - 1}]"
            last.is_finish = cat.distance_km is not None and last.km == cat.distance_km
            if (
                time_limit is not None
                and last.cutoff_minutes is not None
                and last.cutoff_minutes != time_limit
            ):
                field_name = "cutoff_after" if cat.checkpoints[-1].cutoff_after else "cutoff_at"
                self.error(
                    f"{last_path}.{field_name}",
                    f"the final cut-off ({format_minutes(last.cutoff_minutes)}) is not "
                    f"the time limit ({format_minutes(time_limit)})",
                )
        self.references(base, cat, checkpoints)
        return NormalizedCategory(cat, start_at, start_date, time_limit, checkpoints, gear)

    def references(
        self, base: str, cat: CategorySection, checkpoints: list[NormalizedCheckpoint]
    ) -> None:
        """Warn where the file places a named point at two different distances."""
        if cat.pacer_from and cat.pacer_from_km is not None:
            wanted = cat.pacer_from.casefold()
            named = [cp for cp in checkpoints if cp.name.casefold().startswith(wanted)]
            if named and all(cp.km != cat.pacer_from_km for cp in named):
                self.warn(
                    f"{base}.pacer_from_km",
                    f"pacers join at {cat.pacer_from} {cat.pacer_from_km:g} km, but the "
                    f"checkpoint {named[0].name!r} is at {named[0].km:g} km",
                )

    def schedule(self, codes: dict[str, int]) -> list[tuple[Any, datetime, datetime | None]]:
        out = []
        for i, item in enumerate(self.race.schedule):
            path = f"schedule[{i}]"
            at = self.local(item.at, f"{path}.at")
            end = self.local(item.end, f"{path}.end") if item.end else None
            if at and end and end <= at:
                self.error(f"{path}.end", "is not after `at`")
            for j, code in enumerate(item.categories):
                if code not in codes:
                    self.error(f"{path}.categories[{j}]", f"no category has code {code!r}")
            if at:
                out.append((item, at, end))
        return out

    def shuttles(self, codes: dict[str, int]) -> dict[str, list[tuple[datetime, int | None]]]:
        out: dict[str, list[tuple[datetime, int | None]]] = {}
        seen: dict[str, int] = {}
        for i, route in enumerate(self.race.shuttles):
            if route.code in seen:
                self.error(
                    f"shuttles[{i}].code",
                    f"duplicate code {route.code!r} (also shuttles[{seen[route.code]}])",
                )
            seen.setdefault(route.code, i)
            for j, code in enumerate(route.categories):
                if code not in codes:
                    self.error(f"shuttles[{i}].categories[{j}]", f"no category has code {code!r}")
            times: set[datetime] = set()
            deps = []
            for j, dep in enumerate(route.departures):
                at = self.local(dep.at, f"shuttles[{i}].departures[{j}].at")
                if at is None:
                    continue
                if at in times:
                    self.error(
                        f"shuttles[{i}].departures[{j}].at",
                        f"two departures at {dep.at:%Y-%m-%d %H:%M} on one route",
                    )
                times.add(at)
                deps.append((at, dep.seats if dep.seats is not None else route.seats))
            out[route.code] = deps
        return out


def check_text(text: str, filename: str = "<race file>") -> RaceFileReport:
    """Parse and check a race file's text; the report holds problems and normalized data."""
    import hashlib

    report = RaceFileReport(filename, sha256=hashlib.sha256(text.encode()).hexdigest())
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        report.problems.append(
            Problem("error", "", f"not valid TOML: {exc}", int(match.group(1)) if match else None)
        )
        return report
    lines = locate_lines(text)
    try:
        race = RaceFile.model_validate(data)
    except ValidationError as exc:
        report.problems.extend(
            Problem(p.severity, p.path, p.message, _line_for(p.path, lines))
            for p in _validation_problems(exc)
        )
        return report
    checker = _Checker(race)
    normalized = checker.run()
    report.problems.extend(
        Problem(p.severity, p.path, p.message, _line_for(p.path, lines)) for p in checker.problems
    )
    report.race = race
    report.normalized = normalized if not report.errors else None
    return report


def check_file(path: str | Path) -> RaceFileReport:
    """Read and check one race file from disk."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        report = RaceFileReport(str(path))
        report.problems.append(Problem("error", "", f"cannot read the file: {exc.strerror}"))
        return report
    if len(raw) > MAX_FILE_BYTES:
        report = RaceFileReport(str(path))
        report.problems.append(Problem("error", "", "file is larger than 1 MB"))
        return report
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        report = RaceFileReport(str(path))
        report.problems.append(Problem("error", "", f"not UTF-8 text (byte {exc.start})"))
        return report
    return check_text(text, str(path))
