"""A draft withdrawn before submission stays private; the authors' working events stay with them."""

from __future__ import annotations

from expert_platform.enums import Role
from expert_platform.proposals import workflow
from tests.journeys import take


def test_a_draft_withdrawn_before_submission_is_seen_by_its_authors_only(app, db, client, make_proposal,
                                                                          make_user, login):
    proposal = make_proposal(title="Never sent LEAKMARKER")
    author = proposal.coauthors[0].user
    workflow.transition(proposal, "withdraw", actor=author)
    db.session.commit()

    for role in (Role.ADMIN, Role.COUNCIL_MEMBER):
        viewer = app.test_client()
        from tests.conftest import sign_in

        sign_in(viewer, make_user(roles=(role,)).email)
        response = viewer.get(f"/proposals/{proposal.id}")
        assert response.status_code == 404
        assert "LEAKMARKER" not in response.get_data(as_text=True)
    login(author)
    assert client.get(f"/proposals/{proposal.id}").status_code == 200


def test_readers_of_an_endorsed_proposal_see_its_workflow_but_not_its_authors_working_events(
    db, client, make_proposal, make_user
):
    declining = make_user(display_name="Declining Colleague", roles=(Role.EXPERT,))
    proposal = make_proposal()
    lead = proposal.coauthors[0].user
    from expert_platform.proposals import coauthors

    coauthors.invite(actor=lead, proposal=proposal, user=declining)
    coauthors.respond(actor=declining, proposal=proposal, accept=False)
    secretariat = make_user(roles=(Role.ADMIN,))
    workflow.transition(proposal, "submit", actor=lead)
    workflow.transition(proposal, "start_review", actor=secretariat)
    take(proposal, "open_consensus", secretariat)
    take(proposal, "endorse", workflow.SYSTEM)
    db.session.commit()

    page = client.get(f"/proposals/{proposal.id}").get_data(as_text=True)

    assert "Declining Colleague" not in page
    assert proposal.reference in page
