"""The council's review through ``review.services``: conflicts of interest, rapporteurs, reviews,
sharing, and the discussion, with exact results and the audit records they leave.

The proposal is written by an expert of the Aral Institute (a think tank of Kazakhstan); the council
has a head for China, India and the Russian Federation, and the people below are appointed where a
test needs a conflict of interest.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from expert_platform.audit.models import AuditRecord
from expert_platform.council import services as council_services
from expert_platform.enums import (
    CommentVisibility,
    DelegationRole,
    NotificationKind,
    ProposalAction,
    ProposalState,
    Recommendation,
    Role,
)
from expert_platform.errors import NotAllowed, ValidationFailed
from expert_platform.extensions import db as _db
from expert_platform.notifications.models import Notification
from expert_platform.proposals import workflow
from expert_platform.review import services
from expert_platform.review.models import ASSESSMENT_MAX_BYTES, Comment, RapporteurAssignment, Review
from expert_platform.thinktanks.models import Membership
from tests.journeys import every_delegation_answers, open_consensus

COUNCIL_ONLY = "COUNCIL-ONLY-7f3a: the budget line looks inflated."
NOT_YOURS_TO_COMMENT = "You may not comment on this proposal."
ONLY_RAPPORTEURS = "Only a rapporteur of this proposal writes its review, while it is before the council."
ONLY_SECRETARIAT_ASSIGNS = "Only the secretariat assigns rapporteurs, while the proposal is submitted or in review."
CO_AUTHOR_REASON = "is an author of the proposal"
MEMBER_REASON = "belongs to Aral Institute, an authoring think tank"
DELEGATION_REASON = "sits in the delegation of Kazakhstan, the member state of an authoring think tank"


@pytest.fixture
def council(make_council):
    return make_council(("CN", "IN", "RU"))


@pytest.fixture
def author(make_user):
    return make_user(display_name="Lead Author", roles=(Role.EXPERT,))


@pytest.fixture
def coauthor(make_user):
    return make_user(display_name="Co-author Delegate", roles=(Role.EXPERT,))


@pytest.fixture
def fellow(make_user):
    return make_user(display_name="Institute Fellow", roles=(Role.EXPERT,))


@pytest.fixture
def think_tank(make_think_tank, author, fellow):
    return make_think_tank(name="Aral Institute", state="KZ", experts=[author, fellow])


@pytest.fixture
def proposal(make_proposal, bring_to, think_tank, author, coauthor, council):
    """Submitted by the Lead Author (Aral Institute) with the Co-author Delegate."""
    return bring_to(make_proposal(author=author, coauthors=[coauthor], title="Shared water gauges"),
                    ProposalState.SUBMITTED)


@pytest.fixture
def conflicted(proposal, secretariat, states, coauthor, fellow, make_user):
    """Three council members with one conflict each: {reason: person}."""
    kazakh = make_user(display_name="Kazakh Delegate")
    council_services.appoint(actor=secretariat, user=kazakh, member_state=states["KZ"], role=DelegationRole.HEAD)
    council_services.appoint(actor=secretariat, user=fellow, member_state=states["IN"],
                             role=DelegationRole.ALTERNATE)
    council_services.appoint(actor=secretariat, user=coauthor, member_state=states["RU"],
                             role=DelegationRole.ALTERNATE)
    _db.session.commit()
    return {CO_AUTHOR_REASON: coauthor, MEMBER_REASON: fellow, DELEGATION_REASON: kazakh}


def audit_trail() -> list[tuple[str, str, int | None, dict]]:
    """The review's audit records, oldest first: (action, object type, object id, details)."""
    return [
        (entry.action, entry.object_type, entry.object_id, entry.details)
        for entry in _db.session.scalars(
            select(AuditRecord).where(AuditRecord.action.like("review.%")).order_by(AuditRecord.id)
        )
    ]


def notified(kind: NotificationKind) -> list[tuple[int, dict]]:
    return sorted(
        (row.user_id, row.params)
        for row in _db.session.scalars(select(Notification).where(Notification.kind == kind))
    )


def count(model) -> int:
    return _db.session.scalar(select(func.count()).select_from(model))


def start_review(proposal, secretariat):
    services.start_review(actor=secretariat, proposal=proposal)
    _db.session.commit()
    return proposal


# --- conflicts of interest ----------------------------------------------------------------------


def test_every_current_council_member_is_a_candidate_with_the_conflicts_found(proposal, council, conflicted):
    candidates = services.candidates_for(proposal)

    assert [(candidate.user.display_name, candidate.conflicts, candidate.is_assigned) for candidate in candidates] == [
        ("Co-author Delegate", [CO_AUTHOR_REASON], False),
        ("Delegate CN 1", [], False),
        ("Delegate IN 2", [], False),
        ("Delegate RU 3", [], False),
        ("Institute Fellow", [MEMBER_REASON], False),
        ("Kazakh Delegate", [DELEGATION_REASON], False),
    ]


@pytest.mark.parametrize("reason", [CO_AUTHOR_REASON, MEMBER_REASON, DELEGATION_REASON],
                         ids=["co-author", "member of an authoring think tank", "delegation of its member state"])
def test_each_reason_of_conflict_is_found_alone(proposal, conflicted, reason):
    person = conflicted[reason]
    seat = council_services.current_seat_of(person)
    memberships = list(_db.session.scalars(select(Membership).where(Membership.user_id == person.id)))

    assert services.conflicts_of(proposal=proposal, user=person, seat=seat, memberships=memberships) == [reason]


def test_a_council_member_unrelated_to_the_authors_has_no_conflict(proposal, council):
    seat = council_services.current_seat_of(council["CN"])

    assert services.conflicts_of(proposal=proposal, user=council["CN"], seat=seat, memberships=[]) == []


def test_a_membership_that_ended_is_no_conflict(proposal, conflicted):
    fellow = conflicted[MEMBER_REASON]
    membership = _db.session.scalar(select(Membership).where(Membership.user_id == fellow.id))
    membership.is_active = False

    assert services.conflicts_of(proposal=proposal, user=fellow, seat=council_services.current_seat_of(fellow),
                                 memberships=[membership]) == []


# --- assigning rapporteurs ----------------------------------------------------------------------


@pytest.mark.parametrize("waiver", [None, "", "   "], ids=["none", "empty", "blank"])
def test_a_conflicted_member_is_not_assigned_without_a_waiver(proposal, conflicted, secretariat, waiver):
    kazakh = conflicted[DELEGATION_REASON]

    with pytest.raises(ValidationFailed) as refused:
        services.assign_rapporteur(actor=secretariat, proposal=proposal, user=kazakh, waiver_reason=waiver)

    assert (refused.value.field, refused.value.message) == (
        "waiver_reason",
        f"Kazakh Delegate has a conflict of interest: {DELEGATION_REASON}. "
        "Record a waiver with a reason to assign them anyway.",
    )
    assert (count(RapporteurAssignment), audit_trail(), notified(NotificationKind.RAPPORTEUR_ASSIGNED)) == (0, [], [])


def test_a_conflicted_member_is_assigned_with_a_waiver_kept_with_the_conflicts(proposal, conflicted, secretariat):
    kazakh = conflicted[DELEGATION_REASON]

    assignment = services.assign_rapporteur(actor=secretariat, proposal=proposal, user=kazakh,
                                            waiver_reason="  The only hydrologist on the council.  ")
    _db.session.commit()

    assert (assignment.number, assignment.has_conflict, assignment.conflicts, assignment.waiver_reason,
            assignment.assigned_by_id) == (
        1, True, [DELEGATION_REASON], "The only hydrologist on the council.", secretariat.id
    )
    assert audit_trail() == [
        ("review.rapporteur_assigned", "rapporteur_assignment", assignment.id,
         {"proposal": proposal.reference, "conflicts": [DELEGATION_REASON],
          "waiver": "The only hydrologist on the council."}),
    ]
    summary = _db.session.scalar(select(AuditRecord.summary).where(AuditRecord.action == "review.rapporteur_assigned"))
    assert summary == f"Kazakh Delegate made rapporteur 1 of {proposal.reference} with a waiver"
    assert notified(NotificationKind.RAPPORTEUR_ASSIGNED) == [(kazakh.id, {})]


def test_a_waiver_longer_than_the_limit_is_refused(proposal, conflicted, secretariat):
    with pytest.raises(ValidationFailed) as refused:
        services.assign_rapporteur(actor=secretariat, proposal=proposal, user=conflicted[MEMBER_REASON],
                                   waiver_reason="w" * 2001)

    assert (refused.value.field, refused.value.message) == ("waiver_reason", "Use at most 2000 characters.")
    assert count(RapporteurAssignment) == 0


def test_rapporteurs_are_numbered_in_order_and_a_number_is_never_reused(proposal, council, secretariat):
    first = services.assign_rapporteur(actor=secretariat, proposal=proposal, user=council["CN"],
                                       waiver_reason="Not needed.")
    second = services.assign_rapporteur(actor=secretariat, proposal=proposal, user=council["IN"])
    services.remove_rapporteur(actor=secretariat, proposal=proposal, assignment=first)
    again = services.assign_rapporteur(actor=secretariat, proposal=proposal, user=council["CN"])
    _db.session.commit()

    assert [(row.number, row.user_id, row.is_current) for row in services.assignments_of(
        proposal, include_removed=True)] == [(1, council["CN"].id, False), (2, council["IN"].id, True),
                                             (3, council["CN"].id, True)]
    assert [row.number for row in services.assignments_of(proposal)] == [2, 3]
    assert (first.has_conflict, first.waiver_reason, second.conflicts, again.number) == (False, None, [], 3)
    assert [(action, object_id) for action, _type, object_id, _details in audit_trail()] == [
        ("review.rapporteur_assigned", first.id), ("review.rapporteur_assigned", second.id),
        ("review.rapporteur_removed", first.id), ("review.rapporteur_assigned", again.id),
    ]
    assert [candidate.is_assigned for candidate in services.candidates_for(proposal)] == [True, True, False]


def test_a_person_is_rapporteur_of_a_proposal_once(proposal, council, secretariat):
    services.assign_rapporteur(actor=secretariat, proposal=proposal, user=council["CN"])

    with pytest.raises(ValidationFailed) as refused:
        services.assign_rapporteur(actor=secretariat, proposal=proposal, user=council["CN"])

    assert (refused.value.field, refused.value.message) == (
        "user_id", "Delegate CN 1 is a rapporteur of this proposal already."
    )
    assert count(RapporteurAssignment) == 1


@pytest.mark.parametrize("who", ["expert", "council member without a seat", "former council member"])
def test_only_a_current_council_member_can_be_rapporteur(proposal, council, secretariat, make_user, who):
    if who == "former council member":
        person = council["RU"]
        council_services.remove(actor=secretariat, seat=council_services.current_seat_of(person))
    else:
        person = make_user(roles=(Role.EXPERT,) if who == "expert" else (Role.COUNCIL_MEMBER,))

    with pytest.raises(ValidationFailed) as refused:
        services.assign_rapporteur(actor=secretariat, proposal=proposal, user=person)

    assert (refused.value.field, refused.value.message) == (
        "user_id", "Only a current council member can be rapporteur."
    )
    assert count(RapporteurAssignment) == 0


@pytest.mark.parametrize("who", ["council member", "lead author"])
def test_only_the_secretariat_assigns_rapporteurs(proposal, council, author, who):
    actor = council["IN"] if who == "council member" else author

    with pytest.raises(NotAllowed) as refused:
        services.assign_rapporteur(actor=actor, proposal=proposal, user=council["CN"])

    assert refused.value.message == ONLY_SECRETARIAT_ASSIGNS
    assert count(RapporteurAssignment) == 0


def test_rapporteurs_are_not_assigned_once_the_proposal_left_review(proposal, council, secretariat):
    services.return_for_revision(actor=secretariat, proposal=proposal, note="Add a budget.")

    with pytest.raises(NotAllowed) as refused:
        services.assign_rapporteur(actor=secretariat, proposal=proposal, user=council["CN"])

    assert refused.value.message == ONLY_SECRETARIAT_ASSIGNS


# --- reviews ------------------------------------------------------------------------------------


@pytest.fixture
def rapporteur(proposal, council, secretariat):
    """Delegate CN 1, rapporteur 1 of the proposal, now in review."""
    services.assign_rapporteur(actor=secretariat, proposal=proposal, user=council["CN"])
    start_review(proposal, secretariat)
    return council["CN"]


def test_a_rapporteur_writes_one_review_per_revision_and_editing_updates_it(proposal, rapporteur):
    written = services.save_review(actor=rapporteur, proposal=proposal, recommendation="revise",
                                   assessment="**Sound** method. <script>alert(1)</script>")
    _db.session.commit()
    created_at = written.created_at

    edited = services.save_review(actor=rapporteur, proposal=proposal, recommendation=Recommendation.ENDORSE,
                                  assessment="  Sound method, now costed.  ")
    _db.session.commit()

    assert edited.id == written.id
    assert (edited.revision_number, edited.recommendation, edited.assessment, edited.assessment_html) == (
        1, Recommendation.ENDORSE, "Sound method, now costed.", "<p>Sound method, now costed.</p>\n"
    )
    assert (edited.created_at, edited.updated_at >= created_at, edited.shared_at) == (created_at, True, None)
    assert count(Review) == 1


def test_the_assessment_is_rendered_from_markdown_and_cleaned(proposal, rapporteur):
    review = services.save_review(actor=rapporteur, proposal=proposal, recommendation="revise",
                                  assessment="**Sound** method. <script>alert(1)</script>")

    assert review.assessment_html == "<p><strong>Sound</strong> method. &lt;script&gt;alert(1)&lt;/script&gt;</p>\n"


def test_a_new_revision_gets_a_review_of_its_own_and_the_earlier_one_stays(proposal, rapporteur, secretariat, author):
    first = services.save_review(actor=rapporteur, proposal=proposal, recommendation="revise", assessment="Add costs.")
    services.return_for_revision(actor=secretariat, proposal=proposal, note="Add costs.")
    workflow.transition(proposal, ProposalAction.RESUBMIT, actor=author)
    start_review(proposal, secretariat)

    second = services.save_review(actor=rapporteur, proposal=proposal, recommendation="endorse",
                                  assessment="Costs added.")
    _db.session.commit()

    assert [(review.id, review.revision_number, review.assessment) for review in services.reviews_of(proposal)] == [
        (second.id, 2, "Costs added."), (first.id, 1, "Add costs."),
    ]


@pytest.mark.parametrize("who", ["another council member", "secretariat", "lead author"])
def test_only_a_rapporteur_writes_a_review(proposal, rapporteur, council, secretariat, author, who):
    actor = {"another council member": council["IN"], "secretariat": secretariat, "lead author": author}[who]

    with pytest.raises(NotAllowed) as refused:
        services.save_review(actor=actor, proposal=proposal, recommendation="endorse", assessment="Fine.")

    assert refused.value.message == ONLY_RAPPORTEURS
    assert count(Review) == 0


def test_a_removed_rapporteur_no_longer_writes(proposal, rapporteur, secretariat):
    services.remove_rapporteur(actor=secretariat, proposal=proposal,
                               assignment=services.assignment_of(proposal, rapporteur))

    with pytest.raises(NotAllowed) as refused:
        services.save_review(actor=rapporteur, proposal=proposal, recommendation="endorse", assessment="Fine.")

    assert refused.value.message == ONLY_RAPPORTEURS


def test_a_rapporteur_writes_only_once_the_review_has_started(proposal, council, secretariat):
    services.assign_rapporteur(actor=secretariat, proposal=proposal, user=council["CN"])

    with pytest.raises(NotAllowed) as refused:
        services.save_review(actor=council["CN"], proposal=proposal, recommendation="endorse", assessment="Fine.")

    assert (refused.value.message, proposal.state) == (ONLY_RAPPORTEURS, ProposalState.SUBMITTED)


@pytest.mark.parametrize(
    ("recommendation", "assessment", "field", "message"),
    [
        ("endorse", "", "assessment", "Write your assessment."),
        ("endorse", "  \n ", "assessment", "Write your assessment."),
        ("endorse", "é" * (ASSESSMENT_MAX_BYTES // 2 + 1), "assessment", "The assessment is too long: at most 100 KB."),
        ("maybe", "Fine.", "recommendation", "Choose a recommendation."),
        ("", "Fine.", "recommendation", "Choose a recommendation."),
    ],
    ids=["empty", "blank", "over 100 KB in UTF-8", "unknown recommendation", "no recommendation"],
)
def test_a_review_with_bad_input_is_refused(proposal, rapporteur, recommendation, assessment, field, message):
    with pytest.raises(ValidationFailed) as refused:
        services.save_review(actor=rapporteur, proposal=proposal, recommendation=recommendation, assessment=assessment)

    assert (refused.value.field, refused.value.message) == (field, message)
    assert count(Review) == 0


# --- sharing reviews ----------------------------------------------------------------------------


@pytest.fixture
def review(proposal, rapporteur):
    written = services.save_review(actor=rapporteur, proposal=proposal, recommendation="revise",
                                   assessment=COUNCIL_ONLY)
    _db.session.commit()
    return written


def test_a_review_is_shared_with_the_authors_anonymised_by_default(proposal, review, secretariat, author, coauthor,
                                                                    council):
    assert services.visible_reviews(proposal, author) == []

    services.share_review(actor=secretariat, proposal=proposal, review=review)
    _db.session.commit()

    assert (review.is_shared, review.is_shared_with_name, review.shared_by_id) == (True, False, secretariat.id)
    assert services.visible_reviews(proposal, author) == [review]
    assert services.rapporteur_label(review, author, proposal) == "Rapporteur 1"
    assert services.rapporteur_label(review, council["IN"], proposal) == "Delegate CN 1"
    assert services.rapporteur_label(review, secretariat, proposal) == "Delegate CN 1"
    assert notified(NotificationKind.COMMENT_SHARED) == sorted([(author.id, {"review": True}),
                                                                (coauthor.id, {"review": True})])
    assert audit_trail()[-1] == ("review.review_shared", "review", review.id,
                                 {"proposal": proposal.reference, "with_name": False})


def test_sharing_again_with_the_name_signs_it_and_tells_nobody_twice(proposal, review, secretariat, author):
    services.share_review(actor=secretariat, proposal=proposal, review=review)
    first_shared_at = review.shared_at

    services.share_review(actor=secretariat, proposal=proposal, review=review, with_name=True)
    _db.session.commit()

    assert (review.is_shared_with_name, review.shared_at) == (True, first_shared_at)
    assert services.rapporteur_label(review, author, proposal) == "Delegate CN 1"
    assert len(notified(NotificationKind.COMMENT_SHARED)) == 2
    assert [details for action, _type, _id, details in audit_trail() if action == "review.review_shared"] == [
        {"proposal": proposal.reference, "with_name": False}, {"proposal": proposal.reference, "with_name": True},
    ]


def test_an_unshared_review_is_hidden_from_the_authors_again(proposal, review, secretariat, author):
    services.share_review(actor=secretariat, proposal=proposal, review=review, with_name=True)

    services.unshare_review(actor=secretariat, proposal=proposal, review=review)

    assert (review.shared_at, review.is_shared_with_name) == (None, False)
    assert services.visible_reviews(proposal, author) == []


@pytest.mark.parametrize("who", ["rapporteur", "lead author"])
def test_only_the_secretariat_shares_a_review(proposal, review, rapporteur, author, who):
    actor = rapporteur if who == "rapporteur" else author

    with pytest.raises(NotAllowed) as refused:
        services.share_review(actor=actor, proposal=proposal, review=review)

    assert refused.value.message == "Only the secretariat shares reviews with the authors."
    assert (review.shared_at, services.visible_reviews(proposal, author)) == (None, [])


# --- the discussion -----------------------------------------------------------------------------


def comment(actor, proposal, body, visibility=None, parent=None) -> Comment:
    return services.add_comment(actor=actor, proposal=proposal, body=body, visibility=visibility, parent=parent)


def bodies(proposal, viewer) -> list[str]:
    return [row.body for row in services.comments_of(proposal, viewer)]


def test_a_council_internal_comment_is_read_by_the_council_and_the_secretariat_only(
    proposal, council, secretariat, author, coauthor, conflicted
):
    internal = comment(council["IN"], proposal, COUNCIL_ONLY, CommentVisibility.COUNCIL)
    _db.session.commit()

    assert (internal.visibility, internal.is_by_proposal_author, internal.revision_number, internal.parent_id) == (
        CommentVisibility.COUNCIL, False, 1, None
    )
    assert bodies(proposal, council["RU"]) == [COUNCIL_ONLY]
    assert bodies(proposal, secretariat) == [COUNCIL_ONLY]
    assert bodies(proposal, author) == []
    assert bodies(proposal, coauthor) == []  # a council member who co-wrote the proposal is an author here
    assert notified(NotificationKind.COMMENT_SHARED) == []


def test_a_comment_shared_with_the_authors_tells_them_and_is_signed_by_the_body(proposal, council, secretariat,
                                                                                 author, coauthor):
    by_member = comment(council["IN"], proposal, "Please add a budget.", "authors")
    by_secretariat = comment(secretariat, proposal, "The deadline is Friday.", CommentVisibility.AUTHORS)
    _db.session.commit()

    assert bodies(proposal, author) == ["Please add a budget.", "The deadline is Friday."]
    assert [services.commenter_label(row, author, proposal) for row in (by_member, by_secretariat)] == [
        "The council", "The secretariat"
    ]
    assert [services.commenter_label(row, council["RU"], proposal) for row in (by_member, by_secretariat)] == [
        "Delegate IN 2", "Secretariat Officer"
    ]
    assert notified(NotificationKind.COMMENT_SHARED) == sorted(
        [(author.id, {}), (coauthor.id, {}), (author.id, {}), (coauthor.id, {})]
    )


def test_an_author_answers_a_shared_comment_and_its_writer_is_told(proposal, council, author):
    question = comment(council["IN"], proposal, "Please add a budget.", CommentVisibility.AUTHORS)

    answer = comment(author, proposal, "Added in section 4.", parent=question)
    _db.session.commit()

    assert (answer.parent_id, answer.visibility, answer.is_by_proposal_author) == (
        question.id, CommentVisibility.AUTHORS, True
    )
    assert services.commenter_label(answer, council["RU"], proposal) == "Lead Author"
    assert bodies(proposal, council["RU"]) == ["Please add a budget.", "Added in section 4."]
    assert [row for row in notified(NotificationKind.COMMENT_SHARED) if row[0] == council["IN"].id] == [
        (council["IN"].id, {"answer": True})
    ]


def test_a_reply_to_a_reply_joins_the_thread_of_its_first_comment(proposal, council, secretariat, author):
    question = comment(council["IN"], proposal, "Please add a budget.", CommentVisibility.AUTHORS)
    answer = comment(author, proposal, "Added.", parent=question)

    follow_up = comment(secretariat, proposal, "Thank you.", CommentVisibility.COUNCIL, parent=answer)

    assert (follow_up.parent_id, follow_up.visibility) == (question.id, CommentVisibility.AUTHORS)


def test_an_author_neither_starts_a_thread_nor_answers_a_council_internal_comment(proposal, council, author):
    internal = comment(council["IN"], proposal, COUNCIL_ONLY, CommentVisibility.COUNCIL)

    with pytest.raises(NotAllowed) as new_thread:
        comment(author, proposal, "May we comment?", CommentVisibility.AUTHORS)
    with pytest.raises(NotAllowed) as reply:
        comment(author, proposal, "We saw nothing.", parent=internal)

    assert (new_thread.value.message, reply.value.message) == (NOT_YOURS_TO_COMMENT, NOT_YOURS_TO_COMMENT)
    assert count(Comment) == 1


def test_an_expert_outside_the_proposal_cannot_comment(proposal, council, make_user):
    outsider = make_user(roles=(Role.EXPERT,))
    shared = comment(council["IN"], proposal, "Please add a budget.", CommentVisibility.AUTHORS)

    with pytest.raises(NotAllowed) as new_thread:
        comment(outsider, proposal, "Me too.", CommentVisibility.AUTHORS)
    with pytest.raises(NotAllowed) as reply:
        comment(outsider, proposal, "Me too.", parent=shared)

    assert (new_thread.value.message, reply.value.message) == (NOT_YOURS_TO_COMMENT, NOT_YOURS_TO_COMMENT)
    assert bodies(proposal, outsider) == []


@pytest.mark.parametrize(
    ("body", "visibility", "field", "message"),
    [
        ("A point.", None, "visibility", "Choose who reads the comment."),
        ("A point.", "everyone", "visibility", "Choose who reads the comment."),
        ("", "council", "body", "Write the comment."),
        (" \n ", "council", "body", "Write the comment."),
        ("x" * 20_001, "council", "body", "Use at most 20000 characters."),
    ],
    ids=["no visibility", "unknown visibility", "empty", "blank", "too long"],
)
def test_a_comment_with_bad_input_is_refused(proposal, council, body, visibility, field, message):
    with pytest.raises(ValidationFailed) as refused:
        comment(council["IN"], proposal, body, visibility)

    assert (refused.value.field, refused.value.message) == (field, message)
    assert count(Comment) == 0


def test_a_reply_to_a_comment_of_another_proposal_is_refused(proposal, council, make_proposal, bring_to):
    other = bring_to(make_proposal(), ProposalState.SUBMITTED)
    elsewhere = comment(council["IN"], other, "Elsewhere.", CommentVisibility.COUNCIL)

    with pytest.raises(ValidationFailed) as refused:
        comment(council["RU"], proposal, "Here.", parent=elsewhere)

    assert (refused.value.field, refused.value.message) == (None, "This comment belongs to another proposal.")
    assert count(Comment) == 1


def test_the_council_no_longer_comments_once_the_proposal_was_decided(proposal, council, secretariat):
    start_review(proposal, secretariat)
    open_consensus(proposal, secretariat)
    every_delegation_answers(proposal)
    assert proposal.state == ProposalState.ENDORSED

    with pytest.raises(NotAllowed) as refused:
        comment(council["IN"], proposal, "Late remark.", CommentVisibility.COUNCIL)

    assert refused.value.message == NOT_YOURS_TO_COMMENT
