"""The search tests run against every backend the database allows (tests/conftest.py SEARCH_BACKENDS);
a test about the Whoosh backend's own workings is marked ``whoosh_only``."""

from __future__ import annotations

from tests.conftest import parametrize_search_backends


def pytest_generate_tests(metafunc) -> None:
    parametrize_search_backends(metafunc)
