"""The words of the race domain, said once: alert kinds, race states, checkpoint states.

Everything else follows from here: the database CHECK constraints, the labels on pills and
alerts, the push headers (urgency, time to live), what the phone does when a push arrives
(the payload carries `urgent` and `refresh` from these tables), and which kinds change the race.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext as _lp

HOUR = 3600


@dataclass(frozen=True)
class AlertKind:
    code: str
    label: str  # in the reader's language when shown (a lazy string)
    # High push urgency; the phone keeps the notification until it is tapped.
    urgent: bool
    # How long a push service keeps the message for a phone that is off or in a tunnel.
    ttl_seconds: int
    # Whether the alert changes the race (state, start, cut-offs, checkpoints).
    changes_race: bool
    # Whether a phone must refresh its cached kit at once when the push arrives.
    refresh_kit: bool
    # Whether the organizer must confirm before it goes out.
    needs_confirm: bool = False


# fmt: off
_KINDS = (
    #          code                label                   urgent  ttl        changes refresh conf.
    AlertKind("info",             _l("Information"),       False,  12 * HOUR, False,  False),
    AlertKind("weather",          _l("Weather"),           False,  12 * HOUR, False,  False),
    AlertKind("rule_change",      _l("Rule change"),       False,  24 * HOUR, True,   True),
    AlertKind("course_change",    _l("Course change"),     True,   24 * HOUR, True,   True),
    AlertKind("start_delay",      _l("Start delay"),       True,   24 * HOUR, True,   True),
    AlertKind("cutoff_extension", _l("Cut-off extension"), True,   24 * HOUR, True,   True),
    # A cancellation the day before must still reach a phone that is off until morning.
    AlertKind("cancellation",     _l("Cancellation"),      True,   72 * HOUR, True,   True,   True),
    AlertKind("reinstate",        _l("Race back on"),      True,   72 * HOUR, True,   True,   True),
)
# fmt: on
ALERT_KINDS: dict[str, AlertKind] = {kind.code: kind for kind in _KINDS}
CHANGE_KINDS = frozenset(code for code, kind in ALERT_KINDS.items() if kind.changes_race)


def alert_kind(code: str) -> AlertKind:
    return ALERT_KINDS[code]


@dataclass(frozen=True)
class RaceState:
    code: str
    label: str
    # How a pill shows it: "ok", "info", "warn", "danger" or "done".
    tone: str


UPCOMING, CHANGED, DELAYED = "upcoming", "changed", "delayed"
CANCELLED, IN_PROGRESS, FINISHED = "cancelled", "in_progress", "finished"
# A file that holds only rules (no category with a start, no dates) is not a race to join.
RULES = "rules"

_STATES = (
    RaceState(UPCOMING, _l("Upcoming"), "ok"),
    RaceState(CHANGED, _l("Changed"), "warn"),
    RaceState(DELAYED, _l("Delayed"), "warn"),
    RaceState(CANCELLED, _l("Cancelled"), "danger"),
    RaceState(IN_PROGRESS, _l("In progress"), "info"),
    RaceState(FINISHED, _l("Finished"), "done"),
    RaceState(RULES, _l("Rules"), "done"),
)
RACE_STATES: dict[str, RaceState] = {state.code: state for state in _STATES}


def race_state(code: str) -> RaceState:
    return RACE_STATES[code]


# What a race file may declare about itself; alerts do the rest.
FILE_STATUSES = ("on", "changed", "cancelled")

# A checkpoint after a course change: still on the course, skipped by it, or on the course
# with its aid station closed (no food, water or drop-out point there).
OPEN, BYPASSED, CLOSED = "open", "bypassed", "closed"
CHECKPOINT_STATUSES = {
    OPEN: _lp("checkpoint", "Open"),
    BYPASSED: _lp("checkpoint", "Bypassed"),
    CLOSED: _lp("checkpoint", "Aid station closed"),
}

# How the pace to a cut-off looks from where the runner is (services.pace grades it).
COMFORTABLE, TIGHT, OUT_OF_REACH, PASSED = "comfortable", "tight", "out of reach", "passed"
PACE_GRADES = {
    COMFORTABLE: _l("comfortable"),
    TIGHT: _l("tight"),
    OUT_OF_REACH: _l("out of reach"),
    PASSED: _l("passed"),
}

# Schedule items of these kinds are tied to the start or to the finish cut-off: a start
# delay (or a cut-off extension, for the finish) moves them.
MOVES_WITH_START = frozenset({"start"})
MOVES_WITH_FINISH = frozenset({"finish"})

DELIVERY_STATUSES = ("pending", "sent", "failed", "gone")
BOOKED, SEAT_CANCELLED = "booked", "cancelled"
BOOKING_STATUSES = (BOOKED, SEAT_CANCELLED)

# What a link sent by e-mail is for: finishing a sign-up, choosing a new password, or
# moving an account to a new address.
SIGN_UP, PASSWORD_RESET, EMAIL_CHANGE = "sign-up", "password-reset", "email-change"
EMAIL_LINK_PURPOSES = (SIGN_UP, PASSWORD_RESET, EMAIL_CHANGE)

# Reminders: the evening before the race (by push and e-mail), and before a booked bus (push).
EVE, BUS = "eve", "bus"
REMINDER_KINDS = (EVE, BUS)
# "cancelled": not sent, for a reason found when it was due (race cancelled, seat given up).
REMINDER_STATUSES = ("pending", "sent", "cancelled", "failed")
# The evening reminder's local time when the race file does not set one.
DEFAULT_REMINDER_TIME = "17:00"
# How long before a booked departure its reminder goes.
BUS_REMINDER_MINUTES = 30


def sql_in(column: str, values) -> str:
    """A CHECK constraint's text: `column IN ('a', 'b')`, from one of the tables above."""
    quoted = ", ".join("'" + value.replace("'", "''") + "'" for value in values)
    return f"{column} IN ({quoted})"


# --- The organizer's console ---------------------------------------------------------------
# What a member of a race's team may do. Headquarters runs the race; shuttle staff work at the
# bus door; read-only members follow along.
HEADQUARTERS, SHUTTLE_STAFF, READ_ONLY = "headquarters", "shuttle_staff", "read_only"
TEAM_ROLES = {
    HEADQUARTERS: _l("Headquarters"),
    SHUTTLE_STAFF: _l("Shuttle staff"),
    READ_ONLY: _l("Read only"),
}
# Permissions, and the roles that hold each.
VIEW, MANIFESTS, ENTRIES, PERSONAL_DATA, EDIT_ENTRIES, PUBLISH, ALERTS, TEAM = (
    "view",  # the event's console: figures, versions, the log
    "manifests",  # bus manifests and the ticket check at the door
    "entries",  # the entry list: bibs, names, categories, claimed or not
    "personal_data",  # entries' e-mails, phones and emergency contacts
    "edit_entries",  # import, correct, move, withdraw; claim codes
    "publish",  # race files
    "alerts",
    "team",
)
ROLE_PERMISSIONS = {
    HEADQUARTERS: frozenset(
        {VIEW, MANIFESTS, ENTRIES, PERSONAL_DATA, EDIT_ENTRIES, PUBLISH, ALERTS, TEAM}
    ),
    # At the bus door: the manifests and the ticket check, nothing of the race's console.
    SHUTTLE_STAFF: frozenset({MANIFESTS}),
    READ_ONLY: frozenset({VIEW, ENTRIES}),
}


# --- Help -----------------------------------------------------------------------------------
# The numbers to call in an emergency, by the country the race is in (ISO 3166 code: the race
# file's `country`, else its time zone's). Offered on the Help page whatever the race
# publishes; a country not listed here gets no number rather than a guess.
AMBULANCE_FIRE, AMBULANCE, FIRE, POLICE, MOUNTAIN_RESCUE, EMERGENCY, FROM_A_MOBILE = (
    _l("Ambulance and fire"),
    _l("Ambulance"),
    _l("Fire"),
    _l("Police"),
    _l("Mountain rescue"),
    _l("Emergency (all services)"),
    _l("Emergency, from a mobile phone"),
)
EMERGENCY_NUMBERS = {
    "JP": (("119", AMBULANCE_FIRE), ("110", POLICE)),
    "KR": (("119", AMBULANCE_FIRE), ("112", POLICE)),
    "TW": (("119", AMBULANCE_FIRE), ("110", POLICE)),
    "HK": (("999", EMERGENCY),),
    "US": (("911", EMERGENCY),),
    "CA": (("911", EMERGENCY),),
    "GB": (("999", EMERGENCY), ("112", FROM_A_MOBILE)),
    "FR": (("15", AMBULANCE), ("18", FIRE), ("17", POLICE), ("112", EMERGENCY)),
    "IT": (("112", EMERGENCY), ("118", AMBULANCE)),
    "ES": (("112", EMERGENCY),),
    "DE": (("112", AMBULANCE_FIRE), ("110", POLICE)),
    "AT": (
        ("144", AMBULANCE),
        ("140", MOUNTAIN_RESCUE),
        ("122", FIRE),
        ("133", POLICE),
        ("112", EMERGENCY),
    ),
    "CH": (("144", AMBULANCE), ("118", FIRE), ("117", POLICE), ("1414", MOUNTAIN_RESCUE)),
    "AU": (("000", EMERGENCY), ("112", FROM_A_MOBILE)),
    "NZ": (("111", EMERGENCY),),
}

# How a runner who stopped gets back (their drop-out report says it to headquarters).
GETTING_BACK = {
    "shuttle": _l("By the race's shuttle or staff car"),
    "own": _l("On my own (walking, car, taxi, train)"),
    "with_staff": _l("With the staff of the aid station"),
    "not_yet": _l("I do not know yet"),
}


# Who an alert can go to besides a whole race or one category (the desk's "For" list). A
# change to the race always goes to a race or a category: everyone it changes things for.
AUDIENCES = {
    "departure": _l("Passengers of one bus departure"),
    "on_course": _l("Runners on the course now"),
    "not_started": _l("Runners whose race has not started"),
    "unread": _l("Runners who have not read an earlier alert"),
    "passenger": _l("One passenger"),
}
# An alert to the passengers of one bus, or to one passenger, is about a bus that leaves soon:
# whatever its kind it is urgent (push at high urgency, e-mail to all) and refreshes the
# phone's cached ticket.
BUS_AUDIENCES = frozenset({"departure", "passenger"})


def is_urgent(kind: str, audience_kind: str | None = None) -> bool:
    return ALERT_KINDS[kind].urgent or audience_kind in BUS_AUDIENCES


def refreshes_kit(kind: str, audience_kind: str | None = None) -> bool:
    return ALERT_KINDS[kind].refresh_kit or audience_kind in BUS_AUDIENCES
