"""One proposal from submission to endorsement through the services (the lead's smoke test)."""

from expert_platform.enums import ConsensusOutcome, Position, ProposalState, RoundKind, RoundResult
from expert_platform.extensions import db
from expert_platform.mail import read_outbox
from expert_platform.notifications.models import Notification
from expert_platform.review import rounds
from tests.review.conftest import later


def test_the_last_position_endorses_and_the_record_is_frozen(app, make_proposal, make_council, bring_to):
    council = make_council(("CN", "IN", "RU"))
    proposal = bring_to(make_proposal(), ProposalState.CONSENSUS, kind=RoundKind.STANDARD)
    first = rounds.record_position(actor=council["CN"], proposal=proposal, position=Position.ENDORSE)
    db.session.commit()
    assert first.outcome == ConsensusOutcome.PENDING
    rounds.record_position(actor=council["IN"], proposal=proposal, position=Position.STAND_ASIDE)
    db.session.commit()
    last = rounds.record_position(actor=council["RU"], proposal=proposal,
                                  position=Position.ENDORSE_WITH_RESERVATION, reason="Funding to be agreed.")
    db.session.commit()
    assert last.endorsed is True
    assert proposal.state == ProposalState.ENDORSED
    round_ = rounds.latest_round_of(proposal)
    assert round_.result == RoundResult.ENDORSED
    assert round_.decision["endorsed"] == ["China"]
    assert round_.decision["reservations"] == [{"delegation": "Russian Federation", "reason": "Funding to be agreed."}]
    assert round_.decision["stood_aside"] == ["India"]
    kinds = sorted(n.kind.value for n in db.session.scalars(db.select(Notification)))
    assert kinds.count("decision") == 1
    assert kinds.count("round_opened") == 3
    assert any("endorsed by the council" in m["Subject"] for m in read_outbox(app))
    assert rounds.settle(proposal=proposal, now=later(1000)) is None
