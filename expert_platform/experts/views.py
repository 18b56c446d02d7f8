"""Expert profiles and the expert directory."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..extensions import db
from ..permissions import can_have_profile, can_view_profile, require
from ..reference.services import member_states
from ..web import act, actor, add_page_part
from . import services
from .forms import DirectoryFilterForm, ExpertProfileForm
from .languages import language_name
from .orcid import address as orcid_address

bp = Blueprint("experts", __name__)

EXPERTS_PER_PAGE = 20


@bp.route("/account/profile", methods=["GET", "POST"])
@login_required
def edit_profile():
    user = actor()
    require(can_have_profile(user, services.memberships_of(user)))
    profile = services.find_profile(user.id)
    has_profile = profile is not None
    form = ExpertProfileForm(data=ExpertProfileForm.initial_data(profile), countries=services.country_options())
    if form.validate_on_submit():
        answer = act(
            # The profile row is made on the first save, so a GET never writes.
            lambda: services.update_profile(
                actor=user, profile=profile or services.ensure_profile(user), **form.profile_values()
            ),
            form=form,
            done=_("Your expert profile is saved."),
            then=url_for("experts.edit_profile"),
        )
        if answer is not None:
            return answer
    return render_template("experts/edit_profile.html", form=form, has_profile=has_profile)


@bp.get("/experts/<int:user_id>")
def show(user_id: int):
    profile = services.find_profile(user_id)
    if profile is None or not can_view_profile(current_user, profile):
        abort(404)
    think_tanks = services.think_tanks_of([profile.user_id])[profile.user_id]
    return render_template(
        "experts/show.html",
        profile=profile,
        think_tanks=think_tanks,
        language_name=language_name,
        orcid_address=orcid_address,
    )


@bp.get("/experts")
def directory():
    search = DirectoryFilterForm(request.args, member_states=member_states())
    search.validate()
    statement = services.directory_statement(viewer=current_user, filters=search.directory_filters())
    page = db.paginate(statement, per_page=EXPERTS_PER_PAGE, max_per_page=EXPERTS_PER_PAGE, error_out=False)
    think_tanks = services.think_tanks_of(profile.user_id for profile in page.items)
    return render_template(
        "experts/directory.html",
        page=page,
        search=search,
        think_tanks=think_tanks,
        language_name=language_name,
    )


# --- What experts add to other packages' pages ---------------------------------------------------

#: The public page of a think tank lists the profiles of its members that the viewer may see.
add_page_part("thinktanks.show", "experts",
              lambda *, think_tank, viewer: services.member_profiles(think_tank, viewer))
