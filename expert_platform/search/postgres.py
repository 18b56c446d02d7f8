"""The PostgreSQL search backend's tables and SQL (``SEARCH_BACKEND=postgres``; the backend object is
``postgres_backend.PostgresBackend``): the archive searched with PostgreSQL's full-text search, in the
database every application server already shares.

The same words as the Whoosh backend: PostgreSQL's parser reads no proposal text and no query. Each text is
analysed in Python by the Whoosh analyzers of its language (``index_terms``: the same terms, stems, stop
words and positions), and the tsvector is written as a literal (``index_vector``); a query's leaves are
compiled to tsquery literals the same way (``_leaf_query``). So markup-shaped text, entities, URLs and
e-mail addresses, hyphenated and apostrophe words, numbers and CJK character pairs give the same tokens on
both backends (tests/search/test_conformance.py holds the totals equal). Each public proposal is a
``search_documents`` row (``models.SearchDocument``) with a vector per configuration column (english,
russian, simple), its authors, think tanks and keywords in its text column (weight D) and in ``people``.
Results are ranked with RUM's index order where the extension is there (``postgres_ranking``), else with
``ts_rank_cd`` (title words weigh 1.0, the body 0.4), highlighted in Python as the Whoosh backend highlights
(``highlighting.snippet``: the same marks and fragments on both), and facets are counted from the values kept
in each document's row. Ranks differ from Whoosh's BM25F; which proposals match, totals and facets are the
same.

Writes happen in the caller's session (the outbox's own, or a rebuild's): the index is part of the
database, so an index update commits or rolls back with the rows that record it. A batch of documents is
three statements (``write``), whatever its size.
"""

from __future__ import annotations

import functools
import itertools
import math
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import TextClause, text

from ..extensions import db
from .documents import words_of
from .highlighting import TokenAnalysis, analysis
from .models import SearchIndexState
from .query import analysed_tokens
from .schema import analyzer_of, token_pattern, variant_of
from .similar import budget, chosen

#: Each language variant's tsvector column; the column's name is its text search configuration's.
COLUMN_OF_VARIANT = {"en": "english", "ru": "russian", "cjk": "simple", "any": "simple"}
COLUMNS = ("english", "russian", "simple")
#: The weight a field's words carry in ``people``.
PEOPLE_WEIGHTS = {"author": "A", "thinktank": "B", "keyword": "C"}
#: ts_rank_cd's weights for D, C, B, A: title words (A) count 2.5 times body words (B).
RANK_WEIGHTS = "{0.1, 0.2, 0.4, 1.0}"
#: Ranks divided by 1 + the logarithm of the document's length: a short proposal about a word is not
#: outranked by a long one that mentions it in passing (as BM25 weighs length in the Whoosh backend).
RANK_NORMALIZATION = 1
#: A match among the authors, think tanks or keywords counts half a text match.
PEOPLE_RANK = 0.5
#: With the RUM indexes, the matches nearest in their order that are ranked for a page (at least).
RANKED_CANDIDATES = 250
#: Candidate words of a proposal considered for "more like this", and how many are asked for.
RELATED_CANDIDATES = 24
RELATED_WORDS = 12
#: Of a text whose every word is common, the related proposals are ranked among this many (``_newest_nearest``).
RELATED_NEWEST_CANDIDATES = 200


#: The language variants whose texts each tsvector column holds.
VARIANTS_IN_COLUMN = {column: tuple(variant for variant, its in COLUMN_OF_VARIANT.items() if its == column)
                      for column in COLUMNS}
#: The longest lexeme a tsvector holds (bytes); a longer token is left out (nobody can type it in a query).
MAX_LEXEME_BYTES = 2047


class _KeptTerms(dict):
    """A variant's raw token (as its token pattern cuts it) -> the terms its analyzer keeps of it (stop
    words left out; a run of CJK characters gives its pairs): ``highlighting.analysis`` of each distinct
    token once, then looked up without a Python call per token. Started afresh when full."""

    def __init__(self, variant: str) -> None:
        super().__init__()
        self.variant = variant
        self.pattern = token_pattern(analyzer_of(variant))

    def __missing__(self, raw: str) -> tuple[str, ...]:
        if len(self) >= TokenAnalysis.MAX_REMEMBERED:
            self.clear()
        kept = self[raw] = tuple(term for _start, _end, term, stopped in analysis(self.variant).of(raw)
                                 if not stopped)
        return kept


@functools.cache
def _kept_terms(variant: str) -> _KeptTerms:
    return _KeptTerms(variant)


def index_terms(value: str, variant: str | None) -> list[str]:
    """The terms the Whoosh backend indexes of ``value`` in ``variant``'s fields (None: the authors', think
    tanks' and keywords' fields), in order, a term's position being its index: its analyzer's tokens
    (``schema.analyzer_of``: its token pattern, lower-cased; English and Russian without stop words,
    positions counted without them, and stemmed; Chinese, Japanese and Korean cut into pairs).
    PostgreSQL's parser never reads a text: it takes ``<script>...</script>`` or ``<div class="x">`` for
    markup and drops it, and makes tokens of its own of URLs, e-mail addresses, hosts, paths, numbers,
    hyphenated words and ``&amp;``, which a query analysed the Whoosh way would miss."""
    kept = _kept_terms(variant or "any")
    return list(itertools.chain.from_iterable(map(kept.__getitem__, kept.pattern.findall(value))))


class _Quoted(dict):
    """Term -> the term as a tsvector or tsquery literal writes it (``_quoted``), each written once. Started
    afresh when full."""

    def __missing__(self, term: str) -> str:
        if len(self) >= TokenAnalysis.MAX_REMEMBERED:
            self.clear()
        quoted = self[term] = _quoted(term)
        return quoted


_QUOTED = _Quoted()


def _indexable(terms: list[str], positions: Iterable[int]) -> tuple[list[str], Iterable[int]]:
    """The terms (with their positions) a tsvector can hold: all but those longer than MAX_LEXEME_BYTES."""
    if not terms or max(map(len, terms)) * 4 <= MAX_LEXEME_BYTES:  # at most 4 bytes a character
        return terms, positions
    kept = [(term, position) for term, position in zip(terms, positions, strict=True)
            if len(term.encode()) <= MAX_LEXEME_BYTES]
    return [term for term, _position in kept], [position for _term, position in kept]


def index_vector(parts: Iterable[tuple[str, str | None, str]]) -> str:
    """A tsvector, written out (the statement casts it: no configuration re-analyses it), of ``parts``,
    (text, variant, weight) triples: each text's ``index_terms`` with its weight, at positions after the
    previous text's with one left free, so that no phrase runs from one text into the next (they are
    fields of their own in the Whoosh backend). Each occurrence is written on its own (``'water':3B
    'water':9B``), which PostgreSQL merges; it keeps a lexeme's first 256 positions and a position above
    16383 as 16383, as it does for ``to_tsvector``."""
    entries: list[str] = []
    offset = 0
    for value, variant, weight in parts:
        terms = index_terms(value, variant)
        positions = range(offset + 1, offset + 1 + len(terms))
        offset += len(terms) + 1
        terms, positions = _indexable(terms, positions)
        entries += map(f"{{}}:{{}}{weight}".format, map(_QUOTED.__getitem__, terms), positions)
    return " ".join(entries)


def _words_vector(words: str) -> str:
    """The "words" tsvector: each word as written, lower-cased, without positions (the Whoosh backend's
    "words" field, for "did you mean")."""
    terms = list(dict.fromkeys(index_terms(words, "any")))
    return " ".join(map(_QUOTED.__getitem__, _indexable(terms, range(len(terms)))[0]))


# --- writing ---------------------------------------------------------------------------------------

#: The columns of a search_documents row as written, with their types. A batch is one statement whatever
#: its size: each column's values in one array, the rows rebuilt with unnest.
_DOCUMENT_COLUMNS = {
    "proposal_id": "integer", "reference": "text", "variant": "text", "language": "text", "year": "text",
    "decided": "bigint", "title": "text", "body": "text", "authors": "text", "think_tanks": "text",
    "keywords": "text", "text_count": "integer", "english": "tsvector", "russian": "tsvector",
    "simple": "tsvector", "people": "tsvector", "words": "tsvector", "facets": "text",
}
#: What a column's array parameter becomes in the row (the facets, "name:value" lines, an array).
_WRITTEN_AS = {"facets": "string_to_array(facets, chr(10))"}
_TRANSLATION_COLUMNS = {"proposal_id": "integer", "language": "text", "variant": "text", "title": "text",
                        "body": "text"}


def _unnested(columns: dict[str, str]) -> str:
    """The rows of a batch: one array parameter per column, named after it, unnested side by side."""
    arrays = ", ".join(f"CAST(:{name} AS {kind}[])" for name, kind in columns.items())
    return f"unnest({arrays}) AS written ({', '.join(columns)})"


def _arrays(rows: list[dict], columns: dict[str, str]) -> dict[str, list]:
    return {name: [row[name] for row in rows] for name in columns}


#: Rows in proposal order (a write holds the index version's row first, ``next_version``, so two writes do
#: not interleave anyway).
_UPSERT = text(f"""
INSERT INTO search_documents ({", ".join(_DOCUMENT_COLUMNS)}, indexed_at)
SELECT {", ".join(_WRITTEN_AS.get(name, name) for name in _DOCUMENT_COLUMNS)}, now()
FROM {_unnested(_DOCUMENT_COLUMNS)}
ORDER BY proposal_id
ON CONFLICT (proposal_id) DO UPDATE SET
    {", ".join(f"{name} = EXCLUDED.{name}" for name in _DOCUMENT_COLUMNS if name != "proposal_id")},
    indexed_at = EXCLUDED.indexed_at
""")


_NEXT_VERSION = text(
    f"INSERT INTO {SearchIndexState.__tablename__} AS state (id, version) "
    "VALUES (1, CAST(extract(epoch FROM clock_timestamp()) * 1000000 AS bigint)) "
    "ON CONFLICT (id) DO UPDATE SET version = GREATEST(state.version + 1, EXCLUDED.version)")


def next_version(session) -> None:
    """Move the index version (``models.SearchIndexState``) in ``session``'s transaction. Every change of the
    index does this before it touches a document: the row's lock, held until the commit, makes concurrent
    index writes wait for each other in one order (two batches sharing proposals, or a bulk write's DROP
    INDEX, never deadlock with another write)."""
    session.execute(_NEXT_VERSION)


def _replacing(table: str, columns: dict[str, str]) -> TextClause:
    """One statement that replaces the rows of ``table`` of the proposals ``:ids`` with a batch's rows. The
    DELETE, a data-modifying CTE, is over before the first row is inserted (the INSERT first needs its
    count), so no new row meets an old one under the primary key."""
    return text(f"WITH replaced AS (DELETE FROM {table} WHERE proposal_id = ANY(CAST(:ids AS integer[])) RETURNING 1) "
                f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(columns)} FROM {_unnested(columns)} "
                "WHERE (SELECT count(*) FROM replaced) >= 0")


_REPLACE_TRANSLATIONS = _replacing("search_translations", _TRANSLATION_COLUMNS)
_FACET_OF_FIELD = {"facet_dimension": "dimension", "facet_member_state": "member_state",
                   "facet_think_tank": "think_tank", "facet_language": "language", "facet_year": "year"}


def _row_of(document: dict, full_body: str) -> dict:
    """The search_documents row of ``document``. Each text vector holds the original when it is in that
    vector's language (with the authors, think tanks and keywords, weight D, unanalysed as in their own
    fields of the Whoosh backend) and the translations in that language (title A, body B); a vector no
    text went to is empty."""
    variant = document["variant"]
    parts: dict[str, list] = {column: [] for column in COLUMNS}
    parts[COLUMN_OF_VARIANT[variant]] += [
        (document["stored_title"], variant, "A"), (full_body, variant, "B"),
        (document["author"], None, "D"), (document["thinktank"], None, "D"), (document["keyword"], None, "D")]
    for language, title, _stored in document["stored_translations"]:
        translated = variant_of(language)
        # The whole text is indexed (the document's field), the stored one is cut.
        parts[COLUMN_OF_VARIANT[translated]] += [(title, translated, "A"),
                                                 (document[f"body_{translated}"], translated, "B")]
    return {
        "proposal_id": int(document["proposal_id"]), "reference": document["reference"], "variant": variant,
        "language": document["facet_language"], "year": document["facet_year"], "decided": document["decided"],
        "title": document["stored_title"], "body": document["stored_body"], "authors": document["author"],
        "think_tanks": document["thinktank"], "keywords": document["keyword"],
        "text_count": 1 + len(document["stored_translations"]),
        **{column: index_vector(parts[column]) for column in COLUMNS},
        "people": index_vector([(document["author"], None, "A"), (document["thinktank"], None, "B"),
                                (document["keyword"], None, "C")]),
        "words": _words_vector(words_of(document)),
        "facets": "\n".join(_facet_values(document)),
    }


def _translations_of(document: dict) -> list[dict]:
    return [{"proposal_id": int(document["proposal_id"]), "language": language, "variant": variant_of(language),
             "title": title, "body": body} for language, title, body in document["stored_translations"]]


def _facet_values(document: dict) -> list[str]:
    """The document's facet values as its row holds them, "name:value", each once."""
    return [f"{name}:{value}" for field, name in _FACET_OF_FIELD.items()
            for value in dict.fromkeys(value for value in document[field].split(",") if value)]


#: What a document becomes in the tables: its search_documents row and its search_translations rows.
Rows = tuple[dict, list[dict]]


def rows_of(documents: list[tuple[dict, str]]) -> list[Rows]:
    """The rows of ``documents`` ((document, full body text) pairs), in their order: the analysis of every
    text, the costly part of a write, and nothing that needs the database (a bulk write has worker processes
    make them, ``PostgresBackend.write``)."""
    return [(_row_of(document, body), _translations_of(document)) for document, body in documents]


def write(session, documents: list[tuple[dict, str]]) -> None:
    """Insert or replace the entries of ``documents`` ((document, full body text) pairs; of a proposal given
    twice, the last): ``write_rows`` of their ``rows_of``."""
    write_rows(session, rows_of(documents))


def write_rows(session, rows: list[Rows]) -> None:
    """Insert or replace the entries of ``rows`` (``rows_of``; of a proposal given twice, the last), in three
    statements whatever their number: the index version moved (``next_version``: a concurrent write waits for
    this one's commit, so two workers never mix their rows), the document rows (their facet values among
    them), then the translation rows, replaced in one statement."""
    if not rows:
        return
    latest = {row["proposal_id"]: (row, translations) for row, translations in rows}
    ids = sorted(latest)
    next_version(session)
    session.execute(_UPSERT, _arrays([latest[number][0] for number in ids], _DOCUMENT_COLUMNS))
    translations = [row for number in ids for row in latest[number][1]]
    session.execute(_REPLACE_TRANSLATIONS, {"ids": ids, **_arrays(translations, _TRANSLATION_COLUMNS)})


def remove(session, proposal_ids: list[int]) -> None:
    """Remove the entries of ``proposal_ids`` that the index holds. Removing what it does not hold changes
    nothing, not even the version (a draft's every save asks this: what each process keeps of the current
    version stays good)."""
    if not proposal_ids:
        return
    held = list(session.scalars(text("SELECT proposal_id FROM search_documents WHERE proposal_id = ANY(:ids)"),
                                {"ids": proposal_ids}))
    if not held:
        return
    next_version(session)
    session.execute(text("DELETE FROM search_translations WHERE proposal_id = ANY(:ids)"), {"ids": held})
    session.execute(text("DELETE FROM search_documents WHERE proposal_id = ANY(:ids)"), {"ids": held})


def analyze(session) -> None:
    """Refresh the planner's statistics of the search tables (after a rebuild rewrote them)."""
    session.execute(text("ANALYZE search_documents, search_translations"))


def clear(session) -> None:
    """Empty the index (a rebuild, in the transaction that refills it: readers see the old rows until
    it commits, or wait for it when a bulk write dropped the indexes)."""
    next_version(session)
    session.execute(text("DELETE FROM search_translations"))
    session.execute(text("DELETE FROM search_documents"))


def doc_count(session=None) -> int:
    return (session or db.session).scalar(text("SELECT count(*) FROM search_documents")) or 0


def doc_count_up_to(session, limit: int) -> int:
    """How many rows search_documents holds, counted no further than ``limit``: exact while they are fewer,
    and no more than ``limit`` rows read however many it holds (0.4 ms for 5,000). The planner's estimate
    (pg_class.reltuples) costs nothing, but it is -1 before the first ANALYZE and does not see the rows the
    caller's transaction deleted."""
    return session.scalar(text("SELECT count(*) FROM (SELECT FROM search_documents LIMIT :limit) held"),
                          {"limit": limit}) or 0


def stored_entries(session=None) -> dict[str, dict]:
    """Every entry's stored fields under the Whoosh backend's names (for ``service.check``); facet
    values from the row's ``facets`` ("name:value"), in its order, which ``check`` compares as sets."""
    session = session or db.session
    translations: dict[int, list[list[str]]] = {}
    for proposal_id, language, title, body in session.execute(
            text("SELECT proposal_id, language, title, body FROM search_translations ORDER BY proposal_id, language")):
        translations.setdefault(proposal_id, []).append([language, title, body])
    entries = {}
    for row in session.execute(text(
            "SELECT proposal_id, reference, title, body, authors, think_tanks, keywords, language, year, decided, "
            "facets FROM search_documents")).mappings():
        own: dict[str, list[str]] = {}
        for facet in row["facets"]:
            name, _separator, value = facet.partition(":")
            own.setdefault(name, []).append(value)
        entries[str(row["proposal_id"])] = {
            "proposal_id": str(row["proposal_id"]), "reference": row["reference"], "stored_title": row["title"],
            "stored_body": row["body"], "author": row["authors"], "thinktank": row["think_tanks"],
            "keyword": row["keywords"], "facet_language": row["language"], "facet_year": row["year"],
            "decided": row["decided"], "stored_translations": translations.get(row["proposal_id"], []),
            **{field: ",".join(own.get(name, [])) for field, name in _FACET_OF_FIELD.items()
               if name not in ("language", "year")},
        }
    return entries


# --- compiling a query -----------------------------------------------------------------------------


def _quoted(word: str) -> str:
    """A lexeme as tsquery and tsvector syntax write it: quoted, so that no character of it is an operator."""
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


#: A tsquery operand no vector holds (no term holds a space): what a leaf asks of a column whose analysis
#: leaves none of its words (a phrase of stop words, in the English column).
NOTHING = "' '"


def prefix_stem(letters: str, variant: str | None) -> str | None:
    """The stem a stemmed language variant (en, ru) makes of a prefix's letters, when it makes one: a prefix
    also stands for its own stem ("desalination*": "desalin"), in the query and in the highlights."""
    stems = analysed_tokens(letters, variant) if variant in ("en", "ru") else []
    return stems[0] if len(stems) == 1 else None


def _terms(tokens: list[str], *, phrase: bool, weights: str = "") -> str:
    """Terms as one tsquery operand: one, a phrase (``<->``) or all of them (``&``), each of ``weights``."""
    operands = [_quoted(token) + (f":{weights}" if weights else "") for token in tokens]
    return operands[0] if len(operands) == 1 else "(" + (" <-> " if phrase else " & ").join(operands) + ")"


def _leaf_query(plan, column: str) -> str:
    """What a leaf asks of ``column`` (a text column or ``people``), as a tsquery written out (cast: no
    configuration re-analyses it, so "example.org", "3.5" or "snake_case" stay one term): the terms the
    Whoosh backend looks for in the fields the column stands for (``query._words_query``,
    ``_prefix_query``), the words analysed as each variant whose texts the column holds analyses them. A
    text column holds the original's authors, think tanks and keywords unanalysed (weight D), as their
    fields do: a word of the text field is looked for there as written too. A prefix finds the terms it
    starts and its own stem ("desalination*": "desalin"); the Whoosh backend also takes the stems of the
    other words of its word list that it starts."""
    field = plan[1]
    if column == "people":
        weights = PEOPLE_WEIGHTS.get(field, "")
        if plan[0] == "prefix":
            return f"{_quoted(plan[2])}:*{weights}"
        tokens = analysed_tokens(" ".join(plan[2]), None)
        return _terms(tokens, phrase=plan[3], weights=weights) if tokens else NOTHING
    # A title word must be of weight A, which PostgreSQL checks in the vector of each row the GIN index
    # finds; the other leaves have none, which the index answers alone (the people's alternative, weight D,
    # is checked only in the rows where no analysed term is).
    weights = "A" if field == "title" else ""
    alternatives = []
    if plan[0] == "prefix":
        letters = plan[2]
        alternatives.append(f"{_quoted(letters)}:*{weights}")
        for variant in VARIANTS_IN_COLUMN[column]:
            stem = prefix_stem(letters, variant)
            if stem is not None and stem != letters:
                alternatives.append(_terms([stem], phrase=False, weights=weights))
        return " | ".join(dict.fromkeys(alternatives))
    words, phrase = " ".join(plan[2]), plan[3]
    for variant in VARIANTS_IN_COLUMN[column]:
        tokens = analysed_tokens(words, variant)
        if tokens:
            alternatives.append(_terms(tokens, phrase=phrase or variant == "cjk", weights=weights))
    if field == "text":
        tokens = analysed_tokens(words, None)
        if tokens and _terms(tokens, phrase=phrase) not in alternatives:
            alternatives.append(_terms(tokens, phrase=phrase, weights="D"))
    return " | ".join(dict.fromkeys(alternatives)) or NOTHING


class _Compiled:
    """A plan compiled to SQL conditions on ``d`` (search_documents), with their parameters, and per
    column the tsquery expressions of its positive leaves (for ranking).

    ``branches``: conditions matching disjoint sets of documents, whose union is the query's matches.
    Each leaf (a word, phrase or prefix) matches a proposal when any of its texts holds it, and AND,
    OR and NOT combine what the leaves say of the whole proposal (as the Whoosh backend does): a phrase
    stays within one text, an excluded word excludes the proposal whichever text holds it."""

    def __init__(self, plan) -> None:
        self.params: dict[str, object] = {}
        #: column -> SQL tsquery expressions of the leaves that must match (not excluded ones).
        self.ranked: dict[str, list[str]] = {column: [] for column in (*COLUMNS, "people")}
        self.condition = "TRUE" if plan is None else self._condition(plan, positive=True)
        self.branches = [self.condition]
        #: column -> the whole query as one tsquery (a plan of text leaves only), ranking proposals of one text.
        self.trees: dict[str, str] = {}
        if plan is not None and _is_tree(plan):
            # Every leaf searches the text: for a proposal with one text, one tsquery per configuration, the
            # whole query in it, which the GIN index answers alone (a leaf at a time, each row's tsvector
            # would be read for the others). A proposal with translations has its texts in several vectors:
            # its leaves are asked one by one (``condition``), of those few proposals only.
            self.trees = {column: self._tree(plan, column) for column in COLUMNS}
            # A document's other columns are empty, and an empty tsvector matches an exclusion ("!! x"):
            # with one, each column is asked only of its own documents (a filter read row by row).
            guarded = _excludes(plan)
            one_text = "(" + " OR ".join(
                f"(d.variant {VARIANTS_OF_COLUMN[column]} AND d.{column} @@ {tree})" if guarded
                else f"d.{column} @@ {tree}" for column, tree in self.trees.items()
            ) + ")"
            # Two statements joined by UNION ALL rather than one OR: each keeps its own index plan, and
            # "text_count" (in the row) is checked before any tsvector is read.
            self.branches = [f"(d.text_count = 1 AND {one_text})", f"(d.text_count > 1 AND {self.condition})"]

    def param(self, value) -> str:
        name = f"q{len(self.params)}"
        self.params[name] = value
        return f":{name}"

    def _condition(self, plan, *, positive: bool) -> str:
        kind = plan[0]
        if kind == "every":
            return "TRUE"
        if kind in ("and", "or"):
            joiner = " AND " if kind == "and" else " OR "
            return "(" + joiner.join(self._condition(part, positive=positive) for part in plan[1]) + ")"
        if kind == "not":
            return f"(NOT {self._condition(plan[1], positive=not positive)})"
        if kind == "andnot":
            return (f"({self._condition(plan[1], positive=positive)} AND NOT "
                    f"{self._condition(plan[2], positive=not positive)})")
        return self._leaf(plan, positive=positive)

    def _tree(self, plan, column: str) -> str:
        """The whole plan as one tsquery for ``column`` (``_is_tree`` said it can be)."""
        kind = plan[0]
        if kind in ("and", "or"):
            operator = " && " if kind == "and" else " || "
            return "(" + operator.join(self._tree(part, column) for part in plan[1]) + ")"
        if kind == "not":
            return f"(!! {self._tree(plan[1], column)})"
        if kind == "andnot":
            if plan[1][0] == "every":
                return f"(!! {self._tree(plan[2], column)})"
            return f"({self._tree(plan[1], column)} && !! {self._tree(plan[2], column)})"
        return self._tsquery(plan, column)

    def _leaf(self, plan, *, positive: bool) -> str:
        field = plan[1]
        alternatives = []
        if field in ("text", "title"):
            for column in COLUMNS:
                expression = self._tsquery(plan, column)
                alternatives.append(f"d.{column} @@ {expression}")
                if positive:
                    self.ranked[column].append(expression)
        if field != "title":
            expression = self._tsquery(plan, "people")
            alternatives.append(f"d.people @@ {expression}")
            if positive:
                self.ranked["people"].append(expression)
        return "(" + " OR ".join(alternatives) + ")"

    def _tsquery(self, plan, column: str) -> str:
        """The tsquery of a leaf for ``column`` (``_leaf_query``)."""
        return f"CAST({self.param(_leaf_query(plan, column))} AS tsquery)"

    def rank_expression(self) -> str:
        """The score of a match: its tsqueries' cover density in each vector, plus half its match
        among the people when a leaf asked them. A proposal with translations is scored leaf by leaf
        (its words may be in different texts, where the whole query's tsquery finds no cover)."""
        by_leaf = self._rank_of(self.ranked)
        if not self.trees:
            return by_leaf
        by_tree = self._rank_of({**{column: [tree] for column, tree in self.trees.items()}, "people": []})
        return f"(CASE WHEN d.text_count = 1 THEN {by_tree} ELSE {by_leaf} END)"

    @staticmethod
    def _rank_of(ranked: dict[str, list[str]]) -> str:
        parts = []
        for column in COLUMNS:
            if ranked[column]:
                combined = " || ".join(ranked[column])
                parts.append(f"ts_rank_cd('{RANK_WEIGHTS}', d.{column}, {combined}, {RANK_NORMALIZATION})")
        if ranked["people"]:
            parts.append(f"{PEOPLE_RANK} * ts_rank_cd(d.people, {' || '.join(ranked['people'])})")
        return " + ".join(parts) if parts else "0"

#: The documents whose text is in a column (the other columns of a document are empty).
VARIANTS_OF_COLUMN = {"english": "= 'en'", "russian": "= 'ru'", "simple": "IN ('cjk', 'any')"}


def _is_tree(plan) -> bool:
    """Whether a plan searches the text only (no author:, thinktank: or keyword: leaf; "every" only as
    what an exclusion keeps): then the text columns, which hold the authors, think tanks and keywords too
    (weight D), answer it alone."""
    kind = plan[0]
    if kind in ("and", "or"):
        return all(_is_tree(part) for part in plan[1])
    if kind == "not":
        return _is_tree(plan[1])
    if kind == "andnot":
        return (plan[1][0] == "every" or _is_tree(plan[1])) and _is_tree(plan[2])
    if kind == "every":
        return False
    return plan[1] in ("text", "title")


def _excludes(plan) -> bool:
    kind = plan[0]
    if kind in ("not", "andnot"):
        return True
    return kind in ("and", "or") and any(_excludes(part) for part in plan[1])


def _filter_conditions(filters, compiled: _Compiled, think_tank_ids: list[int] | None) -> list[str]:
    """The filters as conditions on the facet values of the document's own row (``facets``, "name:value"):
    read with the row the match found, where asking the facet table for each match cost a subquery each."""
    conditions = []
    for name, values in (("dimension", filters.dimensions), ("member_state", filters.member_states)):
        for value in values:
            conditions.append(f"d.facets @> CAST({compiled.param([f'{name}:{value}'])} AS text[])")
    if filters.language:
        conditions.append(f"d.language = {compiled.param(filters.language)}")
    if filters.year:
        conditions.append(f"d.year = {compiled.param(str(filters.year))}")
    if think_tank_ids is not None:
        if not think_tank_ids:
            conditions.append("FALSE")
        else:
            ids = compiled.param([f"think_tank:{number}" for number in think_tank_ids])
            conditions.append(f"d.facets && CAST({ids} AS text[])")
    return conditions


@dataclass
class Text:
    """One text of a hit (its original or a translation)."""

    language: str
    variant: str
    title: str
    body: str


class Found:
    """A query's matches: counted, faceted and ranked in the database."""

    def __init__(self, plan, filters, think_tank_ids: list[int] | None, *, ranking: str | None = None) -> None:
        """``ranking``: the schema of the rum extension when the RUM indexes are there
        (``postgres_ranking.ranking_schema``): relevance is then read in index order."""
        self.plan = plan
        self.ranking = ranking
        self.compiled = _Compiled(plan)
        filtered = self.filtered = _filter_conditions(filters, self.compiled, think_tank_ids)
        branches = self.compiled.branches
        #: Each branch's FROM items and condition: their matches are disjoint, their union the query's.
        self.branches: list[tuple[str, str]] = []
        if len(branches) == 1:
            self.branches = [("search_documents d", " AND ".join([branches[0], *filtered]))]
        else:
            one_text, several_texts = branches
            # The filters go into each branch, where the planner can combine them with its indexes. The
            # proposals with translations are few: their ids come first (OFFSET 0 keeps the planner from
            # folding that in) and the leaf-by-leaf condition is asked of those rows only, not of every row
            # the GIN indexes find.
            self.branches = [("search_documents d", " AND ".join([one_text, *filtered])),
                             ("(SELECT DISTINCT proposal_id FROM search_translations OFFSET 0) t "
                              "JOIN search_documents d ON d.proposal_id = t.proposal_id",
                              " AND ".join([several_texts, *filtered]))]
        #: The proposals with translations that match (the second branch), or None.
        self.several_texts = (f"SELECT d.* FROM {self.branches[1][0]} WHERE {self.branches[1][1]}"
                              if len(self.branches) > 1 else None)
        #: What follows FROM: the documents (as ``d``) that match the query and the filters.
        self.source = self.source_of("*")

    def source_of(self, columns: str) -> str:
        """What follows FROM: the matching documents (as ``d``), with ``columns`` of them (a statement
        that reads few of them does not carry the others through the union of the branches)."""
        if len(self.branches) == 1:
            items, condition = self.branches[0]
            return f"{items} WHERE {condition}"
        return "(" + " UNION ALL ".join(f"SELECT d.{columns} FROM {items} WHERE {condition}"
                                        for items, condition in self.branches) + ") d"

    def _execute(self, sql: str, extra: dict | None = None):
        # PostgreSQL's planner prices reading a tsvector as if it were small; a proposal's is several
        # kilobytes stored out of line, so a sequential scan that reads every one of them took 50-100 times
        # longer than the GIN index (226 ms against 3 ms for a rare word at 20,000 proposals). The index is
        # used for this statement only.
        db.session.execute(text("SET LOCAL enable_seqscan = off"))
        try:
            return db.session.execute(text(sql), {**self.compiled.params, **(extra or {})})
        finally:
            db.session.execute(text("SET LOCAL enable_seqscan = on"))

    def total(self) -> int:
        return self._execute(f"SELECT count(*) FROM {self.source_of('proposal_id')}").scalar_one()

    def total_and_facets(self) -> tuple[int, dict[str, dict[str, int]]]:
        """How many proposals match, and per facet how many of them hold each value: one statement, the
        matches found once."""
        counts: dict[str, dict[str, int]] = {"dimension": {}, "member_state": {}, "language": {}, "year": {},
                                             "think_tank": {}}
        total = 0
        # Each document's facet values are in its row ("name:value"): counting them reads the rows the
        # match found, not the facet table's index for each of them (120 ms against 40 at 15,000 matches).
        # An empty value added to every row counts the matches in the same pass, and each branch counts its
        # own rows (keeping the matches to count them apart, or counting the union of the branches, cost
        # 55-70 ms against 35-40).
        counted = " UNION ALL ".join(
            f"SELECT f, count(*) AS n FROM {items}, unnest(array_append(d.facets, '')) f WHERE {condition} "
            "GROUP BY f" for items, condition in self.branches)
        for facet, count in self._execute(
                f"SELECT f, CAST(sum(n) AS bigint) FROM ({counted}) counted GROUP BY f" if len(self.branches) > 1
                else counted):
            if facet == "":
                total = count
            else:
                name, _separator, value = facet.partition(":")
                if value:
                    counts[name][value] = count
        return total, counts

    def _order(self, sort: str) -> tuple[str, str]:
        if self.plan is None:
            return "NULL", "d.decided DESC, d.proposal_id DESC"
        if sort == "newest":
            # "+ 0": not along the index of the dates, which would read the tsvector of every proposal
            # until enough matched (most of them for a rare word); the matches are found first, then sorted.
            return "NULL", "d.decided + 0 DESC, d.proposal_id DESC"
        return self.compiled.rank_expression(), "score DESC, d.proposal_id"

    def _nearest(self, best: str) -> str | None:
        """The ids of the matches to rank for a page: the ``best`` (a parameter) nearest of each text column
        in RUM's order (the inverse of its rank of the text), read from the index, with no tsvector read;
        and every proposal with translations that matches (they are few). None where the RUM indexes are
        missing or the query cannot be ordered so (a field query, or exclusions alone)."""
        compiled = self.compiled
        if self.ranking is None or self.several_texts is None or not any(compiled.ranked[column]
                                                                           for column in COLUMNS):
            return None
        distance = f"OPERATOR({self.ranking}.<=>)"
        guarded = _excludes(self.plan)
        parts = []
        for column, tree in compiled.trees.items():
            conditions = ["d.text_count = 1", *([f"d.variant {VARIANTS_OF_COLUMN[column]}"] if guarded else []),
                          f"d.{column} @@ {tree}", *self.filtered]
            parts.append(f"(SELECT d.proposal_id FROM search_documents d WHERE {' AND '.join(conditions)} "
                         f"ORDER BY d.{column} {distance} {tree} LIMIT {best})")
        parts.append(f"(SELECT d.proposal_id FROM ({self.several_texts}) d)")
        return " UNION ALL ".join(parts)

    def _ranked(self, sort: str, end: int) -> tuple[str, str]:
        """SQL of the matches in order as (proposal_id, score, decided, later), cut with ``:limit`` and
        ``:offset`` (the page ends at match ``end``), and the ORDER BY that keeps that order outside it (on
        ``r``). By relevance, with the RUM indexes, the RANKED_CANDIDATES matches nearest in RUM's order
        (``_nearest``) come first, ranked as without RUM (``ts_rank_cd``, normalised by length, which RUM's
        own order cannot be), then every other match so ranked: a query with fewer matches is ordered exactly
        as without RUM, and a page within the candidates reads their tsvectors only, not every match's; a
        match that RUM's order puts further back comes after them (docs/performance.md)."""
        score, order = self._order(sort)
        nearest = self._nearest(str(RANKED_CANDIDATES)) if sort != "newest" and self.plan is not None else None
        if nearest is None:
            return (f"SELECT d.proposal_id, {score} AS score, d.decided, FALSE AS later FROM {self.source} "
                    f"ORDER BY {order} LIMIT :limit OFFSET :offset",
                    order.replace("d.", "r.").replace("score", "r.score"))
        if end <= RANKED_CANDIDATES:
            return (f"SELECT d.proposal_id, {score} AS score, d.decided, FALSE AS later FROM ({nearest}) m "
                    f"JOIN search_documents d ON d.proposal_id = m.proposal_id ORDER BY {order} "
                    "LIMIT :limit OFFSET :offset", "r.score DESC, r.proposal_id")
        return (f"SELECT d.proposal_id, {score} AS score, d.decided, m.proposal_id IS NULL AS later "
                f"FROM {self.source} LEFT JOIN ({nearest}) m ON m.proposal_id = d.proposal_id "
                f"ORDER BY later, {order} LIMIT :limit OFFSET :offset", "r.later, r.score DESC, r.proposal_id")

    def ids(self, sort: str, limit: int) -> list[int]:
        """The ids of the ``limit`` first matches, in order."""
        return [proposal_id for proposal_id, _score in self.ranked(sort, 0, limit)]

    def ranked(self, sort: str, offset: int, limit: int) -> list[tuple[int, float | None]]:
        """(id, score) of the matches ``offset`` to ``offset + limit``, in order."""
        ranked, order = self._ranked(sort, offset + limit)
        return [(proposal_id, None if score is None else float(score)) for proposal_id, score in self._execute(
            f"SELECT r.proposal_id, r.score FROM ({ranked}) r ORDER BY {order}", {"limit": limit, "offset": offset})]


def texts(proposal_ids: list[int]) -> dict[int, list[Text]]:
    """The stored texts of the entries of ``proposal_ids`` (the original first, then the translations by
    language), for highlighting a page: one statement, and a second for the translations of those that
    have some."""
    if not proposal_ids:
        return {}
    rows = db.session.execute(text(
        "SELECT proposal_id, variant, language, text_count, title, body FROM search_documents "
        "WHERE proposal_id = ANY(:ids)"), {"ids": proposal_ids}).all()
    translated = _translations([row.proposal_id for row in rows if row.text_count > 1])
    return {row.proposal_id: [Text(language=row.language, variant=row.variant, title=row.title, body=row.body),
                              *translated.get(row.proposal_id, [])] for row in rows}


def _translations(proposal_ids: list[int]) -> dict[int, list[Text]]:
    if not proposal_ids:
        return {}
    found: dict[int, list[Text]] = {}
    for row in db.session.execute(text(
            "SELECT t.proposal_id, t.language, t.variant, t.title, t.body FROM search_translations t "
            "WHERE t.proposal_id = ANY(:translated) ORDER BY t.proposal_id, t.language"),
            {"translated": proposal_ids}):
        found.setdefault(row.proposal_id, []).append(Text(language=row.language, variant=row.variant,
                                                          title=row.title, body=row.body))
    return found


# --- "did you mean" and "more like this" --------------------------------------------------------------

_lexicons: dict = {}
_lexicons_lock = threading.Lock()


def index_version() -> tuple:
    """Changes whenever an entry is written or removed, seen with the change (``models.SearchIndexState``):
    read it before what is kept for it is computed."""
    number = db.session.scalar(text(f"SELECT version FROM {SearchIndexState.__tablename__}"))
    return id(db.engine), str(db.engine.url), number or 0


def spelling_lexicon() -> tuple[dict[int, list[str]], dict[str, int]]:
    """Every word of the public proposals as written, by length, and in how many proposals each is;
    read with ts_stat once per index version (only a query that found nothing asks)."""
    version = index_version()
    with _lexicons_lock:
        cached = _lexicons.get("spelling")
        if cached is not None and cached[0] == version:
            return cached[1]
    frequency = dict(db.session.execute(text("SELECT word, ndoc FROM ts_stat('SELECT words FROM search_documents')"))
                     .all())
    by_length: dict[int, list[str]] = {}
    for word in frequency:
        by_length.setdefault(len(word), []).append(word)
    with _lexicons_lock:
        _lexicons["spelling"] = (version, (by_length, frequency))
    return by_length, frequency


def related_ids(proposal_id: int, variant: str, document_text: str, limit: int, *,
                ranking: str | None = None) -> list[int]:
    """Public proposals whose text is most like ``document_text``: its RELATED_CANDIDATES most frequent
    words, the RELATED_WORDS of them that weigh most (frequent here, rare in the archive), those
    ``similar.chosen`` keeps, and the proposals holding the most of those. With the RUM indexes
    (``ranking``: the extension's schema), the words' frequencies in the archive are the planner's
    statistics and the proposals come in the index's order of the words as one query: no count and no
    tsvector is read. Without them, every step reads the GIN index only (counts and ids), each word counted
    by its weight."""
    if ranking is not None:
        return _related_in_index_order(proposal_id, variant, document_text, limit, ranking)
    column = COLUMN_OF_VARIANT[variant]
    candidates = _candidates(variant, document_text)
    if not candidates:
        return []
    terms = {f"w{number}": _quoted(lexeme) for number, (_count, lexeme) in enumerate(candidates)}
    counts = ", ".join(f"(SELECT count(*) FROM search_documents d WHERE d.{column} @@ CAST(:{name} AS tsquery))"
                       for name in terms)
    row = db.session.execute(text(f"SELECT (SELECT count(*) FROM search_documents), {counts}"), terms).one()
    documents = row[0] or 1
    holding = dict(zip(terms, row[1:], strict=True))
    weighed = sorted(((count * math.log(1 + documents / max(holding[name], 1)), name)
                      for (count, _lexeme), name in zip(candidates, terms, strict=True)), reverse=True)[:RELATED_WORDS]
    words = chosen([(name, weight, holding[name]) for weight, name in weighed], documents)
    if words and holding[words[0][0]] > budget(documents):
        return _newest_nearest(column, terms[words[0][0]], [terms[name] for _weight, name in weighed], proposal_id,
                               limit)
    branches = " UNION ALL ".join(
        f"SELECT d.proposal_id, CAST(:weight_{name} AS float) AS weight FROM search_documents d "
        f"WHERE d.{column} @@ CAST(:{name} AS tsquery)" for name, _weight in words)
    parameters = {**{name: terms[name] for name, _weight in words},
                  **{f"weight_{name}": weight for name, weight in words}, "own": proposal_id, "limit": limit}
    return list(db.session.execute(text(
        f"SELECT proposal_id FROM ({branches}) matched WHERE proposal_id <> :own GROUP BY proposal_id "
        "ORDER BY sum(weight) DESC, proposal_id LIMIT :limit"), parameters).scalars())


def _candidates(variant: str, document_text: str) -> list[tuple[int, str]]:
    """(count, term) of the RELATED_CANDIDATES most frequent terms of 3 letters or more of a text, as it is
    indexed (``index_terms``), most frequent first."""
    words = Counter(index_terms(document_text, variant))
    return sorted(((count, lexeme) for lexeme, count in words.items() if len(lexeme) >= 3),
                  key=lambda item: (-item[0], item[1]))[:RELATED_CANDIDATES]


def _related_in_index_order(proposal_id: int, variant: str, document_text: str, limit: int,
                            ranking: str) -> list[int]:
    column = COLUMN_OF_VARIANT[variant]
    candidates = _candidates(variant, document_text)
    if not candidates:
        return []
    # How many proposals hold each word, as ANALYZE last sampled them: the most common words with their
    # share, every other word rarer than the least common of those (no statistics yet: all alike).
    statistics = db.session.execute(text(
        "SELECT s.most_common_elems::text::text[], s.most_common_elem_freqs, c.reltuples FROM pg_stats s "
        "JOIN pg_class c ON c.relname = s.tablename AND c.relnamespace = to_regnamespace(s.schemaname) "
        "WHERE s.schemaname = current_schema() AND s.tablename = 'search_documents' AND s.attname = :column"),
        {"column": column}).first()
    documents, shares, rarest = 1.0, {}, 1.0
    if statistics is not None and statistics[0] and statistics[1]:
        elements, frequencies, documents = statistics
        shares = dict(zip(elements, frequencies, strict=False))
        rarest = frequencies[-3] / 2  # the last three numbers: least and most common share, then null share
        documents = max(documents, 1.0)
    share_of = {lexeme: max(shares.get(lexeme, rarest), 1 / documents) for _count, lexeme in candidates}
    weighed = sorted(((count * math.log(1 + 1 / share_of[lexeme]), lexeme) for count, lexeme in candidates),
                     reverse=True)[:RELATED_WORDS]
    words = chosen([(lexeme, weight, round(share_of[lexeme] * documents)) for weight, lexeme in weighed], documents)
    if words and round(share_of[words[0][0]] * documents) > budget(documents):
        return _newest_nearest(column, _quoted(words[0][0]), [_quoted(lexeme) for _weight, lexeme in weighed],
                               proposal_id, limit)
    similar = " | ".join(_quoted(lexeme) for lexeme, _weight in words)
    distance = f"OPERATOR({ranking}.<=>)"
    return list(db.session.execute(text(
        f"SELECT d.proposal_id FROM search_documents d WHERE d.{column} @@ CAST(:similar AS tsquery) "
        f"AND d.proposal_id <> :own ORDER BY d.{column} {distance} CAST(:similar AS tsquery), d.proposal_id "
        "LIMIT :limit"), {"similar": similar, "own": proposal_id, "limit": limit}).scalars())


def _newest_nearest(column: str, rarest: str, heaviest: list[str], proposal_id: int, limit: int) -> list[int]:
    """The related proposals of a text whose every word is common (``similar.chosen`` kept the one held by the
    fewest proposals, and more than its budget hold it): of the RELATED_NEWEST_CANDIDATES proposals decided
    last that hold that word (the decided index read backwards stops there), those that hold most of the
    text's heaviest words (``ts_rank``). Ranking every holder instead read thousands of vectors: 100-230 ms at
    100,000 proposals, against a few. The effect on the order: an older proposal that shares more words
    comes after newer ones, or not at all (``rarest`` and ``heaviest``: tsquery literals, ``_quoted``)."""
    return list(db.session.execute(text(
        f"SELECT m.proposal_id FROM (SELECT d.proposal_id, d.decided, d.{column} AS vector FROM search_documents d "
        f"WHERE d.{column} @@ CAST(:rarest AS tsquery) AND d.proposal_id <> :own "
        "ORDER BY d.decided DESC, d.proposal_id LIMIT :candidates) m "
        "ORDER BY ts_rank(m.vector, CAST(:heaviest AS tsquery)) DESC, m.decided DESC, m.proposal_id LIMIT :limit"),
        {"rarest": rarest, "heaviest": " | ".join(heaviest), "own": proposal_id,
         "candidates": RELATED_NEWEST_CANDIDATES, "limit": limit}).scalars())
