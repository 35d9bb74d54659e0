"""The course track: GPX files read, checked against the race file and simplified; the climb the
pace counts; positions matched to the track; the demo race with its drawn course."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import gpxpy.gpx
import pytest
from sqlalchemy import select

from raceapp.extensions import db
from raceapp.models import Category, CourseTrack, Event
from raceapp.racefile import gpx
from raceapp.racefile.loader import check_file
from raceapp.services import course, demo_race
from tests.helpers import import_files

OKUSHINANO = Path(__file__).resolve().parent.parent / "races" / "okushinano-100-2024.toml"
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)


def straight_gpx(km: float, every_m: float = 25.0, climb: float = 0.0, wiggle: float = 0.0) -> str:
    """A track due north from Kijimadaira, `km` long, climbing `climb` metres once."""
    gpx_ = gpxpy.gpx.GPX()
    segment = gpxpy.gpx.GPXTrackSegment()
    gpx_.tracks.append(gpxpy.gpx.GPXTrack())
    gpx_.tracks[0].segments.append(segment)
    steps = int(km * 1000 / every_m)
    for i in range(steps + 1):
        share = i / steps
        segment.points.append(
            gpxpy.gpx.GPXTrackPoint(
                36.8585 + share * km / 111.195,
                138.405 + wiggle * math.sin(i / 7) / 1000,
                elevation=500 + climb * min(share * 2, 1.0),
            )
        )
    return gpx_.to_xml()


def race_with_track(folder: Path, track: str, **category_extra: str) -> Path:
    """The Okushinano file with the 25 km naming a GPX file beside it."""
    (folder / "25k.gpx").write_text(track)
    text = OKUSHINANO.read_text()
    extra = "".join(f"{key} = {value}\n" for key, value in category_extra.items())
    text = text.replace('code = "25k"\n', f'code = "25k"\ngpx = "25k.gpx"\n{extra}', 1)
    path = folder / "okushinano.toml"
    path.write_text(text)
    return path


def problems(path: Path) -> list[tuple[str, str]]:
    return [(p.path, p.code) for p in check_file(path).errors]


# --- Reading and checking ---


def test_a_valid_track_is_measured_simplified_and_stored(app, tmp_path):
    path = race_with_track(tmp_path, straight_gpx(25, climb=1500))
    report = check_file(path)
    assert report.ok, report.lines()
    track = report.tracks["25k"]
    assert track.distance_km == pytest.approx(25, abs=0.05)
    assert track.gain_m == pytest.approx(1500, abs=10)
    assert len(track.points) <= gpx.MAX_POINTS
    import_files(path)
    stored = db.session.scalar(select(CourseTrack).join(Category).where(Category.code == "25k"))
    assert stored is not None and stored.source_name == "25k.gpx" and not stored.illustrative
    assert stored.points[0][2] == 0 and stored.points[-1][2] == pytest.approx(25, abs=0.05)
    # The climb the pace counts now comes from the track (all of it in the first 12.5 km):
    # half of it by km 6.25, none after km 12.5.
    category = stored.category
    assert course.climb_source(category) == "track"
    profile = course.climb_profile(category)
    assert course.climb_between(profile, 0, 6.25) == pytest.approx(750, abs=15)
    assert course.climb_between(profile, 13, 25) == pytest.approx(0, abs=5)


def test_reimporting_keeps_or_replaces_or_drops_the_track(app, tmp_path):
    path = race_with_track(tmp_path, straight_gpx(25))
    import_files(path)
    first = db.session.scalar(select(CourseTrack))
    first_id, imported = first.id, first.imported_at
    import_files(path)  # the same file: nothing to do
    db.session.expire_all()
    again = db.session.scalar(select(CourseTrack))
    assert (again.id, again.imported_at) == (first_id, imported)
    (tmp_path / "25k.gpx").write_text(straight_gpx(24.5))  # a corrected track
    import_files(path)
    db.session.expire_all()
    assert db.session.scalar(select(CourseTrack)).distance_km == pytest.approx(24.5, abs=0.05)
    import_files(OKUSHINANO)  # the file names no GPX any more
    assert db.session.scalar(select(CourseTrack)) is None


def test_a_track_of_the_wrong_length_is_refused(app, tmp_path):
    path = race_with_track(tmp_path, straight_gpx(40))
    assert problems(path) == [("categories[2].gpx", "gpx-distance")]
    message = check_file(path).errors[0].message
    assert "40.0 km" in message and "25 km" in message
    # Within the tolerance (8 %, at least 2 km), a measured track is accepted.
    assert problems(race_with_track(tmp_path, straight_gpx(26.5))) == []


def test_aid_stations_are_checked_against_the_track(app, tmp_path):
    # The 25 km has one checkpoint before the finish; put it 2 km east of the track.
    path = race_with_track(tmp_path, straight_gpx(25))
    text = path.read_text()
    head, tail = text.split('code = "25k"', 1)
    first_cp = tail.index("km = ", tail.index("[[categories.checkpoints]]"))
    line_end = tail.index("\n", first_cp)
    km = float(tail[first_cp + 5 : line_end])
    lat = 36.8585 + km / 111.195
    moved = tail[:line_end] + f"\n  lat = {lat:.5f}\n  lon = 138.430" + tail[line_end:]
    path.write_text(head + 'code = "25k"' + moved)
    found = problems(path)
    assert found == [("categories[2].checkpoints[0]", "gpx-checkpoint-off")]
    assert "2.2 km" in check_file(path).errors[0].message
    # Where it really stands, it passes.
    path.write_text(head + 'code = "25k"' + moved.replace("lon = 138.430", "lon = 138.40500"))
    assert problems(path) == []
    # Only one half of a position is a mistake of its own.
    path.write_text(head + 'code = "25k"' + moved.replace("\n  lon = 138.430", ""))
    assert ("categories[2].checkpoints[0].lon", "position-half") in problems(path)


def test_an_aid_station_beyond_the_end_of_the_track(app, tmp_path):
    path = race_with_track(tmp_path, straight_gpx(23.5))
    # 23.5 km of track for 25 km is within tolerance, but a checkpoint at km 25+ is not; the
    # finish (25 km) is within 2 km of the end, so it stands.
    assert problems(path) == []
    (tmp_path / "25k.gpx").write_text(straight_gpx(12))
    found = problems(path)
    assert ("categories[2].gpx", "gpx-distance") in found
    assert any(code == "gpx-checkpoint-beyond" for _path, code in found)


@pytest.mark.parametrize(
    "content, code",
    [
        ("<gpx><trk><trkseg><trkpt lat='36' lon='138'>", "gpx-not-gpx"),
        ("this is not XML at all", "gpx-not-gpx"),
        ("<?xml version='1.0'?><!DOCTYPE gpx [<!ENTITY a 'aaaa'>]><gpx>&a;</gpx>", "gpx-not-gpx"),
        ("<gpx version='1.1' creator='x'><trk><trkseg></trkseg></trk></gpx>", "gpx-no-track"),
        (
            "<gpx version='1.1' creator='x'><trk><trkseg><trkpt lat='95' lon='1'/>"
            "<trkpt lat='96' lon='1'/></trkseg></trk></gpx>",
            "gpx-not-gpx",
        ),
    ],
)
def test_files_that_are_not_a_track_are_refused_plainly(app, tmp_path, content, code):
    path = race_with_track(tmp_path, content)
    assert problems(path) == [("categories[2].gpx", code)]
    message = check_file(path).errors[0].message
    assert "Traceback" not in message and "<" not in message.split(":")[0]


def test_a_missing_gpx_file_and_a_name_out_of_the_folder(app, tmp_path):
    path = race_with_track(tmp_path, straight_gpx(25))
    (tmp_path / "25k.gpx").unlink()
    assert problems(path) == [("categories[2].gpx", "gpx-missing")]
    path.write_text(path.read_text().replace('gpx = "25k.gpx"', 'gpx = "../secret.gpx"'))
    assert problems(path) == [("categories[2].gpx", "wrong-gpx-name")]


def test_a_gpx_file_over_20_mb_is_refused_unread(app, tmp_path):
    path = race_with_track(tmp_path, "")
    with open(tmp_path / "25k.gpx", "wb") as handle:
        handle.truncate(gpx.MAX_GPX_BYTES + 1)
    assert problems(path) == [("categories[2].gpx", "gpx-too-large")]
    with pytest.raises(gpx.TrackProblem) as refused:
        gpx.read_gpx(b" " * (gpx.MAX_GPX_BYTES + 1))
    assert refused.value.code == "gpx-too-large"


def test_a_route_stands_for_a_track(app):
    route = gpxpy.gpx.GPX()
    route.routes.append(gpxpy.gpx.GPXRoute())
    for i in range(3):
        route.routes[0].points.append(gpxpy.gpx.GPXRoutePoint(36.8 + i / 100, 138.4))
    assert gpx.read_gpx(route.to_xml().encode()).distance_km == pytest.approx(2.224, abs=0.01)


# --- Simplifying ---


def test_simplification_keeps_the_ends_the_km_and_stays_within_its_tolerance(app):
    # A winding, climbing 50 km track logged every 5 m: 10,000 points.
    full_gpx = straight_gpx(50, every_m=5, climb=2000, wiggle=0.05)
    track = gpx.read_gpx(full_gpx.encode())
    assert track.source_points == 10001
    assert 2 <= len(track.points) <= gpx.MAX_POINTS
    parsed = gpxpy.parse(full_gpx)
    original = parsed.tracks[0].segments[0].points
    first, last = track.points[0], track.points[-1]
    assert (first[0], first[1]) == (round(original[0].latitude, 5), round(original[0].longitude, 5))
    assert (last[0], last[1]) == (round(original[-1].latitude, 5), round(original[-1].longitude, 5))
    assert last[2] == track.distance_km == pytest.approx(50, abs=1)
    # The km of each kept point is measured on the full track, so they only grow.
    assert all(a[2] < b[2] for a, b in zip(track.points, track.points[1:], strict=False))
    # Every fiftieth original point lies within the tolerance (and the rounding) of the line.
    kept = [(p[0], p[1], p[2], p[3], p[4]) for p in track.points]
    xyz = gpx._local_xyz(kept + [(o.latitude, o.longitude, 0, o.elevation, 0) for o in original])
    line, others = xyz[: len(kept)], xyz[len(kept) :]
    worst = max(
        min(gpx._off_segment(p, a, b) for a, b in zip(line, line[1:], strict=False))
        for p in others[::50]
    )
    assert worst <= track.tolerance_m + 2


def test_the_climb_ignores_noise_but_counts_real_climbs(app):
    climbs, gain, loss = gpx._climbs([500, 501.5, 499.8, 501, 500, 560, 558, 600, 540, None, 543])
    assert gain == pytest.approx(100) and loss == pytest.approx(60)
    assert climbs[-1] == gain and climbs[0] == 0


# --- Matching a position on a real track ---


def test_a_position_on_the_track_is_found_at_its_km(app):
    track = gpx.read_gpx(straight_gpx(25).encode())
    lat = 36.8585 + 12.3 / 111.195
    found = course.match_position(track.points, lat, 138.405, 10)
    assert found.km == pytest.approx(12.3, abs=0.05) and not found.off_course
    away = course.match_position(track.points, lat, 138.41, 10)  # about 450 m east
    assert away.off_course and away.off_m == pytest.approx(446, abs=10)


# --- The demo race ---


@pytest.mark.parametrize(
    "today, saturday",
    [
        (date(2026, 11, 28), date(2026, 12, 5)),  # a Saturday: the next one
        (date(2026, 11, 25), date(2026, 11, 28)),  # a Wednesday: three days on
        (date(2026, 11, 26), date(2026, 12, 5)),  # a Thursday: not two days' notice
    ],
)
def test_the_demo_race_is_next_weekend(today, saturday):
    assert demo_race.next_weekend(today) == saturday


def test_the_demo_race_is_a_labelled_copy_with_a_drawn_course(app, tmp_path):
    path = demo_race.write_demo(OKUSHINANO, tmp_path, date(2026, 11, 28))
    report = check_file(path)
    assert report.ok, report.lines()
    assert set(report.tracks) == {"100k", "50k", "25k"}
    hundred = report.tracks["100k"]
    assert hundred.distance_km == pytest.approx(100, abs=1)
    assert hundred.gain_m == pytest.approx(4800, rel=0.05)
    import_files(path)
    event = db.session.scalar(select(Event).where(Event.slug == "okushinano-100-2024-demo"))
    assert "(demo)" in event.name
    category = next(c for c in event.categories if c.code == "100k")
    assert category.start_at == datetime(2026, 12, 4, 20, 0, tzinfo=timezone.utc)  # Sat 05:00
    assert category.track.illustrative


# --- The pages ---


@pytest.fixture
def demo_runner(app, client, auth, tmp_path, make_user, make_entry):
    """A logged-in runner in the 100 km of the demo race, which has a (drawn) course track."""
    import_files(demo_race.write_demo(OKUSHINANO, tmp_path, date(2026, 11, 28)))
    event = db.session.scalar(select(Event).where(Event.slug == "okushinano-100-2024-demo"))
    make_entry(make_user("aki@example.com"), event, "100k", "42")
    auth.login("aki@example.com")
    return event


def test_the_cutoffs_page_draws_the_profile_and_offers_where_am_i(client, demo_runner):
    html = client.get("/me/cutoffs").get_data(as_text=True)
    assert 'class="ridge"' in html and "data-where-button" in html and "data-shape" in html
    assert html.count('class="station cutoff') == 7
    assert "not the real route" in html
    # The next cut-off before the start is the first one.
    assert 'class="station cutoff next"' in html


def test_the_track_is_the_runners_own_and_kept_for_offline(
    client, demo_runner, auth, make_user, make_entry
):
    response = client.get("/me/course.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    data = response.get_json()
    assert data["illustrative"] is True and 2 <= len(data["points"]) <= gpx.MAX_POINTS
    assert "/me/course.json" in client.get("/me").get_data(as_text=True)  # in the kit's list
    assert data["distance_km"] == pytest.approx(100, abs=1)
    # Another runner, in the 25 km, gets the 25 km's track.
    make_entry(make_user("bo@example.com"), demo_runner, "25k", "7")
    auth.login("bo@example.com")
    assert client.get("/me/course.json").get_json()["distance_km"] == pytest.approx(25, abs=0.5)


def test_the_track_needs_a_login_and_a_track(client, app, okushinano, auth, make_user, make_entry):
    response = client.get("/me/course.json")
    assert response.status_code in (302, 401)
    make_entry(make_user("bo@example.com"), okushinano, "100k", "7")
    auth.login("bo@example.com")
    missing = client.get("/me/course.json")
    assert missing.status_code == 404 and "no course track" in missing.get_json()["error"]


def test_the_profile_is_drawn_as_blocks_from_leg_climbs(
    client, okushinano, auth, make_user, make_entry
):
    category = next(c for c in okushinano.categories if c.code == "100k")
    for cp, gain in zip(category.checkpoints, (1600, 500, 300, 600, 400, 600, 400), strict=True):
        cp.gain_m = gain
    db.session.commit()
    make_entry(make_user("bo@example.com"), okushinano, "100k", "7")
    auth.login("bo@example.com")
    html = client.get("/me/cutoffs").get_data(as_text=True)
    assert html.count('class="leg"') == 7 and 'class="ridge"' not in html
    assert "+1,600" in html and "data-where-button" not in html  # no track: no "where am I"
    assert "climb of each leg" in html


def test_the_profile_with_only_the_total_climb_and_none_without(
    client, okushinano, auth, make_user, make_entry
):
    make_entry(make_user("bo@example.com"), okushinano, "100k", "7")
    auth.login("bo@example.com")
    html = client.get("/me/cutoffs").get_data(as_text=True)
    assert html.count('class="leg"') == 1 and "only the total climb: 4,800 m" in html
    category = next(c for c in okushinano.categories if c.code == "100k")
    category.elevation_gain_m = None
    db.session.commit()
    html = client.get("/me/cutoffs").get_data(as_text=True)
    assert "data-profile" not in html


def test_profile_and_track_add_at_most_40_kb_to_the_offline_kit(client, demo_runner):
    """The budget of the issue: the profile, the course drawing and the track for a 100 km."""
    import gzip

    with_course = client.get("/me/cutoffs").get_data()
    track = client.get("/me/course.json").get_data()
    category = next(c for c in demo_runner.categories if c.code == "100k")
    category.track = None
    db.session.commit()
    without = client.get("/me/cutoffs").get_data()
    added = len(with_course) - len(without) + len(track)
    assert added <= 40 * 1024, added
    # What goes over the network is compressed: a fraction of that.
    added_gzip = (
        len(gzip.compress(with_course)) - len(gzip.compress(without)) + len(gzip.compress(track))
    )
    assert added_gzip <= 20 * 1024, added_gzip


def test_headquarters_sees_where_on_the_course_a_runner_stopped(
    client, demo_runner, auth, make_organizer, frozen_clock
):
    from tests.helpers import csrf_from

    category = next(c for c in demo_runner.categories if c.code == "100k")
    lat, lon, _elevation = gpx.point_at(category.track.points, 61.5)
    frozen_clock(category.start_at + timedelta(hours=10))
    token = csrf_from(client.get("/me/help").get_data(as_text=True))
    sent = client.post(
        "/me/drop-out",
        data={
            "csrf_token": token,
            "key": "report-course-1",
            "getting_back": "shuttle",
            "attach_position": "1",
            "latitude": f"{lat:.6f}",
            "longitude": f"{lon:.6f}",
            "accuracy": "20",
        },
    )
    assert sent.status_code == 303
    auth.logout()
    make_organizer(demo_runner)
    auth.login("organizer@example.com")
    page = client.get(f"/organizer/events/{demo_runner.slug}/drop-outs").get_data(as_text=True)
    assert "km 61.5 of the course" in page


# --- The console ---


def test_an_organizer_uploads_checks_and_removes_a_course_track(
    client, auth, okushinano, make_organizer, make_user
):
    import io

    from raceapp.models import AuditRecord
    from tests.helpers import csrf_from

    make_organizer(okushinano)
    auth.login("organizer@example.com")
    page_url = "/organizer/events/okushinano-100-2024/race-file"

    def send(content: bytes, code="25k", name="25k.gpx"):
        token = csrf_from(client.get(page_url).get_data(as_text=True))
        return client.post(
            f"/organizer/events/okushinano-100-2024/course/{code}",
            data={"csrf_token": token, "gpx": (io.BytesIO(content), name)},
            content_type="multipart/form-data",
        )

    # The wrong length: refused with the reason on the page, nothing kept.
    refused = send(straight_gpx(40).encode())
    assert refused.status_code == 422
    assert "measures 40.0 km but the category is 25 km" in refused.get_data(as_text=True)
    assert db.session.scalar(select(CourseTrack)) is None
    assert send(b"<gpx><broken").status_code == 422
    assert send(straight_gpx(25).encode(), code="nope").status_code == 404
    # The right one: kept, logged, shown.
    kept = send(straight_gpx(25, climb=1500).encode())
    assert kept.status_code == 303
    track = db.session.scalar(select(CourseTrack))
    assert track.category.code == "25k" and track.source_name == "25k.gpx"
    assert db.session.scalar(
        select(AuditRecord.action).where(AuditRecord.action == "course.uploaded")
    )
    page = client.get(page_url).get_data(as_text=True)
    assert "25k.gpx: 25.0 km" in page
    # A race file published from the browser leaves the track alone.
    from raceapp.services import race_publish

    report = race_publish.read(OKUSHINANO.read_bytes(), "okushinano.toml")
    assert report.ok
    # Removing asks for confirmation first.
    token = csrf_from(page)
    remove_url = "/organizer/events/okushinano-100-2024/course/25k/remove"
    assert client.post(remove_url, data={"csrf_token": token}).status_code in (400, 422)
    assert db.session.scalar(select(CourseTrack)) is not None
    done = client.post(remove_url, data={"csrf_token": token, "confirm": "1"})
    assert done.status_code == 303 and db.session.scalar(select(CourseTrack)) is None


def test_only_organizers_who_publish_may_upload_a_track(
    client, auth, okushinano, make_user, make_entry
):
    import io

    from tests.helpers import csrf_from

    make_entry(make_user("aki@example.com"), okushinano, "25k", "9")
    auth.login("aki@example.com")
    token = csrf_from(client.get("/me").get_data(as_text=True))
    response = client.post(
        "/organizer/events/okushinano-100-2024/course/25k",
        data={"csrf_token": token, "gpx": (io.BytesIO(straight_gpx(25).encode()), "x.gpx")},
        content_type="multipart/form-data",
    )
    assert response.status_code in (403, 404)
    assert db.session.scalar(select(CourseTrack)) is None


def test_a_browser_race_file_naming_a_gpx_says_where_it_goes(app):
    from raceapp.services import race_publish

    text = OKUSHINANO.read_text().replace('code = "25k"\n', 'code = "25k"\ngpx = "25k.gpx"\n', 1)
    report = race_publish.read(text.encode(), "okushinano.toml")
    assert report.ok and [p.code for p in report.warnings] == ["gpx-not-uploaded"]


def test_leg_climbs_are_checked_against_the_total(app, tmp_path):
    text = OKUSHINANO.read_text()
    # The 25 km (1,500 m in all) with legs adding up to 2,000 m.
    head, tail = text.split('code = "25k"', 1)
    tail = tail.replace("  km = 13\n", "  km = 13\n  gain_m = 1200\n", 1)
    tail = tail.replace("  km = 25\n", "  km = 25\n  gain_m = 800\n", 1)
    path = tmp_path / "legs.toml"
    path.write_text(head + 'code = "25k"' + tail)
    report = check_file(path)
    assert report.ok and [(p.path, p.code) for p in report.warnings] == [
        ("categories[2].elevation_gain_m", "leg-climbs-exceed")
    ]
    assert "2,000 m" in report.warnings[0].message
    accepted = head + 'code = "25k"\naccept_warnings = ["leg-climbs-exceed"]' + tail
    path.write_text(accepted)
    assert check_file(path).warnings == []
