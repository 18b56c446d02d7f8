"""Fixtures shared by the archive's tests."""

from __future__ import annotations

import pytest

from expert_platform.enums import Role
from tests.conftest import parametrize_search_backends


def pytest_generate_tests(metafunc) -> None:
    """The archive's pages, API and exports give the same results on every search backend."""
    parametrize_search_backends(metafunc)


@pytest.fixture
def people(make_user, make_think_tank):
    secretariat = make_user(email="secretariat@example.org", roles=(Role.ADMIN,))
    author = make_user(email="author@example.org", roles=(Role.EXPERT,))
    make_think_tank(experts=[author])
    return {"secretariat": secretariat, "author": author}
