"""Layout: the main pages stay usable 320 px wide (no sideways scrolling, a menu behind a toggle), and a
printed proposal keeps its text and decision record without the navigation and buttons."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.pages import LANGUAGES, VIEWERS, VISITOR, main_pages, open_page, sign_in_as, speak

NARROW = {"width": 320, "height": 640}


def page_width(page, path: str, language: str | None = None) -> int:
    """The width of ``path``'s whole document (in ``language`` when given), in CSS pixels."""
    open_page(page, path, language)
    return page.evaluate("document.documentElement.scrollWidth")


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("viewer", VIEWERS)
def test_no_main_page_scrolls_sideways_320_pixels_wide(live, page, viewer, language):
    sign_in_as(page, viewer)  # on a wide screen, where "Sign out" is in sight without opening the menu
    speak(page, live, language)  # Russian words are longer
    page.set_viewport_size(NARROW)

    too_wide = {name: width for name, path in main_pages(live)[viewer]
                if (width := page_width(page, path, language)) > NARROW["width"]}

    assert too_wide == {}


def test_the_menu_opens_and_closes_with_its_toggle_320_pixels_wide(page):
    page.set_viewport_size(NARROW)
    page.goto("/")
    toggle = page.get_by_role("button", name="Menu")
    archive = page.get_by_role("navigation", name="Main").get_by_role("link", name="Archive")
    expect(archive).to_be_hidden()

    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(archive).to_be_visible()
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(archive).to_be_hidden()
    toggle.click()
    archive.click()

    expect(page).to_have_title("Archive · Expert Platform")


def test_the_language_switcher_is_behind_the_menu_toggle_320_pixels_wide(live, page):
    page.set_viewport_size(NARROW)
    page.goto("/archive?q=national")
    russian = page.get_by_role("form", name="Language").get_by_role("button", name="Русский")
    expect(russian).to_be_hidden()

    page.get_by_role("button", name="Menu").click()
    russian.click()

    # The same page in Russian, its menu closed again behind a toggle in Russian.
    expect(page).to_have_url(f"{live.url}/archive?q=national")
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect(page.get_by_role("heading", level=1)).to_have_text("Архив")
    toggle = page.get_by_role("button", name="Меню")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    english = page.get_by_role("form", name="Язык").get_by_role("button", name="English")
    expect(english).to_be_hidden()
    toggle.click()
    expect(page.get_by_role("button", name="Русский")).to_have_attribute("aria-pressed", "true")
    english.click()

    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Archive")
    assert page.evaluate("document.documentElement.scrollWidth") == NARROW["width"]


def test_the_menu_is_shown_without_a_toggle_on_a_wide_screen(page):
    page.goto("/")

    expect(page.get_by_role("button", name="Menu")).to_be_hidden()
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Archive")).to_be_visible()


def test_a_printed_endorsed_proposal_shows_its_decision_record_without_navigation_or_buttons(live, page):
    endorsed = dict(main_pages(live)[VISITOR])["proposal-endorsed"]
    page.emulate_media(media="print")

    page.goto(endorsed)

    expect(page.get_by_role("navigation", name="Main")).to_be_hidden()
    expect(page.get_by_role("link", name="Skip to main content")).to_be_hidden()
    expect(page.get_by_role("heading", name="Decision record")).to_be_visible()
    expect(page.get_by_role("heading", name="Text", exact=True)).to_be_visible()
    expect(page.get_by_text("Endorsed: Endorsed by consensus and published.")).to_be_hidden()  # the progress
    expect(page.locator("button:visible")).to_have_count(0)


def test_a_printed_proposal_leaves_out_the_authors_forms(live, page):
    returned = dict(main_pages(live)["expert"])["proposal-returned"]
    sign_in_as(page, "expert")  # its lead author, who may resubmit it and manage its co-authors
    page.emulate_media(media="print")

    page.goto(returned)

    expect(page.get_by_role("heading", name="Send on or withdraw")).to_be_hidden()
    expect(page.get_by_role("heading", name="Co-authors")).to_be_hidden()
    expect(page.get_by_role("heading", name="Timeline")).to_be_visible()
    expect(page.locator("button:visible, input:visible, textarea:visible")).to_have_count(0)


def test_each_proposal_state_has_a_badge_marker_of_its_own_besides_its_colour(page):
    sign_in_as(page, "secretariat")  # sees every state but those of the authors alone (draft, changes requested)
    page.goto("/proposals")

    markers = dict(page.locator(".badge-state").evaluate_all(
        "badges => badges.map(badge => [badge.textContent, getComputedStyle(badge, '::before').content])"))

    assert markers == {
        "Submitted": '"→" / ""', "In review": '"◔" / ""', "Consensus round": '"◑" / ""', "Endorsed": '"✓" / ""',
        "Not endorsed": '"✕" / ""', "Withdrawn": '"–" / ""',
    }


def test_the_progress_of_a_proposal_marks_steps_done_the_current_step_and_the_next_ones(live, page):
    in_review = dict(main_pages(live)["expert"])["proposal-in-review"]
    sign_in_as(page, "expert")  # a co-author

    page.goto(in_review)

    steps = page.locator(".progress-steps li").evaluate_all("""steps => steps.map(step => [
        step.textContent, getComputedStyle(step, '::before').content, getComputedStyle(step, '::before').borderTopWidth,
    ])""")
    # Done: a check mark; the current step: its number in a thicker ring; the next ones: their number.
    assert steps == [
        ["Draft (done)", '"✓" / ""', "2px"],
        ["Submitted (done)", '"✓" / ""', "2px"],
        ["In review", 'counter(step) / ""', "3px"],
        ["Consensus round", 'counter(step) / ""', "2px"],
        ["Endorsed", 'counter(step) / ""', "2px"],
    ]
