"""Who sees a proposal (ARCHITECTURE.md section 5), proven with data that could leak.

A draft and a proposal returned for revision carry a unique marker in their title, summary, text,
keyword and annex name. To everyone but their co-authors (another expert of the same think tank, a
council member, the secretariat, a researcher, an anonymous visitor) every page, listing, download,
form and error page either does not exist (404), asks to sign in, or is refused, and the marker
appears in no response. Every route of the proposal and revision blueprints is requested, so a new
route cannot escape this test. A submitted proposal is seen by co-authors, council and secretariat
only; an endorsed one by everyone.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
from flask import current_app, request, request_finished
from sqlalchemy import func, select

from expert_platform.accounts.models import User
from expert_platform.enums import ProposalAction, ProposalState, Role
from expert_platform.experts import services as expert_services
from expert_platform.extensions import db
from expert_platform.proposals import annexes, services, translations, workflow
from expert_platform.proposals.models import Annex, Proposal, ProposalAuthor, ProposalEvent, ProposalTranslation
from tests.conftest import fetch_csrf_token, sign_in
from tests.journeys import take
from tests.proposals.revision_support import PDF

S = ProposalState
A = ProposalAction

LEAD = "lead author"
CO_AUTHOR = "co-author"
OTHER_EXPERT = "another expert of the same think tank"
COUNCIL_MEMBER = "council member"
SECRETARIAT = "secretariat"
RESEARCHER = "researcher"
ANONYMOUS = "anonymous visitor"

OUTSIDERS = (OTHER_EXPERT, COUNCIL_MEMBER, SECRETARIAT, RESEARCHER, ANONYMOUS)
#: Routes that send a signed-out visitor to the sign-in page before anything is loaded.
SIGN_IN_FIRST = frozenset({
    "proposals.mine", "proposals.register", "proposals.new", "proposals.act", "proposals.invite_coauthor",
    "proposals.remove_coauthor", "proposals.hand_lead", "proposals.answer_invitation",
    "review.start", "review.return_for_revision", "review.assign", "review.unassign", "review.save_review",
    "review.share", "review.unshare", "review.open_round", "review.record_position", "review.close_round",
})
#: A page with a form, for a CSRF token, for signed-in and anonymous visitors alike.
FORM_PAGE = "/thinktanks/apply"
MISSING_ID = 987_654


@dataclass
class Setting:
    """The people around one proposal, the proposal, its annex and its think tank."""

    people: dict[str, User | None]
    proposal_id: int
    reference: str | None
    annex_id: int
    think_tank_id: int
    coauthor_row_id: int
    marker: str


@pytest.fixture
def setting_in(make_user, make_think_tank, make_proposal):
    """A proposal brought to ``state`` through the workflow, the marker in everything its authors typed."""

    def build(state: ProposalState) -> Setting:
        marker = f"LEAKMARKER-{uuid.uuid4().hex}"
        people = {
            LEAD: make_user(roles=(Role.EXPERT,), display_name="Lena Lead"),
            CO_AUTHOR: make_user(roles=(Role.EXPERT,), display_name="Cora Coauthor"),
            OTHER_EXPERT: make_user(roles=(Role.EXPERT,), display_name="Otto Other"),
            COUNCIL_MEMBER: make_user(roles=(Role.COUNCIL_MEMBER,), display_name="Chen Council"),
            SECRETARIAT: make_user(roles=(Role.ADMIN,), display_name="Sara Secretariat"),
            RESEARCHER: make_user(roles=(Role.RESEARCHER,), display_name="Rui Researcher"),
            ANONYMOUS: None,
        }
        think_tank = make_think_tank(experts=[people[LEAD], people[CO_AUTHOR], people[OTHER_EXPERT]])
        for author in (people[LEAD], people[CO_AUTHOR]):
            public_profile(author)
        proposal = make_proposal(
            author=people[LEAD], coauthors=[people[CO_AUTHOR]], title=f"Title {marker}",
            summary=f"Summary {marker}", body=f"## Problem\n\nText {marker}", keywords=(marker.lower(),),
        )
        translations.save_translation(
            actor=people[LEAD], proposal=proposal, language="ru", opened_at_version=proposal.version,
            content=translations.TranslationContent(title=f"Перевод {marker}", summary=f"Резюме {marker}",
                                                    body=f"Текст {marker}", status="translation"),
        )
        annex = annexes.add_annex(actor=people[LEAD], proposal=proposal, stream=io.BytesIO(PDF),
                                  file_name=f"{marker}.pdf", folder=current_app.config["UPLOAD_DIR"],
                                  max_bytes=current_app.config["ANNEX_MAX_BYTES"])
        bring_to(state, proposal, people, marker)
        db.session.commit()
        coauthor_row = next(row for row in proposal.authors if row.user_id == people[CO_AUTHOR].id)
        return Setting(people=people, proposal_id=proposal.id, reference=proposal.reference, annex_id=annex.id,
                       think_tank_id=think_tank.id, coauthor_row_id=coauthor_row.id, marker=marker)

    return build


def public_profile(user: User) -> None:
    profile = expert_services.ensure_profile(user)
    expert_services.update_profile(
        actor=user, profile=profile, title="Hydrologist", affiliations="", biography="Rivers.", dimensions=[],
        keywords=[], languages=[], country_id=None, orcid=None, publication_links=[], visibility="public",
    )


def bring_to(state: ProposalState, proposal: Proposal, people: dict, marker: str) -> None:
    lead, secretariat = people[LEAD], people[SECRETARIAT]
    if state == S.DRAFT:
        return
    workflow.transition(proposal, A.SUBMIT, actor=lead)
    if state == S.CHANGES_REQUESTED:
        workflow.transition(proposal, A.RETURN_FOR_REVISION, actor=secretariat, note=f"Revise {marker}")
        revised = services.Content(
            title=f"Revised {marker}", summary=f"Summary {marker}", body=f"Revised text {marker}", language="en",
            dimensions=("environmental",), member_state_ids=(), keywords=(marker.lower(),),
        )
        services.save_content(actor=lead, proposal=proposal, content=revised, opened_at_version=proposal.version)
        return
    if state == S.SUBMITTED:
        return
    assert state == S.ENDORSED
    for action, actor in ((A.START_REVIEW, secretariat), (A.OPEN_CONSENSUS, secretariat),
                          (A.ENDORSE, workflow.SYSTEM)):
        take(proposal, action, actor)


# --- Visiting -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Visit:
    method: str
    path: str
    #: The status this visitor must get; None for pages outside the proposals that only must not fail or leak.
    expected: int | None
    response_status: int
    location: str
    headers: str
    body: str

    def shows(self, marker: str) -> bool:
        return marker.lower() in (self.headers + self.body).lower()


@dataclass
class Visitor:
    app: object
    user: User | None
    visits: list[Visit] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.client = self.app.test_client()
        if self.user is not None:
            response = sign_in(self.client, self.user.email)
            assert response.status_code == 302, response.get_data(as_text=True)

    def token(self) -> str:
        return fetch_csrf_token(self.client, FORM_PAGE)

    def get(self, path: str, expected: int | None, **kwargs) -> Visit:
        return self._record("GET", path, expected, self.client.get(path, **kwargs))

    def post(self, path: str, expected: int | None, data: dict | None = None, **kwargs) -> Visit:
        response = self.client.post(path, data={"csrf_token": self.token(), **(data or {})}, **kwargs)
        return self._record("POST", path, expected, response)

    def _record(self, method, path, expected, response) -> Visit:
        visit = Visit(method, path, expected, response.status_code, response.headers.get("Location", ""),
                      str(response.headers), response.get_data(as_text=True))
        self.visits.append(visit)
        return visit


@contextmanager
def endpoints_requested(app) -> Iterator[set[tuple[str, str]]]:
    """The (endpoint, method) of every request the app answers inside the block."""
    requested: set[tuple[str, str]] = set()

    def record(sender, response, **extra):
        if request.url_rule is not None:
            requested.add((request.url_rule.endpoint, request.method))

    with request_finished.connected_to(record, app):
        yield requested


def proposal_routes(app) -> set[tuple[str, str]]:
    """Every (endpoint, method) of the proposal and revision blueprints, and every route under /proposals."""
    return {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.split(".")[0] in ("proposals", "revisions")
        or rule.rule.startswith(("/proposals", "/revisions"))
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


def signed_out_or(status: int, visitor_is_anonymous: bool, endpoint: str) -> int:
    return 302 if visitor_is_anonymous and endpoint in SIGN_IN_FIRST else status


def visit_everything_about(visitor: Visitor, setting: Setting, role: str) -> None:
    """Every proposal and revision route about the hidden proposal, every listing that could show it,
    every page of the site that needs no or only known arguments, and error pages."""
    anonymous = role == ANONYMOUS
    hidden = setting.proposal_id
    base = f"/proposals/{hidden}"

    def status(endpoint: str, otherwise: int = 404) -> int:
        return signed_out_or(otherwise, anonymous, endpoint)

    # The proposal, its permalink, its form, revisions, diffs and annexes.
    visitor.get(base, 404)
    visitor.get(f"{base}?text=ru", 404)
    visitor.get(base, 404, headers={"Accept": "application/json"})
    visitor.get(f"/proposals/{setting.reference or 'EP-2000-9999'}", 404)
    # Its citations, by reference: only an endorsed proposal has any.
    visitor.get(f"/proposals/{setting.reference or 'EP-2000-9999'}/cite.bib", 404)
    visitor.get(f"/proposals/{setting.reference or 'EP-2000-9999'}/cite.ris", 404)
    visitor.get(f"{base}/edit", status("proposals.edit"))
    visitor.get(f"{base}/translations/ru", 404)
    visitor.get(f"{base}/translations/ru/remove", 404)
    visitor.get(f"{base}/revisions/1", 404)
    visitor.get(f"{base}/diff", 404)
    visitor.get(f"{base}/diff?from=1&to=current", 404)
    visitor.get(f"{base}/annexes", 404)
    visitor.get(f"{base}/annexes/{setting.annex_id}", 404)
    # Every form and button about it.
    visitor.post(f"{base}/edit", status("proposals.edit"), {
        "title": "Taken over", "summary": "", "body": "Taken over.", "dimensions": ["human"], "keywords": "",
        "language": "en", "opened_at_version": "1",
    })
    visitor.post(f"{base}/translations/ru", 404, {
        "title": "Taken over", "summary": "", "body": "Taken over.", "status": "translation", "opened_at_version": "2",
    })
    visitor.post(f"{base}/translations/ru/remove", 404)
    for action in A:
        visitor.post(f"{base}/actions/{action.value}", status("proposals.act"), {"note": ""})
    visitor.post(f"{base}/coauthors", status("proposals.invite_coauthor"), {"email": "intruder@example.org"})
    visitor.post(f"{base}/coauthors/{setting.coauthor_row_id}/remove", status("proposals.remove_coauthor"))
    visitor.post(f"{base}/coauthors/{setting.coauthor_row_id}/lead", status("proposals.hand_lead"))
    visitor.post(f"{base}/invitation", status("proposals.answer_invitation"), {"answer": "accept"})
    visitor.post(f"{base}/annexes", 404, {"file": (io.BytesIO(PDF), "intruder.pdf")},
                 content_type="multipart/form-data")
    visitor.post(f"{base}/annexes/{setting.annex_id}/remove", 404)
    # The council's review of it: the workspace, the discussion, and every form and button there.
    visitor.get(f"{base}/review", 404)
    visitor.get(f"{base}/discussion", 404)
    for path, endpoint, data in (
        (f"{base}/review/start", "review.start", {}),
        (f"{base}/review/return", "review.return_for_revision", {"note": "Taken over"}),
        (f"{base}/rapporteurs", "review.assign", {"user_id": str(setting.people[LEAD].id), "waiver_reason": "x"}),
        (f"{base}/rapporteurs/1/remove", "review.unassign", {}),
        (f"{base}/reviews", "review.save_review", {"recommendation": "endorse", "assessment": "Taken over"}),
        (f"{base}/reviews/1/share", "review.share", {"with_name": "y"}),
        (f"{base}/reviews/1/unshare", "review.unshare", {}),
        (f"{base}/rounds", "review.open_round", {"kind": "silence", "deadline": "2030-01-01T10:00"}),
        (f"{base}/position", "review.record_position", {"position": "object", "reason": "Taken over"}),
        (f"{base}/rounds/close", "review.close_round", {"note": "Taken over"}),
        (f"{base}/comments", "discussion.add", {"body": "Taken over", "visibility": "authors"}),
    ):
        visitor.post(path, status(endpoint), data)
    # Starting a proposal of one's own, and the listings.
    may_write = role == OTHER_EXPERT
    visitor.get("/proposals/new", status("proposals.new", 200 if may_write else 403))
    visitor.post("/proposals/new", status("proposals.new", 200 if may_write else 403), {"title": ""})
    visitor.get("/proposals/mine", status("proposals.mine", 200))
    visitor.get("/proposals", status("proposals.register", 200))
    # (The search box repeats what was typed: the marker's common start finds it, were it listed.)
    visitor.get("/proposals?q=LEAKMARKER", status("proposals.register", 200))
    visitor.get(f"/thinktanks/{setting.think_tank_id}/proposals", 200)
    visitor.get(f"/thinktanks/{setting.think_tank_id}", 200)
    visitor.get(f"/experts/{setting.people[LEAD].id}", 200)
    visitor.get(f"/experts/{setting.people[CO_AUTHOR].id}", 200)
    # Error pages.
    visitor.get(f"/proposals/{MISSING_ID}", 404)
    visitor.get(f"/proposals/{MISSING_ID}/revisions/1", 404)
    visitor.get("/no-such-page", 404)
    # Every other page the site has that needs no argument, or only ones this setting knows.
    known = {"proposal_id": hidden, "think_tank_id": setting.think_tank_id, "user_id": setting.people[LEAD].id}
    for rule in visitor.app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static" or not set(rule.arguments) <= set(known):
            continue
        path = rule.build({name: known[name] for name in rule.arguments}, append_unknown=False)[1]
        if not path.startswith(("/proposals", "/revisions")):
            visitor.get(path, None)


def what_is_stored(proposal_id: int) -> tuple:
    """Everything an outsider's request could have changed about the proposal."""
    db.session.expire_all()
    proposal = db.session.get(Proposal, proposal_id)
    events = db.session.scalar(select(func.count(ProposalEvent.id)).where(ProposalEvent.proposal_id == proposal_id))
    annex_rows = db.session.execute(
        select(Annex.id, Annex.removed_at).where(Annex.proposal_id == proposal_id).order_by(Annex.id)
    ).all()
    authors = db.session.execute(
        select(ProposalAuthor.user_id, ProposalAuthor.is_lead, ProposalAuthor.status)
        .where(ProposalAuthor.proposal_id == proposal_id).order_by(ProposalAuthor.id)
    ).all()
    translated = db.session.execute(
        select(ProposalTranslation.language, ProposalTranslation.status, ProposalTranslation.title,
               ProposalTranslation.body).where(ProposalTranslation.proposal_id == proposal_id)
    ).all()
    return (proposal.state, proposal.version, proposal.title, proposal.body, events, annex_rows, authors, translated,
            db.session.scalar(select(func.count(Proposal.id))))


# --- Drafts and proposals returned for revision -------------------------------------------------


@pytest.mark.parametrize("state", [S.DRAFT, S.CHANGES_REQUESTED], ids=["draft", "changes_requested"])
@pytest.mark.parametrize("role", OUTSIDERS, ids=[role.replace(" ", "_") for role in OUTSIDERS])
def test_a_proposal_only_its_co_authors_see_leaks_to_nobody_else_on_any_page(app, setting_in, state, role):
    setting = setting_in(state)
    before = what_is_stored(setting.proposal_id)
    visitor = Visitor(app, setting.people[role])

    with endpoints_requested(app) as requested:
        visit_everything_about(visitor, setting, role)

    checked = [visit for visit in visitor.visits if visit.expected is not None]
    assert [(visit.method, visit.path, visit.response_status) for visit in checked] == [
        (visit.method, visit.path, visit.expected) for visit in checked
    ]
    assert [(visit.method, visit.path, visit.response_status) for visit in visitor.visits
            if visit.response_status >= 500] == []
    assert [(visit.method, visit.path) for visit in visitor.visits if visit.shows(setting.marker)] == []
    assert [(visit.method, visit.path, visit.location) for visit in visitor.visits
            if visit.expected == 302 and not visit.location.startswith("/login?next=")] == []
    assert proposal_routes(app) - requested == set()
    assert what_is_stored(setting.proposal_id) == before


@pytest.mark.parametrize("state", [S.DRAFT, S.CHANGES_REQUESTED], ids=["draft", "changes_requested"])
@pytest.mark.parametrize("role", [LEAD, CO_AUTHOR], ids=["lead", "co-author"])
def test_its_co_authors_see_everything_the_marker_is_in(app, setting_in, state, role):
    setting = setting_in(state)
    visitor = Visitor(app, setting.people[role])
    base = f"/proposals/{setting.proposal_id}"

    pages = [base, f"{base}?text=ru", f"{base}/edit", f"{base}/translations/ru", f"{base}/translations/ru/remove",
             f"{base}/annexes", f"{base}/diff", "/proposals/mine", "/proposals?q=LEAKMARKER"]
    if setting.reference:
        pages += [f"/proposals/{setting.reference}", f"{base}/revisions/1"]
    visits = [visitor.get(path, 200) for path in pages]
    download = visitor.get(f"{base}/annexes/{setting.annex_id}", 200)

    assert [(visit.path, visit.response_status) for visit in [*visits, download]] == [
        (visit.path, 200) for visit in [*visits, download]
    ]
    assert [visit.path for visit in [*visits, download] if not visit.shows(setting.marker)] == []
    assert download.body.encode("latin-1") == PDF


# --- Submitted and endorsed proposals -----------------------------------------------------------

EVERYONE = (LEAD, CO_AUTHOR, OTHER_EXPERT, COUNCIL_MEMBER, SECRETARIAT, RESEARCHER, ANONYMOUS)
SEEN_BY = {
    S.SUBMITTED: frozenset({LEAD, CO_AUTHOR, COUNCIL_MEMBER, SECRETARIAT}),
    S.ENDORSED: frozenset(EVERYONE),
}


@pytest.mark.parametrize("state", [S.SUBMITTED, S.ENDORSED], ids=["submitted", "endorsed"])
@pytest.mark.parametrize("role", EVERYONE, ids=[role.replace(" ", "_") for role in EVERYONE])
def test_a_submitted_proposal_is_seen_by_authors_council_and_secretariat_and_an_endorsed_one_by_everyone(
    app, setting_in, state, role
):
    setting = setting_in(state)
    visitor = Visitor(app, setting.people[role])
    base = f"/proposals/{setting.proposal_id}"
    sees = role in SEEN_BY[state]

    pages = [base, f"{base}?text=ru", f"/proposals/{setting.reference}", f"{base}/revisions/1?text=ru", f"{base}/diff",
             f"{base}/annexes"]
    visits = [visitor.get(path, 200 if sees else 404) for path in pages]
    download = visitor.get(f"{base}/annexes/{setting.annex_id}", 200 if sees else 404)

    assert [(visit.path, visit.response_status) for visit in [*visits, download]] == [
        (visit.path, 200 if sees else 404) for visit in [*visits, download]
    ]
    assert [visit.path for visit in [*visits, download] if visit.shows(setting.marker) != sees] == []
    # (The body is read as text: a PDF's bytes are compared through latin-1, which maps each byte to itself.)
    assert (download.body == PDF.decode("latin-1")) == sees
    # The register lists it to the same people (anonymous visitors are asked to sign in first).
    listed = visitor.get("/proposals?q=LEAKMARKER", None)
    expected = (302, False) if role == ANONYMOUS else (200, sees)
    assert (listed.response_status, listed.shows(setting.marker)) == expected


DELIBERATE = frozenset({COUNCIL_MEMBER, SECRETARIAT})
DISCUSS = DELIBERATE | {LEAD, CO_AUTHOR}


@pytest.mark.parametrize("state", [S.SUBMITTED, S.ENDORSED], ids=["submitted", "endorsed"])
@pytest.mark.parametrize("role", EVERYONE, ids=[role.replace(" ", "_") for role in EVERYONE])
def test_the_review_workspace_is_the_councils_and_the_discussion_also_its_authors(app, setting_in, state, role):
    setting = setting_in(state)
    visitor = Visitor(app, setting.people[role])
    base = f"/proposals/{setting.proposal_id}"
    sees = role in SEEN_BY[state]
    workspace = 200 if role in DELIBERATE else 403 if sees else 404
    discussion = 200 if role in DISCUSS else 403 if sees else 404

    visits = [visitor.get(f"{base}/review", workspace), visitor.get(f"{base}/discussion", discussion)]

    assert [(visit.path, visit.response_status) for visit in visits] == [
        (f"{base}/review", workspace), (f"{base}/discussion", discussion)
    ]
    assert [visit.path for visit in visits if visit.response_status != 200 and visit.shows(setting.marker)] == []
