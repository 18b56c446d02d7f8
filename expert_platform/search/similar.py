"""Which words of a proposal "more like this" searches for, the same on both backends.

Each backend weighs a text's words its own way (Whoosh: its Bo1 key-term model; PostgreSQL: how often a
word is in the text against how many proposals hold it) and hands the heaviest, with how many proposals
hold each, to ``chosen``. A word most of the archive holds says little about what is similar and costs a
read of most of the archive's postings (at 20,000 proposals the twelve key terms of a proposal held
60,000-140,000 postings, most of them "security", "cooperation", "measures"), so the words are taken in
weight order while the proposals they hold stay within a tenth of the archive, Lucene's ``maxDocFreq``
idea as a budget: a small archive keeps every word, a large one its distinctive words. At 20,000 proposals
that made a first view's list 5-10 times cheaper (docs/performance.md) with as many related proposals
sharing a dimension or a keyword with the proposal (53-56 %, 25-27 % of 400 lists' entries, for every
budget from "all twelve words" down to this one).
"""

from __future__ import annotations

from collections.abc import Sequence

#: The postings the chosen words may hold together, as a share of the archive's proposals ...
RELATED_POSTINGS_SHARE = 0.1
#: ... and at least this many (so a small archive keeps every word).
RELATED_MIN_POSTINGS = 2000


def budget(documents: int) -> float:
    """The postings the chosen words may hold together in an archive of ``documents`` proposals."""
    return max(RELATED_MIN_POSTINGS, RELATED_POSTINGS_SHARE * documents)


def chosen(weighed: Sequence[tuple[str, float, int]], documents: int) -> list[tuple[str, float]]:
    """``weighed``: (word, weight, proposals holding it), heaviest first. The words to search for with their
    weights: in weight order, each one whose proposals still fit in the budget; when none fits, the word
    held by the fewest proposals (a text with only common words still gets its nearest proposals)."""
    allowed = budget(documents)
    kept, used = [], 0
    for word, weight, holding in weighed:
        if used + holding <= allowed:
            kept.append((word, weight))
            used += holding
    if not kept and weighed:
        word, weight, _holding = min(weighed, key=lambda item: (item[2], -item[1], item[0]))
        kept.append((word, weight))
    return kept
