"""The consensus rule of ARCHITECTURE.md section 4, as a pure function: no database, no Flask.

``outcome(positions, delegations, rule)`` says what a round's positions amount to at a moment:

- any standing objection: BLOCKED (an objection withdrawn, by changing the position, no longer counts);
- every delegation has answered, none objects and at least one endorses: ENDORSED, in either kind of
  round and before the deadline (nobody is left to wait for);
- standard round, at the deadline: ENDORSED when the delegations that answered reach the quorum and
  at least one of them endorses; otherwise NOT_REACHED;
- silence procedure, at the deadline: ENDORSED (silence is consent);
- otherwise PENDING.

A reservation counts as an endorsement; standing aside counts as an answer that neither endorses
nor blocks. Positions of delegations outside ``delegations`` (the delegations asked when the round
opened) are ignored. With no delegation at all, nothing is ever endorsed.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Mapping
from dataclasses import dataclass
from fractions import Fraction

from ..enums import ConsensusOutcome, Position, RoundKind

DEFAULT_QUORUM = Fraction(2, 3)
ENDORSING = frozenset({Position.ENDORSE, Position.ENDORSE_WITH_RESERVATION})


@dataclass(frozen=True)
class Rule:
    """How a round decides: its kind, its quorum (a fraction of the delegations asked) and whether
    its deadline has passed at the moment of judging."""

    kind: RoundKind
    deadline_passed: bool = False
    quorum: Fraction = DEFAULT_QUORUM


def parse_quorum(text: str) -> Fraction:
    """``"2/3"`` or ``"0.75"`` as a fraction in (0, 1]; raises ValueError for anything else."""
    try:
        value = Fraction(str(text).strip())
    except ZeroDivisionError as error:
        raise ValueError(f"a quorum is a fraction above 0 and at most 1, not {text!r}") from error
    if not 0 < value <= 1:
        raise ValueError(f"a quorum is a fraction above 0 and at most 1, not {text!r}")
    return value


def outcome(positions: Mapping[Hashable, Position], delegations: Collection[Hashable], rule: Rule) -> ConsensusOutcome:
    """What the positions (delegation -> position) of the ``delegations`` asked amount to under ``rule``."""
    asked = set(delegations)
    answered = {delegation: Position(position) for delegation, position in positions.items() if delegation in asked}
    if not asked:
        return ConsensusOutcome.NOT_REACHED if rule.deadline_passed else ConsensusOutcome.PENDING
    if Position.OBJECT in answered.values():
        return ConsensusOutcome.BLOCKED
    someone_endorses = any(position in ENDORSING for position in answered.values())
    if len(answered) == len(asked) and someone_endorses:
        return ConsensusOutcome.ENDORSED
    if not rule.deadline_passed:
        return ConsensusOutcome.PENDING
    if rule.kind == RoundKind.SILENCE:
        return ConsensusOutcome.ENDORSED
    if someone_endorses and Fraction(len(answered), len(asked)) >= rule.quorum:
        return ConsensusOutcome.ENDORSED
    return ConsensusOutcome.NOT_REACHED
