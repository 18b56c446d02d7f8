"""The browser suite's own footing: the server answers, a person signs in and out."""

from __future__ import annotations

from playwright.sync_api import expect

from expert_platform.enums import Role
from tests.browser.conftest import DEMO_ACCOUNTS, sign_in, sign_out


def test_the_home_page_answers_in_the_browser(page):
    page.goto("/")

    expect(page).to_have_title("Home · Expert Platform")


def test_a_person_signs_in_and_out(live, page):
    person = live.person("Dana Browser", Role.RESEARCHER)

    sign_in(page, person.email)
    sign_out(page)

    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Sign in")).to_be_visible()


def test_the_demo_secretariat_signs_in(page):
    sign_in(page, *DEMO_ACCOUNTS["secretariat"])

    menu = page.get_by_role("navigation", name="Main")
    expect(menu.get_by_role("link", name="Secretariat", exact=True)).to_be_visible()
