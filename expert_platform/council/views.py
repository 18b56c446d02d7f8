"""The public council page and the secretariat's appointments."""

from __future__ import annotations

from flask import Blueprint, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..accounts.services import find_user_by_email
from ..enums import DelegationRole
from ..extensions import db
from ..forms import ActionForm
from ..permissions import can_manage_council, require
from ..reference.models import MemberState
from ..reference.services import member_states
from ..web import act, actor
from . import services
from .forms import AppointForm
from .models import DelegationSeat

bp = Blueprint("council", __name__)


@bp.get("/council")
def index():
    delegations = services.current_delegations()
    return render_template(
        "council/index.html", delegations=delegations, member_state_count=len(member_states())
    )


def _manage_page(form: AppointForm):
    form.set_member_states(member_states())
    return render_template(
        "council/manage.html",
        form=form,
        action_form=ActionForm(),
        delegations=services.current_delegations(),
        past_seats=services.past_seats(),
    )


@bp.get("/secretariat/council")
@login_required
def manage():
    require(can_manage_council(current_user))
    return _manage_page(AppointForm())


@bp.post("/secretariat/council/appoint")
@login_required
def appoint():
    require(can_manage_council(current_user))
    form = AppointForm()
    form.set_member_states(member_states())
    if form.validate_on_submit():
        user = find_user_by_email(form.email.data)
        if user is None:
            form.email.errors.append(_("No account has this email address. The person must create an account first."))
            return _manage_page(form)
        member_state = db.session.get(MemberState, int(form.member_state.data))
        role = DelegationRole(form.role.data)
        answer = act(
            lambda: services.appoint(actor=actor(), user=user, member_state=member_state, role=role),
            form=form,
            done=lambda _seat: _("%(name)s is appointed to the delegation of %(state)s (%(role)s).",
                                 name=user.display_name, state=member_state.name, role=role.label),
            then=url_for("council.manage"),
        )
        if answer is not None:
            return answer
    return _manage_page(form)


def _change_seat(seat_id: int, change, success_message):
    """Authorise, load a seat (404), apply one seat service (``change(actor=, seat=)``), and go back to the
    council page with its result or refusal flashed (the CSRF token was checked before the view ran)."""
    require(can_manage_council(current_user))
    seat = db.get_or_404(DelegationSeat, seat_id)
    name = seat.user.display_name
    return act(lambda: change(actor=actor(), seat=seat), done=success_message(name), then=url_for("council.manage"))


@bp.post("/secretariat/council/seats/<int:seat_id>/remove")
@login_required
def remove_seat(seat_id: int):
    return _change_seat(seat_id, services.remove, lambda name: _("%(name)s is removed from the council.", name=name))


@bp.post("/secretariat/council/seats/<int:seat_id>/make-head")
@login_required
def make_head(seat_id: int):
    return _change_seat(seat_id, services.make_head,
                        lambda name: _("%(name)s is now the head of the delegation.", name=name))
