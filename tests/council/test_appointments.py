"""The secretariat appoints, promotes and removes council members; the public page shows the result."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from expert_platform.accounts import services as account_services
from expert_platform.accounts.models import User
from expert_platform.audit.models import AuditRecord
from expert_platform.council import services as council
from expert_platform.council.models import Delegation, DelegationSeat
from expert_platform.enums import DelegationRole, Role
from expert_platform.errors import NotAllowed, ValidationFailed
from tests.conftest import sign_in
from tests.html_tree import parse_html
from tests.secretariat.conftest import (
    COUNCIL_PAGE,
    appoint,
    change_seat,
    current_seat_id,
    field_error,
    flash_messages,
    post_form,
    table_rows,
)

MEMBER_STATE_COUNT = 28


@pytest.fixture
def people(make_user):
    """Five people who may sit on the council, one of them also an expert."""
    return {
        name: make_user(email=f"{name.lower()}@example.org", display_name=name, roles=roles)
        for name, roles in [
            ("Aigerim", (Role.EXPERT,)),
            ("Bolat", (Role.RESEARCHER,)),
            ("Chen", (Role.RESEARCHER,)),
            ("Dmitri", (Role.RESEARCHER,)),
            ("Esra", (Role.RESEARCHER,)),
        ]
    }


@pytest.fixture
def visitor(app):
    """A second browser, signed out."""
    return app.test_client()


def roles_of(db, person) -> frozenset[Role]:
    db.session.expire_all()
    return db.session.get(User, person.id).roles


def seat_count(db) -> int:
    db.session.expire_all()
    return db.session.scalar(db.select(db.func.count(DelegationSeat.id)))


def audit_trail(db) -> list[tuple]:
    """(action, actor id, object type, object id, details) of every audit record, oldest first."""
    db.session.expire_all()
    records = db.session.scalars(db.select(AuditRecord).order_by(AuditRecord.id))
    return [(r.action, r.actor_id, r.object_type, r.object_id, r.details) for r in records]


def public_delegations(client) -> list[tuple[str, ...]]:
    return table_rows(client.get("/council"), "delegations")


def appoint_all(client, states, people, plan) -> None:
    """Appoint (person name, state code, role) in order; each must succeed."""
    for name, code, role in plan:
        response = appoint(client, people[name], states[code], role)
        assert response.status_code == 302, field_error(response, "email") or field_error(response, "role")


# --- the public page -----------------------------------------------------------------------------


def test_the_public_page_shows_each_delegations_head_and_alternates_by_name_and_no_email(
    admin_client, visitor, states, people
):
    appoint_all(admin_client, states, people, [
        ("Aigerim", "KZ", "head"),
        ("Bolat", "KZ", "alternate"),
        ("Chen", "CN", "head"),
        ("Esra", "KZ", "alternate"),
        ("Dmitri", "IN", "alternate"),
    ])

    response = visitor.get("/council")

    assert response.status_code == 200
    assert table_rows(response, "delegations") == [
        ("China", "Chen", "None"),
        ("India", "Not appointed", "Dmitri"),
        ("Kazakhstan", "Aigerim", "Bolat, Esra"),
    ]
    body = response.get_data(as_text=True)
    assert "3 of 28 member states have a delegation." in body
    assert "@" not in body
    assert "Sign in" in body  # the visitor is anonymous


def test_the_public_page_without_any_delegation_says_so(client, states):
    response = client.get("/council")

    assert response.status_code == 200
    assert table_rows(response, "delegations") == []
    empty_state = parse_html(response).find(class_="empty-state").text
    assert empty_state == "No delegation has been appointed to the council yet."
    assert "0 of 28 member states have a delegation." in response.get_data(as_text=True)


@pytest.mark.parametrize("role", [Role.RESEARCHER, Role.EXPERT, Role.COUNCIL_MEMBER, Role.THINKTANK_MANAGER])
def test_every_signed_in_role_sees_the_public_page_without_emails(admin_client, visitor, make_user, states, people,
                                                                   role):
    appoint(admin_client, people["Chen"], states["CN"], "head")
    viewer = make_user(email="viewer@example.org", roles=(role,))
    assert sign_in(visitor, viewer.email).status_code == 302

    response = visitor.get("/council")

    assert table_rows(response, "delegations") == [("China", "Chen", "None")]
    assert "chen@example.org" not in response.get_data(as_text=True)


def test_a_delegation_whose_seats_all_ended_is_not_listed(admin_client, states, people, db):
    appoint(admin_client, people["Chen"], states["CN"], "head")
    change_seat(admin_client, current_seat_id(db, people["Chen"]), "remove")

    assert public_delegations(admin_client) == []


# --- appointing ----------------------------------------------------------------------------------


def test_appointing_a_head_creates_the_delegation_grants_the_council_role_and_is_audited(
    admin_client, admin, states, people, db
):
    response = appoint(admin_client, people["Aigerim"], states["KZ"], "head")

    assert response.status_code == 302
    assert response.headers["Location"] == COUNCIL_PAGE
    seat_id = current_seat_id(db, people["Aigerim"])
    seat = db.session.get(DelegationSeat, seat_id)
    assert (seat.delegation.member_state.code, seat.role, seat.appointed_by_id, seat.removed_at) == (
        "KZ", DelegationRole.HEAD, admin.id, None)
    assert roles_of(db, people["Aigerim"]) == {Role.EXPERT, Role.COUNCIL_MEMBER}
    assert audit_trail(db) == [
        ("council.appointed", admin.id, "delegation_seat", seat_id, {"member_state": "Kazakhstan", "role": "head"}),
    ]
    page = admin_client.get(COUNCIL_PAGE)
    assert flash_messages(page) == ["Aigerim is appointed to the delegation of Kazakhstan (Head of delegation)."]
    assert table_rows(page, "current-seats") == [
        ("Kazakhstan", "Head of delegation", "Aigerim", "aigerim@example.org",
         f"{seat.appointed_at:%Y-%m-%d} · Ada Admin", "Remove"),
    ]


def test_alternates_join_the_existing_delegation_of_their_state(admin_client, states, people, db):
    appoint_all(admin_client, states, people, [("Aigerim", "KZ", "head"), ("Bolat", "KZ", "alternate"),
                                               ("Chen", "KZ", "alternate")])

    assert db.session.scalar(db.select(db.func.count(Delegation.id))) == 1
    assert [row[:3] for row in table_rows(admin_client.get(COUNCIL_PAGE), "current-seats")] == [
        ("Kazakhstan", "Head of delegation", "Aigerim"),
        ("Kazakhstan", "Alternate", "Bolat"),
        ("Kazakhstan", "Alternate", "Chen"),
    ]
    assert roles_of(db, people["Chen"]) == {Role.RESEARCHER, Role.COUNCIL_MEMBER}


def test_a_second_head_is_refused_and_the_message_points_to_make_head(admin_client, states, people, db):
    appoint(admin_client, people["Aigerim"], states["KZ"], "head")

    response = appoint(admin_client, people["Bolat"], states["KZ"], "head")

    assert response.status_code == 200
    assert field_error(response, "role") == (
        "The delegation of Kazakhstan already has a head, Aigerim. Appoint this person as an alternate, "
        "then use “Make head” to change the head."
    )
    assert seat_count(db) == 1
    assert roles_of(db, people["Bolat"]) == {Role.RESEARCHER}
    assert parse_html(response).find("input", id="email").attributes["value"] == "bolat@example.org"


@pytest.mark.parametrize("second_state", ["KZ", "CN"])
def test_a_person_holds_one_seat_at_most_and_the_refusal_names_their_delegation(
    admin_client, states, people, db, second_state
):
    appoint(admin_client, people["Aigerim"], states["KZ"], "alternate")

    response = appoint(admin_client, people["Aigerim"], states[second_state], "alternate")

    assert response.status_code == 200
    assert field_error(response, "email") == (
        "Aigerim already holds a seat in the delegation of Kazakhstan. Remove that seat first."
    )
    assert seat_count(db) == 1


def test_an_unknown_email_is_a_form_error(admin_client, states, db):
    response = appoint(admin_client, SimpleNamespace(email="nobody@example.org"), states["KZ"])

    assert response.status_code == 200
    assert field_error(response, "email") == (
        "No account has this email address. The person must create an account first."
    )
    assert seat_count(db) == 0


def test_a_deactivated_account_is_not_appointed(admin_client, admin, states, people, db):
    account_services.set_active(actor=admin, user=people["Bolat"], is_active=False)
    db.session.commit()

    response = appoint(admin_client, people["Bolat"], states["KZ"])

    assert field_error(response, "email") == "This account is deactivated. Reactivate it before appointing the person."
    assert seat_count(db) == 0


def test_the_member_state_choices_are_exactly_the_member_states(admin_client, states):
    select = parse_html(admin_client.get(COUNCIL_PAGE)).find("select", id="member_state")

    options = [option.text for option in select.find_all("option")]
    assert options[0] == "Choose a member state"
    assert len(options) == 1 + MEMBER_STATE_COUNT
    assert "Japan" not in options
    assert "United Nations" not in options


@pytest.mark.parametrize(
    ("field", "value", "expected_error"),
    [
        ("member_state", "observer", "Not a valid choice."),
        ("member_state", "abc", "Not a valid choice."),
        ("member_state", "", "This field is required."),
        ("role", "chair", "Not a valid choice."),
        ("email", "", "This field is required."),
    ],
)
def test_bad_appoint_input_is_a_form_error_never_a_500(admin_client, states, people, db, field, value,
                                                       expected_error):
    data = {"email": people["Bolat"].email, "member_state": str(states["KZ"].id), "role": "head"}
    data[field] = str(states["JP"].id) if value == "observer" else value

    response = post_form(admin_client, f"{COUNCIL_PAGE}/appoint", data, token_page=COUNCIL_PAGE)

    assert response.status_code == 200
    assert field_error(response, field) == expected_error
    assert seat_count(db) == 0


def test_the_service_refuses_an_observer_state(admin, states, people):
    with pytest.raises(ValidationFailed) as refused:
        council.appoint(actor=admin, user=people["Bolat"], member_state=states["JP"], role=DelegationRole.HEAD)

    assert (refused.value.field, refused.value.message) == (
        "member_state", "Only member states have a delegation to the council.")


@pytest.mark.parametrize("role", [Role.RESEARCHER, Role.EXPERT, Role.COUNCIL_MEMBER, Role.THINKTANK_MANAGER])
def test_the_services_refuse_anyone_but_the_secretariat(make_user, admin, states, people, role, db):
    outsider = make_user(email="outsider@example.org", roles=(role,))
    seat = council.appoint(actor=admin, user=people["Bolat"], member_state=states["KZ"], role=DelegationRole.ALTERNATE)
    db.session.commit()

    with pytest.raises(NotAllowed):
        council.appoint(actor=outsider, user=people["Chen"], member_state=states["KZ"], role=DelegationRole.HEAD)
    with pytest.raises(NotAllowed):
        council.make_head(actor=outsider, seat=seat)
    with pytest.raises(NotAllowed):
        council.remove(actor=outsider, seat=seat)
    db.session.rollback()
    assert (seat.role, seat.removed_at) == (DelegationRole.ALTERNATE, None)


# --- make head -----------------------------------------------------------------------------------


def test_make_head_swaps_the_head_and_the_alternate_and_is_audited(admin_client, admin, states, people, db):
    appoint_all(admin_client, states, people, [("Aigerim", "KZ", "head"), ("Bolat", "KZ", "alternate")])
    old_head_seat, new_head_seat = current_seat_id(db, people["Aigerim"]), current_seat_id(db, people["Bolat"])

    response = change_seat(admin_client, new_head_seat, "make-head")

    assert response.status_code == 302
    assert response.headers["Location"] == COUNCIL_PAGE
    db.session.expire_all()
    assert db.session.get(DelegationSeat, new_head_seat).role == DelegationRole.HEAD
    assert db.session.get(DelegationSeat, old_head_seat).role == DelegationRole.ALTERNATE
    assert public_delegations(admin_client) == [("Kazakhstan", "Bolat", "Aigerim")]
    assert audit_trail(db)[-1] == (
        "council.appointed", admin.id, "delegation_seat", new_head_seat,
        {"member_state": "Kazakhstan", "role": "head", "replaced": "Aigerim"},
    )
    assert roles_of(db, people["Aigerim"]) == {Role.EXPERT, Role.COUNCIL_MEMBER}


def test_make_head_in_a_delegation_without_a_head_replaces_nobody(admin_client, admin, states, people, db):
    appoint(admin_client, people["Dmitri"], states["IN"], "alternate")
    seat_id = current_seat_id(db, people["Dmitri"])

    change_seat(admin_client, seat_id, "make-head")

    assert public_delegations(admin_client) == [("India", "Dmitri", "None")]
    assert audit_trail(db)[-1] == (
        "council.appointed", admin.id, "delegation_seat", seat_id,
        {"member_state": "India", "role": "head", "replaced": None},
    )


def test_make_head_on_the_head_is_refused_with_a_message(admin_client, states, people, db):
    appoint(admin_client, people["Aigerim"], states["KZ"], "head")
    records_before = len(audit_trail(db))

    response = change_seat(admin_client, current_seat_id(db, people["Aigerim"]), "make-head")

    assert response.status_code == 302
    assert flash_messages(admin_client.get(COUNCIL_PAGE)) == ["Aigerim is the head of this delegation already."]
    assert len(audit_trail(db)) == records_before


def test_make_head_on_a_removed_seat_is_refused(admin_client, states, people, db):
    appoint(admin_client, people["Bolat"], states["KZ"], "alternate")
    seat_id = current_seat_id(db, people["Bolat"])
    change_seat(admin_client, seat_id, "remove")
    admin_client.get(COUNCIL_PAGE)  # read the removal's message

    change_seat(admin_client, seat_id, "make-head")

    assert flash_messages(admin_client.get(COUNCIL_PAGE)) == ["This seat was removed already."]
    assert db.session.get(DelegationSeat, seat_id).role == DelegationRole.ALTERNATE


def test_a_head_that_slipped_past_the_check_is_refused_by_the_database_as_a_validation_error(
    admin, states, people, db, monkeypatch
):
    council.appoint(actor=admin, user=people["Aigerim"], member_state=states["KZ"], role=DelegationRole.HEAD)
    alternate = council.appoint(actor=admin, user=people["Bolat"], member_state=states["KZ"],
                                role=DelegationRole.ALTERNATE)
    db.session.commit()
    # As if another request had made Aigerim head after this one looked.
    monkeypatch.setattr(council, "_current_head", lambda delegation_id: None)

    with pytest.raises(ValidationFailed) as refused:
        council.make_head(actor=admin, seat=alternate)

    assert refused.value.message == "Someone changed this delegation at the same time. Reload the page and try again."
    # The savepoint was rolled back: the transaction is still usable.
    db.session.rollback()
    assert [seat.role for seat in db.session.scalars(db.select(DelegationSeat).order_by(DelegationSeat.id))] == [
        DelegationRole.HEAD, DelegationRole.ALTERNATE]


@pytest.mark.parametrize(
    ("skipped_check", "second_person", "role", "roles_after"),
    [
        ("_current_head", "Bolat", DelegationRole.HEAD, {Role.RESEARCHER}),
        ("current_seat_of", "Aigerim", DelegationRole.ALTERNATE, {Role.EXPERT, Role.COUNCIL_MEMBER}),
    ],
)
def test_an_appointment_that_slipped_past_a_check_is_refused_by_the_database_as_a_validation_error(
    admin, states, people, db, monkeypatch, skipped_check, second_person, role, roles_after
):
    council.appoint(actor=admin, user=people["Aigerim"], member_state=states["KZ"], role=DelegationRole.HEAD)
    db.session.commit()
    # As if another request had made its change after this one looked.
    monkeypatch.setattr(council, skipped_check, lambda *args: None)

    with pytest.raises(ValidationFailed) as refused:
        council.appoint(actor=admin, user=people[second_person], member_state=states["KZ"], role=role)

    assert refused.value.message == "Someone changed this delegation at the same time. Reload the page and try again."
    assert db.session.scalar(db.select(db.func.count(DelegationSeat.id))) == 1  # the savepoint is rolled back
    db.session.rollback()
    assert roles_of(db, people[second_person]) == roles_after


# --- removal -------------------------------------------------------------------------------------


def test_removal_keeps_the_seat_as_history_revokes_the_council_role_and_is_audited(
    admin_client, admin, states, people, db
):
    appoint_all(admin_client, states, people, [("Aigerim", "KZ", "head"), ("Bolat", "KZ", "alternate")])
    seat_id = current_seat_id(db, people["Aigerim"])

    response = change_seat(admin_client, seat_id, "remove")

    assert response.status_code == 302
    seat = db.session.get(DelegationSeat, seat_id)
    assert (seat.removed_by_id, seat.role, seat.user_id) == (admin.id, DelegationRole.HEAD, people["Aigerim"].id)
    assert seat.removed_at is not None
    assert roles_of(db, people["Aigerim"]) == {Role.EXPERT}
    assert roles_of(db, people["Bolat"]) == {Role.RESEARCHER, Role.COUNCIL_MEMBER}
    assert audit_trail(db)[-1] == (
        "council.removed", admin.id, "delegation_seat", seat_id, {"member_state": "Kazakhstan", "role": "head"},
    )
    page = admin_client.get(COUNCIL_PAGE)
    assert flash_messages(page) == ["Aigerim is removed from the council."]
    appointed, removed = f"{seat.appointed_at:%Y-%m-%d}", f"{seat.removed_at:%Y-%m-%d}"
    assert table_rows(page, "past-seats") == [
        ("Kazakhstan", "Head of delegation", "Aigerim", f"{appointed} · Ada Admin", f"{removed} · Ada Admin"),
    ]
    assert [row[2] for row in table_rows(page, "current-seats")] == ["Bolat"]
    assert public_delegations(admin_client) == [("Kazakhstan", "Not appointed", "Bolat")]


def test_a_removed_person_may_be_appointed_again_and_both_seats_stay_in_the_record(
    admin_client, states, people, db
):
    appoint(admin_client, people["Chen"], states["CN"], "alternate")
    first_seat = current_seat_id(db, people["Chen"])
    change_seat(admin_client, first_seat, "remove")

    response = appoint(admin_client, people["Chen"], states["KZ"], "head")

    assert response.status_code == 302
    second_seat = current_seat_id(db, people["Chen"])
    assert second_seat != first_seat
    assert roles_of(db, people["Chen"]) == {Role.RESEARCHER, Role.COUNCIL_MEMBER}
    assert [row[:3] for row in table_rows(admin_client.get(COUNCIL_PAGE), "past-seats")] == [
        ("China", "Alternate", "Chen"),
    ]
    # Removing the old seat again changes nothing: the current seat keeps the council role.
    change_seat(admin_client, first_seat, "remove")
    assert flash_messages(admin_client.get(COUNCIL_PAGE)) == ["This seat was removed already."]
    assert roles_of(db, people["Chen"]) == {Role.RESEARCHER, Role.COUNCIL_MEMBER}
    assert current_seat_id(db, people["Chen"]) == second_seat


def test_the_council_role_is_revoked_only_when_the_person_has_no_current_seat(admin, states, people, db):
    seat = council.appoint(actor=admin, user=people["Esra"], member_state=states["KZ"], role=DelegationRole.HEAD)
    db.session.commit()
    # The record of a seat removed long ago must not take the role from a person who sits again.
    council.remove(actor=admin, seat=seat)
    council.appoint(actor=admin, user=people["Esra"], member_state=states["CN"], role=DelegationRole.HEAD)
    db.session.commit()

    assert roles_of(db, people["Esra"]) == {Role.RESEARCHER, Role.COUNCIL_MEMBER}

    council.remove(actor=admin, seat=council.current_seat_of(people["Esra"]))
    db.session.commit()

    assert roles_of(db, people["Esra"]) == {Role.RESEARCHER}


# --- permissions ---------------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["remove", "make-head"])
def test_an_unknown_seat_is_not_found(admin_client, states, action):
    response = change_seat(admin_client, 999999, action)

    assert response.status_code == 404
