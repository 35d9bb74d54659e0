"""What one push message carries: a small JSON payload and the RFC 8030 headers for its kind."""

from __future__ import annotations

import json
from dataclasses import dataclass

from raceapp import localized
from raceapp.i18n import DEFAULT_LANGUAGE, speaking
from raceapp.vocabulary import alert_kind, is_urgent, refreshes_kit

# A push service must take 4096-byte bodies; aes128gcm adds 86 bytes and a padding byte.
# Staying far below leaves room for any service that counts differently.
PAYLOAD_MAX_BYTES = 3000
# What the alert did to the race ("100 km start 05:00 → 05:45"): short, the body gets the rest.
SUMMARY_MAX_BYTES = 600


@dataclass(frozen=True)
class AlertMessage:
    """Everything the worker needs to send one alert, whoever it goes to."""

    alert_id: int
    payload: bytes
    ttl: int
    urgency: str
    topic: str


def topic_for(
    alert_id: int, kind: str, event_id: int, category_id: int | None, revision: int = 0
) -> str:
    """RFC 8030 Topic (<= 32 base64url characters): a newer message with the same topic
    replaces an undelivered older one. A new start delay supersedes the previous one; a
    correction or withdrawal replaces only its own alert."""
    if kind == "start_delay" and not revision:
        return f"delay-{event_id}-{category_id or 0}"
    return f"alert-{alert_id}"


def _truncate(text: str, max_bytes: int) -> str:
    data = text.encode()
    if len(data) <= max_bytes:
        return text
    return data[: max(max_bytes - 3, 0)].decode(errors="ignore").rstrip() + "…"


def build(
    alert_id: int,
    kind: str,
    title: str,
    body: str,
    event_name: str,
    category_name: str | None,
    event_id: int,
    category_id: int | None,
    created_at_iso: str,
    outcome: dict | None = None,
    language: str = DEFAULT_LANGUAGE,
    audience_kind: str | None = None,
    revision: int = 0,
) -> AlertMessage:
    """The JSON the service worker shows; the body is cut to keep it well under 4 KB.

    `urgent` and `refresh` come from the vocabulary (the kind, and a bus's passengers), so the
    service worker needs no list of kinds of its own; `state` and `summary` say what the alert
    did to the race. Everything a person reads is in `language`, the device's."""
    info = alert_kind(kind)
    urgent = is_urgent(kind, audience_kind)
    outcome = outcome or {}
    with speaking(language):
        label = str(info.label)
    fields = {
        "id": alert_id,
        "kind": kind,
        "lang": language,
        "label": label,
        "urgent": urgent,
        # A correction or withdrawal also replaces the copy of the alert's page the phone keeps.
        "refresh": refreshes_kit(kind, audience_kind) or revision > 0,
        "state": outcome.get("state"),
        "summary": _truncate(localized.pick(outcome.get("summary"), language), SUMMARY_MAX_BYTES),
        "title": title,
        "body": "",
        "event": event_name if not category_name else f"{event_name} · {category_name}",
        "url": f"/me/alerts/{alert_id}",
        "tag": f"alert-{alert_id}",
        "at": created_at_iso,
    }
    room = PAYLOAD_MAX_BYTES
    while True:
        fields["body"] = _truncate(body, room)
        payload = json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()
        if len(payload) <= PAYLOAD_MAX_BYTES:
            break
        # JSON escapes (quotes, newlines) take more room than the raw text: cut further.
        room -= len(payload) - PAYLOAD_MAX_BYTES
    return AlertMessage(
        alert_id,
        payload,
        info.ttl_seconds,
        "high" if urgent else "normal",
        topic_for(alert_id, kind, event_id, category_id, revision),
    )
