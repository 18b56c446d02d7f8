"""The public archive of endorsed proposals: its page, JSON API, exports, feed, and the import of
earlier outcomes. Searching goes through ``search.service``; nothing here imports Whoosh."""
