"""The two working languages: which one a page, an email or a job speaks, and how it writes dates and numbers.

The interface language of a request is, in order: the signed-in user's saved choice (``User.locale``),
the choice an anonymous visitor made with the switcher (the ``locale`` cookie), the best match of the
browser's ``Accept-Language``, English. Emails and notifications speak their recipient's language
(``in_language_of``), whoever caused them. Dates, times and numbers are written by Babel for the
language (``format_*`` filters), always in UTC, which every page says.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime

from flask import Flask, current_app, g, has_request_context, request
from flask_babel import (
    LazyString,
    force_locale,
    format_date,
    format_datetime,
    format_decimal,
    get_locale,
    get_translations,
)
from flask_login import current_user

#: The organisation's working languages: the interface's catalogues and the languages a proposal may be
#: translated into. The first is the default.
WORKING_LANGUAGES = ("en", "ru")
#: Each language named in itself, as a switcher shows it whatever the page's language.
LANGUAGE_NAMES = {"en": "English", "ru": "Русский"}
#: The cookie that keeps an anonymous visitor's choice (a signed-in user's is saved on the account).
COOKIE_NAME = "locale"
COOKIE_MAX_AGE = 365 * 24 * 3600


def is_working_language(code: str | None) -> bool:
    return code in WORKING_LANGUAGES


def select_locale() -> str:
    """Flask-Babel's locale selector; the default outside requests (CLI commands, jobs)."""
    default = current_app.config["BABEL_DEFAULT_LOCALE"]
    if not has_request_context():
        return default
    user = current_user._get_current_object() if current_user else None
    saved = getattr(user, "locale", None) if getattr(user, "is_authenticated", False) else None
    if is_working_language(saved):
        return saved
    chosen = request.cookies.get(COOKIE_NAME)
    if is_working_language(chosen):
        return chosen
    return request.accept_languages.best_match(current_app.config["LANGUAGES"]) or default


def current_language() -> str:
    return str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"])


def language_of(user) -> str:
    """The language to write to ``user`` in: their saved choice, else the default."""
    saved = getattr(user, "locale", None)
    return saved if is_working_language(saved) else current_app.config["BABEL_DEFAULT_LOCALE"]


@contextmanager
def in_language_of(user) -> Iterator[None]:
    """Translate, render and format in ``user``'s language inside the block (an email to them). For
    nobody (an address without an account) the block keeps the current language: the sender's."""
    if user is None:
        yield
        return
    with force_locale(language_of(user)):
        yield


# --- formatting ------------------------------------------------------------------------------------


#: Each language's way of writing a day (Babel/CLDR patterns). English keeps ISO 8601 (2026-11-29), which
#: reads the same in every member state; Russian writes "29 нояб. 2026 г.". Times are 24-hour UTC.
DATE_PATTERNS = {"en": "yyyy-MM-dd", "ru": "d MMM y 'г.'"}
DATE_TIME_SEPARATOR = {"en": " ", "ru": ", "}


def date_text(value: date | datetime | None) -> str:
    """A day in the current language."""
    if value is None:
        return ""
    return _date_in(current_language(), value)


@functools.lru_cache(maxsize=4096)
def _date_in(language: str, value: date | datetime) -> str:
    """Babel's writing of a day, kept: a list of twenty proposals wrote twenty dates through Babel's pattern
    machinery each time, and the archive's dates repeat. Exact because every page writes times in UTC
    (``BABEL_DEFAULT_TIMEZONE``, fixed by the configuration: a datetime is the same day for every reader)."""
    return format_date(value, DATE_PATTERNS.get(language, "medium"))


def datetime_text(value: datetime | None, *, seconds: bool = False) -> str:
    """A moment in the current language, in UTC, which the text says: "2026-11-29 14:05 UTC",
    "29 нояб. 2026 г., 14:05 UTC"."""
    if value is None:
        return ""
    separator = DATE_TIME_SEPARATOR.get(current_language(), ", ")
    return f"{date_text(value)}{separator}{format_datetime(value, 'HH:mm:ss' if seconds else 'HH:mm')} UTC"


def number_text(value: int | float | None) -> str:
    """A number with the language's grouping: 20,000 / 20 000."""
    if value is None:
        return ""
    if type(value) is int and -1000 < value < 1000:
        return str(value)  # no grouping below a thousand in any language: skip Babel's formatter (facet counts)
    return format_decimal(value)


def localized(values: dict[str, str]) -> LazyString:
    """A string given per language (a configured name), read in the current language when shown."""
    return LazyString(lambda: values.get(current_language()) or values[WORKING_LANGUAGES[0]])


def _vary_by_language(response):
    """A page's language follows these request headers: caches must keep one copy per value."""
    if response.mimetype in ("text/html", "text/plain", "application/json"):
        response.vary.add("Accept-Language")
        response.vary.add("Cookie")
    return response


def _translations():
    """The current language's catalogue, looked up once per request and language. A page asks for a hundred
    or more messages, and Flask-Babel finds the context, the locale and the catalogue again for each one
    (a tenth of an archive page's time). Keyed by the locale object Flask-Babel keeps on its context, which
    ``force_locale`` (emails in the recipient's language) replaces while it lasts."""
    context = g.get("_flask_babel")
    locale = getattr(context, "babel_locale", None)
    if locale is None:
        return get_translations()  # the locale is not chosen yet: Flask-Babel chooses it
    kept = getattr(context, "expert_platform_translations", None)
    if kept is not None and kept[0] is locale:
        return kept[1]
    translations = get_translations()
    context.expert_platform_translations = (locale, translations)
    return translations


def init_i18n(app: Flask) -> None:
    app.after_request(_vary_by_language)
    # The templates' _(), ngettext() and pgettext() as Flask-Babel installs them, reading the kept catalogue.
    app.jinja_env.install_gettext_callables(
        gettext=lambda message: _translations().ugettext(message),
        ngettext=lambda singular, plural, number: _translations().ungettext(singular, plural, number),
        pgettext=lambda context, message: _translations().upgettext(context, message),
        npgettext=lambda context, singular, plural, number: _translations().unpgettext(
            context, singular, plural, number),
        newstyle=True,
    )
    app.jinja_env.filters.update(date_text=date_text, datetime_text=datetime_text, number_text=number_text)
    app.jinja_env.globals.update(
        working_languages=WORKING_LANGUAGES,
        language_names=LANGUAGE_NAMES,
        current_language=current_language,
    )
