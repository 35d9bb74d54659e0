"""Sending Web Push requests: many in flight, kept-alive connections per push service.

Each request is encrypted just before it is sent, on the event loop, while the previous ones
wait for their answers, so encryption and network time overlap instead of adding up. (Moving
encryption to a process pool gained under 10 % on two cores; more worker processes, which share
the outbox, are the simpler way to use more cores.) Every
request has a time limit; a push service that answers 429 is left alone until its Retry-After.
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
RETRYABLE = frozenset({408, 425, 429})


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

    def __init__(
        self, vapid: Vapid, *, concurrency: int = 256, per_origin: int = 128, timeout: float = 10.0
    ):
        self.vapid = vapid
        self.concurrency = concurrency
        self.per_origin = per_origin
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None
        self._paused: dict[str, datetime] = {}  # origin -> until when it asked us to wait (429)
        # Requests wait for a free slot of their push service here, before their time limit
        # starts: queued in the connection pool instead, they would time out while waiting.
        self._slots: dict[str, asyncio.Semaphore] = {}

    async def __aenter__(self) -> Sender:
        connector = aiohttp.TCPConnector(
            limit=self.concurrency,
            limit_per_host=self.per_origin,
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
        paused_until = self._paused.get(origin)
        if paused_until is not None and paused_until > now:
            return Outcome(
                job.delivery_id,
                "retry",
                429,
                "push service asked us to slow down",
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
        slots = self._slots.setdefault(origin, asyncio.Semaphore(self.per_origin))
        try:
            async with (
                slots,
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
        if 200 <= status < 300:
            return outcome("sent", status)
        if status in GONE:
            return outcome("gone", status, detail or "subscription expired")
        if status in RETRYABLE or status >= 500:
            result = outcome("retry", status, detail or f"HTTP {status}", retry_after)
            if status == 429 and result.retry_at is not None:
                self._paused[origin] = result.retry_at
            return result
        # 400, 401, 403, 413...: the request itself is wrong; repeating it will not help.
        return outcome("failed", status, detail or f"HTTP {status}")
