"""The security baseline applied to every request and response.

- Security headers on every response, error pages included (CSP without inline script or style).
- ``Cache-Control: no-store`` whenever a user is signed in, so shared computers and proxies keep nothing.
- Every request body is limited to MAX_CONTENT_LENGTH, except on views marked with
  ``accepts_body_up_to()`` (file uploads), which get their own limit for that request only.
- A chunked body is refused (411 when the server does not mark its end, 413 when it is over the
  limit) instead of being cut silently.
- ``safe_next_url()``: redirect targets from ``next`` are local paths only.
"""

from __future__ import annotations

import io
import re
from urllib.parse import urlsplit

from flask import Flask, abort, current_app, request
from flask_login import current_user

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


def safe_next_url(target: str | None, default: str) -> str:
    """``target`` when it is a path on this site, else ``default``.

    Browsers treat backslashes as slashes and ignore tabs and newlines, so ``/\\evil.example`` or
    ``/\\t/evil.example`` would leave the site: anything with those, a scheme, a host, or a
    leading ``//`` is refused.
    """
    if not target or len(target) > 2048:
        return default
    if "\\" in target or _CONTROL_CHARACTERS.search(target):
        return default
    if not target.startswith("/") or target.startswith("//"):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def apply_security_headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
    if current_app.config.get("HSTS_ENABLED"):
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if is_signed_in_now():
        headers["Cache-Control"] = "no-store"
        headers.add("Vary", "Cookie")
    return response


def is_signed_in_now() -> bool:
    """Whether the current request's user is signed in, for response hooks: False when the user cannot be
    loaded (an error page's headers must not fail)."""
    try:
        return bool(current_user.is_authenticated)
    except Exception:  # noqa: BLE001 - a broken database must not stop the headers of the error page
        return False


#: The attribute ``accepts_body_up_to()`` sets on a view: (setting name, margin in bytes).
_BODY_LIMIT_ATTRIBUTE = "body_limit_setting"


def accepts_body_up_to(setting: str, *, margin: int = 0):
    """Let one view accept bodies up to ``app.config[setting] + margin`` bytes instead of MAX_CONTENT_LENGTH.

    For file uploads: ``margin`` covers the rest of the form (boundaries, headers, CSRF token), so
    the view itself can refuse a file just over the setting with a message of its own.
    """

    def decorate(view):
        setattr(view, _BODY_LIMIT_ATTRIBUTE, (setting, margin))
        return view

    return decorate


def body_limit() -> int | None:
    """The largest body this request may have: its view's own limit, else MAX_CONTENT_LENGTH."""
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    own_limit = getattr(view, _BODY_LIMIT_ATTRIBUTE, None)
    if own_limit is None:
        return current_app.config.get("MAX_CONTENT_LENGTH")
    setting, margin = own_limit
    return current_app.config[setting] + margin


def limit_request_body() -> None:
    """Set this request's body limit (Werkzeug answers 413 past it), then check a chunked body."""
    request.max_content_length = body_limit()
    check_chunked_body()


def check_chunked_body() -> None:
    """Refuse a chunked body that cannot be read whole and safely; never let it be cut short.

    Without a Content-Length the body is readable only when the server marks its end
    (``wsgi.input_terminated``); otherwise 411. Werkzeug stops reading a terminated stream at
    the request's limit without an error, so the form would be parsed from a truncated body: read
    one byte past the limit here and answer 413 when it exists, else hand the body on as read.
    """
    if request.headers.get("Transfer-Encoding", "").lower() != "chunked":
        return
    environ = request.environ
    if not environ.get("wsgi.input_terminated"):
        abort(411)
    limit = request.max_content_length
    if limit is None:
        return
    body = environ["wsgi.input"].read(limit + 1)
    if len(body) > limit:
        abort(413)
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))


def init_security(app: Flask) -> None:
    # First of all before-request hooks: CSRF and rate limits read the body.
    app.before_request_funcs.setdefault(None, []).insert(0, limit_request_body)
    app.after_request(apply_security_headers)
    if app.config.get("TRUSTED_PROXY_COUNT"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        count = app.config["TRUSTED_PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=0)
