"""Domain errors raised by services, and the HTTP error pages.

Error pages never show internals: no traceback, no SQL, no object that the viewer may not see.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Flask, current_app, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .extensions import db

log = logging.getLogger(__name__)


class DomainError(Exception):
    """A rule of the platform refused the change; the message is safe to show to the actor."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotAllowed(DomainError):
    """The actor may not do this."""


class InvalidTransition(DomainError):
    """The object is not in a state where this action applies."""


class ValidationFailed(DomainError):
    """Input broke a rule; ``field`` names the form field to attach the message to (or None)."""

    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field = field


#: Status codes that get a page of their own; others fall back to the generic error page.
ERROR_PAGES = {
    400: ("errors/400.html", lambda: _("Bad request")),
    403: ("errors/403.html", lambda: _("Not allowed")),
    404: ("errors/404.html", lambda: _("Page not found")),
    405: ("errors/generic.html", lambda: _("Method not allowed")),
    411: ("errors/generic.html", lambda: _("Length required")),
    413: ("errors/413.html", lambda: _("Too large")),
    429: ("errors/429.html", lambda: _("Too many attempts")),
    500: ("errors/500.html", lambda: _("Something went wrong")),
}


def wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def render_error(status: int, description: str | None = None):
    template, title = ERROR_PAGES.get(status, ("errors/generic.html", lambda: _("Error")))
    if wants_json():
        return {"error": {"status": status, "title": title(), "message": description or title()}}, status
    return render_template(template, status=status, title=title(), description=description), status


_TOKEN_RECOVERY_KEY = "expert_platform.token_recovery"


def recover_refused_token(app: Flask, endpoint: str, recover: Callable[[], object | None]) -> None:
    """Let ``endpoint`` answer a POST whose CSRF token was refused, instead of the generic page.

    A long form (a proposal's text) must not be lost because a session expired while it was written:
    ``recover()`` returns a response that keeps what was posted, or None for the generic page.
    """
    app.extensions.setdefault(_TOKEN_RECOVERY_KEY, {})[endpoint] = recover


def register_errorhandlers(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        log.info("csrf.refused path=%s reason=%s", request.path, error.description)
        recover = current_app.extensions.get(_TOKEN_RECOVERY_KEY, {}).get(request.endpoint)
        if recover is not None and request.method == "POST":
            response = recover()
            if response is not None:
                return response
        return render_error(
            400,
            _(
                "The form could not be accepted because its security token is missing or has expired. "
                "Go back, reload the page and send it again."
            ),
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code is None or error.code < 400:
            return error
        response = render_error(error.code, _explain(error))
        if error.code == 405 and error.valid_methods:
            body, status = response
            return body, status, {"Allow": ", ".join(error.valid_methods)}
        return response

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        # Roll back first: the session may hold half a change and must not be reused as is.
        db.session.rollback()
        from . import mail

        mail.discard_pending()
        log.exception("unhandled error path=%s", request.path)
        return render_error(500)


def _explain(error: HTTPException) -> str | None:
    """A message for the page: our own for the common codes, the raised one when a view gave one."""
    defaults = {
        403: _("You do not have permission to see this page."),
        404: _("The page you asked for does not exist or is not available to you."),
        413: _("What you sent is larger than this platform accepts. Shorten it or send a smaller file."),
        429: _("Too many attempts in a short time. Wait a minute and try again."),
        411: _("The request did not say how long it is, so it could not be read safely."),
    }
    custom = getattr(error, "platform_message", None)
    return custom or defaults.get(error.code or 0)
