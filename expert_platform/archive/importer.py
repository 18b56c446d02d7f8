"""Import of the secretariat's backlog: outcomes of the earlier think-tank forum (``flask archive import``).

One JSON object per line (issue 6, point 8). Every line is validated first (``validate``): when any
line is bad nothing is imported, and each error names the line and the field. ``import_records`` then
writes every record in the caller's transaction (it flushes, never commits): a record whose reference
is already an imported proposal updates it, any other record creates one; think tanks unknown by name
and member state are created as archived institutions; authors are kept as names (no accounts). The
final states are recorded by ``workflow.record_imports``; the search outbox indexes the proposals once
the caller commits (one index writer for the whole import).

Speed matters (the benchmark imports 20,000 lines): records are written in batches of 500, each with a
constant number of statements whatever its size (existing references loaded in one query, the new
references of the batch reserved in one UPDATE, one flush, one INSERT of revisions and one of events);
member states and think tanks are loaded once; each batch is dropped from the session once written, so
memory stays bounded however long the file; ``garbage_collected_per_batch`` spares the import the cyclic
garbage collector's passes over tens of thousands of short-lived objects. Rendering Markdown (0.45 ms a
generated body) is a fifth of the work: from ``PARALLEL_RENDERING_FROM`` records on, it runs in worker
processes, one batch ahead of the batch being written.
"""

from __future__ import annotations

import gc
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import case, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from .. import sanitize, workers
from ..enums import Dimension, Participation, ProposalState, StateKind, TextStatus, ThinkTankStatus
from ..errors import ValidationFailed
from ..experts.services import normalize_keyword
from ..extensions import db
from ..i18n import WORKING_LANGUAGES
from ..proposals import workflow
from ..proposals.models import (
    BODY_MAX_BYTES,
    KEYWORD_MAX_LENGTH,
    REFERENCE_MAX_LENGTH,
    REFERENCE_PATTERN,
    SUMMARY_MAX_LENGTH,
    TITLE_MAX_LENGTH,
    Proposal,
    ProposalDimension,
    ProposalEvent,
    ProposalKeyword,
    ProposalMemberState,
    ProposalRevision,
    ProposalThinkTank,
    ProposalTranslation,
    ReferenceCounter,
)
from ..reference.models import MemberState
from ..search import outbox
from ..thinktanks.models import THINK_TANK_NAME_MAX_LENGTH, ThinkTank

#: The fields a line may hold; the others are refused (a misspelt optional field would be lost silently).
REQUIRED_FIELDS = ("title", "summary", "body", "language", "dimensions", "state", "submitted_at", "decided_at")
OPTIONAL_FIELDS = ("reference", "member_states", "keywords", "think_tanks", "authors", "translations")
#: The fields of one translation; "status" is optional ("translation" when absent).
TRANSLATION_FIELDS = frozenset({"language", "title", "summary", "body", "status"})
IMPORTABLE_STATES = {state.value: state for state in workflow.IMPORTED_STATES}
#: The platform's own references: an imported one raises that year's counter so it is never handed out again.
PLATFORM_REFERENCE = re.compile(r"EP-([0-9]{4})-([0-9]{1,6})")
LANGUAGE_PATTERN = re.compile(r"[a-z]{2}")
DATE_PATTERN = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
AUTHOR_NAME_MAX_LENGTH = 200
BATCH_SIZE = 500
#: From this many records on, Markdown is rendered in worker processes (fewer: in this process, as in tests).
PARALLEL_RENDERING_FROM = 200
#: Records sent to a worker at a time (fewer round trips between the processes).
RENDERING_CHUNK = 25
#: Rows per ``IN (...)`` when looking references up (well under every database's parameter limit).
LOOKUP_CHUNK = 1000


@dataclass(frozen=True)
class LineError:
    """A bad line: its number (from 1), the field at fault (None: the line as a whole) and why."""

    line: int
    field: str | None
    message: str

    def __str__(self) -> str:
        if self.field is None:
            return f"line {self.line}: {self.message}"
        return f"line {self.line}: {self.field}: {self.message}"


@dataclass(frozen=True)
class Record:
    """One valid line, normalised: what ``import_records`` writes."""

    line: int
    reference: str | None
    title: str
    summary: str
    body: str
    language: str
    dimensions: tuple[Dimension, ...]
    member_states: tuple[str, ...]
    keywords: tuple[str, ...]
    #: (name, member state code) pairs.
    think_tanks: tuple[tuple[str, str], ...]
    authors: tuple[str, ...]
    state: ProposalState
    submitted_at: datetime
    decided_at: datetime
    #: (language, status, title, summary, body) of each translation, by language.
    translations: tuple[tuple[str, TextStatus, str, str, str], ...] = ()


@dataclass(frozen=True)
class Summary:
    """What an import did (or, for a dry run, would do)."""

    created: int
    updated: int
    #: "name (code)" of each archived think tank created, in the order first met.
    think_tanks_created: tuple[str, ...]

    @property
    def total(self) -> int:
        return self.created + self.updated


# --- validation -----------------------------------------------------------------------------------


class _Line:
    """The checks of one line's fields; each failed check records a LineError and returns None."""

    def __init__(self, number: int, data: dict, member_state_codes: frozenset[str]) -> None:
        self.number = number
        self.data = data
        self.member_state_codes = member_state_codes
        self.errors: list[LineError] = []

    def fail(self, field: str | None, message: str) -> None:
        self.errors.append(LineError(self.number, field, message))

    def string(self, name: str, *, maximum: int, collapse: bool = False, in_bytes: bool = False) -> str | None:
        value = self.data.get(name)
        if value is None:
            self.fail(name, "required")
            return None
        if not isinstance(value, str):
            self.fail(name, "must be a string")
            return None
        value = " ".join(value.split()) if collapse else value.replace("\r\n", "\n").strip()
        if not value:
            self.fail(name, "must not be empty")
            return None
        size = len(value.encode("utf-8")) if in_bytes else len(value)
        if size > maximum:
            self.fail(name, f"longer than {maximum} {'bytes' if in_bytes else 'characters'}")
            return None
        return value

    def optional_list(self, name: str) -> list | None:
        value = self.data.get(name, [])
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(name, "must be a list")
            return None
        return value

    def strings(self, name: str) -> list[str] | None:
        values = self.optional_list(name)
        if values is None:
            return None
        if not all(isinstance(value, str) for value in values):
            self.fail(name, "must be a list of strings")
            return None
        return values

    def day(self, name: str) -> datetime | None:
        value = self.data.get(name)
        if value is None:
            self.fail(name, "required")
            return None
        if not isinstance(value, str) or not DATE_PATTERN.fullmatch(value):
            self.fail(name, f"{value!r} is not a date written YYYY-MM-DD")
            return None
        try:
            parsed = date.fromisoformat(value)
        except ValueError:
            self.fail(name, f"{value!r} is not a date written YYYY-MM-DD")
            return None
        return datetime(parsed.year, parsed.month, parsed.day, tzinfo=UTC)

    def member_state(self, name: str, code) -> str | None:
        if not isinstance(code, str) or code not in self.member_state_codes:
            self.fail(name, f"{code!r} is not the code of a member state")
            return None
        return code


def _record(line: _Line) -> Record | None:
    """The line's record, or None when any field is bad (every bad field is recorded)."""
    data = line.data
    for name in sorted(set(data) - set(REQUIRED_FIELDS) - set(OPTIONAL_FIELDS)):
        line.fail(name, "unknown field")

    reference = data.get("reference")
    if reference is not None:
        if not isinstance(reference, str) or not REFERENCE_PATTERN.fullmatch(reference):
            line.fail("reference", f"{reference!r} is not a reference like EP-2019-0042")
            reference = None
        elif len(reference) > REFERENCE_MAX_LENGTH:
            line.fail("reference", f"longer than {REFERENCE_MAX_LENGTH} characters")
            reference = None

    title = line.string("title", maximum=TITLE_MAX_LENGTH, collapse=True)
    summary = line.string("summary", maximum=SUMMARY_MAX_LENGTH)
    body = line.string("body", maximum=BODY_MAX_BYTES, in_bytes=True)

    language = data.get("language")
    if language is None:
        line.fail("language", "required")
    elif not isinstance(language, str) or not LANGUAGE_PATTERN.fullmatch(language):
        line.fail("language", f"{language!r} is not a language code of two lower-case letters")
        language = None

    dimensions: list[Dimension] = []
    raw_dimensions = data.get("dimensions")
    if raw_dimensions is None:
        line.fail("dimensions", "required")
    elif not isinstance(raw_dimensions, list) or not raw_dimensions:
        line.fail("dimensions", "must be a non-empty list of dimensions")
    else:
        for value in raw_dimensions:
            try:
                dimension = Dimension(value)
            except ValueError:
                line.fail("dimensions", f"unknown dimension {value!r}")
                continue
            if dimension not in dimensions:
                dimensions.append(dimension)

    member_states: list[str] = []
    for code in line.optional_list("member_states") or []:
        if line.member_state("member_states", code) and code not in member_states:
            member_states.append(code)

    keywords: list[str] = []
    for raw in line.strings("keywords") or []:
        keyword = normalize_keyword(raw)
        if len(keyword) > KEYWORD_MAX_LENGTH:
            line.fail("keywords", f"{raw!r} is longer than {KEYWORD_MAX_LENGTH} characters")
        elif keyword and keyword not in keywords:
            keywords.append(keyword)

    think_tanks: list[tuple[str, str]] = []
    for tank in line.optional_list("think_tanks") or []:
        if not isinstance(tank, dict) or set(tank) != {"name", "member_state"}:
            line.fail("think_tanks", 'each think tank must be {"name": ..., "member_state": ...}')
            continue
        name = " ".join(tank["name"].split()) if isinstance(tank["name"], str) else ""
        if not name or len(name) > THINK_TANK_NAME_MAX_LENGTH:
            line.fail("think_tanks", f"a name of 1 to {THINK_TANK_NAME_MAX_LENGTH} characters is required")
            continue
        code = line.member_state("think_tanks", tank["member_state"])
        if code and (name, code) not in think_tanks:
            think_tanks.append((name, code))

    authors: list[str] = []
    for raw in line.strings("authors") or []:
        name = " ".join(raw.split())
        if not name or len(name) > AUTHOR_NAME_MAX_LENGTH:
            line.fail("authors", f"each author needs a name of 1 to {AUTHOR_NAME_MAX_LENGTH} characters")
        elif name not in authors:
            authors.append(name)

    translations = _translations(line, language)

    state = data.get("state")
    if not isinstance(state, str) or state not in IMPORTABLE_STATES:
        line.fail("state", f"{state!r} is not one of {', '.join(IMPORTABLE_STATES)}")
    submitted_at = line.day("submitted_at")
    decided_at = line.day("decided_at")
    if submitted_at and decided_at and decided_at < submitted_at:
        line.fail("decided_at", "before submitted_at")

    if line.errors:
        return None
    return Record(
        line=line.number, reference=reference, title=title, summary=summary, body=body, language=language,
        dimensions=tuple(dimensions), member_states=tuple(member_states), keywords=tuple(keywords),
        think_tanks=tuple(think_tanks), authors=tuple(authors), state=IMPORTABLE_STATES[state],
        submitted_at=submitted_at, decided_at=decided_at, translations=translations,
    )


def _translations(line: _Line, original: str | None) -> tuple[tuple[str, TextStatus, str, str, str], ...]:
    """The line's translations: each into a working language other than the original's, once, with the
    original's limits; a wrong one is recorded on the "translations" field."""
    found: dict[str, tuple[str, TextStatus, str, str, str]] = {}
    for item in line.optional_list("translations") or []:
        if not isinstance(item, dict) or not {"language", "title", "summary", "body"} <= set(item) \
                or not set(item) <= TRANSLATION_FIELDS:
            line.fail("translations", 'each translation must be {"language", "title", "summary", "body"} '
                                      'and optionally "status"')
            continue
        language = item["language"]
        if language not in WORKING_LANGUAGES or language == original:
            line.fail("translations", f"{language!r} is not a working language other than the original's "
                                      f"({', '.join(WORKING_LANGUAGES)})")
            continue
        if language in found:
            line.fail("translations", f"two translations into {language!r}")
            continue
        status = item.get("status") or TextStatus.TRANSLATION.value
        if status not in (TextStatus.TRANSLATION.value, TextStatus.CHECKED_TRANSLATION.value):
            line.fail("translations", f"status {status!r} is not translation or checked_translation")
            continue
        texts = _Line(line.number, item, line.member_state_codes)
        title = texts.string("title", maximum=TITLE_MAX_LENGTH, collapse=True)
        summary = texts.string("summary", maximum=SUMMARY_MAX_LENGTH)
        body = texts.string("body", maximum=BODY_MAX_BYTES, in_bytes=True)
        for error in texts.errors:
            line.fail("translations", f"{language}: {error.field} {error.message}")
        if not texts.errors:
            found[language] = (language, TextStatus(status), title, summary, body)
    return tuple(found[language] for language in sorted(found))


def validate(lines: Iterable[str]) -> tuple[list[Record], list[LineError]]:
    """Check every line (blank lines are skipped, numbers count from 1); returns the valid records and
    every error, ordered by line. A reference must be unique within the file and may only name a
    proposal that was itself imported (a proposal of the platform is never replaced)."""
    codes = frozenset(db.session.scalars(
        select(MemberState.code).where(MemberState.code.is_not(None), MemberState.kind == StateKind.MEMBER_STATE)
    ))
    records: list[Record] = []
    errors: list[LineError] = []
    first_line_of: dict[str, int] = {}
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            data = json.loads(text)
        except ValueError as error:
            errors.append(LineError(number, None, f"not valid JSON ({error})"))
            continue
        if not isinstance(data, dict):
            errors.append(LineError(number, None, "not a JSON object"))
            continue
        line = _Line(number, data, codes)
        record = _record(line)
        reference = data.get("reference")
        if isinstance(reference, str) and not any(error.field == "reference" for error in line.errors):
            if reference in first_line_of:
                line.fail("reference", f"{reference} is already on line {first_line_of[reference]}")
                record = None
            else:
                first_line_of[reference] = number
        errors.extend(line.errors)
        if record is not None:
            records.append(record)
    platform_owned = {
        reference for reference, is_imported in _existing(list(first_line_of)).items() if not is_imported
    }
    for reference in sorted(platform_owned, key=first_line_of.get):
        errors.append(LineError(first_line_of[reference], "reference",
                                f"{reference} is a proposal of the platform: an import cannot replace it"))
    records = [record for record in records if record.reference not in platform_owned]
    errors.sort(key=lambda error: error.line)
    return records, errors


def _chunks(values: Sequence, size: int):
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _existing(references: Sequence[str]) -> dict[str, bool]:
    """Reference -> is_imported, for the references that name a proposal already."""
    found: dict[str, bool] = {}
    for chunk in _chunks(references, LOOKUP_CHUNK):
        found.update(db.session.execute(
            select(Proposal.reference, Proposal.is_imported).where(Proposal.reference.in_(chunk))
        ).all())
    return found


# --- writing --------------------------------------------------------------------------------------


def plan(records: Sequence[Record]) -> Summary:
    """What ``import_records`` would do, without writing anything (``--dry-run``)."""
    existing = _existing([record.reference for record in records if record.reference])
    updated = sum(1 for record in records if record.reference in existing)
    known = _think_tanks_by_key()
    missing = _missing_think_tanks(records, known)
    return Summary(created=len(records) - updated, updated=updated,
                   think_tanks_created=tuple(f"{name} ({code})" for name, code in missing))


def import_records(records: Sequence[Record], *, progress: Callable[[int], object] | None = None) -> Summary:
    """Write ``records`` (already validated) in the current transaction; flushes, never commits. The new
    proposals are indexed as each batch is written (``outbox.index_as_recorded``: in the transaction where the
    index is in the database, else after the commit). Calls ``progress(1)`` for each record once its batch
    is written.

    Raises ValidationFailed("reference") when a reference names a proposal of the platform (a
    proposal that was not imported), which ``validate`` reports first."""
    states = {state.code: state for state in db.session.scalars(
        select(MemberState).where(MemberState.code.is_not(None), MemberState.kind == StateKind.MEMBER_STATE)
    )}
    think_tanks = _think_tanks_by_key()
    new_think_tanks = []
    for name, code in _missing_think_tanks(records, think_tanks):
        tank = ThinkTank(name=name, member_state=states[code], contact_name="", contact_email="",
                         status=ThinkTankStatus.ARCHIVED, participation=Participation.PERMANENT)
        db.session.add(tank)
        think_tanks[(name, code)] = tank
        new_think_tanks.append(f"{name} ({code})")
    db.session.flush()
    _prepare_counters(records)
    kept = {*states.values(), *think_tanks.values()}
    row_ids = _RowIds()

    counts = Counter()
    batches = list(_chunks(records, BATCH_SIZE))

    def recorded() -> Iterator[list[Proposal]]:
        """Record each batch; then hand its new proposals to the index (they are in no flush)."""
        with markdown_renderer(parallel=len(records) >= PARALLEL_RENDERING_FROM) as render:
            upcoming = render(batches[0]) if batches else None
            for number, batch in enumerate(batches):
                rendered = upcoming
                if number + 1 < len(batches):
                    upcoming = render(batches[number + 1])  # the workers render it while this batch is written
                new = _record_batch(batch, rendered, states, think_tanks, row_ids, kept)
                counts["created"] += len(new)
                counts["updated"] += len(batch) - len(new)
                yield new
                if progress is not None:
                    for _record in batch:
                        progress(1)
                if not gc.isenabled():  # garbage_collected_per_batch()
                    gc.collect()

    outbox.index_as_recorded(recorded(), expected=len(records))
    return Summary(created=counts["created"], updated=counts["updated"], think_tanks_created=tuple(new_think_tanks))


def _record_batch(batch: Sequence[Record], rendered: Iterable[tuple[str, ...]], states: dict, think_tanks: dict,
                  row_ids: _RowIds, kept: set) -> list[Proposal]:
    """Record a batch (``rendered``: its texts as HTML) and forget it (``_release``, all but ``kept``); returns
    its new proposals, written outside the session (``workflow.record_imports(keep_in_session=False)``); the
    others were updated."""
    # Both queries come before any proposal of the batch is touched: a query would flush it.
    existing = _load_by_reference([record.reference for record in batch if record.reference])
    references = _references(batch)
    outcomes, new = [], []
    for record, reference, html in zip(batch, references, rendered, strict=True):
        proposal = existing.get(record.reference)
        if proposal is None:
            proposal = Proposal(authors=[], created_by_id=None)
            new.append(proposal)
        elif not proposal.is_imported:
            raise ValidationFailed("reference", f"line {record.line}: {record.reference} is a proposal of "
                                                "the platform: an import cannot replace it")
        _fill(proposal, record, html, states, think_tanks)
        row_ids.give(_rows(proposal))
        outcomes.append(workflow.ImportedOutcome(proposal=proposal, state=record.state, reference=reference,
                                                 submitted_at=record.submitted_at, decided_at=record.decided_at))
    workflow.record_imports(outcomes, keep_in_session=False)
    _release({outcome.proposal.id for outcome in outcomes}, kept)
    return new


def _think_tanks_by_key() -> dict[tuple[str, str], ThinkTank]:
    """Every think tank by (name, member state code): the first one wins when two share both."""
    found: dict[tuple[str, str], ThinkTank] = {}
    for tank in db.session.scalars(select(ThinkTank).order_by(ThinkTank.id)):
        found.setdefault((" ".join(tank.name.split()), tank.member_state.code), tank)
    return found


def _missing_think_tanks(records: Iterable[Record], known) -> list[tuple[str, str]]:
    missing: dict[tuple[str, str], None] = {}
    for record in records:
        for key in record.think_tanks:
            if key not in known:
                missing[key] = None
    return list(missing)


def _prepare_counters(records: Iterable[Record]) -> None:
    """Make sure every year the import hands references out in has its counter row, and raise it to
    at least the highest ``EP-<year>-<number>`` imported, so the platform never gives one again.

    Done before any proposal is written: creating a counter needs a SAVEPOINT, and the search outbox
    (``_after_commit``) also runs when a SAVEPOINT is released, which would try to index proposals that
    are not committed yet (and wait for SQLite's lock). Up front, the outbox has nothing to apply."""
    highest: dict[int, int] = {}
    for record in records:
        match = PLATFORM_REFERENCE.fullmatch(record.reference or "")
        if match:
            year, number = int(match.group(1)), int(match.group(2))
            highest[year] = max(highest.get(year, 0), number)
        elif record.reference is None:
            highest.setdefault(record.submitted_at.year, 0)
    existing = set(db.session.scalars(select(ReferenceCounter.year).where(ReferenceCounter.year.in_(list(highest)))))
    for year, number in sorted(highest.items()):
        if year not in existing:
            try:
                with db.session.begin_nested():
                    db.session.execute(insert(ReferenceCounter).values(year=year, last_number=number))
                continue
            except IntegrityError:  # a submission created this year's counter a moment ago
                pass
        db.session.execute(
            update(ReferenceCounter)
            .where(ReferenceCounter.year == year, ReferenceCounter.last_number < number)
            .values(last_number=number)
            .execution_options(synchronize_session=False)
        )


def _references(batch: Sequence[Record]) -> list[str]:
    """Each record's reference: its own, or the next ``EP-<year>-<number>`` of its submission year, numbered
    in the records' order as one submission after another would be. One UPDATE reserves the numbers of
    every year of the batch (``_prepare_counters`` made their counters), under the counters' row locks."""
    wanted = Counter(record.submitted_at.year for record in batch if record.reference is None)
    next_number: dict[int, int] = {}
    if wanted:
        reserve = (
            update(ReferenceCounter)
            .where(ReferenceCounter.year.in_(list(wanted)))
            .values(last_number=ReferenceCounter.last_number + case(wanted, value=ReferenceCounter.year))
            .returning(ReferenceCounter.year, ReferenceCounter.last_number)
            .execution_options(synchronize_session=False)
        )
        next_number = {year: last - wanted[year] + 1 for year, last in db.session.execute(reserve).all()}
    references = []
    for record in batch:
        if record.reference is not None:
            references.append(record.reference)
            continue
        year = record.submitted_at.year
        references.append(f"EP-{year}-{next_number[year]:04d}")
        next_number[year] += 1
    return references


def _load_by_reference(references: list[str]) -> dict[str, Proposal]:
    if not references:
        return {}
    return {proposal.reference: proposal for proposal in db.session.scalars(
        select(Proposal).where(Proposal.reference.in_(references)).options(
            selectinload(Proposal.authors), selectinload(Proposal.dimensions), selectinload(Proposal.member_states),
            selectinload(Proposal.keywords), selectinload(Proposal.think_tanks), selectinload(Proposal.translations),
        )
    )}


def _fill(proposal: Proposal, record: Record, html: Sequence[str], states: dict, think_tanks: dict) -> None:
    """Set the content (``html``: the record's texts rendered, ``_texts`` order); rows already there are
    kept (replacing them would break unique constraints)."""
    proposal.title = record.title
    proposal.summary = record.summary
    proposal.body = record.body
    proposal.body_html = html[0]
    proposal.language = record.language
    proposal.imported_author_names = list(record.authors)
    kept_dimensions = {row.dimension: row for row in proposal.dimensions}
    proposal.dimensions = [kept_dimensions.get(value) or ProposalDimension(dimension=value)
                           for value in record.dimensions]
    kept_states = {row.member_state_id: row for row in proposal.member_states}
    proposal.member_states = [kept_states.get(states[code].id) or ProposalMemberState(member_state=states[code])
                              for code in record.member_states]
    kept_keywords = {row.keyword: row for row in proposal.keywords}
    proposal.keywords = [kept_keywords.get(word) or ProposalKeyword(keyword=word) for word in record.keywords]
    kept_tanks = {row.think_tank_id: row for row in proposal.think_tanks}
    proposal.think_tanks = [kept_tanks.get(think_tanks[key].id) or ProposalThinkTank(think_tank=think_tanks[key])
                            for key in record.think_tanks]
    kept_translations = {row.language: row for row in proposal.translations}
    proposal.translations = [kept_translations.get(language) or ProposalTranslation(language=language)
                             for language, *_rest in record.translations]
    for row, (_language, status, title, summary, body), body_html in zip(
        proposal.translations, record.translations, html[1:], strict=True
    ):
        row.status, row.title, row.summary, row.body, row.body_html = status, title, summary, body, body_html


def _texts(record: Record) -> tuple[str, ...]:
    """The Markdown texts of a record: its body, then each translation's body."""
    return (record.body, *(body for *_rest, body in record.translations))


def _render_texts(texts: tuple[str, ...]) -> tuple[str, ...]:
    """Each Markdown text as clean HTML (in a worker process for a large import)."""
    return tuple(sanitize.render_markdown(text) for text in texts)


@contextmanager
def markdown_renderer(*, parallel: bool) -> Iterator[Callable[[Sequence[Record]], Iterator[tuple[str, ...]]]]:
    """A function from a batch of records to an iterator over their rendered texts (``_texts`` order), in
    the records' order, exactly as ``sanitize.render_markdown`` renders them here.

    ``parallel``: in worker processes (``workers.pool``), the batch sent to them at once so it renders while
    the caller writes another; otherwise in this process, as the iterator is read."""
    if not parallel:
        yield lambda batch: map(_render_texts, map(_texts, batch))
        return
    with workers.pool() as executor:
        yield lambda batch: executor.map(_render_texts, [_texts(record) for record in batch], chunksize=RENDERING_CHUNK)


def _rows(proposal: Proposal) -> list:
    """The proposal and the rows ``_fill`` gives it."""
    return [proposal, *proposal.dimensions, *proposal.member_states, *proposal.keywords, *proposal.think_tanks,
            *proposal.translations]


class _RowIds:
    """On SQLite, ids for the new rows of a batch, given before its flush. SQLite does not promise the order
    of the rows an ``INSERT ... RETURNING`` sends back, so SQLAlchemy inserts a row whose id it has to learn
    on its own, one statement per row; with the ids given, it inserts each table's rows in one statement.
    They are the ids SQLite would choose (the largest + 1: no table uses AUTOINCREMENT), and nobody else
    can take them: the import's transaction holds SQLite's write lock (``BEGIN IMMEDIATE``, as every
    transaction outside a GET request). On PostgreSQL nothing is given: its sequences hand ids out, and
    SQLAlchemy inserts many rows in one statement there already."""

    MODELS = (Proposal, ProposalDimension, ProposalMemberState, ProposalKeyword, ProposalThinkTank, ProposalTranslation)

    def __init__(self) -> None:
        self.last: dict[type, int] = {}
        if db.session.get_bind().dialect.name == "sqlite":
            # Read once, before any batch: a query in the middle of one would flush it.
            largest = db.session.execute(select(*(
                select(func.max(model.id)).scalar_subquery() for model in self.MODELS
            ))).one()
            self.last = {model: value or 0 for model, value in zip(self.MODELS, largest, strict=True)}

    def give(self, rows: Iterable) -> None:
        if not self.last:
            return
        for row in rows:
            if row.id is None:
                self.last[type(row)] += 1
                row.id = self.last[type(row)]


def _release(proposal_ids: set[int], kept: set) -> None:
    """Forget a written batch (proposals, their rows, revisions and events) so memory stays bounded;
    member states and think tanks stay, to be reused without a query."""
    for instance in list(db.session.identity_map.values()):
        if instance in kept:
            continue
        owner = instance.id if isinstance(instance, Proposal) else getattr(instance, "proposal_id", None)
        if owner in proposal_ids and isinstance(instance, (Proposal, ProposalRevision, ProposalEvent)):
            db.session.expunge(instance)


@contextmanager
def garbage_collected_per_batch():
    """Pause Python's cyclic garbage collector during a bulk import (``import_records`` collects after
    each batch instead): with tens of thousands of short-lived ORM objects, its automatic passes cost a
    quarter of the time. Objects alive before the import are frozen out of those collections."""
    was_enabled = gc.isenabled()
    gc.disable()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
        if was_enabled:
            gc.enable()
