"""The council's review workspace of a proposal: rapporteurs, reviews, the secretariat's workflow
actions, consensus rounds and positions.

Every view follows ARCHITECTURE.md section 2: load (404 when missing or invisible to the viewer),
authorise with a predicate of ``permissions.py`` (403), one service call, one commit, then redirect
with a flash, or re-render the workspace with what was typed and the error (status 400). A refusal
because the proposal moved on meanwhile (InvalidTransition) is flashed on the page as it is now.
"""

from __future__ import annotations

from itertools import groupby

from flask import Blueprint, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..accounts.models import User
from ..database import utcnow
from ..enums import ProposalAction
from ..errors import InvalidTransition
from ..extensions import db
from ..i18n import datetime_text
from ..permissions import (
    can_assign_rapporteurs,
    can_record_position,
    can_share_review,
    can_steer_proposal,
    can_take_part_in_rounds,
    can_view_deliberation,
    can_view_proposal,
    can_view_secretariat_pages,
    can_write_review,
    require,
)
from ..proposals import workflow
from ..proposals.loading import visible_proposal
from ..proposals.models import Proposal
from ..web import act, actor, check_button, get_child_or_404
from . import rounds, services
from .forms import (
    AssignRapporteurForm,
    CloseRoundForm,
    OpenRoundForm,
    PositionForm,
    ReturnForRevisionForm,
    ReviewForm,
    ShareReviewForm,
)
from .models import RapporteurAssignment, Review
from .web import settle_if_due

bp = Blueprint("review", __name__)

A = ProposalAction


def _deliberated_proposal(proposal_id: int) -> Proposal:
    """The proposal (404 as above), and 403 for who sees it but does not deliberate (its co-authors)."""
    proposal = visible_proposal(proposal_id)
    require(can_view_deliberation(current_user, proposal))
    return proposal


def _may_take(proposal: Proposal, action: ProposalAction) -> bool:
    """The workflow table has this action for the proposal's state and the viewer may take it."""
    rule = workflow.TRANSITIONS.get((proposal.state, action))
    return rule is not None and rule.allowed(current_user, proposal)


def _may_close_round(proposal: Proposal) -> bool:
    return _may_take(proposal, A.CLOSE_WITHOUT_CONSENSUS) and rounds.refusal_to_close(proposal, utcnow()) is None


def _back_to(proposal: Proposal) -> str:
    """The workspace; the proposal page once the viewer no longer deliberates on it; and for a proposal
    the viewer can no longer see (returned to its authors) the secretariat's dashboard."""
    if can_view_deliberation(current_user, proposal):
        return url_for("review.workspace", proposal_id=proposal.id)
    if can_view_proposal(current_user, proposal):
        return url_for("proposals.show", proposal_id=proposal.id)
    if can_view_secretariat_pages(current_user):
        return url_for("secretariat.dashboard")
    return url_for("main.index")


# --- The workspace page ------------------------------------------------------------------------


@bp.get("/proposals/<int:proposal_id>/review")
def workspace(proposal_id: int):
    proposal = _deliberated_proposal(proposal_id)
    settle_if_due(proposal)
    return _workspace_page(proposal)


def _workspace_page(proposal: Proposal, *, status: int = 200, **failed_forms):
    """The workspace with fresh forms, except ``failed_forms`` (by name), shown as posted with their errors."""
    viewer = current_user
    revision_number = services.current_revision_number(proposal) or 1
    reviews = services.visible_reviews(proposal, viewer)
    assignments = services.assignments_of(proposal)
    my_assignment = services.assignment_of(proposal, viewer)
    open_round = rounds.open_round_of(proposal)
    my_delegation = rounds.delegation_of(viewer)

    forms = {
        "return_form": ReturnForRevisionForm(formdata=None) if _may_take(proposal, A.RETURN_FOR_REVISION) else None,
        "open_round_form": OpenRoundForm(formdata=None) if _may_take(proposal, A.OPEN_CONSENSUS) else None,
        "close_form": CloseRoundForm(formdata=None) if _may_close_round(proposal) else None,
        "assign_form": None,
        "review_form": None,
        "position_form": None,
    }
    candidates = []
    if can_assign_rapporteurs(viewer, proposal):
        candidates = [candidate for candidate in services.candidates_for(proposal) if not candidate.is_assigned]
        forms["assign_form"] = AssignRapporteurForm(formdata=None, candidates=candidates)
    my_review = None
    if can_write_review(viewer, proposal, my_assignment):
        my_review = next((review for review in reviews if review.assignment_id == my_assignment.id
                          and review.revision_number == revision_number), None)
        initial = ({"recommendation": my_review.recommendation.value, "assessment": my_review.assessment}
                   if my_review is not None else None)
        forms["review_form"] = ReviewForm(formdata=None, data=initial)
    my_position = None
    asks_me = (open_round is not None and my_delegation is not None
               and my_delegation.id in {row.delegation_id for row in open_round.asked})
    if asks_me and can_record_position(viewer, proposal):
        my_position = next((row for row in open_round.positions if row.delegation_id == my_delegation.id), None)
        initial = {"position": my_position.position.value, "reason": my_position.reason} if my_position else None
        forms["position_form"] = PositionForm(formdata=None, data=initial)
    # A refused form is shown as posted; one the viewer is no longer offered gives its refusal at the top.
    refusals = []
    for name, form in failed_forms.items():
        if forms.get(name) is not None:
            forms[name] = form
        else:
            refusals.extend(message for messages in form.errors.values() for message in messages)

    closed_rounds = [round_ for round_ in reversed(rounds.rounds_of(proposal)) if not round_.is_open]
    return render_template(
        "review/workspace.html",
        proposal=proposal,
        revision_number=revision_number,
        can_start=_may_take(proposal, A.START_REVIEW),
        assignments=[(assignment, rounds.delegation_of(assignment.user)) for assignment in assignments],
        has_candidates=bool(candidates),
        reviews_by_revision=[(number, list(group))
                             for number, group in groupby(reviews, key=lambda review: review.revision_number)],
        rapporteur_label=lambda review: services.rapporteur_label(review, viewer, proposal),
        my_review=my_review,
        open_round=open_round,
        open_tally=rounds.tally_of(open_round) if open_round is not None else None,
        history=_history(open_round) if open_round is not None else [],
        my_delegation=my_delegation if asks_me else None,
        my_position=my_position,
        closed_rounds=[(round_, rounds.Tally.from_record(round_.decision)) for round_ in closed_rounds],
        refusals=refusals,
        **forms,
    ), status


def _history(round_) -> list[tuple]:
    """The round's positions, the latest first, with the name of the delegation that took each."""
    names = {row.delegation_id: row.member_state_name for row in round_.asked}
    return [(record, names.get(record.delegation_id, "")) for record in rounds.position_history(round_)]


# --- Posting -----------------------------------------------------------------------------------


def _submit(proposal: Proposal, form, form_name: str, change, done):
    """Validate ``form`` and act (``change(form)``), going back with ``done(result)`` flashed; a refusal
    re-renders the workspace with the form as typed and the error (400), except InvalidTransition: the
    proposal moved on meanwhile, so it is flashed on the page as it is now."""
    if form.validate_on_submit():
        answer = act(lambda: change(form), form=form, flashed=(InvalidTransition,), done=done,
                     then=_back(proposal))
        if answer is not None:
            return answer
    return _workspace_page(proposal, status=400, **{form_name: form})


def _back(proposal: Proposal):
    """Where the workspace's buttons and forms lead after acting (``_back_to``, worked out once the change
    is made), with the result or refusal flashed."""
    return lambda _result: _back_to(proposal)


@bp.post("/proposals/<int:proposal_id>/review/start")
@login_required
def start(proposal_id: int):
    proposal = visible_proposal(proposal_id)
    require(can_steer_proposal(current_user, proposal))
    check_button()
    return act(
        lambda: services.start_review(actor=actor(), proposal=proposal),
        done=lambda _event: _("The review has started. Assign rapporteurs, then open a consensus round."),
        then=_back(proposal),
    )


@bp.post("/proposals/<int:proposal_id>/review/return")
@login_required
def return_for_revision(proposal_id: int):
    proposal = visible_proposal(proposal_id)
    require(can_steer_proposal(current_user, proposal))
    return _submit(
        proposal, ReturnForRevisionForm(), "return_form",
        lambda form: services.return_for_revision(actor=actor(), proposal=proposal, note=form.note.data),
        lambda _event: _("%(reference)s is returned to its authors for revision.", reference=proposal.reference),
    )


@bp.post("/proposals/<int:proposal_id>/rapporteurs")
@login_required
def assign(proposal_id: int):
    proposal = visible_proposal(proposal_id)
    require(can_assign_rapporteurs(current_user, proposal))
    candidates = [candidate for candidate in services.candidates_for(proposal) if not candidate.is_assigned]
    return _submit(
        proposal, AssignRapporteurForm(candidates=candidates), "assign_form",
        lambda form: services.assign_rapporteur(
            actor=actor(), proposal=proposal, user=db.session.get(User, int(form.user_id.data)),
            waiver_reason=form.waiver_reason.data,
        ),
        lambda assignment: _("%(name)s is rapporteur %(number)d of this proposal.",
                             name=assignment.user.display_name, number=assignment.number),
    )


@bp.post("/proposals/<int:proposal_id>/rapporteurs/<int:assignment_id>/remove")
@login_required
def unassign(proposal_id: int, assignment_id: int):
    proposal = visible_proposal(proposal_id)
    assignment = get_child_or_404(RapporteurAssignment, assignment_id, proposal_id=proposal.id)
    require(can_assign_rapporteurs(current_user, proposal))
    name = assignment.user.display_name
    check_button()
    return act(
        lambda: services.remove_rapporteur(actor=actor(), proposal=proposal, assignment=assignment),
        done=lambda _result: _("%(name)s is no longer a rapporteur of this proposal.", name=name),
        then=_back(proposal),
    )


@bp.post("/proposals/<int:proposal_id>/reviews")
@login_required
def save_review(proposal_id: int):
    proposal = visible_proposal(proposal_id)
    require(can_write_review(current_user, proposal, services.assignment_of(proposal, current_user)))
    return _submit(
        proposal, ReviewForm(), "review_form",
        lambda form: services.save_review(actor=actor(), proposal=proposal,
                                          recommendation=form.recommendation.data, assessment=form.assessment.data),
        lambda review: _("Your review of revision %(number)d is saved.", number=review.revision_number),
    )


@bp.post("/proposals/<int:proposal_id>/reviews/<int:review_id>/share")
@login_required
def share(proposal_id: int, review_id: int):
    proposal = visible_proposal(proposal_id)
    review = get_child_or_404(Review, review_id, proposal_id=proposal.id)
    require(can_share_review(current_user, proposal))
    form = check_button(ShareReviewForm())
    return act(
        lambda: services.share_review(actor=actor(), proposal=proposal, review=review,
                                      with_name=form.with_name.data),
        done=lambda review: (
            _("The review is shared with the authors, with %(name)s's name.",
              name=review.assignment.user.display_name) if review.is_shared_with_name
            else _("The review is shared with the authors as “Rapporteur %(number)d”.",
                   number=review.assignment.number)
        ),
        then=_back(proposal),
    )


@bp.post("/proposals/<int:proposal_id>/reviews/<int:review_id>/unshare")
@login_required
def unshare(proposal_id: int, review_id: int):
    proposal = visible_proposal(proposal_id)
    review = get_child_or_404(Review, review_id, proposal_id=proposal.id)
    require(can_share_review(current_user, proposal))
    check_button()
    return act(
        lambda: services.unshare_review(actor=actor(), proposal=proposal, review=review),
        done=lambda _review: _("The review is no longer shared with the authors."),
        then=_back(proposal),
    )


@bp.post("/proposals/<int:proposal_id>/rounds")
@login_required
def open_round(proposal_id: int):
    proposal = visible_proposal(proposal_id)
    require(can_steer_proposal(current_user, proposal))
    return _submit(
        proposal, OpenRoundForm(), "open_round_form",
        lambda form: rounds.open_round(actor=actor(), proposal=proposal, kind=form.kind.data,
                                       deadline_at=form.deadline_at),
        lambda round_: _("The %(kind)s is open until %(deadline)s. Every delegation is asked for its position.",
                         kind=round_.kind.label.lower(), deadline=datetime_text(round_.deadline_at)),
    )


@bp.post("/proposals/<int:proposal_id>/position")
@login_required
def record_position(proposal_id: int):
    proposal = visible_proposal(proposal_id)
    # Not can_record_position: when the round closed a moment ago, the delegate gets a message, not a 403.
    require(can_view_deliberation(current_user, proposal) and can_take_part_in_rounds(current_user, proposal))
    return _submit(
        proposal, PositionForm(), "position_form",
        lambda form: rounds.record_position(actor=actor(), proposal=proposal, position=form.position.data,
                                            reason=form.reason.data),
        _position_recorded,
    )


def _position_recorded(recorded: rounds.Recorded) -> str:
    message = _("Your delegation's position is recorded: %(position)s.", position=recorded.position.position.label)
    if recorded.endorsed:
        return message + " " + _("With it the consensus rule is met: the proposal is endorsed.")
    return message


@bp.post("/proposals/<int:proposal_id>/rounds/close")
@login_required
def close_round(proposal_id: int):
    proposal = visible_proposal(proposal_id)
    require(can_steer_proposal(current_user, proposal))
    return _submit(
        proposal, CloseRoundForm(), "close_form",
        lambda form: rounds.close_without_consensus(actor=actor(), proposal=proposal, note=form.note.data),
        lambda _round: _("The round is closed without consensus: the proposal is not endorsed."),
    )
