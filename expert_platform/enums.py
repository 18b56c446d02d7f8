"""Closed vocabularies of the platform, stored by value and shown by label."""

from __future__ import annotations

from enum import StrEnum

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext

#: Each enum's labels and descriptions, made once: they are lazy strings, translated each time one is shown
#: (making them again for every label read was a tenth of an archive page's time).
_LABELS: dict[type, dict] = {}


class LabelledEnum(StrEnum):
    """A string enum whose members carry a translatable label and a one-line description."""

    @property
    def label(self) -> str:
        return str(self.lazy_label)

    @property
    def lazy_label(self):
        """The label translated when it is shown, not when it is read: for choices built at import time."""
        return self._kept_labels()[self][0]

    @property
    def description(self) -> str:
        return str(self._kept_labels()[self][1])

    @classmethod
    def _kept_labels(cls) -> dict:
        found = _LABELS.get(cls)
        if found is None:
            found = _LABELS[cls] = cls._labels()
        return found

    @classmethod
    def _labels(cls) -> dict:
        raise NotImplementedError


class Role(LabelledEnum):
    """What a user may do; a user may hold several roles."""

    ADMIN = "admin"
    THINKTANK_MANAGER = "thinktank_manager"
    EXPERT = "expert"
    COUNCIL_MEMBER = "council_member"
    RESEARCHER = "researcher"

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.ADMIN: (_l("Secretariat"), _l("Approves think tanks, appoints the council and runs review rounds.")),
            cls.THINKTANK_MANAGER: (_l("Think-tank manager"), _l("Registers an institution and manages its experts.")),
            cls.EXPERT: (_l("Expert"), _l("Drafts policy proposals with co-authors and submits them to the council.")),
            cls.COUNCIL_MEMBER: (
                _l("Council member"),
                _l("Reviews proposals and states the position of a member-state delegation."),
            ),
            cls.RESEARCHER: (_l("Researcher"), _l("Searches, exports and cites the archive of endorsed proposals.")),
        }


class Dimension(LabelledEnum):
    """The five dimensions of the CICA catalogue of confidence-building measures."""

    ECONOMIC = "economic"
    ENVIRONMENTAL = "environmental"
    HUMAN = "human"
    MILITARY_POLITICAL = "military_political"
    NEW_CHALLENGES = "new_challenges"

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.ECONOMIC: (_l("Economic dimension"), _l("Trade, transport, energy and financial co-operation.")),
            cls.ENVIRONMENTAL: (_l("Environmental dimension"), _l("Water, climate, disasters and shared ecosystems.")),
            cls.HUMAN: (_l("Human dimension"), _l("Culture, education, health, tourism and people-to-people contact.")),
            cls.MILITARY_POLITICAL: (
                _l("Military-political dimension"),
                _l("Transparency, communication and restraint between armed forces."),
            ),
            cls.NEW_CHALLENGES: (
                _l("Fight against new challenges and threats"),
                _l("Terrorism, drugs, cyber security and transnational crime."),
            ),
        }


class AccountTokenPurpose(StrEnum):
    """What a single-use emailed token proves."""

    CONFIRM_EMAIL = "confirm_email"
    RESET_PASSWORD = "reset_password"


class StateKind(LabelledEnum):
    """What a reference entry is: a member state, an observer state or an observer organisation."""

    MEMBER_STATE = "member_state"
    OBSERVER_STATE = "observer_state"
    OBSERVER_ORGANISATION = "observer_organisation"

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.MEMBER_STATE: (_l("Member state"), _l("A member of the organisation.")),
            cls.OBSERVER_STATE: (_l("Observer state"), _l("A state with observer status.")),
            cls.OBSERVER_ORGANISATION: (
                _l("Observer organisation"),
                _l("An international organisation with observer status."),
            ),
        }


class ThinkTankStatus(LabelledEnum):
    """Where a think tank's application stands."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    ARCHIVED = "archived"

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.PENDING: (_l("Awaiting decision"), _l("The secretariat has not decided yet.")),
            cls.APPROVED: (_l("Approved"), _l("The institution takes part in the platform.")),
            cls.REJECTED: (_l("Rejected"), _l("The secretariat declined the application.")),
            cls.ARCHIVED: (
                _l("Archived"), _l("An institution of the earlier forum, known from the archive of its outcomes.")
            ),
        }


class Participation(LabelledEnum):
    """How a think tank takes part: the lead of its member state (one at most), permanently, or for a period."""

    LEAD = "lead"
    PERMANENT = "permanent"
    TEMPORARY = "temporary"

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.LEAD: (_l("Lead think tank"), _l("The institution its member state appointed to lead; one per state.")),
            cls.PERMANENT: (_l("Permanent"), _l("Takes part without an end date.")),
            cls.TEMPORARY: (_l("Temporary"), _l("Takes part until an end date, then becomes read-only.")),
        }


class MembershipRole(LabelledEnum):
    """A person's role inside one think tank."""

    MANAGER = "manager"
    EXPERT = "expert"

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.MANAGER: (_l("Manager"), _l("Invites and manages the institution's experts.")),
            cls.EXPERT: (_l("Expert"), _l("Writes proposals on behalf of the institution.")),
        }


class ProfileVisibility(LabelledEnum):
    """Who may see an expert's profile."""

    PUBLIC = "public"
    SIGNED_IN = "signed_in"

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.PUBLIC: (_l("Everyone"), _l("Listed in the public directory and on your think tank's page.")),
            cls.SIGNED_IN: (_l("Signed-in users only"), _l("Hidden from anonymous visitors and search engines.")),
        }


class DelegationRole(LabelledEnum):
    """A council member's seat in their member state's delegation."""

    HEAD = "head"
    ALTERNATE = "alternate"

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.HEAD: (_l("Head of delegation"), _l("Speaks for the member state; one per delegation.")),
            cls.ALTERNATE: (_l("Alternate"), _l("May act for the delegation.")),
        }


class ProposalState(LabelledEnum):
    """Where a proposal stands in the workflow (ARCHITECTURE.md section 3)."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    IN_REVIEW = "in_review"
    CHANGES_REQUESTED = "changes_requested"
    CONSENSUS = "consensus"
    ENDORSED = "endorsed"
    NOT_ENDORSED = "not_endorsed"
    WITHDRAWN = "withdrawn"

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.DRAFT: (_l("Draft"), _l("Being written; only its co-authors see it.")),
            cls.SUBMITTED: (_l("Submitted"), _l("Sent to the council; waiting for review.")),
            cls.IN_REVIEW: (_l("In review"), _l("Rapporteurs of the council are assessing it.")),
            cls.CHANGES_REQUESTED: (_l("Changes requested"), _l("Returned to its authors for revision.")),
            cls.CONSENSUS: (_l("Consensus round"), _l("The delegations are stating their positions.")),
            cls.ENDORSED: (_l("Endorsed"), _l("Endorsed by consensus and published.")),
            cls.NOT_ENDORSED: (_l("Not endorsed"), _l("The round closed without consensus.")),
            cls.WITHDRAWN: (_l("Withdrawn"), _l("Its authors withdrew it.")),
        }


class ProposalAction(LabelledEnum):
    """What can happen to a proposal; each is a row group of the TRANSITIONS table."""

    SUBMIT = "submit"
    START_REVIEW = "start_review"
    RETURN_FOR_REVISION = "return_for_revision"
    RESUBMIT = "resubmit"
    OPEN_CONSENSUS = "open_consensus"
    ENDORSE = "endorse"
    CLOSE_WITHOUT_CONSENSUS = "close_without_consensus"
    WITHDRAW = "withdraw"

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.SUBMIT: (_l("Submit to the council"), _l("Freezes revision 1 and gives the proposal its reference.")),
            cls.START_REVIEW: (_l("Start the review"), _l("The council begins to assess the proposal.")),
            cls.RETURN_FOR_REVISION: (_l("Return for revision"), _l("Send the proposal back to its authors.")),
            cls.RESUBMIT: (_l("Resubmit"), _l("Freezes a new revision and sends it back to the council.")),
            cls.OPEN_CONSENSUS: (_l("Open the consensus round"), _l("The delegations state their positions.")),
            cls.ENDORSE: (_l("Endorse"), _l("The consensus rule is met.")),
            cls.CLOSE_WITHOUT_CONSENSUS: (_l("Close without consensus"), _l("An objection stood at the deadline.")),
            cls.WITHDRAW: (_l("Withdraw"), _l("The authors take the proposal back for good.")),
        }


class AuthorStatus(LabelledEnum):
    """A co-author's answer to the invitation to write a proposal."""

    INVITED = "invited"
    ACCEPTED = "accepted"
    DECLINED = "declined"

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.INVITED: (_l("Invited"), _l("Has not answered yet.")),
            cls.ACCEPTED: (_l("Co-author"), _l("Writes the proposal with equal edit rights.")),
            cls.DECLINED: (_l("Declined"), _l("Declined the invitation.")),
        }


class Recommendation(LabelledEnum):
    """What a rapporteur recommends to the council."""

    ENDORSE = "endorse"
    REVISE = "revise"
    DO_NOT_ENDORSE = "do_not_endorse"

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.ENDORSE: (_l("Endorse"), _l("The council should endorse the proposal as it stands.")),
            cls.REVISE: (_l("Revise"), _l("The authors should revise the proposal first.")),
            cls.DO_NOT_ENDORSE: (_l("Do not endorse"), _l("The council should not endorse the proposal.")),
        }


class CommentVisibility(LabelledEnum):
    """Who reads a comment in the council's discussion of a proposal."""

    COUNCIL = "council"
    AUTHORS = "authors"

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.COUNCIL: (_l("Council only"), _l("Council members and the secretariat read it; the authors do not.")),
            cls.AUTHORS: (_l("Shared with the authors"), _l("The authors read it and can answer.")),
        }


class RoundKind(LabelledEnum):
    """How a consensus round decides (ARCHITECTURE.md section 4)."""

    STANDARD = "standard"
    SILENCE = "silence"

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.STANDARD: (
                _l("Standard round"),
                _l("Endorsed when every delegation has answered without objection, or at the deadline when the "
                   "delegations that answered reach the quorum and none objects."),
            ),
            cls.SILENCE: (
                _l("Silence procedure"),
                _l("Endorsed at the deadline unless a delegation objects: silence is consent."),
            ),
        }


class Position(LabelledEnum):
    """A delegation's position in a consensus round."""

    ENDORSE = "endorse"
    ENDORSE_WITH_RESERVATION = "endorse_with_reservation"
    STAND_ASIDE = "stand_aside"
    OBJECT = "object"

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.ENDORSE: (_l("Endorse"), _l("The delegation joins the consensus.")),
            cls.ENDORSE_WITH_RESERVATION: (
                _l("Endorse with a reservation"),
                _l("The delegation joins the consensus; its reservation is annexed to the decision."),
            ),
            cls.STAND_ASIDE: (_l("Stand aside"), _l("The delegation does not join but does not block.")),
            cls.OBJECT: (_l("Object"), _l("The delegation blocks the consensus while its objection stands.")),
        }

    @property
    def needs_reason(self) -> bool:
        return self in (Position.ENDORSE_WITH_RESERVATION, Position.OBJECT)


class ConsensusOutcome(LabelledEnum):
    """What the consensus rule says about a round at a moment (``review.consensus.outcome``)."""

    PENDING = "pending"
    ENDORSED = "endorsed"
    BLOCKED = "blocked"
    NOT_REACHED = "not_reached"

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.PENDING: (
                lazy_pgettext("consensus outcome", "Open"), _l("The rule is not met yet; delegations may still answer.")
            ),
            cls.ENDORSED: (_l("Consensus reached"), _l("The rule is met: the proposal is endorsed.")),
            cls.BLOCKED: (_l("Blocked"), _l("A delegation objects.")),
            cls.NOT_REACHED: (_l("No consensus"), _l("The deadline passed without the quorum.")),
        }


class RoundResult(LabelledEnum):
    """How a consensus round ended."""

    ENDORSED = "endorsed"
    NOT_ENDORSED = "not_endorsed"
    CANCELLED = "cancelled"

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.ENDORSED: (_l("Endorsed"), _l("The consensus rule was met.")),
            cls.NOT_ENDORSED: (_l("Not endorsed"), _l("The secretariat closed the round without consensus.")),
            cls.CANCELLED: (_l("Cancelled"), _l("The proposal was returned for revision during the round.")),
        }


class NotificationKind(LabelledEnum):
    """What a notification is about; each user can turn the email of each kind off."""

    PROPOSAL_SUBMITTED = "proposal_submitted"
    RAPPORTEUR_ASSIGNED = "rapporteur_assigned"
    COMMENT_SHARED = "comment_shared"
    RETURNED_FOR_REVISION = "returned_for_revision"
    ROUND_OPENED = "round_opened"
    DEADLINE_NEAR = "deadline_near"
    DECISION = "decision"

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.PROPOSAL_SUBMITTED: (
                _l("Proposal submitted"), _l("A proposal was submitted or resubmitted to the council.")
            ),
            cls.RAPPORTEUR_ASSIGNED: (_l("Rapporteur assigned"), _l("You were made rapporteur of a proposal.")),
            cls.COMMENT_SHARED: (
                _l("Comment from the council"), _l("The council shared a comment or a review with you.")
            ),
            cls.RETURNED_FOR_REVISION: (
                _l("Returned for revision"), _l("Your proposal was returned to you for revision.")
            ),
            cls.ROUND_OPENED: (_l("Consensus round opened"), _l("Your delegation is asked for its position.")),
            cls.DEADLINE_NEAR: (
                _l("Deadline in 48 hours"), _l("Your delegation has not answered a round closing soon.")
            ),
            cls.DECISION: (_l("Decision"), _l("Your proposal was endorsed, or the round closed without consensus.")),
        }


class TextStatus(LabelledEnum):
    """What a text of a proposal is: the authors' original, or a translation of it into another working
    language, which the authors may mark as checked (read against the original by a second person)."""

    ORIGINAL = "original"
    TRANSLATION = "translation"
    CHECKED_TRANSLATION = "checked_translation"

    @classmethod
    def _labels(cls) -> dict:
        return {
            cls.ORIGINAL: (_l("Original"), _l("The text as its authors wrote it.")),
            cls.TRANSLATION: (_l("Translation"), _l("A translation of the original, not yet checked against it.")),
            cls.CHECKED_TRANSLATION: (
                _l("Checked translation"),
                _l("A translation that a second person has read against the original."),
            ),
        }
