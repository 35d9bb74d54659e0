"""Structure and types of a race file. Strict: a typo'd key or a wrong type is an error.

Every text a person reads may be given in one language (`name = "…"`, in the event's
`language`) or in several (`name = { ja = "…", en = "…" }`).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from babel import localedata
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from raceapp.vocabulary import FILE_STATUSES


def _known_language(code: str) -> str:
    if not localedata.exists(code.replace("-", "_")):
        raise ValueError("not a language")
    return code


# A language code Babel knows ("ja", "en", "zh-Hant"): "jp" is a country, not a language.
Lang = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$"),
    AfterValidator(_known_language),
]
_Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]
_Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
# Text in the event's language, or a table of the same text in several languages.
Text = _Text | dict[Lang, _Text]
Name = _Name | dict[Lang, _Name]
Code = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,79}$")]
# Elapsed time as hours:minutes ("11:30", "29:30"), the way races publish time limits.
Duration = Annotated[str, StringConstraints(pattern=r"^\d{1,3}:[0-5]\d$")]
Phone = Annotated[str, StringConstraints(pattern=r"^\+?[0-9][0-9 ()-]{4,30}$")]
ClockTime = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
Url = Annotated[str, StringConstraints(pattern=r"^https?://[^\s]+$", max_length=500)]
# The race's colour, "#c2410c": its pages take it, adjusted where contrast needs it.
Colour = Annotated[str, StringConstraints(pattern=r"^#[0-9a-fA-F]{6}$")]
Km = Annotated[float, Field(ge=0, le=1000)]
Count = Annotated[int, Field(ge=0, le=1_000_000)]
Latitude = Annotated[float, Field(ge=-90, le=90)]
Longitude = Annotated[float, Field(ge=-180, le=180)]
# A GPX file next to the race file (or in a folder below it): never a path out of it.
GpxName = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9_-]+(?:[./][A-Za-z0-9_-]+)*\.gpx$", max_length=150),
]

SCHEDULE_KINDS = (
    "registration",
    "gear-check",
    "briefing",
    "start",
    "baggage",
    "drop-bag",
    "awards",
    "finish",
    "shuttle",
    "other",
)


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Checked(Model):
    """A section whose guesses can be marked, and whose checked warnings can be accepted."""

    # Fields the person who wrote the file worked out rather than found published (a year
    # from the weekdays, a start from the cut-offs): shown as "to be confirmed".
    provisional: list[str] = []
    provisional_note: Text | None = None
    # Warnings someone checked and found right as published (see the warning's code).
    accept_warnings: list[str] = []


class EventSection(Checked):
    slug: Slug
    name: Name
    time_zone: _Name
    language: Lang = "en"
    venue: Name | None = None
    address: Text | None = None
    start_date: date | None = None
    end_date: date | None = None
    website: Url | None = None
    results_url: Url | None = None
    colour: Colour | None = None
    # An SVG document, or a data: URI of a PNG, JPEG or WebP image (racefile/logo.py).
    logo: Annotated[str, StringConstraints(max_length=100_000)] | None = None
    hq_phone: Phone | None = None
    # When runners get the evening reminder, the day before their start (local "HH:MM").
    reminder_time: ClockTime | None = None
    # Runners not on the entry list may still follow the race in the app (kit without a bib).
    open_signup: bool = False
    # The country the race is in (ISO 3166, "JP"): its emergency numbers are on the Help
    # page. Without it, the country of the time zone.
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] | None = None
    status: Literal[FILE_STATUSES] = "on"  # type: ignore[valid-type]
    status_note: Text | None = None
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] | None = None
    organizer: Name | None = None
    description: Text | None = None
    access: list[Text] = []
    notes: list[Text] = []


class CheckpointSection(Model):
    name: Name
    km: Km
    label: Name | None = None
    cutoff_after: Duration | None = None
    cutoff_at: datetime | None = None
    notes: Text | None = None
    # The climb and descent of the leg that ends here, where the race publishes them.
    gain_m: Count | None = None
    loss_m: Count | None = None
    # Where the aid station stands: checked against the GPX track at its km.
    lat: Latitude | None = None
    lon: Longitude | None = None


class CategorySection(Checked):
    code: Code
    name: Name
    distance_km: Annotated[float, Field(gt=0, le=1000)] | None = None
    distance_text: Name | None = None
    elevation_gain_m: Count | None = None
    elevation_gain_over: bool = False  # the race says "over 5,000 m"
    gpx: GpxName | None = None
    gpx_illustrative: bool = False  # a drawn track, not the real route (the demo race)
    start: datetime | date | None = None
    start_location: Name | None = None
    time_limit: Duration | None = None
    field_size: Count | None = None
    fee: Count | None = None
    pacer: Text | None = None
    pacer_from: Name | None = None
    pacer_from_km: Km | None = None
    pacer_fee: Count | None = None
    drop_bag_km: Km | None = None
    awards: Text | None = None
    points: Text | None = None
    notes: list[Text] = []
    checkpoints: list[CheckpointSection] = []


class GearOverride(Model):
    """What differs for one category: the same rule at its own kilometres, say."""

    name: Name | None = None
    spec: Text | None = None
    conditions: Text | None = None


class GearItemSection(Model):
    name: Name
    code: Code | None = None
    spec: Text | None = None
    conditions: Text | None = None
    by_category: dict[Code, GearOverride] = {}


class GearListSection(Model):
    categories: Annotated[list[Code], Field(min_length=1)]
    mandatory: list[GearItemSection] = []
    recommended: list[GearItemSection] = []
    notes: list[Text] = []


class ScheduleSection(Model):
    at: datetime
    end: datetime | None = None
    title: Name
    kind: Literal[SCHEDULE_KINDS] = "other"  # type: ignore[valid-type]
    details: Text | None = None
    location: Name | None = None
    categories: list[Code] = []


class DepartureSection(Model):
    at: datetime
    seats: Count | None = None


class ShuttleSection(Model):
    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)

    code: Code
    from_: Annotated[Name, Field(alias="from")]
    to: Name
    fee: Count | None = None
    seats: Count | None = None
    reservation: bool = False
    supporters_allowed: bool = False
    categories: list[Code] = []
    cancel_before: Duration | None = None
    notes: list[Text] = []
    departures: list[DepartureSection] = []


class SupportPointSection(Model):
    name: Name
    km: Km | None = None
    notes: Text | None = None


class ContactSection(Model):
    role: Name
    name: Name | None = None
    phone: Phone | None = None
    email: Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")] | None = None
    url: Url | None = None


class RuleSection(Model):
    title: Name
    items: list[Text] = []
    # The categories this section is for; empty means everyone.
    categories: list[Code] = []


class RulesSection(Model):
    general: list[Text] = []
    prohibited: list[Text] = []
    disqualification: list[Text] = []
    drop_out: list[Text] = []
    cancellation: list[Text] = []
    refund: list[Text] = []
    insurance: list[Text] = []
    privacy: list[Text] = []
    sections: list[RuleSection] = []


class RaceFile(Model):
    event: EventSection
    categories: list[CategorySection] = []
    gear: dict[Code, GearListSection] = {}
    schedule: list[ScheduleSection] = []
    shuttles: list[ShuttleSection] = []
    support_points: list[SupportPointSection] = []
    contacts: list[ContactSection] = []
    rules: RulesSection = RulesSection()


# Fields each section may mark provisional.
PROVISIONAL_FIELDS = {
    "event": ("start_date", "end_date", "venue"),
    "category": ("start", "time_limit", "distance_km", "start_location"),
}
