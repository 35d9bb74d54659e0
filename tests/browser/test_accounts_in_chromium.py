"""Accounts by e-mail in Chromium at phone size: sign up and open the link, and forgot
password → e-mail → new password → logged in, in both languages."""

from __future__ import annotations

import pytest

from tests.browser.helpers import log_in
from tests.helpers import PASSWORD, link_in, sent_mail

pytestmark = pytest.mark.browser

NEW_PASSWORD = "kumano kodo at dawn"


def test_forgot_password_then_a_new_one_then_logged_in(app, live_server, phone, make_user):
    make_user("aki@example.com", "Aki")
    context = phone(locale="ja-JP")
    page = context.new_page()
    page.goto(f"{live_server}/auth/login")
    page.click("text=パスワードをお忘れですか?")
    page.fill("input[name=email]", "aki@example.com")
    page.click("main form button[type=submit]")
    page.wait_for_selector("text=メールをご確認ください")

    [message] = sent_mail(app)
    assert message.subject.startswith("新しいパスワードの設定")
    page.goto(live_server + link_in(message, "/auth/reset/"))
    page.fill("input[name=password]", NEW_PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{live_server}/me")
    assert "パスワードを変更しました" in page.inner_text("body")

    # The new password is the one that works from now on.
    other = phone().new_page()
    log_in(other, live_server, "aki@example.com", NEW_PASSWORD)
    assert other.url == f"{live_server}/me"


def test_sign_up_from_the_link_in_the_email(app, live_server, phone):
    page = phone(locale="en-GB").new_page()
    page.goto(f"{live_server}/auth/signup")
    page.fill("input[name=name]", "Aki")
    page.fill("input[name=email]", "aki@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_selector("text=Check your e-mail")
    page.goto(live_server + link_in(sent_mail(app)[-1], "/auth/confirm/"))
    page.click("text=Create my account")
    page.wait_for_url(f"{live_server}/events/")
    assert "Welcome, Aki." in page.inner_text("body")
