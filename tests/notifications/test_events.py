"""Each event of the council's review notifies exactly the right people, exactly once, in the app and by
email (unless they turned that kind off), and never says more than the recipient may see."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from expert_platform.accounts import services as account_services
from expert_platform.accounts.models import User
from expert_platform.council import services as council_services
from expert_platform.database import utcnow
from expert_platform.enums import (
    CommentVisibility,
    NotificationKind,
    Position,
    ProposalAction,
    ProposalState,
    Recommendation,
    Role,
)
from expert_platform.extensions import db
from expert_platform.notifications import services as notifications
from expert_platform.notifications.models import Notification
from expert_platform.proposals import workflow
from expert_platform.review import rounds
from expert_platform.review import services as review_services
from tests import journeys
from tests.conftest import link_in
from tests.proposals.page_steps import signed_in, token

K = NotificationKind
S = ProposalState
YEAR = utcnow().year
REFERENCE = f"EP-{YEAR}-0001"
TITLE = "Flood warnings"


@pytest.fixture
def council(make_council):
    """Heads for China and India, and an alternate for China (delegate1, delegate2, alternate3)."""
    return make_council(("CN", "IN"), alternates=("CN",))


@pytest.fixture
def draft(make_proposal, author, coauthor, council):
    return make_proposal(author=author, coauthors=[coauthor], title=TITLE)


class Mailbox:
    """The messages sent since the last look, as sorted (recipient, subject) pairs."""

    def __init__(self, outbox) -> None:
        self.outbox = outbox
        self.seen = len(outbox())

    def new(self) -> list[tuple[str, str]]:
        messages = self.outbox()
        fresh, self.seen = messages[self.seen:], len(messages)
        return sorted((message["To"], message["Subject"]) for message in fresh)


@pytest.fixture
def mailbox(outbox):
    return lambda: Mailbox(outbox)


def notified(kind: NotificationKind) -> list[str]:
    """The email addresses of everyone notified of ``kind``, sorted, one entry per notification."""
    return sorted(db.session.scalars(
        select(User.email).join(Notification, Notification.user_id == User.id).where(Notification.kind == kind)
    ))


def act(proposal, action: ProposalAction, actor, note=None):
    workflow.transition(proposal, action, actor=actor, note=note)
    db.session.commit()


def test_a_submission_notifies_every_active_member_of_the_secretariat(app, draft, author, secretariat, make_user,
                                                                     mailbox):
    make_user(email="second@example.org", roles=(Role.ADMIN,))
    retired = make_user(email="retired@example.org", roles=(Role.ADMIN,))
    account_services.set_active(actor=secretariat, user=retired, is_active=False)
    db.session.commit()
    mail = mailbox()

    act(draft, ProposalAction.SUBMIT, author)

    subject = f"{REFERENCE} “{TITLE}” was submitted to the council."
    assert notified(K.PROPOSAL_SUBMITTED) == ["second@example.org", "secretariat@example.org"]
    assert mail.new() == [("second@example.org", subject), ("secretariat@example.org", subject)]


def test_a_resubmission_notifies_the_secretariat_again_once(app, draft, author, secretariat, mailbox):
    act(draft, ProposalAction.SUBMIT, author)
    act(draft, ProposalAction.RETURN_FOR_REVISION, secretariat, note="Add a timetable.")
    mail = mailbox()

    act(draft, ProposalAction.RESUBMIT, author)

    assert notified(K.PROPOSAL_SUBMITTED) == ["secretariat@example.org", "secretariat@example.org"]
    assert mail.new() == [("secretariat@example.org", f"{REFERENCE} “{TITLE}” was resubmitted to the council.")]


def test_assigning_a_rapporteur_notifies_that_rapporteur_only(app, draft, bring_to, council, secretariat,
                                                             mailbox):
    bring_to(draft, S.IN_REVIEW)
    mail = mailbox()

    review_services.assign_rapporteur(actor=secretariat, proposal=draft, user=council["IN"])
    db.session.commit()

    assert notified(K.RAPPORTEUR_ASSIGNED) == ["delegate2@example.org"]
    assert mail.new() == [("delegate2@example.org", f"You are a rapporteur of {REFERENCE} “{TITLE}”.")]


def test_a_shared_comment_notifies_the_co_authors_and_an_internal_one_nobody(app, draft, bring_to,
                                                                            council, mailbox):
    bring_to(draft, S.IN_REVIEW)
    mail = mailbox()

    review_services.add_comment(actor=council["CN"], proposal=draft, body="Between us.",
                                visibility=CommentVisibility.COUNCIL)
    db.session.commit()
    assert notified(K.COMMENT_SHARED) == []
    assert mail.new() == []

    review_services.add_comment(actor=council["CN"], proposal=draft, body="Please add a timetable.",
                                visibility=CommentVisibility.AUTHORS)
    db.session.commit()

    subject = f"The council shared a comment on “{TITLE}” with you."
    assert notified(K.COMMENT_SHARED) == ["ann@example.org", "bo@example.org"]
    assert mail.new() == [("ann@example.org", subject), ("bo@example.org", subject)]


def test_an_authors_answer_notifies_the_council_member_who_wrote_the_thread(app, draft, bring_to,
                                                                          council, author, mailbox):
    bring_to(draft, S.IN_REVIEW)
    shared = review_services.add_comment(actor=council["CN"], proposal=draft, body="Please add a timetable.",
                                         visibility=CommentVisibility.AUTHORS)
    db.session.commit()
    mail = mailbox()

    review_services.add_comment(actor=author, proposal=draft, body="Done.", parent=shared)
    db.session.commit()

    assert mail.new() == [("delegate1@example.org", f"The authors answered your comment on “{TITLE}”.")]


def test_sharing_a_review_notifies_the_co_authors_once(app, draft, bring_to, council, secretariat,
                                                       mailbox):
    bring_to(draft, S.IN_REVIEW)
    review_services.assign_rapporteur(actor=secretariat, proposal=draft, user=council["IN"])
    review = review_services.save_review(actor=council["IN"], proposal=draft, recommendation=Recommendation.ENDORSE,
                                         assessment="Sound.")
    db.session.commit()
    mail = mailbox()

    review_services.share_review(actor=secretariat, proposal=draft, review=review)
    review_services.share_review(actor=secretariat, proposal=draft, review=review, with_name=True)
    db.session.commit()

    subject = f"A review of “{TITLE}” is shared with you."
    assert mail.new() == [("ann@example.org", subject), ("bo@example.org", subject)]


def test_returning_for_revision_notifies_the_co_authors(app, draft, bring_to, secretariat, mailbox, outbox):
    bring_to(draft, S.IN_REVIEW)
    mail = mailbox()

    review_services.return_for_revision(actor=secretariat, proposal=draft, note="Add a timetable.")
    db.session.commit()

    subject = f"“{TITLE}” was returned to you for revision."
    assert notified(K.RETURNED_FOR_REVISION) == ["ann@example.org", "bo@example.org"]
    assert mail.new() == [("ann@example.org", subject), ("bo@example.org", subject)]
    message = outbox()[-1]
    assert link_in(message, "/proposals/") == f"/proposals/{draft.id}"
    assert link_in(message, "/notifications/settings") == "/notifications/settings"


def test_opening_a_round_notifies_every_current_member_of_every_delegation_asked(app, draft, bring_to,
                                                                                secretariat, mailbox):
    bring_to(draft, S.IN_REVIEW)
    mail = mailbox()
    deadline = utcnow().replace(microsecond=0) + timedelta(hours=72)

    rounds.open_round(actor=secretariat, proposal=draft, kind="standard", deadline_at=deadline)
    db.session.commit()

    subject = f"A consensus round on {REFERENCE} “{TITLE}” is open until {deadline:%Y-%m-%d %H:%M} UTC."
    recipients = ["alternate3@example.org", "delegate1@example.org", "delegate2@example.org"]
    assert notified(K.ROUND_OPENED) == recipients
    assert mail.new() == [(recipient, subject) for recipient in recipients]


def test_the_reminder_goes_once_to_the_members_of_delegations_that_have_not_answered(app, draft, bring_to,
                                                                                    council, mailbox):
    bring_to(draft, S.CONSENSUS, hours=72)
    round_ = rounds.open_round_of(draft)
    rounds.record_position(actor=council["IN"], proposal=draft, position=Position.ENDORSE)
    db.session.commit()
    mail = mailbox()

    too_early = notifications.remind(now=round_.deadline_at - timedelta(hours=49))
    db.session.commit()
    first = notifications.remind(now=round_.deadline_at - timedelta(hours=47))
    db.session.commit()
    sent = mail.new()
    second = notifications.remind(now=round_.deadline_at - timedelta(hours=46))
    db.session.commit()

    subject = (f"Your delegation has not stated its position on {REFERENCE} “{TITLE}”; the round closes "
               f"{round_.deadline_at:%Y-%m-%d %H:%M} UTC.")
    assert (too_early, first, second) == (0, 2, 0)
    assert notified(K.DEADLINE_NEAR) == ["alternate3@example.org", "delegate1@example.org"]
    reminder = db.session.scalar(select(Notification).where(Notification.kind == K.DEADLINE_NEAR).limit(1))
    assert notifications.describe(reminder, db.session.get(User, reminder.user_id)).sentence == subject
    # Exact, spaces included: a subject folded at 78 characters used to lose the space in "Flood warnings".
    assert sent == [("alternate3@example.org", subject), ("delegate1@example.org", subject)]
    assert mail.new() == []


def test_an_endorsement_notifies_the_co_authors(app, draft, bring_to, mailbox):
    bring_to(draft, S.CONSENSUS)
    mail = mailbox()

    journeys.every_delegation_answers(draft)
    db.session.commit()

    subject = f"“{TITLE}” is endorsed by the council."
    assert draft.state == S.ENDORSED
    assert notified(K.DECISION) == ["ann@example.org", "bo@example.org"]
    assert mail.new() == [("ann@example.org", subject), ("bo@example.org", subject)]


def test_closing_without_consensus_notifies_the_co_authors(app, draft, bring_to, secretariat,
                                                           mailbox):
    bring_to(draft, S.CONSENSUS)
    mail = mailbox()

    journeys.object_then_close(draft, secretariat)
    db.session.commit()

    subject = f"The consensus round on “{TITLE}” closed without consensus."
    assert draft.state == S.NOT_ENDORSED
    assert notified(K.DECISION) == ["ann@example.org", "bo@example.org"]
    assert mail.new() == [("ann@example.org", subject), ("bo@example.org", subject)]


def test_turning_a_kind_off_stops_its_email_but_keeps_the_notification(app, draft, bring_to,
                                                                      secretariat, author, mailbox):
    notifications.save_email_settings(actor=author, emailed=[kind for kind in K if kind != K.RETURNED_FOR_REVISION])
    db.session.commit()
    bring_to(draft, S.IN_REVIEW)
    mail = mailbox()

    review_services.return_for_revision(actor=secretariat, proposal=draft, note="Add a timetable.")
    db.session.commit()

    assert notified(K.RETURNED_FOR_REVISION) == ["ann@example.org", "bo@example.org"]
    assert mail.new() == [("bo@example.org", f"“{TITLE}” was returned to you for revision.")]


def test_a_member_removed_from_the_council_reads_a_notification_without_the_title(app, draft, bring_to,
                                                                                 council, secretariat):
    bring_to(draft, S.CONSENSUS)
    council_services.remove(actor=secretariat, seat=council_services.current_seat_of(council["IN"]))
    db.session.commit()

    client = signed_in(app, council["IN"])
    mine = db.session.scalar(select(Notification).where(Notification.user_id == council["IN"].id))

    response = client.get("/notifications")

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert TITLE not in page
    assert REFERENCE not in page
    assert "A proposal you can no longer see has changed." in page
    assert f"/notifications/{mine.id}/open" not in page
    opened = client.post(f"/notifications/{mine.id}/open", data={"csrf_token": token(client)})
    assert opened.headers["Location"] == "/notifications"
