"""What the Help page offers: the numbers the race published, the emergency numbers of the
country it is in, and what to read out to whoever answers. Numbers are never invented: a race
that published none is said to have published none."""

from __future__ import annotations

import re
from dataclasses import dataclass

from babel import Locale, UnknownLocaleError
from babel.core import get_global
from flask_babel import gettext as _

from raceapp.i18n import current_language
from raceapp.localized import pick
from raceapp.models import Event
from raceapp.vocabulary import EMERGENCY_NUMBERS


@dataclass(frozen=True)
class Number:
    label: str  # who answers, in the reader's language
    phone: str  # as published, for the eye
    dial: str  # for the tel: link

    @classmethod
    def of(cls, label: str, phone: str) -> Number:
        # "+41 (0)27 …": the trunk 0 is not dialled after a country code.
        dialled = re.sub(r"^(\+\d+)\s*\(0\)", r"\1", phone.strip())
        return cls(label, phone, "".join(ch for ch in dialled if ch.isdigit() or ch == "+"))


@dataclass(frozen=True)
class HelpNumbers:
    race: list[Number]  # headquarters and the contacts that published a phone
    emergency: list[Number]  # the country's
    country: str | None  # its name in the reader's language


def country_of(event: Event) -> str | None:
    """The race's country: the one its file names, else the one of its time zone."""
    named = (event.details or {}).get("country")
    if named:
        return str(named)
    territory = get_global("zone_territories").get(event.time_zone)
    return str(territory) if territory else None


def _country_name(code: str) -> str:
    try:
        return str(Locale.parse(current_language()).territories.get(code, code))
    except (UnknownLocaleError, ValueError):
        return code


def numbers(event: Event) -> HelpNumbers:
    """The numbers to show, in the reader's language."""
    race = []
    if event.hq_phone:
        race.append(Number.of(_("Race headquarters"), event.hq_phone))
    for contact in (event.details or {}).get("contacts", []):
        phone = contact.get("phone")
        if phone:
            label = pick(contact.get("role"), current_language()) or _("Race contact")
            name = pick(contact.get("name"), current_language())
            race.append(Number.of(f"{label} · {name}" if name else label, phone))
    country = country_of(event)
    emergency = [
        Number.of(str(label), number) for number, label in EMERGENCY_NUMBERS.get(country or "", ())
    ]
    return HelpNumbers(race, emergency, _country_name(country) if country else None)
