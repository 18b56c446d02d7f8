"""The archive's full-text search: the only package that imports Whoosh (ARCHITECTURE.md section 6).

Two backends behind one interface, chosen by ``SEARCH_BACKEND``: Whoosh (the default, an index folder
on the server: ``schema``, ``index_store`` and the engine in ``service``) and PostgreSQL's full-text
search (``postgres``: tables in the database, for several application servers). ``query`` parses what
a researcher types once, for both.

The index holds public (endorsed) proposals only, so no query can find anything else. Its interface:
``index_proposal``, ``remove_proposal``, ``search``, ``more_like_this``, ``rebuild``, ``check``,
``sync`` (in ``service``). The domain never imports this package: ``outbox`` listens to the database
session and the workflow and writes outbox rows in the same transaction as each change.
"""
