"""Languages an expert speaks: ISO 639-1 (two-letter) codes, named by babel in the reader's locale."""

from __future__ import annotations

from functools import cache

from babel import Locale, UnknownLocaleError

from ..i18n import current_language


@cache
def _english_names() -> dict[str, str]:
    # The set of valid codes comes from one fixed locale, so it never depends on the reader's.
    return {
        code: name
        for code, name in Locale("en").languages.items()
        if len(code) == 2 and code.isascii() and code.isalpha() and code.islower()
    }


def is_language_code(code: str) -> bool:
    """True for a two-letter ISO 639-1 code that babel names."""
    return code in _english_names()


@cache
def _names_in(locale_name: str) -> dict[str, str]:
    try:
        localised = Locale.parse(locale_name).languages
    except (UnknownLocaleError, ValueError):
        localised = {}
    return {code: localised.get(code, english) for code, english in _english_names().items()}


def _names() -> dict[str, str]:
    return _names_in(current_language())


def language_name(code: str) -> str:
    """The language's name in the reader's locale (the code itself if it is unknown)."""
    return _names().get(code, code)


def language_choices() -> list[tuple[str, str]]:
    """(code, name) of every language, ordered by name in the reader's locale."""
    return sorted(_names().items(), key=lambda item: (item[1].casefold(), item[0]))
