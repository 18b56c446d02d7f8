"""The notification centre and the email settings."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("notifications", __name__)


@bp.route("/notifications/settings", methods=["GET", "POST"])
def settings():
    raise NotImplementedError  # helper B builds this page
