"""Steps the browser journeys share.

What a journey is not about is set up through the services in the test process (``live.app``):
think tanks with their experts, council seats, a submitted proposal. What the server sent is read
back from its outbox, and the database is read (never written behind the pages' back) to name the
exact result a page must show, such as a proposal's reference.

- ``unique_word(stem)``: a word no other test uses, for titles and names that searches must find alone.
- ``make_think_tank(live, state=...)``: an approved think tank with a manager of its own; returns its id.
- ``make_expert(live, name, state=...)``: an expert (password ``PASSWORD``) of a new approved think tank.
- ``seat_on_council(live, person, state)``: an alternate's seat in a delegation the demo council has.
- ``submitted_proposal(live, author, title)``: a complete draft submitted through the workflow.
- ``proposal_titled(live, title)``: the stored proposal's id, reference and state.
- ``make_delegate(live, name, state)``, ``delegations_asked``, ``member_state_name``,
  ``the_other_delegations_endorse``, ``decided_at``: consensus rounds set up and read through the services.
- ``mail_to(live, address, subject)``, ``link_in(message, marker)``: the message the server sent, its link.
- ``open_menu_link(page, name)``: follow a link of the main menu.
- ``flashes(page)``: the messages shown at the top of the page.
- ``definitions(listing)``: a description list as {term: description}.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from sqlalchemy import select

from expert_platform.enums import DelegationRole, MembershipRole, Participation, Position, ProposalAction, Role
from expert_platform.mail import CLOSE_WAIT_SECONDS
from tests.browser.conftest import DEMO_ACCOUNTS

#: How long the server may take to write a message after it has sent the page: at the close of the
#: response, or CLOSE_WAIT_SECONDS later when the server never closes it (expert_platform/mail.py).
MAIL_WAIT_SECONDS = CLOSE_WAIT_SECONDS + 5.0
#: A complete proposal text in Markdown, as ``submitted_proposal`` writes it.
PROPOSAL_BODY = "## Problem\n\nRivers flood across borders.\n\n## Proposed measure\n\nShare gauge readings hourly."


@dataclass(frozen=True)
class StoredProposal:
    id: int
    reference: str | None
    state: str


def unique_word(stem: str) -> str:
    """``stem`` with eight hex digits: one word that no other proposal, name or address contains."""
    return f"{stem}{uuid.uuid4().hex[:8]}"


def _demo_secretariat():
    from expert_platform.accounts import services as account_services

    return account_services.find_user_by_email(DEMO_ACCOUNTS["secretariat"][0])


def _member_state(code: str):
    from expert_platform.extensions import db
    from expert_platform.reference.models import MemberState

    return db.session.scalar(select(MemberState).where(MemberState.code == code))


def make_think_tank(live, *, state: str = "IN", experts=()) -> int:
    """An approved (permanent) think tank of ``state`` whose manager is a new person, with ``experts``
    (accounts made by ``live.person``) as active experts; set up by the demo secretariat."""
    from expert_platform.extensions import db
    from expert_platform.thinktanks import services as thinktank_services

    name = unique_word("Institute ")
    manager = live.person(f"Manager of {name}")
    with live.app.app_context():
        secretariat = _demo_secretariat()
        think_tank = thinktank_services.apply(
            actor=secretariat, name=name, member_state_id=_member_state(state).id, website=None,
            description="Set up for a browser journey.", contact_name=manager.display_name,
            contact_email=manager.email, participation=Participation.PERMANENT.value, ends_on=None)
        thinktank_services.approve(actor=secretariat, think_tank=think_tank,
                                   participation=Participation.PERMANENT.value, ends_on=None)
        for expert in experts:
            thinktank_services.add_member(actor=secretariat, think_tank=think_tank,
                                          user=db.session.merge(expert), role=MembershipRole.EXPERT)
        db.session.commit()
        return think_tank.id


def make_expert(live, display_name: str, *, state: str = "IN"):
    """A person who writes proposals: an active expert of a new approved think tank of ``state``."""
    expert = live.person(display_name, Role.EXPERT)
    make_think_tank(live, state=state, experts=[expert])
    return expert


def seat_on_council(live, person, state: str) -> None:
    """Give ``person`` an alternate's seat in the delegation of ``state``. Use a state with a demo
    delegation (KZ, CN, RU, TR, IN, TH): a new delegation would be asked in every other test's rounds."""
    from expert_platform.council import services as council_services
    from expert_platform.extensions import db

    with live.app.app_context():
        council_services.appoint(actor=_demo_secretariat(), user=db.session.merge(person),
                                 member_state=_member_state(state), role=DelegationRole.ALTERNATE)
        db.session.commit()


def submitted_proposal(live, author, title: str, *, body: str = PROPOSAL_BODY) -> StoredProposal:
    """A complete draft by ``author``, submitted to the council through the workflow."""
    from expert_platform.extensions import db
    from expert_platform.proposals import services as proposal_services
    from expert_platform.proposals import workflow

    with live.app.app_context():
        writer = db.session.merge(author)
        proposal = proposal_services.create_draft(actor=writer, content=proposal_services.Content(
            title=title, summary="Gauges on shared rivers.", body=body, language="en",
            dimensions=["environmental"], member_state_ids=[], keywords=["water"]))
        workflow.transition(proposal, ProposalAction.SUBMIT, actor=writer)
        db.session.commit()
    return proposal_titled(live, title)


def proposal_titled(live, title: str) -> StoredProposal:
    """The one stored proposal with ``title``, as the database holds it now."""
    from expert_platform.extensions import db
    from expert_platform.proposals.models import Proposal

    with live.app.app_context():
        proposal = db.session.scalars(select(Proposal).where(Proposal.title == title)).one()
        return StoredProposal(id=proposal.id, reference=proposal.reference, state=proposal.state.value)


def make_delegate(live, display_name: str, state: str, *, email: str | None = None):
    """A council member seated in the demo delegation of ``state`` (a member-state code)."""
    delegate = live.person(display_name, email=email)
    seat_on_council(live, delegate, state)
    return delegate


def delegations_asked(live, proposal: StoredProposal) -> list[str]:
    """The member states whose delegations the proposal's latest round asked, in the order pages list them."""
    from expert_platform.extensions import db
    from expert_platform.proposals.models import Proposal
    from expert_platform.review import rounds

    with live.app.app_context():
        return [row.member_state_name for row in rounds.latest_round_of(db.session.get(Proposal, proposal.id)).asked]


def russian_state_names(live) -> dict[str, str]:
    """Each member state's English name -> the name Russian pages show."""
    from expert_platform.extensions import db
    from expert_platform.reference.models import MemberState

    with live.app.app_context():
        return {name: russian or name for name, russian in db.session.execute(
            select(MemberState.name, MemberState.name_ru))}


def member_state_name(live, state: str) -> str:
    """The name of the member state with the code ``state``, as pages show it."""
    from expert_platform.extensions import db
    from expert_platform.reference.models import MemberState

    with live.app.app_context():
        return db.session.scalar(select(MemberState.name).where(MemberState.code == state))


def the_other_delegations_endorse(live, proposal: StoredProposal, *, besides) -> None:
    """A current member of every delegation asked in the open round endorses, except the delegations of
    ``besides`` (whose positions the journey records in the browser)."""
    from expert_platform.extensions import db
    from expert_platform.proposals.models import Proposal
    from expert_platform.review import rounds

    ours = {person.id for person in besides}
    with live.app.app_context():
        stored = db.session.get(Proposal, proposal.id)
        for asked in rounds.open_round_of(stored).asked:
            members = rounds.current_members([asked.delegation_id])
            if not ours & {seat.user_id for seat in members}:
                rounds.record_position(actor=members[0].user, proposal=stored, position=Position.ENDORSE)
        db.session.commit()


def decided_at(live, proposal: StoredProposal):
    """When the proposal's decision record says the council decided (a datetime in UTC)."""
    from expert_platform.extensions import db
    from expert_platform.proposals.models import Proposal
    from expert_platform.review import rounds

    with live.app.app_context():
        return rounds.decision_record_of(db.session.get(Proposal, proposal.id)).decided_at


def mail_to(live, address: str, subject: str):
    """The latest message to ``address`` with ``subject``.

    The server writes a message once the response that sent it is closed (expert_platform/mail.py),
    after the browser has the page: poll the outbox briefly rather than sleep blindly.
    """
    deadline = time.monotonic() + MAIL_WAIT_SECONDS
    while True:
        messages = [message for message in live.mail_to(address) if message["Subject"] == subject]
        if messages:
            return messages[-1]
        if time.monotonic() > deadline:
            sent = [message["Subject"] for message in live.mail_to(address)]
            raise AssertionError(f"no message {subject!r} to {address}; it received {sent}")
        time.sleep(0.05)


def link_in(message, marker: str) -> str:
    """The first link in the message's text that contains ``marker`` (an absolute address)."""
    body = message.get_body(("plain",)).get_content()
    links = [word for word in body.split() if word.startswith("http") and marker in word]
    assert links, f"no link with {marker!r} in:\n{body}"
    return links[0]


def open_menu_link(page, name: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name=name, exact=True).click()


def flashes(page):
    """The messages at the top of the page (success, information and errors)."""
    return page.locator(".flashes > div")


def definitions(listing) -> dict[str, str]:
    """A description list (<dl>) as {term: description}, as the reader sees them."""
    from playwright.sync_api import expect

    expect(listing).to_be_visible()
    terms, descriptions = listing.locator(":scope > dt"), listing.locator(":scope > dd")
    return dict(zip(terms.all_inner_texts(), descriptions.all_inner_texts(), strict=True))
