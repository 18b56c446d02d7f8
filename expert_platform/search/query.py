"""From what a researcher types to a Whoosh query over every language's fields.

The syntax (issue 6): words are ANDed; ``"exact phrases"``; ``OR``; ``NOT`` or a leading ``-``;
prefixes ``secur*`` with at least three letters before the star; the fields ``title:``, ``author:``,
``thinktank:`` and ``keyword:``, and no others (``state:draft`` searches the words). A query with an
unclosed quote or parenthesis is searched as plain words, with a notice; queries are cut at
MAX_QUERY_LENGTH characters and hold at most MAX_PREFIXES prefixes (the others count as words), so
no query can be made expensive.

Parsing happens against a small schema of the fields we offer, with an analyzer that only splits and
lower-cases; each resulting term, phrase or prefix is then re-analysed for each language variant of
the index (stemmed English and Russian, CJK bigrams, plain words) and ORed across them.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from flask_babel import gettext as _
from whoosh import qparser, query
from whoosh.analysis import StandardAnalyzer
from whoosh.fields import TEXT, Schema

from .schema import ANALYZING, VARIANTS, analyzer_of, text_fields

MAX_QUERY_LENGTH = 256
MAX_PREFIXES = 4
MIN_PREFIX_LETTERS = 3
#: Query texts whose parsed trees and plans are kept (see ``_query_of``).
PARSED_QUERIES_KEPT = 2048

#: The fields a query may name (the parsing schema) and the index fields each stands for.
OFFERED_FIELDS = ("title", "author", "thinktank", "keyword")
_DEFAULT = "text"
_WORDS = re.compile(r"\w+", re.UNICODE)
#: A leading minus excludes a word or phrase: the same as NOT.
_MINUS = re.compile(r"(^|[\s(])-(?=[\w\"(])", re.UNICODE)


def _parsing_schema() -> Schema:
    plain = StandardAnalyzer(stoplist=None)
    return Schema(**{name: TEXT(analyzer=plain) for name in (_DEFAULT, *OFFERED_FIELDS)})


def _parser() -> qparser.QueryParser:
    parser = qparser.QueryParser(_DEFAULT, _parsing_schema(), group=qparser.AndGroup)
    for plugin in (qparser.RangePlugin, qparser.BoostPlugin, qparser.EveryPlugin, qparser.SingleQuotePlugin):
        parser.remove_plugin_class(plugin)
    return parser


_PARSER = _parser()


@dataclass(frozen=True)
class ParsedQuery:
    """The query to run (None: every public proposal), the words for "did you mean", and a notice
    for the researcher when the query was changed."""

    query: query.Query | None
    words: list[str]
    notice: str | None
    #: The same query as a plan any backend can compile (see ``plan_of``); None: every public proposal.
    plan: tuple | None = None


def is_malformed(text: str) -> bool:
    """An unclosed double quote, or parentheses that do not pair."""
    if text.count('"') % 2:
        return True
    depth = 0
    for character in text:
        depth += {"(": 1, ")": -1}.get(character, 0)
        if depth < 0:
            return True
    return depth != 0


def _cut(text: str) -> str:
    """The first MAX_QUERY_LENGTH characters, without the last word when the cut falls inside it (half a
    word would be searched as a word nobody typed)."""
    kept = text[:MAX_QUERY_LENGTH]
    if not text[MAX_QUERY_LENGTH].isspace() and re.search(r"\s", kept):
        kept = re.split(r"\s+(?=\S*$)", kept)[0]
    return kept


def parse(text: str | None) -> ParsedQuery:
    text = (text or "").strip()
    notices = []
    if len(text) > MAX_QUERY_LENGTH:
        text = _cut(text)
        notices.append(_("Your query was cut to its first %(count)d characters.", count=MAX_QUERY_LENGTH))
    words = _WORDS.findall(text)
    if is_malformed(text):
        notices.append(_("Your query has an unclosed quote or parenthesis: it was searched as plain words."))
        text = " ".join(words)
    if not words:
        return ParsedQuery(query=None, words=[], notice=" ".join(notices) or None)
    return ParsedQuery(query=_query_of(text), words=words, notice=" ".join(notices) or None, plan=plan_of(text))


@functools.lru_cache(maxsize=PARSED_QUERIES_KEPT)
def _syntax_tree(text: str) -> query.Query:
    """What the parser makes of a (cut, well-formed) query text, before any analysis."""
    return _PARSER.parse(_MINUS.sub(r"\1NOT ", text))


@functools.lru_cache(maxsize=PARSED_QUERIES_KEPT)
def _query_of(text: str) -> query.Query | None:
    """The Whoosh query tree of a (cut, well-formed) query text: its plan (``plan_of``) over every
    language's fields. A pure function of the text, kept for the queries asked again: Whoosh's parser
    costs about a millisecond. Nobody changes the trees it returns."""
    planned = plan_of(text)
    if planned is None:
        return None
    compiled = _whoosh_query(planned)
    return None if compiled is query.NullQuery else compiled


def _targets(fieldname: str) -> list[tuple[str, str | None]]:
    """The index fields a parsed field stands for, each with its language variant (None: not a text group)."""
    if fieldname == "title":
        return [(f"title_{variant}", variant) for variant in VARIANTS]
    if fieldname == _DEFAULT:
        return ([(f"title_{variant}", variant) for variant in VARIANTS]
                + [(f"body_{variant}", variant) for variant in VARIANTS]
                + [("author", None), ("thinktank", None), ("keyword", None)])
    return [(fieldname, None)]


_PLAIN = StandardAnalyzer(stoplist=None)


def analysed_tokens(text: str, variant: str | None) -> list[str]:
    """The terms a language variant's analyzer makes of ``text`` (None: plain words, lower-cased, no stop
    words dropped, as the author, think tank and keyword fields are analysed)."""
    with ANALYZING:
        if variant is None:
            return [token.text for token in _PLAIN(text)]
        return [token.text for token in analyzer_of(variant)(text)]


def _words_query(fieldname: str, words: list[str], *, phrase: bool) -> query.Query:
    """``words`` (already split) in ``fieldname``'s targets: each variant analyses them its own way."""
    alternatives = []
    for target, variant in _targets(fieldname):
        # (A Chinese, Japanese or Korean text is cut into bigrams, but the Latin words in it, "ASEAN"
        # or "COVID", stay whole: a query in Latin letters looks there too.)
        tokens = analysed_tokens(" ".join(words), variant)
        if not tokens:
            if variant in ("en", "ru") and not phrase:
                # A stop word ("the", "и") is in no English or Russian text's index: requiring it would
                # exclude every such proposal, so the word is left out of the query instead.
                return query.NullQuery
            continue
        if len(tokens) == 1:
            alternatives.append(query.Term(target, tokens[0]))
        elif phrase or variant == "cjk":
            alternatives.append(query.Phrase(target, tokens))
        else:
            alternatives.append(query.And([query.Term(target, token) for token in tokens]))
    if not alternatives:
        return query.NullQuery
    return alternatives[0] if len(alternatives) == 1 else query.Or(alternatives)


def _prefix_query(fieldname: str, prefix: str) -> query.Query:
    return query.Or([query.Prefix(target, prefix.lower()) for target, _variant in _targets(fieldname)])


def _whoosh_query(plan: tuple) -> query.Query:
    """A plan as a Whoosh query: each leaf in every field it stands for, analysed the way each is."""
    kind = plan[0]
    if kind == "every":
        return query.Every()
    if kind == "words":
        return _words_query(plan[1], list(plan[2]), phrase=plan[3])
    if kind == "prefix":
        return _prefix_query(plan[1], plan[2])
    if kind == "not":
        return query.Not(_whoosh_query(plan[1]))
    if kind == "andnot":
        return query.AndNot(_whoosh_query(plan[1]), _whoosh_query(plan[2]))
    parts = [part for part in map(_whoosh_query, plan[1]) if part is not query.NullQuery]
    if not parts:
        return query.NullQuery
    return parts[0] if len(parts) == 1 else (query.Or if kind == "or" else query.And)(parts)


def text_variants() -> list[str]:
    return text_fields("title") + text_fields("body")


# --- the plan: the query for a backend other than Whoosh ---------------------------------------------
# A plan is what the parser made of a query once our rules are applied (the prefix budget, wildcards
# as words, stop words left out, a query of exclusions only), before any language's analysis, which
# each backend does its own way (``_whoosh_query`` here, ``postgres._Compiled``):
#   ("every",)                                   every public proposal
#   ("words", field, (word, ...), is_phrase)     field: "text" (every text), "title", "author", ...
#   ("prefix", field, letters)
#   ("and", (plan, ...)), ("or", (plan, ...)), ("not", plan), ("andnot", plan, plan)


@functools.lru_cache(maxsize=PARSED_QUERIES_KEPT)
def plan_of(text: str) -> tuple | None:
    budget = {"prefixes": MAX_PREFIXES}
    planned = _plan(_syntax_tree(text), budget)
    if planned is None:
        return None
    if planned[0] == "not":
        return ("andnot", ("every",), planned[1])
    if planned[0] == "and" and all(part[0] == "not" for part in planned[1]):
        return ("andnot", ("every",), ("or", tuple(part[1] for part in planned[1])))
    return planned


def _is_stop_word(fieldname: str, words: list[str]) -> bool:
    """Whether ``_words_query`` leaves these words out: stop words of English or Russian, in a field
    with language variants (the text or the title)."""
    return any(variant in ("en", "ru") and not analysed_tokens(" ".join(words), variant)
               for _target, variant in _targets(fieldname))


def _planned_words(fieldname: str, words: list[str], *, phrase: bool) -> tuple | None:
    words = [word for word in words if word]
    if not words or (not phrase and _is_stop_word(fieldname, words)):
        return None
    return ("words", fieldname, tuple(words), phrase)


def _plan(node: query.Query, budget: dict) -> tuple | None:
    if isinstance(node, query.Term):
        return _planned_words(node.fieldname, [str(node.text)], phrase=False)
    if isinstance(node, query.Phrase):
        return _planned_words(node.fieldname, [str(word) for word in node.words], phrase=True)
    if isinstance(node, query.Prefix):
        letters = str(node.text)
        if len(letters) >= MIN_PREFIX_LETTERS and budget["prefixes"] > 0:
            budget["prefixes"] -= 1
            return ("prefix", node.fieldname, letters.lower())
        return _planned_words(node.fieldname, _WORDS.findall(letters), phrase=False)
    if isinstance(node, (query.Wildcard, query.FuzzyTerm)):
        return _planned_words(node.fieldname, _WORDS.findall(str(node.text)), phrase=False)
    if isinstance(node, query.Every):
        return ("every",)
    if node is query.NullQuery:
        return None
    if isinstance(node, query.Not):
        inner = _plan(node.query, budget)
        return None if inner is None else ("not", inner)
    if isinstance(node, query.AndNot):
        kept, left_out = _plan(node.a, budget), _plan(node.b, budget)
        return kept if left_out is None or kept is None else ("andnot", kept, left_out)
    if isinstance(node, query.BinaryQuery):  # AndMaybe, Require, Otherwise: the first part decides
        return _plan(node.a, budget)
    if isinstance(node, query.CompoundQuery):
        parts = tuple(part for part in (_plan(part, budget) for part in node.subqueries) if part is not None)
        if not parts:
            return None
        kind = "or" if isinstance(node, query.Or) else "and"
        return parts[0] if len(parts) == 1 else (kind, parts)
    return None
