"""Page weight: what the kit home costs on a slow mobile link, first visit, repeat, offline.

    make bench            # or: .venv/bin/python bench/page_weight.py [--rounds 3]

Measured in each language the app speaks (the browser set to English, then to Japanese).

Serves the app with gunicorn (production settings, a temporary SQLite database with the seed
races and the demo runner) and opens the kit home in headless Chromium at phone size, with the
link throttled to 400 kbit/s down, 400 kbit/s up and 400 ms round trips (Chrome DevTools
network emulation). Bytes are as transferred (compressed, with headers), from the browser's
own accounting.

- first visit: a phone that has never opened the app (logged in, nothing cached);
- repeat visit: the same phone opening the kit home again (revalidations answer 304);
- offline: the same phone in airplane mode (everything from the service worker).

The service worker's background work after the first visit (precaching the app shell and the
rest of the kit for offline use) is reported separately: it happens after the page is usable.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SLOW = {
    "offline": False,
    "latency": 400,
    "downloadThroughput": 400_000 / 8,
    "uploadThroughput": 400_000 / 8,
}
EMAIL, PASSWORD = "runner@example.com", "kijimadaira-trail-2024"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(tmp: Path) -> tuple[subprocess.Popen, str]:
    env = dict(
        os.environ,
        DATABASE_URL=f"sqlite:///{tmp / 'bench.db'}",
        INSTANCE_PATH=str(tmp),
        RACEAPP_ENV="production",
        RACEAPP_DEMO="1",  # the demo runner is who the page is measured for
        SECRET_KEY="bench-" + "x" * 40,
        COOKIE_SECURE="0",
        PUSH_WORKER="off",
    )
    flask = [sys.executable, "-m", "flask", "--app", "app"]
    for command in (
        ["db", "upgrade"],
        ["races", "import", *sorted(map(str, (ROOT / "races").glob("*.toml")))],
        ["push", "vapid-keys", "--out", str(tmp / "vapid.pem")],
        ["demo", "setup"],
    ):
        subprocess.run(flask + command, cwd=ROOT, env=env, check=True, capture_output=True)
    env["VAPID_PRIVATE_KEY_FILE"] = str(tmp / "vapid.pem")
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--threads",
            "4",
            "--access-logfile",
            str(tmp / "access.log"),
            "--access-logformat",
            "%(m)s %(U)s %(s)s %(B)s",
            "app:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(url + "/healthz", timeout=1)
            return server, url
        except OSError:
            time.sleep(0.1)
    raise SystemExit("gunicorn did not start")


class Meter:
    """What reached the server (from its access log: requests and response bytes as sent,
    compressed), and how many of the page's requests the service worker answered itself."""

    def __init__(self, context, access_log: Path):
        self.access_log = access_log
        self.offset = 0
        self.from_worker = 0
        context.on("requestfinished", self._finished)

    def _finished(self, request) -> None:
        response = request.response()
        if request.service_worker is None and response is not None and response.from_service_worker:
            self.from_worker += 1

    @staticmethod
    def _bytes(line: str) -> int:
        _method, path, status, sent = line.split(" ")[:4]
        if sent.isdigit() and int(sent) > 0:
            return int(sent)
        if status == "200" and path.startswith("/static/"):
            # Files sent as a stream (images) log no length: count the file.
            return (ROOT / path.lstrip("/")).stat().st_size
        return 0

    def take(self, ms: float, settle: float = 0.5) -> tuple[int, int, int, float]:
        time.sleep(settle)  # let the log catch up
        with open(self.access_log) as log:
            log.seek(self.offset)
            lines = log.read().splitlines()
            self.offset = log.tell()
        lines = [line for line in lines if " /healthz " not in line]
        if os.environ.get("PAGE_WEIGHT_DEBUG"):
            print("\n".join(lines), "\n---")
        size = sum(self._bytes(line) for line in lines)
        figures = (size, len(lines), self.from_worker, ms)
        self.from_worker = 0
        return figures


def log_in(context, url: str) -> None:
    """Log in without loading any page's assets, so the kit home is a true first visit."""
    form = context.request.get(url + "/auth/login").text()
    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', form).group(1)
    context.request.post(
        url + "/auth/login", form={"email": EMAIL, "password": PASSWORD, "csrf_token": token}
    )


def visit(page, url: str) -> float:
    started = time.perf_counter()
    page.goto(url + "/me", wait_until="load")
    return (time.perf_counter() - started) * 1000


LOCALES = dict(
    item.split("=")
    for item in os.environ.get("PAGE_WEIGHT_LOCALES", "English=en-US,Japanese=ja-JP").split(",")
)


def one_round(browser, url: str, access_log: Path, locale: str) -> dict:
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, locale=locale
    )
    log_in(context, url)
    meter = Meter(context, access_log)
    meter.take(0)  # the log-in requests
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", SLOW)
    results = {}

    first_ms = visit(page, url)
    assert page.evaluate("document.documentElement.lang") == locale[:2]
    # The worker registers on the page's load event: what came before it is the page's.
    results["first"] = meter.take(first_ms, settle=0)
    # Let the service worker finish caching the kit before the next visit.
    deadline = time.monotonic() + 60
    kit = len(page.evaluate("JSON.parse(document.body.dataset.kitUrls)"))
    while not page.evaluate(f"""caches.open('raceapp-pages').then(c => c.keys())
                                .then(k => k.length >= {kit})"""):
        assert time.monotonic() < deadline, "the kit was not cached"
        time.sleep(0.2)
    time.sleep(2)
    results["background"] = meter.take(0.0)

    repeat_ms = visit(page, url)
    time.sleep(3)  # anything the visit set off in the background counts for it
    results["repeat"] = meter.take(repeat_ms)

    context.set_offline(True)
    cdp.send("Network.emulateNetworkConditions", {**SLOW, "offline": True})
    offline_ms = visit(page, url)
    assert page.is_visible("[data-offline-badge]")
    results["offline"] = meter.take(offline_ms)
    context.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="page-weight-"))
    server, url = serve(tmp)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=shutil.which("chromium") or "/usr/bin/chromium", args=ARGS
            )
            by_language = {
                name: [
                    one_round(browser, url, tmp / "access.log", locale) for _ in range(args.rounds)
                ]
                for name, locale in LOCALES.items()
            }
            browser.close()
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)
    for name, rounds in by_language.items():
        report(name, rounds)


def report(language: str, rounds: list[dict]) -> None:
    print(
        f"\nKit home in {language} at 390x844, 400 kbit/s and 400 ms round trips;"
        f" median of {len(rounds)}\n"
    )
    print(
        "| visit | response bytes sent by the server | requests reaching the server |"
        " answered by the service worker | load time |"
    )
    print("|---|---|---|---|---|")
    labels = {
        "first": "first visit",
        "repeat": "repeat visit",
        "offline": "offline",
        "background": "service worker after the first visit (shell and kit for offline)",
    }
    for key in ("first", "repeat", "offline", "background"):
        size, count, cached, ms = (statistics.median(r[key][i] for r in rounds) for i in range(4))
        print(
            f"| {labels[key]} | {size / 1024:.1f} KB | {count:g} | {cached:g} | "
            f"{'–' if key == 'background' else f'{ms:,.0f} ms'} |"
        )
    print(
        "\nrounds:",
        [
            {k: (round(v[0] / 1024, 1), v[1], v[2], round(v[3])) for k, v in r.items()}
            for r in rounds
        ],
    )


if __name__ == "__main__":
    main()
