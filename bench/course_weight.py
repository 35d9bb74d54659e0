"""What the course adds to the offline kit: the track the phone keeps and the profile and course
drawing in the cut-offs page, for each category of the demo race (drawn tracks, logged every
25 m as a watch would, then simplified as any GPX file is).

    make bench            # or: .venv/bin/python bench/course_weight.py

Bytes of the response bodies, as sent (uncompressed) and gzip-compressed (what the server's
compression sends to a phone), measured with the test client on a temporary SQLite database.
The budget: at most 40 KB added to the offline kit for a 100 km course.
"""

from __future__ import annotations

import gzip
import os
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from raceapp import create_app  # noqa: E402
from raceapp.extensions import db  # noqa: E402
from raceapp.models import Event  # noqa: E402
from raceapp.racefile.loader import check_file  # noqa: E402
from raceapp.services import accounts, demo_race, race_import  # noqa: E402

PASSWORD = "a long enough password"


def main() -> None:
    folder = Path(tempfile.mkdtemp())
    app = create_app(
        "testing",
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{folder / 'bench.db'}",
        WTF_CSRF_ENABLED=False,
    )
    now = datetime.now(timezone.utc)
    rows = []
    with app.app_context():
        db.create_all()
        path = demo_race.write_demo(ROOT / "races" / "okushinano-100-2024.toml", folder, now.date())
        race_import.import_reports([check_file(path)], now=now)
        event = db.session.scalar(select(Event).where(Event.slug.endswith(demo_race.DEMO_SUFFIX)))
        for category in event.categories:
            if category.track is None:  # a category without a distance has no drawn course
                continue
            email = f"{category.code}@example.com"
            user = accounts.sign_up(email, "Bench", PASSWORD, now=now)
            accounts.join_category(user, event, category.code, f"9{category.position}", now=now)
            client = app.test_client()
            client.post("/auth/login", data={"email": email, "password": PASSWORD})
            with_course = client.get("/me/cutoffs").get_data()
            track = client.get("/me/course.json").get_data()
            kept = category.track
            points, km = len(kept.points), kept.distance_km
            category.track = None
            db.session.commit()
            without = client.get("/me/cutoffs").get_data()
            raw = len(with_course) - len(without) + len(track)
            packed = (
                len(gzip.compress(with_course))
                - len(gzip.compress(without))
                + len(gzip.compress(track))
            )
            rows.append((category.name, km, points, len(track), raw, packed))
    print("| category | km | points kept | track (/me/course.json) | added in all | compressed |")
    print("|---|---|---|---|---|---|")
    for name, km, points, track, raw, packed in rows:
        print(
            f"| {name} | {km:.1f} | {points} | {track / 1024:.1f} KB | {raw / 1024:.1f} KB "
            f"| {packed / 1024:.1f} KB |"
        )
    os.remove(folder / "bench.db")


if __name__ == "__main__":
    main()
