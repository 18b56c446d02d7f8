"""Proposal pages: writing, co-authors, the workflow buttons, revisions and annexes.

Every view follows ARCHITECTURE.md section 2: load (404 when missing or invisible to the viewer),
authorise with a predicate of ``permissions.py`` (403), one service call, one commit, then redirect
or re-render the form with everything typed kept.
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from .. import sanitize
from ..accounts.services import find_user_by_email
from ..enums import AuthorStatus, ProposalAction, ProposalState
from ..errors import InvalidTransition, NotAllowed, recover_refused_token
from ..experts.languages import language_name
from ..extensions import db
from ..forms import ActionForm
from ..i18n import LANGUAGE_NAMES
from ..permissions import (
    can_act_as_author,
    can_answer_coauthor_invitation,
    can_edit_proposal,
    can_manage_coauthors,
    can_view_event,
    can_view_proposal,
    can_view_think_tank,
    can_write_proposals,
    is_signed_in,
    require,
)
from ..reference.services import member_states
from ..thinktanks.models import ThinkTank
from ..web import act, actor, check_button, get_child_or_404, page_parts, run_before_page
from . import coauthors, services, translations, workflow
from .forms import (
    ANSWER_ACCEPT,
    ANSWER_DECLINE,
    ActionNoteForm,
    EditProposalForm,
    InviteCoauthorForm,
    ProposalForm,
    RegisterFilterForm,
    TranslationForm,
)
from .loading import visible_proposal
from .models import REFERENCE_PATTERN, Proposal, ProposalAuthor, ProposalEvent, ProposalThinkTank

bp = Blueprint("proposals", __name__)

S = ProposalState
A = ProposalAction

#: The workflow buttons on the proposal page: the authors' actions (the secretariat acts through services for now).
AUTHOR_ACTIONS = (A.SUBMIT, A.RESUBMIT, A.WITHDRAW)

#: The steps of the progress indicator, and the timestamp that tells a step was reached.
PROGRESS_STEPS = (
    (S.DRAFT, "created_at"),
    (S.SUBMITTED, "first_submitted_at"),
    (S.IN_REVIEW, "review_started_at"),
    (S.CONSENSUS, "consensus_opened_at"),
    (S.ENDORSED, "endorsed_at"),
)

#: "My proposals" lists what needs the authors first.
MY_PROPOSALS_ORDER = (
    S.DRAFT, S.CHANGES_REQUESTED, S.SUBMITTED, S.IN_REVIEW, S.CONSENSUS, S.ENDORSED, S.NOT_ENDORSED, S.WITHDRAWN
)



def _author_of(proposal: Proposal, author_id: int) -> ProposalAuthor:
    """An author row of this proposal; 404 for a missing one or one of another proposal."""
    return get_child_or_404(ProposalAuthor, author_id, proposal_id=proposal.id)


# --- Listings ----------------------------------------------------------------------------------


@bp.get("/proposals/mine")
@login_required
def mine():
    viewer = actor()
    proposals = db.session.scalars(
        select(Proposal)
        .join(ProposalAuthor, ProposalAuthor.proposal_id == Proposal.id)
        .where(ProposalAuthor.user_id == viewer.id, ProposalAuthor.status == AuthorStatus.ACCEPTED)
        .order_by(Proposal.updated_at.desc(), Proposal.id.desc())
    ).all()
    groups = [
        (state, [proposal for proposal in proposals if proposal.state == state]) for state in MY_PROPOSALS_ORDER
    ]
    invitations = db.session.scalars(
        select(Proposal)
        .join(ProposalAuthor, ProposalAuthor.proposal_id == Proposal.id)
        .where(ProposalAuthor.user_id == viewer.id, ProposalAuthor.status == AuthorStatus.INVITED)
        .order_by(ProposalAuthor.invited_at.desc(), Proposal.id.desc())
    ).all()
    return render_template(
        "proposals/mine.html",
        groups=[(state, members) for state, members in groups if members],
        invitations=invitations,
        lead_of=_lead_of,
        answer_accept=ANSWER_ACCEPT,
        answer_decline=ANSWER_DECLINE,
    )


#: Proposals per page of the register.
REGISTER_PER_PAGE = 25


@bp.get("/proposals")
@login_required
def register():
    """Every proposal the viewer may see, searched in the database: the council and the secretariat
    find proposals still in the workflow here, authors their own (the archive holds endorsed ones only)."""
    search = RegisterFilterForm(request.args)
    search.validate()
    statement = services.register_statement(viewer=current_user, filters=search.register_filters())
    page = db.paginate(statement, per_page=REGISTER_PER_PAGE, max_per_page=REGISTER_PER_PAGE, error_out=False)
    return render_template("proposals/register.html", page=page, search=search)


def _lead_of(proposal: Proposal) -> ProposalAuthor | None:
    return next((row for row in proposal.authors if row.is_lead), None)


@bp.get("/thinktanks/<int:think_tank_id>/proposals")
def think_tank_proposals(think_tank_id: int):
    think_tank = db.session.get(ThinkTank, think_tank_id)
    if think_tank is None or not can_view_think_tank(current_user, think_tank):
        abort(404)
    candidates = db.session.scalars(
        select(Proposal)
        .join(ProposalThinkTank, ProposalThinkTank.proposal_id == Proposal.id)
        .where(ProposalThinkTank.think_tank_id == think_tank.id, Proposal.state != S.DRAFT)
        .order_by(Proposal.first_submitted_at.desc().nulls_last(), Proposal.id.desc())
    ).all()
    proposals = [proposal for proposal in candidates if can_view_proposal(current_user, proposal)]
    return render_template("proposals/think_tank.html", think_tank=think_tank, proposals=proposals)


# --- Starting and editing ----------------------------------------------------------------------


@bp.route("/proposals/new", methods=["GET", "POST"])
@login_required
def new():
    require(can_write_proposals(current_user))
    initial = ProposalForm.initial_data(services.new_content()) if request.method == "GET" else None
    form = ProposalForm(data=initial, member_states=member_states())
    if _wants_preview():
        return _new_page(form, preview=_preview(form))
    if form.validate_on_submit():
        answer = act(
            lambda: services.create_draft(actor=actor(), content=form.content()),
            form=form,
            done=_("Your draft is saved. Only you and the co-authors you invite can see it."),
            then=lambda proposal: url_for("proposals.show", proposal_id=proposal.id),
        )
        if answer is not None:
            return answer
    return _new_page(form)


def _new_page(form: ProposalForm, *, preview: dict | None = None, status: int = 200):
    return render_template("proposals/new.html", form=form, preview=preview), status


# No login_required: a signed-out visitor gets the same 404 as everyone else who may not see a draft.
@bp.route("/proposals/<int:proposal_id>/edit", methods=["GET", "POST"])
def edit(proposal_id: int):
    proposal = visible_proposal(proposal_id)
    if request.method == "POST" and not can_edit_proposal(current_user, proposal) and can_act_as_author(
        current_user, proposal
    ):
        # A co-author sent the proposal on while this form was open: give the text back to copy.
        return _no_longer_editable(proposal, status=409)
    require(can_edit_proposal(current_user, proposal))
    if request.method == "GET":
        form = EditProposalForm(
            data={**ProposalForm.initial_data(_stored_content(proposal)), "opened_at_version": str(proposal.version)},
            member_states=member_states(),
        )
    else:
        form = EditProposalForm(member_states=member_states())
    if _wants_preview():
        return _edit_page(proposal, form, preview=_preview(form))
    if form.validate_on_submit():
        answer = act(
            lambda: services.save_content(
                actor=actor(),
                proposal=proposal,
                content=form.content(),
                opened_at_version=int(form.opened_at_version.data),
            ),
            form=form,
            refusals={services.EditConflict: lambda conflict: _edit_conflict(form, conflict)},
            done=_("Your changes are saved."),
            then=url_for("proposals.show", proposal_id=proposal.id),
        )
        if answer is not None:
            return answer
    return _edit_page(proposal, form)


def _edit_conflict(form: EditProposalForm, conflict: services.EditConflict):
    """A co-author saved meanwhile: the form as typed beside the stored version (the rollback expired the
    proposal, so it is read as stored), to merge and save again."""
    form.opened_at_version.data = str(conflict.proposal.version)
    form.form_errors.append(conflict.message)
    return _edit_page(conflict.proposal, form, stored=conflict.proposal, status=409)


def _edit_page(proposal: Proposal, form: EditProposalForm, *, preview: dict | None = None,
               stored: Proposal | None = None, status: int = 200):
    return render_template(
        "proposals/edit.html",
        proposal=proposal,
        form=form,
        preview=preview,
        stored=stored,
        language_name=language_name,
    ), status


def _stored_content(proposal: Proposal) -> services.Content:
    return services.Content(
        title=proposal.title,
        summary=proposal.summary,
        body=proposal.body,
        language=proposal.language,
        dimensions=[row.dimension.value for row in proposal.dimensions],
        member_state_ids=[row.member_state_id for row in proposal.member_states],
        keywords=[row.keyword for row in proposal.keywords],
    )


def _wants_preview() -> bool:
    """The form's "Preview" button was pressed (its CSRF token was checked before the view ran)."""
    return request.method == "POST" and "preview" in request.form


def _preview(form: ProposalForm) -> dict:
    """What readers will see of the typed text, rendered as it will be stored; nothing is saved."""
    return {
        "title": form.title.data or "",
        "summary": form.summary.data or "",
        "body_html": sanitize.render_markdown(form.body.data or ""),
    }


def _kept_text_page(message: str, *, status: int, back_url: str | None = None):
    """The posted title, summary and text in read-only fields to copy: only what was posted, never
    anything stored, so it is safe whoever asks. ``back_url`` leads back to a form to paste them into."""
    posted = {name: request.form.get(name, "") for name in ("title", "summary", "body")}
    return render_template("proposals/kept_text.html", message=message, posted=posted, back_url=back_url), status


def _no_longer_editable(proposal: Proposal, *, status: int):
    return _kept_text_page(
        _("The proposal can no longer be edited: it is %(state)s now. Your text was not saved; it is "
          "kept below so you can copy it.", state=proposal.state.label.lower()),
        status=status,
    )


def _form_after_refused_token(endpoint: str):
    """Answer a proposal form whose CSRF token was refused (an expired session) without losing its text.

    The signed-out writer gets the posted text back to copy; one who may still write gets the form
    again, filled in as posted, with a fresh token. Anyone else gets the generic page (None).
    """
    expired = _("Your session's security token expired; your text is kept below, save again.")
    if not is_signed_in(current_user):
        return _kept_text_page(
            _("Your session has expired and you are signed out, so your text was not saved. It is kept below: "
              "copy it, sign in again and paste it into the form."),
            status=400,
        )
    if endpoint == "proposals.new":
        if not can_write_proposals(current_user):
            return None
        form = ProposalForm(member_states=member_states())
        form.form_errors.append(expired)
        return _new_page(form, status=400)
    proposal = db.session.get(Proposal, (request.view_args or {}).get("proposal_id"))
    if proposal is None or not can_act_as_author(current_user, proposal):
        return None
    if not can_edit_proposal(current_user, proposal):
        return _no_longer_editable(proposal, status=400)
    if endpoint == "proposals.translation":
        language = (request.view_args or {}).get("language")
        if language not in translations.translatable_languages(proposal):
            return None
        form = TranslationForm()
        form.form_errors.append(expired)
        return _translation_page(proposal, language, form, status=400)
    form = EditProposalForm(member_states=member_states())
    form.form_errors.append(expired)
    return _edit_page(proposal, form, status=400)


def _register_token_recovery(state) -> None:
    for endpoint in ("proposals.new", "proposals.edit", "proposals.translation"):
        recover_refused_token(state.app, endpoint, lambda endpoint=endpoint: _form_after_refused_token(endpoint))


bp.record_once(_register_token_recovery)


# --- The proposal page -------------------------------------------------------------------------


@bp.get("/proposals/<int:proposal_id>")
def show(proposal_id: int):
    proposal = visible_proposal(proposal_id)
    run_before_page("proposals.show", proposal=proposal, viewer=current_user)  # settles a due round (review)
    return _proposal_page(proposal)


@bp.get("/proposals/<reference>")
def permalink(reference: str):
    """The permanent address of a submitted proposal: its reference, such as EP-2026-0042."""
    reference = reference.upper()
    if not REFERENCE_PATTERN.fullmatch(reference):
        abort(404)
    proposal = db.session.scalar(select(Proposal).where(Proposal.reference == reference))
    if proposal is None or not can_view_proposal(current_user, proposal):
        abort(404)
    run_before_page("proposals.show", proposal=proposal, viewer=current_user)  # settles a due round (review)
    return _proposal_page(proposal)


def _proposal_page(proposal: Proposal, *, invite_form: InviteCoauthorForm | None = None,
                   failed_action: tuple[ProposalAction, ActionNoteForm] | None = None, status: int = 200):
    viewer = current_user
    events = db.session.scalars(
        select(ProposalEvent).where(ProposalEvent.proposal_id == proposal.id).order_by(ProposalEvent.id)
    ).all()
    action_forms = {action: ActionNoteForm(formdata=None) for action in _author_actions(proposal)}
    texts = translations.texts_of_proposal(proposal)
    can_edit = can_edit_proposal(viewer, proposal)
    can_manage = can_manage_coauthors(viewer, proposal)
    if failed_action is not None and failed_action[0] in action_forms:
        action_forms[failed_action[0]] = failed_action[1]
    return render_template(
        "proposals/show.html",
        proposal=proposal,
        progress=_progress(proposal),
        authors=sorted(proposal.coauthors, key=lambda row: (not row.is_lead, row.id)),
        invited=[row for row in proposal.authors if row.status == AuthorStatus.INVITED],
        events=[(event, describe_event(event)) for event in events if can_view_event(viewer, proposal, event)],
        action_forms=action_forms,
        can_edit=can_edit,
        texts=texts,
        shown=translations.chosen_text(texts, request.args.get("text")),
        text_link=_text_link(proposal),
        translation_slots=_translation_slots(proposal) if can_edit else [],
        can_manage=can_manage,
        # Only for who may invite: a form's CSRF token would give every anonymous reader a session cookie.
        invite_form=invite_form or (InviteCoauthorForm(formdata=None) if can_manage else None),
        language_name=language_name,
        # ``shared_reviews`` and ``decision`` (the review package adds them), ``related`` and ``citation``
        # (the archive package): proposals imports neither.
        **page_parts("proposals.show", proposal=proposal, viewer=viewer),
    ), status


def _text_link(proposal: Proposal):
    """The reader switch's addresses: the permalink's when the page was reached by it, else the page's by id
    (also when a form of the page was refused and the page is shown at the form's address)."""
    if request.endpoint == "proposals.permalink":
        return lambda code: url_for("proposals.permalink", reference=proposal.reference, text=code)
    return lambda code: url_for("proposals.show", proposal_id=proposal.id, text=code)


def _translation_slots(proposal: Proposal) -> list[tuple[str, str, object]]:
    """For the authors' "Translations" section: (code, name, translation or None) of each working
    language the proposal may be translated into."""
    return [
        (code, LANGUAGE_NAMES[code], translations.translation_in(proposal, code))
        for code in translations.translatable_languages(proposal)
    ]


def _author_actions(proposal: Proposal) -> list[ProposalAction]:
    return [action for action in workflow.available_actions(proposal, current_user) if action in AUTHOR_ACTIONS]


def _progress(proposal: Proposal) -> list[tuple[ProposalState, str]]:
    """Each step with "done", "current" or "todo". A proposal off the main path (returned,
    withdrawn, not endorsed) has no current step: the steps it reached are done."""
    states = [state for state, _stamp in PROGRESS_STEPS]
    if proposal.state in states:
        position = states.index(proposal.state)
        return [
            (state, "done" if index < position else "current" if index == position else "todo")
            for index, state in enumerate(states)
        ]
    return [(state, "done" if getattr(proposal, stamp) else "todo") for state, stamp in PROGRESS_STEPS]


#: Timeline sentences, given ``actor``, ``name`` (the person or file the note names) and ``number`` (the revision).
_EVENT_SENTENCES = {
    "created": lambda v: _("%(actor)s started the draft.", **v),
    "imported": lambda v: _("Imported from the archive of the earlier forum's outcomes.", **v),
    "coauthor_invited": lambda v: _("%(actor)s invited %(name)s to co-author.", **v),
    "coauthor_accepted": lambda v: _("%(actor)s accepted the invitation to co-author.", **v),
    "coauthor_declined": lambda v: _("%(actor)s declined the invitation to co-author.", **v),
    "coauthor_removed": lambda v: _("%(actor)s removed %(name)s from the authors.", **v),
    "lead_handed": lambda v: _("%(actor)s handed the lead to %(name)s.", **v),
    "annex_added": lambda v: _("%(actor)s attached the annex %(name)s.", **v),
    "annex_removed": lambda v: _("%(actor)s removed the annex %(name)s.", **v),
    A.SUBMIT.value: lambda v: _("%(actor)s submitted revision %(number)s to the council.", **v),
    A.START_REVIEW.value: lambda v: _("%(actor)s started the review.", **v),
    A.RETURN_FOR_REVISION.value: lambda v: _("%(actor)s returned the proposal to its authors for revision.", **v),
    A.RESUBMIT.value: lambda v: _("%(actor)s resubmitted the proposal as revision %(number)s.", **v),
    A.OPEN_CONSENSUS.value: lambda v: _("%(actor)s opened the consensus round.", **v),
    A.ENDORSE.value: lambda v: _("%(actor)s endorsed the proposal: the consensus rule is met.", **v),
    A.CLOSE_WITHOUT_CONSENSUS.value: lambda v: _("%(actor)s closed the round without consensus.", **v),
    A.WITHDRAW.value: lambda v: _("%(actor)s withdrew the proposal.", **v),
}
#: Events whose note is the name of a person or file, not a note to show.
_NAMING_EVENTS = frozenset({
    "coauthor_invited", "coauthor_accepted", "coauthor_declined", "coauthor_removed", "lead_handed",
    "annex_added", "annex_removed",
})


def _unknown_event(values: dict) -> str:
    return _("%(actor)s changed the proposal.", **values)


def describe_event(event: ProposalEvent) -> dict:
    """A timeline entry: one translated sentence, and the note written with it (if any)."""
    names_someone = event.action in _NAMING_EVENTS
    values = {
        "actor": event.actor.display_name if event.actor is not None else _("The platform"),
        "name": (event.note or "") if names_someone else "",
        "number": event.revision_number or "",
    }
    text = _EVENT_SENTENCES.get(event.action, _unknown_event)(values)
    return {"text": text, "note": None if names_someone else event.note}


# --- Workflow buttons --------------------------------------------------------------------------


_ACTION_DONE = {
    A.SUBMIT: lambda proposal: _("The proposal is submitted to the council. Its reference is %(reference)s.",
                                 reference=proposal.reference),
    A.RESUBMIT: lambda proposal: _("The revised proposal is sent to the council again."),
    A.WITHDRAW: lambda proposal: _("The proposal is withdrawn."),
}


@bp.post("/proposals/<int:proposal_id>/actions/<action>", endpoint="act")
@login_required
def take_action(proposal_id: int, action: str):
    proposal = visible_proposal(proposal_id)
    try:
        chosen = ProposalAction(action)
    except ValueError:
        abort(404)
    if chosen not in AUTHOR_ACTIONS:
        abort(404)
    require(can_act_as_author(current_user, proposal))
    form = ActionNoteForm()
    if form.validate_on_submit():
        answer = act(
            lambda: workflow.transition(proposal, chosen, actor=actor(), note=form.note.data),
            form=form,
            # A note or content to complete (ValidationFailed) stays in its form; the other refusals of
            # ``transition`` mean the state changed meanwhile: the proposal is shown as it is now.
            flashed=(InvalidTransition, NotAllowed),
            done=lambda _event: _ACTION_DONE[chosen](proposal),
            then=url_for("proposals.show", proposal_id=proposal.id),
        )
        if answer is not None:
            return answer
    return _proposal_page(proposal, failed_action=(chosen, form))


# --- Co-authors --------------------------------------------------------------------------------


@bp.post("/proposals/<int:proposal_id>/coauthors")
@login_required
def invite_coauthor(proposal_id: int):
    proposal = visible_proposal(proposal_id)
    require(can_manage_coauthors(current_user, proposal))
    form = InviteCoauthorForm()
    if form.validate_on_submit():
        answer = act(
            lambda: coauthors.invite(actor=actor(), proposal=proposal, user=find_user_by_email(form.email.data)),
            form=form,
            done=lambda row: _("%(name)s is invited to co-author and has been emailed.", name=row.user.display_name),
            then=url_for("proposals.show", proposal_id=proposal.id),
        )
        if answer is not None:
            return answer
    return _proposal_page(proposal, invite_form=form)


@bp.post("/proposals/<int:proposal_id>/coauthors/<int:author_id>/remove")
@login_required
def remove_coauthor(proposal_id: int, author_id: int):
    proposal = visible_proposal(proposal_id)
    author = _author_of(proposal, author_id)
    require(can_manage_coauthors(current_user, proposal))
    name = author.user.display_name
    check_button()
    return act(
        lambda: coauthors.remove(actor=actor(), proposal=proposal, author=author),
        done=_("%(name)s is no longer an author of this proposal.", name=name),
        then=url_for("proposals.show", proposal_id=proposal.id),
    )


@bp.post("/proposals/<int:proposal_id>/coauthors/<int:author_id>/lead")
@login_required
def hand_lead(proposal_id: int, author_id: int):
    proposal = visible_proposal(proposal_id)
    author = _author_of(proposal, author_id)
    require(can_manage_coauthors(current_user, proposal))
    check_button()
    return act(
        lambda: coauthors.hand_lead(actor=actor(), proposal=proposal, to=author),
        done=_("%(name)s now leads the proposal.", name=author.user.display_name),
        then=url_for("proposals.show", proposal_id=proposal.id),
    )


@bp.post("/proposals/<int:proposal_id>/invitation")
@login_required
def answer_invitation(proposal_id: int):
    proposal = db.session.get(Proposal, proposal_id)
    # The invited person cannot see a draft yet: the invitation itself is what makes it findable here.
    invited = proposal is not None and can_answer_coauthor_invitation(current_user, proposal)
    if not invited and (proposal is None or not can_view_proposal(current_user, proposal)):
        abort(404)
    require(invited)
    answer = request.form.get("answer")
    if answer not in (ANSWER_ACCEPT, ANSWER_DECLINE) or not ActionForm().validate_on_submit():
        abort(400)
    accept = answer == ANSWER_ACCEPT

    def respond() -> bool:
        coauthors.respond(actor=actor(), proposal=proposal, accept=accept)
        return accept

    return act(
        respond,
        done=lambda accepted: (_("You are now a co-author of “%(title)s”.", title=proposal.title) if accepted
                               else _("You declined to co-author “%(title)s”.", title=proposal.title)),
        # A refusal (None) goes back to "My proposals", as a declined invitation does.
        then=lambda accepted: url_for("proposals.show", proposal_id=proposal.id) if accepted
        else url_for("proposals.mine"),
    )


# --- Translations ------------------------------------------------------------------------------


def _translatable_language(proposal: Proposal, language: str) -> str:
    """``language`` if the proposal may have a translation into it; 404 for any other (not a working
    language, or the original's)."""
    if language not in translations.translatable_languages(proposal):
        abort(404)
    return language


# No login_required: a signed-out visitor gets the same 404 as everyone else who may not see a draft.
@bp.route("/proposals/<int:proposal_id>/translations/<language>", methods=["GET", "POST"])
def translation(proposal_id: int, language: str):
    """Add or edit the translation into ``language``: the co-authors, while they may edit the proposal."""
    proposal = visible_proposal(proposal_id)
    _translatable_language(proposal, language)
    if request.method == "POST" and not can_edit_proposal(current_user, proposal) and can_act_as_author(
        current_user, proposal
    ):
        return _no_longer_editable(proposal, status=409)
    require(can_edit_proposal(current_user, proposal))
    if request.method == "GET":
        stored = translations.translation_in(proposal, language)
        initial = {"opened_at_version": str(proposal.version)}
        if stored is not None:
            initial.update(title=stored.title, summary=stored.summary, body=stored.body, status=stored.status.value)
        form = TranslationForm(data=initial)
    else:
        form = TranslationForm()
    if _wants_preview():
        return _translation_page(proposal, language, form, preview=_preview(form))
    if form.validate_on_submit():
        answer = act(
            lambda: translations.save_translation(
                actor=actor(), proposal=proposal, language=language, content=form.content(),
                opened_at_version=int(form.opened_at_version.data),
            ),
            form=form,
            refusals={services.EditConflict: lambda _conflict: _kept_text_page(
                _("A co-author saved this proposal after you opened the translation. Your text was not saved; it "
                  "is kept below: copy it, open the translation again and merge it there."),
                status=409,
                back_url=url_for("proposals.translation", proposal_id=proposal.id, language=language),
            )},
            done=_("The translation is saved."),
            then=url_for("proposals.show", proposal_id=proposal.id, text=language),
        )
        if answer is not None:
            return answer
    return _translation_page(proposal, language, form)


def _translation_page(proposal: Proposal, language: str, form: TranslationForm, *, preview: dict | None = None,
                      status: int = 200):
    return render_template(
        "proposals/translation.html",
        proposal=proposal,
        language=language,
        language_autonym=LANGUAGE_NAMES[language],
        is_new=translations.translation_in(proposal, language) is None,
        form=form,
        preview=preview,
        language_name=language_name,
    ), status


@bp.route("/proposals/<int:proposal_id>/translations/<language>/remove", methods=["GET", "POST"])
def remove_translation(proposal_id: int, language: str):
    """Ask, then remove the translation into ``language`` (frozen revisions keep theirs)."""
    proposal = visible_proposal(proposal_id)
    _translatable_language(proposal, language)
    require(can_edit_proposal(current_user, proposal))
    stored = translations.translation_in(proposal, language)
    if stored is None:
        abort(404)
    form = ActionForm()
    if request.method == "GET":
        return render_template("proposals/remove_translation.html", proposal=proposal, translation=stored,
                               language_autonym=LANGUAGE_NAMES[language], form=form)
    check_button(form)
    return act(
        lambda: translations.remove_translation(actor=actor(), proposal=proposal, language=language),
        done=_("The translation is removed."),
        then=url_for("proposals.show", proposal_id=proposal.id),
    )
