"""Journey (g): stored cross-site scripting. An expert writes a proposal whose title, summary and Markdown text hold
script payloads, through the pages; wherever the proposal is shown (the preview, the proposal page, its revisions,
the diff, the archive's search results and the API's JSON) the browser raises no dialog, no payload sets the
``window.__xss`` marker, and the page holds no script, event handler or ``javascript:`` address of the payload.

The browser contexts bypass the Content Security Policy: the CSP forbids inline scripts anyway, so with it in
force a payload that reached the page unescaped would still stay silent. Without it, only the escaping and the
sanitiser (expert_platform/sanitize.py) keep the payloads inert, and that is what this journey proves.

The workflow steps between the pages (the secretariat returns the proposal for revision; the council endorses it)
are set up through the services (tests/journeys.py ``take``).
"""

from __future__ import annotations

import html
import json

from playwright.sync_api import expect

from expert_platform.accounts.services import find_user_by_email
from expert_platform.extensions import db
from expert_platform.proposals.models import Proposal
from tests.browser.conftest import DEMO_ACCOUNTS, sign_in
from tests.browser.journeys import flashes, make_expert, proposal_titled, unique_word
from tests.journeys import take

#: Each payload sets the marker and raises a dialog if it ever runs.
PAYLOADS = (
    '<script>window.__xss = "script"; alert("script")</script>',
    "<img src=x onerror=\"window.__xss = 'img'; alert('img')\">",
    "[a javascript link](javascript:window.__xss='link';alert('link'))",
    "<javascript:alert('autolink')>",
    "<svg onload=\"window.__xss = 'svg'; alert('svg')\"></svg>",
    "<a href=\"https://example.org/\" onclick=\"window.__xss = 'onclick'; alert('onclick')\">an anchor</a>",
)
#: What the revision adds: the second revision and the diff carry it too.
REVISED_PAYLOAD = "<details open ontoggle=\"window.__xss = 'details'; alert('details')\">revised</details>"

#: Everything on the page that could run a payload: inline scripts (or scripts naming the marker), event-handler
#: attributes, javascript: addresses (as a browser reads them: without blanks and control characters), and
#: elements that load or toggle (img, svg, iframe, object, embed, details). The platform's pages have none.
LIVE_PAYLOADS = """() => {
  const found = [];
  for (const script of document.scripts) {
    if (!script.src || script.text.includes("__xss")) found.push(script.outerHTML);
  }
  for (const element of document.querySelectorAll("*")) {
    for (const attribute of element.attributes) {
      const value = attribute.value.replace(/[\\s\\u0000-\\u001f]/g, "").toLowerCase();
      if (attribute.name.startsWith("on") || value.startsWith("javascript:")) found.push(element.outerHTML);
    }
  }
  for (const element of document.querySelectorAll("img, svg, iframe, object, embed, details")) {
    found.push(element.outerHTML);
  }
  return found;
}"""


class Watched:
    """A browser page whose dialogs are recorded (and dismissed) rather than left to block it."""

    def __init__(self, context) -> None:
        self.page = context.new_page()
        self.dialogs: list[str] = []
        self.page.on("dialog", self._record)

    def _record(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def assert_inert(self) -> None:
        """The page has loaded (images and all) and nothing of a payload ran or is there to run."""
        self.page.wait_for_load_state("load")
        assert self.dialogs == []
        assert self.page.evaluate("typeof window.__xss") == "undefined"
        assert self.page.evaluate(LIVE_PAYLOADS) == []


def expect_payloads_as_text(region, payloads) -> None:
    """Each payload is shown as the text the author typed."""
    for payload in payloads:
        expect(region).to_contain_text(payload)


def take_steps(live, proposal_id: int, *steps: tuple[str, str | None]) -> None:
    """Workflow steps the journey is not about, as the demo secretariat (or the council) takes them."""
    with live.app.app_context():
        secretariat = find_user_by_email(DEMO_ACCOUNTS["secretariat"][0])
        for action, note in steps:
            take(db.session.get(Proposal, proposal_id), action, secretariat, note)
            db.session.commit()


def test_script_payloads_in_a_proposal_stay_inert_wherever_it_is_shown(live, new_context):
    author = make_expert(live, "Ines Moreau")
    word = unique_word("Tidewater")
    title = f"<img src=x onerror=\"window.__xss = 'title'; alert('title')\"> {word} <script>alert('title')</script>"
    summary = "<script>window.__xss = 'summary'; alert('summary')</script> A summary."
    body = f"## Payloads\n\n{word} " + "\n\n".join(PAYLOADS) + "\n"
    writer = Watched(new_context(bypass_csp=True))
    page = writer.page

    # The expert types the payloads into a new proposal and previews it.
    sign_in(page, author.email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My proposals").click()
    page.get_by_role("link", name="Start a proposal").click()
    page.get_by_label("Title", exact=True).fill(title)
    page.get_by_label("Summary", exact=True).fill(summary)
    page.get_by_label("Text", exact=True).fill(body)
    page.get_by_label("Environmental dimension").check()
    page.get_by_role("button", name="Preview").click()

    preview = page.get_by_role("region", name="Preview: exactly what readers will see")
    expect(preview.get_by_role("heading", level=3)).to_have_text(title)
    expect_payloads_as_text(preview.locator(".proposal-text"), PAYLOADS)
    writer.assert_inert()

    # She saves the draft and submits it: revision 1.
    page.get_by_role("button", name="Save the draft").click()

    expect(flashes(page)).to_have_text(["Your draft is saved. Only you and the co-authors you invite can see it."])
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    expect_payloads_as_text(page.get_by_role("region", name="Summary", exact=True), [summary])
    expect_payloads_as_text(page.get_by_role("region", name="Text", exact=True), PAYLOADS)
    writer.assert_inert()
    page.get_by_role("button", name="Submit to the council").click()

    proposal = proposal_titled(live, title)
    expect(flashes(page)).to_have_text([f"The proposal is submitted to the council. "
                                        f"Its reference is {proposal.reference}."])
    writer.assert_inert()

    # Returned for revision, she adds a payload and resubmits: revision 2.
    take_steps(live, proposal.id, ("return_for_revision", "Please add the implementation plan."))
    page.reload()
    page.get_by_role("link", name="Edit the proposal").click()
    page.get_by_label("Text", exact=True).fill(body + "\n" + REVISED_PAYLOAD + "\n")
    page.get_by_role("button", name="Save your changes").click()

    expect(flashes(page)).to_have_text(["Your changes are saved."])
    expect_payloads_as_text(page.get_by_role("region", name="Text", exact=True), [*PAYLOADS, REVISED_PAYLOAD])
    writer.assert_inert()
    page.get_by_role("button", name="Resubmit").click()

    expect(flashes(page)).to_have_text(["The revised proposal is sent to the council again."])
    writer.assert_inert()

    # Each revision and the changes between them.
    page.get_by_role("region", name="Revisions").get_by_role("link", name="Revision 1", exact=True).click()

    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    expect_payloads_as_text(page.locator(".proposal-text"), PAYLOADS)
    writer.assert_inert()
    page.get_by_role("navigation", name="Other revisions").get_by_role("link", name="Revision 2", exact=True).click()

    expect_payloads_as_text(page.locator(".proposal-text"), [*PAYLOADS, REVISED_PAYLOAD])
    writer.assert_inert()
    page.get_by_role("navigation", name="Other revisions").get_by_role("link", name="Changes since revision 1").click()

    expect(page.get_by_role("heading", level=2, name="From Revision 1 to Revision 2")).to_be_visible()
    expect_payloads_as_text(page.get_by_role("region", name="Text", exact=True), [REVISED_PAYLOAD])
    writer.assert_inert()

    # The council endorses it; an anonymous visitor searches the archive for the word next to the payloads.
    take_steps(live, proposal.id, ("start_review", None), ("open_consensus", None), ("endorse", None))
    visitor = Watched(new_context(bypass_csp=True))
    visitor.page.goto("/archive")
    visitor.page.get_by_label("Search the archive").fill(word)
    visitor.page.get_by_role("search").get_by_role("button", name="Search").click()

    expect(visitor.page.locator("#result-count")).to_have_text("1 proposal")
    hit = visitor.page.locator("#hits > li")
    assert hit.locator("h3 a").inner_html() == html.escape(title, quote=False).replace(word, f"<mark>{word}</mark>")
    expect(hit.locator(".snippet mark")).to_have_text([word])
    visitor.assert_inert()

    # The endorsed proposal's public page.
    hit.locator("h3 a").click()

    expect(visitor.page).to_have_url(f"{live.url}/proposals/{proposal.reference}")
    expect(visitor.page.locator(".proposal-state")).to_have_text(f"Endorsed {proposal.reference}")
    expect_payloads_as_text(visitor.page.get_by_role("region", name="Text", exact=True), [*PAYLOADS, REVISED_PAYLOAD])
    visitor.assert_inert()

    # The API's JSON, opened in the browser: the proposal, and a search that finds it.
    visitor.page.goto(f"/api/v1/proposals/{proposal.reference}")

    assert json.loads(visitor.page.locator("body").inner_text())["title"] == title
    visitor.assert_inert()
    visitor.page.goto(f"/api/v1/proposals?q={word}")

    found = json.loads(visitor.page.locator("body").inner_text())
    assert [item["title"] for item in found["items"]] == [title]
    visitor.assert_inert()
