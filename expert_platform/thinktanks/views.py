"""Think tanks: public pages, applications and their review, managing members and invitations."""

from __future__ import annotations

from itertools import groupby

from flask import Blueprint, abort, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user
from sqlalchemy import case, select

from ..accounts.services import find_user_by_email
from ..enums import ThinkTankStatus
from ..extensions import db, limiter
from ..forms import ActionForm
from ..permissions import (
    can_accept_invitation,
    can_manage_think_tank,
    can_review_applications,
    can_view_think_tank,
    can_view_think_tank_members,
    is_signed_in,
    require,
)
from ..reference.models import MemberState
from ..reference.services import by_display_name, member_states
from ..web import act, actor, add_page_part, check_button, get_child_or_404, page_parts
from . import services
from .forms import (
    DECISION_APPROVE,
    DECISION_REJECT,
    ApplicationFilterForm,
    ApplicationForm,
    ApproveForm,
    InvitationAccountForm,
    InvitationForm,
    MembershipRoleForm,
    RejectForm,
)
from .models import Invitation, Membership, ThinkTank

bp = Blueprint("thinktanks", __name__)

_INVITATION_SESSION_KEY = "invitation_token"
APPLICATIONS_PER_PAGE = 50


def _visible_think_tank(think_tank_id: int) -> ThinkTank:
    """The think tank, or 404 when it does not exist or the viewer may not see it."""
    think_tank = db.session.get(ThinkTank, think_tank_id)
    if think_tank is None or not can_view_think_tank(current_user, think_tank):
        abort(404)
    return think_tank


def _managed_think_tank(think_tank_id: int) -> ThinkTank:
    """A visible think tank the viewer manages now (403 otherwise, also once it is read-only)."""
    think_tank = _visible_think_tank(think_tank_id)
    require(can_manage_think_tank(current_user, think_tank, services.today()))
    return think_tank


# --- Public pages ------------------------------------------------------------------------------


@bp.get("/thinktanks")
def index():
    think_tanks = db.session.scalars(
        select(ThinkTank)
        .join(MemberState, MemberState.id == ThinkTank.member_state_id)
        .where(ThinkTank.status == ThinkTankStatus.APPROVED)
        .order_by(MemberState.name, ThinkTank.name, ThinkTank.id)
    ).all()
    groups = [(state, list(members)) for state, members in groupby(think_tanks, key=lambda tank: tank.member_state)]
    return render_template("thinktanks/index.html", groups=groups, today=services.today())


@bp.route("/thinktanks/apply", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def apply():
    form = ApplicationForm()
    form.member_state.choices = [("", _("Choose a member state"))] + [
        (str(state.id), state.display_name) for state in by_display_name(member_states())
    ]
    if request.method == "GET" and is_signed_in(current_user):
        form.contact_name.data = current_user.display_name
        form.contact_email.data = current_user.email
    if form.validate_on_submit():
        answer = act(
            lambda: services.apply(
                actor=actor(),
                name=form.name.data,
                member_state_id=int(form.member_state.data),
                website=form.website.data,
                description=form.description.data,
                contact_name=form.contact_name.data,
                contact_email=form.contact_email.data,
                participation=form.participation.data,
                ends_on=form.ends_on.data,
            ),
            form=form,
            then=url_for("thinktanks.application_received"),
        )
        if answer is not None:
            return answer
    return render_template("thinktanks/apply.html", form=form)


@bp.get("/thinktanks/apply/received")
def application_received():
    return render_template("thinktanks/application_received.html")


@bp.get("/thinktanks/<int:think_tank_id>")
def show(think_tank_id: int):
    think_tank = _visible_think_tank(think_tank_id)
    # ``experts``: the members' profiles the viewer may see (the experts package adds them).
    return render_template("thinktanks/show.html", think_tank=think_tank, today=services.today(),
                           **page_parts("thinktanks.show", think_tank=think_tank, viewer=current_user))


# --- The secretariat's review ------------------------------------------------------------------


@bp.get("/secretariat/applications")
@login_required
def applications():
    require(can_review_applications(current_user))
    search = ApplicationFilterForm(request.args)
    awaiting_first = case((ThinkTank.status == ThinkTankStatus.PENDING, 0), else_=1)
    statement = select(ThinkTank).order_by(awaiting_first, ThinkTank.created_at.desc(), ThinkTank.id.desc())
    if search.validate() and search.status.data:
        statement = statement.where(ThinkTank.status == ThinkTankStatus(search.status.data))
    page = db.paginate(statement, per_page=APPLICATIONS_PER_PAGE, max_per_page=APPLICATIONS_PER_PAGE, error_out=False)
    return render_template("thinktanks/applications.html", page=page, search=search)


@bp.route("/secretariat/applications/<int:think_tank_id>", methods=["GET", "POST"])
@login_required
def review(think_tank_id: int):
    require(can_review_applications(current_user))
    think_tank = db.get_or_404(ThinkTank, think_tank_id)
    decision = request.form.get("decision") if request.method == "POST" else None
    if request.method == "POST" and decision not in {DECISION_APPROVE, DECISION_REJECT}:
        abort(400)
    # Both forms are on the page; only the one whose button was pressed reads the request.
    approve_form = ApproveForm(
        formdata=request.form if decision == DECISION_APPROVE else None,
        prefix=DECISION_APPROVE,
        data={"participation": think_tank.participation.value, "ends_on": think_tank.participation_ends_on},
    )
    reject_form = RejectForm(formdata=request.form if decision == DECISION_REJECT else None, prefix=DECISION_REJECT)
    form = approve_form if decision == DECISION_APPROVE else reject_form
    if decision and form.validate_on_submit():

        def decide():
            if decision == DECISION_APPROVE:
                return services.approve(
                    actor=actor(),
                    think_tank=think_tank,
                    participation=approve_form.participation.data,
                    ends_on=approve_form.ends_on.data,
                )
            return services.reject(actor=actor(), think_tank=think_tank, reason=reject_form.reason.data)

        answer = act(
            decide,
            form=form,
            done=lambda _result: (
                _("%(name)s is approved. The contact person has been emailed.", name=think_tank.name)
                if decision == DECISION_APPROVE
                else _("%(name)s is rejected. The reason has been emailed.", name=think_tank.name)
            ),
            then=url_for("thinktanks.review", think_tank_id=think_tank.id),
        )
        if answer is not None:
            return answer
    return render_template(
        "thinktanks/review.html", think_tank=think_tank, approve_form=approve_form, reject_form=reject_form
    )


# --- Members and invitations -------------------------------------------------------------------


def _members_page(think_tank: ThinkTank, invite_form: InvitationForm | None = None):
    memberships = sorted(
        think_tank.memberships, key=lambda m: (not m.is_active, m.user.display_name.lower(), m.id)
    )
    return render_template(
        "thinktanks/members.html",
        think_tank=think_tank,
        memberships=memberships,
        invitations=services.waiting_invitations(think_tank),
        invite_form=invite_form or InvitationForm(formdata=None),
        action_form=ActionForm(),
        now=services.utcnow(),
        can_manage=can_manage_think_tank(current_user, think_tank, services.today()),
        today=services.today(),
    )


@bp.get("/thinktanks/<int:think_tank_id>/members")
@login_required
def members(think_tank_id: int):
    think_tank = _visible_think_tank(think_tank_id)
    require(can_view_think_tank_members(current_user, think_tank))
    return _members_page(think_tank)


@bp.post("/thinktanks/<int:think_tank_id>/invitations")
@login_required
def invite(think_tank_id: int):
    think_tank = _managed_think_tank(think_tank_id)
    form = InvitationForm()
    if form.validate_on_submit():
        answer = act(
            lambda: services.invite(actor=actor(), think_tank=think_tank, email=form.email.data, role=form.role.data),
            form=form,
            done=lambda invitation: _("An invitation has been emailed to %(email)s.", email=invitation.email),
            then=_members_url(think_tank),
        )
        if answer is not None:
            return answer
    return _members_page(think_tank, form)


def _members_url(think_tank: ThinkTank) -> str:
    """The members page: where its buttons lead back to, with their result or refusal flashed."""
    return url_for("thinktanks.members", think_tank_id=think_tank.id)


def _invitation_of(think_tank: ThinkTank, invitation_id: int) -> Invitation:
    return get_child_or_404(Invitation, invitation_id, think_tank_id=think_tank.id)


def _membership_of(think_tank: ThinkTank, membership_id: int) -> Membership:
    return get_child_or_404(Membership, membership_id, think_tank_id=think_tank.id)


@bp.post("/thinktanks/<int:think_tank_id>/invitations/<int:invitation_id>/resend")
@login_required
def resend_invitation(think_tank_id: int, invitation_id: int):
    think_tank = _managed_think_tank(think_tank_id)
    invitation = _invitation_of(think_tank, invitation_id)
    check_button()
    return act(
        lambda: services.resend_invitation(actor=actor(), invitation=invitation),
        done=_("The invitation has been sent again to %(email)s. The earlier link no longer works.",
               email=invitation.email),
        then=_members_url(think_tank),
    )


@bp.post("/thinktanks/<int:think_tank_id>/invitations/<int:invitation_id>/revoke")
@login_required
def revoke_invitation(think_tank_id: int, invitation_id: int):
    think_tank = _managed_think_tank(think_tank_id)
    invitation = _invitation_of(think_tank, invitation_id)
    check_button()
    return act(
        lambda: services.revoke_invitation(actor=actor(), invitation=invitation),
        done=_("The invitation to %(email)s is withdrawn.", email=invitation.email),
        then=_members_url(think_tank),
    )


@bp.post("/thinktanks/<int:think_tank_id>/members/<int:membership_id>/deactivate")
@login_required
def deactivate_membership(think_tank_id: int, membership_id: int):
    think_tank = _managed_think_tank(think_tank_id)
    membership = _membership_of(think_tank, membership_id)
    check_button()
    return act(
        lambda: services.deactivate_membership(actor=actor(), membership=membership),
        done=_("%(name)s is deactivated.", name=membership.user.display_name),
        then=_members_url(think_tank),
    )


@bp.post("/thinktanks/<int:think_tank_id>/members/<int:membership_id>/reactivate")
@login_required
def reactivate_membership(think_tank_id: int, membership_id: int):
    think_tank = _managed_think_tank(think_tank_id)
    membership = _membership_of(think_tank, membership_id)
    check_button()
    return act(
        lambda: services.reactivate_membership(actor=actor(), membership=membership),
        done=_("%(name)s is active again.", name=membership.user.display_name),
        then=_members_url(think_tank),
    )


@bp.post("/thinktanks/<int:think_tank_id>/members/<int:membership_id>/role")
@login_required
def change_membership_role(think_tank_id: int, membership_id: int):
    think_tank = _managed_think_tank(think_tank_id)
    membership = _membership_of(think_tank, membership_id)
    form = check_button(MembershipRoleForm())
    return act(
        lambda: services.change_membership_role(actor=actor(), membership=membership, role=form.role.data),
        done=_("The role of %(name)s is changed.", name=membership.user.display_name),
        then=_members_url(think_tank),
    )


# --- Accepting an invitation -------------------------------------------------------------------


@bp.get("/invitations/<token>")
def invitation_link(token: str):
    # Move the token out of the address bar into the session (no history, logs or Referer).
    session[_INVITATION_SESSION_KEY] = token[:256]
    return redirect(url_for("thinktanks.accept_invitation"))


@bp.route("/invitations/accept", methods=["GET", "POST"])
def accept_invitation():
    token = session.get(_INVITATION_SESSION_KEY, "")
    invitation = services.find_usable_invitation(token)
    if invitation is None:
        session.pop(_INVITATION_SESSION_KEY, None)
        return render_template("thinktanks/invitation_invalid.html"), 400
    signed_in = is_signed_in(current_user)
    is_invitee = can_accept_invitation(current_user, invitation)
    has_account = is_invitee or find_user_by_email(invitation.email) is not None
    accept_form = ActionForm() if is_invitee else None
    account_form = InvitationAccountForm() if not signed_in and not has_account else None

    joined = _("Welcome: you are now a member of this think tank.")
    think_tank_id = invitation.think_tank_id
    if accept_form is not None and accept_form.validate_on_submit():
        answer = act(
            lambda: services.accept_invitation(actor=actor(), token=token),
            form=accept_form, done=joined, then=lambda _membership: _joined(think_tank_id),
        )
        if answer is not None:
            return answer
    if account_form is not None and account_form.validate_on_submit():
        answer = act(
            lambda: services.accept_invitation_with_new_account(
                token=token, display_name=account_form.display_name.data, password=account_form.new_password.data
            ),
            form=account_form, done=joined, then=lambda user: _joined(think_tank_id, signing_in=user),
        )
        if answer is not None:
            return answer
    return render_template(
        "thinktanks/accept_invitation.html",
        invitation=invitation,
        accept_form=accept_form,
        account_form=account_form,
        has_account=has_account,
    )


def _joined(think_tank_id: int, *, signing_in=None) -> str:
    """After an invitation is accepted (and committed): the token is used up; a new account is signed in."""
    session.pop(_INVITATION_SESSION_KEY, None)
    if signing_in is not None:
        login_user(signing_in)
    return url_for("thinktanks.show", think_tank_id=think_tank_id)


# --- What think tanks add to other packages' pages ---------------------------------------------

add_page_part("accounts.account", "memberships", lambda *, viewer: services.active_memberships_of(viewer))
