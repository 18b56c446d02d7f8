"""The consensus rule of ARCHITECTURE.md section 4 as a table: ``review.consensus.outcome`` is pure.

Each row gives the history of positions recorded in a round, in the order they were recorded (a
delegation that changes its position appears twice; only its last position stands, as in the
``delegation_positions`` table), the delegations asked, the kind of round, whether the deadline has
passed, the quorum, and the outcome the rule must give.
"""

from __future__ import annotations

from fractions import Fraction
from typing import NamedTuple

import pytest

from expert_platform.enums import ConsensusOutcome, Position, RoundKind
from expert_platform.review.consensus import DEFAULT_QUORUM, Rule, outcome, parse_quorum

STANDARD = RoundKind.STANDARD
SILENCE = RoundKind.SILENCE
ENDORSE = Position.ENDORSE
RESERVE = Position.ENDORSE_WITH_RESERVATION
ASIDE = Position.STAND_ASIDE
OBJECT = Position.OBJECT

PENDING = ConsensusOutcome.PENDING
ENDORSED = ConsensusOutcome.ENDORSED
BLOCKED = ConsensusOutcome.BLOCKED
NOT_REACHED = ConsensusOutcome.NOT_REACHED

THREE = ("China", "India", "Russia")
FOUR = ("China", "India", "Russia", "Kazakhstan")
BEFORE = False
AT_THE_DEADLINE = True
TWO_THIRDS = Fraction(2, 3)
THREE_QUARTERS = Fraction(3, 4)


class Row(NamedTuple):
    sentence: str
    history: tuple[tuple[str, Position], ...]
    asked: tuple[str, ...]
    kind: RoundKind
    deadline_passed: bool
    quorum: Fraction
    expected: ConsensusOutcome


def answers(*pairs: tuple[str, Position]) -> tuple[tuple[str, Position], ...]:
    return pairs


TABLE = [
    # --- a standard round: quorum met and not met -------------------------------------------------
    Row("standard before the deadline with 2 of 3 endorsing is pending",
        answers(("China", ENDORSE), ("India", ENDORSE)), THREE, STANDARD, BEFORE, TWO_THIRDS, PENDING),
    Row("standard at the deadline with 2 of 3 endorsing reaches a two-thirds quorum and is endorsed",
        answers(("China", ENDORSE), ("India", ENDORSE)), THREE, STANDARD, AT_THE_DEADLINE, TWO_THIRDS, ENDORSED),
    Row("standard at the deadline with 1 of 3 endorsing misses the quorum",
        answers(("China", ENDORSE),), THREE, STANDARD, AT_THE_DEADLINE, TWO_THIRDS, NOT_REACHED),
    Row("standard at the deadline with 2 of 3 answering misses a three-quarters quorum",
        answers(("China", ENDORSE), ("India", ENDORSE)), THREE, STANDARD, AT_THE_DEADLINE, THREE_QUARTERS,
        NOT_REACHED),
    Row("standard at the deadline with 3 of 4 answering reaches a three-quarters quorum exactly",
        answers(("China", ENDORSE), ("India", ENDORSE), ("Russia", ENDORSE)), FOUR, STANDARD, AT_THE_DEADLINE,
        THREE_QUARTERS, ENDORSED),
    Row("standard at the deadline with 2 of 4 answering misses a two-thirds quorum",
        answers(("China", ENDORSE), ("India", ENDORSE)), FOUR, STANDARD, AT_THE_DEADLINE, TWO_THIRDS, NOT_REACHED),
    Row("standard at the deadline with 2 of 3 answering misses a quorum of all",
        answers(("China", ENDORSE), ("India", ENDORSE)), THREE, STANDARD, AT_THE_DEADLINE, Fraction(1), NOT_REACHED),
    Row("standard at the deadline with nobody answering is not reached",
        answers(), THREE, STANDARD, AT_THE_DEADLINE, TWO_THIRDS, NOT_REACHED),
    Row("standard at the deadline with one endorsing and one standing aside reaches the quorum and is endorsed",
        answers(("China", ENDORSE), ("India", ASIDE)), THREE, STANDARD, AT_THE_DEADLINE, TWO_THIRDS, ENDORSED),
    Row("standard at the deadline with the quorum answering but only standing aside is not reached",
        answers(("China", ASIDE), ("India", ASIDE)), THREE, STANDARD, AT_THE_DEADLINE, TWO_THIRDS, NOT_REACHED),
    # --- every delegation answered early -------------------------------------------------------
    Row("standard before the deadline with all 3 endorsing is endorsed at once",
        answers(("China", ENDORSE), ("India", ENDORSE), ("Russia", ENDORSE)), THREE, STANDARD, BEFORE, TWO_THIRDS,
        ENDORSED),
    Row("silence before the deadline with all 3 endorsing is endorsed at once",
        answers(("China", ENDORSE), ("India", ENDORSE), ("Russia", ENDORSE)), THREE, SILENCE, BEFORE, TWO_THIRDS,
        ENDORSED),
    Row("silence before the deadline with 2 of 3 endorsing is pending",
        answers(("China", ENDORSE), ("India", ENDORSE)), THREE, SILENCE, BEFORE, TWO_THIRDS, PENDING),
    Row("standard before the deadline with all answering, one endorsing and two standing aside, is endorsed",
        answers(("China", ENDORSE), ("India", ASIDE), ("Russia", ASIDE)), THREE, STANDARD, BEFORE, TWO_THIRDS,
        ENDORSED),
    # --- any objection blocks ------------------------------------------------------------------
    Row("standard before the deadline with an objection is blocked",
        answers(("China", ENDORSE), ("India", OBJECT)), THREE, STANDARD, BEFORE, TWO_THIRDS, BLOCKED),
    Row("standard at the deadline with an objection and the quorum endorsing is blocked",
        answers(("China", ENDORSE), ("India", ENDORSE), ("Russia", OBJECT)), FOUR, STANDARD, AT_THE_DEADLINE,
        TWO_THIRDS, BLOCKED),
    Row("standard before the deadline with all answering and one objecting is blocked",
        answers(("China", ENDORSE), ("India", ENDORSE), ("Russia", OBJECT)), THREE, STANDARD, BEFORE, TWO_THIRDS,
        BLOCKED),
    Row("silence before the deadline with an objection is blocked",
        answers(("China", OBJECT),), THREE, SILENCE, BEFORE, TWO_THIRDS, BLOCKED),
    # --- objection withdrawn (the history folds to the last position of each delegation) --------
    Row("standard before the deadline with an objection withdrawn for an endorsement and all answering is endorsed",
        answers(("China", OBJECT), ("India", ENDORSE), ("Russia", ENDORSE), ("China", ENDORSE)), THREE, STANDARD,
        BEFORE, TWO_THIRDS, ENDORSED),
    Row("standard before the deadline with an objection withdrawn for standing aside and one silent is pending",
        answers(("China", OBJECT), ("India", ENDORSE), ("China", ASIDE)), THREE, STANDARD, BEFORE, TWO_THIRDS,
        PENDING),
    Row("standard at the deadline with an objection withdrawn and the quorum endorsing is endorsed",
        answers(("China", OBJECT), ("India", ENDORSE), ("China", RESERVE)), THREE, STANDARD, AT_THE_DEADLINE,
        TWO_THIRDS, ENDORSED),
    Row("silence at the deadline with an objection withdrawn is endorsed",
        answers(("China", OBJECT), ("China", ASIDE)), THREE, SILENCE, AT_THE_DEADLINE, TWO_THIRDS, ENDORSED),
    Row("standard before the deadline with an endorsement changed into an objection is blocked",
        answers(("China", ENDORSE), ("India", ENDORSE), ("Russia", ENDORSE), ("Russia", OBJECT)), THREE, STANDARD,
        BEFORE, TWO_THIRDS, BLOCKED),
    # --- silence procedure at the deadline -----------------------------------------------------
    Row("silence at the deadline with no answers is endorsed: silence is consent",
        answers(), THREE, SILENCE, AT_THE_DEADLINE, TWO_THIRDS, ENDORSED),
    Row("silence at the deadline with one endorsing and the rest silent is endorsed",
        answers(("China", ENDORSE),), THREE, SILENCE, AT_THE_DEADLINE, THREE_QUARTERS, ENDORSED),
    Row("silence at the deadline with one objection and the rest silent is blocked",
        answers(("China", OBJECT),), THREE, SILENCE, AT_THE_DEADLINE, TWO_THIRDS, BLOCKED),
    # --- reservations count as endorsements ----------------------------------------------------
    Row("standard before the deadline with all 3 endorsing with reservations is endorsed",
        answers(("China", RESERVE), ("India", RESERVE), ("Russia", RESERVE)), THREE, STANDARD, BEFORE, TWO_THIRDS,
        ENDORSED),
    Row("standard at the deadline with 2 of 3 reservations reaches the quorum and is endorsed",
        answers(("China", RESERVE), ("India", RESERVE)), THREE, STANDARD, AT_THE_DEADLINE, TWO_THIRDS, ENDORSED),
    Row("standard before the deadline with a reservation and an objection is blocked",
        answers(("China", RESERVE), ("India", OBJECT), ("Russia", ENDORSE)), THREE, STANDARD, BEFORE, TWO_THIRDS,
        BLOCKED),
    # --- everyone stands aside -----------------------------------------------------------------
    Row("standard before the deadline with all standing aside is not endorsed early",
        answers(("China", ASIDE), ("India", ASIDE), ("Russia", ASIDE)), THREE, STANDARD, BEFORE, TWO_THIRDS,
        PENDING),
    Row("silence before the deadline with all standing aside is not endorsed early",
        answers(("China", ASIDE), ("India", ASIDE), ("Russia", ASIDE)), THREE, SILENCE, BEFORE, TWO_THIRDS,
        PENDING),
    Row("standard at the deadline with all standing aside is not reached",
        answers(("China", ASIDE), ("India", ASIDE), ("Russia", ASIDE)), THREE, STANDARD, AT_THE_DEADLINE,
        TWO_THIRDS, NOT_REACHED),
    Row("silence at the deadline with all standing aside is endorsed",
        answers(("China", ASIDE), ("India", ASIDE), ("Russia", ASIDE)), THREE, SILENCE, AT_THE_DEADLINE,
        TWO_THIRDS, ENDORSED),
    # --- delegations not asked -----------------------------------------------------------------
    Row("an objection of a delegation not asked is ignored and the 3 asked endorsing is endorsed",
        answers(("Mongolia", OBJECT), ("China", ENDORSE), ("India", ENDORSE), ("Russia", ENDORSE)), THREE,
        STANDARD, BEFORE, TWO_THIRDS, ENDORSED),
    Row("endorsements of delegations not asked do not count towards the quorum",
        answers(("Mongolia", ENDORSE), ("Kazakhstan", ENDORSE), ("China", ENDORSE)), THREE, STANDARD,
        AT_THE_DEADLINE, TWO_THIRDS, NOT_REACHED),
    Row("an objection of a delegation not asked does not block a silence procedure",
        answers(("Mongolia", OBJECT),), THREE, SILENCE, AT_THE_DEADLINE, TWO_THIRDS, ENDORSED),
    # --- no delegation asked -------------------------------------------------------------------
    Row("no delegation asked before the deadline is pending",
        answers(), (), STANDARD, BEFORE, TWO_THIRDS, PENDING),
    Row("no delegation asked with positions from outside before the deadline is pending",
        answers(("China", ENDORSE),), (), SILENCE, BEFORE, TWO_THIRDS, PENDING),
    Row("no delegation asked in a standard round at the deadline is not reached",
        answers(), (), STANDARD, AT_THE_DEADLINE, TWO_THIRDS, NOT_REACHED),
    Row("no delegation asked in a silence procedure at the deadline is not reached",
        answers(("China", ENDORSE),), (), SILENCE, AT_THE_DEADLINE, TWO_THIRDS, NOT_REACHED),
]


def last_positions(history) -> dict[str, Position]:
    """The positions standing after ``history``: the last one recorded by each delegation."""
    standing: dict[str, Position] = {}
    for delegation, position in history:
        standing[delegation] = position
    return standing


@pytest.mark.parametrize("row", TABLE, ids=[row.sentence.replace(" ", "_") for row in TABLE])
def test_the_consensus_rule(row: Row):
    rule = Rule(kind=row.kind, deadline_passed=row.deadline_passed, quorum=row.quorum)

    assert outcome(last_positions(row.history), row.asked, rule) == row.expected


def test_the_table_has_one_sentence_per_row():
    assert len({row.sentence for row in TABLE}) == len(TABLE) == 40


def test_the_default_quorum_is_two_thirds_and_a_rule_judges_before_the_deadline_by_default():
    assert (DEFAULT_QUORUM.numerator, DEFAULT_QUORUM.denominator) == (2, 3)
    assert Rule(kind=STANDARD) == Rule(kind=STANDARD, deadline_passed=False, quorum=Fraction(2, 3))


def test_positions_given_as_their_stored_values_count_as_positions():
    positions = {"China": "endorse", "India": "endorse_with_reservation", "Russia": "stand_aside"}

    assert outcome(positions, THREE, Rule(kind=STANDARD)) == ENDORSED
    assert outcome({**positions, "Russia": "object"}, THREE, Rule(kind=STANDARD)) == BLOCKED


def test_the_rule_changes_neither_the_positions_nor_the_delegations_it_is_given():
    positions = {"China": OBJECT, "Mongolia": ENDORSE}
    asked = ["China", "India"]

    outcome(positions, asked, Rule(kind=SILENCE, deadline_passed=True))

    assert (positions, asked) == ({"China": OBJECT, "Mongolia": ENDORSE}, ["China", "India"])


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2/3", Fraction(2, 3)), ("0.75", Fraction(3, 4)), ("1", Fraction(1)), (" 3/4 ", Fraction(3, 4)),
     ("1/100", Fraction(1, 100))],
    ids=["two thirds", "a decimal", "one", "spaces around", "one hundredth"],
)
def test_a_quorum_is_read_as_a_fraction(text, expected):
    assert parse_quorum(text) == expected


@pytest.mark.parametrize(
    "text", ["0", "3/2", "abc", "-1/2", "", "1.5", "2 / 3", "nan"],
    ids=["zero", "above one", "words", "negative", "empty", "a decimal above one", "spaced fraction", "nan"],
)
def test_a_quorum_outside_zero_to_one_or_not_a_number_is_refused(text):
    with pytest.raises(ValueError) as refused:
        parse_quorum(text)

    assert type(refused.value) is ValueError
