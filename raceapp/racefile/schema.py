"""Structure and types of a race file. Strict: a typo'd key or a wrong type is an error."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from raceapp.vocabulary import FILE_STATUSES

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Code = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,79}$")]
# Elapsed time as hours:minutes ("11:30", "29:30"), the way races publish time limits.
Duration = Annotated[str, StringConstraints(pattern=r"^\d{1,3}:[0-5]\d$")]
Phone = Annotated[str, StringConstraints(pattern=r"^\+?[0-9][0-9 ()-]{4,30}$")]
Url = Annotated[str, StringConstraints(pattern=r"^https?://[^\s]+$", max_length=500)]
Km = Annotated[float, Field(ge=0, le=1000)]
Count = Annotated[int, Field(ge=0, le=1_000_000)]

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


class EventSection(Model):
    slug: Slug
    name: Name
    time_zone: Name
    venue: Name | None = None
    address: Text | None = None
    start_date: date | None = None
    end_date: date | None = None
    website: Url | None = None
    results_url: Url | None = None
    hq_phone: Phone | None = None
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


class CategorySection(Model):
    code: Code
    name: Name
    distance_km: Annotated[float, Field(gt=0, le=1000)] | None = None
    distance_text: Name | None = None
    elevation_gain_m: Count | None = None
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


class GearItemSection(Model):
    name: Name
    code: Code | None = None
    spec: Text | None = None
    conditions: Text | None = None


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
