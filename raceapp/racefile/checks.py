"""The checks on a race file whose structure is right: time zones and clock changes, codes and
references, courses and cut-offs. What passes comes out normalized: instants in UTC, cut-offs
in minutes, gear per category."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from raceapp.localized import Localized, every_text, primary
from raceapp.racefile.logo import Logo, LogoProblem, read_logo
from raceapp.racefile.messages import WARNING, Problem, error, format_minutes, warning
from raceapp.racefile.schema import (
    PROVISIONAL_FIELDS,
    CategorySection,
    Checked,
    GearItemSection,
    RaceFile,
    ScheduleSection,
)
from raceapp.zones import local_candidates, offset_text

# Warnings a person may accept once they have checked them (`accept_warnings`).
ACCEPTABLE_WARNINGS = (
    "no-distance",
    "pacer-km-mismatch",
    "cutoffs-without-start",
    "leg-climbs-exceed",
)


@dataclass
class NormalizedCheckpoint:
    name: Localized
    km: float
    label: Localized | None
    cutoff_minutes: int | None
    is_finish: bool
    notes: Localized | None
    gain_m: int | None = None
    loss_m: int | None = None
    lat: float | None = None
    lon: float | None = None


@dataclass
class NormalizedGear:
    code: str
    name: Localized
    mandatory: bool
    spec: Localized | None
    conditions: Localized | None


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
    schedule: list[tuple[ScheduleSection, datetime, datetime | None]]
    departures: dict[str, list[tuple[datetime, int | None]]]
    logo: Logo | None = None  # the race's logo, read and checked


def duration_minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def code_for(name: Localized, language: str) -> str:
    """A stable code from an item's name: its letters and digits, or, for a name in another
    script (Japanese, say), a short fingerprint of it, so two names never share a code."""
    text = unicodedata.normalize("NFKC", primary(name, language)).strip()
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40].strip("-")
    if slug and text.isascii():
        return slug
    fingerprint = hashlib.sha256(text.encode()).hexdigest()[:8]
    return f"{slug[:30]}-{fingerprint}" if slug else f"item-{fingerprint}"


class Checker:
    """Semantic checks on a structurally valid race file."""

    def __init__(self, race: RaceFile):
        self.race = race
        self.problems: list[Problem] = []
        self.zone: ZoneInfo | None = None
        self.language = race.event.language
        # A file with neither dates nor a start is a page of rules, not a race to run.
        self.is_race = bool(race.event.start_date) or any(c.start for c in race.categories)

    def add(self, problem: Problem) -> None:
        self.problems.append(problem)

    def local(self, value: datetime, path: str) -> datetime | None:
        """A local date-time in the event's zone as a UTC instant; an offset picks one side of
        a clock change, and a time the change makes unclear is an error that says what to
        write."""
        if self.zone is None:
            return None
        wall = value.replace(tzinfo=None)
        candidates = local_candidates(wall, self.zone)
        shown = wall.strftime("%Y-%m-%d %H:%M")
        if value.tzinfo is not None:
            for candidate in candidates:
                if candidate.utcoffset() == value.utcoffset():
                    return candidate.astimezone(timezone.utc)
            self.add(
                error(
                    path,
                    "offset-not-in-zone",
                    time=shown,
                    zone=self.zone.key,
                    offset=offset_text(value),
                    offsets=" or ".join(offset_text(c) for c in candidates) or "none",
                )
            )
            return None
        if len(candidates) == 1:
            return candidates[0].astimezone(timezone.utc)
        if not candidates:
            self.add(error(path, "time-skipped", time=shown, zone=self.zone.key))
            return None
        first, second = candidates
        iso = wall.strftime("%Y-%m-%dT%H:%M:%S")
        self.add(
            error(
                path,
                "time-twice",
                time=shown,
                zone=self.zone.key,
                first=f"{iso}{offset_text(first)}",
                first_name=first.tzname(),
                second=f"{iso}{offset_text(second)}",
                second_name=second.tzname(),
            )
        )
        return None

    def run(self) -> NormalizedRace | None:
        race = self.race
        ev = race.event
        try:
            if ".." in ev.time_zone or ev.time_zone.startswith("/"):
                raise ValueError
            self.zone = ZoneInfo(ev.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            self.add(error("event.time_zone", "bad-time-zone", zone=ev.time_zone))
        if ev.start_date and ev.end_date and ev.end_date < ev.start_date:
            self.add(error("event.end_date", "end-before-start", start=ev.start_date.isoformat()))
        self.marks("event", ev, "event")
        logo = None
        if ev.logo is not None:
            try:
                logo = read_logo(ev.logo)
            except LogoProblem as problem:
                self.add(error("event.logo", problem.code, **problem.params))

        codes: dict[str, int] = {}
        for i, cat in enumerate(race.categories):
            if cat.code in codes:
                self.add(
                    error(
                        f"categories[{i}].code",
                        "duplicate-code",
                        code=cat.code,
                        other=f"categories[{codes[cat.code]}]",
                    )
                )
            codes.setdefault(cat.code, i)
            self.marks(f"categories[{i}]", cat, "category")

        gear_by_cat = self.gear(codes)
        categories = [
            self.category(i, cat, gear_by_cat.get(cat.code, []))
            for i, cat in enumerate(race.categories)
        ]
        schedule = self.schedule(codes)
        departures = self.shuttles(codes)
        for j, section in enumerate(race.rules.sections):
            self.known_categories(f"rules.sections[{j}].categories", section.categories, codes)
        self.accept_checked_warnings()
        if any(p.severity == "error" for p in self.problems) or self.zone is None:
            return None
        return NormalizedRace(race, self.zone, categories, schedule, departures, logo)

    def marks(self, path: str, section: Checked, kind: str) -> None:
        for j, name in enumerate(section.provisional):
            if name not in PROVISIONAL_FIELDS[kind]:
                self.add(error(f"{path}.provisional[{j}]", "not-provisional-field", name=name))
        for j, name in enumerate(section.accept_warnings):
            if name not in ACCEPTABLE_WARNINGS:
                self.add(error(f"{path}.accept_warnings[{j}]", "unknown-warning", name=name))

    def accept_checked_warnings(self) -> None:
        """Drop the warnings a person accepted in the section they belong to."""
        event_accepts = set(self.race.event.accept_warnings)
        kept = []
        for problem in self.problems:
            accepted = set(event_accepts)
            match = re.match(r"categories\[(\d+)\]", problem.path)
            if match and int(match.group(1)) < len(self.race.categories):
                accepted |= set(self.race.categories[int(match.group(1))].accept_warnings)
            if not (problem.severity == WARNING and problem.code in accepted):
                kept.append(problem)
        self.problems = kept

    def known_categories(self, path: str, listed: list[str], codes: dict[str, int]) -> None:
        for j, code in enumerate(listed):
            if code not in codes:
                self.add(error(f"{path}[{j}]", "unknown-category", code=code))

    def gear(self, codes: dict[str, int]) -> dict[str, list[NormalizedGear]]:
        by_cat: dict[str, list[NormalizedGear]] = {}
        seen: dict[tuple[str, str], str] = {}
        clashes: dict[tuple[str, str, str], list[str]] = {}  # (path, field, code) -> categories
        for list_code, gear_list in self.race.gear.items():
            self.known_categories(f"gear.{list_code}.categories", gear_list.categories, codes)
            for kind in ("mandatory", "recommended"):
                items: list[GearItemSection] = getattr(gear_list, kind)
                for k, item in enumerate(items):
                    code = item.code or code_for(item.name, self.language)
                    path = f"gear.{list_code}.{kind}[{k}]"
                    for cat_code in item.by_category:
                        if cat_code not in gear_list.categories:
                            self.add(
                                error(
                                    f"{path}.by_category.{cat_code}",
                                    "unknown-category",
                                    code=cat_code,
                                )
                            )
                    for cat_code in gear_list.categories:
                        key = (cat_code, code)
                        if key in seen:
                            where = (f"{path}.{'code' if item.code else 'name'}", code, seen[key])
                            clashes.setdefault(where, []).append(f"“{cat_code}”")
                            continue
                        seen[key] = path
                        special = item.by_category.get(cat_code)
                        by_cat.setdefault(cat_code, []).append(
                            NormalizedGear(
                                code,
                                (special and special.name) or item.name,
                                kind == "mandatory",
                                (special and special.spec) or item.spec,
                                (special and special.conditions) or item.conditions,
                            )
                        )
        for (at, clash, other), cats in clashes.items():
            self.add(
                error(
                    at, "duplicate-gear-code", categories=", ".join(cats), code=clash, other=other
                )
            )
        return by_cat

    def beyond(self, path: str, km: float | None, distance: float | None) -> None:
        if km is not None and distance is not None and km > distance:
            self.add(error(path, "km-beyond-distance", km=f"{km:g}", distance=f"{distance:g}"))

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
        if cat.distance_km is None and cat.distance_text is None and self.is_race:
            self.add(warning(f"{base}.distance_km", "no-distance"))
        time_limit = duration_minutes(cat.time_limit) if cat.time_limit else None
        if time_limit == 0:
            self.add(error(f"{base}.time_limit", "duration-zero", got="0:00"))
            time_limit = None
        self.beyond(f"{base}.pacer_from_km", cat.pacer_from_km, cat.distance_km)
        self.beyond(f"{base}.drop_bag_km", cat.drop_bag_km, cat.distance_km)

        checkpoints: list[NormalizedCheckpoint] = []
        warned_no_start = False
        prev_km: float | None = None
        prev_cut: int | None = None
        for j, cp in enumerate(cat.checkpoints):
            path = f"{base}.checkpoints[{j}]"
            if prev_km is not None and cp.km <= prev_km:
                self.add(
                    error(
                        f"{path}.km", "km-not-increasing", km=f"{cp.km:g}", previous=f"{prev_km:g}"
                    )
                )
            self.beyond(f"{path}.km", cp.km, cat.distance_km)
            prev_km = cp.km
            minutes = self.cutoff(path, cp.cutoff_after, cp.cutoff_at, cat, start_at)
            if minutes is not None:
                field = "cutoff_after" if cp.cutoff_after else "cutoff_at"
                if prev_cut is not None and minutes <= prev_cut:
                    self.add(
                        error(
                            f"{path}.{field}",
                            "cutoff-not-increasing",
                            cutoff=format_minutes(minutes),
                            previous=format_minutes(prev_cut),
                        )
                    )
                if time_limit is not None and minutes > time_limit:
                    self.add(
                        error(
                            f"{path}.{field}",
                            "cutoff-after-limit",
                            cutoff=format_minutes(minutes),
                            limit=format_minutes(time_limit),
                        )
                    )
                prev_cut = minutes
                if cat.start is None and not warned_no_start:
                    self.add(warning(f"{base}.start", "cutoffs-without-start"))
                    warned_no_start = True
            if (cp.lat is None) != (cp.lon is None):
                self.add(error(f"{path}.{'lon' if cp.lon is None else 'lat'}", "position-half"))
            checkpoints.append(
                NormalizedCheckpoint(
                    cp.name,
                    cp.km,
                    cp.label,
                    minutes,
                    False,
                    cp.notes,
                    cp.gain_m,
                    cp.loss_m,
                    cp.lat if cp.lon is not None else None,
                    cp.lon if cp.lat is not None else None,
                )
            )
        climbed = sum(cp.gain_m or 0 for cp in cat.checkpoints)
        # A tenth over is rounding between sources; more is a mistake in one of the two.
        if cat.elevation_gain_m and climbed > cat.elevation_gain_m * 1.1:
            self.add(
                warning(
                    f"{base}.elevation_gain_m",
                    "leg-climbs-exceed",
                    sum=f"{climbed:,}",
                    total=f"{cat.elevation_gain_m:,}",
                )
            )
        if checkpoints:
            last = checkpoints[-1]
            last.is_finish = cat.distance_km is not None and last.km == cat.distance_km
            if (
                last.is_finish
                and time_limit is not None
                and last.cutoff_minutes is not None
                and last.cutoff_minutes < time_limit
            ):
                field = "cutoff_after" if cat.checkpoints[-1].cutoff_after else "cutoff_at"
                self.add(
                    error(
                        f"{base}.checkpoints[{len(checkpoints) - 1}].{field}",
                        "finish-not-limit",
                        cutoff=format_minutes(last.cutoff_minutes),
                        limit=format_minutes(time_limit),
                    )
                )
        self.references(base, cat, checkpoints)
        return NormalizedCategory(cat, start_at, start_date, time_limit, checkpoints, gear)

    def cutoff(
        self,
        path: str,
        after: str | None,
        at: datetime | None,
        cat: CategorySection,
        start_at: datetime | None,
    ) -> int | None:
        """A checkpoint's cut-off in minutes after the start, from either form (or both,
        which must agree)."""
        minutes = duration_minutes(after) if after else None
        if minutes == 0:
            self.add(error(f"{path}.cutoff_after", "duration-zero", got="0:00"))
            return None
        if at is None:
            return minutes
        if not isinstance(cat.start, datetime):
            self.add(error(f"{path}.cutoff_at", "cutoff-at-needs-start"))
            return minutes
        instant = self.local(at, f"{path}.cutoff_at")
        if instant is None or start_at is None:
            return minutes
        from_clock = int((instant - start_at).total_seconds() // 60)
        clock = at.replace(tzinfo=None).strftime("%a %Y-%m-%d %H:%M")
        if from_clock <= 0:
            start = cat.start.replace(tzinfo=None).strftime("%a %Y-%m-%d %H:%M")
            self.add(
                error(f"{path}.cutoff_at", "cutoff-at-not-after-start", clock=clock, start=start)
            )
            return minutes
        if minutes is not None and minutes != from_clock:
            self.add(
                error(
                    f"{path}.cutoff_at",
                    "cutoff-at-disagrees",
                    clock=clock,
                    from_clock=format_minutes(from_clock),
                    cutoff=format_minutes(minutes),
                )
            )
        return from_clock if minutes is None else minutes

    def references(
        self, base: str, cat: CategorySection, checkpoints: list[NormalizedCheckpoint]
    ) -> None:
        """Warn where the file places a named point at two different distances."""
        if cat.pacer_from and cat.pacer_from_km is not None:
            wanted = {text.casefold() for text in every_text(cat.pacer_from)}
            named = [
                cp
                for cp in checkpoints
                if any(
                    name.casefold().startswith(w) for name in every_text(cp.name) for w in wanted
                )
            ]
            if named and all(cp.km != cat.pacer_from_km for cp in named):
                self.add(
                    warning(
                        f"{base}.pacer_from_km",
                        "pacer-km-mismatch",
                        place=primary(cat.pacer_from, self.language),
                        km=f"{cat.pacer_from_km:g}",
                        name=primary(named[0].name, self.language),
                        checkpoint_km=f"{named[0].km:g}",
                    )
                )

    def schedule(self, codes: dict[str, int]) -> list[tuple[Any, datetime, datetime | None]]:
        out = []
        for i, item in enumerate(self.race.schedule):
            path = f"schedule[{i}]"
            at = self.local(item.at, f"{path}.at")
            end = self.local(item.end, f"{path}.end") if item.end else None
            if at and end and end <= at:
                self.add(
                    error(
                        f"{path}.end",
                        "end-not-after-start",
                        start=item.at.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M"),
                    )
                )
            self.known_categories(f"{path}.categories", item.categories, codes)
            if at:
                out.append((item, at, end))
        return out

    def shuttles(self, codes: dict[str, int]) -> dict[str, list[tuple[datetime, int | None]]]:
        out: dict[str, list[tuple[datetime, int | None]]] = {}
        seen: dict[str, int] = {}
        for i, route in enumerate(self.race.shuttles):
            if route.code in seen:
                self.add(
                    error(
                        f"shuttles[{i}].code",
                        "duplicate-code",
                        code=route.code,
                        other=f"shuttles[{seen[route.code]}]",
                    )
                )
            seen.setdefault(route.code, i)
            self.known_categories(f"shuttles[{i}].categories", route.categories, codes)
            if route.cancel_before is not None and duration_minutes(route.cancel_before) == 0:
                self.add(error(f"shuttles[{i}].cancel_before", "cancel-before-zero"))
            times: set[datetime] = set()
            deps = []
            for j, dep in enumerate(route.departures):
                at = self.local(dep.at, f"shuttles[{i}].departures[{j}].at")
                if at is None:
                    continue
                if at in times:
                    self.add(
                        error(
                            f"shuttles[{i}].departures[{j}].at",
                            "two-departures",
                            time=dep.at.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M"),
                        )
                    )
                times.add(at)
                deps.append((at, dep.seats if dep.seats is not None else route.seats))
            out[route.code] = deps
        return out
