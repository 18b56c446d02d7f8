"""ORCID iDs: the shapes accepted, the ISO 7064 MOD 11-2 check character, and what the form stores."""

from __future__ import annotations

import pytest

from expert_platform.enums import Role
from expert_platform.experts.orcid import bare_form, check_character, has_valid_check_character

from .support import field_error, form_values, post_profile_form, profile_of

WRONG_SHAPE = "Enter an ORCID iD as 0000-0002-1825-0097 or https://orcid.org/0000-0002-1825-0097."
WRONG_CHECK = "This ORCID iD is not valid: its last character does not match. Check it for a typing mistake."

#: (typed, stored) for iDs the form accepts.
VALID = [
    ("0000-0002-1825-0097", "0000-0002-1825-0097"),
    ("0000-0001-5109-3700", "0000-0001-5109-3700"),
    ("0000-0002-1694-233X", "0000-0002-1694-233X"),
    ("0000-0002-1694-233x", "0000-0002-1694-233X"),
    ("https://orcid.org/0000-0002-1825-0097", "0000-0002-1825-0097"),
    ("http://orcid.org/0000-0001-5109-3700", "0000-0001-5109-3700"),
    ("  https://orcid.org/0000-0002-1694-233X  ", "0000-0002-1694-233X"),
]

#: (typed, message) for iDs the form refuses.
INVALID = [
    ("0000-0002-1825-0098", WRONG_CHECK),
    ("0000-0001-5109-3701", WRONG_CHECK),
    ("0000-0002-1694-2330", WRONG_CHECK),
    ("https://orcid.org/0000-0002-1825-0096", WRONG_CHECK),
    ("0000-0002-1825-009", WRONG_SHAPE),
    ("0000-0002-1825-00970", WRONG_SHAPE),
    ("0000000218250097", WRONG_SHAPE),
    ("0000-000A-1825-0097", WRONG_SHAPE),
    ("abcd-efgh-ijkl-mnop", WRONG_SHAPE),
    ("X000-0002-1825-0097", WRONG_SHAPE),
    ("https://example.org/0000-0002-1825-0097", WRONG_SHAPE),
]


@pytest.mark.parametrize(
    ("base_digits", "expected"),
    [("000000021825009", "7"), ("000000015109370", "0"), ("000000021694233", "X")],
)
def test_the_check_character_is_iso_7064_mod_11_2(base_digits, expected):
    assert check_character(base_digits) == expected


@pytest.mark.parametrize(("typed", "stored"), VALID)
def test_the_bare_form_of_a_valid_id_has_a_matching_check_character(typed, stored):
    assert bare_form(typed) == stored
    assert has_valid_check_character(stored) is True


@pytest.mark.parametrize(("typed", "message"), INVALID)
def test_an_invalid_id_has_a_wrong_shape_or_a_wrong_check_character(typed, message):
    bare = bare_form(typed)

    if message == WRONG_SHAPE:
        assert bare is None
    else:
        assert has_valid_check_character(bare) is False


@pytest.fixture
def expert_client(client, login, make_user):
    expert = make_user(email="expert@example.org", display_name="Eve Expert", roles=(Role.EXPERT,))
    login(expert)
    client.expert = expert
    return client


@pytest.mark.parametrize(("typed", "stored"), VALID)
def test_the_profile_form_stores_a_valid_id_in_its_bare_form(expert_client, typed, stored):
    response = post_profile_form(expert_client, orcid=typed)

    assert response.status_code == 302
    assert profile_of(expert_client.expert.id).orcid == stored


@pytest.mark.parametrize(("typed", "message"), INVALID)
def test_the_profile_form_refuses_an_invalid_id_and_keeps_what_was_typed(expert_client, typed, message):
    response = post_profile_form(expert_client, orcid=typed, title="Senior fellow")

    assert response.status_code == 200
    assert field_error(response, "orcid") == message
    assert form_values(response)["orcid"] == typed
    assert form_values(response)["title"] == "Senior fellow"
    assert profile_of(expert_client.expert.id) is None


def test_an_empty_id_is_stored_as_none(expert_client):
    response = post_profile_form(expert_client, orcid="   ")

    assert response.status_code == 302
    assert profile_of(expert_client.expert.id).orcid is None
