"""Journeys (d), (e) and (f): consensus rounds through the pages.

(d) A standard round: the delegations endorse, one with a reservation; the last position endorses the proposal,
and an anonymous visitor finds it in the archive with the match highlighted, reads its decision record and
downloads its citation. (e) A silence procedure nobody objects to: after the deadline ``flask council close-due``
endorses it. (f) An objection blocks a standard round; after the deadline the secretariat closes it without
consensus, and the authors read "not endorsed" without learning who objected.

Before each journey a proposal is submitted and in review (through the services). Council members of our own
sit in delegations of the demo council (journeys.seat_on_council). A round asks every delegation with a current
member; in (d) the delegations the journey is not about endorse through the services, so that our two delegates'
positions, recorded in the browser, are the last ones.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from playwright.sync_api import expect
from sqlalchemy import update

from expert_platform.accounts.services import find_user_by_email
from expert_platform.database import utcnow
from expert_platform.enums import Role
from expert_platform.extensions import db
from expert_platform.proposals.models import Proposal
from expert_platform.review import services as review_services
from expert_platform.review.models import ConsensusRound
from expert_platform.thinktanks.models import ThinkTank
from tests.browser.conftest import DEMO_ACCOUNTS, sign_in
from tests.browser.journeys import (
    StoredProposal,
    decided_at,
    definitions,
    delegations_asked,
    flashes,
    mail_to,
    make_delegate,
    make_think_tank,
    member_state_name,
    proposal_titled,
    submitted_proposal,
    the_other_delegations_endorse,
    unique_word,
)

RESERVATION = "The gauges are to be calibrated to one national standard first."
OBJECTION = "Ice monitoring belongs to the existing bilateral river commissions."


# --- Set up through the services ------------------------------------------------------------------


def make_author(live, display_name: str) -> tuple[object, str]:
    """An expert of a new approved think tank, and that think tank's name (the citation's institution)."""
    author = live.person(display_name, Role.EXPERT)
    think_tank_id = make_think_tank(live, experts=[author])
    with live.app.app_context():
        return author, db.session.get(ThinkTank, think_tank_id).name


def proposal_in_review(live, author, title: str) -> StoredProposal:
    """A complete proposal ``author`` submitted, whose review the demo secretariat started."""
    submitted = submitted_proposal(live, author, title)
    with live.app.app_context():
        review_services.start_review(actor=find_user_by_email(DEMO_ACCOUNTS["secretariat"][0]),
                                     proposal=db.session.get(Proposal, submitted.id))
        db.session.commit()
    return proposal_titled(live, title)


def the_deadline_passes(live, proposal: StoredProposal) -> None:
    """Time goes by until the open round's deadline is behind us (one UPDATE of the round's times)."""
    now = utcnow()
    with live.app.app_context():
        # An hour passes (two, to be beyond the shortest deadline a round can have): the round opened three
        # hours ago and its deadline was a minute ago.
        db.session.execute(
            update(ConsensusRound)
            .where(ConsensusRound.proposal_id == proposal.id, ConsensusRound.closed_at.is_(None))
            .values(opened_at=now - timedelta(hours=3), deadline_at=now - timedelta(minutes=1))
        )
        db.session.commit()


# --- Steps on the pages ---------------------------------------------------------------------------


def a_deadline(hours: int) -> datetime:
    """A deadline ``hours`` from now, to the minute (what the datetime-local field takes)."""
    return (utcnow() + timedelta(hours=hours)).replace(second=0, microsecond=0)


def open_the_workspace(page, proposal: StoredProposal) -> None:
    """From the proposal page, follow "Review workspace" (council members and the secretariat)."""
    page.goto(f"/proposals/{proposal.id}")
    page.get_by_role("link", name="Review workspace").click()
    expect(page.get_by_role("heading", name="Consensus", exact=True)).to_be_visible()


def open_a_round(page, kind: str, deadline: datetime) -> None:
    """The secretariat opens a round of ``kind`` (its label) on the workspace."""
    card = page.locator("#open-round")
    card.get_by_label(kind, exact=True).check()
    card.get_by_label("Deadline (UTC)").fill(f"{deadline:%Y-%m-%dT%H:%M}")
    card.get_by_role("button", name="Open the round").click()
    expect(flashes(page)).to_have_text([f"The {kind.lower()} is open until {deadline:%Y-%m-%d %H:%M} UTC. "
                                        "Every delegation is asked for its position."])


def record_a_position(page, position: str, reason: str = "") -> None:
    """A delegate records their delegation's position (its label) on the workspace."""
    card = page.locator("#my-position")
    card.get_by_label(position, exact=True).check()
    if reason:
        card.get_by_label("Reason").fill(reason)
    card.get_by_role("button", name="Record the position").click()


def names(states: list[str]) -> str:
    """Member-state names as the tallies list them, or "None"."""
    return ", ".join(states) or "None"


# --- (d) a standard round ---------------------------------------------------------------------------


def test_delegations_endorse_one_with_a_reservation_and_a_visitor_finds_reads_and_cites_the_proposal(
        live, page, new_context):
    author, think_tank = make_author(live, "Ann Lindqvist")
    word = unique_word("Icegauge")
    proposal = proposal_in_review(live, author, f"Monitoring river ice with {word} sensors")
    reserving = make_delegate(live, "Chen Rui", "CN")
    endorsing = make_delegate(live, "Dev Patel", "IN")
    china, india = member_state_name(live, "CN"), member_state_name(live, "IN")

    # The secretariat opens a standard round for three days.
    sign_in(page, *DEMO_ACCOUNTS["secretariat"])
    open_the_workspace(page, proposal)
    open_a_round(page, "Standard round", a_deadline(hours=72))
    asked = delegations_asked(live, proposal)
    assert {china, india} <= set(asked)
    the_other_delegations_endorse(live, proposal, besides=[reserving, endorsing])

    # China endorses with a reservation; the proposal waits for India.
    china_page = new_context().new_page()
    sign_in(china_page, reserving.email)
    open_the_workspace(china_page, proposal)
    expect(china_page.locator("#current-position")).to_have_text("Your delegation has not answered yet.")
    record_a_position(china_page, "Endorse with a reservation", RESERVATION)

    expect(flashes(china_page)).to_have_text(["Your delegation's position is recorded: Endorse with a reservation."])
    expect(china_page.locator("#current-position")).to_have_text(
        f"Recorded now: Endorse with a reservation ({RESERVATION})")
    expect(china_page.locator(".proposal-state .badge")).to_have_text("Consensus round")

    # India's endorsement is the last answer: every delegation has answered and none objects.
    india_page = new_context().new_page()
    sign_in(india_page, endorsing.email)
    open_the_workspace(india_page, proposal)
    record_a_position(india_page, "Endorse")

    expect(flashes(india_page)).to_have_text(["Your delegation's position is recorded: Endorse. "
                                              "With it the consensus rule is met: the proposal is endorsed."])
    expect(india_page.locator(".proposal-state .badge")).to_have_text("Endorsed")
    expect(india_page.locator("#round-1-heading")).to_have_text("Round 1: Endorsed")

    # An anonymous visitor searches the archive for the word and finds exactly this proposal, the word marked.
    visitor = new_context().new_page()
    visitor.goto("/archive")
    visitor.get_by_label("Search the archive").fill(word)
    visitor.get_by_role("search").get_by_role("button", name="Search").click()

    expect(visitor.locator("#result-count")).to_have_text("1 proposal")
    hit = visitor.locator("#hits > li")
    expect(hit.locator("h3 mark")).to_have_text([word])
    assert hit.locator("h3 a").inner_html() == f"Monitoring river ice with <mark>{word}</mark> sensors"
    hit.get_by_role("link", name=f"Monitoring river ice with {word} sensors").click()

    # The proposal page shows it endorsed, with its decision record and the reservation annexed.
    expect(visitor).to_have_url(f"{live.url}/proposals/{proposal.reference}")
    expect(visitor.locator(".proposal-state")).to_have_text(f"Endorsed {proposal.reference}")
    decided = decided_at(live, proposal)
    record = visitor.locator("#decision-record")
    expect(record.locator(".decision-outcome")).to_have_text(f"Endorsed by consensus on {decided:%Y-%m-%d}")
    assert definitions(record.locator(".decision-facts")) == {
        "Decision date": f"{decided:%Y-%m-%d %H:%M} UTC",
        "Round type": "Standard round",
        "Quorum": "2/3 of the delegations asked",
    }
    assert definitions(record.locator(".tally")) == {
        "Endorsed": names([state for state in asked if state != china]),
        "Endorsed with reservations": china,
        "Stood aside": "None",
        "Did not answer": "None",
    }
    assert definitions(record.locator(".reservations")) == {china: RESERVATION}

    # The visitor downloads the BibTeX citation.
    with visitor.expect_download() as download:
        visitor.get_by_role("region", name="Cite this proposal").get_by_role("link", name="BibTeX").click()
    assert download.value.suggested_filename == f"{proposal.reference}.bib"
    assert Path(download.value.path()).read_text(encoding="utf-8").splitlines() == [
        f"@techreport{{{proposal.reference},",
        f"  title = {{{{Monitoring river ice with {word} sensors}}}},",
        "  author = {Ann Lindqvist},",
        f"  institution = {{{think_tank}}},",
        f"  year = {{{decided:%Y}}},",
        f"  month = {decided.strftime('%b').lower()},",
        f"  number = {{{proposal.reference}}},",
        f"  url = {{{live.url}/proposals/{proposal.reference}}},",
        f"  note = {{Endorsed by the council on {decided:%Y-%m-%d}}}",
        "}",
    ]


# --- (e) a silence procedure ------------------------------------------------------------------------


def test_a_silence_procedure_nobody_objects_to_is_endorsed_by_close_due_after_its_deadline(live, page, new_context):
    author, _think_tank = make_author(live, "Mira Sato")
    title = f"Seasonal grazing calendars {unique_word('Pasture')}"
    proposal = proposal_in_review(live, author, title)

    # The secretariat opens a silence procedure; no delegation answers.
    sign_in(page, *DEMO_ACCOUNTS["secretariat"])
    open_the_workspace(page, proposal)
    open_a_round(page, "Silence procedure", a_deadline(hours=2))
    asked = delegations_asked(live, proposal)

    # After the deadline, cron runs ``flask council close-due`` (before anyone opens a page of the proposal,
    # which would settle the round too): silence is consent.
    the_deadline_passes(live, proposal)
    close_due = live.flask("council", "close-due")

    assert f"  {proposal.reference}: endorsed" in close_due.stdout.splitlines()
    assert proposal_titled(live, title).state == "endorsed"

    # The author finds it endorsed among her proposals, with its decision record.
    author_page = new_context().new_page()
    sign_in(author_page, author.email)
    author_page.get_by_role("navigation", name="Main").get_by_role("link", name="My proposals").click()
    author_page.get_by_role("region", name="Endorsed", exact=True).get_by_role("link", name=title).click()

    expect(author_page.locator(".proposal-state")).to_have_text(f"Endorsed {proposal.reference}")
    expect(author_page.locator('.workflow-progress [aria-current="step"]')).to_have_text("Endorsed")
    decided = decided_at(live, proposal)
    record = author_page.locator("#decision-record")
    expect(record.locator(".decision-outcome")).to_have_text(f"Endorsed by consensus on {decided:%Y-%m-%d}")
    assert definitions(record.locator(".decision-facts")) == {
        "Decision date": f"{decided:%Y-%m-%d %H:%M} UTC",
        "Round type": "Silence procedure",
    }
    assert definitions(record.locator(".tally")) == {
        "Endorsed": "None",
        "Endorsed with reservations": "None",
        "Stood aside": "None",
        "Did not answer": names(asked),
    }
    expect(author_page.locator(".timeline .event-text").last).to_have_text(
        "The platform endorsed the proposal: the consensus rule is met.")


# --- (f) an objection blocks the round -------------------------------------------------------------------


def test_an_objection_blocks_the_round_and_the_secretariat_closes_it_without_consensus(live, page, new_context):
    author, _think_tank = make_author(live, "Omar Haddad")
    title = f"Ice jam alerts {unique_word('Icejam')}"
    proposal = proposal_in_review(live, author, title)
    objecting = make_delegate(live, "Tanya Volkova", "RU")
    objector = member_state_name(live, "RU")

    # The secretariat opens a standard round.
    sign_in(page, *DEMO_ACCOUNTS["secretariat"])
    open_the_workspace(page, proposal)
    open_a_round(page, "Standard round", a_deadline(hours=2))
    asked = delegations_asked(live, proposal)

    # Russia objects, with its reason: the rule is not met, the round stays open.
    delegate_page = new_context().new_page()
    sign_in(delegate_page, objecting.email)
    open_the_workspace(delegate_page, proposal)
    record_a_position(delegate_page, "Object", OBJECTION)

    expect(flashes(delegate_page)).to_have_text(["Your delegation's position is recorded: Object."])
    expect(delegate_page.locator(".proposal-state .badge")).to_have_text("Consensus round")
    assert definitions(delegate_page.locator("#open-tally")) == {
        "Endorsed": "None",
        "Endorsed with a reservation": "None",
        "Stood aside": "None",
        "Objected": f"{objector}: {OBJECTION}",
        "Not answered": names([state for state in asked if state != objector]),
    }

    # Before the deadline the secretariat is offered no way to close the round.
    page.reload()
    expect(page.get_by_role("heading", name="Close without consensus")).to_have_count(0)

    # After the deadline the secretariat closes it without consensus.
    the_deadline_passes(live, proposal)
    page.reload()
    closing = page.locator("#close-round")
    closing.get_by_label("Note (optional)").fill("The objection stood at the deadline.")
    closing.get_by_role("button", name="Close without consensus").click()

    expect(flashes(page)).to_have_text(["The round is closed without consensus: the proposal is not endorsed."])
    expect(page.locator(".proposal-state .badge")).to_have_text("Not endorsed")
    expect(page.locator("#round-1-heading")).to_have_text("Round 1: Not endorsed")
    expect(page.locator("#close-round")).to_have_count(0)

    # The author reads "not endorsed" and the decision's date and type, but not who objected or why.
    author_page = new_context().new_page()
    sign_in(author_page, author.email)
    author_page.get_by_role("navigation", name="Main").get_by_role("link", name="My proposals").click()
    author_page.get_by_role("region", name="Not endorsed", exact=True).get_by_role("link", name=title).click()

    expect(author_page.locator(".proposal-state")).to_have_text(f"Not endorsed {proposal.reference}")
    decided = decided_at(live, proposal)
    record = author_page.locator("#decision-record")
    expect(record.locator(".decision-outcome")).to_have_text(f"Closed without consensus on {decided:%Y-%m-%d}")
    assert definitions(record.locator(".decision-facts")) == {
        "Decision date": f"{decided:%Y-%m-%d %H:%M} UTC",
        "Round type": "Standard round",
        "Quorum": "2/3 of the delegations asked",
    }
    expect(record.locator(".tally, .objections")).to_have_count(0)
    expect(author_page.locator("main")).not_to_contain_text(OBJECTION)
    expect(author_page.locator("main")).not_to_contain_text(objector)
    assert author_page.goto(f"/proposals/{proposal.id}/review").status == 403
    decision = mail_to(live, author.email, f"The consensus round on “{title}” closed without consensus.")
    assert OBJECTION not in decision.get_body(("plain",)).get_content()
    assert objector not in decision.get_body(("plain",)).get_content()
