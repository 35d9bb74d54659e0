"""Sending Web Push requests: many in flight, kept-alive connections per push service.

Each request is encrypted just before it is sent, on the event loop, while the previous ones
wait for their answers, so encryption and network time overlap instead of adding up. (Moving
encryption to a process pool gained under 10 % on two cores; more worker processes, which share
the outbox, are the simpler way to use more cores.)

Every request has a time limit, shorter than a worker's lease. Each device (endpoint) has one
request in flight at most, and no push service has a budget of its own: endpoints that never
answer hold only their own requests, never the slots of healthy devices on the same service.
A 429 pauses that device until its Retry-After; the whole service only when several of its
devices are told to wait at once (the service throttling us, not one device).
"""

from __future__ import annotations

import asyncio
import email.utils
from datetime import datetime, timezone
from urllib.parse import urlsplit

import aiohttp

from raceapp.push.outbox import Job, Outcome, backoff
from raceapp.push.vapid import Vapid

GONE = frozenset({404, 410})
RETRYABLE = frozenset({408, 425})
# This many devices of one push service told to wait within one pause: the service as a whole
# is throttling us, so it is left alone until the latest Retry-After.
SERVICE_PAUSE_AFTER = 3


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Retry-After as seconds: either delta-seconds or an HTTP date (RFC 9110 10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max((when - now).total_seconds(), 0.0)


class Sender:
    """An HTTP client for push services; use as `async with Sender(...) as sender`."""

    def __init__(self, vapid: Vapid, *, concurrency: int = 1024, timeout: float = 10.0):
        self.vapid = vapid
        self.concurrency = concurrency
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None
        # Until when a device, or a whole push service, asked us to wait (429).
        self._device_paused: dict[str, datetime] = {}
        self._service_paused: dict[str, datetime] = {}
        # One request in flight per device (with how many wait for it, to forget idle ones);
        # the worker's consumers bound the total.
        self._in_flight: dict[str, tuple[asyncio.Lock, int]] = {}

    async def __aenter__(self) -> Sender:
        connector = aiohttp.TCPConnector(
            limit=self.concurrency,
            limit_per_host=0,
            keepalive_timeout=60,
            ttl_dns_cache=300,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            auto_decompress=False,
            timeout=aiohttp.ClientTimeout(total=self.timeout, connect=min(self.timeout, 5.0)),
        )
        return self

    async def __aexit__(self, *exc) -> None:
        if self._session is not None:
            await self._session.close()

    async def send(self, job: Job, now: datetime) -> Outcome:
        """Send one delivery and classify the answer; never raises, never hangs."""

        def outcome(
            result: str,
            status: int | None = None,
            error: str | None = None,
            retry_after: float | None = None,
        ) -> Outcome:
            return Outcome(
                job.delivery_id,
                result,
                status,
                error,
                backoff(job.attempts, retry_after, now) if result == "retry" else None,
                job.subscription_id,
                job.attempts,
            )

        origin = "{0.scheme}://{0.netloc}".format(urlsplit(job.endpoint))
        paused_until = max(
            self._device_paused.get(job.endpoint, now), self._service_paused.get(origin, now)
        )
        if paused_until > now:
            return Outcome(
                job.delivery_id,
                "wait",
                429,
                "push service asked us to wait",
                paused_until,
                job.subscription_id,
                job.attempts,
            )
        body = self.vapid.encrypt(job.message.payload, job.p256dh, job.auth)
        headers = {
            "TTL": str(job.message.ttl),
            "Urgency": job.message.urgency,
            "Topic": job.message.topic,
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "Authorization": self.vapid.authorization(job.endpoint),
        }
        assert self._session is not None, "use Sender as an async context manager"
        lock, users = self._in_flight.get(job.endpoint, (asyncio.Lock(), 0))
        self._in_flight[job.endpoint] = (lock, users + 1)
        try:
            async with (
                lock,
                self._session.post(
                    job.endpoint, data=body, headers=headers, allow_redirects=False
                ) as response,
            ):
                detail = (await response.content.read(300)).decode(errors="replace").strip()
                status = response.status
                retry_after = parse_retry_after(response.headers.get("Retry-After"), now)
        except TimeoutError:
            return outcome("retry", None, f"no answer within {self.timeout:g} s")
        except (aiohttp.ClientError, OSError) as exc:
            return outcome("retry", None, f"{type(exc).__name__}: {exc}"[:300])
        finally:
            lock, users = self._in_flight[job.endpoint]
            if users <= 1:
                del self._in_flight[job.endpoint]
            else:
                self._in_flight[job.endpoint] = (lock, users - 1)
        if 200 <= status < 300:
            return outcome("sent", status)
        if status in GONE:
            return outcome("gone", status, detail or "subscription expired")
        if status == 429:
            return self._told_to_wait(job, origin, now, detail, retry_after)
        if status in RETRYABLE or status >= 500:
            return outcome("retry", status, detail or f"HTTP {status}", retry_after)
        # 400, 401, 403, 413...: the request itself is wrong; repeating it will not help.
        return outcome("failed", status, detail or f"HTTP {status}")

    def _told_to_wait(
        self, job: Job, origin: str, now: datetime, detail: str, retry_after: float | None
    ) -> Outcome:
        """429: this device waits until the service's Retry-After (else a back-off); when
        several of the service's devices are told to wait at once, the whole service does."""
        until = backoff(job.attempts, retry_after, now)
        if len(self._device_paused) > 10_000:  # forget pauses that are over
            self._device_paused = {e: t for e, t in self._device_paused.items() if t > now}
        self._device_paused[job.endpoint] = until
        waiting = [
            e for e, t in self._device_paused.items() if t > now and e.startswith(origin + "/")
        ]
        if len(waiting) >= SERVICE_PAUSE_AFTER:
            self._service_paused[origin] = max(self._service_paused.get(origin, now), until)
        return Outcome(
            job.delivery_id,
            "wait",
            429,
            detail or "HTTP 429",
            until,
            job.subscription_id,
            job.attempts,
        )
