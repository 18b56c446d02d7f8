"""ORCID iDs: the bare form ``0000-0002-1825-0097`` and its ISO 7064 MOD 11-2 check character.

Pure functions, no Flask and no database, so they are tested as a table.
"""

from __future__ import annotations

import re

ORCID_ADDRESS_PREFIXES = ("https://orcid.org/", "http://orcid.org/")
_BARE_FORM = re.compile(r"\d{4}-\d{4}-\d{4}-\d{3}[\dX]")


def bare_form(text: str) -> str | None:
    """The 19-character form of an iD typed bare or as an orcid.org address; None when the shape is wrong.

    Only the shape is checked here (four groups of four, the last character a digit or X); the check
    character is checked by ``has_valid_check_character``.
    """
    candidate = (text or "").strip()
    for prefix in ORCID_ADDRESS_PREFIXES:
        if candidate.lower().startswith(prefix):
            candidate = candidate[len(prefix):]
            break
    candidate = candidate.upper()
    return candidate if _BARE_FORM.fullmatch(candidate) else None


def check_character(base_digits: str) -> str:
    """The ISO 7064 MOD 11-2 check character of the first fifteen digits ("X" stands for ten)."""
    total = 0
    for digit in base_digits:
        total = (total + int(digit)) * 2
    result = (12 - total % 11) % 11
    return "X" if result == 10 else str(result)


def has_valid_check_character(bare: str) -> bool:
    """True when the last character of a bare iD matches the check character of the other fifteen digits."""
    digits = bare.replace("-", "")
    return check_character(digits[:-1]) == digits[-1]


def address(bare: str) -> str:
    """The iD's public record at orcid.org."""
    return f"{ORCID_ADDRESS_PREFIXES[0]}{bare}"
