"""The home page: what the platform is, and what each kind of visitor can do here; the language switcher."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user

from ..accounts import services as accounts
from ..enums import Dimension, Role
from ..extensions import csrf
from ..i18n import COOKIE_MAX_AGE, COOKIE_NAME, is_working_language
from ..security import safe_next_url
from ..web import act, actor

bp = Blueprint("main", __name__)


@bp.get("/")
def index():
    return render_template("main/index.html", roles=list(Role), dimensions=list(Dimension))


@bp.post("/language")
@csrf.exempt
def set_language():
    """Switch the interface language, then go back to the page the switcher was on (the Referer: the
    site sends it to itself, and pages stay free of anything per path or per visitor).

    A signed-in user's choice is saved on the account, so that POST needs the CSRF token like any other.
    An anonymous visitor's only sets the ``locale`` cookie: a page sets no CSRF token (and so no session)
    for anonymous visitors just to offer the switcher, and a forged switch could do no more than a link.
    """
    if current_user.is_authenticated:
        csrf.protect()
    language = request.form.get("language", "")
    if not is_working_language(language):
        abort(400)
    if current_user.is_authenticated:
        return act(lambda: accounts.set_locale(user=actor(), locale=language),
                   then=lambda _result: _switched_to(language))
    return _switched_to(language)


def _switched_to(language: str):
    response = redirect(_back(), code=303)
    response.set_cookie(COOKIE_NAME, language, max_age=COOKIE_MAX_AGE, samesite="Lax",
                        secure=request.is_secure, httponly=True)
    return response


def _back() -> str:
    home = url_for("main.index")
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc != request.host:
        return home
    return safe_next_url(referrer.path + (f"?{referrer.query}" if referrer.query else ""), home)
