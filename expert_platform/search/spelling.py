""""Did you mean": a query's unknown words replaced by the closest words of the public proposals. Pure
functions over a backend's lexicon (every word as written, by length, with how often it occurs)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from whoosh.support.levenshtein import damerau_levenshtein

from .schema import CJK


@dataclass(frozen=True)
class Lexicon:
    """A backend's words: ``by_length`` (length -> words), ``known(word)`` (whether a proposal holds it)
    and ``frequency(word)`` (how often it occurs; None or 0 when unknown)."""

    by_length: dict[int, list[str]]
    known: Callable[[str], bool]
    frequency: Callable[[str], int | None]


def closest_in(lexicon: Lexicon, word: str) -> str | None:
    """The known word closest to ``word`` (Damerau-Levenshtein distance 1, else 2), the most frequent of
    those, then the last in alphabetical order. (Whoosh's ``corrector(...).suggest`` computed the distance
    to every word of the lexicon, a quarter to half a second at 20,000 proposals, and then ranked by
    frequency alone, despite its documentation: a frequent word two edits away beat the word one edit
    away.) Only words that can be that close are measured: a length within 2, at most 2 of the word's
    letters missing from them (each edit removes at most one)."""
    letters = set(word)
    length = len(word)
    within: dict[int, list[str]] = {1: [], 2: []}
    for size in range(max(length - 2, 1), length + 3):
        for known in lexicon.by_length.get(size, ()):
            if len(letters.difference(known)) > 2 or known == word:
                continue
            distance = damerau_levenshtein(known, word, limit=2)
            if distance <= 2:
                within[distance].append(known)
    closest = within[1] or within[2]
    if not closest:
        return None
    return max(closest, key=lambda known: (lexicon.frequency(known) or 1, known))


def corrected(words: list[str], lexicon: Lexicon) -> str | None:
    """``words`` with each unknown one (lower-cased, not known to the lexicon) replaced by the closest
    known one; None when no word changed. Words of Chinese, Japanese or Korean are kept as typed."""
    changed = False
    result = []
    for word in words:
        lowered = word.lower()
        if CJK.search(word) or lexicon.known(lowered):
            result.append(word)
            continue
        replacement = closest_in(lexicon, lowered)
        if replacement:
            result.append(replacement)
            changed = True
        else:
            result.append(word)
    return " ".join(result) if changed else None
