"""A push service for tests: checks each request as a real one does, decrypts what it accepts.

It listens on loopback in a thread of its own. Every request must carry a TTL, an aes128gcm body
of at most 4096 bytes and a VAPID Authorization header whose token is signed by the key it
names, for this origin, unexpired and at most 24 h long; Urgency and Topic must be valid when
present. Accepted messages are decrypted with the subscription's private key (RFC 8291).
Tests script the answers: 201, 404, 410, 429 with Retry-After, 500, slow, or held until
released.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field

import http_ece
import jwt
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

AUTH_RE = re.compile(r"^vapid t=([A-Za-z0-9_.-]+),\s*k=([A-Za-z0-9_-]+)$")
TOPIC_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
URGENCIES = {"very-low", "low", "normal", "high"}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Reply:
    """One scripted answer. `delay`: seconds before answering; `hold`: wait for release();
    `accept_first`: with hold, take the message (the phone gets it) before waiting to answer,
    as a service does that has the request but is slow to say so."""

    status: int = 201
    headers: dict = field(default_factory=dict)
    delay: float = 0.0
    hold: bool = False
    accept_first: bool = False


@dataclass
class Received:
    token: str
    payload: dict
    headers: dict
    vapid_token: str


@dataclass
class Device:
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes
    application_server_key: str | None


class PushService:
    def __init__(self) -> None:
        self.devices: dict[str, Device] = {}
        self.accepted: list[Received] = []
        self.rejected: list[str] = []
        self.requests = 0
        self._plans: dict[str, deque[Reply]] = {}
        self._default: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._release: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.port = 0

    # --- set-up -------------------------------------------------------------------------------
    def start(self) -> PushService:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    async def _start(self) -> None:
        self._release = asyncio.Event()
        app = web.Application(client_max_size=64 * 1024)
        app.router.add_post("/push/{token}", self._handle)
        self._runner = web.AppRunner(app, handler_cancellation=True, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]

    def stop(self) -> None:
        self.release()
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def new_subscription(self, application_server_key: str | None = None) -> dict:
        """A browser's subscription JSON; the private half stays here to decrypt with."""
        token = secrets.token_urlsafe(12)
        key = ec.generate_private_key(ec.SECP256R1())
        auth = os.urandom(16)
        self.devices[token] = Device(key, auth, application_server_key)
        public = key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {
            "endpoint": f"{self.origin}/push/{token}",
            "keys": {"p256dh": b64url(public), "auth": b64url(auth)},
        }

    def script(self, *replies: Reply, endpoint: str | None = None) -> None:
        """Answer the next requests (to one endpoint, or to any) with these replies in order."""
        with self._lock:
            if endpoint is None:
                self._default.extend(replies)
            else:
                self._plans.setdefault(endpoint.rsplit("/", 1)[-1], deque()).extend(replies)

    def release(self) -> None:
        """Let held requests go on (they are answered only if their client is still there)."""
        if self._release is not None:
            self._loop.call_soon_threadsafe(self._release.set)

    def received_by(self, endpoint: str) -> list[Received]:
        token = endpoint.rsplit("/", 1)[-1]
        return [r for r in self.accepted if r.token == token]

    # --- the service --------------------------------------------------------------------------
    def _check(self, request: web.Request, body: bytes) -> tuple[int, str] | str:
        """Return the VAPID token string, or (status, problem) for a request to refuse."""
        ttl = request.headers.get("TTL")
        if ttl is None or not ttl.isdigit():
            return 400, "TTL header missing or not a non-negative integer"
        if request.headers.get("Content-Encoding") != "aes128gcm":
            return 415, "Content-Encoding must be aes128gcm"
        if len(body) > 4096:
            return 413, "payload larger than 4096 bytes"
        urgency = request.headers.get("Urgency")
        if urgency is not None and urgency not in URGENCIES:
            return 400, f"bad Urgency {urgency!r}"
        topic = request.headers.get("Topic")
        if topic is not None and not TOPIC_RE.match(topic):
            return 400, f"bad Topic {topic!r}"
        match = AUTH_RE.match(request.headers.get("Authorization", ""))
        if not match:
            return 401, "Authorization is not 'vapid t=..., k=...'"
        token, k = match.groups()
        try:
            public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(k))
            # Real services compare the audience with their origin; the webpush package drops
            # the port from it (real services are on 443), so both forms are accepted here.
            claims = jwt.decode(
                token,
                key=public,
                algorithms=["ES256"],
                audience=[self.origin, "http://127.0.0.1"],
                options={"require": ["aud", "exp", "sub"]},
            )
        except (ValueError, jwt.PyJWTError) as exc:
            return 401, f"VAPID token invalid: {exc}"
        if claims["exp"] > time.time() + 24 * 3600:
            return 401, "VAPID token lives longer than 24 h"
        if not str(claims["sub"]).startswith(("mailto:", "https:")):
            return 401, "VAPID sub must be a mailto: or https: URL"
        device = self.devices.get(request.match_info["token"])
        if device and device.application_server_key and device.application_server_key != k:
            return 403, "VAPID key differs from the one the subscription was made with"
        return token

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        name = request.match_info["token"]
        with self._lock:
            self.requests += 1
        checked = self._check(request, body)
        if isinstance(checked, tuple):
            status, problem = checked
            self.rejected.append(problem)
            return web.Response(status=status, text=problem)
        with self._lock:
            plan = self._plans.get(name)
            reply = (
                plan.popleft() if plan else (self._default.popleft() if self._default else Reply())
            )
        device = self.devices.get(name)
        if device is None:
            return web.Response(status=404, text="no such subscription")
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if reply.hold and reply.accept_first:
            accepted = self._accept(name, device, body, request, checked)
            await self._release.wait()
            return accepted
        if reply.hold:
            await self._release.wait()
            if request.transport is None or request.transport.is_closing():
                return web.Response(status=499)  # the sender went away: nothing was delivered
        if reply.status == 201:
            return self._accept(name, device, body, request, checked)
        return web.Response(status=reply.status, headers=reply.headers, text="scripted")

    def _accept(self, name, device, body, request, checked) -> web.Response:
        """Decrypt and keep the message, as the phone would get it."""
        try:
            plaintext = http_ece.decrypt(
                body, private_key=device.private_key, auth_secret=device.auth, version="aes128gcm"
            )
            payload = json.loads(plaintext)
        except Exception as exc:  # a real service cannot read it either: the phone would drop it
            self.rejected.append(f"cannot decrypt: {exc!r}")
            return web.Response(status=400, text="cannot decrypt")
        with self._lock:
            self.accepted.append(Received(name, payload, dict(request.headers), checked))
        return web.Response(status=201, headers={"Location": f"/m/{len(self.accepted)}"})
