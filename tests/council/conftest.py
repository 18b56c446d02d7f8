"""The council tests use the secretariat's fixtures: an admin and a client signed in as them."""

from tests.secretariat.conftest import admin, admin_client  # noqa: F401
