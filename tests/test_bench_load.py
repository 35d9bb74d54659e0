"""The load benchmark's pieces stay in working order (the benchmark itself is `make bench`)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from raceapp.racefile import check_text


def test_the_bench_race_starts_three_hours_ahead_and_passes_the_checker():
    from bench.load import shifted_race

    report = check_text(shifted_race(timedelta(hours=3), seats=1300), "bench.toml")
    assert report.ok, report.lines()
    hundred = next(c for c in report.normalized.categories if c.section.code == "100k")
    starts_in = hundred.start_at - datetime.now(ZoneInfo("Asia/Tokyo"))
    assert timedelta(hours=2, minutes=58) < starts_in <= timedelta(hours=3)
    departures = [d for route in report.normalized.departures.values() for d in route]
    assert departures and all(seats == 1300 for _, seats in departures)


def test_the_bench_server_answers_hello_beside_the_app(monkeypatch, tmp_path):
    monkeypatch.setenv("RACEAPP_ENV", "testing")
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    from bench.wsgi import app

    client = app.test_client()
    assert client.get("/_bench/hello").get_data(as_text=True) == "hello"
    assert client.get("/healthz").status_code == 200
