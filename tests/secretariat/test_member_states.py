"""The secretariat edits the membership: adds a state that joins later, renames, reclassifies."""

from __future__ import annotations

import pytest

from expert_platform.audit.models import AuditRecord
from expert_platform.enums import Role, StateKind
from expert_platform.errors import ValidationFailed
from expert_platform.reference import services as reference_services
from expert_platform.reference.models import MemberState
from tests.html_tree import parse_html
from tests.secretariat.conftest import COUNCIL_PAGE, field_error, flash_messages, post_form, table_rows

LIST_PAGE = "/secretariat/member-states"
NEW_PAGE = "/secretariat/member-states/new"


def edit_page(state) -> str:
    return f"/secretariat/member-states/{state.id}/edit"


def save(client, path: str, *, name: str, code: str = "", kind: str = "member_state"):
    return post_form(client, path, {"name": name, "code": code, "kind": kind}, token_page=path)


def entry(db, state_id: int) -> tuple:
    db.session.expire_all()
    state = db.session.get(MemberState, state_id)
    return state.code, state.name, state.kind


def entry_count(db) -> int:
    return db.session.scalar(db.select(db.func.count(MemberState.id)))


def audit_trail(db) -> list[tuple]:
    db.session.expire_all()
    records = db.session.scalars(db.select(AuditRecord).order_by(AuditRecord.id))
    return [(r.action, r.actor_id, r.object_type, r.object_id, r.details) for r in records]


def form_value(response, field_id: str) -> str:
    element = parse_html(response).find(id=field_id)
    if element.tag == "select":
        chosen = [option for option in element.find_all("option") if "selected" in option.attributes]
        return chosen[0].attributes["value"]
    return element.attributes.get("value", "")


def test_the_list_shows_every_entry_grouped_by_kind(admin_client, states):
    response = admin_client.get(LIST_PAGE)

    assert response.status_code == 200
    members = table_rows(response, "states-member_state")
    assert len(members) == 28
    assert members[0] == ("AF", "Afghanistan", "Афганистан", "Edit Afghanistan")
    assert [row[1] for row in table_rows(response, "states-observer_state")][:3] == [
        "Belarus", "Indonesia", "Japan"]
    assert len(table_rows(response, "states-observer_state")) == 10
    assert table_rows(response, "states-observer_organisation") == [
        ("—", "League of Arab States", "Лига арабских государств", "Edit League of Arab States"),
        ("—", "Organization for Security and Co-operation in Europe",
         "Организация по безопасности и сотрудничеству в Европе",
         "Edit Organization for Security and Co-operation in Europe"),
        ("—", "United Nations", "Организация Объединённых Наций", "Edit United Nations"),
    ]


def test_adding_a_state_that_joins_later_saves_audits_and_offers_it_to_the_council(admin_client, admin, states, db):
    response = save(admin_client, NEW_PAGE, name="  Oman ", code="om")

    assert response.status_code == 302
    assert response.headers["Location"] == LIST_PAGE
    oman = db.session.scalars(db.select(MemberState).where(MemberState.name == "Oman")).one()
    assert entry(db, oman.id) == ("OM", "Oman", StateKind.MEMBER_STATE)
    assert audit_trail(db) == [
        ("reference.state_added", admin.id, "member_state", oman.id, {"code": "OM", "kind": "member_state"}),
    ]
    listing = admin_client.get(LIST_PAGE)
    assert flash_messages(listing) == ["Oman is saved."]
    assert ("OM", "Oman", "", "Edit Oman") in table_rows(listing, "states-member_state")
    choices = parse_html(admin_client.get(COUNCIL_PAGE)).find("select", id="member_state").find_all("option")
    assert "Oman" in [option.text for option in choices]
    assert "0 of 29 member states have a delegation." in admin_client.get("/council").get_data(as_text=True)


def test_an_organisation_is_added_without_a_code(admin_client, states, db):
    response = save(admin_client, NEW_PAGE, name="Asian Development Forum", kind="observer_organisation")

    assert response.status_code == 302
    added = db.session.scalars(db.select(MemberState).where(MemberState.name == "Asian Development Forum")).one()
    assert entry(db, added.id) == (None, "Asian Development Forum", StateKind.OBSERVER_ORGANISATION)


def test_the_edit_form_starts_with_the_entrys_values(admin_client, states):
    response = admin_client.get(edit_page(states["TM"]))

    assert response.status_code == 200
    assert parse_html(response).find("h1").text == "Edit Turkmenistan"
    assert [form_value(response, name) for name in ("name", "code", "kind")] == [
        "Turkmenistan", "TM", "observer_state"]


def test_renaming_a_state_saves_and_audits_before_and_after(admin_client, admin, states, db):
    kazakhstan = states["KZ"]

    response = save(admin_client, edit_page(kazakhstan), name="Republic of Kazakhstan", code="KZ")

    assert response.status_code == 302
    assert entry(db, kazakhstan.id) == ("KZ", "Republic of Kazakhstan", StateKind.MEMBER_STATE)
    assert audit_trail(db) == [
        ("reference.state_updated", admin.id, "member_state", kazakhstan.id, {
            "before": {"code": "KZ", "name": "Kazakhstan", "name_ru": "Казахстан", "kind": "member_state"},
            "after": {"code": "KZ", "name": "Republic of Kazakhstan", "name_ru": "Казахстан", "kind": "member_state"},
        }),
    ]


def test_the_russian_name_is_saved_cleaned_shown_on_russian_pages_and_cleared_when_emptied(admin_client, states, db):
    kazakhstan = states["KZ"]
    page = edit_page(kazakhstan)
    response = post_form(admin_client, page, {"name": "Kazakhstan", "name_ru": "  Республика   Казахстан ",
                                              "code": "KZ", "kind": "member_state"}, token_page=page)
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(MemberState, kazakhstan.id).name_ru == "Республика Казахстан"
    english = admin_client.get("/secretariat").get_data(as_text=True)
    russian = admin_client.get("/secretariat", headers={"Accept-Language": "ru"}).get_data(as_text=True)
    assert ("<li>Kazakhstan</li>" in english, "<li>Республика Казахстан</li>" in russian,
            "Республика Казахстан" in english) == (True, True, False)

    response = post_form(admin_client, page, {"name": "Kazakhstan", "name_ru": "", "code": "KZ",
                                              "kind": "member_state"}, token_page=page)
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(MemberState, kazakhstan.id).name_ru is None
    assert "<li>Kazakhstan</li>" in admin_client.get("/secretariat", headers={"Accept-Language": "ru"}).get_data(
        as_text=True)


def test_a_russian_name_too_long_is_a_form_error_that_keeps_the_input(admin_client, states, db):
    page = edit_page(states["KZ"])
    response = post_form(admin_client, page, {"name": "Kazakhstan", "name_ru": "К" * 121, "code": "KZ",
                                              "kind": "member_state"}, token_page=page)
    assert response.status_code == 200
    assert "К" * 121 in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(MemberState, states["KZ"].id).name_ru == "Казахстан"


def test_an_observer_that_becomes_a_member_is_reclassified(admin_client, states, db):
    response = save(admin_client, edit_page(states["TM"]), name="Turkmenistan", code="TM", kind="member_state")

    assert response.status_code == 302
    assert entry(db, states["TM"].id) == ("TM", "Turkmenistan", StateKind.MEMBER_STATE)


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"name": "Oman", "code": "K1"}, "code", "An ISO 3166-1 alpha-2 code is two letters, such as KZ."),
        ({"name": "Oman", "code": "OMN"}, "code", "Field cannot be longer than 2 characters."),
        ({"name": "kazakhstan", "code": "OM"}, "name", "An entry with this name exists already."),
        ({"name": "Oman", "code": "kz"}, "code", "Another entry has this code."),
        ({"name": "", "code": "OM"}, "name", "This field is required."),
        ({"name": "x" * 121, "code": "OM"}, "name", "Field cannot be longer than 120 characters."),
        ({"name": "Oman", "code": "OM", "kind": "planet"}, "kind", "Not a valid choice."),
    ],
)
def test_bad_input_when_adding_re_renders_the_form_with_the_input_and_a_message(
    admin_client, states, db, values, field, message
):
    before = entry_count(db)

    response = save(admin_client, NEW_PAGE, **values)

    assert response.status_code == 200
    assert field_error(response, field) == message
    assert form_value(response, "name") == values["name"]
    assert form_value(response, "code") == values["code"]
    assert entry_count(db) == before
    assert audit_trail(db) == []


def test_renaming_to_the_name_of_another_entry_is_refused(admin_client, states, db):
    response = save(admin_client, edit_page(states["CN"]), name="Kazakhstan", code="CN")

    assert response.status_code == 200
    assert field_error(response, "name") == "An entry with this name exists already."
    assert form_value(response, "name") == "Kazakhstan"
    assert parse_html(response).find("h1").text == "Edit China"
    assert entry(db, states["CN"].id) == ("CN", "China", StateKind.MEMBER_STATE)


def test_an_invalid_code_on_edit_is_refused_and_nothing_changes(admin_client, states, db):
    response = save(admin_client, edit_page(states["KZ"]), name="Kazakhstan", code="K1")

    assert field_error(response, "code") == "An ISO 3166-1 alpha-2 code is two letters, such as KZ."
    assert entry(db, states["KZ"].id) == ("KZ", "Kazakhstan", StateKind.MEMBER_STATE)
    assert audit_trail(db) == []


@pytest.mark.parametrize("method", ["get", "post"])
def test_an_unknown_entry_is_not_found(admin_client, states, method):
    path = "/secretariat/member-states/999999/edit"
    if method == "get":
        response = admin_client.get(path)
    else:
        response = post_form(admin_client, path, {"name": "Oman", "code": "OM", "kind": "member_state"})

    assert response.status_code == 404


def test_a_name_taken_by_a_concurrent_request_is_a_form_error_not_a_crash(app, db, make_user, states, monkeypatch):
    """The Python check can miss a duplicate committed meanwhile; the unique index still refuses it."""
    admin = make_user(roles=(Role.ADMIN,))
    monkeypatch.setattr(reference_services, "_clean", lambda code, name, ignore_id=None: (None, "Kazakhstan"))

    with pytest.raises(ValidationFailed, match="An entry with this name or code exists already."):
        reference_services.add_state(actor=admin, code=None, name="Kazakhstan", kind=StateKind.MEMBER_STATE)
    db.session.rollback()
    assert db.session.scalars(db.select(MemberState.id).where(MemberState.name == "Kazakhstan")).all() == [
        states["KZ"].id
    ]
