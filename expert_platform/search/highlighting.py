"""Highlighting: a text with the query's matches in <mark> and every other character HTML-escaped,
the whole text for a title, the two best fragments for a body. The snippets are, character for character,
those of Whoosh's ``highlight()`` with ``ContextFragmenter(maxchars=SNIPPET_CHARACTERS,
surround=SNIPPET_SURROUND)`` (a test holds them equal), computed without analysing each hit's whole text
(``TokenAnalysis``) or walking its tokens one by one (``context_fragments``). Used by the Whoosh backend
for every text and by the PostgreSQL backend for Chinese, Japanese and Korean ones."""

from __future__ import annotations

import bisect
import heapq
import html
import itertools
import operator
import re
import threading

from whoosh import highlight, query

from .schema import ANALYZING, analyzer_of, token_pattern

SNIPPET_CHARACTERS = 240


def stemmed_variant(fieldname: str) -> str | None:
    """"en" or "ru" for a stemmed text field (``body_en``), else None."""
    group, _sep, variant = fieldname.rpartition("_")
    return variant if group in ("title", "body") and variant in ("en", "ru") else None



class MarkFormatter(highlight.Formatter):
    """Matches in <mark>, every other character HTML-escaped; fragments joined with an ellipsis."""

    between = " … "

    def format_fragment(self, fragment, replace=False):
        # Overlapping or touching matches (CJK bigrams: 安全, 全合, 合作) become one mark.
        spans: list[list[int]] = []
        for token in sorted(fragment.matches, key=lambda match: match.startchar):
            if spans and token.startchar <= spans[-1][1]:
                spans[-1][1] = max(spans[-1][1], token.endchar)
            else:
                spans.append([token.startchar, token.endchar])
        output = []
        index = fragment.startchar
        text = fragment.text
        for start, end in spans:
            output.append(html.escape(text[index:start]))
            output.append(f"<mark>{html.escape(text[start:end])}</mark>")
            index = end
        output.append(html.escape(text[index:fragment.endchar]))
        return "".join(output)


def terms_by_variant(parsed_query) -> dict[str, set[str]]:
    terms: dict[str, set[str]] = {}
    if parsed_query is None:
        return terms
    for fieldname, text in parsed_query.iter_all_terms(phrases=True):
        if fieldname.startswith(("title_", "body_")):
            value = text.decode("utf-8") if isinstance(text, bytes) else text
            terms.setdefault(fieldname, set()).add(value)
    return terms


def prefixes(parsed_query) -> list[tuple[str, str]]:
    found = []

    def walk(node):
        if isinstance(node, query.Prefix):
            found.append((node.fieldname, str(node.text)))
        for child in node.children():
            walk(child)

    if parsed_query is not None:
        walk(parsed_query)
    return found


#: Snippets: ``highlight.ContextFragmenter(maxchars=SNIPPET_CHARACTERS, surround=SNIPPET_SURROUND)``, best two.
SNIPPET_SURROUND = 60
SNIPPET_FRAGMENTS = 2


class TokenAnalysis:
    """A language variant's analyzer applied token by token, each distinct token analysed once.

    Whoosh's ``highlight()`` runs the analyzer over the whole text of every hit (tokenize, lower-case,
    stop words, Snowball stemming), which was most of a search's time. Every filter of our analyzers
    works token by token (the CJK bigram filter cuts one token into pieces), so analysing a token alone
    gives what the analyzer gives it inside a text: the text is cut with the analyzer's own pattern (in
    C, by ``re.split``) and each distinct token's analysis is remembered, with the tokens each term comes
    from. The snippets are the same, character for character.
    """

    MAX_REMEMBERED = 200_000

    def __init__(self, variant: str) -> None:
        self.variant = variant
        self.analyzer = analyzer_of(variant)
        tokens = token_pattern(self.analyzer)
        # The tokens as one capturing group: split() returns the text between tokens and the tokens, in turn.
        self.splitter = re.compile(f"({tokens.pattern})", tokens.flags)
        self.lock = threading.Lock()
        self.known: dict[str, tuple[tuple[int, int, str, bool], ...]] = {}
        #: term -> the tokens (as written) the analyzer turns into it, for single-piece tokens.
        self.sources: dict[str, set[str]] = {}
        self.splits = False  # whether some token gave several pieces (CJK bigrams)

    def of(self, raw: str) -> tuple[tuple[int, int, str, bool], ...]:
        """(start, end, term, is_stop_word) of each token the analyzer makes of the token ``raw``."""
        found = self.known.get(raw)
        if found is None:
            with ANALYZING, self.lock:
                found = tuple((token.startchar, token.endchar, token.text, token.stopped)
                              for token in self.analyzer(raw, chars=True, mode="query", removestops=False))
                if len(self.known) == self.MAX_REMEMBERED:
                    # Full: later requests start afresh; this one (and any still using it) stays consistent.
                    _analyses.pop(self.variant, None)
                self.known[raw] = found
                if len(found) == 1:
                    self.sources.setdefault(found[0][2], set()).add(raw)
                else:
                    self.splits = True
        return found

    def learn(self, raws: set[str]) -> None:
        for raw in raws.difference(self.known):
            self.of(raw)

    def sources_of(self, terms) -> set[str]:
        sources = self.sources
        found: set[str] = set()
        for term in terms:
            found.update(sources.get(term, ()))
        return found


_analyses: dict[str, TokenAnalysis] = {}


def analysis(variant: str) -> TokenAnalysis:
    found = _analyses.get(variant)
    if found is None:
        found = _analyses.setdefault(variant, TokenAnalysis(variant))
    return found


class _Match:
    """A matched token, as Whoosh's fragment scorer and our formatter read it."""

    __slots__ = ("text", "startchar", "endchar", "boost", "matched")

    def __init__(self, text: str, startchar: int, endchar: int) -> None:
        self.text = text
        self.startchar = startchar
        self.endchar = endchar
        self.boost = 1.0
        self.matched = True


def marked_tokens(text: str, analysis: TokenAnalysis, wanted: set[str], prefixes: list[str]):
    """The text's tokens as ``bounds`` (start and end of token i at 2i and 2i + 1), and index -> term of
    the tokens to mark: their term is ``wanted`` or, not being a stop word, starts with a prefix."""
    parts = analysis.splitter.split(text)
    raws = parts[1::2]
    distinct = set(raws)
    analysis.learn(distinct)
    if prefixes:
        # As Whoosh's highlight is given them: every term of the text (stop words apart) with the prefix.
        starts = tuple(prefixes)
        of = analysis.of
        wanted = wanted | {term for raw in distinct for _start, _end, term, stopped in of(raw)
                           if not stopped and term.startswith(starts)}
    if not analysis.splits or not any(len(analysis.of(raw)) != 1 for raw in distinct):
        present = distinct & analysis.sources_of(wanted)
        if not present:
            return [], {}
        # Offsets of the parts: the tokens are the odd parts, so token i spans bounds[2i]..bounds[2i + 1].
        bounds = list(itertools.accumulate(map(len, parts), initial=0))[1:-1]
        of = analysis.of
        indexes = itertools.compress(range(len(raws)), map(present.__contains__, raws))
        return bounds, {index: of(raws[index])[0][2] for index in indexes}
    # Some tokens are cut into several pieces (CJK bigrams): list every piece.
    bounds, marked = [], {}
    offset = 0
    for position, part in enumerate(parts):
        if position % 2:
            for start, end, term, _stopped in analysis.of(part):
                if term in wanted:
                    marked[len(bounds) // 2] = term
                bounds += (offset + start, offset + end)
        offset += len(part)
    return bounds, marked


def context_fragments(text: str, bounds: list[int], marked: dict[int, str], *, maxchars: int,
                       surround: int, charlimit: int) -> list[tuple[int | None, int, list[int]]]:
    """The fragments ``highlight.ContextFragmenter(maxchars, surround, charlimit).fragment_tokens`` makes,
    as (start, end, indexes of the marked tokens in it), without Fragment objects (``best_fragments`` makes the
    two shown). Exactly Whoosh's, visiting only the marked tokens: between two of them the fragmenter
    only adds up token lengths (in a fragment) or moves its look-behind window (out of one), so the
    token where a fragment ends is found by bisecting the running total of token lengths, and the
    window is rebuilt from the token positions when the next marked token comes."""
    total = len(bounds) // 2
    count = total
    if charlimit and total and bounds[-1] > charlimit:
        # Whoosh stops at the first token ending past the limit (and ends an open fragment there).
        count = bisect.bisect_right(bounds[1::2], charlimit)
    # running[i]: the length of the tokens before token i (the fragmenter counts token characters only).
    running = list(itertools.accumulate(map(operator.sub, bounds[1:2 * count:2], bounds[0:2 * count:2]), initial=0))
    fragments = []
    marked_indexes = [index for index in marked if index < count]  # in token order
    first = None
    window_first = None  # the oldest start in Whoosh's look-behind deque ("firsts"), None when empty
    countdown = -1
    kept: list[int] = []
    currentlen = 0
    endchar = None
    last_reset = -1  # the token at which the look-behind window was last emptied (a fragment ended)
    upcoming = 0  # position in marked_indexes of the next marked token at or after index
    index = 0
    while index < count:
        while upcoming < len(marked_indexes) and marked_indexes[upcoming] < index:
            upcoming += 1
        next_marked = marked_indexes[upcoming] if upcoming < len(marked_indexes) else count
        if countdown < 0:
            # Out of a fragment, unmarked tokens only feed the window: jump to the next marked token.
            if next_marked == count:
                break
            window_first = None
            if next_marked - 1 > last_reset:
                horizon = bounds[2 * next_marked - 1] - surround
                position = next_marked - 1
                while position > last_reset and bounds[2 * position] >= horizon:
                    window_first = bounds[2 * position]
                    position -= 1
            index = next_marked
        elif index < next_marked:
            # In a fragment, unmarked tokens up to the next marked one: the fragment ends at the first
            # whose end takes it past maxchars, or uses up the countdown.
            past_maxchars = bisect.bisect_right(running, maxchars - currentlen + running[index], index + 1) - 1
            countdown_spent = bisect.bisect_left(running, countdown + running[index], index + 1) - 1
            ending = min(past_maxchars, countdown_spent)
            if ending < next_marked:
                spent = running[ending + 1] - running[index]
                if past_maxchars <= countdown_spent:
                    countdown = -(running[ending + 1] - running[ending])
                else:
                    countdown -= spent
                endchar = bounds[2 * ending + 1]
                fragments.append((first, endchar, kept))
                kept = []
                first = None
                window_first = None
                currentlen = 0
                last_reset = ending
                index = ending + 1
            else:
                spent = running[next_marked] - running[index]
                currentlen += spent
                countdown -= spent
                endchar = bounds[2 * next_marked - 1]
                index = next_marked
            continue
        # A marked token (or, right after a fragment ended on a spent countdown, any token).
        start = bounds[2 * index]
        end = bounds[2 * index + 1]
        length = end - start
        endchar = end
        term = marked.get(index)
        if currentlen + length > maxchars:
            countdown = 0
        elif term is not None:
            countdown = surround
            if first is None:
                if window_first is not None:
                    first = window_first
                else:
                    first = start
                    countdown += surround
            kept.append(index)
        if countdown >= 0:
            currentlen += length
            countdown -= length
            if countdown <= 0:
                fragments.append((first, end, kept))
                kept = []
                first = None
                window_first = None
                currentlen = 0
                last_reset = index
        index += 1
    if kept:
        if count < total:
            endchar = bounds[2 * count + 1]
        fragments.append((first, endchar, kept))
    return fragments


def best_fragments(text: str, bounds: list[int], marked: dict[int, str], fragments,
                   count: int) -> list[highlight.Fragment]:
    """What ``highlight.top_fragments(..., count, BasicFragmentScorer(), FIRST, minscore=1)`` keeps of the
    fragments: the ``count`` best scored (matches x distinct terms x 100; on a tie the later one, as
    Fragment objects compare by start), in text order. Fragments without a match score 0: never kept."""
    scored = []
    for start, end, indexes in fragments:
        if indexes:
            terms = [marked[index] for index in indexes]
            scored.append((float(len(terms)) * (len(set(terms)) * 100), start, end, indexes))
    best = sorted(heapq.nlargest(count, scored, key=operator.itemgetter(0, 1)), key=operator.itemgetter(1))
    return [highlight.Fragment(text, [_Match(marked[index], bounds[2 * index], bounds[2 * index + 1])
                                      for index in indexes], start, min(len(text), end))
            for _score, start, end, indexes in best]


def whole_fragment(text: str, bounds: list[int], marked: dict[int, str], *,
                    charlimit: int) -> list[highlight.Fragment]:
    """What ``highlight.WholeFragmenter(charlimit).fragment_tokens`` gives."""
    matches = []
    for index, term in marked.items():
        start, end = bounds[2 * index], bounds[2 * index + 1]
        if charlimit and end > charlimit:
            break
        matches.append(_Match(term, start, end))
    return [highlight.Fragment(text, matches)]


def snippet(text: str, fieldname: str, variant: str, terms: dict, prefixes, *, whole: bool) -> str:
    """The text with its matches in <mark> (Whoosh's ``highlight()`` with our formatter, two best
    fragments in text order), the whole text for a title; escaped plain text when nothing matched."""
    wanted = terms.get(fieldname, set())
    field_prefixes = [prefix for field, prefix in prefixes if field == fieldname]
    if wanted or field_prefixes:
        bounds, marked = marked_tokens(text, analysis(variant), wanted, field_prefixes)
        if marked:
            if whole:
                best = highlight.top_fragments(
                    whole_fragment(text, bounds, marked, charlimit=highlight.DEFAULT_CHARLIMIT), SNIPPET_FRAGMENTS,
                    highlight.BasicFragmentScorer(), highlight.FIRST, minscore=1)
            else:
                fragments = context_fragments(text, bounds, marked, maxchars=SNIPPET_CHARACTERS,
                                              surround=SNIPPET_SURROUND, charlimit=highlight.DEFAULT_CHARLIMIT)
                best = best_fragments(text, bounds, marked, fragments, SNIPPET_FRAGMENTS)
            marked_text = MarkFormatter()(text, best)
            if marked_text:
                return marked_text
    if whole:
        return html.escape(text)
    return html.escape(shorten(text))


def shorten(text: str) -> str:
    text = " ".join(text.split())
    if len(text) <= SNIPPET_CHARACTERS:
        return text
    return text[:SNIPPET_CHARACTERS].rsplit(" ", 1)[0] + " …"

