"""The submit journey with the keyboard alone: an expert signs in, starts a proposal, fills the form, saves it and
submits it with Tab, Enter, Space and typing (no pointer), and every control she reaches shows a visible focus."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import PASSWORD
from tests.browser.journeys import flashes, make_expert, proposal_titled, unique_word

#: The focus ring of the design system (app.css, ``:focus-visible``).
FOCUS_RING = {"matches": True, "style": "solid", "width": "3px"}
#: More Tab presses than any page of the journey has stops before its target.
MAX_TABS = 120
TEXT = "## Problem\n\nRivers flood across borders.\n\n## Proposed measure\n\nShare gauge readings hourly."


def focus_ring_of(target) -> dict:
    return target.evaluate("""element => {
        const style = getComputedStyle(element);
        return {matches: element.matches(':focus-visible'), style: style.outlineStyle, width: style.outlineWidth};
    }""")


def tab_to(page, target) -> None:
    """Press Tab until ``target`` has the focus, as a keyboard user moves through the page; the focus must show."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if target.evaluate("element => element === document.activeElement"):
            assert focus_ring_of(target) == FOCUS_RING
            return
    raise AssertionError(f"{target} is not reached within {MAX_TABS} presses of Tab")


def test_an_expert_writes_saves_and_submits_a_proposal_with_the_keyboard_alone(live, page):
    expert = make_expert(live, "Kei Tanaka")
    title = f"Keyboard flood gauges {unique_word('Keys')}"

    # The first Tab reaches the skip link, which appears; Enter moves to the main content.
    page.goto("/login")
    page.keyboard.press("Tab")
    skip_link = page.get_by_role("link", name="Skip to main content")
    expect(skip_link).to_be_focused()
    expect(skip_link).to_be_in_viewport()
    assert focus_ring_of(skip_link) == FOCUS_RING
    page.keyboard.press("Enter")
    expect(page.get_by_role("main")).to_be_focused()

    # Signing in: the email field is the first stop of the main content.
    page.keyboard.press("Tab")
    expect(page.get_by_label("Email")).to_be_focused()
    page.keyboard.type(expert.email)
    tab_to(page, page.get_by_label("Password", exact=True))
    page.keyboard.type(PASSWORD)
    tab_to(page, page.get_by_role("button", name="Sign in"))
    page.keyboard.press("Enter")
    expect(page).to_have_title("Home · Expert Platform")

    # To "My proposals" through the main menu, then "Start a proposal".
    tab_to(page, page.get_by_role("navigation", name="Main").get_by_role("link", name="My proposals"))
    page.keyboard.press("Enter")
    expect(page).to_have_title("My proposals · Expert Platform")
    tab_to(page, page.get_by_role("link", name="Start a proposal"))
    page.keyboard.press("Enter")
    expect(page).to_have_title("Start a proposal · Expert Platform")

    # The form: typing in the fields, Space ticks a dimension, the outline is replaced.
    tab_to(page, page.get_by_label("Title", exact=True))
    page.keyboard.type(title)
    tab_to(page, page.get_by_label("Summary", exact=True))
    page.keyboard.type("Member states share river gauge data.")
    tab_to(page, page.get_by_label("Text", exact=True))
    page.keyboard.press("Control+A")
    page.keyboard.type(TEXT)
    dimension = page.get_by_label("Environmental dimension")
    tab_to(page, dimension)
    page.keyboard.press("Space")
    expect(dimension).to_be_checked()
    tab_to(page, page.get_by_label("Keywords"))
    page.keyboard.type("water, floods")
    tab_to(page, page.get_by_role("button", name="Save the draft"))
    page.keyboard.press("Enter")

    expect(flashes(page)).to_have_text(["Your draft is saved. Only you and the co-authors you invite can see it."])
    expect(page).to_have_title(f"{title} · Expert Platform")
    expect(page.get_by_role("region", name="Text", exact=True).locator(".proposal-text h2")).to_have_text(
        ["Problem", "Proposed measure"])

    # Submitting with Space on the button.
    tab_to(page, page.get_by_role("button", name="Submit to the council"))
    page.keyboard.press("Space")

    expect(page.locator(".proposal-state")).to_have_text(re.compile(r"^Submitted EP-"))
    stored = proposal_titled(live, title)
    assert stored.state == "submitted"
    expect(flashes(page)).to_have_text([
        f"The proposal is submitted to the council. Its reference is {stored.reference}."
    ])
    expect(page.locator(".proposal-state")).to_have_text(f"Submitted {stored.reference}")
