"""Reading Whoosh's index faster than its public interface allows: posting lists a block at a time, a
segment's field lengths in one read, the identity of an index version, and a searcher of a new version
that keeps the open files of the segments it shares with the previous one. The only module of the
project that touches Whoosh's private fields; they are those of the pinned release (``PINNED_WHOOSH``,
checked by ``check_whoosh_version``, which the tests call), and each use falls back to the public
interface where the shape it expects is not there."""

from __future__ import annotations

import copy
import itertools
from importlib import metadata

from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher
from whoosh.filedb.filestore import FileStorage
from whoosh.index import TOC
from whoosh.matching.wrappers import FilterMatcher
from whoosh.reading import EmptyReader, MultiReader, SegmentReader
from whoosh.searching import Searcher
from whoosh.util.numeric import byte_to_length

#: The release of the ``whoosh-reloaded`` distribution whose private fields this module reads.
PINNED_WHOOSH = "2.7.5"
#: A new segment of at most this many documents (what a change writes) is read from memory: Whoosh
#: copies each part of a memory-mapped segment when it opens it, cheap for a small one, and then reads
#: it without a system call for each of the many small reads of a term's look-up.
SMALL_SEGMENT_DOCUMENTS = 1000


class UnsupportedWhoosh(RuntimeError):
    """The installed Whoosh is not the release this module was written against."""


def check_whoosh_version() -> None:
    """Raises UnsupportedWhoosh unless the installed ``whoosh-reloaded`` is PINNED_WHOOSH."""
    try:
        installed = metadata.version("whoosh-reloaded")
    except metadata.PackageNotFoundError:
        installed = None
    if installed != PINNED_WHOOSH:
        raise UnsupportedWhoosh(
            f"expert_platform/search/whoosh_postings.py reads private fields of whoosh-reloaded {PINNED_WHOOSH}, "
            f"but {installed or 'no whoosh-reloaded'} is installed: check each private field it reads against "
            "the new release, then update PINNED_WHOOSH (and requirements.txt) together."
        )


def leaf_postings(reader, fieldname: str, btext: bytes, *, values: bool = False, with_deleted: bool = False):
    """(document numbers in the segment, weights, encoded values or None) of a term, deleted documents
    left out (kept with ``with_deleted``: what the segment's files hold, the same in every index version
    the segment is part of). Whoosh's own W3 matcher is read a block (up to 128 postings) at a time, in C;
    any other matcher posting by posting."""
    matcher = reader.postings(fieldname, btext)
    deleted = None
    if isinstance(matcher, FilterMatcher) and matcher._exclude:  # how a segment hides deleted documents
        deleted = None if with_deleted else matcher._ids
        matcher = matcher.child
    ids: list[int] = []
    weights: list[float] = []
    encoded: list | None = [] if values else None
    if isinstance(matcher, W3LeafMatcher):
        while matcher.is_active():
            if matcher._data is None:
                matcher._read_data()
            stored_ids = matcher._data[0]
            # The block's ids are stored as differences (W3LeafMatcher._read_ids adds them up in Python).
            ids += stored_ids if matcher._byteids else itertools.accumulate(stored_ids)
            matcher._read_weights()
            weights += matcher._weights
            if values:
                matcher._read_values()
                encoded += matcher._values
            matcher._next_block()
    else:
        while matcher.is_active():
            ids.append(matcher.id())
            weights.append(matcher.weight())
            if values:
                encoded.append(matcher.value())
            matcher.next()
    if deleted:
        kept = [index for index, docnum in enumerate(ids) if docnum not in deleted]
        ids = [ids[index] for index in kept]
        weights = [weights[index] for index in kept]
        if values:
            encoded = [encoded[index] for index in kept]
    return ids, weights, encoded


def field_lengths(reader, fieldname: str) -> list | None:
    """Document number -> the field's length as Whoosh stores it (one byte, decoded by ``byte_to_length``)
    for a whole segment, read at once. None when the segment keeps no lengths we can read whole (the
    scorer then asks document by document)."""
    try:
        column = reader._perdoc._cached_reader(f"_{fieldname}_len", LENGTHS_COLUMN)
        if column is not None and column._fixedlen == 1 and column._typecode == "B":
            stored = column._dbfile.get(column._basepos, column._count)
            return list(map(byte_to_length, stored)) + [None] * (reader.doc_count_all() - column._count)
    except AttributeError:  # another codec
        return None
    return None


def index_folder(searcher):
    """The folder of the index ``searcher`` reads (None for an index in memory)."""
    storage = getattr(getattr(searcher, "_ix", None), "storage", None)
    return getattr(storage, "folder", None)


def refreshed_searcher(searcher):
    """A searcher of the latest version of ``searcher``'s index. The segments both versions hold are read
    through ``searcher``'s readers of them, given the new version's deleted documents (a segment's files
    never change, only its deleted documents, which each version's table of contents lists); the other
    readers are closed. Opening a segment reads its table of terms and, at first use, the offsets of its
    stored fields: at 20,000 proposals some twenty milliseconds that an index change no longer costs each
    thread's searcher. (Whoosh's ``Searcher.refresh`` fails on an index that was empty and reuses a reader
    with the deleted documents it had.) ``searcher`` must not be used after."""
    index = searcher._ix
    previous = {reader.segment().segment_id(): reader for reader, _offset in searcher.reader().leaf_readers()
                if isinstance(reader, SegmentReader)}
    in_memory = FileStorage(index.storage.folder) if isinstance(index.storage, FileStorage) else index.storage
    readers: list = []
    opened: list = []
    try:
        toc = TOC.read(index.storage, index.indexname)
        for segment in toc.segments:
            kept = previous.get(segment.segment_id())
            if kept is None:
                storage = in_memory if segment.doc_count_all() <= SMALL_SEGMENT_DOCUMENTS else index.storage
                opened.append(SegmentReader(storage, toc.schema, segment, generation=toc.generation))
                readers.append(opened[-1])
            else:
                readers.append(_with_segment(kept, segment, toc.generation))
    except OSError:  # a writer removed a file just listed: Whoosh's own opening tries again
        for reader in opened:
            reader.close()
        searcher.close()
        return index.searcher(weighting=searcher.weighting)
    still_read = {segment.segment_id() for segment in toc.segments}
    for segment_id, reader in previous.items():
        if segment_id not in still_read:
            reader.close()
    if not readers:
        reader = EmptyReader(toc.schema)
    elif len(readers) == 1:
        reader = readers[0]
    else:
        reader = MultiReader(readers, generation=toc.generation)
    return Searcher(reader, weighting=searcher.weighting, fromindex=index)


def _with_segment(reader, segment, generation):
    """A reader of ``segment`` (an index version's record of a segment ``reader`` reads: the same files,
    maybe more deleted documents) sharing ``reader``'s open files."""
    shared = copy.copy(reader)
    shared._segment = segment
    shared._segid = segment.segment_id()
    shared._gen = generation
    shared._perdoc = copy.copy(reader._perdoc)
    shared._perdoc._segment = segment
    shared.__dict__.pop("deleted_docs_set", None)  # a cached property of the deleted documents
    return shared
