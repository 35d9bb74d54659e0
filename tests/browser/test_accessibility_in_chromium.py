"""Every runner and organizer page, as a screen reader, a thumb and a phone with large text
meet it: axe-core (WCAG 2.2 AA rules) finds no serious or critical problem in English and
Japanese, light and dark, before the race, on race morning, with the start delayed and with
the race cancelled; every tap target is at least 44 px; nothing is wider than a 390 px phone,
at the normal text size or at 200 %."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from raceapp.extensions import db
from raceapp.services import alerts, shuttles
from raceapp.services.alerts import AlertDraft
from tests.browser.helpers import branded_file, first_departure_after, log_in
from tests.helpers import PASSWORD, import_files

pytestmark = [pytest.mark.browser, pytest.mark.pages]

AXE = (Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js").read_text()
TOKYO = ZoneInfo("Asia/Tokyo")
EVE = datetime(2024, 6, 7, 18, 0, tzinfo=TOKYO)
RACE_MORNING = datetime(2024, 6, 8, 9, 30, tzinfo=TOKYO)

# The WCAG 2.0-2.2 A and AA rules, and axe's best practices for landmarks and headings.
RUN_AXE = """async () => {
  const result = await axe.run(document, {
    runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa',
                                    'best-practice']},
    resultTypes: ['violations'],
  });
  return result.violations
    .filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(v => v.id + ' (' + v.impact + '): ' + v.nodes.slice(0, 3)
      .map(n => n.target.join(' ') + ' ' + (n.failureSummary || '').split('\\n')[1]).join(' | '));
}"""

# Interactive elements a thumb must hit: under 44 x 44 px is a failure. A link inside a
# sentence is exempt (WCAG 2.5.8's inline exception); a control wrapped in its label is
# measured by the label, which is what takes the tap; hidden ones are not targets.
SMALL_TARGETS = """() => {
  const small = [];
  const targets = document.querySelectorAll(
    'a[href], button, input:not([type=hidden]), select, textarea, summary, [role=button], ' +
    '[tabindex="0"]');
  for (const el of targets) {
    if (el.closest('[hidden], .visually-hidden, [inert]')) continue;
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden' || style.display === 'none') continue;
    let box = el.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;
    const label = el.closest('label');
    if (label) box = label.getBoundingClientRect();
    if (el.tagName === 'A' && style.display.startsWith('inline')) {
      const block = el.parentElement;
      const words = [...block.childNodes].filter(n => n !== el &&
        (n.nodeType === 3 ? n.textContent.trim() : getComputedStyle(n).display === 'inline'));
      if (words.length) continue;
    }
    if (box.width < 43.5 || box.height < 43.5) {
      small.push(el.tagName.toLowerCase() + (el.className ? '.' + el.className : '') + ' "' +
        (el.innerText || el.value || el.name || '').trim().slice(0, 30) + '" ' +
        Math.round(box.width) + 'x' + Math.round(box.height));
    }
  }
  return small;
}"""

WIDER_THAN_THE_PHONE = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [...document.querySelectorAll('body *')]
    .filter(el => el.getBoundingClientRect().right > width + 1 && el.offsetParent !== null)
    .filter(el => !el.closest('.table-scroll'))
    .map(el => el.tagName + '.' + el.className + ': ' + (el.textContent || '').trim().slice(0, 40));
  if (document.documentElement.scrollWidth > width + 1) wide.push('the page scrolls sideways');
  return wide;
}"""

# One h1, and headings that go down one level at a time (h2 after h1, never h1 then h3), as a
# screen reader lists them; visible ones only.
HEADING_PROBLEMS = """() => {
  const levels = [...document.querySelectorAll('h1, h2, h3, h4, h5, h6')]
    .filter(h => h.offsetParent !== null || h.closest('.visually-hidden'))
    .map(h => [Number(h.tagName[1]), h.textContent.trim().slice(0, 30)]);
  const problems = [];
  const ones = levels.filter(([level]) => level === 1).length;
  if (ones !== 1) problems.push(ones + ' h1');
  let previous = 0;
  for (const [level, text] of levels) {
    if (level > previous + 1) problems.push('h' + level + ' after h' + previous + ': ' + text);
    previous = level;
  }
  return problems;
}"""

# A phone set to 200 % text: the root font size doubles, as the browser's text-size setting does.
LARGE_TEXT = "html { font-size: 200% !important; }"


@pytest.fixture
def field(okushinano, make_user, make_entry, make_organizer):
    """A runner with a seat and an alert to read, and the race's organizer."""
    runner = make_user("runner@example.com", name="Demo Runner")
    entry = make_entry(runner, okushinano, "100k", "1001")
    organizer = make_organizer(okushinano)
    departure = first_departure_after(RACE_MORNING)
    booking = shuttles.book(runner, departure.id, idempotency_key="a11y", now=EVE)
    alert = alerts.post_alert(
        organizer,
        okushinano,
        AlertDraft("weather", "Thunderstorms likely after 14:00", body="Carry the jacket."),
        now=EVE,
    )
    return {
        "event": okushinano,
        "entry": entry,
        "booking": booking,
        "departure": departure,
        "alert": alert,
        "organizer": organizer,
    }


def runner_pages(field) -> list[str]:
    slug = field["event"].slug
    return [
        "/me",
        "/me/gear",
        "/me/schedule",
        "/me/cutoffs",
        "/me/cutoffs?km=30",
        "/me/help",
        "/me/alerts",
        f"/me/alerts/{field['alert'].id}",
        f"/events/{slug}/shuttles",
        f"/shuttles/tickets/{field['booking'].reference}",
        "/events/",
        f"/events/{slug}",
        f"/events/{slug}/100k",
        "/account/",
    ]


def organizer_pages(field) -> list[str]:
    slug = field["event"].slug
    departure = field["departure"].id
    return [
        "/organizer/",
        f"/organizer/events/{slug}",
        f"/organizer/events/{slug}/race-file",
        f"/organizer/events/{slug}/entries",
        f"/organizer/events/{slug}/entries/import",
        f"/organizer/events/{slug}/entries/{field['entry'].id}",
        f"/organizer/events/{slug}/drop-outs",
        f"/organizer/events/{slug}/team",
        f"/organizer/events/{slug}/log",
        f"/organizer/events/{slug}/alerts",
        f"/organizer/alerts/{field['alert'].id}",
        f"/organizer/alerts/{field['alert'].id}/edit",
        f"/organizer/alerts/{field['alert'].id}/retract",
        f"/organizer/departures/{departure}/manifest",
        f"/organizer/departures/{departure}/board",
        f"/shuttles/check/{field['booking'].reference}",
    ]


PUBLIC_PAGES = ["/", "/auth/login", "/auth/signup", "/auth/forgot", "/offline", "/styleguide"]


# The page's own background in each theme (static/app.css --bg): the theme did apply.
BACKGROUND = {"light": "rgb(243, 244, 241)", "dark": "rgb(14, 19, 16)"}


def check_pages(page, base: str, paths: list[str], *, scheme: str) -> dict[str, list[str]]:
    """Each page's problems in the light or dark theme: axe's serious and critical violations,
    headings, and (in the light theme: layout is the same in both) small tap targets and
    overflow at the normal and the doubled text size."""
    page.emulate_media(color_scheme=scheme)
    problems: dict[str, list[str]] = {}
    for path in paths:
        response = page.goto(f"{base}{path}")
        assert response is not None and response.status == 200, (path, response)
        background = page.evaluate("getComputedStyle(document.documentElement).backgroundColor")
        assert background == BACKGROUND[scheme], (path, scheme, background)
        page.add_script_tag(content=AXE)
        found = list(page.evaluate(RUN_AXE))
        found += [f"headings: {h}" for h in page.evaluate(HEADING_PROBLEMS)]
        if scheme == "light":
            found += [f"small target {t}" for t in page.evaluate(SMALL_TARGETS)]
            found += [f"too wide {w}" for w in page.evaluate(WIDER_THAN_THE_PHONE)]
            page.add_style_tag(content=LARGE_TEXT)
            found += [f"too wide at 200 % {w}" for w in page.evaluate(WIDER_THAN_THE_PHONE)]
        if found:
            problems[path] = found
    return problems


def walk(browser_context, base: str, *, who: str, paths: list[str]):
    page = browser_context.new_page()
    page.clock.install(time=RACE_MORNING)
    if who == "runner":
        log_in(page, base, "runner@example.com", PASSWORD)
    elif who == "organizer":
        log_in(page, base, "organizer@example.com", PASSWORD)
    problems = {}
    for scheme in ("light", "dark"):
        for path, found in check_pages(page, base, paths, scheme=scheme).items():
            problems[f"{scheme} {path}"] = found
    page.close()
    return problems


@pytest.mark.parametrize("locale", ["en-GB", "ja-JP"])
def test_every_page_passes_axe_tap_targets_and_large_text(
    live_server, phone, field, frozen_clock, locale
):
    frozen_clock(RACE_MORNING)
    problems = {}
    for who, paths in (
        ("nobody", PUBLIC_PAGES),
        ("runner", runner_pages(field)),
        ("organizer", organizer_pages(field)),
    ):
        context = phone(locale=locale, timezone_id="Asia/Tokyo", bypass_csp=True)
        problems |= walk(context, live_server, who=who, paths=paths)
    assert problems == {}, "\n".join(f"{p}: {f}" for p, f in problems.items())


# "branded": a race whose file gives a light yellow, the hardest colour to read on white.
@pytest.mark.parametrize("state", ["eve", "delayed", "cancelled", "finished", "branded"])
def test_kit_pages_pass_axe_in_every_race_state(
    live_server, phone, field, frozen_clock, make_organizer, state, tmp_path
):
    moment = {"eve": EVE, "finished": RACE_MORNING + timedelta(days=3)}.get(state, RACE_MORNING)
    frozen_clock(moment)
    event = field["event"]
    if state == "delayed":
        alerts.post_alert(
            field["organizer"],
            event,
            AlertDraft(
                "start_delay",
                "100 km start delayed by 30 min",
                category_code="100k",
                delay_minutes=30,
            ),
            now=RACE_MORNING - timedelta(hours=5),
        )
    if state == "branded":
        import_files(branded_file(tmp_path, "#ffcc00"))
        db.session.commit()
    if state == "cancelled":
        alerts.post_alert(
            field["organizer"],
            event,
            AlertDraft("cancellation", "Typhoon: the race is cancelled"),
            now=RACE_MORNING - timedelta(hours=5),
        )
    paths = ["/me", "/me/cutoffs", "/me/schedule", "/me/alerts", f"/events/{event.slug}"]
    problems = {}
    for locale in ("en-GB", "ja-JP"):
        context = phone(locale=locale, timezone_id="Asia/Tokyo", bypass_csp=True)
        page = context.new_page()
        page.clock.install(time=moment)
        log_in(page, live_server, "runner@example.com", PASSWORD)
        for scheme in ("light", "dark"):
            for path, found in check_pages(page, live_server, paths, scheme=scheme).items():
                problems[f"{locale} {scheme} {path}"] = found
    assert problems == {}, "\n".join(f"{p}: {f}" for p, f in problems.items())


@pytest.mark.parametrize("locale", ["en-GB", "ja-JP"])
def test_the_six_tabs_fit_one_row_on_a_small_phone(live_server, phone, field, frozen_clock, locale):
    """At 360 px (a small Android phone; an iPhone mini is 375), the tab bar keeps one row of
    six, each label whole; at 200 % text it becomes rows of three rather than spill."""
    frozen_clock(RACE_MORNING)
    page = phone(locale=locale, viewport={"width": 360, "height": 740}, bypass_csp=True).new_page()
    log_in(page, live_server, "runner@example.com", PASSWORD)
    page.goto(f"{live_server}/me")
    rows = """() => [...document.querySelectorAll('.tabs a')].map(a => {
      const box = a.getBoundingClientRect(), label = a.querySelector('span');
      return [Math.round(box.top), label.getBoundingClientRect().width <= box.width + 1,
              label.getClientRects().length];
    })"""
    tabs = page.evaluate(rows)
    assert len(tabs) == 6 and len({top for top, _, _ in tabs}) == 1, tabs
    assert all(fits and lines == 1 for _, fits, lines in tabs), tabs  # on one line, inside
    page.add_style_tag(content=LARGE_TEXT)
    tops = sorted({top for top, _, _ in page.evaluate(rows)})
    assert len(tops) == 2, tops  # two rows of three


def test_every_seed_race_s_pages_pass_axe(live_server, phone, seed_races, make_user, make_entry):
    """The other race files: each race's page, each category's, its buses, and a runner's kit in
    each race with a category, in both languages and both themes (their own names, rules and
    lengths of text, in English or Japanese)."""
    paths = {"nobody": [], "runner@example.com": []}
    for slug, event in seed_races.items():
        paths["nobody"] += [
            f"/events/{slug}",
            *(f"/events/{slug}/{c.code}" for c in event.categories),
        ]
        if event.shuttle_routes:
            paths["nobody"].append(f"/events/{slug}/shuttles")
    runner = make_user("runner@example.com")
    kagaspa = seed_races["kagaspa-2026"]
    make_entry(runner, kagaspa, kagaspa.categories[0].code, "77")
    paths["runner@example.com"] = ["/me", "/me/cutoffs", "/me/gear", "/me/schedule", "/me/help"]
    problems = {}
    for locale in ("en-GB", "ja-JP"):
        for who, pages in paths.items():
            page = phone(locale=locale, bypass_csp=True).new_page()
            if who != "nobody":
                log_in(page, live_server, who, PASSWORD)
            for scheme in ("light", "dark"):
                for path, found in check_pages(page, live_server, pages, scheme=scheme).items():
                    problems[f"{locale} {scheme} {path}"] = found
            page.close()
    assert problems == {}, "\n".join(f"{p}: {f}" for p, f in problems.items())
