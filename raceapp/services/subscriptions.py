"""Push subscriptions: what a browser hands us is checked before the server ever calls it.

An endpoint is a URL chosen by the client. Accepting any URL would let anyone make the server
POST to an internal address, so only https endpoints on the known push services' hosts (plus
configured exact origins) are stored.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec
from flask_babel import gettext as _
from sqlalchemy import delete, func, select
from ua_parser import parse as ua_parse

from raceapp.database import rowcount, write_transaction
from raceapp.errors import DomainError
from raceapp.extensions import db
from raceapp.i18n import DEFAULT_LANGUAGE, in_every_language
from raceapp.links import https_host
from raceapp.models import Notice, PushSubscription, User
from raceapp.services import accounts

ENDPOINT_MAX = 1024
DEVICES_PER_USER = 10


def _b64url(value: object, name: str) -> bytes:
    if not isinstance(value, str) or not value or len(value) > 120:
        raise DomainError(_("The subscription's %(name)s key is missing or malformed.", name=name))
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raise DomainError(
            _("The subscription's %(name)s key is not base64url.", name=name)
        ) from None


def origin_of(endpoint: str) -> str:
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{parts.netloc}".lower()


def check_endpoint(
    endpoint: object, allowed_hosts: tuple[str, ...], extra_origins: tuple[str, ...] = ()
) -> str:
    """Return the endpoint if the server may call it, else raise a DomainError saying why."""
    if not isinstance(endpoint, str) or not endpoint or len(endpoint) > ENDPOINT_MAX:
        raise DomainError(_("The subscription has no usable endpoint."))
    try:
        parts = urlsplit(endpoint)
        port = parts.port
    except ValueError:
        raise DomainError(_("The endpoint is not a valid URL.")) from None
    if any(ch.isspace() or ord(ch) < 32 for ch in endpoint):
        raise DomainError(_("The endpoint is not a valid URL."))
    if origin_of(endpoint) in {o.lower().rstrip("/") for o in extra_origins}:
        return endpoint
    if parts.scheme != "https":
        raise DomainError(_("The endpoint must be an https URL."))
    host = https_host(endpoint)
    if host is None or port not in (None, 443):
        raise DomainError(_("The endpoint must be a plain https URL of a push service."))
    if not any(_host_matches(host, pattern) for pattern in allowed_hosts):
        raise DomainError(_("The endpoint is not on a known push service."))
    return endpoint


def _host_matches(host: str, pattern: str) -> bool:
    pattern = pattern.strip().lower()
    if pattern.startswith("*."):
        return host.endswith(pattern[1:]) and len(host) > len(pattern) - 1
    return host == pattern


def check_keys(keys: object) -> tuple[str, str]:
    """The browser's P-256 public key and auth secret, validated (RFC 8291)."""
    if not isinstance(keys, dict):
        raise DomainError(_("The subscription has no keys."))
    p256dh, auth = keys.get("p256dh"), keys.get("auth")
    point = _b64url(p256dh, "p256dh")
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError:
        raise DomainError(_("The subscription's p256dh key is not a P-256 public key.")) from None
    if len(_b64url(auth, "auth")) != 16:
        raise DomainError(_("The subscription's auth secret must be 16 bytes."))
    assert isinstance(p256dh, str) and isinstance(auth, str)  # _b64url checked both
    return p256dh, auth


def subscribe(
    user: User,
    data: object,
    *,
    session_token: str | None,
    user_agent: str | None,
    language: str | None = None,
    allowed_hosts: tuple[str, ...],
    extra_origins: tuple[str, ...],
    now: datetime,
) -> PushSubscription:
    """Store or refresh this device's subscription (browsers change them silently)."""
    if not isinstance(data, dict):
        raise DomainError(_("Send the subscription as a JSON object."))
    endpoint = check_endpoint(data.get("endpoint"), allowed_hosts, extra_origins)
    p256dh, auth = check_keys(data.get("keys"))
    session_id = accounts.session_id_for(session_token)
    fields = dict(
        user_id=user.id,
        login_session_id=session_id,
        p256dh=p256dh,
        auth=auth,
        last_seen_at=now,
        user_agent=(user_agent or "")[:200] or None,
        language=language,
    )
    with write_transaction():
        sub = db.session.scalar(
            select(PushSubscription).where(PushSubscription.endpoint == endpoint).with_for_update()
        )
        if sub is None:
            sub = PushSubscription(endpoint=endpoint, created_at=now, **fields)
            db.session.add(sub)
        else:
            # An endpoint is one browser: it belongs to whoever last logged in on it. The one
            # it leaves is told, in the app, so they never lose alerts without knowing.
            if sub.user_id != user.id:
                _tell_previous_owner(sub.user_id, sub.user_agent, now)
            for name, value in fields.items():
                setattr(sub, name, value)
        db.session.flush()
        _keep_newest_devices(user.id)
    return sub


def _tell_previous_owner(user_id: int, user_agent: str | None, now: datetime) -> None:
    device = device_name(user_agent)
    texts = in_every_language(
        lambda: _(
            "Alerts on one of your devices (%(device)s) now go to another account that logged "
            "in on it. Log in there again and turn alerts on to get them back.",
            device=device(),
        )
    )
    db.session.add(
        Notice(
            user_id=user_id,
            created_at=now,
            text=texts[DEFAULT_LANGUAGE],
            texts={"text": texts},
            link="/me/alerts",
        )
    )


def device_name(user_agent: str | None):
    """A browser and system a person recognises ("Chrome Mobile on Android"), from its user
    agent (ua-parser's rules); a callable, so it is said in each language."""
    found = ua_parse(user_agent or "")
    browser = found.user_agent.family if found.user_agent else None
    system = found.os.family if found.os else None

    def name() -> str:
        if browser and system:
            return _("%(browser)s on %(system)s", browser=browser, system=system)
        return browser or system or _("a browser")

    return name


def _keep_newest_devices(user_id: int) -> None:
    count = db.session.scalar(select(func.count()).where(PushSubscription.user_id == user_id))
    if count and count > DEVICES_PER_USER:
        stale = (
            select(PushSubscription.id)
            .where(PushSubscription.user_id == user_id)
            .order_by(PushSubscription.last_seen_at.desc())
            .offset(DEVICES_PER_USER)
        )
        db.session.execute(
            delete(PushSubscription).where(PushSubscription.id.in_(list(db.session.scalars(stale))))
        )


def unsubscribe(user: User, endpoint: object) -> bool:
    """Forget one of the user's devices ("turn off alerts"); True if it was there."""
    if not isinstance(endpoint, str):
        raise DomainError(_("Say which endpoint to remove."))
    with write_transaction():
        result = db.session.execute(
            delete(PushSubscription).where(
                PushSubscription.user_id == user.id, PushSubscription.endpoint == endpoint
            )
        )
    return bool(rowcount(result))


def devices_of(user: User) -> int:
    return db.session.scalar(select(func.count()).where(PushSubscription.user_id == user.id)) or 0
