"""Helpers shared by the revision, diff and annex tests: the people around a proposal, reaching
states through ``workflow.transition()``, saving the working copy, and uploading annexes."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pytest

from expert_platform.accounts.models import User
from expert_platform.enums import ProposalAction, Role
from expert_platform.extensions import db
from expert_platform.proposals import services, workflow
from expert_platform.proposals.models import Proposal
from tests.conftest import CSRF_INPUT, fetch_csrf_token, sign_in
from tests.html_tree import parse_html
from tests.journeys import take

#: A minimal but real PDF document.
PDF = (
    b"%PDF-1.4\n"
    b"1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
    b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
    b"trailer << /Root 1 0 R >>\n"
    b"%%EOF\n"
)


@dataclass
class People:
    lead: User
    coauthor: User
    other_expert: User
    council: User
    secretariat: User
    researcher: User


@pytest.fixture
def people(make_user, make_think_tank) -> People:
    lead = make_user(email="lead@example.org", display_name="Lena Lead", roles=(Role.EXPERT,))
    coauthor = make_user(email="co@example.org", display_name="Cora Coauthor", roles=(Role.EXPERT,))
    other_expert = make_user(email="other@example.org", display_name="Otto Other", roles=(Role.EXPERT,))
    make_think_tank(name="Steppe Water Institute", experts=[lead, coauthor, other_expert])
    return People(
        lead=lead,
        coauthor=coauthor,
        other_expert=other_expert,
        council=make_user(email="council@example.org", display_name="Chen Council", roles=(Role.COUNCIL_MEMBER,)),
        secretariat=make_user(email="admin@example.org", display_name="Sara Secretariat", roles=(Role.ADMIN,)),
        researcher=make_user(email="researcher@example.org", display_name="Rui Researcher", roles=(Role.RESEARCHER,)),
    )


@pytest.fixture
def proposal(make_proposal, people) -> Proposal:
    """A complete draft by the lead author, with one co-author."""
    return make_proposal(
        author=people.lead, coauthors=[people.coauthor], title="Shared water gauges",
        summary="Gauges on shared rivers.", body="## Problem\n\nFloods arrive without warning.",
        keywords=("water", "floods"), dimensions=("environmental",),
    )


@pytest.fixture
def client_of(app):
    """A test client of its own, signed in as ``user`` (anonymous for None)."""

    def make(user: User | None):
        client = app.test_client()
        if user is not None:
            response = sign_in(client, user.email)
            assert response.status_code == 302
        return client

    return make


def act(proposal: Proposal, action: ProposalAction, actor, note: str | None = None) -> None:
    """Take ``action`` through the workflow and commit, as the request would."""
    take(proposal, action, actor, note)
    db.session.commit()


def submit(proposal: Proposal, people: People) -> None:
    act(proposal, ProposalAction.SUBMIT, people.lead)


def return_for_revision(proposal: Proposal, people: People) -> None:
    act(proposal, ProposalAction.RETURN_FOR_REVISION, people.secretariat, note="Name the rivers.")


def resubmit(proposal: Proposal, people: People) -> None:
    act(proposal, ProposalAction.RESUBMIT, people.coauthor)


def endorse(proposal: Proposal, people: People) -> None:
    """From submitted: the secretariat starts the review and opens consensus, the system endorses."""
    act(proposal, ProposalAction.START_REVIEW, people.secretariat)
    act(proposal, ProposalAction.OPEN_CONSENSUS, people.secretariat)
    act(proposal, ProposalAction.ENDORSE, workflow.SYSTEM)


def save(proposal: Proposal, author: User, **changes) -> None:
    """Save the working copy with ``changes`` (title, summary, body, keywords...) and commit."""
    fields = {
        "title": proposal.title,
        "summary": proposal.summary,
        "body": proposal.body,
        "language": proposal.language,
        "dimensions": [row.dimension.value for row in proposal.dimensions],
        "member_state_ids": [row.member_state_id for row in proposal.member_states],
        "keywords": [row.keyword for row in proposal.keywords],
        **changes,
    }
    services.save_content(actor=author, proposal=proposal, content=services.Content(**fields),
                          opened_at_version=proposal.version)
    db.session.commit()


def csrf_of(client) -> str:
    """A CSRF token of ``client``'s session: from the sign-out form of the home page, else the login form."""
    match = CSRF_INPUT.search(client.get("/").get_data(as_text=True))
    if match:
        return match.group(1) or match.group(2)
    return fetch_csrf_token(client, "/login")


def upload(client, proposal_id: int, content: bytes = PDF, file_name: str = "report.pdf", **extra):
    """POST a file to the annex upload route, as the form on the proposal page does."""
    data = {"csrf_token": csrf_of(client), "file": (io.BytesIO(content), file_name), **extra}
    return client.post(f"/proposals/{proposal_id}/annexes", data=data, content_type="multipart/form-data")


def remove(client, proposal_id: int, annex_id: int, **extra):
    data = {"csrf_token": csrf_of(client), **extra}
    return client.post(f"/proposals/{proposal_id}/annexes/{annex_id}/remove", data=data)


class _Rendered:
    """A rendered template in the shape ``parse_html`` reads (a response's ``get_data``)."""

    def __init__(self, html: str) -> None:
        self.html = html

    def get_data(self, as_text: bool = False) -> str:
        return self.html


def parse_rendered(html: str):
    """The tree of a template rendered outside a request to the app (a partial)."""
    return parse_html(_Rendered(html))
