"""The organizer's console over HTTP: race files published from the browser (errors, the
exact change, confirm, versions, restore, two organizers at once), the entry list imported
from a registration site's CSV, and what each team role may do."""

from __future__ import annotations

import io
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from raceapp.extensions import db
from raceapp.models import AuditRecord, Category, Entry, OrganizerRole, RaceFileVersion
from raceapp.services import accounts
from tests.helpers import PASSWORD, csrf_from, db_snapshot

ROOT = Path(__file__).resolve().parent.parent
SEED = (ROOT / "races" / "okushinano-100-2024.toml").read_text()
SLUG = "okushinano-100-2024"
CONSOLE = f"/organizer/events/{SLUG}"
BEFORE = datetime(2024, 5, 1, 12, 0, tzinfo=ZoneInfo("Asia/Tokyo"))


@pytest.fixture
def organizer(client, auth, okushinano, make_organizer, frozen_clock):
    frozen_clock(BEFORE)
    user = make_organizer(okushinano)
    auth.login("organizer@example.com")
    return user


def token(client, url=CONSOLE):
    return csrf_from(client.get(url).get_data(as_text=True))


def upload(client, text: str, name="race.toml"):
    return client.post(
        f"{CONSOLE}/race-file",
        data={"csrf_token": token(client), "file": (io.BytesIO(text.encode()), name)},
        content_type="multipart/form-data",
    )


def confirm_form(html: str) -> dict:
    """The hidden fields of the preview's publish form, as the browser would send them."""
    form = html[html.index('race-file/publish"') :]
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form))
    text = re.search(
        r'<textarea name="text" hidden aria-hidden="true">(.*?)</textarea>', form, re.S
    )
    import html as html_module

    # As a browser reads a textarea: the newline right after the tag is not part of it.
    fields["text"] = html_module.unescape(text.group(1)).removeprefix("\n")
    return fields


def publish(client, fields: dict):
    return client.post(f"{CONSOLE}/race-file/publish", data=fields)


def later_start(text: str = SEED) -> str:
    return text.replace("start = 2024-06-08T05:00:00", "start = 2024-06-08T05:30:00", 1)


def start_of(code="100k") -> datetime:
    db.session.expire_all()
    return db.session.scalar(select(Category.start_at).where(Category.code == code))


def test_a_file_with_errors_shows_them_with_lines_and_writes_nothing(client, organizer):
    before = db_snapshot()
    broken = SEED.replace('time_zone = "Asia/Tokyo"', 'time_zone = "Mars/Olympus"', 1)
    response = upload(client, broken)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "line 7" in html or "line " in html
    assert "time_zone" in html and "Publish version" not in html
    nested = ("a = " + "[" * 5000 + "]" * 5000).encode()
    for bad in (b"\x00\x01\x02binary", b"[event\nslug = ", b"x" * (300 * 1024), nested):
        response = client.post(
            f"{CONSOLE}/race-file",
            data={"csrf_token": token(client), "file": (io.BytesIO(bad), "bad.toml")},
            content_type="multipart/form-data",
        )
        assert 400 <= response.status_code < 500
    assert db_snapshot() == before


def test_preview_shows_the_change_and_publishing_applies_it(client, organizer, okushinano):
    before = db_snapshot()
    response = upload(client, later_start())
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    assert "05:00" in html and "05:30" in html and "Publish version 2" in html
    assert db_snapshot() == before  # the preview wrote nothing
    assert start_of().astimezone(ZoneInfo("Asia/Tokyo")).strftime("%H:%M") == "05:00"
    response = publish(client, confirm_form(html))
    assert response.status_code == 302
    assert start_of().astimezone(ZoneInfo("Asia/Tokyo")).strftime("%H:%M") == "05:30"
    saved = db.session.scalar(select(RaceFileVersion).order_by(RaceFileVersion.number.desc()))
    # Version 1 is the file the race was imported from on the command line.
    assert saved.number == 2 and saved.published_by_id == organizer.id
    # Kept in both languages, for readers of either.
    assert saved.summary["changes"]["en"] == ["Start of 100 km: Sat 05:00 → Sat 05:30"]
    assert "スタート" in saved.summary["changes"]["ja"][0]
    log = db.session.execute(select(AuditRecord.actor, AuditRecord.action)).all()
    assert log == [
        ("", "race_file.published"),
        ("organizer@example.com", "race_file.published"),
    ]
    # A change runners must know about: the next page offers the matching alert.
    follow = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "/alerts?" in follow
    # The runner's kit shows the new start.
    page = client.get(f"/events/{SLUG}/100k").get_data(as_text=True)
    assert "05:30" in page


def test_an_earlier_version_can_be_restored(client, organizer):
    # Version 1: the file imported on the command line; version 2: a later start.
    publish(client, confirm_form(upload(client, later_start()).get_data(as_text=True)))
    assert start_of().astimezone(ZoneInfo("Asia/Tokyo")).strftime("%H:%M") == "05:30"
    response = client.post(
        f"{CONSOLE}/race-file/versions/1/restore", data={"csrf_token": token(client)}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Restore version 1" in html
    assert publish(client, confirm_form(html)).status_code == 302
    assert start_of().astimezone(ZoneInfo("Asia/Tokyo")).strftime("%H:%M") == "05:00"
    latest = db.session.scalar(select(RaceFileVersion).order_by(RaceFileVersion.number.desc()))
    assert (latest.number, latest.restored_from) == (3, 1)


def test_two_organizers_publishing_at_once_cannot_interleave(client, organizer, okushinano, app):
    accounts.create_organizer("second@example.com", "Second", PASSWORD, [SLUG], now=BEFORE)
    other = app.test_client()
    other_token = csrf_from(other.get("/auth/login").get_data(as_text=True))
    other.post(
        "/auth/login",
        data={"email": "second@example.com", "password": PASSWORD, "csrf_token": other_token},
    )
    mine = confirm_form(upload(client, later_start()).get_data(as_text=True))
    theirs = confirm_form(
        upload(
            other, SEED.replace("start = 2024-06-08T05:00:00", "start = 2024-06-08T06:00:00", 1)
        ).get_data(as_text=True)
    )
    assert publish(other, theirs).status_code == 302
    refused = publish(client, mine)
    assert refused.status_code == 409
    assert "Version 2 was published by Second" in refused.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(RaceFileVersion)) == 2
    assert start_of().astimezone(ZoneInfo("Asia/Tokyo")).strftime("%H:%M") == "06:00"


def test_a_file_for_another_race_is_refused(client, organizer):
    other = (ROOT / "races").glob("*.toml")
    text = next(p for p in other if SLUG not in p.name).read_text()
    response = upload(client, text)
    assert response.status_code == 400 and "not" in response.get_data(as_text=True)


CSV_HEADER = "ゼッケン,氏名,メールアドレス,種目,電話番号,緊急連絡先\r\n"


def test_the_entry_list_imports_from_shift_jis_and_runners_claim_by_e_mail(
    client, organizer, okushinano, make_user, auth
):
    rows = CSV_HEADER + (
        "1001,山田 太郎,taro@example.com,100k,090-1234-5678,山田 花子 090-0000-0000\r\n"
        "1002,髙橋 花子,hanako@example.com,50k,+81 90 2222 3333,\r\n"
    )
    response = client.post(
        f"{CONSOLE}/entries/import",
        data={
            "csrf_token": token(client),
            "file": (io.BytesIO(rows.encode("cp932")), "entries.csv"),
        },
        content_type="multipart/form-data",
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    assert "Shift-JIS" in html and "山田 太郎" in html
    assert db.session.scalar(select(func.count()).select_from(Entry)) == 0
    upload_id = re.search(r"entries/import/(\d+)", html).group(1)
    mapping = dict(re.findall(r'<select name="(map_\w+)">.*?value="(\d+)" selected', html, re.S))
    response = client.post(
        f"{CONSOLE}/entries/import/{upload_id}",
        data={"csrf_token": token(client), "apply": "1", **mapping},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    names = db.session.scalars(select(Entry.name).order_by(Entry.bib)).all()
    assert names == ["山田 太郎", "髙橋 花子"]
    listing = client.get(f"{CONSOLE}/entries").get_data(as_text=True)
    assert "taro@example.com" in listing and "not claimed" in listing
    # The runner with that verified address claims bib 1001 in one tap.
    auth.logout()
    runner = make_user("taro@example.com")
    runner.email_verified_at = BEFORE
    db.session.commit()
    auth.login("taro@example.com")
    page = client.get(f"/events/{SLUG}/join").get_data(as_text=True)
    assert "bib 1001" in page
    entry_id = db.session.scalar(select(Entry.id).where(Entry.bib == "1001"))
    response = client.post(
        f"/events/{SLUG}/join/email",
        data={"csrf_token": csrf_from(page), "entry": str(entry_id)},
    )
    assert response.status_code == 302
    assert db.session.scalar(select(Entry.user_id).where(Entry.bib == "1001")) == runner.id


def test_a_bad_entry_file_is_refused_with_a_message(client, organizer):
    before = db_snapshot()
    for raw, name in ((b"PK\x03\x04" + bytes(range(256)) * 4, "entries.xlsx"), (b"", "e.csv")):
        response = client.post(
            f"{CONSOLE}/entries/import",
            data={"csrf_token": token(client), "file": (io.BytesIO(raw), name)},
            content_type="multipart/form-data",
        )
        assert response.status_code == 400
        assert "<h1>" in response.get_data(as_text=True)
    assert db_snapshot() == before


@pytest.mark.parametrize(
    "role,allowed,refused",
    [
        ("shuttle_staff", [], ["", "/entries", "/race-file", "/race-file#post", "/team", "/log"]),
        ("read_only", ["", "/entries", "/log"], ["/team", "/race-file#post", "/alerts"]),
    ],
)
def test_each_role_opens_only_its_pages(
    client, auth, okushinano, make_user, role, allowed, refused
):
    user = make_user("member@example.com")
    db.session.add(OrganizerRole(user_id=user.id, event_id=okushinano.id, role=role))
    db.session.add(
        Entry(
            event_id=okushinano.id,
            category_id=okushinano.categories[0].id,
            bib="1",
            name="Runner",
            email="private@example.com",
            created_at=BEFORE,
        )
    )
    db.session.commit()
    auth.login("member@example.com")
    for path in allowed:
        assert client.get(CONSOLE + path).status_code == 200, path
    for path in refused:
        if path.endswith("#post"):
            response = upload(client, SEED)
        else:
            response = client.get(CONSOLE + path)
        assert response.status_code == 403, path
    if role == "read_only":
        assert "private@example.com" not in client.get(CONSOLE + "/entries").get_data(as_text=True)
        # Nor can the search tell whether an address is on the list.
        found = client.get(CONSOLE + "/entries?q=private@example.com").get_data(as_text=True)
        assert "Runner" not in found
    if role == "shuttle_staff":
        # The dashboard leads them to the manifests, and only there.
        desk = client.get("/organizer/").get_data(as_text=True)
        manifest = re.search(r'href="(/organizer/departures/\d+/manifest)"', desk).group(1)
        assert client.get(manifest).status_code == 200
        assert CONSOLE + '"' not in desk


def test_a_team_invitation_is_accepted_by_the_invited_address_only(
    client, organizer, okushinano, make_user, auth, app
):
    response = client.post(
        f"{CONSOLE}/team",
        data={"csrf_token": token(client), "email": "staff@example.com", "role": "shuttle_staff"},
    )
    assert response.status_code == 302
    from tests.helpers import sent_mail

    link = re.search(r"https?://\S+/organizer/join/\S+", sent_mail(app)[-1].body).group(0)
    path = "/" + link.split("/", 3)[3]
    auth.logout()
    make_user("someone@example.com")
    auth.login("someone@example.com")
    page = client.get(path).get_data(as_text=True)
    assert "Log in with that address" in page
    assert client.post(path, data={"csrf_token": csrf_from(page)}).status_code == 403
    auth.logout()
    staff = make_user("staff@example.com")
    auth.login("staff@example.com")
    page = client.get(path).get_data(as_text=True)
    assert client.post(path, data={"csrf_token": csrf_from(page)}).status_code == 302
    role = db.session.scalar(select(OrganizerRole).where(OrganizerRole.user_id == staff.id))
    assert role.role == "shuttle_staff"
    # Spent: the link does not work twice.
    assert client.get(path).status_code == 404
    actions = db.session.scalars(
        select(AuditRecord.action).where(AuditRecord.action.like("team.%")).order_by(AuditRecord.id)
    ).all()
    assert actions == ["team.invited", "team.joined"]


def test_claim_codes_are_e_mailed_and_each_claims_its_entry(
    client, organizer, okushinano, app, auth, make_user
):
    from raceapp.services import claims
    from tests.helpers import sent_mail

    category = okushinano.categories[0]
    for bib, email in (("11", "one@example.com"), ("12", "two@example.com"), ("13", None)):
        entry = Entry(
            event_id=okushinano.id,
            category_id=category.id,
            bib=bib,
            name=f"Runner {bib}",
            email=email,
            created_at=BEFORE,
        )
        db.session.add(entry)
        db.session.flush()
        claims.assign_code(entry)
    db.session.commit()
    refused = client.post(f"{CONSOLE}/entries/codes/send", data={"csrf_token": token(client)})
    assert refused.status_code == 400 and sent_mail(app) == []  # the confirm box
    response = client.post(
        f"{CONSOLE}/entries/codes/send", data={"csrf_token": token(client), "confirm": "1"}
    )
    assert response.status_code == 302
    mails = {m.to[0]: m for m in sent_mail(app)}
    assert sorted(mails) == ["one@example.com", "two@example.com"]
    code = re.search(r"[0-9A-Z]{4}(?:-[0-9A-Z]{4}){3}", mails["two@example.com"].body).group(0)
    assert "Okushinano 100" in mails["two@example.com"].subject
    auth.logout()
    runner = make_user("someone@example.com")
    auth.login("someone@example.com")
    page = client.get(f"/events/{SLUG}/join").get_data(as_text=True)
    client.post(f"/events/{SLUG}/join", data={"csrf_token": csrf_from(page), "code": code})
    assert db.session.scalar(select(Entry.bib).where(Entry.user_id == runner.id)) == "12"
    # The printed sheet shows the codes of the entries still to be claimed, and only those.
    auth.logout()
    auth.login("organizer@example.com")
    sheet = client.get(f"{CONSOLE}/entries/codes").get_data(as_text=True)
    assert "Runner 11" in sheet and "Runner 13" in sheet and "Runner 12" not in sheet
    assert code not in sheet


def test_team_rules_a_removed_member_cannot_come_back_through_an_old_link(
    okushinano, make_organizer, make_user
):
    from raceapp.errors import Conflict, NotFound
    from raceapp.services import team

    boss = make_organizer(okushinano)
    first = team.invite(okushinano, boss, "helper@example.com", "headquarters", now=BEFORE)
    second = team.invite(okushinano, boss, "helper@example.com", "read_only", now=BEFORE)
    helper = make_user("helper@example.com")
    with pytest.raises(NotFound):  # the later invitation replaced the first
        team.accept(first, helper, now=BEFORE)
    team.accept(second, helper, now=BEFORE)
    assert team.role_of(helper, okushinano) == "read_only"
    # Invited again while a member (a stale link from before): refused at the invitation.
    with pytest.raises(Conflict):
        team.invite(okushinano, boss, "helper@example.com", "headquarters", now=BEFORE)
    role = db.session.scalar(select(OrganizerRole).where(OrganizerRole.user_id == helper.id))
    team.remove_member(okushinano, boss, role.id, now=BEFORE)
    assert team.role_of(helper, okushinano) is None
    # The last headquarters member stays.
    boss_role = db.session.scalar(select(OrganizerRole).where(OrganizerRole.user_id == boss.id))
    with pytest.raises(Conflict):
        team.remove_member(okushinano, boss, boss_role.id, now=BEFORE)
