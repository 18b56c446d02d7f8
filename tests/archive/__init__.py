"""The archive page and related proposals (issue 6)."""
