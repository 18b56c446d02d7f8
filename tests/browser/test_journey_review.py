"""Journey (c): the secretariat starts the review of a submitted proposal and assigns a rapporteur (a member of the
author's own delegation is refused for a conflict of interest), the rapporteur reviews, the secretariat returns the
proposal with a note, the author revises it, compares the revision with the first and resubmits it."""

from __future__ import annotations

from playwright.sync_api import expect

from expert_platform.enums import Role
from tests.browser.conftest import sign_in
from tests.browser.journeys import (
    PROPOSAL_BODY,
    flashes,
    make_expert,
    open_menu_link,
    seat_on_council,
    submitted_proposal,
    unique_word,
)

REVISED_BODY = PROPOSAL_BODY.replace("hourly.", "hourly on the Amu Darya and the Syr Darya.")
RETURN_NOTE = "Name the river basins."


def test_a_proposal_is_reviewed_returned_revised_compared_and_resubmitted(live, page, new_context):
    # The author's think tank is Indian: a member of India's delegation has a conflict, one of Türkiye's has none.
    author = make_expert(live, "Ann Lindqvist", state="IN")
    conflicted = live.person("Ravi Menon")
    seat_on_council(live, conflicted, "IN")
    rapporteur = live.person("Elif Kaya")
    seat_on_council(live, rapporteur, "TR")
    secretariat = live.person("Sabina Officer", Role.ADMIN)
    word = unique_word("Basin")
    title = f"Flood gauges {word}"
    proposal = submitted_proposal(live, author, title)

    # The secretariat finds the proposal in the register and starts the review on its workspace.
    sign_in(page, secretariat.email)
    open_menu_link(page, "Proposals")
    page.get_by_label("Title, summary or reference").fill(word)
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.locator(".result-count")).to_have_text("1 proposal")
    page.get_by_role("link", name=title).click()
    page.get_by_role("link", name="Review workspace").click()
    page.get_by_role("button", name="Start the review").click()

    expect(flashes(page)).to_have_text(["The review has started. Assign rapporteurs, then open a consensus round."])
    expect(page.locator(".proposal-state")).to_have_text(f"In review {proposal.reference}")

    # She chooses the member of India's delegation without a waiver: refused, with the reason under the field.
    page.get_by_label("Council member").select_option(label="Ravi Menon (delegation of India): conflict of interest")
    page.get_by_role("button", name="Assign", exact=True).click()

    expect(page.get_by_label("Waiver of a conflict of interest")).to_have_accessible_description(
        "Required when the member has a conflict of interest: why they may assess it anyway. Ravi Menon has a "
        "conflict of interest: sits in the delegation of India, the member state of an authoring think tank. "
        "Record a waiver with a reason to assign them anyway.")
    expect(page.locator("#rapporteurs .empty-state")).to_have_text("No rapporteur yet.")

    # She assigns the member of Türkiye's delegation instead.
    page.get_by_label("Council member").select_option(label="Elif Kaya (delegation of Türkiye)")
    page.get_by_role("button", name="Assign", exact=True).click()

    expect(flashes(page)).to_have_text(["Elif Kaya is rapporteur 1 of this proposal."])
    expect(page.locator("#rapporteur-1")).to_have_text("Rapporteur 1: Elif Kaya (delegation of Türkiye) Remove")

    # The rapporteur finds it among her pending reviews and writes her review.
    reviewer = new_context().new_page()
    sign_in(reviewer, rapporteur.email)
    open_menu_link(reviewer, "Review")
    pending = reviewer.get_by_role("region", name="My pending reviews")
    expect(pending.get_by_role("listitem")).to_have_text([f"{proposal.reference} {title}"])
    pending.get_by_role("link", name=title).click()
    reviewer.get_by_label("Revise", exact=True).check()
    reviewer.get_by_label("Assessment").fill("## Gaps\n\nName the *basins*.")
    reviewer.get_by_role("button", name="Save your review").click()

    expect(flashes(reviewer)).to_have_text(["Your review of revision 1 is saved."])
    review = reviewer.locator("#reviews article.review")
    expect(review.locator(".review-recommendation")).to_have_text(["Recommendation: Revise"])
    expect(review.locator(".review-text")).to_have_text(["Gaps Name the basins."])

    # The secretariat reads it and returns the proposal to its authors with a note.
    page.reload()
    expect(page.locator("#reviews article.review h4")).to_have_text(["Elif Kaya"])
    page.get_by_label("Note to the authors").fill(RETURN_NOTE)
    page.get_by_role("button", name="Return for revision").click()

    expect(flashes(page)).to_have_text([f"{proposal.reference} is returned to its authors for revision."])

    # The author reads the note, revises the text and compares her working copy with revision 1.
    writer = new_context().new_page()
    sign_in(writer, author.email)
    open_menu_link(writer, "My proposals")
    writer.get_by_role("region", name="Changes requested").get_by_role("link", name=title).click()
    expect(writer.locator(".timeline .event-text").last).to_have_text(
        "Sabina Officer returned the proposal to its authors for revision.")
    expect(writer.locator(".timeline blockquote")).to_have_text([RETURN_NOTE])
    writer.get_by_role("link", name="Edit the proposal").click()
    writer.get_by_label("Text", exact=True).fill(REVISED_BODY)
    writer.get_by_role("button", name="Save your changes").click()
    expect(flashes(writer)).to_have_text(["Your changes are saved."])
    writer.get_by_role("button", name="Show the differences").click()

    expect(writer.locator("h2.diff-heading")).to_have_text("From Revision 1 to Working copy")
    expect(writer.locator(".diff-field h3")).to_have_text(["Title unchanged", "Summary unchanged", "Text"])
    expect(writer.locator(".diff-field ins")).to_have_text(["inserted: on the Amu Darya and the Syr Darya"])
    expect(writer.locator(".diff-field del")).to_have_count(0)

    # She resubmits it: revision 2, with a link to what changed since revision 1.
    writer.get_by_role("link", name="Back to the proposal").click()
    writer.get_by_role("button", name="Resubmit").click()

    expect(flashes(writer)).to_have_text(["The revised proposal is sent to the council again."])
    expect(writer.locator(".proposal-state")).to_have_text(f"Submitted {proposal.reference}")
    expect(writer.locator(".timeline .event-text").last).to_have_text(
        "Ann Lindqvist resubmitted the proposal as revision 2.")
    writer.get_by_role("link", name="changes since revision 1").click()
    expect(writer.locator("h2.diff-heading")).to_have_text("From Revision 1 to Revision 2")
    expect(writer.locator(".diff-field ins")).to_have_text(["inserted: on the Amu Darya and the Syr Darya"])
