"""Closed vocabularies of the platform, stored by value and shown by label."""

from __future__ import annotations

from enum import StrEnum

from flask_babel import lazy_gettext as _l


class LabelledEnum(StrEnum):
    """A string enum whose members carry a translatable label and a one-line description."""

    @property
    def label(self) -> str:
        return str(self._labels()[self][0])

    @property
    def description(self) -> str:
        return str(self._labels()[self][1])

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
