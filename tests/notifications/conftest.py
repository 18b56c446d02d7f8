"""The notification tests live in the review world: its fixtures, shared with this folder."""

from tests.review.conftest import author, bring_to, coauthor, make_council, secretariat  # noqa: F401
