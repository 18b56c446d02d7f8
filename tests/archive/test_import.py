"""`flask archive import FILE.jsonl [--dry-run]`: the secretariat's backlog of earlier outcomes.

Every line is validated first; one bad line imports nothing and is named with its field. A valid
file creates the proposals in their final state, archived think tanks once, and the endorsed ones
are searchable as soon as the command ends; re-importing a reference updates that proposal.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import event, func, select

from expert_platform.archive import importer
from expert_platform.database import utcnow
from expert_platform.enums import Participation, ProposalState, Role, ThinkTankStatus
from expert_platform.errors import InvalidTransition
from expert_platform.proposals import workflow
from expert_platform.proposals.models import (
    Proposal,
    ProposalEvent,
    ProposalKeyword,
    ProposalRevision,
    ReferenceCounter,
)
from expert_platform.search import service as search
from expert_platform.search.models import SearchOutboxEntry
from expert_platform.thinktanks.models import ThinkTank
from tests.journeys import take

CASPIAN = {"name": "Caspian Water Institute", "member_state": "KZ"}
BEIJING = {"name": "Beijing Security Forum", "member_state": "CN"}


def outcome(**changes) -> dict:
    """A valid line: an English outcome endorsed in 2019; ``changes`` replace or (as None) remove fields."""
    line = {
        "reference": "TTF-2019-001",
        "title": "Desalination plants on shared coasts",
        "summary": "Coastal states share the cost of desalination.",
        "body": "## Problem\n\nTowns on the coast run out of **fresh water**.",
        "language": "en",
        "dimensions": ["environmental"],
        "member_states": ["KZ", "RU"],
        "keywords": ["Water ", "  Desalination   plants"],
        "think_tanks": [CASPIAN],
        "authors": ["Aigerim Sadykova", "John Smith"],
        "state": "endorsed",
        "submitted_at": "2019-02-01",
        "decided_at": "2019-06-15",
    }
    line.update(changes)
    return {name: value for name, value in line.items() if value is not None}


FIVE_OUTCOMES = [
    outcome(),
    outcome(reference="TTF-2019-002", title="Опреснение морской воды", language="ru",
            summary="Совместное опреснение.", body="Проект опреснения воды для прибрежных городов.",
            keywords=["вода"], authors=["Иван Петров"], member_states=["RU"]),
    outcome(reference=None, title="区域安全合作", language="zh", summary="安全合作的建议。", body="安全合作的建议。",
            dimensions=["military_political"], member_states=["CN"], keywords=[], think_tanks=[BEIJING],
            authors=["Li Wei"], submitted_at="2018-11-20", decided_at="2019-03-01"),
    outcome(reference="TTF-2019-004", title="Border tariffs for grain", dimensions=["economic"],
            body="Grain tariffs NOTPUBLICMARKER.", state="not_endorsed", think_tanks=[BEIJING]),
    outcome(reference="TTF-2019-005", title="Glacier monitoring network", body="Glaciers WITHDRAWNMARKER.",
            state="withdrawn", decided_at="2019-04-01"),
]


def jsonl(*lines) -> str:
    return "".join((line if isinstance(line, str) else json.dumps(line, ensure_ascii=False)) + "\n"
                   for line in lines)


@pytest.fixture
def import_file(app, states, tmp_path):
    """Run `flask archive import` on a file holding ``lines`` (dicts, or raw text); returns click's Result."""
    runner = app.test_cli_runner()
    counter = {"n": 0}

    def run(*lines, dry_run: bool = False, text: str | None = None, raw: bytes | None = None):
        counter["n"] += 1
        path = tmp_path / f"outcomes-{counter['n']}.jsonl"
        if raw is not None:
            path.write_bytes(raw)
        else:
            path.write_text(text if text is not None else jsonl(*lines), encoding="utf-8")
        arguments = ["archive", "import", str(path)] + (["--dry-run"] if dry_run else [])
        return runner.invoke(args=arguments)

    return run


def proposal_count(db) -> int:
    return db.session.scalar(select(func.count(Proposal.id)))


def by_reference(db, reference: str) -> Proposal:
    db.session.expire_all()
    return db.session.scalar(select(Proposal).where(Proposal.reference == reference))


def think_tank_rows(db) -> list[tuple]:
    return [(tank.name, tank.member_state.code, tank.status, tank.participation, tank.contact_name,
             tank.contact_email) for tank in db.session.scalars(select(ThinkTank).order_by(ThinkTank.name))]


def found(text: str, **filters) -> list[str]:
    return [hit.proposal.reference for hit in search.search(text, search.Filters(**filters), None).hits]


def day(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# --- a valid file ---------------------------------------------------------------------------------


def test_a_valid_file_imports_exactly_its_outcomes_in_their_final_states(import_file, db):
    result = import_file(*FIVE_OUTCOMES)

    assert result.exit_code == 0, result.output
    assert result.output == "Imported 5 proposals (5 created, 0 updated).\nCreated 2 archived think tanks.\n"
    states = dict(db.session.execute(select(Proposal.reference, Proposal.state)).all())
    assert states == {
        "TTF-2019-001": ProposalState.ENDORSED,
        "TTF-2019-002": ProposalState.ENDORSED,
        "EP-2018-0001": ProposalState.ENDORSED,
        "TTF-2019-004": ProposalState.NOT_ENDORSED,
        "TTF-2019-005": ProposalState.WITHDRAWN,
    }


def test_an_imported_outcome_keeps_every_field_normalised_as_the_platform_would(import_file, db):
    import_file(*FIVE_OUTCOMES)

    proposal = by_reference(db, "TTF-2019-001")
    assert proposal.is_imported is True
    assert proposal.title == "Desalination plants on shared coasts"
    assert proposal.summary == "Coastal states share the cost of desalination."
    assert proposal.body_html == ("<h2>Problem</h2>\n<p>Towns on the coast run out of <strong>fresh water</strong>."
                                  "</p>\n")
    assert proposal.language == "en"
    assert [row.dimension.value for row in proposal.dimensions] == ["environmental"]
    assert sorted(row.member_state.code for row in proposal.member_states) == ["KZ", "RU"]
    assert [row.keyword for row in proposal.keywords] == ["desalination plants", "water"]
    assert [row.think_tank.name for row in proposal.think_tanks] == ["Caspian Water Institute"]
    assert proposal.imported_author_names == ["Aigerim Sadykova", "John Smith"]
    assert proposal.authors == []
    assert (proposal.first_submitted_at, proposal.endorsed_at, proposal.closed_at, proposal.withdrawn_at) == (
        day("2019-02-01"), day("2019-06-15"), None, None)
    assert [(event.action, event.to_state) for event in proposal.events] == [("imported", ProposalState.ENDORSED)]
    assert [revision.number for revision in proposal.revisions] == [1]
    withdrawn = by_reference(db, "TTF-2019-005")
    assert (withdrawn.endorsed_at, withdrawn.withdrawn_at) == (None, day("2019-04-01"))


def test_unknown_think_tanks_are_created_once_as_archived_institutions(import_file, db):
    import_file(*FIVE_OUTCOMES)

    assert think_tank_rows(db) == [
        ("Beijing Security Forum", "CN", ThinkTankStatus.ARCHIVED, Participation.PERMANENT, "", ""),
        ("Caspian Water Institute", "KZ", ThinkTankStatus.ARCHIVED, Participation.PERMANENT, "", ""),
    ]


def test_a_known_think_tank_of_the_same_name_and_member_state_is_reused(import_file, db, make_think_tank):
    existing = make_think_tank(name="Caspian Water Institute", state="KZ")
    namesake_elsewhere = make_think_tank(name="Beijing Security Forum", state="IN")

    result = import_file(outcome(), outcome(reference="TTF-2019-009", think_tanks=[BEIJING]))

    assert result.output == "Imported 2 proposals (2 created, 0 updated).\nCreated 1 archived think tank.\n"
    assert [row.think_tank_id for row in by_reference(db, "TTF-2019-001").think_tanks] == [existing.id]
    created = by_reference(db, "TTF-2019-009").think_tanks[0].think_tank
    assert created.id != namesake_elsewhere.id
    assert (created.name, created.member_state.code, created.status) == (
        "Beijing Security Forum", "CN", ThinkTankStatus.ARCHIVED)


def test_the_endorsed_outcomes_are_searchable_as_soon_as_the_command_ends(import_file, db):
    import_file(*FIVE_OUTCOMES)

    assert found("desalination") == ["TTF-2019-001"]
    assert found("опреснение") == ["TTF-2019-002"]
    assert found("安全合作") == ["EP-2018-0001"]
    assert found("author:петров") == ["TTF-2019-002"]
    assert found("thinktank:caspian") == ["TTF-2019-001", "TTF-2019-002"]
    assert db.session.scalar(select(func.count(SearchOutboxEntry.id))) == 0
    assert search.check() == []


def test_only_the_endorsed_outcomes_enter_the_index(import_file):
    import_file(*FIVE_OUTCOMES)

    assert search.search("").total == 3
    assert found("NOTPUBLICMARKER") == []
    assert found("WITHDRAWNMARKER") == []
    assert found("grain") == []
    assert found("glacier") == []


def test_reimporting_a_reference_updates_that_proposal_and_the_index_follows(import_file, db):
    import_file(*FIVE_OUTCOMES)
    first = by_reference(db, "TTF-2019-001")

    result = import_file(outcome(title="Solar desalination for shared coasts", keywords=["solar"],
                                 member_states=["RU"], think_tanks=[BEIJING], authors=["John Smith"]))

    assert result.output == "Imported 1 proposal (0 created, 1 updated).\n"
    assert proposal_count(db) == 5
    proposal = by_reference(db, "TTF-2019-001")
    assert proposal.id == first.id
    assert proposal.title == "Solar desalination for shared coasts"
    assert [row.keyword for row in proposal.keywords] == ["solar"]
    assert [row.member_state.code for row in proposal.member_states] == ["RU"]
    assert [row.think_tank.name for row in proposal.think_tanks] == ["Beijing Security Forum"]
    assert proposal.imported_author_names == ["John Smith"]
    assert [revision.number for revision in proposal.revisions] == [1, 2]
    assert [event.action for event in proposal.events] == ["imported", "imported"]
    assert found("solar") == ["TTF-2019-001"]
    assert found("keyword:solar") == ["TTF-2019-001"]
    assert found("plants") == []
    assert found("", member_states=("KZ",)) == []
    assert search.check() == []


def test_reimporting_an_endorsed_outcome_as_withdrawn_takes_it_out_of_the_index(import_file, db):
    import_file(outcome())

    import_file(outcome(state="withdrawn"))

    assert by_reference(db, "TTF-2019-001").state == ProposalState.WITHDRAWN
    assert found("desalination") == []
    assert search.check() == []


def test_a_line_without_reference_gets_the_next_platform_reference_of_its_submission_year(import_file, db):
    import_file(outcome(reference=None, submitted_at="2017-05-01"), outcome(reference=None, submitted_at="2017-06-01"))

    assert sorted(db.session.scalars(select(Proposal.reference))) == ["EP-2017-0001", "EP-2017-0002"]


def test_a_platform_reference_in_the_file_raises_that_years_counter(import_file, db):
    result = import_file(outcome(reference=None, submitted_at="2017-05-01"),
                         outcome(reference="EP-2017-0042", submitted_at="2017-06-01"))

    assert result.exit_code == 0, result.output
    assert sorted(db.session.scalars(select(Proposal.reference))) == ["EP-2017-0042", "EP-2017-0043"]
    assert db.session.get(ReferenceCounter, 2017).last_number == 43


def test_the_platform_never_hands_out_a_reference_that_was_imported(import_file, db, make_proposal, make_user):
    year = utcnow().year
    import_file(outcome(reference=f"EP-{year}-0007", submitted_at=f"{year}-01-02", decided_at=f"{year}-01-03"))
    author = make_user(roles=(Role.EXPERT,))
    draft = make_proposal(author=author)

    take(draft, "submit", author)
    db.session.commit()

    assert draft.reference == f"EP-{year}-0008"


def test_blank_lines_are_skipped_and_a_byte_order_mark_is_ignored(import_file, db):
    text = "\ufeff" + jsonl(outcome()) + "\n   \n" + jsonl(outcome(reference="TTF-2019-002"))

    result = import_file(text=text)

    assert result.output == "Imported 2 proposals (2 created, 0 updated).\nCreated 1 archived think tank.\n"


def test_a_line_separator_inside_a_string_does_not_cut_the_line(import_file, db):
    result = import_file(outcome(title="Shared\u2028coasts"))

    assert result.exit_code == 0, result.output
    assert by_reference(db, "TTF-2019-001").title == "Shared coasts"


def test_no_progress_bar_is_drawn_when_the_output_is_not_a_terminal(import_file):
    result = import_file(*FIVE_OUTCOMES)

    assert "Importing" not in result.output


# --- a bad line imports nothing ----------------------------------------------------------------------

BAD_LINES = [
    pytest.param('{"title": ', 'line 2: not valid JSON (Expecting value: line 1 column 11 (char 10))', id="not-json"),
    pytest.param("[1, 2]", "line 2: not a JSON object", id="not-an-object"),
    pytest.param(outcome(dimension=["economic"]), "line 2: dimension: unknown field", id="unknown-field"),
    pytest.param(outcome(title=None), "line 2: title: required", id="title-missing"),
    pytest.param(outcome(title="   "), "line 2: title: must not be empty", id="title-empty"),
    pytest.param(outcome(title="x" * 201), "line 2: title: longer than 200 characters", id="title-long"),
    pytest.param(outcome(title=42), "line 2: title: must be a string", id="title-not-text"),
    pytest.param(outcome(summary=None), "line 2: summary: required", id="summary-missing"),
    pytest.param(outcome(summary="s" * 1501), "line 2: summary: longer than 1500 characters", id="summary-long"),
    pytest.param(outcome(body=None), "line 2: body: required", id="body-missing"),
    pytest.param(outcome(body="é" * 102401), "line 2: body: longer than 204800 bytes", id="body-large"),
    pytest.param(outcome(language=None), "line 2: language: required", id="language-missing"),
    pytest.param(outcome(language="EN"), "line 2: language: 'EN' is not a language code of two lower-case letters",
                 id="language-upper"),
    pytest.param(outcome(language="eng"),
                 "line 2: language: 'eng' is not a language code of two lower-case letters", id="language-long"),
    pytest.param(outcome(dimensions=None), "line 2: dimensions: required", id="dimensions-missing"),
    pytest.param(outcome(dimensions=[]), "line 2: dimensions: must be a non-empty list of dimensions",
                 id="dimensions-empty"),
    pytest.param(outcome(dimensions=["economy"]), "line 2: dimensions: unknown dimension 'economy'",
                 id="dimensions-unknown"),
    pytest.param(outcome(state="draft"), "line 2: state: 'draft' is not one of endorsed, not_endorsed, withdrawn",
                 id="state-not-final"),
    pytest.param(outcome(state=None), "line 2: state: None is not one of endorsed, not_endorsed, withdrawn",
                 id="state-missing"),
    pytest.param(outcome(submitted_at=None), "line 2: submitted_at: required", id="submitted-missing"),
    pytest.param(outcome(submitted_at="2019-13-01"),
                 "line 2: submitted_at: '2019-13-01' is not a date written YYYY-MM-DD", id="submitted-impossible"),
    pytest.param(outcome(decided_at="15/06/2019"),
                 "line 2: decided_at: '15/06/2019' is not a date written YYYY-MM-DD", id="decided-format"),
    pytest.param(outcome(decided_at="2019-01-31"), "line 2: decided_at: before submitted_at",
                 id="decided-before-submitted"),
    pytest.param(outcome(member_states=["XX"]), "line 2: member_states: 'XX' is not the code of a member state",
                 id="member-state-unknown"),
    pytest.param(outcome(member_states=["US"]), "line 2: member_states: 'US' is not the code of a member state",
                 id="member-state-observer"),
    pytest.param(outcome(member_states="KZ"), "line 2: member_states: must be a list", id="member-states-not-list"),
    pytest.param(outcome(think_tanks=[{"name": "Institute"}]),
                 'line 2: think_tanks: each think tank must be {"name": ..., "member_state": ...}',
                 id="think-tank-shape"),
    pytest.param(outcome(think_tanks=[{"name": "Institute", "member_state": "ZZ"}]),
                 "line 2: think_tanks: 'ZZ' is not the code of a member state", id="think-tank-state"),
    pytest.param(outcome(think_tanks=[{"name": " ", "member_state": "KZ"}]),
                 "line 2: think_tanks: a name of 1 to 200 characters is required", id="think-tank-name"),
    pytest.param(outcome(authors=["Ann", " "]), "line 2: authors: each author needs a name of 1 to 200 characters",
                 id="author-empty"),
    pytest.param(outcome(authors="Ann"), "line 2: authors: must be a list", id="authors-not-list"),
    pytest.param(outcome(keywords=[7]), "line 2: keywords: must be a list of strings", id="keyword-not-text"),
    pytest.param(outcome(keywords=["k" * 61]), f"line 2: keywords: '{'k' * 61}' is longer than 60 characters",
                 id="keyword-long"),
    pytest.param(outcome(reference="ttf-2019-1"), "line 2: reference: 'ttf-2019-1' is not a reference like "
                 "EP-2019-0042", id="reference-shape"),
    pytest.param(outcome(reference="ABCDEFGHIJ-2019-123456"), "line 2: reference: longer than 20 characters",
                 id="reference-long"),
    pytest.param(outcome(reference="TTF-2019-900"), "line 2: reference: TTF-2019-900 is already on line 1",
                 id="reference-repeated"),
]


@pytest.mark.parametrize(("bad_line", "error"), BAD_LINES)
def test_one_bad_line_imports_nothing_and_is_named_with_its_field(import_file, db, bad_line, error):
    good = [outcome(reference="TTF-2019-900"), outcome(reference="TTF-2019-901", think_tanks=[BEIJING])]

    result = import_file(good[0], bad_line, good[1])

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == f"{error}\nError: 1 bad line: nothing was imported.\n"
    assert proposal_count(db) == 0
    assert think_tank_rows(db) == []
    assert search.search("").total == 0


def test_every_bad_field_of_every_bad_line_is_named(import_file, db):
    result = import_file(outcome(title=None, language="EN"), outcome(reference="TTF-2019-002"),
                         outcome(reference="TTF-2019-003", dimensions=["economy", "human", "space"]))

    assert result.exit_code == 1
    assert result.stderr == (
        "line 1: title: required\n"
        "line 1: language: 'EN' is not a language code of two lower-case letters\n"
        "line 3: dimensions: unknown dimension 'economy'\n"
        "line 3: dimensions: unknown dimension 'space'\n"
        "Error: 2 bad lines: nothing was imported.\n"
    )
    assert proposal_count(db) == 0


def test_a_file_that_is_not_utf8_imports_nothing(import_file, db, tmp_path):
    result = import_file(raw=jsonl(outcome(title="Caf\u00e9")).encode("latin-1"))

    assert result.exit_code == 1
    assert result.stderr.endswith("is not UTF-8 text: nothing was imported.\n")
    assert proposal_count(db) == 0


def test_the_reference_of_a_proposal_of_the_platform_is_refused(import_file, db, make_proposal, make_user):
    author = make_user(roles=(Role.EXPERT,))
    own = make_proposal(author=author, title="The platform's own proposal")
    take(own, "submit", author)
    db.session.commit()
    reference = own.reference

    result = import_file(outcome(reference="TTF-2019-002"), outcome(reference=reference))

    assert result.exit_code == 1
    assert result.stderr == (f"line 2: reference: {reference} is a proposal of the platform: an import cannot "
                             "replace it\nError: 1 bad line: nothing was imported.\n")
    proposal = by_reference(db, reference)
    assert (proposal.title, proposal.state, proposal.is_imported) == (
        "The platform's own proposal", ProposalState.SUBMITTED, False)
    assert proposal_count(db) == 1


def test_import_records_refuses_a_platform_proposal_even_when_called_without_validation(app, states, db,
                                                                                        make_proposal, make_user):
    author = make_user(roles=(Role.EXPERT,))
    own = make_proposal(author=author)
    take(own, "submit", author)
    db.session.commit()
    records, errors = importer.validate([json.dumps(outcome(reference="TTF-2019-001"))])
    forged = records[0].__class__(**{**records[0].__dict__, "reference": own.reference})

    with pytest.raises(importer.ValidationFailed) as refused:
        importer.import_records([forged])

    assert refused.value.message == (f"line 1: {own.reference} is a proposal of the platform: an import cannot "
                                     "replace it")


# --- dry run -----------------------------------------------------------------------------------------


def test_a_dry_run_reports_what_would_change_and_writes_nothing(import_file, db):
    result = import_file(*FIVE_OUTCOMES, dry_run=True)

    assert result.exit_code == 0, result.output
    assert result.output == (
        "Dry run: would import 5 proposals (5 created, 0 updated) and create 2 archived think tanks.\n"
        "  new think tank: Caspian Water Institute (KZ)\n"
        "  new think tank: Beijing Security Forum (CN)\n"
        "Nothing was written.\n"
    )
    assert proposal_count(db) == 0
    assert think_tank_rows(db) == []
    assert db.session.scalar(select(func.count(SearchOutboxEntry.id))) == 0
    assert db.session.scalar(select(func.count(ReferenceCounter.year))) == 0
    assert search.search("").total == 0


def test_a_dry_run_counts_the_references_it_would_update(import_file, db):
    import_file(*FIVE_OUTCOMES)
    revisions = db.session.scalar(select(func.count(ProposalRevision.id)))

    result = import_file(outcome(title="Changed"), outcome(reference="TTF-2019-777"), dry_run=True)

    assert result.output == ("Dry run: would import 2 proposals (1 created, 1 updated) and create 0 archived think "
                             "tanks.\nNothing was written.\n")
    assert by_reference(db, "TTF-2019-001").title == "Desalination plants on shared coasts"
    assert db.session.scalar(select(func.count(ProposalRevision.id))) == revisions
    assert db.session.scalar(select(func.count(ProposalEvent.id))) == 5


def test_a_dry_run_of_a_bad_file_names_the_bad_lines_too(import_file, db):
    result = import_file(outcome(dimensions=["economy"]), dry_run=True)

    assert result.exit_code == 1
    assert result.stderr == ("line 1: dimensions: unknown dimension 'economy'\n"
                             "Error: 1 bad line: nothing was imported.\n")


# --- validate() directly -----------------------------------------------------------------------------


def test_validate_returns_normalised_records_and_errors_naming_line_and_field(app, states):
    records, errors = importer.validate([json.dumps(outcome()), "", json.dumps(outcome(reference="TTF-2019-002",
                                                                                      state="draft"))])

    assert [str(error) for error in errors] == [
        "line 3: state: 'draft' is not one of endorsed, not_endorsed, withdrawn"]
    assert [(error.line, error.field) for error in errors] == [(3, "state")]
    assert len(records) == 1
    record = records[0]
    assert (record.line, record.reference, record.keywords, record.think_tanks, record.submitted_at) == (
        1, "TTF-2019-001", ("water", "desalination plants"), (("Caspian Water Institute", "KZ"),),
        day("2019-02-01"))


def test_import_records_reports_progress_once_per_record_and_flushes_without_committing(app, states, db):
    records, _errors = importer.validate([json.dumps(line) for line in FIVE_OUTCOMES])
    steps = []

    with importer.garbage_collected_per_batch():
        summary = importer.import_records(records, progress=steps.append)

    assert steps == [1, 1, 1, 1, 1]
    assert (summary.created, summary.updated, summary.think_tanks_created) == (
        5, 0, ("Caspian Water Institute (KZ)", "Beijing Security Forum (CN)"))
    db.session.rollback()
    assert proposal_count(db) == 0


def test_the_garbage_collector_is_back_as_it_was_after_an_import(app):
    import gc

    with importer.garbage_collected_per_batch():
        assert gc.isenabled() is False

    assert gc.isenabled() is True
    assert gc.get_freeze_count() == 0


# --- translations ----------------------------------------------------------------------------------

RUSSIAN = {"language": "ru", "title": "  Опреснительные   установки на общих побережьях ",
           "summary": "Прибрежные государства делят расходы на опреснение.",
           "body": "## Проблема\n\nВ прибрежных городах заканчивается **пресная вода**.<script>x()</script>",
           "status": "checked_translation"}


def test_an_outcome_comes_with_its_translation_frozen_and_found_by_either_text(import_file, db):
    result = import_file(outcome(translations=[RUSSIAN]))

    assert result.exit_code == 0, result.output
    proposal = by_reference(db, "TTF-2019-001")
    [row] = proposal.translations
    assert (row.language, row.status.value, row.title, row.summary) == (
        "ru", "checked_translation", "Опреснительные установки на общих побережьях",
        "Прибрежные государства делят расходы на опреснение.")
    assert row.body_html == ("<h2>Проблема</h2>\n<p>В прибрежных городах заканчивается <strong>пресная вода</strong>."
                             "&lt;script&gt;x()&lt;/script&gt;</p>\n")
    [revision] = proposal.revisions
    assert [(text["language"], text["status"], text["title"]) for text in revision.content["translations"]] == [
        ("ru", "checked_translation", "Опреснительные установки на общих побережьях")]
    assert found("опреснение") == ["TTF-2019-001"]
    assert found("desalination") == ["TTF-2019-001"]


def test_reimporting_replaces_the_translations_and_the_index_follows(import_file, db):
    import_file(outcome(translations=[RUSSIAN]))
    result = import_file(outcome(translations=[{**RUSSIAN, "title": "Морская вода", "status": None}]))
    assert result.exit_code == 0, result.output
    [row] = by_reference(db, "TTF-2019-001").translations
    assert (row.title, row.status.value) == ("Морская вода", "translation")

    result = import_file(outcome())
    assert result.exit_code == 0, result.output
    assert by_reference(db, "TTF-2019-001").translations == []
    assert found("опреснение") == []
    assert found("desalination") == ["TTF-2019-001"]


def test_a_bad_translation_is_named_and_nothing_is_imported(import_file, db):
    result = import_file(
        outcome(translations=[{**RUSSIAN, "language": "en"}]),
        outcome(reference="TTF-2019-002", translations=[{**RUSSIAN, "status": "checked"}]),
        outcome(reference="TTF-2019-003", translations=[{**RUSSIAN, "title": "", "summary": 7}, "ru"]),
        outcome(reference="TTF-2019-004", translations=[RUSSIAN, RUSSIAN, {**RUSSIAN, "language": "fr"}]),
    )

    assert result.exit_code == 1
    assert result.stderr == (
        "line 1: translations: 'en' is not a working language other than the original's (en, ru)\n"
        "line 2: translations: status 'checked' is not translation or checked_translation\n"
        "line 3: translations: ru: title must not be empty\n"
        "line 3: translations: ru: summary must be a string\n"
        'line 3: translations: each translation must be {"language", "title", "summary", "body"} and optionally '
        '"status"\n'
        "line 4: translations: two translations into 'ru'\n"
        "line 4: translations: 'fr' is not a working language other than the original's (en, ru)\n"
        "Error: 4 bad lines: nothing was imported.\n"
    )
    assert proposal_count(db) == 0


# --- batches (issue 15 point 5) ----------------------------------------------------------------------


def records_of(*lines) -> list[importer.Record]:
    records, errors = importer.validate([json.dumps(line, ensure_ascii=False) for line in lines])
    assert errors == []
    return records


def recorded_history(db) -> dict:
    """Every proposal by reference: its final state and stamps, its revisions and its events, field by field
    (think tanks by name: their ids depend on the order of creation)."""
    db.session.expire_all()
    tank_names = {tank.id: tank.name for tank in db.session.scalars(select(ThinkTank))}

    def content(frozen: dict) -> dict:
        return {**frozen, "think_tanks": [{**tank, "id": tank_names[tank["id"]]} for tank in frozen["think_tanks"]]}

    return {
        proposal.reference: {
            "proposal": (proposal.state, proposal.version, proposal.is_imported, proposal.title, proposal.body_html,
                         proposal.first_submitted_at, proposal.last_submitted_at, proposal.endorsed_at,
                         proposal.closed_at, proposal.withdrawn_at),
            "revisions": [(revision.number, revision.title, revision.summary, revision.body, revision.body_html,
                           revision.language, content(revision.content), revision.created_by_id)
                          for revision in proposal.revisions],
            "events": [(event.action, event.actor_id, event.from_state, event.to_state, event.note,
                        event.revision_number, event.created_at) for event in proposal.events],
        }
        for proposal in db.session.scalars(select(Proposal).order_by(Proposal.reference))
    }


def statements_during(db, work) -> int:
    statements = []

    def remember(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", remember)
    try:
        work()
    finally:
        event.remove(db.engine, "before_cursor_execute", remember)
    return len(statements)


#: A file, then a second one that re-imports three of its outcomes (one of them changing state and losing its
#: translation) among new ones, with and without references of their own.
FIRST_FILE = [*FIVE_OUTCOMES, outcome(reference="TTF-2019-006", translations=[RUSSIAN], keywords=["glaciers"])]
SECOND_FILE = [
    outcome(title="Solar desalination for shared coasts", keywords=["solar"], member_states=["RU"]),
    outcome(reference="TTF-2019-010", title="Seed banks", submitted_at="2019-03-01"),
    outcome(reference="TTF-2019-004", title="Border tariffs for grain", dimensions=["economic"], state="endorsed",
            body="Grain tariffs, endorsed at last."),
    outcome(reference=None, title="Early warning of floods", submitted_at="2018-04-01"),
    outcome(reference="TTF-2019-006", state="withdrawn", keywords=["glaciers"]),
    outcome(reference=None, title="River basin councils", submitted_at="2018-05-01", think_tanks=[BEIJING]),
]


def test_a_batch_mixing_new_and_existing_references_creates_some_and_re_records_the_others(app, states, db):
    importer.import_records(records_of(*FIRST_FILE))
    db.session.commit()

    summary = importer.import_records(records_of(*SECOND_FILE))
    db.session.commit()

    assert (summary.created, summary.updated, summary.think_tanks_created) == (3, 3, ())
    history = recorded_history(db)
    assert sorted(history) == ["EP-2018-0001", "EP-2018-0002", "EP-2018-0003", "TTF-2019-001", "TTF-2019-002",
                               "TTF-2019-004", "TTF-2019-005", "TTF-2019-006", "TTF-2019-010"]
    assert {reference: [(event[2], event[3]) for event in entry["events"]] for reference, entry in history.items()
            if len(entry["events"]) > 1 or reference in ("TTF-2019-010", "EP-2018-0002", "EP-2018-0003")} == {
        "TTF-2019-001": [(None, ProposalState.ENDORSED), (ProposalState.ENDORSED, ProposalState.ENDORSED)],
        "TTF-2019-004": [(None, ProposalState.NOT_ENDORSED), (ProposalState.NOT_ENDORSED, ProposalState.ENDORSED)],
        "TTF-2019-006": [(None, ProposalState.ENDORSED), (ProposalState.ENDORSED, ProposalState.WITHDRAWN)],
        "TTF-2019-010": [(None, ProposalState.ENDORSED)],
        "EP-2018-0002": [(None, ProposalState.ENDORSED)],
        "EP-2018-0003": [(None, ProposalState.ENDORSED)],
    }
    assert {reference: [revision[0] for revision in entry["revisions"]] for reference, entry in history.items()} == {
        "EP-2018-0001": [1], "EP-2018-0002": [1], "EP-2018-0003": [1], "TTF-2019-001": [1, 2], "TTF-2019-002": [1],
        "TTF-2019-004": [1, 2], "TTF-2019-005": [1], "TTF-2019-006": [1, 2], "TTF-2019-010": [1]}
    assert [revision[1] for revision in history["TTF-2019-001"]["revisions"]] == [
        "Desalination plants on shared coasts", "Solar desalination for shared coasts"]
    assert [len(revision[6]["translations"]) for revision in history["TTF-2019-006"]["revisions"]] == [1, 0]
    assert by_reference(db, "TTF-2019-006").translations == []
    assert found("solar") == ["TTF-2019-001"]
    assert found("grain") == ["TTF-2019-004"]
    assert found("glaciers") == []
    assert sorted(found("", member_states=("KZ",))) == ["EP-2018-0002", "EP-2018-0003", "TTF-2019-004",
                                                         "TTF-2019-010"]
    assert search.check() == []


def test_batch_boundaries_change_nothing_but_the_batches(app, states, db, monkeypatch):
    monkeypatch.setattr(importer, "BATCH_SIZE", 2)
    lines = [outcome(reference=None, title=f"Outcome {number}", submitted_at=f"2017-0{number}-01")
             if number % 3 else outcome(reference=f"TTF-2017-{number:03d}", title=f"Outcome {number}",
                                        submitted_at=f"2017-0{number}-01")
             for number in range(1, 8)]
    steps = []

    summary = importer.import_records(records_of(*lines), progress=steps.append)
    db.session.commit()

    assert steps == [1] * 7
    assert (summary.created, summary.updated) == (7, 0)
    titles = dict(db.session.execute(select(Proposal.reference, Proposal.title)).all())
    assert titles == {"EP-2017-0001": "Outcome 1", "EP-2017-0002": "Outcome 2", "TTF-2017-003": "Outcome 3",
                      "EP-2017-0003": "Outcome 4", "EP-2017-0004": "Outcome 5", "TTF-2017-006": "Outcome 6",
                      "EP-2017-0005": "Outcome 7"}
    assert db.session.get(ReferenceCounter, 2017).last_number == 5
    assert db.session.scalar(select(func.count(ProposalRevision.id))) == 7
    assert db.session.scalar(select(func.count(ProposalEvent.id))) == 7
    assert search.search("").total == 7


@pytest.mark.parametrize("batch_size", [2, 500])
def test_a_batch_records_the_same_revisions_and_events_as_one_outcome_at_a_time(app, states, db, monkeypatch,
                                                                              batch_size):
    def history_in_batches_of(size: int) -> dict:
        monkeypatch.setattr(importer, "BATCH_SIZE", size)
        importer.import_records(records_of(*FIRST_FILE))
        importer.import_records(records_of(*SECOND_FILE))
        history = recorded_history(db)
        db.session.rollback()
        return history

    one_at_a_time = history_in_batches_of(1)

    assert history_in_batches_of(batch_size) == one_at_a_time
    assert one_at_a_time["TTF-2019-004"]["events"] == [
        ("imported", None, None, ProposalState.NOT_ENDORSED, None, None, day("2019-06-15")),
        ("imported", None, ProposalState.NOT_ENDORSED, ProposalState.ENDORSED, None, None, day("2019-06-15")),
    ]
    assert one_at_a_time["TTF-2019-001"]["revisions"][1][6] == {
        "dimensions": ["environmental"],
        "member_states": [{"id": states["RU"].id, "code": "RU", "name": states["RU"].name}],
        "keywords": ["solar"],
        "think_tanks": [{"id": "Caspian Water Institute", "name": "Caspian Water Institute"}],
        "authors": [],
        "annex_ids": [],
        "translations": [],
    }


def uniform_outcomes(count: int, *, start: int = 1, changed: bool = False) -> list[dict]:
    """``count`` outcomes of the same shape, every other one without a reference of its own."""
    return [outcome(reference=f"TTF-2019-{number:03d}", title=f"Outcome {number}{' revised' if changed else ''}",
                    keywords=["water", f"topic {number}{' revised' if changed else ''}"])
            if number % 2 else outcome(reference=None, title=f"Outcome {number}", keywords=["water", f"topic {number}"])
            for number in range(start, start + count)]


def test_a_batch_issues_as_many_statements_with_40_outcomes_as_with_4(app, states, db):
    def statements_to_import(lines) -> int:
        records = records_of(*lines)
        count = statements_during(db, lambda: importer.import_records(records))
        db.session.rollback()
        return count

    assert statements_to_import(uniform_outcomes(40)) == statements_to_import(uniform_outcomes(4))


def test_a_re_import_issues_as_many_statements_with_40_outcomes_as_with_4(app, states, db):
    def statements_to_re_import(count: int) -> int:
        importer.import_records(records_of(*uniform_outcomes(count)))
        # The odd ones again, changed, and as many new ones between them.
        again = [line for line in uniform_outcomes(count, changed=True) if "reference" in line]
        new = [outcome(reference=f"TTF-2020-{number:03d}", title=f"New {number}", keywords=["water", f"new {number}"])
               for number in range(len(again))]
        records = records_of(*(line for pair in zip(again, new, strict=True) for line in pair))
        statements = statements_during(db, lambda: importer.import_records(records))
        db.session.rollback()
        return statements

    assert statements_to_re_import(40) == statements_to_re_import(4)


def test_markdown_rendered_by_worker_processes_is_exactly_what_this_process_renders(app, states):
    records = records_of(*FIRST_FILE)
    batches = [records[:4], records[4:]]

    with importer.markdown_renderer(parallel=False) as render:
        here = [list(render(batch)) for batch in batches]
    with importer.markdown_renderer(parallel=True) as render:
        pending = [render(batch) for batch in batches]  # both batches sent before either is read
        there = [list(rendered) for rendered in pending]

    assert there == here
    assert here[0][0] == ("<h2>Problem</h2>\n<p>Towns on the coast run out of <strong>fresh water</strong>.</p>\n",)
    assert [len(texts) for texts in here[1]] == [1, 2]


def test_a_large_import_renders_in_worker_processes_with_the_same_result(app, states, db, monkeypatch):
    monkeypatch.setattr(importer, "PARALLEL_RENDERING_FROM", 2)
    monkeypatch.setattr(importer, "BATCH_SIZE", 4)

    importer.import_records(records_of(*FIRST_FILE))
    db.session.commit()

    assert by_reference(db, "TTF-2019-001").body_html == (
        "<h2>Problem</h2>\n<p>Towns on the coast run out of <strong>fresh water</strong>.</p>\n")
    [translation] = by_reference(db, "TTF-2019-006").translations
    assert translation.body_html == ("<h2>Проблема</h2>\n<p>В прибрежных городах заканчивается <strong>пресная "
                                     "вода</strong>.&lt;script&gt;x()&lt;/script&gt;</p>\n")
    assert found("desalination") == ["TTF-2019-001", "TTF-2019-006"]


def test_an_import_writes_new_proposals_outside_the_session_and_has_them_indexed(app, states, db):
    """Where the index is in the database (PostgreSQL), the import writes the entries in its transaction, from
    the proposals in hand; otherwise it queues all six for the outbox, which writes the index after the commit."""
    records = records_of(*FIRST_FILE)
    importer.import_records(records)

    assert not [row for row in db.session.identity_map.values() if isinstance(row, Proposal)]
    in_the_database = search.backend() == "postgres"
    assert db.session.scalar(select(func.count(SearchOutboxEntry.id))) == (0 if in_the_database else 6)
    assert search.indexed_count() == (4 if in_the_database else 0)  # the four endorsed
    db.session.commit()
    first, russian = by_reference(db, "TTF-2019-001"), by_reference(db, "TTF-2019-006")
    assert [row.dimension.value for row in first.dimensions] == ["environmental"]
    assert sorted(row.member_state.code for row in first.member_states) == ["KZ", "RU"]
    assert [row.keyword for row in first.keywords] == ["desalination plants", "water"]
    assert [(row.think_tank.name, row.think_tank.member_state.code) for row in first.think_tanks] == [
        ("Caspian Water Institute", "KZ")]
    assert first.imported_author_names == ["Aigerim Sadykova", "John Smith"]
    assert (first.created_at, first.updated_at) != (None, None) and first.created_by_id is None
    assert [(row.language, row.title) for row in russian.translations] == [
        ("ru", "Опреснительные установки на общих побережьях")]
    assert search.pending_count() == 0
    assert found("desalination") == ["TTF-2019-001", "TTF-2019-006"]


def test_objects_written_outside_the_session_must_have_the_same_attributes_set(app, states, db):
    made = [ProposalKeyword(proposal_id=1, keyword="water"), ProposalKeyword(keyword="coast")]

    with pytest.raises(ValueError, match="ProposalKeyword objects with different attributes set"):
        workflow._insert_objects(made)


def test_record_imports_refuses_a_batch_with_a_platform_proposal_before_changing_any(app, states, db,
                                                                                    make_proposal, make_user):
    author = make_user(roles=(Role.EXPERT,))
    own = make_proposal(author=author)
    take(own, "submit", author)
    db.session.commit()
    fresh = Proposal(title="An outcome", summary="", body="Text.", body_html="<p>Text.</p>\n", authors=[])
    decided = day("2019-06-15")

    with pytest.raises(InvalidTransition):
        workflow.record_imports([
            workflow.ImportedOutcome(fresh, ProposalState.ENDORSED, "TTF-2019-001", decided, decided),
            workflow.ImportedOutcome(own, ProposalState.ENDORSED, own.reference, decided, decided),
        ])

    assert (fresh.reference, fresh.is_imported, fresh.id) == (None, None, None)
    assert (own.state, own.is_imported) == (ProposalState.SUBMITTED, False)
    with pytest.raises(ValueError, match="twice"):
        workflow.record_imports([
            workflow.ImportedOutcome(fresh, ProposalState.ENDORSED, "TTF-2019-001", decided, decided),
            workflow.ImportedOutcome(fresh, ProposalState.WITHDRAWN, "TTF-2019-001", decided, decided),
        ])


def test_record_import_records_one_outcome_as_a_batch_of_one_and_returns_its_event(app, states, db):
    proposal = Proposal(title="An outcome", summary="", body="Text.", body_html="<p>Text.</p>\n", authors=[])
    decided = day("2019-06-15")

    event = workflow.record_import(proposal, state=ProposalState.WITHDRAWN, reference="TTF-2019-001",
                                   submitted_at=day("2019-02-01"), decided_at=decided)

    assert (event.proposal_id, event.action, event.from_state, event.to_state, event.created_at) == (
        proposal.id, "imported", None, ProposalState.WITHDRAWN, decided)
    assert [(revision.number, revision.body_html) for revision in proposal.revisions] == [(1, "<p>Text.</p>\n")]
    assert (proposal.state, proposal.withdrawn_at, proposal.version) == (ProposalState.WITHDRAWN, decided, 1)
