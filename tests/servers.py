"""The app served by gunicorn in a subprocess, for tests that need real worker processes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request

from tests.helpers import ROOT


class Gunicorn:
    """The app served by gunicorn, as in production, on a fixed loopback port (a service
    worker belongs to its origin, so a "new deploy" must come up on the same one)."""

    def __init__(
        self,
        database_url: str,
        vapid_pem: str,
        tmp_path,
        workers: int = 2,
        env: dict[str, str] | None = None,
    ):
        self.port = _free_port()
        self.workers, self.extra_env = workers, env or {}
        self.url = f"http://127.0.0.1:{self.port}"
        self.database_url, self.vapid_pem, self.tmp_path = database_url, vapid_pem, tmp_path
        self.process = None

    def start(self, release: str = "one") -> Gunicorn:
        env = dict(
            os.environ,
            RACEAPP_ENV="testing",
            TEST_DATABASE_URL=self.database_url,
            VAPID_PRIVATE_KEY=self.vapid_pem,
            RACEAPP_RELEASE=release,
            INSTANCE_PATH=str(self.tmp_path),
            **self.extra_env,
        )
        # Open for as long as the server runs: gunicorn writes to it until stop().
        log = open(self.tmp_path / f"gunicorn-{release}.log", "w")  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(self.workers),
                "--threads",
                "4",
                "app:app",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                if urllib.request.urlopen(f"{self.url}/healthz", timeout=1).status == 200:
                    return self
            except OSError:
                pass
            assert self.process.poll() is None, (
                self.tmp_path / f"gunicorn-{release}.log"
            ).read_text()
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(15)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
