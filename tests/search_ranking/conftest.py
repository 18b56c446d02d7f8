"""Every test here runs on the PostgreSQL backend (``SEARCH_BACKEND=postgres``), on PostgreSQL only (each module's
``postgres_only`` mark)."""

from __future__ import annotations

import pytest


@pytest.fixture
def app_overrides():
    return {"SEARCH_BACKEND": "postgres"}
