"""Plain helpers the test modules share (fixtures live in conftest.py)."""

from __future__ import annotations

import base64
import json
import os
import re
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from raceapp.extensions import db
from raceapp.models import ShuttleDeparture
from raceapp.racefile import check_file
from raceapp.services.race_import import import_reports

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
RACES = sorted((ROOT / "races").glob("*.toml"))
PASSWORD = "correct horse battery"
TOKYO = ZoneInfo("Asia/Tokyo")
# The audit race (tests/data/audit-race.toml) and the bus race are a day before their start.
AUDIT_RACE = DATA / "audit-race.toml"
BEFORE = datetime(2026, 6, 19, 12, 0, tzinfo=TOKYO)
CSRF_RE = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|'
    r'name="csrf_token" value="([^"]+)"'
)
FCM = "https://fcm.googleapis.com/fcm/send/"


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1) or match.group(2)


def import_files(*paths) -> None:
    reports = [check_file(p) for p in paths]
    assert all(r.ok for r in reports), [r.lines() for r in reports]
    import_reports(reports, now=datetime.now(timezone.utc))


# Rows that change on every request whoever makes it: a session's last use, abuse counters.
VOLATILE_TABLES = {"login_sessions", "rate_limit_counters"}


def db_snapshot() -> dict[str, list[tuple]]:
    """Every row of every table, to show that a refused request wrote nothing."""
    db.session.commit()
    return {
        table.name: sorted(map(tuple, db.session.execute(table.select()).all()), key=repr)
        for table in db.metadata.sorted_tables
        if table.name not in VOLATILE_TABLES
    }


def subscribe(user, service, now, language: str | None = None):
    """A push subscription of the user's phone at the test push service."""
    from raceapp.extensions import db
    from raceapp.models import PushSubscription

    sub = service.new_subscription()
    subscription = PushSubscription(
        user_id=user.id,
        endpoint=sub["endpoint"],
        p256dh=sub["keys"]["p256dh"],
        auth=sub["keys"]["auth"],
        language=language,
        created_at=now,
        last_seen_at=now,
    )
    db.session.add(subscription)
    return subscription


def push_payload(alert, language: str | None = "en") -> dict:
    """The JSON a phone decrypts for this alert, as the push worker builds it (a correction
    or withdrawal included), read in the caller's transaction."""
    from raceapp.extensions import db
    from raceapp.push import outbox

    db.session.flush()
    ((built, _at),) = outbox.messages_for(db.session.connection(), {(alert.id, language)}).values()
    return json.loads(built.payload)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def browser_keys() -> dict:
    """A browser's subscription keys: a P-256 public key and a 16-byte auth secret."""
    public = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    return {"p256dh": b64url(public), "auth": b64url(os.urandom(16))}


def subscription(endpoint: str = FCM + "dGVzdA:APA91b", **keys) -> dict:
    return {"endpoint": endpoint, "expirationTime": None, "keys": {**browser_keys(), **keys}}


def send(client, body, method="POST", **headers):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.open(
        "/push/subscription",
        method=method,
        data=data,
        headers={
            "Content-Type": "application/json",
            "X-CSRFToken": getattr(client, "csrf", ""),
            **headers,
        },
    )


def departure(event, route_code: str, hhmm: str) -> ShuttleDeparture:
    """The departure of a route at a local time ("05:00")."""
    route = next(r for r in event.shuttle_routes if r.code == route_code)
    return next(
        d for d in route.departures if d.departs_at.astimezone(TOKYO).strftime("%H:%M") == hhmm
    )


def book(client, dep, key="k1"):
    """Book a seat through the timetable's form, as a phone would."""
    token = csrf_from(client.get("/events/bus-test/shuttles").get_data(as_text=True))
    return client.post(
        f"/shuttles/departures/{dep.id}/book", data={"csrf_token": token, "idempotency_key": key}
    )


# --- E-mail -------------------------------------------------------------------------------------

LINK_RE = re.compile(r"https?://[^\s<>\"]+")


def sent_mail(app) -> list:
    """The messages the in-memory mail backend of the tests has kept, oldest first."""
    return getattr(app.extensions["mailman"], "outbox", [])


def link_in(message, path: str) -> str:
    """The path (and query) of the link in a message's text that starts with `path`."""
    from urllib.parse import urlsplit

    for url in LINK_RE.findall(message.body):
        parts = urlsplit(url)
        if parts.path.startswith(path):
            return parts.path + (f"?{parts.query}" if parts.query else "")
    raise AssertionError(f"no link to {path} in: {message.body}")


def sign_up(client, **fields):
    """Fill in the sign-up form (a new visitor's client)."""
    token = csrf_from(client.get("/auth/signup").get_data(as_text=True))
    data = {"name": "Aki", "email": "aki@example.com", "password": PASSWORD, "csrf_token": token}
    environ = fields.pop("environ_base", {})
    data.update(fields)
    return client.post("/auth/signup", data=data, environ_base=environ)


def open_sign_up_link(app, client):
    """Open the link of the last sign-up e-mail and create the account (logged in after)."""
    path = link_in(sent_mail(app)[-1], "/auth/confirm/")
    page = client.get(path)
    assert page.status_code == 200, page.get_data(as_text=True)
    return client.post(path, data={"csrf_token": csrf_from(page.get_data(as_text=True))})


# What a production start requires of mail besides: a server, and addresses that receive mail.
PRODUCTION_MAIL = dict(
    MAIL_BACKEND="smtp",
    MAIL_SERVER="smtp.raceapp.org",
    MAIL_DEFAULT_SENDER="raceapp <no-reply@raceapp.org>",
    VAPID_CONTACT_EMAIL="alerts@raceapp.org",
)


def stylesheet_colours() -> tuple[dict[str, str], dict[str, str]]:
    """The colour tokens static/app.css defines, {"bg": "#f3f4f1", ...}, in its light theme
    and in its dark one (#fff written out as #ffffff)."""
    css = (ROOT / "static" / "app.css").read_text()
    light, dark = css.split("@media (prefers-color-scheme: dark)", 1)

    def colours(text: str) -> dict[str, str]:
        found = re.findall(r"--([a-z0-9-]+):\s*(#[0-9a-fA-F]{6}|#fff)\b", text)
        return {name: "#ffffff" if value == "#fff" else value for name, value in found}

    return colours(light), colours(dark.split("\n}\n", 1)[0])
