"""Where the index lives on disk, and the searchers reused across requests.

``SEARCH_INDEX_DIR`` holds one folder per generation and a ``CURRENT`` file naming the one in use.
``rebuild`` writes a new generation beside the current one and swaps ``CURRENT`` atomically
(``os.replace``), so searches keep working meanwhile and never see a half-built index. Each thread
keeps its searcher and refreshes it only when the index changed (a cheap check of the generation
and of the segments' table of contents).
"""

from __future__ import annotations

import os
import shutil
import threading
import uuid
from pathlib import Path

from flask import current_app
from whoosh import index as whoosh_index
from whoosh.filedb.filestore import FileStorage

from .schema import build_schema
from .whoosh_postings import refreshed_searcher

CURRENT_FILE = "CURRENT"
WRITER_TIMEOUT_SECONDS = 10.0
#: Batches from this many documents are indexed in parallel (forking costs a few tens of milliseconds).
PARALLEL_INDEXING = 1000
MAX_INDEXING_PROCESSES = 2
#: Memory of each parallel writer's pool (MB) before it sorts to disk, and documents per job it hands out.
INDEXING_MEMORY_MB = 256
PARALLEL_BATCH = 250

_local = threading.local()


def index_root() -> Path:
    return Path(current_app.config["SEARCH_INDEX_DIR"])


def current_generation(root: Path | None = None) -> str | None:
    root = root or index_root()
    try:
        return (root / CURRENT_FILE).read_text().strip() or None
    except FileNotFoundError:
        return None


def new_generation(root: Path | None = None) -> tuple[str, whoosh_index.Index]:
    """A new, empty index folder (not yet current)."""
    root = root or index_root()
    name = uuid.uuid4().hex
    folder = root / name
    folder.mkdir(parents=True)
    return name, whoosh_index.create_in(str(folder), build_schema())


def make_current(name: str, root: Path | None = None) -> str | None:
    """Point ``CURRENT`` at generation ``name`` (atomically); returns the generation it replaced."""
    root = root or index_root()
    previous = current_generation(root)
    temporary = root / f".{CURRENT_FILE}.{uuid.uuid4().hex}"
    temporary.write_text(name)
    os.replace(temporary, root / CURRENT_FILE)
    return previous


def drop_generation(name: str, root: Path | None = None) -> None:
    """Delete an old generation's folder (searchers still reading it keep their open files)."""
    shutil.rmtree((root or index_root()) / name, ignore_errors=True)


def open_index() -> whoosh_index.Index:
    """The current index, created empty on first use. Its segment files are read as files, not memory
    maps: Whoosh copies each part of a memory-mapped segment (its postings, its terms, its stored fields)
    into memory when a reader opens it, at 20,000 proposals 70 to 130 ms and over 200 MB per searcher,
    paid again by each thread's searcher after every change of the index and held as long as it lives."""
    root = index_root()
    root.mkdir(parents=True, exist_ok=True)
    name = current_generation(root)
    if name is None or not (root / name).is_dir():
        name, created = new_generation(root)
        make_current(name, root)
        return created
    return FileStorage(str(root / name), supports_mmap=False).open_index()


def is_stale() -> bool:
    """Whether the current index was written with other fields than ``build_schema``'s (an older version
    of the code: a new stored field, say). Such an index cannot take the code's documents; ``flask
    search sync`` rebuilds it."""
    return set(open_index().schema.names()) != set(build_schema().names())


def writer(*, documents: int = 0):
    """A writer of the current index; waits for another process's writer instead of failing. For a
    batch of ``documents`` >= PARALLEL_INDEXING (an import, a rebuild), Whoosh's multiprocessing writer:
    the documents are analysed by one process per core, each writing a segment of its own
    (``multisegment``: no merge at the end), with a larger memory pool before spilling to disk."""
    return writer_of(open_index(), documents=documents)


def writer_of(index: whoosh_index.Index, *, documents: int = 0):
    """``writer`` for a given index (a generation being built by ``rebuild``)."""
    processes = min(os.cpu_count() or 1, MAX_INDEXING_PROCESSES)
    if documents >= PARALLEL_INDEXING and processes > 1:
        return index.writer(timeout=WRITER_TIMEOUT_SECONDS, procs=processes, multisegment=True,
                            limitmb=INDEXING_MEMORY_MB, batchsize=PARALLEL_BATCH)
    return index.writer(timeout=WRITER_TIMEOUT_SECONDS)


def searcher():
    """This thread's searcher of the current index, refreshed when the index or generation changed."""
    root = index_root()
    key = (str(root), current_generation(root))
    cached = getattr(_local, "searchers", {}).get(key[0])
    if cached is not None and cached[0] == key[1]:
        found = cached[1]
        if not found.up_to_date():
            # The segments that did not change are read with the files already open.
            found = refreshed_searcher(found)
            _local.searchers[key[0]] = (key[1], found)
        return found
    if cached is not None:
        cached[1].close()
    found = open_index().searcher()
    _local.__dict__.setdefault("searchers", {})[key[0]] = (current_generation(root), found)
    return found


def forget_searchers() -> None:
    """Close this thread's searchers (tests switch index folders between apps)."""
    for _generation, found in getattr(_local, "searchers", {}).values():
        found.close()
    _local.searchers = {}
