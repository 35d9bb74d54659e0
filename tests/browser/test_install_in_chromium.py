"""Installing the app, and what a screen reader hears: on an iPhone the "Turn on alerts" card
explains Share → Add to Home Screen with a picture until the app runs from the Home Screen;
where the browser has an install prompt, a button opens it; countdown milestones and the
connection are announced once, not every second."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.browser.helpers import log_in
from tests.helpers import PASSWORD

pytestmark = pytest.mark.browser

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
RACE_MORNING = datetime(2024, 6, 8, 11, 0, tzinfo=ZoneInfo("Asia/Tokyo"))


@pytest.fixture
def runner(okushinano, make_user, make_entry, frozen_clock):
    frozen_clock(RACE_MORNING)
    user = make_user("runner@example.com", name="Demo Runner")
    make_entry(user, okushinano, "100k", "1001")
    return user


@pytest.mark.parametrize(
    "locale,share", [("en-GB", "Add to Home Screen"), ("ja-JP", "ホーム画面に追加")]
)
def test_an_iphone_in_safari_is_shown_how_to_add_the_app_to_the_home_screen(
    live_server, phone, runner, locale, share
):
    page = phone(user_agent=IPHONE, locale=locale).new_page()
    page.clock.install(time=RACE_MORNING)
    log_in(page, live_server, "runner@example.com", PASSWORD)
    page.goto(f"{live_server}/me/alerts")
    steps = page.locator("[data-install-ios]")
    steps.wait_for(state="visible")
    assert share in steps.inner_text()
    assert steps.locator("svg[role=img] title").count() == 1  # the picture, named
    assert page.locator("[data-push-on]").is_hidden()  # alerts come after installing
    assert page.locator("[data-push-status]").inner_text() == ""  # no "unsupported" sentence


def test_the_app_run_from_the_home_screen_offers_alerts_not_the_steps(live_server, phone, runner):
    context = phone(user_agent=IPHONE)
    # Run from the Home Screen, iOS Safari says so with navigator.standalone.
    context.add_init_script("Object.defineProperty(navigator, 'standalone', {get: () => true})")
    page = context.new_page()
    log_in(page, live_server, "runner@example.com", PASSWORD)
    page.goto(f"{live_server}/me/alerts")
    page.wait_for_function("document.documentElement.classList.contains('is-installed')")
    assert page.locator("[data-install-ios]").is_hidden()
    assert page.locator("[data-push-on]").is_visible()


def test_where_the_browser_can_install_a_button_opens_its_prompt(live_server, phone, runner):
    page = phone().new_page()
    log_in(page, live_server, "runner@example.com", PASSWORD)
    page.goto(f"{live_server}/me/alerts")
    install = page.locator("[data-install]")
    assert install.is_hidden()  # nothing to offer until the browser says it can install
    page.evaluate("""() => {
      const event = new Event('beforeinstallprompt', {cancelable: true});
      event.prompt = () => { window.prompted = true; return Promise.resolve(); };
      window.dispatchEvent(event);
      window.wasPrevented = event.defaultPrevented;
    }""")
    assert page.evaluate("window.wasPrevented") is True  # not the browser's own mini-bar
    install.click()
    assert page.evaluate("window.prompted") is True
    assert install.is_hidden()
    page.evaluate("window.dispatchEvent(new Event('appinstalled'))")
    assert "home screen" in page.inner_text("[data-push-status]")
    assert page.locator("[data-install-ios]").is_hidden()


def test_a_screen_reader_hears_countdown_milestones_and_the_connection_once(
    live_server, phone, runner, frozen_clock
):
    # 10 min 5 s before the next cut-off (Kayanodaira, Sat 16:30): the 10-minute mark is 5 s away.
    moment = datetime(2024, 6, 8, 16, 19, 55, tzinfo=ZoneInfo("Asia/Tokyo"))
    frozen_clock(moment)
    context = phone(timezone_id="Asia/Tokyo")
    page = context.new_page()
    page.clock.install(time=moment)
    log_in(page, live_server, "runner@example.com", PASSWORD)
    page.goto(f"{live_server}/me")
    region = page.locator("[data-announce]")
    assert region.get_attribute("aria-live") == "polite"
    assert page.locator("[data-countdown]").first.get_attribute("aria-live") is None
    page.clock.run_for(2000)
    assert region.inner_text() == ""  # the seconds ticking are not announced
    page.clock.run_for(4000)
    said = region.inner_text()
    assert "10 min" in said and "left until the cut-off at" in said, said
    page.clock.run_for(timedelta(minutes=4).total_seconds() * 1000)
    assert region.inner_text() == said  # nothing new until the next mark (5 min)
    context.set_offline(True)
    page.evaluate("window.dispatchEvent(new Event('offline'))")
    page.wait_for_function(
        "document.querySelector('[data-announce]').textContent.includes('Offline')"
    )
