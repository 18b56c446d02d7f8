"""The index's fields and analyzers.

Text is indexed with the analyzer of its language, in fields of its own (a proposal's original in its
language's fields, each of its translations in the translation's language's fields): English and
Russian are stemmed (Snowball), Chinese, Japanese and Korean are cut into character bigrams, every
other language is lower-cased words. A query is run against every language's fields, so it finds a
proposal whatever its language. Facet fields keep values as they are (codes, slugs, names, years).
"""

from __future__ import annotations

import functools
import re
import threading

from whoosh.analysis import Filter, LanguageAnalyzer, LowercaseFilter, RegexTokenizer, StandardAnalyzer
from whoosh.fields import ID, KEYWORD, NUMERIC, STORED, TEXT, Schema

#: Language code -> the suffix of the fields its text goes to.
STEMMED_LANGUAGES = {"en": "en", "ru": "ru"}
BIGRAM_LANGUAGES = frozenset({"zh", "ja", "ko"})
VARIANTS = ("en", "ru", "cjk", "any")
TITLE_BOOST = 3.0


def variant_of(language: str) -> str:
    if language in STEMMED_LANGUAGES:
        return STEMMED_LANGUAGES[language]
    if language in BIGRAM_LANGUAGES:
        return "cjk"
    return "any"


#: Han, Hiragana, Katakana and Hangul: scripts written without spaces between words.
CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")


class CJKBigramFilter(Filter):
    """Cut each run of CJK characters into overlapping pairs ("安全合作" -> 安全 全合 合作); other tokens
    pass unchanged. Positions count up by one per token, so phrases of bigrams match."""

    def __call__(self, tokens):
        position = 0
        for token in tokens:
            text = token.text
            if not CJK.search(text):
                token.pos = position
                position += 1
                yield token
                continue
            start = getattr(token, "startchar", None)
            pieces = [(index, text[index:index + 2]) for index in range(len(text) - 1)] or [(0, text)]
            for offset, piece in pieces:
                token.text = piece
                token.pos = position
                if start is not None:
                    token.startchar = start + offset
                    token.endchar = start + offset + len(piece)
                position += 1
                yield token


#: Hold it while running a shared analyzer: Whoosh's stemming cache is not safe for threads.
ANALYZING = threading.RLock()


@functools.cache
def analyzer_of(variant: str):
    """The analyzer of a language variant: one instance per variant, so its stemming cache is reused."""
    if variant in ("en", "ru"):
        return LanguageAnalyzer(variant)
    if variant == "cjk":
        return RegexTokenizer() | LowercaseFilter() | CJKBigramFilter()
    return StandardAnalyzer(stoplist=None)


#: Whoosh's default token pattern, and the same tokens found a third faster: after a longest run of
#: word characters only a dot followed by more can continue a token, so nothing need be given back
#: (possessive quantifiers, Python 3.11).
_WHOOSH_TOKENS = r"[\w\*]+(\.?[\w\*]+)*"
_FAST_TOKENS = r"[\w\*]++(?:\.[\w\*]++)*+"


def token_pattern(analyzer):
    """The analyzer's tokenizer pattern without capturing groups, so ``findall`` and ``split`` (in C)
    return whole tokens: the same tokens the analyzer cuts."""
    expression = analyzer.items[0].expression
    if expression.pattern == _WHOOSH_TOKENS:
        return re.compile(_FAST_TOKENS, expression.flags)
    return re.compile(expression.pattern.replace("(", "(?:"), expression.flags)


_SPELLING_ANALYZER = StandardAnalyzer(stoplist=None)
_SPELLING_TOKENS = token_pattern(_SPELLING_ANALYZER)


def spelling_words(text: str) -> str:
    """What the "words" field is given: each distinct token of ``text`` once, as written (the field
    lower-cases them). It serves "did you mean", which needs each word of a proposal, not how often."""
    return " ".join(dict.fromkeys(_SPELLING_TOKENS.findall(text)))


def text_fields(group: str) -> list[str]:
    """The fields of a text group ("title" or "body") in every language variant."""
    return [f"{group}_{variant}" for variant in VARIANTS]


def build_schema() -> Schema:
    fields = {
        "proposal_id": ID(stored=True, unique=True),
        "reference": ID(stored=True),
        # Stored too, so that `flask search check` sees a renamed author or think tank.
        "author": TEXT(analyzer=StandardAnalyzer(stoplist=None), stored=True),
        "thinktank": TEXT(analyzer=StandardAnalyzer(stoplist=None), stored=True),
        "keyword": TEXT(analyzer=StandardAnalyzer(stoplist=None), stored=True),
        "facet_dimension": KEYWORD(stored=True, commas=True),
        "facet_member_state": KEYWORD(stored=True, commas=True),
        "facet_think_tank": KEYWORD(stored=True, commas=True),
        "facet_language": ID(stored=True),
        "facet_year": ID(stored=True),
        "decided": NUMERIC(stored=True, sortable=True, bits=64),
        "variant": STORED(),
        # The text as written, for highlighting and "more like this" without asking the database.
        "stored_title": STORED(),
        "stored_body": STORED(),
        #: The translations' texts as [language, title, body] lists, by language (``service.document_of``).
        "stored_translations": STORED(),
        # Every word unstemmed, for "did you mean" (its lexicon only: no positions).
        "words": TEXT(analyzer=_SPELLING_ANALYZER, phrase=False),
    }
    for variant in VARIANTS:
        fields[f"title_{variant}"] = TEXT(analyzer=analyzer_of(variant), field_boost=TITLE_BOOST, phrase=True)
        fields[f"body_{variant}"] = TEXT(analyzer=analyzer_of(variant), phrase=True)
    return Schema(**fields)
