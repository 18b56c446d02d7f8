"""The notification centre and the email settings.

A notification is its recipient's alone: another person's answers 404 (ARCHITECTURE.md section 2),
whether it exists or not. Its words are written when shown (``services.describe``), for the viewer
as they are now, so a page never says more than they may see.
"""

from __future__ import annotations

from flask import Blueprint, abort, g, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..enums import NotificationKind
from ..extensions import db
from ..permissions import can_receive_notifications, can_view_notification, require
from ..web import Page, act, actor
from . import services
from .forms import EmailSettingsForm
from .models import Notification

bp = Blueprint("notifications", __name__)


def _unread_count() -> int:
    """The signed-in user's unread notifications: one COUNT query, at most once per request, and
    only when a page shows it (emails rendered during the request never ask)."""
    if "unread_notification_count" not in g:
        g.unread_notification_count = services.unread_count(current_user)
    return g.unread_notification_count


@bp.app_context_processor
def unread_notifications():
    """Give every template ``unread_notification_count()`` (None for signed-out visitors: no query)."""
    if not can_receive_notifications(current_user):
        return {"unread_notification_count": lambda: None}
    return {"unread_notification_count": _unread_count}


def _listing_args() -> dict:
    """The page and filter of the listing, to come back to them after a button."""
    args = {}
    page = request.args.get("page", type=int)
    if page and page > 1:
        args["page"] = page
    if request.args.get("unread") == "1":
        args["unread"] = "1"
    return args


@bp.get("/notifications")
@login_required
def index():
    require(can_receive_notifications(current_user))
    only_unread = request.args.get("unread") == "1"
    page_number = max(request.args.get("page", 1, type=int), 1)
    notifications, total = services.notifications_of(actor(), page=page_number, only_unread=only_unread)
    pages = max((total + services.PAGE_SIZE - 1) // services.PAGE_SIZE, 1)
    if page_number > pages:
        abort(404)
    return render_template(
        "notifications/index.html",
        items=[(notification, services.describe(notification, current_user)) for notification in notifications],
        total=total,
        only_unread=only_unread,
        page=Page(page=page_number, pages=pages),
        listing_args=_listing_args(),
        has_unread=_unread_count() > 0,
    )


def _own_notification(notification_id: int) -> Notification:
    """The viewer's notification; 404 for a missing one and for anyone else's."""
    notification = db.session.get(Notification, notification_id)
    if notification is None or not can_view_notification(current_user, notification):
        abort(404)
    return notification


@bp.post("/notifications/<int:notification_id>/read")
@login_required
def mark_read(notification_id: int):
    notification = _own_notification(notification_id)
    return act(lambda: services.mark_read(actor=actor(), notification=notification),
               done=_("The notification is marked as read."), then=url_for("notifications.index", **_listing_args()))


@bp.post("/notifications/<int:notification_id>/open", endpoint="open")
@login_required
def open_notification(notification_id: int):
    """Follow a notification's link, marking it read on the way."""
    notification = _own_notification(notification_id)
    return act(
        lambda: services.mark_read(actor=actor(), notification=notification),
        then=lambda _result: services.describe(notification, current_user).link or url_for("notifications.index"),
    )


@bp.post("/notifications/read-all")
@login_required
def mark_all_read():
    require(can_receive_notifications(current_user))
    return act(lambda: services.mark_all_read(actor=actor()), done=_("All your notifications are marked as read."),
               then=url_for("notifications.index", **_listing_args()))


@bp.route("/notifications/settings", methods=["GET", "POST"])
@login_required
def settings():
    require(can_receive_notifications(current_user))
    viewer = actor()
    form = EmailSettingsForm() if request.method == "POST" else EmailSettingsForm.prefilled(
        services.email_settings(viewer)
    )
    if form.validate_on_submit():
        return act(lambda: services.save_email_settings(actor=viewer, emailed=form.emailed.data or []),
                   done=_("Your email settings are saved."), then=url_for("notifications.settings"))
    return render_template(
        "notifications/settings.html",
        form=form,
        descriptions={kind.value: kind.description for kind in NotificationKind},
    ), 400 if request.method == "POST" else 200
