"""The main pages of the platform, by who looks at them: a visitor (signed out) and each demo account
of ``DEMO_ACCOUNTS``. The accessibility and layout checks open them, and ``make screenshots`` can.

Pages of demo proposals are found through the database by the proposal's state (and, where a role
needs it, by the demo person's part in it), never by a number: the demo world (``flask seed-demo``) is
seeded before any journey runs, so the lowest id in a state is the demo proposal in that state.
"""

from __future__ import annotations

from sqlalchemy import select

from tests.browser.conftest import DEMO_ACCOUNTS, sign_in

#: Who looks at a page without signing in.
VISITOR = "visitor"
#: Everyone the main pages are listed for: the visitor, then each demo role.
VIEWERS = (VISITOR, *DEMO_ACCOUNTS)
#: The working languages the page checks run in: English, and Russian (whose words are longer).
LANGUAGES = ("en", "ru")
#: A word of the demo world's endorsed proposals, so that the archive shows hits, highlights and facets.
ARCHIVE_QUERY = "national"


def sign_in_as(page, viewer: str) -> None:
    """Sign ``viewer``'s demo account in through the login form; a visitor stays signed out."""
    if viewer != VISITOR:
        sign_in(page, *DEMO_ACCOUNTS[viewer])


def speak(page, live, language: str) -> None:
    """From now on the browser asks for pages in ``language``, as the switcher's ``locale`` cookie does
    (the demo accounts save no language of their own, so the cookie decides for them too)."""
    page.context.add_cookies([{"name": "locale", "value": language, "url": live.url}])


def open_page(page, path: str, language: str | None = None) -> None:
    """Go to ``path`` and insist that it answers 200 (and, given ``language``, speaks it: ``<html lang>``),
    so that a check never passes on an error page or in the wrong language."""
    response = page.goto(path)
    status = response and response.status
    assert status == 200, f"{path} answered {status}"
    if language is not None:
        spoken = page.get_attribute("html", "lang")
        assert spoken == language, f"{path} is in {spoken!r}, not {language!r}"


def main_pages(live) -> dict[str, list[tuple[str, str]]]:
    """For each viewer of VIEWERS, the (name, path) of every main page that viewer uses, in menu order."""
    with live.app.app_context():
        world = _DemoWorld()
        endorsed = f"/proposals/{world.proposal('endorsed').reference}"
        in_review = world.proposal("in_review").id
        submitted = world.proposal("submitted").id
        consensus = world.proposal("consensus").id
        not_endorsed = world.proposal("not_endorsed").id
        returned = world.proposal("changes_requested", lead="expert@demo.example").id
        coauthored = world.proposal("in_review", coauthor="expert@demo.example").id
        to_review = world.proposal("in_review", rapporteur="council@demo.example").id
        managed_think_tank = world.think_tank_managed_by("manager@demo.example")
        expert_profile = world.user_id("expert@demo.example")
        managed_account = world.user_id("researcher@demo.example")
    signed_in = [("notifications", "/notifications"), ("account", "/account")]
    return {
        VISITOR: [
            ("home", "/"),
            ("archive-search", f"/archive?q={ARCHIVE_QUERY}"),
            ("proposal-endorsed", endorsed),
            ("think-tanks", "/thinktanks"),
            ("think-tank", f"/thinktanks/{managed_think_tank}"),
            ("experts", "/experts"),
            ("expert-profile", f"/experts/{expert_profile}"),
            ("council", "/council"),
            ("login", "/login"),
            ("signup", "/signup"),
            ("apply", "/thinktanks/apply"),
            ("reset-password", "/reset-password"),
        ],
        "secretariat": [
            ("home", "/"),
            ("council-dashboard", "/council/review"),
            ("proposals", "/proposals"),
            ("secretariat-dashboard", "/secretariat"),
            ("applications", "/secretariat/applications"),
            ("council-seats", "/secretariat/council"),
            ("member-states", "/secretariat/member-states"),
            ("audit", "/secretariat/audit"),
            ("users", "/admin/users"),
            ("user", f"/admin/users/{managed_account}"),
            ("workspace-submitted", f"/proposals/{submitted}/review"),
            ("proposal-in-review", f"/proposals/{in_review}"),
            ("workspace-in-review", f"/proposals/{in_review}/review"),
            ("discussion", f"/proposals/{in_review}/discussion"),
            ("diff", f"/proposals/{in_review}/diff"),
            ("workspace-consensus", f"/proposals/{consensus}/review"),
            ("proposal-not-endorsed", f"/proposals/{not_endorsed}"),
            *signed_in,
        ],
        "manager": [
            ("home", "/"),
            ("my-proposals", "/proposals/mine"),
            ("proposal-form", "/proposals/new"),
            ("think-tank-members", f"/thinktanks/{managed_think_tank}/members"),
            ("proposal-not-endorsed", f"/proposals/{not_endorsed}"),
            ("profile-form", "/account/profile"),
            *signed_in,
        ],
        "expert": [
            ("home", "/"),
            ("my-proposals", "/proposals/mine"),
            ("proposal-form", "/proposals/new"),
            ("proposal-returned", f"/proposals/{returned}"),
            ("proposal-edit", f"/proposals/{returned}/edit"),
            ("proposal-in-review", f"/proposals/{coauthored}"),
            ("discussion", f"/proposals/{coauthored}/discussion"),
            ("revision", f"/proposals/{coauthored}/revisions/1"),
            ("profile-form", "/account/profile"),
            *signed_in,
        ],
        "council": [
            ("home", "/"),
            ("council-dashboard", "/council/review"),
            ("proposals", "/proposals"),
            ("workspace-review-form", f"/proposals/{to_review}/review"),
            ("workspace-position-form", f"/proposals/{consensus}/review"),
            ("discussion", f"/proposals/{to_review}/discussion"),
            ("proposal-endorsed", endorsed),
            *signed_in,
        ],
        "researcher": [
            ("home", "/"),
            ("archive-search", f"/archive?q={ARCHIVE_QUERY}"),
            ("proposal-endorsed", endorsed),
            ("password-form", "/account/password"),
            *signed_in,
        ],
    }


class _DemoWorld:
    """Look-ups in the demo world, inside an app context of ``live.app``."""

    def __init__(self):
        from expert_platform.extensions import db

        self.session = db.session

    def user_id(self, email: str) -> int:
        from expert_platform.accounts.models import User

        return self.session.scalar(select(User.id).where(User.email == email))

    def proposal(self, state: str, *, lead: str | None = None, coauthor: str | None = None,
                 rapporteur: str | None = None):
        """The demo proposal in ``state`` (the lowest id), led or co-authored by, or with as a current
        rapporteur, the demo person of that email when one is given."""
        from expert_platform.enums import AuthorStatus
        from expert_platform.proposals.models import Proposal, ProposalAuthor
        from expert_platform.review.models import RapporteurAssignment

        query = select(Proposal).where(Proposal.state == state).order_by(Proposal.id).limit(1)
        if lead or coauthor:
            query = query.join(ProposalAuthor, ProposalAuthor.proposal_id == Proposal.id).where(
                ProposalAuthor.user_id == self.user_id(lead or coauthor),
                ProposalAuthor.status == AuthorStatus.ACCEPTED)
            if lead:
                query = query.where(ProposalAuthor.is_lead)
        if rapporteur:
            query = query.join(RapporteurAssignment, RapporteurAssignment.proposal_id == Proposal.id).where(
                RapporteurAssignment.user_id == self.user_id(rapporteur), RapporteurAssignment.removed_at.is_(None))
        proposal = self.session.scalar(query)
        if proposal is None:
            raise LookupError(f"the demo world has no {state} proposal for {lead or coauthor or rapporteur}")
        return proposal

    def think_tank_managed_by(self, email: str) -> int:
        from expert_platform.enums import MembershipRole
        from expert_platform.thinktanks.models import Membership

        return self.session.scalar(select(Membership.think_tank_id).where(
            Membership.user_id == self.user_id(email), Membership.role == MembershipRole.MANAGER,
            Membership.is_active))
