"""Who is told what, once: in-app notifications and their emails.

``notify`` writes one row per recipient under a key unique per user, inside the transaction of the
change it reports (a rolled-back change notifies nobody) and in a SAVEPOINT, so a second attempt at
the same event (a repeated cron run, two processes) adds nothing and sends no second email. Emails
leave after commit (``mail.queue``) unless the recipient turned that kind off.

Notifications listen to the signals of the packages whose changes they report (the workflow's ``transitioned``,
the review's ``rapporteur_assigned``, ``review_shared`` and ``comment_added``): those packages never
import this one.

The text is written when a notification is shown (``describe``), for the viewer as they are then:
if they can no longer see the proposal, they read that something changed on a proposal they cannot
see, never its title.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from .. import mail, permissions
from ..accounts.models import User, UserRole
from ..database import utcnow
from ..enums import CommentVisibility, NotificationKind, ProposalAction, Role
from ..extensions import db
from ..i18n import datetime_text, in_language_of
from ..proposals import workflow
from ..proposals.models import Proposal
from ..review import rounds
from ..review import services as review
from .models import KEY_MAX_LENGTH, EmailSetting, Notification

K = NotificationKind
PAGE_SIZE = 30


# --- writing ------------------------------------------------------------------------------------


def notify(*, users: Iterable[User], kind: NotificationKind, proposal: Proposal | None, key: str,
           params: dict | None = None) -> list[Notification]:
    """Notify each active user once for ``key``; email those who did not turn ``kind`` off.
    Returns the notifications written now (not those that existed already)."""
    recipients = {user.id: user for user in users if user is not None and user.is_active}
    if not recipients:
        return []
    muted = set(db.session.scalars(
        select(EmailSetting.user_id).where(
            EmailSetting.user_id.in_(recipients), EmailSetting.kind == kind, EmailSetting.is_email_enabled.is_(False)
        )
    ))
    written = []
    for user in sorted(recipients.values(), key=lambda person: person.id):
        notification = Notification(user_id=user.id, kind=kind, proposal_id=proposal.id if proposal else None,
                                    params=params or {}, key=key[:KEY_MAX_LENGTH], created_at=utcnow())
        try:
            with db.session.begin_nested():
                db.session.add(notification)
                db.session.flush()
        except IntegrityError:
            continue  # told already
        written.append(notification)
        if user.id not in muted:
            with in_language_of(user):
                text = describe(notification, user)
                mail.queue(to=user.email, subject=text.subject, template="notification", user=user, text=text)
    return written


def _authors(proposal: Proposal) -> list[User]:
    return [row.user for row in proposal.coauthors]


def _secretariat() -> list[User]:
    return list(db.session.scalars(
        select(User).join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == Role.ADMIN, User.is_active.is_(True)).order_by(User.id)
    ))


def on_transition(proposal: Proposal, *, event, actor) -> None:
    """The workflow's ``transitioned`` signal: tell whoever the step concerns."""
    action = ProposalAction(event.action)
    if action in (ProposalAction.SUBMIT, ProposalAction.RESUBMIT):
        notify(users=_secretariat(), kind=K.PROPOSAL_SUBMITTED, proposal=proposal,
               key=f"submitted:{proposal.id}:{event.revision_number}",
               params={"revision": event.revision_number, "resubmitted": action == ProposalAction.RESUBMIT})
    elif action == ProposalAction.RETURN_FOR_REVISION:
        notify(users=_authors(proposal), kind=K.RETURNED_FOR_REVISION, proposal=proposal,
               key=f"returned:{event.id}")
    elif action == ProposalAction.OPEN_CONSENSUS:
        round_ = rounds.open_round_of(proposal)
        if round_ is not None:
            seats = rounds.current_members(row.delegation_id for row in round_.asked)
            # Co-authors who sit in the council take no position on their own proposal.
            asked = [seat.user for seat in seats if not proposal.is_coauthor(seat.user)]
            notify(users=asked, kind=K.ROUND_OPENED, proposal=proposal,
                   key=f"round:{round_.id}",
                   params={"round": round_.number, "kind": round_.kind.value,
                           "deadline": round_.deadline_at.isoformat()})
    elif action in (ProposalAction.ENDORSE, ProposalAction.CLOSE_WITHOUT_CONSENSUS):
        notify(users=_authors(proposal), kind=K.DECISION, proposal=proposal, key=f"decision:{event.id}",
               params={"endorsed": action == ProposalAction.ENDORSE})


def on_rapporteur_assigned(proposal: Proposal, *, assignment) -> None:
    """The review's ``rapporteur_assigned`` signal: tell the rapporteur."""
    notify(users=[assignment.user], kind=K.RAPPORTEUR_ASSIGNED, proposal=proposal,
           key=f"rapporteur:{assignment.id}")


def on_review_shared(proposal: Proposal, *, review) -> None:
    """The review's ``review_shared`` signal: tell the authors."""
    notify(users=_authors(proposal), kind=K.COMMENT_SHARED, proposal=proposal, key=f"review:{review.id}",
           params={"review": True})


def on_comment_added(proposal: Proposal, *, comment, parent) -> None:
    """The review's ``comment_added`` signal: a comment shared with the authors tells them; an author's
    answer tells the thread's council author."""
    if comment.visibility != CommentVisibility.AUTHORS:
        return
    if comment.is_by_proposal_author:
        if parent is not None and parent.author is not None and not parent.is_by_proposal_author:
            notify(users=[parent.author], kind=K.COMMENT_SHARED, proposal=proposal, key=f"comment:{comment.id}",
                   params={"answer": True})
        return
    notify(users=[user for user in _authors(proposal) if user.id != comment.author_id],
           kind=K.COMMENT_SHARED, proposal=proposal, key=f"comment:{comment.id}")


def remind(now: datetime | None = None) -> int:
    """Tell the members of each delegation that has not answered a round closing within 48 hours;
    once per round and person however often it runs. Returns how many notifications were written."""
    now = now or utcnow()
    written = 0
    for round_ in rounds.rounds_to_remind(now):
        seats = rounds.current_members(rounds.silent_delegations(round_))
        written += len(notify(
            users=[seat.user for seat in seats if not round_.proposal.is_coauthor(seat.user)],
            kind=K.DEADLINE_NEAR, proposal=round_.proposal, key=f"deadline:{round_.id}",
            params={"round": round_.number, "deadline": round_.deadline_at.isoformat()},
        ))
    return written


def init_notifications(app) -> None:
    """Listen to the workflow and the review (connecting twice is harmless: blinker keeps one receiver)."""
    workflow.transitioned.connect(on_transition)
    review.rapporteur_assigned.connect(on_rapporteur_assigned)
    review.review_shared.connect(on_review_shared)
    review.comment_added.connect(on_comment_added)


# --- reading and marking ------------------------------------------------------------------------


def unread_count(user) -> int:
    if not permissions.is_signed_in(user):
        return 0
    return db.session.scalar(
        select(func.count(Notification.id)).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    ) or 0


def notifications_of(user, *, page: int = 1, only_unread: bool = False) -> tuple[list[Notification], int]:
    """A page of the user's notifications, newest first, and how many there are in all."""
    query = select(Notification).where(Notification.user_id == user.id)
    if only_unread:
        query = query.where(Notification.read_at.is_(None))
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    if (max(page, 1) - 1) * PAGE_SIZE >= max(total, 1):
        return [], total  # past the end (also a page number too large for the database to bind)
    rows = db.session.scalars(
        query.order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(PAGE_SIZE).offset((max(page, 1) - 1) * PAGE_SIZE)
    ).all()
    return list(rows), total


def mark_read(*, actor, notification: Notification) -> None:
    if notification.user_id != actor.id:
        raise PermissionError("not the recipient")
    if notification.read_at is None:
        notification.read_at = utcnow()
        db.session.flush()


def mark_all_read(*, actor) -> int:
    changed = db.session.execute(
        update(Notification)
        .where(Notification.user_id == actor.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return changed.rowcount or 0


def email_settings(user) -> dict[NotificationKind, bool]:
    """Whether each kind is emailed to ``user`` (on unless turned off)."""
    stored = {row.kind: row.is_email_enabled for row in db.session.scalars(
        select(EmailSetting).where(EmailSetting.user_id == user.id))}
    return {kind: stored.get(kind, True) for kind in NotificationKind}


def save_email_settings(*, actor, emailed: Iterable[NotificationKind | str]) -> None:
    """Email exactly the kinds in ``emailed`` to the actor from now on; unknown kinds are ignored."""
    wanted = set()
    for kind in emailed:
        try:
            wanted.add(NotificationKind(kind))
        except ValueError:
            continue
    stored = {row.kind: row for row in db.session.scalars(select(EmailSetting).where(EmailSetting.user_id == actor.id))}
    for kind in NotificationKind:
        row = stored.get(kind)
        if row is None:
            row = EmailSetting(user_id=actor.id, kind=kind)
            db.session.add(row)
        row.is_email_enabled = kind in wanted
    db.session.flush()


# --- text ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    """A notification in words, and where it leads (an endpoint taking ``proposal_id``, or None)."""

    subject: str
    sentence: str
    endpoint: str | None
    proposal_id: int | None = None

    @property
    def link(self) -> str | None:
        """The path to follow (needs a request context: a page, or the one ``mail`` renders in)."""
        return url_for(self.endpoint, proposal_id=self.proposal_id) if self.endpoint else None


def describe(notification: Notification, viewer) -> Text:
    """The notification in words, for ``viewer`` as they are now (never more than they may see)."""
    proposal = notification.proposal
    if proposal is not None and not permissions.can_view_proposal(viewer, proposal):
        sentence = _("A proposal you can no longer see has changed.")
        return Text(subject=sentence, sentence=sentence, endpoint=None)
    title = proposal.title if proposal is not None else ""
    reference = (proposal.reference or "") if proposal is not None else ""
    values = {"title": title, "reference": reference}
    params = notification.params or {}
    kind = notification.kind
    link = "proposals.show" if proposal is not None else None
    if kind == K.PROPOSAL_SUBMITTED:
        if params.get("resubmitted"):
            sentence = _("%(reference)s “%(title)s” was resubmitted to the council.", **values)
        else:
            sentence = _("%(reference)s “%(title)s” was submitted to the council.", **values)
        if permissions.can_view_deliberation(viewer, proposal):
            link = "review.workspace"
    elif kind == K.RAPPORTEUR_ASSIGNED:
        sentence = _("You are a rapporteur of %(reference)s “%(title)s”.", **values)
        if permissions.can_view_deliberation(viewer, proposal):
            link = "review.workspace"
    elif kind == K.COMMENT_SHARED:
        if params.get("review"):
            sentence = _("A review of “%(title)s” is shared with you.", **values)
        elif params.get("answer"):
            sentence = _("The authors answered your comment on “%(title)s”.", **values)
        else:
            sentence = _("The council shared a comment on “%(title)s” with you.", **values)
        if permissions.can_view_discussion(viewer, proposal):
            link = "discussion.show"
    elif kind == K.RETURNED_FOR_REVISION:
        sentence = _("“%(title)s” was returned to you for revision.", **values)
    elif kind == K.ROUND_OPENED:
        sentence = _("A consensus round on %(reference)s “%(title)s” is open until %(deadline)s.",
                     deadline=_deadline(params), **values)
        if permissions.can_view_deliberation(viewer, proposal):
            link = "review.workspace"
    elif kind == K.DEADLINE_NEAR:
        sentence = _("Your delegation has not stated its position on %(reference)s “%(title)s”; the round closes "
                     "%(deadline)s.", deadline=_deadline(params), **values)
        if permissions.can_view_deliberation(viewer, proposal):
            link = "review.workspace"
    elif kind == K.DECISION:
        sentence = (_("“%(title)s” is endorsed by the council.", **values) if params.get("endorsed")
                    else _("The consensus round on “%(title)s” closed without consensus.", **values))
    else:  # pragma: no cover - every kind is handled above
        sentence = _("Something changed.")
    return Text(subject=sentence, sentence=sentence, endpoint=link,
                proposal_id=proposal.id if proposal is not None else None)


def _deadline(params: dict) -> str:
    value = params.get("deadline")
    if not value:
        return ""
    return datetime_text(datetime.fromisoformat(value))
