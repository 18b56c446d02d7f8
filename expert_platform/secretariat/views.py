"""The secretariat's dashboard, audit trail and reference-data editing."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from flask import Blueprint, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import and_, case, func, or_, select

from ..accounts.models import User
from ..audit.models import AuditRecord
from ..council.services import member_states_by_delegation
from ..database import LIKE_ESCAPE, contains_pattern, utcnow
from ..enums import Participation, StateKind, ThinkTankStatus
from ..extensions import db
from ..permissions import can_edit_reference_data, can_view_secretariat_pages, require
from ..reference import services as reference
from ..reference.models import MemberState
from ..thinktanks.models import Invitation, ThinkTank
from ..web import act, actor
from .forms import AuditFilterForm, MemberStateForm

bp = Blueprint("secretariat", __name__)

AUDIT_RECORDS_PER_PAGE = 50


# --- the dashboard ------------------------------------------------------------------------------


def _pending_application_count() -> int:
    return db.session.scalar(select(func.count(ThinkTank.id)).where(ThinkTank.status == ThinkTankStatus.PENDING))


def _open_invitation_count() -> int:
    """Invitations awaiting acceptance: not accepted, not revoked, not expired."""
    return db.session.scalar(
        select(func.count(Invitation.id)).where(
            Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None), Invitation.expires_at > utcnow()
        )
    )


def _think_tanks_by_state() -> list:
    """Per member state (and any other entry with an approved think tank), by name: the number of
    approved think tanks and the name of the lead one (None when there is none). One query."""
    approved_count = func.count(ThinkTank.id)
    # At most one approved lead per state (a unique index), so max() picks it out of the group.
    lead_name = func.max(case((ThinkTank.participation == Participation.LEAD, ThinkTank.name)))
    return db.session.execute(
        select(MemberState.name.label("state"), approved_count.label("approved"), lead_name.label("lead"))
        .outerjoin(
            ThinkTank,
            and_(ThinkTank.member_state_id == MemberState.id, ThinkTank.status == ThinkTankStatus.APPROVED),
        )
        .group_by(MemberState.id, MemberState.name, MemberState.kind)
        .having(or_(MemberState.kind == StateKind.MEMBER_STATE, approved_count > 0))
        .order_by(MemberState.name)
    ).all()


@bp.get("/secretariat")
@login_required
def dashboard():
    require(can_view_secretariat_pages(current_user))
    with_delegation, without_delegation = member_states_by_delegation()
    return render_template(
        "secretariat/dashboard.html",
        pending_applications=_pending_application_count(),
        open_invitations=_open_invitation_count(),
        think_tanks_by_state=_think_tanks_by_state(),
        with_delegation=with_delegation,
        without_delegation=without_delegation,
    )


# --- the audit trail ----------------------------------------------------------------------------


def _start_of(day) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _filtered_audit_records(filters: AuditFilterForm):
    """Audit records matching valid ``filters``, newest first."""
    statement = select(AuditRecord).order_by(AuditRecord.created_at.desc(), AuditRecord.id.desc())
    if filters.action.data:
        statement = statement.where(AuditRecord.action == filters.action.data)
    if filters.object_type.data:
        statement = statement.where(AuditRecord.object_type == filters.object_type.data)
    if filters.actor.data and filters.actor.data.strip():
        pattern = contains_pattern(filters.actor.data.strip().lower())
        statement = statement.join(User, User.id == AuditRecord.actor_id).where(
            User.email.like(pattern, escape=LIKE_ESCAPE)
        )
    if filters.date_from.data:
        statement = statement.where(AuditRecord.created_at >= _start_of(filters.date_from.data))
    if filters.date_to.data:
        statement = statement.where(AuditRecord.created_at < _start_of(filters.date_to.data + timedelta(days=1)))
    return statement


@bp.get("/secretariat/audit")
@login_required
def audit():
    require(can_view_secretariat_pages(current_user))
    filters = AuditFilterForm(request.args)
    page = None
    if filters.validate():
        page = db.paginate(
            _filtered_audit_records(filters),
            per_page=AUDIT_RECORDS_PER_PAGE,
            max_per_page=AUDIT_RECORDS_PER_PAGE,
            error_out=False,
        )
    return render_template("secretariat/audit.html", filters=filters, page=page)


# --- reference data -----------------------------------------------------------------------------


@bp.get("/secretariat/member-states")
@login_required
def member_states():
    require(can_edit_reference_data(current_user))
    states = reference.all_states()
    groups = [(kind, [state for state in states if state.kind == kind]) for kind in StateKind]
    return render_template("secretariat/member_states.html", groups=groups)


def _member_state_form_page(state: MemberState | None):
    """Add (``state`` is None) or edit a membership entry through the reference services, which
    validate and audit; a refusal re-renders the form with the input kept."""
    form = MemberStateForm(obj=state)
    if form.validate_on_submit():
        values = {"code": form.code.data, "name": form.name.data, "name_ru": form.name_ru.data,
                  "kind": StateKind(form.kind.data)}

        def save() -> str:
            """The saved entry's name, read before the commit expires it."""
            if state is None:
                return reference.add_state(actor=actor(), **values).name
            reference.update_state(actor=actor(), state=state, **values)
            return state.name

        answer = act(save, form=form, done=lambda name: _("%(name)s is saved.", name=name),
                     then=url_for("secretariat.member_states"))
        if answer is not None:
            return answer
    return render_template("secretariat/member_state_form.html", form=form, state=state)


@bp.route("/secretariat/member-states/new", methods=["GET", "POST"])
@login_required
def add_member_state():
    require(can_edit_reference_data(current_user))
    return _member_state_form_page(None)


@bp.route("/secretariat/member-states/<int:state_id>/edit", methods=["GET", "POST"])
@login_required
def edit_member_state(state_id: int):
    require(can_edit_reference_data(current_user))
    return _member_state_form_page(db.get_or_404(MemberState, state_id))
