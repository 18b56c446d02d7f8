"""Journey (b): an expert drafts a proposal with a co-author, previews it and submits it; the co-author sees it
submitted. Both people work in browsers of their own, through the pages only."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.browser.journeys import flashes, make_expert, open_menu_link, proposal_titled, unique_word

FIRST_TEXT = "## Problem\n\nRivers flood across borders.\n"
REVISED_TEXT = "## Problem\n\nRivers flood across borders.\n\n## Proposed measure\n\nShare gauge readings hourly."


def test_an_expert_drafts_with_a_co_author_previews_and_submits_and_the_co_author_sees_it(live, page, new_context):
    ann = make_expert(live, "Ann Lindqvist")
    bob = make_expert(live, "Bob Okafor")
    title = f"Shared flood gauges {unique_word('Gauge')}"

    # Ann starts a draft from "My proposals".
    sign_in(page, ann.email)
    open_menu_link(page, "My proposals")
    page.get_by_role("link", name="Start a proposal").click()
    page.get_by_label("Title", exact=True).fill(title)
    page.get_by_label("Summary", exact=True).fill("Member states share river gauge data.")
    page.get_by_label("Text", exact=True).fill(FIRST_TEXT)
    page.get_by_label("Environmental dimension").check()
    page.get_by_label("Keywords").fill("water, floods")
    page.get_by_role("button", name="Save the draft").click()

    expect(flashes(page)).to_have_text(["Your draft is saved. Only you and the co-authors you invite can see it."])
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    expect(page.locator(".proposal-state")).to_have_text("Draft")

    # She invites Bob by email from the proposal page.
    page.get_by_label("Email address of the expert").fill(bob.email)
    page.get_by_role("button", name="Send the invitation").click()

    expect(flashes(page)).to_have_text(["Bob Okafor is invited to co-author and has been emailed."])
    expect(page.locator("#coauthors tbody tr")).to_have_text([
        "Ann Lindqvist Lead author", "Bob Okafor Invited Withdraw the invitation",
    ])

    # Bob, signed in on his own computer, finds the invitation on "My proposals" and accepts.
    bobs_page = new_context().new_page()
    sign_in(bobs_page, bob.email)
    open_menu_link(bobs_page, "My proposals")
    invitations = bobs_page.get_by_role("region", name="Invitations to co-author")
    expect(invitations.get_by_role("listitem")).to_have_text([f"{title} Invited by the lead author, Ann Lindqvist. "
                                                              "Accept Decline"])
    invitations.get_by_role("button", name="Accept").click()

    expect(flashes(bobs_page)).to_have_text([f"You are now a co-author of “{title}”."])
    expect(bobs_page.get_by_role("heading", level=1)).to_have_text(title)

    # Ann completes the text, previews it (nothing is saved yet), then saves it.
    page.reload()
    expect(page.locator("#coauthors tbody tr")).to_have_text([
        "Ann Lindqvist Lead author", "Bob Okafor Co-author Make lead author Remove",
    ])
    page.get_by_role("link", name="Edit the proposal").click()
    page.get_by_label("Text", exact=True).fill(REVISED_TEXT)
    page.get_by_role("button", name="Preview").click()

    preview = page.get_by_role("region", name="Preview: exactly what readers will see")
    expect(preview.get_by_role("heading", level=3)).to_have_text(title)
    expect(preview.locator(".proposal-text h2")).to_have_text(["Problem", "Proposed measure"])
    expect(preview.locator(".proposal-text p")).to_have_text(["Rivers flood across borders.",
                                                               "Share gauge readings hourly."])
    expect(page.get_by_label("Text", exact=True)).to_have_value(REVISED_TEXT)
    page.get_by_role("button", name="Save your changes").click()

    expect(flashes(page)).to_have_text(["Your changes are saved."])
    text_section = page.get_by_role("region", name="Text", exact=True)
    expect(text_section.locator(".proposal-text h2")).to_have_text(["Problem", "Proposed measure"])

    # She submits it; the proposal gets its reference.
    page.get_by_role("button", name="Submit to the council").click()

    expect(page.locator(".proposal-state .reference")).to_have_count(1)
    reference = proposal_titled(live, title).reference
    expect(flashes(page)).to_have_text([f"The proposal is submitted to the council. Its reference is {reference}."])
    expect(page.locator(".proposal-state")).to_have_text(f"Submitted {reference}")

    # Bob finds it among his submitted proposals and reads its timeline.
    open_menu_link(bobs_page, "My proposals")
    submitted = bobs_page.get_by_role("region", name="Submitted", exact=True)
    expect(submitted.locator("tbody tr td:nth-child(2)")).to_have_text([reference])
    submitted.get_by_role("link", name=title).click()

    expect(bobs_page.locator(".proposal-state")).to_have_text(f"Submitted {reference}")
    expect(bobs_page.locator(".timeline .event-text")).to_have_text([
        "Ann Lindqvist started the draft.",
        "Ann Lindqvist invited Bob Okafor to co-author.",
        "Bob Okafor accepted the invitation to co-author.",
        "Ann Lindqvist submitted revision 1 to the council.",
    ])
    expect(bobs_page.get_by_role("button", name="Withdraw", exact=True)).to_have_count(1)
