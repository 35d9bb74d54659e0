"""Locust users for bench/load.py (run by it; not on its own).

- RaceMorningRunner: a runner on race morning, logged in before (sessions made by
  bench/load.py). Opens the kit home, the cut-offs and the checklist, lets the app refresh its
  offline copy (/api/kit), keeps the shuttle timetable open (htmx polls the seats every 20 s),
  ticks gear, and books one seat on a bus; something every 5 to 30 s.
- KitHomeUser, KitHomeRevalidateUser (and the same for Cutoffs, Checklist and ApiKit),
  HelloUser: no think time, one request over and over: the capacity of a kit page (made in
  full, or revalidated by a phone that has it) and of a bare Flask "hello" on the same server,
  for the ratio.

Every simulated phone has its own address (X-Forwarded-For; the server trusts one proxy), so
the per-address limits count it as the phone it stands for.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import uuid

from locust import FastHttpUser, between, constant, task

SLUG = os.environ.get("BENCH_EVENT", "okushinano-100-2024")
PASSWORD = os.environ.get("BENCH_PASSWORD", "bench runner password")
RUNNERS = int(os.environ.get("BENCH_RUNNERS", "1300"))
CSRF = re.compile(r'name="csrf_token"[^>]*?value="([^"]+)"')
GEAR = re.compile(r'action="/me/gear/(\d+)"')
BOOKABLE = re.compile(r'action="/shuttles/departures/(\d+)/book"')
_numbers = itertools.count(1)


class Phone(FastHttpUser):
    abstract = True

    def on_start(self) -> None:
        self.number = (next(_numbers) - 1) % RUNNERS + 1
        self.headers = {"X-Forwarded-For": f"10.{self.number // 250}.{self.number % 250}.7"}
        self.log_in()

    def log_in(self) -> None:
        page = self.client.get("/auth/login", headers=self.headers, name="GET /auth/login")
        token = CSRF.search(page.text).group(1)
        self.client.post(
            "/auth/login",
            headers=self.headers,
            allow_redirects=False,
            name="POST /auth/login",
            data={
                "email": f"runner{self.number}@bench.example",
                "password": PASSWORD,
                "csrf_token": token,
            },
        )

    def get(self, url: str, name: str, **headers):
        return self.client.get(url, headers={**self.headers, **headers}, name=name)

    def revalidate(self, url: str, name: str):
        """What the phone's browser does for a page it has: send its validator, get 304 or
        the new page."""
        etags = self.__dict__.setdefault("etags", {})
        headers = {"If-None-Match": etags[url]} if url in etags else {}
        with self.client.get(
            url, headers={**self.headers, **headers}, name=name, catch_response=True
        ) as response:
            if response.status_code in (200, 304):
                etags[url] = response.headers.get("ETag") or etags.get(url)
                response.success()
        return response


class RaceMorningRunner(Phone):
    # A runner with the app open on race morning: something every 5 to 30 s.
    wait_time = between(5, 30)
    csrf = None
    booked = None

    def log_in(self) -> None:
        # Phones logged in days before (bench/load.py made the sessions): the login storm is
        # measured on its own.
        with open(os.environ["BENCH_SESSIONS"]) as sessions:
            self.headers["Cookie"] = json.load(sessions)[str(self.number)]

    def open_checklist(self) -> None:
        gear_page = self.get("/me/gear", "GET /me/gear").text
        self.csrf = CSRF.search(gear_page).group(1)
        self.gear = GEAR.findall(gear_page)

    @task(10)
    def kit_home(self):
        self.revalidate("/me", "GET /me (kit home)")

    @task(2)
    def offline_copy(self):
        self.revalidate("/api/kit", "GET /api/kit")

    @task(3)
    def cutoffs(self):
        self.revalidate("/me/cutoffs", "GET /me/cutoffs")

    @task(2)
    def checklist(self):
        self.revalidate("/me/gear", "GET /me/gear")

    @task(6)
    def poll_seats(self):
        self.get(f"/events/{SLUG}/shuttles", "GET shuttles (htmx poll)", **{"HX-Request": "true"})

    @task(3)
    def tick_gear(self):
        if self.csrf is None:
            self.open_checklist()
        if self.gear:
            self.client.post(
                f"/me/gear/{random.choice(self.gear)}",
                name="POST /me/gear/<id>",
                headers={**self.headers, "HX-Request": "true", "X-CSRFToken": self.csrf},
                data={"packed": random.choice("01")},
            )

    @task(1)
    def book_a_bus(self):
        if self.booked:
            self.get(self.booked, "GET /shuttles/tickets/<ref>")
            return
        if self.csrf is None:
            self.open_checklist()
        page = self.get(f"/events/{SLUG}/shuttles", "GET shuttles (page)").text
        departures = BOOKABLE.findall(page)
        if not departures:
            return
        with self.client.post(
            f"/shuttles/departures/{random.choice(departures)}/book",
            name="POST book",
            allow_redirects=False,
            catch_response=True,
            headers=self.headers,
            data={"csrf_token": self.csrf, "idempotency_key": uuid.uuid4().hex},
        ) as response:
            if response.status_code == 303:
                self.booked = response.headers["Location"]
                response.success()
            else:
                response.failure(f"booking answered {response.status_code}")


# The kit pages measured for capacity: each made in full (a phone with no copy yet) and
# revalidated (a phone that has it sends its validator, the usual case).
KIT_PAGES = {
    "KitHome": ("/me", "kit home"),
    "Cutoffs": ("/me/cutoffs", "cut-offs"),
    "Checklist": ("/me/gear", "checklist"),
    "ApiKit": ("/api/kit", "/api/kit"),
}


def _capacity_users(prefix: str, path: str, label: str) -> None:
    def made(self):
        self.get(path, f"GET {path} ({label}, made)")

    def revalidated(self):
        self.revalidate(path, f"GET {path} ({label}, revalidated)")

    for suffix, action in (("User", made), ("RevalidateUser", revalidated)):
        name = f"{prefix}{suffix}"
        globals()[name] = type(name, (Phone,), {"wait_time": constant(0), "tasks": [action]})


for _prefix, (_path, _label) in KIT_PAGES.items():
    _capacity_users(_prefix, _path, _label)


class LoginUser(Phone):
    """Logging in over and over: what argon2 (memory-hard on purpose) lets the server do."""

    wait_time = constant(0)

    @task
    def log_in_again(self):
        self.log_in()


class HelloUser(FastHttpUser):
    wait_time = constant(0)

    @task
    def hello(self):
        self.client.get("/_bench/hello", name="GET /_bench/hello")
