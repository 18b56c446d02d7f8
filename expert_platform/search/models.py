"""The search outbox: one row per proposal whose index entry must be brought up to date.

Rows are written in the same transaction as the change (so a rolled-back change leaves none) and
deleted once the index has applied them; rows left by a process that died between its commit and its
indexing are applied by the next change or by ``flask search sync``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Index, SmallInteger, String, Text
from sqlalchemy.dialects.postgresql import ARRAY, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from ..database import UTCDateTime, utcnow
from ..extensions import db


class SearchOutboxEntry(db.Model):
    __tablename__ = "search_outbox"
    __table_args__ = (Index("ix_search_outbox_proposal_id", "proposal_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: No foreign key: the entry outlives nothing, and must never block deleting a proposal in tests.
    proposal_id: Mapped[int] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


#: A text column on SQLite (where the PostgreSQL backend never runs), tsvector on PostgreSQL.
_VECTOR = Text().with_variant(TSVECTOR(), "postgresql")
#: A text column on SQLite, an array of texts on PostgreSQL.
_TEXTS = Text().with_variant(ARRAY(Text()), "postgresql")


class SearchDocument(db.Model):
    """A public proposal as the PostgreSQL search backend holds it (``search/postgres.py``): the stored
    text of its original for highlighting and ``flask search check`` (its translations' in
    ``search_translations``), and its tsvectors. Each text is in the vector of its language's
    configuration (english, russian, or simple for every other language, Chinese, Japanese and Korean cut
    into character pairs first): the original with the authors, think tanks and keywords (weight D), each
    translation alone; the vectors no text went to are empty, never NULL, so that NOT keeps its meaning.
    Title words carry weight A, the summary and body B. ``text_count`` is how many texts the proposal has
    (1: the original alone; a query compiled to one tsquery per vector is right only then). ``people``
    holds the authors (A), think tanks (B) and keywords (C) unstemmed; ``words`` every word of every text
    as written, for "did you mean". The table exists on SQLite too (one schema for both), empty there."""

    __tablename__ = "search_documents"
    # The text vectors' indexes (english, russian, simple) are not declared here: ``postgres_ranking.install``
    # makes them, RUM where the database has the extension, else GIN (migrations 0006 and 0009).
    __table_args__ = (Index("ix_search_documents_people", "people", postgresql_using="gin"),
                      Index("ix_search_documents_decided", "decided"))

    proposal_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    reference: Mapped[str] = mapped_column(String(40), default="")
    variant: Mapped[str] = mapped_column(String(8))
    language: Mapped[str] = mapped_column(String(16))
    year: Mapped[str] = mapped_column(String(4), default="")
    decided: Mapped[int] = mapped_column(BigInteger, default=0)
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    authors: Mapped[str] = mapped_column(Text, default="")
    think_tanks: Mapped[str] = mapped_column(Text, default="")
    keywords: Mapped[str] = mapped_column(Text, default="")
    text_count: Mapped[int] = mapped_column(SmallInteger, default=1, server_default="1")
    english = mapped_column(_VECTOR, nullable=False)
    russian = mapped_column(_VECTOR, nullable=False)
    simple = mapped_column(_VECTOR, nullable=False)
    people = mapped_column(_VECTOR, nullable=False)
    words = mapped_column(_VECTOR, nullable=False)
    #: Its facet values as "name:value" (dimension, member_state, think_tank as an id, language, year): counted
    #: from the rows a query matched, and what the filters ask of a row.
    facets = mapped_column(_TEXTS, nullable=False, server_default="{}")
    indexed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SearchIndexState(db.Model):
    """The PostgreSQL backend's index version, one row: every write that changes the index moves it in its
    own transaction (``postgres.next_version``), so a process knows what it keeps of a version (a query's
    count, facets and first pages, "more like this" lists, spelling words) is out of date by reading one
    number (a count of the documents took 10-17 ms at 20,000 proposals). Readers see the new number when
    they see the rows written, at the commit: read before a search, it never labels newer results with an
    older version's number (a sequence, which moves when a write begins, did). Its lock orders concurrent
    index writers. The number is the larger of the last one plus one and the clock in microseconds, so a row
    deleted and made again (tests empty every table) never repeats an earlier number. The table exists on
    SQLite too (one schema for both), unused there."""

    __tablename__ = "search_index_state"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger)


class SearchTranslation(db.Model):
    """A translation of a document's proposal as the PostgreSQL backend stores it, for highlighting and
    ``flask search check`` (its words are in the document's vector of its language)."""

    __tablename__ = "search_translations"

    proposal_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    language: Mapped[str] = mapped_column(String(16), primary_key=True)
    variant: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)

