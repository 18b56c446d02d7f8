"""Proposals: drafting with co-authors, the workflow, frozen revisions, annexes."""
