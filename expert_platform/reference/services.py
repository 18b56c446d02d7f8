"""Reference data services: loading the shipped membership list, and the secretariat's edits."""

from __future__ import annotations

import json
from contextlib import contextmanager
from importlib import resources

from flask import g, has_request_context
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from .. import permissions
from ..audit import services as audit
from ..enums import StateKind
from ..errors import NotAllowed, ValidationFailed
from ..extensions import db
from ..i18n import current_language
from .models import STATE_NAME_MAX_LENGTH, MemberState


def shipped_membership() -> dict:
    """The default membership list shipped in ``expert_platform/data/cica-membership.json``."""
    text = resources.files("expert_platform").joinpath("data/cica-membership.json").read_text("utf-8")
    return json.loads(text)


def load_reference_data() -> int:
    """Add every shipped state or organisation that is missing (matched by code, else by name).

    Idempotent: entries already present, including ones the secretariat renamed, are left alone.
    Returns how many were added.
    """
    data = shipped_membership()
    russian = data.get("names_ru", {})
    entries = [(code, name, StateKind.MEMBER_STATE) for code, name in data["member_states"]]
    entries += [(code, name, StateKind.OBSERVER_STATE) for code, name in data["observer_states"]]
    entries += [(None, name, StateKind.OBSERVER_ORGANISATION) for name in data["observer_organisations"]]
    existing = db.session.scalars(select(MemberState)).all()
    by_code = {state.code: state for state in existing if state.code}
    by_name = {state.name.lower(): state for state in existing}
    added = 0
    for code, name, kind in entries:
        present = by_code.get(code) if code else by_name.get(name.lower())
        if present is not None:
            # A Russian name is only ever added, never replaced: the secretariat's edits stand.
            if present.name_ru is None and russian.get(code or name):
                present.name_ru = russian[code or name]
            continue
        db.session.add(MemberState(code=code, name=name, name_ru=russian.get(code or name), kind=kind))
        added += 1
    db.session.flush()
    return added


def by_display_name(states) -> list[MemberState]:
    """States in the order of the names the reader sees (Russian pages sort by the Russian names)."""
    return sorted(states, key=lambda state: state.display_name)


def localized_state_name(name: str) -> str:
    """A state's name kept by value (a frozen revision, a round's delegations) in the reader's language:
    the Russian name of the entry that has this English name, on Russian pages. One query per request."""
    if current_language() != "ru" or not name:
        return name
    if not has_request_context():
        return _russian_names().get(name, name)
    if "_russian_state_names" not in g:
        g._russian_state_names = _russian_names()
    return g._russian_state_names.get(name, name)


def _russian_names() -> dict[str, str]:
    rows = db.session.execute(select(MemberState.name, MemberState.name_ru).where(MemberState.name_ru.is_not(None)))
    return {name: russian for name, russian in rows}


def member_states() -> list[MemberState]:
    """The member states proper (not observers), by name: those that appoint think tanks and delegations."""
    return list(
        db.session.scalars(
            select(MemberState).where(MemberState.kind == StateKind.MEMBER_STATE).order_by(MemberState.name)
        )
    )


def all_states() -> list[MemberState]:
    return list(db.session.scalars(select(MemberState).order_by(MemberState.kind, MemberState.name)))


def _clean(code: str | None, name: str, *, ignore_id: int | None = None) -> tuple[str | None, str]:
    cleaned_name = " ".join((name or "").split())
    if not cleaned_name:
        raise ValidationFailed("name", _("Enter the name."))
    if len(cleaned_name) > STATE_NAME_MAX_LENGTH:
        raise ValidationFailed("name", _("Use at most %(count)d characters.", count=STATE_NAME_MAX_LENGTH))
    cleaned_code = (code or "").strip().upper() or None
    is_two_letters = bool(cleaned_code) and len(cleaned_code) == 2 and cleaned_code.isascii() and cleaned_code.isalpha()
    if cleaned_code is not None and not is_two_letters:
        raise ValidationFailed("code", _("An ISO 3166-1 alpha-2 code is two letters, such as KZ."))
    others = select(MemberState.id).where(MemberState.id != ignore_id) if ignore_id else select(MemberState.id)
    if db.session.scalar(others.where(func.lower(MemberState.name) == cleaned_name.lower())) is not None:
        raise ValidationFailed("name", _("An entry with this name exists already."))
    if cleaned_code and db.session.scalar(others.where(MemberState.code == cleaned_code)) is not None:
        raise ValidationFailed("code", _("Another entry has this code."))
    return cleaned_code, cleaned_name


@contextmanager
def _unique_or_refused():
    """Flush inside a savepoint; a name or code that another request took meanwhile is a form error."""
    try:
        with db.session.begin_nested():
            yield
    except IntegrityError as error:
        raise ValidationFailed("name", _("An entry with this name or code exists already.")) from error


def _clean_russian(name_ru: str | None) -> str | None:
    cleaned = " ".join((name_ru or "").split())
    if len(cleaned) > STATE_NAME_MAX_LENGTH:
        raise ValidationFailed("name_ru", _("Use at most %(count)d characters.", count=STATE_NAME_MAX_LENGTH))
    return cleaned or None


def add_state(*, actor, code: str | None, name: str, kind: StateKind, name_ru: str | None = None) -> MemberState:
    """Add a state or organisation (for example a state that joins later). Secretariat only."""
    if not permissions.can_edit_reference_data(actor):
        raise NotAllowed(_("Only the secretariat can edit the membership."))
    cleaned_code, cleaned_name = _clean(code, name)
    state = MemberState(code=cleaned_code, name=cleaned_name, name_ru=_clean_russian(name_ru), kind=kind)
    with _unique_or_refused():
        db.session.add(state)
        db.session.flush()
    audit.record(actor=actor, action="reference.state_added", object_id=state.id,
                 summary=f"{state.name} added as {kind.value}", details={"code": state.code, "kind": kind.value})
    return state


def update_state(*, actor, state: MemberState, code: str | None, name: str, kind: StateKind,
                 name_ru: str | None = None) -> None:
    """Rename, recode or reclassify an entry (an observer that becomes a member). Secretariat only."""
    if not permissions.can_edit_reference_data(actor):
        raise NotAllowed(_("Only the secretariat can edit the membership."))
    cleaned_code, cleaned_name = _clean(code, name, ignore_id=state.id)
    cleaned_russian = _clean_russian(name_ru)
    before = {"code": state.code, "name": state.name, "name_ru": state.name_ru, "kind": state.kind.value}
    with _unique_or_refused():
        state.code, state.name, state.name_ru, state.kind = cleaned_code, cleaned_name, cleaned_russian, kind
        db.session.flush()
    after = {"code": state.code, "name": state.name, "name_ru": state.name_ru, "kind": kind.value}
    audit.record(actor=actor, action="reference.state_updated", object_id=state.id, summary=f"{state.name} updated",
                 details={"before": before, "after": after})
