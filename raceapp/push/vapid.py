"""VAPID (RFC 8292): our key pair, and signed tokens reused per push-service origin.

Signing per message would cost a signature each and, for Apple, break its rule of at most one
new token an hour; a token names its origin (`aud`) and lives up to 24 h, so one is kept per
origin and renewed an hour before it expires.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from flask import Flask
from pydantic import AnyHttpUrl
from webpush import WebPush
from webpush.types import WebPushKeys, WebPushSubscription
from webpush.vapid import VAPID

TOKEN_LIFETIME_SECONDS = 12 * 3600
RENEW_BEFORE_EXPIRY_SECONDS = 3600


class VapidKeyError(RuntimeError):
    pass


def generate_private_key_pem() -> bytes:
    """A new P-256 key pair for VAPID, as a PKCS#8 PEM private key."""
    private_pem, _public_pem, _server_key = VAPID.generate_keys()
    return private_pem


class Vapid:
    """Encrypts payloads (RFC 8291, via the webpush package) and signs VAPID headers."""

    def __init__(
        self,
        private_pem: bytes,
        contact_email: str,
        *,
        token_lifetime: int = TOKEN_LIFETIME_SECONDS,
        now: Callable[[], float] = time.time,
    ):
        try:
            key = serialization.load_pem_private_key(private_pem, password=None)
        except ValueError as exc:
            raise VapidKeyError(f"The VAPID private key is not a PEM key: {exc}") from None
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
            raise VapidKeyError("The VAPID key must be a P-256 (prime256v1) EC key.")
        public_pem = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        # One instance, used only for its stateless parts (encryption, header signing): its
        # per-call defaults are never touched, so threads may share it.
        self._webpush = WebPush(
            private_key=private_pem, public_key=public_pem, subscriber=contact_email
        )
        self.contact_email = contact_email
        self.application_server_key = VAPID.get_application_server_key(key.public_key())
        self.token_lifetime = token_lifetime
        self._now = now
        self._tokens: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()
        self.tokens_signed = 0

    def authorization(self, endpoint: str) -> str:
        """The Authorization header for this endpoint's origin, reusing a live token."""
        parts = urlsplit(endpoint)
        # The package signs aud as scheme://host (no port); the cache is keyed the same way.
        origin = f"{parts.scheme}://{parts.hostname}"
        now = self._now()
        with self._lock:
            cached = self._tokens.get(origin)
            if cached and cached[1] > now:
                return cached[0]
            header = self._webpush.vapid.get_authorization_header(
                endpoint=AnyHttpUrl(endpoint),
                subscriber=self.contact_email,
                expiration=self.token_lifetime,
            )
            renew_at = now + max(
                self.token_lifetime - RENEW_BEFORE_EXPIRY_SECONDS, self.token_lifetime / 2
            )
            self._tokens[origin] = (header, renew_at)
            self.tokens_signed += 1
            return header

    def encrypt(self, payload: bytes, p256dh: str, auth: str) -> bytes:
        """The aes128gcm body for one subscription (a fresh key pair and salt each time)."""
        subscription = WebPushSubscription.model_construct(
            endpoint=None, keys=WebPushKeys.model_construct(p256dh=p256dh, auth=auth)
        )
        # The package's encryption step on its own: get() would also sign a token per call.
        return self._webpush._encrypt(payload, subscription)


def load_private_key(app: Flask) -> bytes | None:
    """The configured VAPID private key as PEM bytes, or None when push is not set up."""
    inline = app.config.get("VAPID_PRIVATE_KEY")
    if inline:
        return inline.replace("\\n", "\n").encode()
    path = app.config.get("VAPID_PRIVATE_KEY_FILE")
    if path:
        try:
            return Path(path).read_bytes()
        except OSError as exc:
            raise VapidKeyError(f"Cannot read VAPID_PRIVATE_KEY_FILE: {exc}") from None
    return None


def vapid_for(app: Flask) -> Vapid | None:
    """The app's Vapid, made once; None when no key is configured (alerts stay in-app)."""
    if "raceapp.vapid" not in app.extensions:
        pem = load_private_key(app)
        app.extensions["raceapp.vapid"] = (
            Vapid(pem, app.config["VAPID_CONTACT_EMAIL"]) if pem else None
        )
    return app.extensions["raceapp.vapid"]
