"""Expert profile services: plain functions that flush and never commit.

An expert is listed in the directory while their account is active and they have an active
membership in an approved think tank; anonymous visitors see only public profiles. Every member of a
think tank has a profile: this module listens to ``thinktanks.services.member_joined`` and creates it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask_babel import gettext as _
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import contains_eager, selectinload

from .. import permissions
from ..accounts.models import User
from ..database import LIKE_ESCAPE, contains_pattern
from ..enums import Dimension, ProfileVisibility, StateKind, ThinkTankStatus
from ..errors import NotAllowed, ValidationFailed
from ..extensions import db
from ..reference.models import MemberState
from ..sanitize import render_markdown
from ..thinktanks import services as thinktanks
from ..thinktanks.models import Membership, ThinkTank
from .languages import is_language_code
from .models import (
    AFFILIATIONS_MAX_LENGTH,
    BIOGRAPHY_MAX_LENGTH,
    KEYWORD_MAX_LENGTH,
    LINK_TITLE_MAX_LENGTH,
    LINK_URL_MAX_LENGTH,
    TITLE_MAX_LENGTH,
    ExpertProfile,
    ProfileDimension,
    ProfileKeyword,
    ProfileLanguage,
    PublicationLink,
)
from .orcid import bare_form, has_valid_check_character

KEYWORDS_MAX_COUNT = 20
LINKS_MAX_COUNT = 20
SEARCH_TEXT_MAX_LENGTH = 100
LINK_SCHEMES = frozenset({"http", "https"})
#: Where an expert may say they come from: states, not observer organisations.
COUNTRY_KINDS = (StateKind.MEMBER_STATE, StateKind.OBSERVER_STATE)


@dataclass(frozen=True)
class LinkInput:
    """A publication link as typed: a title and an address."""

    title: str
    url: str


@dataclass(frozen=True)
class DirectoryFilters:
    """The directory's filters; None (or empty text) means "any"."""

    dimension: Dimension | None = None
    member_state_id: int | None = None
    language: str | None = None
    keyword: str = ""
    text: str = ""


# --- reading ---------------------------------------------------------------------------------


def find_profile(user_id: int) -> ExpertProfile | None:
    """The profile of the user with this id, or None (callers check visibility with permissions)."""
    return db.session.scalar(select(ExpertProfile).where(ExpertProfile.user_id == user_id))


def ensure_profile(user) -> ExpertProfile:
    """The user's profile, created empty (visible to signed-in users only) when missing."""
    profile = find_profile(user.id)
    if profile is None:
        profile = ExpertProfile(user_id=user.id)
        db.session.add(profile)
        db.session.flush()
    return profile


def _give_member_a_profile(think_tank: ThinkTank, *, user) -> None:
    """``thinktanks.services.member_joined``: every member of a think tank has an expert profile."""
    ensure_profile(user)


# Connected when this module is imported (the app factory imports it with the experts blueprint); blinker
# keeps one receiver however often it is connected.
thinktanks.member_joined.connect(_give_member_a_profile)


def member_profiles(think_tank: ThinkTank, viewer) -> list[ExpertProfile]:
    """The profiles of the think tank's active members that ``viewer`` may see, by name (its public page)."""
    rows = db.session.execute(
        select(Membership, ExpertProfile)
        .join(ExpertProfile, ExpertProfile.user_id == Membership.user_id)
        .where(Membership.think_tank_id == think_tank.id, Membership.is_active.is_(True))
    ).all()
    return sorted(
        (profile for _membership, profile in rows if permissions.can_view_profile(viewer, profile)),
        key=lambda profile: (profile.user.display_name.lower(), profile.user_id),
    )


def memberships_of(user) -> list[Membership]:
    """Every think-tank membership of ``user`` (active or not), for ``permissions.can_have_profile``."""
    if not permissions.is_signed_in(user):
        return []
    return list(db.session.scalars(select(Membership).where(Membership.user_id == user.id).order_by(Membership.id)))


def country_options() -> list[MemberState]:
    """The states an expert may give as their country (member and observer states), by name."""
    return list(
        db.session.scalars(
            select(MemberState).where(MemberState.kind.in_(COUNTRY_KINDS)).order_by(MemberState.name)
        )
    )


def think_tanks_of(user_ids: Iterable[int]) -> dict[int, list[ThinkTank]]:
    """For each user id, the approved think tanks where that user's membership is active, by name.

    One query whatever the number of users, so listings do not grow a query per row.
    """
    wanted = set(user_ids)
    found: dict[int, list[ThinkTank]] = {user_id: [] for user_id in wanted}
    if not wanted:
        return found
    rows = db.session.execute(
        select(Membership.user_id, ThinkTank)
        .join(ThinkTank, Membership.think_tank_id == ThinkTank.id)
        .where(
            Membership.user_id.in_(wanted),
            Membership.is_active.is_(True),
            ThinkTank.status == ThinkTankStatus.APPROVED,
        )
        .order_by(func.lower(ThinkTank.name), ThinkTank.id)
    )
    for user_id, think_tank in rows:
        found[user_id].append(think_tank)
    return found


# --- the directory ---------------------------------------------------------------------------


def normalize_keyword(text: str) -> str:
    """The stored form of a keyword: trimmed, inner spaces collapsed, lower case."""
    return " ".join((text or "").split()).lower()


def _active_membership_in_approved_think_tank(*conditions):
    """EXISTS an active membership of the profile's user in an approved think tank (meeting ``conditions``)."""
    return (
        select(Membership.id)
        .join(ThinkTank, Membership.think_tank_id == ThinkTank.id)
        .where(
            Membership.user_id == ExpertProfile.user_id,
            Membership.is_active.is_(True),
            ThinkTank.status == ThinkTankStatus.APPROVED,
            *conditions,
        )
        .exists()
    )


def directory_statement(*, viewer, filters: DirectoryFilters) -> Select:
    """The profiles ``viewer`` may find in the directory that match ``filters``, by name.

    Listed: active accounts with an active membership in an approved think tank whose profile is
    public, or of any visibility when the viewer is signed in (the rule of
    ``permissions.can_view_profile``). The text search looks for ``filters.text`` (cut to 100
    characters) in display names, keywords and biographies, ignoring case, wildcards taken literally.
    """
    statement = (
        select(ExpertProfile)
        .join(ExpertProfile.user)
        .options(contains_eager(ExpertProfile.user), selectinload(ExpertProfile.country))
        .where(User.is_active.is_(True), _active_membership_in_approved_think_tank())
        .order_by(func.lower(User.display_name), User.id)
    )
    if not permissions.is_signed_in(viewer):
        statement = statement.where(ExpertProfile.visibility == ProfileVisibility.PUBLIC)
    if filters.dimension is not None:
        statement = statement.where(ExpertProfile.dimensions.any(ProfileDimension.dimension == filters.dimension))
    if filters.member_state_id is not None:
        statement = statement.where(
            _active_membership_in_approved_think_tank(ThinkTank.member_state_id == filters.member_state_id)
        )
    if filters.language:
        statement = statement.where(ExpertProfile.languages.any(ProfileLanguage.language == filters.language))
    keyword = normalize_keyword(filters.keyword)
    if keyword:
        statement = statement.where(ExpertProfile.keywords.any(ProfileKeyword.keyword == keyword))
    text = " ".join(filters.text.split())[:SEARCH_TEXT_MAX_LENGTH]
    if text:
        pattern = contains_pattern(text.lower())
        statement = statement.where(
            or_(
                User.display_name.ilike(pattern, escape=LIKE_ESCAPE),
                ExpertProfile.biography.ilike(pattern, escape=LIKE_ESCAPE),
                ExpertProfile.keywords.any(ProfileKeyword.keyword.ilike(pattern, escape=LIKE_ESCAPE)),
            )
        )
    return statement


# --- editing ---------------------------------------------------------------------------------


def _checked_text(value: str | None, *, field: str, maximum: int, single_line: bool = True) -> str:
    text = (value or "").replace("\r\n", "\n").replace("\r", "\n")
    # A multi-line text keeps its inner layout (Markdown indentation means something).
    text = " ".join(text.split()) if single_line else text.lstrip("\n").rstrip()
    if len(text) > maximum:
        raise ValidationFailed(
            field,
            _("Use at most %(maximum)d characters (this has %(count)d).", maximum=maximum, count=len(text)),
        )
    return text


def _checked_dimensions(values: Iterable[str]) -> list[Dimension]:
    chosen: list[Dimension] = []
    for value in values:
        try:
            dimension = Dimension(value)
        except ValueError as error:
            raise ValidationFailed("dimensions", _("Choose dimensions from the list.")) from error
        if dimension not in chosen:
            chosen.append(dimension)
    return chosen


def _checked_keywords(values: Iterable[str]) -> list[str]:
    keywords: list[str] = []
    for value in values:
        keyword = normalize_keyword(value)
        if not keyword or keyword in keywords:
            continue
        if len(keyword) > KEYWORD_MAX_LENGTH:
            raise ValidationFailed(
                "keywords",
                _("The keyword “%(keyword)s” is longer than %(maximum)d characters.",
                  keyword=keyword, maximum=KEYWORD_MAX_LENGTH),
            )
        keywords.append(keyword)
    if len(keywords) > KEYWORDS_MAX_COUNT:
        raise ValidationFailed(
            "keywords",
            _("Give at most %(maximum)d keywords (you gave %(count)d).", maximum=KEYWORDS_MAX_COUNT,
              count=len(keywords)),
        )
    return keywords


def _checked_languages(codes: Iterable[str]) -> list[str]:
    chosen: list[str] = []
    for raw in codes:
        code = (raw or "").strip().lower()
        if not is_language_code(code):
            raise ValidationFailed(
                "languages", _("“%(code)s” is not a two-letter ISO 639-1 language code.", code=raw)
            )
        if code not in chosen:
            chosen.append(code)
    return chosen


def _checked_country(country_id: int | None) -> MemberState | None:
    if country_id is None:
        return None
    country = db.session.get(MemberState, country_id)
    if country is None or country.kind not in COUNTRY_KINDS:
        raise ValidationFailed("country", _("Choose a member state or an observer state from the list."))
    return country


def checked_orcid(text: str | None) -> str | None:
    """The bare 19-character ORCID iD from a bare iD or an orcid.org address; None when left empty.

    Raises ValidationFailed("orcid") for a wrong shape or a wrong check character.
    """
    if not (text or "").strip():
        return None
    bare = bare_form(text)
    if bare is None:
        raise ValidationFailed(
            "orcid", _("Enter an ORCID iD as 0000-0002-1825-0097 or https://orcid.org/0000-0002-1825-0097.")
        )
    if not has_valid_check_character(bare):
        raise ValidationFailed(
            "orcid", _("This ORCID iD is not valid: its last character does not match. Check it for a typing mistake.")
        )
    return bare


def _checked_links(links: Sequence[LinkInput]) -> list[LinkInput]:
    if len(links) > LINKS_MAX_COUNT:
        raise ValidationFailed(
            "publication_links",
            _("Give at most %(maximum)d links (you gave %(count)d).", maximum=LINKS_MAX_COUNT, count=len(links)),
        )
    checked = []
    for number, link in enumerate(links, start=1):
        title = " ".join((link.title or "").split())
        url = (link.url or "").strip()
        if not title:
            raise ValidationFailed(
                "publication_links", _("Link %(number)d has no title: write it before the “|”.", number=number)
            )
        if len(title) > LINK_TITLE_MAX_LENGTH:
            raise ValidationFailed(
                "publication_links",
                _("The title of link %(number)d is longer than %(maximum)d characters.",
                  number=number, maximum=LINK_TITLE_MAX_LENGTH),
            )
        if len(url) > LINK_URL_MAX_LENGTH:
            raise ValidationFailed(
                "publication_links",
                _("The address of “%(title)s” is longer than %(maximum)d characters.",
                  title=title, maximum=LINK_URL_MAX_LENGTH),
            )
        if not _is_web_address(url):
            raise ValidationFailed(
                "publication_links",
                _("The address of “%(title)s” must be a web address starting with http:// or https://.",
                  title=title),
            )
        checked.append(LinkInput(title=title, url=url))
    return checked


def _is_web_address(url: str) -> bool:
    if any(character.isspace() or ord(character) < 32 or ord(character) == 127 for character in url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in LINK_SCHEMES and bool(parts.hostname)


def _replace_values(collection: list, wanted: Sequence, value_of, make) -> None:
    """Make ``collection`` hold exactly ``wanted``: keep rows whose value stays, add the new ones.

    Rows are kept rather than replaced so a re-added value never meets its old row in a unique
    constraint (the unit of work inserts before it deletes).
    """
    for row in [row for row in collection if value_of(row) not in wanted]:
        collection.remove(row)
    present = {value_of(row) for row in collection}
    collection.extend(make(value) for value in wanted if value not in present)


def update_profile(
    *,
    actor,
    profile: ExpertProfile,
    title: str,
    affiliations: str,
    biography: str,
    dimensions: Iterable[str],
    keywords: Iterable[str],
    languages: Iterable[str],
    country_id: int | None,
    orcid: str | None,
    publication_links: Sequence[LinkInput],
    visibility: str,
) -> None:
    """Replace every field of ``profile``; the biography's HTML is rendered here, once.

    Raises NotAllowed unless the actor may edit the profile, and ValidationFailed (naming the field)
    for text over its length, an unknown dimension, language, country or visibility, more than 20
    keywords or links, a keyword over 60 characters, an ORCID iD with a wrong shape or check
    character, or a link that is not an http(s) address. Nothing is changed when it raises.
    """
    if not permissions.can_edit_profile(actor, profile):
        raise NotAllowed(_("Only the expert can edit their profile."))
    checked_title = _checked_text(title, field="title", maximum=TITLE_MAX_LENGTH)
    checked_affiliations = _checked_text(affiliations, field="affiliations", maximum=AFFILIATIONS_MAX_LENGTH,
                                         single_line=False)
    checked_biography = _checked_text(biography, field="biography", maximum=BIOGRAPHY_MAX_LENGTH,
                                      single_line=False)
    checked_dimensions = _checked_dimensions(dimensions)
    checked_keywords = _checked_keywords(keywords)
    checked_languages = _checked_languages(languages)
    country = _checked_country(country_id)
    checked_orcid_id = checked_orcid(orcid)
    checked_links = _checked_links(publication_links)
    try:
        checked_visibility = ProfileVisibility(visibility)
    except ValueError as error:
        raise ValidationFailed("visibility", _("Choose who may see your profile.")) from error

    profile.title = checked_title
    profile.affiliations = checked_affiliations
    profile.biography = checked_biography
    profile.biography_html = render_markdown(checked_biography)
    profile.country = country
    profile.orcid = checked_orcid_id
    profile.visibility = checked_visibility
    _replace_values(profile.dimensions, checked_dimensions, lambda row: row.dimension,
                    lambda value: ProfileDimension(dimension=value))
    _replace_values(profile.keywords, checked_keywords, lambda row: row.keyword,
                    lambda value: ProfileKeyword(keyword=value))
    _replace_values(profile.languages, checked_languages, lambda row: row.language,
                    lambda value: ProfileLanguage(language=value))
    profile.publication_links = [
        PublicationLink(title=link.title, url=link.url, position=position)
        for position, link in enumerate(checked_links)
    ]
    db.session.flush()
    # Collections keep the order they were loaded in; show the new values in their stored order.
    db.session.expire(profile, ["dimensions", "keywords", "languages", "publication_links"])
