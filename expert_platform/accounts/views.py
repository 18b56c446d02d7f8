"""Sign-up, sign-in, password reset, the user's own account, and the secretariat's user admin."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import or_, select

from ..database import LIKE_ESCAPE, contains_pattern, mark_request_as_writing
from ..enums import Role
from ..errors import DomainError
from ..extensions import db, limiter
from ..forms import ActionForm
from ..i18n import COOKIE_NAME, is_working_language
from ..permissions import can_manage_users, require
from ..security import safe_next_url
from ..web import act, actor, client_address, page_parts, show_error
from . import services
from .forms import (
    ChangePasswordForm,
    EmailOnlyForm,
    LoginForm,
    ProfileForm,
    ResetPasswordForm,
    SignUpForm,
    UserAdminForm,
    UserSearchForm,
)
from .models import User, UserRole

bp = Blueprint("accounts", __name__)

_RESET_SESSION_KEY = "password_reset_token"
USERS_PER_PAGE = 50


def _home() -> str:
    return url_for("main.index")


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    target = safe_next_url(form.next.data, _home())
    if current_user.is_authenticated:
        return redirect(target)
    if form.validate_on_submit():
        answer = act(
            lambda: _authenticate(form),
            form=form,
            then=lambda user: _signed_in(user, remember=form.remember.data, target=target),
            refusals={
                services.LoginThrottled: lambda error: _login_page(form, error, status=429),
                services.EmailNotConfirmed: lambda error: _login_page(form, error, unconfirmed=True),
            },
        )
        if answer is not None:
            return answer
    return _login_page(form)


def _login_page(form: LoginForm, error: DomainError | None = None, *, status: int = 200, unconfirmed: bool = False):
    if error is not None:
        show_error(form, error)
    return render_template("accounts/login.html", form=form, unconfirmed=unconfirmed), status


def _authenticate(form: LoginForm) -> User:
    user = services.authenticate(email=form.email.data, password=form.password.data, client_address=client_address())
    # A language chosen with the switcher before signing in becomes the account's, if it has none.
    chosen = request.cookies.get(COOKIE_NAME)
    if user.locale is None and is_working_language(chosen):
        services.set_locale(user=user, locale=chosen)
    return user


def _signed_in(user: User, *, remember: bool, target: str) -> str:
    login_user(user, remember=remember, duration=current_app.config["REMEMBER_COOKIE_DURATION"])
    return target


@bp.post("/logout")
@login_required
def logout():
    form = ActionForm()
    if form.validate_on_submit():
        return act(lambda: services.sign_out(user=actor()), done=_("You are signed out on every device."),
                   then=lambda _result: _signed_out())
    return redirect(_home())


def _signed_out() -> str:
    logout_user()
    return _home()


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def signup():
    if current_user.is_authenticated:
        return redirect(_home())
    form = SignUpForm()
    if form.validate_on_submit():
        answer = act(
            lambda: services.sign_up(
                email=form.email.data, display_name=form.display_name.data, password=form.new_password.data
            ),
            form=form,
            then=url_for("accounts.check_email", reason="signup"),
        )
        if answer is not None:
            return answer
    return render_template("accounts/signup.html", form=form)


@bp.get("/check-your-email")
def check_email():
    reason = request.args.get("reason", "signup")
    if reason not in {"signup", "reset", "confirm"}:
        reason = "signup"
    return render_template(
        "accounts/check_email.html", reason=reason, minutes=current_app.config["PASSWORD_RESET_MINUTES"]
    )


@bp.get("/confirm/<token>")
def confirm_email(token: str):
    mark_request_as_writing()
    return act(
        lambda: services.confirm_email(token=token),
        done=_("Your email address is confirmed. You can sign in now."),
        then=url_for("accounts.login"),
        refusals={DomainError: lambda error: (
            render_template("accounts/confirm_failed.html", message=error.message), 400
        )},
    )


def _email_request_page(*, send, reason: str, heading: str, introduction: str):
    """A form that asks only for an email address, sends something to it, and always answers the
    same "check your email" page (whether the address has an account is never revealed)."""
    form = EmailOnlyForm()
    if form.validate_on_submit():
        return act(lambda: send(email=form.email.data), then=url_for("accounts.check_email", reason=reason))
    return render_template(
        "accounts/email_request.html",
        form=form,
        heading=heading,
        introduction=introduction,
        action=request.path,
        submit_label=_("Send the link"),
    )


@bp.route("/confirm/resend", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def resend_confirmation():
    return _email_request_page(
        send=services.resend_confirmation,
        reason="confirm",
        heading=_("Get a new confirmation link"),
        introduction=_("Enter the email address you signed up with. We will send it a new confirmation link."),
    )


@bp.route("/reset-password", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def request_reset():
    return _email_request_page(
        send=services.request_password_reset,
        reason="reset",
        heading=_("Reset your password"),
        introduction=_("Enter the email address of your account. We will send you a link to choose a new password."),
    )


@bp.get("/reset-password/<token>")
def reset_link(token: str):
    # Move the token out of the address bar into the session, so it does not linger in history,
    # in logs of later requests, or in a Referer header.
    session[_RESET_SESSION_KEY] = token[:256]
    return redirect(url_for("accounts.reset_password"))


@bp.route("/reset-password/new", methods=["GET", "POST"])
def reset_password():
    token = session.get(_RESET_SESSION_KEY, "")
    if not services.reset_token_is_valid(token):
        session.pop(_RESET_SESSION_KEY, None)
        return render_template("accounts/reset_invalid.html"), 400
    form = ResetPasswordForm()
    if form.validate_on_submit():
        answer = act(
            lambda: services.reset_password(token=token, new_password=form.new_password.data),
            form=form,
            done=_("Your password is changed and every session has been signed out. Sign in now."),
            then=lambda _result: _password_reset(),
        )
        if answer is not None:
            return answer
    return render_template("accounts/reset_password.html", form=form)


def _password_reset() -> str:
    """After a reset (committed): its token is used up and whoever was signed in here is signed out."""
    session.pop(_RESET_SESSION_KEY, None)
    logout_user()
    return url_for("accounts.login")


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    form = ProfileForm(obj=current_user)
    if form.validate_on_submit():
        answer = act(
            lambda: services.update_profile(actor=actor(), display_name=form.display_name.data,
                                            locale=form.locale.data),
            form=form,
            # Written after the change: in the language just chosen.
            done=lambda _result: _("Your profile is saved."),
            then=url_for("accounts.account"),
        )
        if answer is not None:
            return answer
    # ``memberships``: the think tanks the user is an active member of (the think tanks package adds them).
    return render_template("accounts/account.html", form=form, **page_parts("accounts.account", viewer=current_user))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = actor()
        answer = act(
            lambda: services.change_password(
                actor=user, current_password=form.current_password.data, new_password=form.new_password.data
            ),
            form=form,
            done=_("Your password is changed. Every other session has been signed out."),
            then=lambda _result: _carry_on(user),
        )
        if answer is not None:
            return answer
    return render_template("accounts/change_password.html", form=form)


def _carry_on(user: User) -> str:
    login_user(user)  # this session carries on under the new session token; all others ended
    return url_for("accounts.account")


@bp.get("/admin/users")
@login_required
def admin_users():
    require(can_manage_users(current_user))
    search = UserSearchForm(request.args)
    statement = select(User).order_by(User.display_name, User.id)
    if search.validate() and search.q.data:
        pattern = contains_pattern(search.q.data.strip().lower())
        statement = statement.where(
            or_(User.email.like(pattern, escape=LIKE_ESCAPE), User.display_name.ilike(pattern, escape=LIKE_ESCAPE))
        )
    if search.role.data in {role.value for role in Role}:
        statement = statement.where(User.role_grants.any(UserRole.role == Role(search.role.data)))
    page = db.paginate(statement, per_page=USERS_PER_PAGE, max_per_page=USERS_PER_PAGE, error_out=False)
    return render_template("accounts/admin_users.html", page=page, search=search)


@bp.route("/admin/users/<int:user_id>", methods=["GET", "POST"])
@login_required
def admin_user(user_id: int):
    require(can_manage_users(current_user))
    user = db.get_or_404(User, user_id)
    form = UserAdminForm(data={"roles": sorted(role.value for role in user.roles), "is_active": user.is_active})
    if form.validate_on_submit():

        def save() -> None:
            # Activity first: once an admin gives up their own admin role, they may change nothing more.
            services.set_active(actor=actor(), user=user, is_active=form.is_active.data)
            services.set_roles(actor=actor(), user=user, roles={Role(value) for value in form.roles.data})

        answer = act(
            save,
            form=form,
            done=lambda _result: _("The account of %(name)s is saved.", name=user.display_name),
            then=url_for("accounts.admin_user", user_id=user.id),
        )
        if answer is not None:
            return answer
    return render_template("accounts/admin_user.html", user=user, form=form)
