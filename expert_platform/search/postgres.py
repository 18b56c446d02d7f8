"""The PostgreSQL search backend (``SEARCH_BACKEND=postgres``): the archive searched with PostgreSQL's
own full-text search, in the database every application server already shares.

The same interface and the same query syntax as the Whoosh backend (``service``): the query is parsed
once (``query.plan_of``) and compiled here to SQL. Each public proposal is a ``search_documents`` row
(``models.SearchDocument``): its text is analysed with its language's configuration (english,
russian, simple; Chinese, Japanese and Korean cut into character pairs in Python first, as the Whoosh
backend does), each configuration in a tsvector column of its own with a GIN index. A word of the query
must match in the proposal's own configuration or among its authors, think tanks and keywords
(``people``). Words and phrases are compiled with ``websearch_to_tsquery``; prefixes and the title
field with ``to_tsquery`` (``:*`` and weight ``A``), which websearch syntax cannot express; results
are ranked with ``ts_rank_cd`` (title words weigh 1.0, the body 0.4), highlighted with ``ts_headline``
(matches in ``<mark>``, every other character escaped), and facets counted with grouped counts over
``search_facets``. Ranks differ from Whoosh's BM25F; which proposals match, totals and facets are the
same (the search tests run against both backends).

Writes happen in the caller's session (the outbox's own, or a rebuild's): the index is part of the
database, so an index update commits or rolls back with the rows that record it.
"""

from __future__ import annotations

import html
import math
import threading
from dataclasses import dataclass

from sqlalchemy import text

from ..extensions import db
from .query import _tokens
from .schema import CJK, variant_of

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
#: Never in a proposal's text (control characters): ts_headline marks matches with them, then the
#: text is escaped and they become <mark> and </mark>.
START, STOP = "\x02", "\x03"
BODY_HEADLINE = (f"StartSel={START}, StopSel={STOP}, MaxFragments=2, MaxWords=30, MinWords=12, "
                 "FragmentDelimiter=\" … \"")
TITLE_HEADLINE = f"StartSel={START}, StopSel={STOP}, HighlightAll=true"
#: A body up to this many characters is shown whole (the length of a snippet of the Whoosh backend).
SHORT_TEXT = 240
#: Candidate words of a proposal considered for "more like this", and how many are asked for.
RELATED_CANDIDATES = 24
RELATED_WORDS = 12


def index_text(value: str, variant: str) -> str:
    """What PostgreSQL is given to analyse: the text itself, or for Chinese, Japanese and Korean its
    tokens with each run of CJK characters cut into overlapping pairs (PostgreSQL's parser keeps such a
    run as one word), so that a word of two characters is found inside a longer run."""
    if variant != "cjk" or not CJK.search(value):
        return value
    return " ".join(_tokens(value, "cjk"))


# --- writing ---------------------------------------------------------------------------------------

#: Each vector holds the original when it is in that vector's language (with the authors, think tanks and
#: keywords, weight D) and the translation in that language if there is one (``:english_title``...,
#: empty otherwise): the people are in one text vector only, so a match among them counts once.
_UPSERT = text("""
INSERT INTO search_documents (proposal_id, reference, variant, language, year, decided, title, body, authors,
                              think_tanks, keywords, text_count, english, russian, simple, people, words,
                              indexed_at)
VALUES (:proposal_id, :reference, :variant, :language, :year, :decided, :title, :body, :authors, :think_tanks,
        :keywords, :text_count,
        CASE WHEN :column = 'english' THEN setweight(to_tsvector('english', :title_text), 'A')
             || setweight(to_tsvector('english', :body_text), 'B') || setweight(to_tsvector('english', :authors), 'D')
             || setweight(to_tsvector('english', :think_tanks), 'D')
             || setweight(to_tsvector('english', :keywords), 'D')
             ELSE ''::tsvector END
             || setweight(to_tsvector('english', :english_title), 'A')
             || setweight(to_tsvector('english', :english_body), 'B'),
        CASE WHEN :column = 'russian' THEN setweight(to_tsvector('russian', :title_text), 'A')
             || setweight(to_tsvector('russian', :body_text), 'B') || setweight(to_tsvector('russian', :authors), 'D')
             || setweight(to_tsvector('russian', :think_tanks), 'D')
             || setweight(to_tsvector('russian', :keywords), 'D')
             ELSE ''::tsvector END
             || setweight(to_tsvector('russian', :russian_title), 'A')
             || setweight(to_tsvector('russian', :russian_body), 'B'),
        CASE WHEN :column = 'simple' THEN setweight(to_tsvector('simple', :title_text), 'A')
             || setweight(to_tsvector('simple', :body_text), 'B') || setweight(to_tsvector('simple', :authors), 'D')
             || setweight(to_tsvector('simple', :think_tanks), 'D')
             || setweight(to_tsvector('simple', :keywords), 'D')
             ELSE ''::tsvector END
             || setweight(to_tsvector('simple', :simple_title), 'A')
             || setweight(to_tsvector('simple', :simple_body), 'B'),
        setweight(to_tsvector('simple', :authors), 'A') || setweight(to_tsvector('simple', :think_tanks), 'B')
             || setweight(to_tsvector('simple', :keywords), 'C'),
        strip(to_tsvector('simple', :words)),
        now())
ON CONFLICT (proposal_id) DO UPDATE SET
    reference = EXCLUDED.reference, variant = EXCLUDED.variant, language = EXCLUDED.language,
    year = EXCLUDED.year, decided = EXCLUDED.decided, title = EXCLUDED.title, body = EXCLUDED.body,
    authors = EXCLUDED.authors, think_tanks = EXCLUDED.think_tanks, keywords = EXCLUDED.keywords,
    text_count = EXCLUDED.text_count, english = EXCLUDED.english, russian = EXCLUDED.russian,
    simple = EXCLUDED.simple, people = EXCLUDED.people, words = EXCLUDED.words, indexed_at = EXCLUDED.indexed_at
""")
_INSERT_TRANSLATION = text("INSERT INTO search_translations (proposal_id, language, variant, title, body) "
                           "VALUES (:proposal_id, :language, :variant, :title, :body)")
_INSERT_FACET = text("INSERT INTO search_facets (proposal_id, name, value) VALUES (:proposal_id, :name, :value)")
_FACET_OF_FIELD = {"facet_dimension": "dimension", "facet_member_state": "member_state",
                   "facet_think_tank": "think_tank", "facet_language": "language", "facet_year": "year"}


def _row_of(document: dict, full_body: str) -> dict:
    variant = document["variant"]
    row = {
        "proposal_id": int(document["proposal_id"]), "reference": document["reference"], "variant": variant,
        "language": document["facet_language"], "year": document["facet_year"], "decided": document["decided"],
        "title": document["stored_title"], "body": document["stored_body"], "authors": document["author"],
        "think_tanks": document["thinktank"], "keywords": document["keyword"], "column": COLUMN_OF_VARIANT[variant],
        "title_text": index_text(document["stored_title"], variant), "body_text": index_text(full_body, variant),
        "words": document["words"], "text_count": 1 + len(document["stored_translations"]),
        **{f"{column}_{part}": "" for column in COLUMNS for part in ("title", "body")},
    }
    for language, title, _stored in document["stored_translations"]:
        translated = variant_of(language)
        column = COLUMN_OF_VARIANT[translated]
        # The whole text is indexed (the document's field), the stored one is cut.
        row[f"{column}_title"] = index_text(title, translated)
        row[f"{column}_body"] = index_text(document[f"body_{translated}"], translated)
    return row


def _translations_of(document: dict) -> list[dict]:
    return [{"proposal_id": int(document["proposal_id"]), "language": language, "variant": variant_of(language),
             "title": title, "body": body} for language, title, body in document["stored_translations"]]


def _facets_of(document: dict) -> list[dict]:
    rows = []
    for field, name in _FACET_OF_FIELD.items():
        for value in dict.fromkeys(value for value in document[field].split(",") if value):
            rows.append({"proposal_id": int(document["proposal_id"]), "name": name, "value": value})
    return rows


def write(session, documents: list[tuple[dict, str]]) -> None:
    """Insert or replace the entries of ``documents`` ((document, full body text) pairs). The document
    row is written first: its row lock makes a concurrent update of the same proposal wait, so two
    workers never mix their facet rows."""
    if not documents:
        return
    session.execute(_UPSERT, [_row_of(document, body) for document, body in documents])
    ids = [int(document["proposal_id"]) for document, _body in documents]
    session.execute(text("DELETE FROM search_facets WHERE proposal_id = ANY(:ids)"), {"ids": ids})
    session.execute(text("DELETE FROM search_translations WHERE proposal_id = ANY(:ids)"), {"ids": ids})
    facets = [row for document, _body in documents for row in _facets_of(document)]
    if facets:
        session.execute(_INSERT_FACET, facets)
    translations = [row for document, _body in documents for row in _translations_of(document)]
    if translations:
        session.execute(_INSERT_TRANSLATION, translations)


def remove(session, proposal_ids: list[int]) -> None:
    if not proposal_ids:
        return
    session.execute(text("DELETE FROM search_facets WHERE proposal_id = ANY(:ids)"), {"ids": proposal_ids})
    session.execute(text("DELETE FROM search_translations WHERE proposal_id = ANY(:ids)"), {"ids": proposal_ids})
    session.execute(text("DELETE FROM search_documents WHERE proposal_id = ANY(:ids)"), {"ids": proposal_ids})


def analyze(session) -> None:
    """Refresh the planner's statistics of the search tables (after a rebuild rewrote them)."""
    session.execute(text("ANALYZE search_documents, search_facets, search_translations"))


def clear(session) -> None:
    """Empty the index (a rebuild, in the transaction that refills it: readers see the old rows until
    it commits)."""
    session.execute(text("DELETE FROM search_facets"))
    session.execute(text("DELETE FROM search_translations"))
    session.execute(text("DELETE FROM search_documents"))


def doc_count(session=None) -> int:
    return (session or db.session).scalar(text("SELECT count(*) FROM search_documents")) or 0


def stored_entries(session=None) -> dict[str, dict]:
    """Every entry's stored fields under the Whoosh backend's names (for ``service.check``); facet
    values in the order the facets table returns them, which ``check`` compares as sets."""
    session = session or db.session
    facets: dict[int, dict[str, list[str]]] = {}
    for proposal_id, name, value in session.execute(
            text("SELECT proposal_id, name, value FROM search_facets ORDER BY proposal_id, name, value")):
        facets.setdefault(proposal_id, {}).setdefault(name, []).append(value)
    translations: dict[int, list[list[str]]] = {}
    for proposal_id, language, title, body in session.execute(
            text("SELECT proposal_id, language, title, body FROM search_translations ORDER BY proposal_id, language")):
        translations.setdefault(proposal_id, []).append([language, title, body])
    entries = {}
    for row in session.execute(text(
            "SELECT proposal_id, reference, title, body, authors, think_tanks, keywords, language, year, decided "
            "FROM search_documents")).mappings():
        own = facets.get(row["proposal_id"], {})
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
    """An operand of tsquery syntax: quoted, so that no character of it is an operator."""
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


class _Compiled:
    """A plan compiled to SQL conditions on ``d`` (search_documents), with their parameters, and per
    column the tsquery expressions of its positive leaves (for ranking and highlighting).

    ``branches``: conditions matching disjoint sets of documents, whose union is the query's matches.
    Each leaf (a word, phrase or prefix) matches a proposal when any of its texts holds it, and AND,
    OR and NOT combine what the leaves say of the whole proposal (as the Whoosh backend does): a phrase
    stays within one text, an excluded word excludes the proposal whichever text holds it."""

    def __init__(self, plan) -> None:
        self.params: dict[str, object] = {}
        #: column -> SQL tsquery expressions of the leaves that must match (not excluded ones).
        self.ranked: dict[str, list[str]] = {column: [] for column in (*COLUMNS, "people")}
        #: column -> expressions for marking the title, and the body (field leaves left out of the body).
        self.title_marks: dict[str, list[str]] = {column: [] for column in COLUMNS}
        self.body_marks: dict[str, list[str]] = {column: [] for column in COLUMNS}
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
        return self._tsquery(plan, column, weight="A" if plan[1] == "title" else "")

    def _leaf(self, plan, *, positive: bool) -> str:
        field = plan[1]
        alternatives = []
        if field in ("text", "title"):
            for column in COLUMNS:
                expression = self._tsquery(plan, column, weight="A" if field == "title" else "")
                alternatives.append(f"d.{column} @@ {expression}")
                if positive:
                    self.ranked[column].append(expression)
                    self.title_marks[column].append(expression)
                    if field == "text":
                        self.body_marks[column].append(expression)
        if field != "title":
            expression = self._tsquery(plan, "people", weight=PEOPLE_WEIGHTS.get(field, ""))
            alternatives.append(f"d.people @@ {expression}")
            if positive:
                self.ranked["people"].append(expression)
        return "(" + " OR ".join(alternatives) + ")"

    def _tsquery(self, plan, column: str, *, weight: str) -> str:
        """The tsquery of a leaf for ``column`` (people: the simple configuration, unstemmed)."""
        config = "simple" if column == "people" else column
        if plan[0] == "prefix":
            letters = plan[2]
            return f"to_tsquery('{config}', {self.param(_quoted(letters) + ':*' + weight)})"
        words, phrase = list(plan[2]), plan[3]
        if column == "simple" and any(CJK.search(word) for word in words):
            words = _tokens(" ".join(words), "cjk")  # the pairs the proposal's text was cut into
            phrase = True
        if not weight:
            typed = f'"{" ".join(words)}"' if phrase or len(words) > 1 else words[0]
            return f"websearch_to_tsquery('{config}', {self.param(typed)})"
        operands = " <-> ".join(_quoted(word) + ":" + weight for word in words)
        return f"to_tsquery('{config}', {self.param(operands)})"

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

    def headline(self, source: str, marks: dict[str, list[str]], options: str, *, table: str = "page") -> str:
        """ts_headline of ``source`` (title or body of ``table``, a page of documents or translations) in
        the text's own configuration (by ``table.variant``); NULL when nothing of the query can match
        there (the caller shows the plain text)."""
        cases = []
        for column in COLUMNS:
            if marks[column]:
                marked_here = f"ts_headline('{column}', {table}.{source}, {' || '.join(marks[column])}, " + "{})"
                if options == TITLE_HEADLINE:
                    chosen = marked_here.format(self.param(TITLE_HEADLINE))
                else:  # a short text is shown whole, a longer one as its two best fragments
                    chosen = (f"CASE WHEN length({table}.{source}) <= {SHORT_TEXT} "
                              f"THEN {marked_here.format(self.param(TITLE_HEADLINE))} "
                              f"ELSE {marked_here.format(self.param(options))} END")
                cases.append(f"WHEN '{column}' THEN {chosen}")
        if not cases:
            return "NULL"
        column_of = f"CASE {table}.variant WHEN 'en' THEN 'english' WHEN 'ru' THEN 'russian' ELSE 'simple' END"
        return f"CASE {column_of} {' '.join(cases)} END"


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
    conditions = []
    facet = ("EXISTS (SELECT 1 FROM search_facets f WHERE f.proposal_id = d.proposal_id "
             "AND f.name = '{name}' AND f.value = {value})")
    for value in filters.dimensions:
        conditions.append(facet.format(name="dimension", value=compiled.param(value)))
    for value in filters.member_states:
        conditions.append(facet.format(name="member_state", value=compiled.param(value)))
    if filters.language:
        conditions.append(f"d.language = {compiled.param(filters.language)}")
    if filters.year:
        conditions.append(f"d.year = {compiled.param(str(filters.year))}")
    if think_tank_ids is not None:
        if not think_tank_ids:
            conditions.append("FALSE")
        else:
            ids = compiled.param([str(number) for number in think_tank_ids])
            conditions.append("EXISTS (SELECT 1 FROM search_facets f WHERE f.proposal_id = d.proposal_id "
                              f"AND f.name = 'think_tank' AND f.value = ANY({ids}))")
    return conditions


@dataclass
class Text:
    """One text of a hit (its original or a translation), with its ts_headline results."""

    language: str
    variant: str
    title: str
    body: str
    title_marked: str | None = None
    body_marked: str | None = None


@dataclass
class Row:
    proposal_id: int
    score: float | None
    #: The original first, then the translations by language.
    texts: list[Text]


class Found:
    """A query's matches: counted, faceted and ranked in the database."""

    def __init__(self, plan, filters, think_tank_ids: list[int] | None) -> None:
        self.plan = plan
        self.compiled = _Compiled(plan)
        filtered = _filter_conditions(filters, self.compiled, think_tank_ids)
        branches = self.compiled.branches
        if len(branches) == 1:
            #: What follows FROM: the documents (as ``d``) that match the query and the filters.
            self.source = "search_documents d WHERE " + " AND ".join([branches[0], *filtered])
        else:
            one_text, several_texts = branches
            # The filters go into each branch, where the planner can combine them with its indexes. The
            # proposals with translations are few: their ids come first (OFFSET 0 keeps the planner from
            # folding that in) and the leaf-by-leaf condition is asked of those rows only, not of every row
            # the GIN indexes find.
            first = "SELECT * FROM search_documents d WHERE " + " AND ".join([one_text, *filtered])
            second = ("SELECT d.* FROM (SELECT DISTINCT proposal_id FROM search_translations OFFSET 0) t "
                      "JOIN search_documents d ON d.proposal_id = t.proposal_id WHERE "
                      + " AND ".join([several_texts, *filtered]))
            self.source = f"({first} UNION ALL {second}) d"

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
        return self._execute(f"SELECT count(*) FROM {self.source}").scalar_one()

    def total_and_facets(self) -> tuple[int, dict[str, dict[str, int]]]:
        """How many proposals match, and per facet how many of them hold each value: one statement, the
        matches found once."""
        counts: dict[str, dict[str, int]] = {"dimension": {}, "member_state": {}, "language": {}, "year": {},
                                             "think_tank": {}}
        total = 0
        for name, value, count in self._execute(
                f"WITH matched AS MATERIALIZED (SELECT d.proposal_id FROM {self.source}) "
                "SELECT f.name, f.value, count(*) FROM search_facets f JOIN matched USING (proposal_id) "
                "GROUP BY f.name, f.value UNION ALL SELECT '', '', count(*) FROM matched"):
            if not name:
                total = count
            elif value:
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

    def ids(self, sort: str, limit: int) -> list[int]:
        """The ids of the ``limit`` first matches, in order."""
        score, order = self._order(sort)
        return list(self._execute(
            f"SELECT d.proposal_id, {score} AS score FROM {self.source} "
            f"ORDER BY {order} LIMIT :limit", {"limit": limit}).scalars())

    def page(self, sort: str, offset: int, limit: int) -> list[Row]:
        """One page of matches with their highlights (computed for that page only), each of its texts
        highlighted (a second statement for the translations of the page's proposals that have some)."""
        score, order = self._order(sort)
        compiled = self.compiled
        title = compiled.headline("title", compiled.title_marks, TITLE_HEADLINE)
        body = compiled.headline("body", compiled.body_marks, BODY_HEADLINE)
        rows = self._execute(
            "SELECT page.proposal_id, page.score, page.variant, page.language, page.text_count, page.title, "
            f"page.body, {title} AS title_marked, {body} AS body_marked FROM ("
            f"SELECT d.proposal_id, {score} AS score, d.variant, d.language, d.text_count, d.title, d.body, "
            f"d.decided FROM {self.source} ORDER BY {order} LIMIT :limit OFFSET :offset) page "
            f"ORDER BY {order.replace('d.', 'page.')}",
            {"limit": limit, "offset": offset}).all()
        translated = self._translations([row.proposal_id for row in rows if row.text_count > 1])
        return [Row(proposal_id=row.proposal_id, score=None if row.score is None else float(row.score),
                    texts=[Text(language=row.language, variant=row.variant, title=row.title, body=row.body,
                                title_marked=row.title_marked, body_marked=row.body_marked),
                           *translated.get(row.proposal_id, [])])
                for row in rows]

    def _translations(self, proposal_ids: list[int]) -> dict[int, list[Text]]:
        if not proposal_ids:
            return {}
        compiled = self.compiled
        title = compiled.headline("title", compiled.title_marks, TITLE_HEADLINE, table="t")
        body = compiled.headline("body", compiled.body_marks, BODY_HEADLINE, table="t")
        found: dict[int, list[Text]] = {}
        for row in db.session.execute(text(
                f"SELECT t.proposal_id, t.language, t.variant, t.title, t.body, {title} AS title_marked, "
                f"{body} AS body_marked FROM search_translations t WHERE t.proposal_id = ANY(:translated) "
                "ORDER BY t.proposal_id, t.language"), {**compiled.params, "translated": proposal_ids}):
            found.setdefault(row.proposal_id, []).append(Text(
                language=row.language, variant=row.variant, title=row.title, body=row.body,
                title_marked=row.title_marked, body_marked=row.body_marked))
        return found


def marked(headline: str | None) -> str | None:
    """A ts_headline result as HTML: every character escaped, the matches in <mark>; None when nothing
    in it matched."""
    if not headline or START not in headline:
        return None
    escaped = html.escape(" ".join(headline.split()))
    return escaped.replace(START, "<mark>").replace(STOP, "</mark>")


# --- "did you mean" and "more like this" --------------------------------------------------------------

_lexicons: dict = {}
_lexicons_lock = threading.Lock()


def index_version() -> tuple:
    """Changes whenever an entry is written or removed (a count and the latest write)."""
    count, latest = db.session.execute(text("SELECT count(*), max(indexed_at) FROM search_documents")).one()
    return id(db.engine), str(db.engine.url), count, str(latest)


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


_related: dict = {"version": None, "lists": None}


def remembered(key, compute) -> list[int]:
    """``compute()``'s "more like this" list for ``key``, kept until the index changes
    (``service.KeptLists``, one per index version as the Whoosh backend keeps them)."""
    from .service import RELATED_KEPT, KeptLists

    version = index_version()
    with _lexicons_lock:
        if _related["version"] != version:
            _related["version"], _related["lists"] = version, KeptLists(RELATED_KEPT)
        lists = _related["lists"]
    return lists.get(key, compute)


def related_ids(proposal_id: int, variant: str, document_text: str, limit: int) -> list[int]:
    """Public proposals whose text is most like ``document_text``: its RELATED_CANDIDATES most frequent
    words, the RELATED_WORDS of them that weigh most (frequent here, rare in the archive), and the
    proposals holding the most of those, each word counted by its weight. Every step reads the GIN index
    only (counts and ids, never another proposal's tsvector), so the cost follows how many proposals hold
    those words, not the size of their texts."""
    column = COLUMN_OF_VARIANT[variant]
    words = db.session.execute(text(
        f"SELECT lexeme, coalesce(array_length(positions, 1), 1) FROM unnest(to_tsvector('{column}', :text))"),
        {"text": index_text(document_text, variant)}).all()
    candidates = sorted(((count, lexeme) for lexeme, count in words if len(lexeme) >= 3),
                        key=lambda item: (-item[0], item[1]))[:RELATED_CANDIDATES]
    if not candidates:
        return []
    terms = {f"w{number}": _quoted(lexeme) for number, (_count, lexeme) in enumerate(candidates)}
    counts = ", ".join(f"(SELECT count(*) FROM search_documents d WHERE d.{column} @@ CAST(:{name} AS tsquery))"
                       for name in terms)
    row = db.session.execute(text(f"SELECT (SELECT count(*) FROM search_documents), {counts}"), terms).one()
    documents = row[0] or 1
    weighed = sorted(((count * math.log(1 + documents / max(frequency, 1)), name)
                      for (count, _lexeme), frequency, name in zip(candidates, row[1:], terms, strict=True)),
                     reverse=True)[:RELATED_WORDS]
    branches = " UNION ALL ".join(
        f"SELECT d.proposal_id, CAST(:weight_{name} AS float) AS weight FROM search_documents d "
        f"WHERE d.{column} @@ CAST(:{name} AS tsquery)" for _weight, name in weighed)
    parameters = {**{name: terms[name] for _weight, name in weighed},
                  **{f"weight_{name}": weight for weight, name in weighed}, "own": proposal_id, "limit": limit}
    return list(db.session.execute(text(
        f"SELECT proposal_id FROM ({branches}) matched WHERE proposal_id <> :own GROUP BY proposal_id "
        "ORDER BY sum(weight) DESC, proposal_id LIMIT :limit"), parameters).scalars())
